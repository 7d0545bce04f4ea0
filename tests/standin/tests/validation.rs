//! Queries are validated against the subset schema, as Apollo Server does.

mod common;

use common::{data, gql, request, start, KEY};
use serde_json::json;

#[test]
fn misspelled_field_is_rejected_and_recorded() {
    let standin = start(5);
    let query = "{ customers { edges { node { id emial } } } }";
    let reply = gql(&standin, query, json!({}));
    assert_eq!(reply.status, 400);
    let json = reply.json();
    assert_eq!(
        json["errors"][0]["extensions"]["code"],
        json!("GRAPHQL_VALIDATION_FAILED")
    );
    let message = json["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("emial"), "{message}");
    assert!(json.get("data").is_none());
    let invalid = standin.invalid_queries();
    assert_eq!(invalid.len(), 1);
    assert_eq!(invalid[0].query, query);
    assert_eq!(invalid[0].code, "GRAPHQL_VALIDATION_FAILED");
    assert_eq!(standin.root_field_count("customers"), 0);
}

#[test]
fn wrong_argument_types_are_rejected() {
    let standin = start(5);
    let literal = gql(
        &standin,
        r#"{ customers(paging: {first: "ten"}) { totalCount } }"#,
        json!({}),
    );
    assert_eq!(literal.status, 400, "{}", literal.body);
    let enum_value = gql(
        &standin,
        "{ customers(sorting: [{field: createdAt, direction: DOWN}]) { totalCount } }",
        json!({}),
    );
    assert_eq!(enum_value.status, 400, "{}", enum_value.body);
    let sort_field = gql(
        &standin,
        "{ subscriptions(sorting: [{field: updatedAt, direction: ASC}]) { totalCount } }",
        json!({}),
    );
    assert_eq!(
        sort_field.status, 400,
        "subscriptions cannot sort by updatedAt: {}",
        sort_field.body
    );
    let filter_field = gql(
        &standin,
        r#"{ subscriptions(filter: {id: {eq: "x"}}) { totalCount } }"#,
        json!({}),
    );
    assert_eq!(
        filter_field.status, 400,
        "SubscriptionQueryFilter has no id: {}",
        filter_field.body
    );
    let variable_type = gql(
        &standin,
        "query($p: Int) { customers(paging: $p) { totalCount } }",
        json!({}),
    );
    assert_eq!(
        variable_type.status, 400,
        "a variable of the wrong type: {}",
        variable_type.body
    );
    assert_eq!(standin.invalid_queries().len(), 5);
}

#[test]
fn variable_values_are_coerced() {
    let standin = start(5);
    let query = "query($p: CursorPaging) { customers(paging: $p) { totalCount } }";
    let reply = gql(&standin, query, json!({ "p": { "first": "many" } }));
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.json()["errors"][0]["extensions"]["code"],
        json!("BAD_USER_INPUT")
    );
    let invalid = standin.invalid_queries();
    assert_eq!(
        invalid.last().map(|q| q.code.as_str()),
        Some("BAD_USER_INPUT")
    );
    let ok = data(&standin, query, json!({ "p": { "first": 2 } }));
    assert_eq!(ok["customers"]["totalCount"], json!(5));
}

#[test]
fn malformed_requests_are_400s() {
    let standin = start(5);
    let headers = [("Content-Type", "application/json"), ("X-API-KEY", KEY)];
    for body in ["", "{", "[1,2]", r#"{"query": 5}"#, r#"{"variables": {}}"#] {
        let reply =
            request(standin.addr(), "POST", "/graphql", &headers, body).expect("a response");
        assert_eq!(reply.status, 400, "{body:?} -> {}", reply.body);
        assert_eq!(
            reply.json()["errors"][0]["extensions"]["code"],
            json!("BAD_REQUEST")
        );
    }
    let plain = [("Content-Type", "text/plain"), ("X-API-KEY", KEY)];
    let reply = request(
        standin.addr(),
        "POST",
        "/graphql",
        &plain,
        r#"{"query": "{ customers { totalCount } }"}"#,
    )
    .expect("a response");
    assert_eq!(reply.status, 400);
    assert_eq!(standin.invalid_queries().len(), 6);
}

#[test]
fn valid_queries_count_per_root_field() {
    let standin = start(5);
    data(&standin, "{ customers { totalCount } }", json!({}));
    data(
        &standin,
        "query Two { plans { totalCount } features { totalCount } }",
        json!({}),
    );
    data(
        &standin,
        "fragment F on Query { plans { totalCount } } { ...F }",
        json!({}),
    );
    assert_eq!(standin.request_count(), 3);
    assert_eq!(standin.root_field_count("customers"), 1);
    assert_eq!(standin.root_field_count("plans"), 2);
    assert_eq!(standin.root_field_count("features"), 1);
    assert!(standin.invalid_queries().is_empty());
    standin.reset_stats();
    assert_eq!(standin.request_count(), 0);
}
