//! Deletes through the whole read, against a fake server: an incremental
//! sync of customers emits, after the changed rows, one record per deletion
//! the event log lists since the last sync, and tracks deletions from its
//! own start on; a log naming rows another way fails the stream.

mod common;

use common::{data, events, sync, Output};
use graphql_source::io::{Http, HttpError, Request, Response};
use serde_json::{json, Value};

struct Server {
    /// The entity ids of the deletions the log holds.
    deleted: Vec<&'static str>,
    bodies: Vec<Value>,
}

impl Http for Server {
    fn send(&mut self, request: &Request) -> Result<Response, HttpError> {
        let body: Value = serde_json::from_str(&request.body).expect("a JSON body");
        self.bodies.push(body.clone());
        let query = body["query"].as_str().unwrap_or_default();
        data(if query.contains("events(") {
            events(&self.deleted, |i| {
                format!("2024-06-0{}T00:00:00.000Z", i + 1)
            })
        } else {
            let node = json!({"id": "c1", "customerId": "cust1", "name": null,
                "createdAt": "2024-01-01T00:00:00.000Z", "updatedAt": "2024-05-01T00:00:00.000Z",
                "additionalMetaData": null, "totalActiveSubscription": 1.0});
            json!({"customers": {"edges": [{"node": node}],
                "pageInfo": {"hasNextPage": false, "endCursor": "1"}, "totalCount": 1}})
        })
    }
}

fn read(deleted: Vec<&'static str>, state: Option<Value>) -> (Server, Output) {
    read_with(deleted, state, json!({"api_key": "test-key-123"}))
}

fn read_with(deleted: Vec<&'static str>, state: Option<Value>, config: Value) -> (Server, Output) {
    let mut server = Server {
        deleted,
        bodies: Vec::new(),
    };
    let messages = sync(&mut server, config, "customers", "incremental", state);
    (server, messages)
}

#[test]
fn a_first_sync_starts_tracking_deletions_without_reading_them() {
    let (server, messages) = read(vec!["6c0f3ea3-2f63-4a4b-9b0e-111111111111"], None);
    assert_eq!(server.bodies.len(), 1, "no event log query on a first sync");
    let last = messages.last_state();
    assert_eq!(last["cursor"], "2024-05-01T00:00:00.000Z");
    assert!(
        messages
            .states("customers")
            .all(|m| m["state"]["stream"]["stream_state"]["deletes_from"] == last["deletes_from"]),
        "every STATE tracks deletions from this sync's start, so an interrupted first sync does too"
    );
    let from = graphql_source::time::parse_rfc3339_ms(last["deletes_from"].as_str().unwrap())
        .expect("a timestamp");
    let now = graphql_source::time::now_ms() as i64;
    assert!(
        (now - 11 * 60_000..now - 9 * 60_000).contains(&from),
        "{from} vs {now}"
    );
}

#[test]
fn a_later_sync_emits_a_deletion_record_per_logged_deletion() {
    let saved = json!({"mode": "incremental", "cursor_field": "updatedAt",
        "cursor": "2024-04-01T00:00:00.000Z", "deletes_from": "2024-05-15T00:00:00.000Z"});
    let ids = [
        "6c0f3ea3-2f63-4a4b-9b0e-111111111111",
        "6c0f3ea3-2f63-4a4b-9b0e-222222222222",
    ];
    let (server, messages) = read(ids.to_vec(), Some(saved));
    let events = &server.bodies[1]["variables"];
    assert_eq!(
        events["filter"],
        json!({"createdAt": {"gte": "2024-05-15T00:00:00.000Z"}, "type": {"eq": "CUSTOMER_DELETED"}})
    );
    let records = messages.data();
    assert_eq!(records.len(), 3, "the changed row and two deletions");
    assert_eq!(
        records[2],
        &json!({"id": ids[1], "updatedAt": "2024-06-02T00:00:00.000Z",
                "_ab_cdc_deleted_at": "2024-06-02T00:00:00.000Z"})
    );
    assert_ne!(
        messages.last_state()["deletes_from"],
        "2024-05-15T00:00:00.000Z",
        "moved on"
    );
    assert_eq!(
        messages.statuses("customers").last().map(String::as_str),
        Some("COMPLETE")
    );
}

#[test]
fn a_log_naming_rows_another_way_fails_the_stream() {
    let saved = json!({"mode": "incremental", "cursor_field": "updatedAt",
        "cursor": null, "deletes_from": "2024-05-15T00:00:00.000Z"});
    let (_, messages) = read(vec!["cust-42"], Some(saved));
    let error = messages.errors()[0];
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("\"cust-42\", which is not an id"),
        "{message}"
    );
    assert!(
        messages
            .data()
            .iter()
            .all(|r| r.get("_ab_cdc_deleted_at").is_none()),
        "no deletion emitted"
    );
}

#[test]
fn deletions_can_be_turned_off() {
    let saved = json!({"mode": "incremental", "cursor_field": "updatedAt",
        "cursor": null, "deletes_from": "2024-05-15T00:00:00.000Z"});
    let config = json!({"api_key": "test-key-123", "track_deletes": false});
    let (server, messages) = read_with(vec!["cust-42"], Some(saved), config);
    assert_eq!(server.bodies.len(), 1, "no event log query");
    assert_eq!(messages.data().len(), 1);
}
