//! Per-parent streams through the whole read, against a fake server of
//! customers whose grants are asked for one customer at a time: every
//! customer's rows once, the parents listed with their keys only, the cost
//! logged before the reads, and a resume that skips finished customers.

use graphql_source::fixtures::API;
use graphql_source::io::{Http, HttpError, Request, Response};
use serde_json::{json, Value};
use test_support::Output;

/// `customers` customers; customer i has i % 3 grants, served 2 a page.
struct Server {
    customers: usize,
    bodies: Vec<Value>,
    /// The largest `first` the server accepts, as nestjs-query refuses more.
    max_first: u64,
    /// How long each answer takes.
    delay: std::time::Duration,
}

fn page(root: &str, nodes: Vec<Value>, next: Option<String>, total: usize) -> Response {
    let edges: Vec<Value> = nodes.into_iter().map(|n| json!({ "node": n })).collect();
    let body = json!({"data": {root: {
        "edges": edges,
        "pageInfo": {"hasNextPage": next.is_some(), "endCursor": next},
        "totalCount": total,
    }}});
    Response {
        status: 200,
        headers: Vec::new(),
        body: body.to_string(),
    }
}

impl Http for Server {
    fn send(&mut self, request: &Request) -> Result<Response, HttpError> {
        std::thread::sleep(self.delay);
        let body: Value = serde_json::from_str(&request.body).expect("a JSON body");
        self.bodies.push(body.clone());
        let query = body["query"].as_str().unwrap_or_default();
        let after = |paging: &Value| {
            paging["after"]
                .as_str()
                .and_then(|c| c.parse::<usize>().ok())
                .unwrap_or(0)
        };
        if query.contains("customers(") {
            let paging = &body["variables"]["paging"];
            if paging["first"].as_u64().unwrap() > self.max_first {
                let refusal = json!({"data": null, "errors": [{"extensions": {"code": "BAD_USER_INPUT"},
                    "message": format!("Field paging.first max allowed value is `{}`.", self.max_first)}]});
                return Ok(Response {
                    status: 200,
                    headers: Vec::new(),
                    body: refusal.to_string(),
                });
            }
            let (from, first) = (after(paging), paging["first"].as_u64().unwrap() as usize);
            let end = (from + first).min(self.customers);
            // Newest first here: the engine orders parents itself.
            let nodes = (from..end)
                .map(|i| {
                    let n = self.customers - 1 - i;
                    json!({"id": format!("id{n}"), "customerId": format!("cust{n}"),
                           "createdAt": format!("2024-01-01T00:00:{n:02}.000Z"),
                           "updatedAt": "2024-02-01T00:00:00.000Z"})
                })
                .collect();
            return Ok(page(
                "customers",
                nodes,
                (end < self.customers).then(|| end.to_string()),
                self.customers,
            ));
        }
        let input = &body["variables"]["input"];
        let customer = input["customerId"].as_str().expect("a customerId");
        let n: usize = customer.trim_start_matches("cust").parse().unwrap();
        let from = after(&input["paging"]);
        let count = n % 3;
        let end = (from + 2).min(count);
        let nodes = (from..end)
            .map(|g| json!({"id": format!("g{n}-{g}"), "customerId": customer, "amount": 1.5}))
            .collect();
        Ok(page(
            "grants",
            nodes,
            (end < count).then(|| end.to_string()),
            count,
        ))
    }
}

fn read(customers: usize, state: Option<&str>) -> (Vec<Value>, Output) {
    read_with(
        customers,
        state,
        u64::MAX,
        json!({"api_key": "test-key-123", "page_size": 4}),
    )
}

fn read_with(
    customers: usize,
    state: Option<&str>,
    max_first: u64,
    config: Value,
) -> (Vec<Value>, Output) {
    let mut server = Server {
        customers,
        bodies: Vec::new(),
        max_first,
        delay: std::time::Duration::from_millis(config["delay_ms"].as_u64().unwrap_or(0)),
    };
    let mut out: Vec<String> = Vec::new();
    let config = config.to_string();
    let catalog = json!({"streams": [{"stream": {"name": "grants"},
        "sync_mode": "full_refresh", "destination_sync_mode": "overwrite"}]})
    .to_string();
    API.read(&mut server, &mut out, &config, &catalog, state)
        .expect("the read succeeds");
    (server.bodies, Output::lines(&out))
}

fn records(messages: &Output) -> Vec<String> {
    messages.record_ids("grants")
}

#[test]
fn every_parent_s_rows_once_with_the_cost_logged_first() {
    let (bodies, messages) = read(10, None);
    let mut ids = records(&messages);
    let expected: usize = (0..10).map(|n| n % 3).sum();
    assert_eq!(ids.len(), expected);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), expected, "no row twice");
    // Listing: 3 pages of 4, keys and the naming field only.
    let listing: Vec<&Value> = bodies
        .iter()
        .filter(|b| b["query"].as_str().unwrap().contains("customers("))
        .collect();
    assert_eq!(listing.len(), 3);
    assert!(listing[0]["query"]
        .as_str()
        .unwrap()
        .contains("node { id customerId createdAt updatedAt }"));
    // Per customer: one request (the fake's pages of 2 hold any customer's grants).
    assert_eq!(bodies.len() - listing.len(), 10);
    let log = messages
        .messages
        .iter()
        .find(|m| m["type"] == "LOG" && m["log"]["message"].as_str().unwrap().contains("to read"))
        .expect("a cost LOG");
    assert_eq!(
        log["log"]["message"],
        "grants: 10 customers to read, a request per page of each: at least 10 requests, under a \
         second at this read's pace"
    );
    assert_eq!(
        messages.statuses("grants"),
        ["STARTED", "RUNNING", "COMPLETE"]
    );
}

#[test]
fn a_resumed_read_skips_the_parents_done() {
    let (_, messages) = read(20, None);
    let states: Vec<&Value> = messages
        .states("grants")
        .map(|m| &m["state"]["stream"]["stream_state"])
        .collect();
    assert_eq!(
        states.last().unwrap(),
        &&json!({"mode": "full_refresh_complete"})
    );
    // After the first round (8 customers, in creation order), cust8 is the first unfinished.
    assert_eq!(
        states[0],
        &json!({"mode": "per_parent", "parents_from": ["2024-01-01T00:00:08.000Z", "id8"]})
    );
    let state = json!([{"type": "STREAM", "stream": {"stream_descriptor": {"name": "grants"},
        "stream_state": states[0]}}])
    .to_string();
    let (bodies, resumed) = read(20, Some(&state));
    let ids = records(&resumed);
    assert!(
        ids.iter().all(|id| {
            let n: usize = id[1..].split('-').next().unwrap().parse().unwrap();
            n >= 8
        }),
        "{ids:?}"
    );
    assert_eq!(ids.len(), (8..20).map(|n| n % 3).sum::<usize>());
    let per_customer = bodies
        .iter()
        .filter(|b| !b["query"].as_str().unwrap().contains("customers("))
        .count();
    assert_eq!(per_customer, 12);
}

#[test]
fn a_page_size_refused_while_listing_parents_is_lowered() {
    let (bodies, messages) = read_with(10, None, 3, json!({"api_key": "test-key-123"}));
    assert_eq!(
        records(&messages).len(),
        (0..10).map(|n| n % 3).sum::<usize>()
    );
    let warned = messages.messages.iter().any(|m| {
        m["type"] == "LOG"
            && m["log"]["message"]
                .as_str()
                .unwrap()
                .contains("refused pages of 1000 rows; asking for 3")
    });
    assert!(warned, "{messages:?}");
    let listing = bodies
        .iter()
        .filter(|b| b["query"].as_str().unwrap().contains("customers("))
        .count();
    assert_eq!(listing, 1 + 4, "the refused page, then 4 pages of 3");
}

#[test]
fn a_long_read_says_how_far_it_is_and_how_large_it_will_be() {
    // 30 customers at 80 ms an answer: the grants take about 2.4 s, progress every second.
    let config = json!({"api_key": "test-key-123", "page_size": 4, "progress_log_seconds": 1,
                        "delay_ms": 80});
    let (_, messages) = read_with(30, None, u64::MAX, config);
    let total: u64 = (0..30).map(|n| n % 3).sum();
    assert_eq!(records(&messages).len() as u64, total);
    let estimates: Vec<u64> = messages
        .of_type("TRACE")
        .filter(|m| m["trace"]["type"] == "ESTIMATE")
        .map(|m| {
            assert_eq!(m["trace"]["estimate"]["name"], "grants");
            m["trace"]["estimate"]["row_estimate"].as_u64().unwrap()
        })
        .collect();
    // The first after the first round (8 customers), then one a second.
    assert!(estimates.len() >= 2, "{estimates:?}");
    for estimate in &estimates {
        assert!(
            estimate.abs_diff(total) * 2 <= total,
            "{estimate} for {total}"
        );
    }
    let progress: Vec<&str> = messages
        .of_type("LOG")
        .filter_map(|m| m["log"]["message"].as_str())
        .filter(|m| m.contains("records so far"))
        .collect();
    assert!(!progress.is_empty(), "no progress LOG");
    for line in &progress {
        assert!(line.starts_with("grants: "), "{line}");
        assert!(line.contains(" requests; about "), "{line}");
    }
}
