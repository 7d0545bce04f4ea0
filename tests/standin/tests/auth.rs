//! The X-API-KEY header decides, and a bad key is answered either way.

mod common;

use common::{post_graphql_with_key, request, KEY};
use serde_json::json;
use stigg_standin::{BadKeyMode, Standin, StandinConfig};

fn standin(mode: BadKeyMode) -> Standin {
    Standin::start(StandinConfig {
        api_key: KEY.into(),
        customers: 3,
        bad_key_mode: mode,
        ..Default::default()
    })
}

const QUERY: &str = "{ customers { totalCount } }";

#[test]
fn wrong_or_missing_key_is_401_by_default() {
    let standin = standin(BadKeyMode::Http401);
    let reply =
        post_graphql_with_key(&standin, "nope", &json!({ "query": QUERY })).expect("a response");
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.json(),
        json!({ "errors": [{ "message": "Unauthorized", "extensions": { "code": "UNAUTHENTICATED" } }] })
    );
    let headers = [("Content-Type", "application/json")];
    let missing = request(
        standin.addr(),
        "POST",
        "/graphql",
        &headers,
        &json!({ "query": QUERY }).to_string(),
    )
    .expect("a response");
    assert_eq!(missing.status, 401);
    let ok = post_graphql_with_key(&standin, KEY, &json!({ "query": QUERY })).expect("a response");
    assert_eq!(ok.status, 200);
    assert_eq!(
        ok.json(),
        json!({ "data": { "customers": { "totalCount": 3 } } })
    );
    assert_eq!(standin.request_count(), 3);
    assert_eq!(standin.root_field_count("customers"), 1);
}

#[test]
fn graphql_error_mode_answers_200() {
    let standin = standin(BadKeyMode::GraphqlError200);
    let reply =
        post_graphql_with_key(&standin, "nope", &json!({ "query": QUERY })).expect("a response");
    assert_eq!(reply.status, 200);
    let json = reply.json();
    assert_eq!(json["data"], serde_json::Value::Null);
    assert_eq!(
        json["errors"][0]["extensions"]["code"],
        json!("UNAUTHENTICATED")
    );
}

#[test]
fn key_is_case_sensitive_but_header_name_is_not() {
    let standin = standin(BadKeyMode::Http401);
    let upper = post_graphql_with_key(&standin, &KEY.to_uppercase(), &json!({ "query": QUERY }))
        .expect("a response");
    assert_eq!(upper.status, 401);
    let headers = [("content-type", "application/json"), ("x-api-key", KEY)];
    let lower = request(
        standin.addr(),
        "POST",
        "/graphql",
        &headers,
        &json!({ "query": QUERY }).to_string(),
    )
    .expect("a response");
    assert_eq!(lower.status, 200);
}
