//! Incremental by activity log, through the whole read against a fake
//! server: a first sync reads every subscription; a later one reads again
//! only those the log names as changed; every N-th is a full refresh; off
//! by default.

mod common;

use common::{data, events, sync, Output};
use graphql_source::fixtures::API;
use graphql_source::io::{Http, HttpError, Request, Response};
use serde_json::{json, Value};

const IDS: [&str; 3] = [
    "6c0f3ea3-2f63-4a4b-9b0e-000000000001",
    "6c0f3ea3-2f63-4a4b-9b0e-000000000002",
    "6c0f3ea3-2f63-4a4b-9b0e-000000000003",
];

struct Server {
    /// Subscriptions the event log names as changed.
    changed: Vec<&'static str>,
    bodies: Vec<Value>,
}

fn subscription(id: &str) -> Value {
    json!({"id": id, "subscriptionId": format!("sub-{}", &id[34..]), "createdAt": "2024-01-01T00:00:00.000Z",
           "plan": {"id": "p", "refId": "plan"}})
}

impl Http for Server {
    fn send(&mut self, request: &Request) -> Result<Response, HttpError> {
        let body: Value = serde_json::from_str(&request.body).expect("a JSON body");
        self.bodies.push(body.clone());
        let query = body["query"].as_str().unwrap_or_default();
        data(if query.contains("events(") {
            events(&self.changed, |_| "2024-06-01T00:00:00.000Z".into())
        } else {
            let wanted = &body["variables"]["filter"]["id"]["in"];
            let nodes: Vec<Value> = IDS
                .iter()
                .filter(|id| wanted.as_array().is_none_or(|w| w.contains(&json!(id))))
                .map(|id| json!({ "node": subscription(id) }))
                .collect();
            json!({"subscriptions": {"edges": nodes, "pageInfo": {"hasNextPage": false},
                   "totalCount": 3}})
        })
    }
}

fn read(changed: Vec<&'static str>, state: Option<Value>, config: Value) -> (Server, Output) {
    let mut server = Server {
        changed,
        bodies: Vec::new(),
    };
    let messages = sync(&mut server, config, "subscriptions", "incremental", state);
    messages.assert_succeeded();
    (server, messages)
}

fn on() -> Value {
    json!({"api_key": "k", "subscriptions_incremental_via_activity_log": true,
           "activity_full_refresh_every": 3})
}

fn ids(messages: &Output) -> Vec<&str> {
    messages
        .data()
        .iter()
        .filter_map(|d| d["id"].as_str())
        .collect()
}

#[test]
fn a_first_sync_reads_every_row_and_starts_following_the_log() {
    let (server, messages) = read(vec![IDS[0]], None, on());
    assert_eq!(ids(&messages).len(), 3);
    assert!(server
        .bodies
        .iter()
        .all(|b| !b["query"].as_str().unwrap().contains("events(")));
    let state = messages.last_state();
    assert_eq!(state["mode"], "activity");
    assert_eq!(state["syncs"], 0);
    assert!(state.get("full_refresh").is_none(), "{state}");
}

#[test]
fn a_later_sync_reads_again_only_the_rows_the_log_names() {
    let saved = json!({"mode": "activity", "from": "2024-05-01T00:00:00.000Z", "syncs": 0});
    let (server, messages) = read(vec![IDS[2], IDS[0], IDS[2]], Some(saved), on());
    assert_eq!(
        server.bodies[0]["variables"]["filter"],
        json!({"createdAt": {"gte": "2024-05-01T00:00:00.000Z"},
               "type": {"in": ["SUBSCRIPTION_CHANGED"]}})
    );
    assert_eq!(
        server.bodies[1]["variables"]["filter"],
        json!({"id": {"in": [IDS[2], IDS[0]]}}),
        "each id once"
    );
    let mut read_ids = ids(&messages);
    read_ids.sort();
    assert_eq!(read_ids, [IDS[0], IDS[2]]);
    let state = messages.last_state();
    assert_eq!(state["syncs"], 1);
    assert_ne!(state["from"], "2024-05-01T00:00:00.000Z");

    // Nothing changed: no subscription is asked for, and the state moves on.
    let saved = json!({"mode": "activity", "from": "2024-05-01T00:00:00.000Z", "syncs": 1});
    let (server, messages) = read(vec![], Some(saved), on());
    assert_eq!(server.bodies.len(), 1, "only the log");
    assert!(ids(&messages).is_empty());
    assert_eq!(messages.last_state()["syncs"], 2);
}

#[test]
fn every_nth_sync_is_a_full_refresh() {
    let saved = json!({"mode": "activity", "from": "2024-05-01T00:00:00.000Z", "syncs": 2});
    let (server, messages) = read(vec![IDS[0]], Some(saved), on());
    assert!(server
        .bodies
        .iter()
        .all(|b| !b["query"].as_str().unwrap().contains("events(")));
    assert_eq!(ids(&messages).len(), 3);
    assert_eq!(messages.last_state()["syncs"], 0);
}

#[test]
fn off_by_default_the_stream_is_read_in_full() {
    let (_, messages) = read(vec![IDS[0]], None, json!({"api_key": "k"}));
    assert_eq!(ids(&messages).len(), 3);
    assert_eq!(
        messages.last_state(),
        &json!({"mode": "full_refresh_complete"})
    );
    let mut out: Vec<String> = Vec::new();
    API.discover(&mut out, &on().to_string()).unwrap();
    let catalog: Value = serde_json::from_str(&out[0]).unwrap();
    let subscriptions = catalog["catalog"]["streams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "subscriptions")
        .unwrap();
    assert_eq!(
        subscriptions["supported_sync_modes"],
        json!(["full_refresh", "incremental"])
    );
}
