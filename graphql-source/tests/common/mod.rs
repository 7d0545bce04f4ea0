//! What the engine's read tests share: a one-stream sync against a fake
//! server, its messages checked against the Airbyte protocol (the end-to-end
//! tests' [`Output`]), and the answers fakes give.

#![allow(dead_code)]

use graphql_source::fixtures::API;
use graphql_source::io::{Http, HttpError, Response};
use serde_json::{json, Value};
pub use test_support::Output;

/// A 200 answer of `{"data": data}`.
pub fn data(data: Value) -> Result<Response, HttpError> {
    Ok(Response {
        status: 200,
        headers: Vec::new(),
        body: json!({ "data": data }).to_string(),
    })
}

/// Reads `stream` of the fixtures' API in `mode` with `config`, from the
/// stream's saved `state` if given; every message, parsed and checked.
pub fn sync(
    server: &mut dyn Http,
    config: Value,
    stream: &str,
    mode: &str,
    state: Option<Value>,
) -> Output {
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
    Output::lines(&out)
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
