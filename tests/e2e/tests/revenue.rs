//! Revenue data end to end: subscriptions with their money and the child
//! streams read from the same pages, the price book, and column selection,
//! through the real host and component against the stand-in.

use std::collections::HashSet;

use serde_json::{json, Value};
use stigg_e2e::{check_records, config, read_standin, record_validators, run, Inputs, API_KEY};
use stigg_standin::{Standin, StandinConfig};

fn standin() -> Standin {
    Standin::start(StandinConfig {
        api_key: API_KEY.into(),
        customers: 60,
        subscriptions_per_customer: 2,
        ..Default::default()
    })
}

fn ids<'a>(records: impl Iterator<Item = &'a Value>, field: &str) -> HashSet<String> {
    records
        .filter_map(|r| r[field].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn subscriptions_carry_their_money_and_children_link_to_their_parents() {
    let server = standin();
    let out = read_standin(
        &server,
        &[
            ("subscriptions", "full_refresh"),
            ("subscription_prices", "full_refresh"),
            ("subscription_addons", "full_refresh"),
            ("subscription_coupons", "full_refresh"),
            ("plans", "full_refresh"),
            ("package_prices", "full_refresh"),
            ("package_entitlements", "full_refresh"),
        ],
        json!({ "page_size": 25 }),
        None,
    );
    assert_eq!(out.code, 0, "{}", out.stdout);
    check_records(&out, &record_validators(&config(&server.url())));

    // Every subscription's money is what the stand-in holds.
    let subscriptions: Vec<&Value> = out.records("subscriptions").collect();
    assert_eq!(subscriptions.len(), 120);
    let mut priced = 0;
    for subscription in &subscriptions {
        let id = subscription["id"].as_str().expect("an id");
        let held = server
            .subscription_money(id)
            .expect("a subscription the stand-in holds");
        assert_eq!(
            subscription["totalPrice"], held["totalPrice"],
            "{id}: totalPrice"
        );
        assert_eq!(subscription["prices"], held["prices"], "{id}: prices");
        assert_eq!(subscription["addons"], held["addons"], "{id}: addons");
        priced += usize::from(!subscription["totalPrice"].is_null());
    }
    assert!(
        priced > 30,
        "only {priced} subscriptions have a total price"
    );

    // Child rows: each names an existing parent, and every element is a row.
    let subscription_ids = ids(subscriptions.iter().copied(), "id");
    for (child, list) in [
        ("subscription_prices", "prices"),
        ("subscription_addons", "addons"),
        ("subscription_coupons", "coupons"),
    ] {
        let rows: Vec<&Value> = out.records(child).collect();
        let expected: usize = subscriptions
            .iter()
            .map(|s| s[list].as_array().map_or(0, Vec::len))
            .sum();
        assert_eq!(rows.len(), expected, "{child}: one row per list element");
        assert!(!rows.is_empty(), "{child}: the stand-in serves some");
        assert!(
            ids(rows.iter().copied(), "subscription_id").is_subset(&subscription_ids),
            "{child}: a row names an unknown subscription"
        );
    }
    let package_ids: HashSet<String> = server
        .ids("plans")
        .into_iter()
        .chain(server.ids("addons"))
        .collect();
    for child in ["package_prices", "package_entitlements"] {
        let rows: Vec<&Value> = out.records(child).collect();
        assert!(!rows.is_empty(), "{child}");
        assert!(
            ids(rows.iter().copied(), "package_id").is_subset(&package_ids),
            "{child}"
        );
        let types = ids(rows.iter().copied(), "package_type");
        assert_eq!(
            types,
            HashSet::from(["PLAN".into(), "ADDON".into()]),
            "{child}"
        );
    }
    // No record of a parent that was not selected.
    assert_eq!(out.records("addons").count(), 0);

    // One request per page: subscriptions and its children share each
    // query; addons are read once, for package_prices and package_entitlements.
    let pages = |rows: usize| rows.div_ceil(25) as u64;
    assert_eq!(server.root_field_count("subscriptions"), pages(120));
    assert_eq!(
        server.root_field_count("plans"),
        pages(server.ids("plans").len())
    );
    assert_eq!(
        server.root_field_count("addons"),
        pages(server.ids("addons").len())
    );
}

#[test]
fn a_deselected_nested_field_is_neither_queried_nor_written() {
    let server = standin();
    let columns = ["id", "status", "totalPrice", "plan"];
    let properties: serde_json::Map<String, Value> =
        columns.iter().map(|c| (c.to_string(), json!({}))).collect();
    let catalog = json!({"streams": [{
        "stream": {"name": "subscriptions", "json_schema": {"properties": properties},
                   "supported_sync_modes": ["full_refresh"]},
        "sync_mode": "full_refresh", "destination_sync_mode": "overwrite"}]});
    let mut config = config(&server.url());
    config["page_size"] = json!(50);
    let out = run(
        "read",
        &Inputs {
            config: Some(config),
            catalog: Some(catalog),
            state: None,
        },
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stdout);
    let queries: Vec<String> = server
        .queries()
        .into_iter()
        .filter(|q| !q.contains("__schema"))
        .collect();
    assert!(!queries.is_empty());
    for query in &queries {
        assert!(!query.contains("latestInvoice"), "{query}");
        assert!(query.contains("totalPrice"), "{query}");
    }
    for record in out.records("subscriptions") {
        let mut keys: Vec<&str> = record
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort();
        // The order fields are always read: they page the stream.
        assert_eq!(
            keys,
            [
                "createdAt",
                "id",
                "plan",
                "status",
                "subscriptionId",
                "totalPrice"
            ]
        );
    }
}

#[test]
fn a_fixed_coupon_carries_its_amount_off_and_a_percentage_none() {
    let server = standin();
    let out = read_standin(&server, &[("coupons", "full_refresh")], json!({}), None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let coupons: Vec<&Value> = out.records("coupons").collect();
    let fixed = coupons.iter().filter(|c| c["type"] == "FIXED").count();
    assert!(
        fixed > 0 && fixed < coupons.len(),
        "both kinds: {fixed} of {}",
        coupons.len()
    );
    for coupon in coupons {
        let expected = match coupon["type"].as_str() {
            Some("FIXED") => json!([{ "amount": coupon["discountValue"], "currency": "USD" }]),
            _ => Value::Null,
        };
        assert_eq!(coupon["amountsOff"], expected, "{coupon}");
    }
}

/// `plans` holds every version of a plan (`isLatest`, `versionNumber`), so a
/// subscription sold on an older version joins to that version's prices.
#[test]
fn a_subscription_on_an_older_plan_version_joins_to_that_version() {
    let server = standin();
    let streams = [("subscriptions", "full_refresh"), ("plans", "full_refresh")];
    let out = read_standin(&server, &streams, json!({ "page_size": 25 }), None);
    out.assert_succeeded();
    let plans: std::collections::HashMap<&str, &Value> = out
        .records("plans")
        .map(|p| (p["id"].as_str().expect("a plan id"), p))
        .collect();
    let mut older = 0;
    for subscription in out.records("subscriptions") {
        let id = subscription["plan"]["id"].as_str().expect("a plan id");
        let plan = plans
            .get(id)
            .unwrap_or_else(|| panic!("plan {id} not in plans"));
        assert_eq!(plan["refId"], subscription["plan"]["refId"]);
        if plan["isLatest"] == json!(false) {
            older += 1;
            assert!(plan["versionNumber"].as_i64().is_some(), "{plan}");
        }
    }
    assert!(older > 0, "some subscriptions are on an older version");
}
