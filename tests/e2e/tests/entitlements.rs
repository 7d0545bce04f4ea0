//! `customer_entitlements` end to end: each customer's entitlements, value by
//! value as the stand-in computes them, one request per customer, keyed so a
//! destination deduplicating on the key keeps every row.

use std::collections::{BTreeMap, HashSet};

use serde_json::{json, Value};
use stigg_e2e::{check_records, config, read_standin, record_validators, standin};

#[test]
fn every_customers_entitlements_value_by_value() {
    let server = standin(40);
    let streams = [
        ("customers", "full_refresh"),
        ("customer_entitlements", "full_refresh"),
    ];
    let out = read_standin(&server, &streams, json!({}), None);
    out.assert_succeeded();
    check_records(&out, &record_validators(&config(&server.url())));

    let mut by_customer: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for row in out.records("customer_entitlements") {
        let customer = row["customerId"].as_str().expect("a customerId");
        by_customer
            .entry(customer.to_owned())
            .or_default()
            .push(row);
    }
    let customers: Vec<String> = out
        .records("customers")
        .filter_map(|c| c["customerId"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(customers.len(), 40);
    let mut rows = 0;
    for customer in &customers {
        let held = server.entitlements(customer);
        let read = by_customer.get(customer).cloned().unwrap_or_default();
        assert_eq!(read.len(), held.len(), "{customer}: one row per feature");
        for (row, held) in read.iter().zip(&held) {
            for (field, value) in held.as_object().expect("an object") {
                let expected = match field.as_str() {
                    // The row names the customer it was asked for.
                    "customerId" => json!(customer),
                    // The feature as the stream selects it.
                    "feature" => json!(value.as_object().map(|f| f
                        .iter()
                        .filter(|(k, _)| *k != "additionalMetaData")
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect::<serde_json::Map<_, _>>())),
                    "hiddenFromWidgets" | "requestedValues" => continue,
                    _ => value.clone(),
                };
                assert_eq!(row[field], expected, "{customer}: {field}");
            }
            let key = format!(
                "{customer}|{}|{}",
                row["resourceId"].as_str().unwrap_or_default(),
                row["feature"]["id"].as_str().expect("a feature id")
            );
            assert_eq!(row["entitlement_key"], json!(key));
        }
        rows += held.len();
    }
    assert!(rows > customers.len(), "several features per customer");
    let keys: HashSet<&str> = out
        .records("customer_entitlements")
        .filter_map(|r| r["entitlement_key"].as_str())
        .collect();
    assert_eq!(keys.len(), rows, "every key once");
    assert_eq!(
        server.root_field_count("entitlements"),
        customers.len() as u64
    );
    let cost: Vec<&str> = out.logs().filter(|l| l.contains("to read")).collect();
    assert_eq!(
        cost,
        [format!(
            "customer_entitlements: {} customers to read, one request each: at least {} \
             requests, under a second at this read's pace",
            customers.len(),
            customers.len()
        )]
    );
}

#[test]
fn every_subscription_override_value_by_value() {
    let server = standin(60);
    let streams = [
        ("subscription_entitlements", "full_refresh"),
        ("subscriptions", "full_refresh"),
    ];
    let out = read_standin(&server, &streams, json!({ "page_size": 7 }), None);
    out.assert_succeeded();
    check_records(&out, &record_validators(&config(&server.url())));
    let read: Vec<&Value> = out.records("subscription_entitlements").collect();
    let held = server.subscription_entitlements();
    assert!(held.len() > 10, "the stand-in has overrides");
    let by_id = |rows: Vec<&Value>| -> BTreeMap<String, Value> {
        rows.into_iter()
            .map(|r| (r["id"].as_str().expect("an id").to_owned(), r.clone()))
            .collect()
    };
    assert_eq!(by_id(read), by_id(held.iter().collect()));
    // Each names its subscription by `subscription.id`, a `subscriptions` key.
    let subscriptions: HashSet<&str> = out
        .records("subscriptions")
        .filter_map(|s| s["id"].as_str())
        .collect();
    for row in out.records("subscription_entitlements") {
        let id = row["subscription"]["id"]
            .as_str()
            .expect("a subscription id");
        assert!(subscriptions.contains(id), "{row}");
    }
}

#[test]
fn coupons_experiments_meters_and_reset_days_join_up() {
    let server = standin(60);
    let streams = [
        ("customers", "full_refresh"),
        ("coupons", "full_refresh"),
        ("features", "full_refresh"),
        ("promotional_entitlements", "full_refresh"),
        ("customer_entitlements", "full_refresh"),
    ];
    let out = read_standin(&server, &streams, json!({}), None);
    out.assert_succeeded();
    check_records(&out, &record_validators(&config(&server.url())));
    let ids = |stream: &str, field: &str| -> HashSet<String> {
        out.records(stream)
            .filter_map(|r| r.pointer(field).and_then(Value::as_str).map(str::to_owned))
            .collect()
    };
    let coupons = ids("coupons", "/id");
    let customer_coupons = ids("customers", "/coupon/id");
    assert!(!customer_coupons.is_empty() && customer_coupons.is_subset(&coupons));
    assert!(!ids("customers", "/experimentInfo/name").is_empty());
    // A feature's meter is what its customers' entitlements are measured by.
    let meters = ids("features", "/meter/id");
    let metered = ids("customer_entitlements", "/meterId");
    assert!(
        !meters.is_empty() && metered.is_subset(&meters),
        "{metered:?}"
    );
    for promotion in out.records("promotional_entitlements") {
        let member = promotion["resetPeriodConfiguration"]["__typename"].as_str();
        let expected = match promotion["resetPeriod"].as_str() {
            Some("MONTH") => Some("MonthlyResetPeriodConfig"),
            Some("WEEK") => Some("WeeklyResetPeriodConfig"),
            Some("YEAR") => Some("YearlyResetPeriodConfig"),
            _ => None,
        };
        assert_eq!(member, expected, "{promotion}");
    }
}

#[test]
fn every_customer_resources_entitlements_value_by_value() {
    let server = standin(60);
    let streams = [
        ("customer_resources", "full_refresh"),
        ("customer_resource_entitlements", "full_refresh"),
    ];
    let out = read_standin(&server, &streams, json!({}), None);
    out.assert_succeeded();
    check_records(&out, &record_validators(&config(&server.url())));
    let mut read: BTreeMap<(String, String), Vec<&Value>> = BTreeMap::new();
    for row in out.records("customer_resource_entitlements") {
        let at = |field: &str| row[field].as_str().expect(field).to_owned();
        read.entry((at("customerId"), at("resourceId")))
            .or_default()
            .push(row);
    }
    let resources: Vec<(String, String)> = out
        .records("customer_resources")
        .map(|r| {
            let customer = r["customer"]["customerId"].as_str().expect("a customerId");
            let resource = r["resourceId"].as_str().expect("a resourceId");
            (customer.to_owned(), resource.to_owned())
        })
        .collect();
    assert!(!resources.is_empty());
    let mut rows = 0;
    for (customer, resource) in &resources {
        let held = server.resource_entitlements(customer, resource);
        let got = read
            .remove(&(customer.clone(), resource.clone()))
            .unwrap_or_default();
        assert_eq!(got.len(), held.len(), "{customer} {resource}");
        for (row, held) in got.iter().zip(&held) {
            assert_eq!(row["feature"]["id"], held["feature"]["id"]);
            for field in [
                "usageLimit",
                "currentUsage",
                "isGranted",
                "hasUnlimitedUsage",
            ] {
                assert_eq!(row[field], held[field], "{customer} {resource}: {field}");
            }
            let key = format!(
                "{customer}|{resource}|{}",
                held["feature"]["id"].as_str().unwrap_or_default()
            );
            assert_eq!(row["entitlement_key"], json!(key));
        }
        rows += held.len();
    }
    assert!(read.is_empty(), "rows of no listed resource: {read:?}");
    assert!(rows > 0, "some resources have subscriptions");
    assert_eq!(
        server.root_field_count("entitlements"),
        resources.len() as u64
    );
}
