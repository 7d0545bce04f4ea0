//! What the engine's read tests share: a one-stream sync against a fake
//! server, its messages parsed, and the answers fakes give.

#![allow(dead_code)]

use graphql_source::fixtures::API;
use graphql_source::io::{Http, HttpError, Response};
use serde_json::{json, Value};

/// A 200 answer of `{"data": data}`.
pub fn data(data: Value) -> Result<Response, HttpError> {
    Ok(Response {
        status: 200,
        headers: Vec::new(),
        body: json!({ "data": data }).to_string(),
    })
}

/// Reads `stream` of the fixtures' API in `mode` with `config`, from the
/// stream's saved `state` if given; every message, parsed.
pub fn sync(
    server: &mut dyn Http,
    config: Value,
    stream: &str,
    mode: &str,
    state: Option<Value>,
) -> Vec<Value> {
    let catalog = json!({"streams": [{"stream": {"name": stream},
        "sync_mode": mode, "destination_sync_mode": "append_dedup"}]})
    .to_string();
    let state = state.map(|s| {
        json!([{"type": "STREAM", "stream": {"stream_descriptor": {"name": stream},
            "stream_state": s}}])
        .to_string()
    });
    let mut out: Vec<String> = Vec::new();
    // A failed read reports through its messages, which the tests check.
    let _ = API.read(
        server,
        &mut out,
        &config.to_string(),
        &catalog,
        state.as_deref(),
    );
    out.iter()
        .map(|m| serde_json::from_str(m).expect("JSON messages"))
        .collect()
}

/// Asserts the read reported no error.
pub fn assert_succeeded(messages: &[Value]) {
    let errors: Vec<&Value> = of_type(messages, "TRACE")
        .into_iter()
        .filter(|m| m["trace"]["type"] == "ERROR")
        .collect();
    assert!(errors.is_empty(), "the read failed: {errors:?}");
}

pub fn of_type<'a>(messages: &'a [Value], kind: &str) -> Vec<&'a Value> {
    messages.iter().filter(|m| m["type"] == kind).collect()
}

/// The data of every RECORD.
pub fn records(messages: &[Value]) -> Vec<&Value> {
    of_type(messages, "RECORD")
        .into_iter()
        .map(|m| &m["record"]["data"])
        .collect()
}

/// The last STATE's stream state.
pub fn last_state(messages: &[Value]) -> &Value {
    &of_type(messages, "STATE").last().expect("a STATE")["state"]["stream"]["stream_state"]
}

/// The stream statuses, in order.
pub fn statuses(messages: &[Value]) -> Vec<&str> {
    messages
        .iter()
        .filter_map(|m| m["trace"]["stream_status"]["status"].as_str())
        .collect()
}

/// One page of the event log: an event per entity id, created at `created_at(i)`.
pub fn events(entity_ids: &[&str], created_at: impl Fn(usize) -> String) -> Value {
    let edges: Vec<Value> = entity_ids
        .iter()
        .enumerate()
        .map(|(i, id)| json!({"node": {"entityId": id, "id": format!("ev{i}"), "createdAt": created_at(i)}}))
        .collect();
    json!({"events": {"edges": edges, "pageInfo": {"hasNextPage": false, "endCursor": null}}})
}
