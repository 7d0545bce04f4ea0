//! An incremental per-parent stream against a fake server: the first sync
//! reads every customer and starts following the log; a later one reads only
//! the customers the log names, so an idle sync costs the same whatever the
//! number of customers; a log that names customers some other way fails.

mod common;

use common::{data, sync, Output};
use graphql_source::io::{Http, HttpError, Request, Response};
use serde_json::{json, Value};

fn uuid(n: usize) -> String {
    format!("6c0f3ea3-2f63-4a4b-9b0e-{n:012}")
}

struct Server {
    customers: usize,
    /// parentEntityId of each GRANT_CHANGED entry.
    changed: Vec<String>,
    bodies: Vec<Value>,
}

/// One last page of `root` holding `nodes`.
fn connection(root: &str, nodes: Vec<Value>) -> Result<Response, HttpError> {
    let edges: Vec<Value> = nodes.into_iter().map(|n| json!({ "node": n })).collect();
    data(json!({root: {"edges": edges,
        "pageInfo": {"hasNextPage": false, "endCursor": null}, "totalCount": 0}}))
}

impl Http for Server {
    fn send(&mut self, request: &Request) -> Result<Response, HttpError> {
        let body: Value = serde_json::from_str(&request.body).expect("a JSON body");
        self.bodies.push(body.clone());
        let query = body["query"].as_str().unwrap_or_default();
        if query.contains("events(") {
            let nodes = self
                .changed
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    json!({"parentEntityId": c, "id": format!("ev{i}"),
                    "createdAt": "2024-06-01T00:00:00.000Z"})
                })
                .collect();
            return connection("events", nodes);
        }
        if query.contains("customers(") {
            let wanted = &body["variables"]["filter"]["id"]["in"];
            let nodes = (0..self.customers)
                .filter(|n| {
                    wanted
                        .as_array()
                        .is_none_or(|w| w.contains(&json!(uuid(*n))))
                })
                .map(|n| {
                    json!({"id": uuid(n), "customerId": format!("cust{n}"),
                    "createdAt": format!("2024-01-01T00:00:{n:02}.000Z"),
                    "updatedAt": "2024-02-01T00:00:00.000Z"})
                })
                .collect();
            return connection("customers", nodes);
        }
        let customer = body["variables"]["input"]["customerId"]
            .as_str()
            .unwrap_or_default();
        let grant = json!({"id": format!("g-{customer}"), "customerId": customer, "amount": 1.0,
            "updatedAt": "2024-03-01T00:00:00.000Z"});
        connection("grants", vec![grant])
    }
}

fn read(customers: usize, changed: Vec<String>, state: Option<Value>) -> (Server, Output) {
    let mut server = Server {
        customers,
        changed,
        bodies: Vec::new(),
    };
    let messages = sync(
        &mut server,
        json!({"api_key": "k"}),
        "grants",
        "incremental",
        state,
    );
    (server, messages)
}

fn customers_read(messages: &Output) -> Vec<String> {
    messages
        .data()
        .iter()
        .map(|r| r["customerId"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_first_sync_reads_every_customer_then_follows_the_log() {
    let (_, messages) = read(12, vec![], None);
    assert_eq!(customers_read(&messages).len(), 12);
    let state = messages.last_state();
    assert_eq!(state["mode"], "per_parent_log");
    assert!(state["from"].is_string());
}

#[test]
fn a_later_sync_reads_only_the_customers_the_log_names() {
    let saved = json!({"mode": "per_parent_log", "from": "2024-05-01T00:00:00.000Z"});
    let (server, messages) = read(30, vec![uuid(7), uuid(3), uuid(7)], Some(saved.clone()));
    assert_eq!(
        server.bodies[0]["variables"]["filter"],
        json!({"createdAt": {"gte": "2024-05-01T00:00:00.000Z"}, "type": {"eq": "GRANT_CHANGED"}})
    );
    let mut read_customers = customers_read(&messages);
    read_customers.sort();
    assert_eq!(read_customers, ["cust3", "cust7"]);
    assert_eq!(messages.last_state()["mode"], "per_parent_log");
    assert_ne!(messages.last_state()["from"], "2024-05-01T00:00:00.000Z");

    // Idle: the same number of requests with 30 customers or 3,000.
    let (small, _) = read(30, vec![], Some(saved.clone()));
    let (large, _) = read(3000, vec![], Some(saved));
    assert_eq!(small.bodies.len(), large.bodies.len());
    assert!(small.bodies.len() <= 2, "{}", small.bodies.len());
}

#[test]
fn a_log_naming_customers_some_other_way_fails() {
    let saved = json!({"mode": "per_parent_log", "from": "2024-05-01T00:00:00.000Z"});
    let unknown = "6c0f3ea3-2f63-4a4b-9b0e-999999999999".to_owned();
    let (_, messages) = read(5, vec![unknown], Some(saved));
    let text = messages.trace_error()["message"].as_str().unwrap();
    assert!(text.contains("none is a customers `id`"), "{text}");
}
