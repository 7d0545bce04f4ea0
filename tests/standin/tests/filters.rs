//! Filters on id, createdAt and updatedAt, with nestjs-query semantics.

mod common;

use common::{data, start, walk};
use serde_json::{json, Value};

/// (id, createdAt, updatedAt) of every customer.
fn all_customers(standin: &stigg_standin::Standin) -> Vec<(String, String, String)> {
    let page = data(
        standin,
        "{ customers(paging: {first: 1000}) { edges { node { id createdAt updatedAt } } } }",
        json!({}),
    );
    page["customers"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| {
            let text = |f: &str| e["node"][f].as_str().unwrap_or_default().to_string();
            (text("id"), text("createdAt"), text("updatedAt"))
        })
        .collect()
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

fn filtered(standin: &stigg_standin::Standin, filter: Value) -> Vec<String> {
    sorted(walk(
        standin,
        "customers",
        "CustomerSort",
        25,
        None,
        Some(filter),
    ))
}

#[test]
fn date_comparisons_compare_instants() {
    let standin = start(300);
    let customers = all_customers(&standin);
    let pivot = customers[150].2.clone();
    let expect = |keep: &dyn Fn(&str) -> bool| {
        sorted(
            customers
                .iter()
                .filter(|c| keep(&c.2))
                .map(|c| c.0.clone())
                .collect(),
        )
    };
    assert_eq!(
        filtered(&standin, json!({ "updatedAt": { "gt": pivot } })),
        expect(&|u| u > pivot.as_str())
    );
    assert_eq!(
        filtered(&standin, json!({ "updatedAt": { "gte": pivot } })),
        expect(&|u| u >= pivot.as_str())
    );
    assert_eq!(
        filtered(&standin, json!({ "updatedAt": { "lt": pivot } })),
        expect(&|u| u < pivot.as_str())
    );
    assert_eq!(
        filtered(&standin, json!({ "updatedAt": { "lte": pivot } })),
        expect(&|u| u <= pivot.as_str())
    );
    assert_eq!(
        filtered(&standin, json!({ "updatedAt": { "eq": pivot } })),
        expect(&|u| u == pivot.as_str())
    );
    assert_eq!(
        filtered(&standin, json!({ "updatedAt": { "neq": pivot } })),
        expect(&|u| u != pivot.as_str())
    );
    // The same instant with an offset, and without milliseconds where they are zero.
    let shifted = shift_to_plus_two(&pivot);
    assert_eq!(
        filtered(&standin, json!({ "updatedAt": { "gte": shifted } })),
        expect(&|u| u >= pivot.as_str())
    );
    assert!(filtered(&standin, json!({ "createdAt": { "is": null } })).is_empty());
    assert_eq!(
        filtered(&standin, json!({ "createdAt": { "isNot": null } })).len(),
        300
    );
}

/// `2024-01-02T03:04:05.678Z` as `2024-01-02T05:04:05.678+02:00` (hours < 22 here).
fn shift_to_plus_two(iso: &str) -> String {
    let hour: u32 = iso[11..13].parse().unwrap_or(0);
    if hour >= 22 {
        return iso.to_string();
    }
    format!("{}{:02}{}+02:00", &iso[..11], hour + 2, &iso[13..23])
}

#[test]
fn and_or_and_same_field_or() {
    let standin = start(200);
    let customers = all_customers(&standin);
    let (low, high) = (customers[150].1.clone(), customers[50].1.clone());
    let between = |c: &&(String, String, String)| c.1 >= low && c.1 < high;
    let expected = sorted(
        customers
            .iter()
            .filter(between)
            .map(|c| c.0.clone())
            .collect(),
    );
    let and = json!({ "and": [{ "createdAt": { "gte": low } }, { "createdAt": { "lt": high } }] });
    assert_eq!(filtered(&standin, and), expected);
    // nestjs-query ORs comparisons on one field: this is not a range.
    let same_field = json!({ "createdAt": { "gte": low, "lt": high } });
    assert_eq!(filtered(&standin, same_field).len(), 200);
    let or = json!({ "or": [{ "createdAt": { "lt": low } }, { "createdAt": { "gte": high } }] });
    let outside = filtered(&standin, or);
    assert_eq!(outside.len() + expected.len(), 200);
    let between_op = json!({ "createdAt": { "between": { "lower": low, "upper": high } } });
    assert!(filtered(&standin, between_op).len() >= expected.len());
}

#[test]
fn id_filters() {
    let standin = start(50);
    let ids = standin.ids("customers");
    let some = vec![ids[3].clone(), ids[7].clone(), ids[11].clone()];
    assert_eq!(
        filtered(&standin, json!({ "id": { "in": some } })),
        sorted(some.clone())
    );
    assert_eq!(
        filtered(&standin, json!({ "id": { "eq": ids[0] } })),
        vec![ids[0].clone()]
    );
    assert_eq!(
        filtered(&standin, json!({ "id": { "notIn": some } })).len(),
        47
    );
    let plans = standin.ids("plans");
    let page = data(
        &standin,
        "query($f: PlanFilter) { plans(filter: $f) { totalCount } }",
        json!({ "f": { "id": { "eq": plans[0] } } }),
    );
    assert_eq!(page["plans"]["totalCount"], json!(1));
}

#[test]
fn bad_filter_values_are_user_errors() {
    let standin = start(5);
    let reply = common::gql(
        &standin,
        r#"{ customers(filter: {createdAt: {gt: "last tuesday"}}) { totalCount } }"#,
        json!({}),
    );
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.json()["errors"][0]["extensions"]["code"],
        json!("GRAPHQL_VALIDATION_FAILED")
    );
    let query = "query($f: CustomerFilter) { customers(filter: $f) { totalCount } }";
    let reply = common::gql(
        &standin,
        query,
        json!({ "f": { "id": { "in": ["not-a-uuid"] } } }),
    );
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.json()["errors"][0]["extensions"]["code"],
        json!("BAD_USER_INPUT")
    );
    assert_eq!(standin.invalid_queries().len(), 2);
    assert_eq!(standin.root_field_count("customers"), 0);
}

#[test]
fn touched_customers_show_up_in_incremental_reads() {
    let standin = start(120);
    let newest = all_customers(&standin)
        .into_iter()
        .map(|c| c.2)
        .max()
        .unwrap_or_default();
    let touched = standin.touch_customers(7);
    assert_eq!(touched.len(), 7);
    let query = "query($f: CustomerFilter) { customers(filter: $f, sorting: [{field: updatedAt, direction: ASC}], paging: {first: 100}) { edges { node { id updatedAt } } } }";
    let page = data(
        &standin,
        query,
        json!({ "f": { "updatedAt": { "gt": newest } } }),
    );
    let edges = page["customers"]["edges"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let ids: Vec<String> = edges
        .iter()
        .filter_map(|e| e["node"]["id"].as_str().map(str::to_string))
        .collect();
    assert_eq!(sorted(ids.clone()), sorted(touched.clone()));
    let times: Vec<&str> = edges
        .iter()
        .filter_map(|e| e["node"]["updatedAt"].as_str())
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] < w[1]),
        "distinct, increasing: {times:?}"
    );
    let again = standin.touch_customers(3);
    let later = data(
        &standin,
        query,
        json!({ "f": { "updatedAt": { "gt": times.last().copied().unwrap_or_default() } } }),
    );
    assert_eq!(
        later["customers"]["edges"].as_array().map(Vec::len),
        Some(again.len())
    );
}

#[test]
fn subscriptions_filter_on_created_at() {
    let standin = start(40);
    let query = "{ subscriptions(filter: {createdAt: {gte: \"2024-01-01T00:00:00.000Z\"}}, paging: {first: 1000}) { totalCount edges { node { createdAt } } } }";
    let page = data(&standin, query, json!({}));
    let nodes = page["subscriptions"]["edges"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(nodes
        .iter()
        .all(|n| n["node"]["createdAt"].as_str() >= Some("2024-01-01T00:00:00.000Z")));
    assert!(nodes.len() < 80);
}
