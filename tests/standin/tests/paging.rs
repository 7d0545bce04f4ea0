//! Paging walks every record exactly once, in the requested order.

mod common;

use std::collections::HashSet;

use common::{data, gql, start, walk};
use serde_json::{json, Value};
use stigg_standin::{decode_cursor, encode_cursor};

fn assert_same_set(walked: &[String], expected: &[String]) {
    let unique: HashSet<&String> = walked.iter().collect();
    assert_eq!(unique.len(), walked.len(), "an id came twice");
    assert_eq!(unique, expected.iter().collect::<HashSet<_>>());
}

/// (createdAt, id) of every customer in the order the API returns them.
fn customers_in_order(standin: &stigg_standin::Standin, sorting: Value) -> Vec<(String, String)> {
    let query = "query($s: [CustomerSort!]) { customers(paging: {first: 1000}, sorting: $s) { edges { node { id createdAt } } } }";
    let data = data(standin, query, json!({ "s": sorting }));
    data["customers"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| {
            (
                e["node"]["createdAt"].as_str().unwrap_or("").to_string(),
                e["node"]["id"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn default_sort_walks_all_customers_once_newest_first() {
    let standin = start(237);
    let walked = walk(&standin, "customers", "CustomerSort", 10, None, None);
    assert_same_set(&walked, &standin.ids("customers"));
    let ordered = customers_in_order(
        &standin,
        json!([{ "field": "createdAt", "direction": "DESC" }]),
    );
    let ids: Vec<String> = ordered.iter().map(|o| o.1.clone()).collect();
    assert_eq!(ids, walked, "the default sorting is createdAt DESC");
    assert!(ordered.windows(2).all(|w| w[0].0 >= w[1].0));
}

#[test]
fn data_has_createdat_ties() {
    let standin = start(2000);
    let ordered = customers_in_order(
        &standin,
        json!([{ "field": "createdAt", "direction": "ASC" }]),
    );
    let ties = ordered.windows(2).filter(|w| w[0].0 == w[1].0).count();
    assert!(ties > 10, "only {ties} ties");
}

#[test]
fn custom_sorts_walk_all_once() {
    let standin = start(300);
    let expected = standin.ids("customers");
    let sorts = [
        json!([{ "field": "updatedAt", "direction": "ASC" }, { "field": "id", "direction": "ASC" }]),
        json!([{ "field": "name", "direction": "DESC", "nulls": "NULLS_LAST" }]),
        json!([{ "field": "email", "direction": "ASC", "nulls": "NULLS_FIRST" }, { "field": "createdAt", "direction": "ASC" }]),
        json!([{ "field": "id", "direction": "DESC" }]),
    ];
    for sorting in sorts {
        for page in [1, 7, 50, 1000] {
            let walked = walk(
                &standin,
                "customers",
                "CustomerSort",
                page,
                Some(sorting.clone()),
                None,
            );
            assert_same_set(&walked, &expected);
        }
    }
    let by_id = walk(
        &standin,
        "customers",
        "CustomerSort",
        33,
        Some(json!([{ "field": "id", "direction": "ASC" }])),
        None,
    );
    let mut sorted = by_id.clone();
    sorted.sort();
    assert_eq!(by_id, sorted, "UUIDs sort like their text");
}

#[test]
fn nulls_go_where_asked() {
    let standin = start(200);
    let query = "query($s: [CustomerSort!]) { customers(paging: {first: 1000}, sorting: $s) { edges { node { name } } } }";
    let names = |sorting: Value| -> Vec<Value> {
        let data = data(&standin, query, json!({ "s": sorting }));
        data["customers"]["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .map(|e| e["node"]["name"].clone())
            .collect()
    };
    let asc = names(json!([{ "field": "name", "direction": "ASC" }]));
    assert!(
        asc.last().is_some_and(Value::is_null),
        "ASC puts nulls last by default"
    );
    assert!(!asc[0].is_null());
    let desc = names(json!([{ "field": "name", "direction": "DESC" }]));
    assert!(desc[0].is_null(), "DESC puts nulls first by default");
    let desc_last = names(json!([{ "field": "name", "direction": "DESC", "nulls": "NULLS_LAST" }]));
    assert!(desc_last.last().is_some_and(Value::is_null));
    let texts: Vec<&str> = asc.iter().filter_map(Value::as_str).collect();
    assert!(texts.windows(2).all(|w| w[0] <= w[1]));
}

#[test]
fn every_list_query_pages_completely() {
    let standin = start(60);
    let lists = [
        ("subscriptions", "SubscriptionQuerySort"),
        ("plans", "PlanSort"),
        ("addons", "AddonSort"),
        ("features", "FeatureSort"),
        ("products", "ProductSort"),
        ("coupons", "CouponSort"),
        ("promotionalEntitlements", "PromotionalEntitlementSort"),
        ("usageMeasurements", "UsageMeasurementSort"),
    ];
    for (root_field, sort_type) in lists {
        let expected = standin.ids(root_field);
        assert!(!expected.is_empty(), "{root_field} has data");
        let walked = walk(&standin, root_field, sort_type, 7, None, None);
        assert_same_set(&walked, &expected);
    }
    assert_eq!(standin.ids("subscriptions").len(), 120);
}

#[test]
fn cursors_are_nestjs_query_offsets() {
    let standin = start(30);
    let query = "{ customers(paging: {first: 5}) { pageInfo { startCursor endCursor hasNextPage hasPreviousPage } edges { cursor } } }";
    let page = data(&standin, query, json!({}));
    let info = &page["customers"]["pageInfo"];
    assert_eq!(info["startCursor"], json!(encode_cursor(0)));
    assert_eq!(info["endCursor"], json!("YXJyYXljb25uZWN0aW9uOjQ="));
    assert_eq!(info["hasPreviousPage"], json!(false));
    let cursors: Vec<usize> = page["customers"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .filter_map(|e| e["cursor"].as_str())
        .filter_map(|c| decode_cursor(c).ok())
        .collect();
    assert_eq!(cursors, vec![0, 1, 2, 3, 4]);

    let query = "query($after: ConnectionCursor) { customers(paging: {first: 5, after: $after}) { pageInfo { startCursor hasPreviousPage } } }";
    let next = data(&standin, query, json!({ "after": encode_cursor(4) }));
    assert_eq!(
        next["customers"]["pageInfo"]["startCursor"],
        json!(encode_cursor(5))
    );
    assert_eq!(
        next["customers"]["pageInfo"]["hasPreviousPage"],
        json!(true)
    );
}

#[test]
fn default_page_is_ten_and_empty_pages_have_null_cursors() {
    let standin = start(30);
    let page = data(
        &standin,
        "{ customers { totalCount edges { cursor } } }",
        json!({}),
    );
    assert_eq!(
        page["customers"]["edges"].as_array().map(Vec::len),
        Some(10)
    );
    assert_eq!(page["customers"]["totalCount"], json!(30));
    let query = "query($a: ConnectionCursor) { customers(paging: {first: 10, after: $a}) { pageInfo { startCursor endCursor hasNextPage } edges { cursor } } }";
    let end = data(&standin, query, json!({ "a": encode_cursor(29) }));
    assert_eq!(end["customers"]["edges"], json!([]));
    assert_eq!(
        end["customers"]["pageInfo"],
        json!({ "startCursor": null, "endCursor": null, "hasNextPage": false })
    );
}

#[test]
fn page_size_limit_is_a_graphql_error() {
    let standin = start(10);
    let reply = gql(
        &standin,
        "{ customers(paging: {first: 1001}) { totalCount } }",
        json!({}),
    );
    assert_eq!(reply.status, 200);
    let json = reply.json();
    assert_eq!(json["data"], Value::Null);
    assert_eq!(
        json["errors"][0]["extensions"]["code"],
        json!("BAD_USER_INPUT")
    );
    assert!(json["errors"][0]["message"]
        .as_str()
        .is_some_and(|m| m.contains("1000")));
    let ok = data(
        &standin,
        "{ customers(paging: {first: 1000}) { totalCount } }",
        json!({}),
    );
    assert_eq!(ok["customers"]["totalCount"], json!(10));
    let bad_cursor = gql(
        &standin,
        r#"{ customers(paging: {after: "bm9wZQ=="}) { totalCount } }"#,
        json!({}),
    )
    .json();
    assert_eq!(
        bad_cursor["errors"][0]["extensions"]["code"],
        json!("BAD_USER_INPUT")
    );
    let recorded: Vec<String> = standin
        .invalid_queries()
        .into_iter()
        .map(|q| q.code)
        .collect();
    assert_eq!(
        recorded,
        ["BAD_USER_INPUT", "BAD_USER_INPUT"],
        "input errors count as invalid queries"
    );
}
