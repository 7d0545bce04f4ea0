//! Each scripted fault, and the admin endpoints that script them.

mod common;

use std::time::{Duration, Instant};

use common::{gql, request, start, KEY};
use serde_json::{json, Value};
use stigg_standin::{encode_cursor, Fault, FaultRule};

const QUERY: &str = "{ customers(paging: {first: 5}) { pageInfo { endCursor hasNextPage } edges { node { id name } } } }";

#[test]
fn status_with_retry_after() {
    let standin = start(10);
    standin.set_faults(vec![FaultRule::on_request(
        2,
        Fault::Status {
            code: 429,
            retry_after: Some("3".into()),
        },
    )]);
    assert_eq!(gql(&standin, QUERY, json!({})).status, 200);
    let limited = gql(&standin, QUERY, json!({}));
    assert_eq!(limited.status, 429);
    assert_eq!(limited.header("retry-after"), Some("3"));
    assert_eq!(
        gql(&standin, QUERY, json!({})).status,
        200,
        "on_request fires once"
    );
}

#[test]
fn every_nth_request_of_one_root_field() {
    let standin = start(10);
    standin.set_faults(vec![FaultRule::every(
        2,
        Fault::Status {
            code: 503,
            retry_after: None,
        },
    )
    .for_root_field("plans")]);
    let plans = "{ plans { totalCount } }";
    let statuses: Vec<u16> = (0..4)
        .map(|_| gql(&standin, plans, json!({})).status)
        .collect();
    assert_eq!(statuses, [200, 503, 200, 503]);
    assert_eq!(
        gql(&standin, QUERY, json!({})).status,
        200,
        "customers are not affected"
    );
}

#[test]
fn drop_closes_without_a_response() {
    let standin = start(10);
    standin.add_fault(FaultRule::on_request(1, Fault::Drop));
    let headers = [("Content-Type", "application/json"), ("X-API-KEY", KEY)];
    let body = json!({ "query": QUERY }).to_string();
    assert!(request(standin.addr(), "POST", "/graphql", &headers, &body).is_err());
    assert!(request(standin.addr(), "POST", "/graphql", &headers, &body).is_ok());
}

#[test]
fn truncate_cuts_valid_json_in_half() {
    let standin = start(10);
    let whole = gql(&standin, QUERY, json!({})).body;
    standin.set_faults(vec![FaultRule::on_request(1, Fault::Truncate)]);
    let cut = gql(&standin, QUERY, json!({}));
    assert_eq!(cut.status, 200);
    assert!(serde_json::from_str::<Value>(&cut.body).is_err());
    assert!(
        whole.starts_with(&cut.body) && cut.body.len() * 2 <= whole.len() + 1,
        "{} of {}",
        cut.body.len(),
        whole.len()
    );
}

#[test]
fn graphql_error_data_null_and_no_data_key() {
    let standin = start(10);
    standin.set_faults(vec![
        FaultRule::on_request(
            1,
            Fault::GraphqlError {
                message: "Internal server error".into(),
                code: "INTERNAL_SERVER_ERROR".into(),
            },
        ),
        FaultRule::on_request(2, Fault::DataNull),
        FaultRule::on_request(3, Fault::NoDataKey),
    ]);
    let error = gql(&standin, QUERY, json!({}));
    assert_eq!(error.status, 200);
    assert_eq!(
        error.json(),
        json!({ "errors": [{ "message": "Internal server error", "extensions": { "code": "INTERNAL_SERVER_ERROR" } }], "data": null })
    );
    assert_eq!(
        gql(&standin, QUERY, json!({})).json(),
        json!({ "data": null })
    );
    assert_eq!(gql(&standin, QUERY, json!({})).json(), json!({}));
    assert!(gql(&standin, QUERY, json!({})).json()["data"]["customers"].is_object());
}

#[test]
fn latency_delays_but_answers() {
    let standin = start(10);
    standin.set_faults(vec![FaultRule::on_request(1, Fault::Latency { ms: 300 })]);
    let started = Instant::now();
    assert_eq!(gql(&standin, QUERY, json!({})).status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[test]
fn repeat_cursor_returns_the_same_end_cursor() {
    let standin = start(30);
    standin.set_faults(vec![FaultRule::on_request(1, Fault::RepeatCursor)]);
    let query = "query($a: ConnectionCursor) { customers(paging: {first: 5, after: $a}) { pageInfo { endCursor hasNextPage } edges { cursor } } }";
    let after = encode_cursor(24);
    let page = gql(&standin, query, json!({ "a": after })).json();
    assert_eq!(
        page["data"]["customers"]["pageInfo"],
        json!({ "endCursor": after, "hasNextPage": true })
    );
    let normal = gql(&standin, query, json!({ "a": after })).json();
    assert_eq!(
        normal["data"]["customers"]["pageInfo"],
        json!({ "endCursor": encode_cursor(29), "hasNextPage": false })
    );
}

#[test]
fn faults_and_stats_over_http() {
    let standin = start(10);
    let json_headers = [("Content-Type", "application/json")];
    let rules = json!([{ "on_request": 1, "root_field": "customers", "fault": { "status": { "code": 502 } } }]);
    let put = request(
        standin.addr(),
        "PUT",
        "/_admin/faults",
        &json_headers,
        &rules.to_string(),
    )
    .expect("a response");
    assert_eq!(put.status, 204, "{}", put.body);
    let listed = request(standin.addr(), "GET", "/_admin/faults", &[], "").expect("a response");
    assert_eq!(listed.json(), rules);
    assert_eq!(gql(&standin, QUERY, json!({})).status, 502);
    gql(
        &standin,
        "{ customers { edges { node { nme } } } }",
        json!({}),
    );
    let stats = request(standin.addr(), "GET", "/_admin/stats", &[], "")
        .expect("a response")
        .json();
    assert_eq!(
        stats,
        json!({ "requests": 2, "byRootField": { "customers": 1 }, "invalidQueries": 1,
                "rateLimited": 0, "rateLimitedByRootField": {} })
    );
    let invalid = request(standin.addr(), "GET", "/_admin/invalid-queries", &[], "")
        .expect("a response")
        .json();
    assert_eq!(invalid[0]["code"], json!("GRAPHQL_VALIDATION_FAILED"));
    let touched = request(
        standin.addr(),
        "POST",
        "/_admin/touch-customers",
        &json_headers,
        r#"{"n": 3}"#,
    )
    .expect("a response")
    .json();
    assert_eq!(touched["ids"].as_array().map(Vec::len), Some(3));
    let ids = request(standin.addr(), "GET", "/_admin/ids/customers", &[], "")
        .expect("a response")
        .json();
    assert_eq!(ids.as_array().map(Vec::len), Some(10));
    let bad = request(
        standin.addr(),
        "PUT",
        "/_admin/faults",
        &json_headers,
        r#"{"nonsense": 1}"#,
    )
    .expect("a response");
    assert!(bad.status >= 400 && bad.status < 500);
    let cleared = request(standin.addr(), "DELETE", "/_admin/faults", &[], "").expect("a response");
    assert_eq!(cleared.status, 204);
    assert!(standin.faults().is_empty());
}
