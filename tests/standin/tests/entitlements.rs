//! The per-customer `entitlements` list: one row per feature the customer
//! is entitled to, metered ones with limits and usage.

mod common;

use std::collections::{BTreeSet, HashMap, HashSet};

use common::pages::{ascending, read_all};
use common::{data, gql, start};
use serde_json::{json, Value};
use stigg_standin::Standin;

const FEATURE: &str = "id refId displayName description featureType meterType featureUnits \
    featureUnitsPlural featureStatus additionalMetaData";

/// Every field of EntitlementWithSummary in the subset.
fn every_field() -> String {
    format!(
        "accessDeniedReason currentUsage customerId displayNameOverride entitlementUpdatedAt \
         enumValues feature {{ {FEATURE} }} hasSoftLimit hasUnlimitedUsage hiddenFromWidgets \
         isGranted meterId nextResetDate requestedUsage requestedValues resetPeriod resourceId \
         usageLimit usagePeriodAnchor usagePeriodEnd usagePeriodStart usageUpdatedAt validUntil"
    )
}

/// The entitlements the API answers, every field selected.
fn over_http(standin: &Standin, customer: &str, resource: Option<&str>) -> Vec<Value> {
    let query = format!(
        "query E($query: FetchEntitlementsQuery!) {{ entitlements(query: $query) {{ {} }} }}",
        every_field()
    );
    let mut input = json!({ "customerId": customer });
    if let Some(resource) = resource {
        input["resourceId"] = json!(resource);
    }
    data(standin, &query, json!({ "query": input }))["entitlements"]
        .as_array()
        .expect("a list")
        .clone()
}

fn customer_ids(standin: &Standin) -> Vec<String> {
    let nodes = read_all(
        standin,
        "customers",
        "Customer",
        "customerId",
        ascending(&["createdAt", "id"]),
        None,
        1000,
    );
    nodes
        .iter()
        .map(|n| n["customerId"].as_str().expect("customerId").to_string())
        .collect()
}

/// The active promotional entitlements, with their customer and feature.
fn active_promotions(standin: &Standin) -> Vec<Value> {
    let promotions = read_all(
        standin,
        "promotionalEntitlements",
        "PromotionalEntitlement",
        "status customer { customerId } feature { id }",
        ascending(&["createdAt"]),
        None,
        1000,
    );
    (promotions.into_iter())
        .filter(|p| p["status"] == "Active")
        .collect()
}

fn number(row: &Value, field: &str) -> Option<f64> {
    row[field].as_f64()
}

/// A metered row with a finite limit: (usage, limit).
fn usage_and_limit(row: &Value) -> Option<(f64, f64)> {
    Some((number(row, "currentUsage")?, number(row, "usageLimit")?))
}

#[test]
fn http_answers_match_the_standin_row_by_row() {
    let standin = start(300);
    let customers = customer_ids(&standin);
    assert_eq!(customers.len(), 300);
    let mut with_rows = 0;
    for customer in &customers {
        let rows = over_http(&standin, customer, None);
        assert_eq!(rows, standin.entitlements(customer), "{customer}");
        assert_eq!(rows, over_http(&standin, customer, None), "deterministic");
        with_rows += usize::from(!rows.is_empty());
        let mut features = BTreeSet::new();
        for row in &rows {
            assert_eq!(row["customerId"], customer.as_str());
            assert!(row["resourceId"].is_null());
            assert!(
                features.insert(row["feature"]["id"].to_string()),
                "one row per feature"
            );
            assert!(
                row["feature"]["refId"].is_string() && row["feature"]["featureType"].is_string()
            );
            assert!(row["entitlementUpdatedAt"].is_string());
            for null in [
                "validUntil",
                "requestedUsage",
                "requestedValues",
                "hiddenFromWidgets",
            ] {
                assert!(row[null].is_null(), "{null}: {row}");
            }
            match row["isGranted"].as_bool().expect("isGranted") {
                true => assert!(row["accessDeniedReason"].is_null()),
                false => assert_eq!(row["accessDeniedReason"], "RequestedUsageExceedingLimit"),
            }
            let enum_feature = row["feature"]["featureType"] == "ENUM";
            assert_eq!(row["enumValues"].is_array(), enum_feature, "{row}");
        }
    }
    assert!(
        with_rows > 200,
        "most customers are entitled to something: {with_rows}"
    );
    assert_eq!(standin.root_field_count("entitlements"), 600);
    assert!(standin.invalid_queries().is_empty());
}

#[test]
fn metered_rows_have_limits_usage_and_periods() {
    let standin = start(300);
    let (mut low, mut near, mut over, mut soft_over) = (0, 0, 0, 0);
    let mut customers_low = 0;
    for customer in customer_ids(&standin) {
        let rows = standin.entitlements(&customer);
        let mut highest: Option<f64> = None;
        for row in &rows {
            let metered = row["feature"]["meterType"]
                .as_str()
                .is_some_and(|m| m != "None");
            assert_eq!(row["currentUsage"].is_number(), metered, "{row}");
            assert_eq!(row["meterId"].is_string(), metered, "{row}");
            assert_eq!(row["usageUpdatedAt"].is_string(), metered, "{row}");
            let unlimited = row["hasUnlimitedUsage"]
                .as_bool()
                .expect("hasUnlimitedUsage");
            if row["feature"]["featureType"] != "NUMBER" {
                assert!(row["usageLimit"].is_null() && !unlimited, "{row}");
            } else {
                assert_ne!(row["usageLimit"].is_number(), unlimited, "{row}");
            }
            if row["resetPeriod"].is_string() {
                assert!(metered);
                let start = row["usagePeriodStart"].as_str().expect("a period start");
                let end = row["usagePeriodEnd"].as_str().expect("a period end");
                assert!(start <= "2025-06-30T00:00:00.000Z" && end > "2025-06-30T00:00:00.000Z");
                assert_eq!(row["nextResetDate"], row["usagePeriodEnd"]);
                assert!(row["usagePeriodAnchor"].as_str() <= Some(start));
                assert!(row["usageUpdatedAt"].as_str() >= Some(start), "{row}");
            } else {
                assert!(row["usagePeriodStart"].is_null() && row["nextResetDate"].is_null());
            }
            let Some((usage, limit)) = usage_and_limit(row) else {
                continue;
            };
            assert!(usage.fract() == 0.0 && usage >= 0.0, "{row}");
            let share = usage / limit;
            highest = Some(highest.map_or(share, |h: f64| h.max(share)));
            let soft = row["hasSoftLimit"] == json!(true);
            match share {
                s if s < 0.5 => low += 1,
                s if (0.8..1.0).contains(&s) => near += 1,
                s if s >= 1.0 && soft => soft_over += 1,
                s if s >= 1.0 => over += 1,
                _ => {}
            }
            assert_eq!(row["isGranted"], json!(share < 1.0 || soft), "{row}");
        }
        customers_low += usize::from(highest.is_some_and(|h| h < 0.8));
    }
    assert!(low > 20 && near > 10 && over > 10, "{low} {near} {over}");
    assert!(soft_over > 0, "soft limits let usage go over");
    assert!(
        customers_low > 10,
        "some customers are below 80% everywhere"
    );
}

#[test]
fn customers_over_agrees_with_the_api() {
    let standin = start(250);
    let customers = customer_ids(&standin);
    let answers: Vec<(String, Vec<Value>)> = customers
        .iter()
        .map(|c| (c.clone(), over_http(&standin, c, None)))
        .collect();
    for share in [0.5, 0.8, 1.0] {
        let mut expected: Vec<String> = answers
            .iter()
            .filter(|(_, rows)| {
                rows.iter().any(|row| {
                    usage_and_limit(row).is_some_and(|(usage, limit)| usage >= share * limit)
                })
            })
            .map(|(c, _)| c.clone())
            .collect();
        expected.sort();
        let over = standin.customers_over(share);
        assert_eq!(over, expected, "share {share}");
        assert!(
            !over.is_empty() && over.len() < customers.len(),
            "share {share}: {}",
            over.len()
        );
    }
    let eighty = standin.customers_over(0.8);
    assert!(standin
        .customers_over(1.0)
        .iter()
        .all(|c| eighty.contains(c)));
}

#[test]
fn only_selected_fields_are_answered_and_counted() {
    let standin = start(100);
    let customer = customer_ids(&standin)
        .into_iter()
        .find(|c| !standin.entitlements(c).is_empty())
        .expect("a customer with entitlements");
    let query = format!(
        r#"{{ entitlements(query: {{customerId: "{customer}"}}) {{ isGranted limit: usageLimit feature {{ refId }} __typename }} }}"#
    );
    let rows = data(&standin, &query, json!({}))["entitlements"].clone();
    let expected: Vec<Value> = standin
        .entitlements(&customer)
        .iter()
        .map(|row| {
            json!({
                "isGranted": row["isGranted"],
                "limit": row["usageLimit"],
                "feature": { "refId": row["feature"]["refId"] },
                "__typename": "EntitlementWithSummary",
            })
        })
        .collect();
    assert_eq!(rows, Value::Array(expected));
    assert_eq!(standin.root_field_count("entitlements"), 1);
    let reply = gql(&standin, "{ entitlements { isGranted } }", json!({}));
    assert_eq!(reply.status, 400, "query is required");
    let reply = gql(
        &standin,
        r#"{ entitlements(query: {customerId: "x"}) { usage } }"#,
        json!({}),
    );
    assert_eq!(reply.status, 400, "no such field");
    assert_eq!(standin.invalid_queries().len(), 2);
}

#[test]
fn unknown_deleted_and_other_environment_customers_have_none() {
    let standin = start(60);
    for customer in ["customer-nobody", "customer-ffffffff", ""] {
        assert!(over_http(&standin, customer, None).is_empty());
        assert!(standin.entitlements(customer).is_empty());
    }
    let customers = customer_ids(&standin);
    let some = customers
        .iter()
        .find(|c| !standin.entitlements(c).is_empty())
        .expect("a customer with entitlements");
    let query = format!(
        r#"{{ entitlements(query: {{customerId: "{some}", environmentId: "00000000-0000-4000-8000-000000000000"}}) {{ isGranted }} }}"#
    );
    assert_eq!(data(&standin, &query, json!({}))["entitlements"], json!([]));
    standin.delete_customers(60);
    assert!(over_http(&standin, some, None).is_empty());
    assert!(standin.entitlements(some).is_empty());
    assert!(standin.customers_over(0.0).is_empty());
}

#[test]
fn a_resource_selects_its_subscriptions_and_no_promotions() {
    let standin = start(400);
    let resources = read_all(
        &standin,
        "customerResources",
        "CustomerResource",
        "resourceId customer { customerId }",
        ascending(&["createdAt"]),
        None,
        1000,
    );
    assert!(!resources.is_empty());
    let mut with_rows = 0;
    for resource in &resources {
        let customer = resource["customer"]["customerId"]
            .as_str()
            .expect("customerId");
        let id = resource["resourceId"].as_str().expect("resourceId");
        let rows = over_http(&standin, customer, Some(id));
        assert_eq!(rows, standin.resource_entitlements(customer, id));
        with_rows += usize::from(!rows.is_empty());
        assert!(rows.iter().all(|r| r["resourceId"] == id));
    }
    assert!(with_rows > 0, "some resources have active subscriptions");
    // Promotional entitlements count without a resource only.
    let active = active_promotions(&standin);
    assert!(!active.is_empty());
    for promotion in active {
        let customer = promotion["customer"]["customerId"]
            .as_str()
            .expect("customerId");
        let rows = standin.entitlements(customer);
        assert!(
            rows.iter()
                .any(|r| r["feature"]["id"] == promotion["feature"]["id"]),
            "{promotion}"
        );
        assert!(standin
            .resource_entitlements(customer, "site-none")
            .is_empty());
    }
    assert!(standin.invalid_queries().is_empty());
}

#[test]
fn subscription_overrides_set_the_subscription_s_limits() {
    let standin = start(300);
    // The subscriptions `entitlements` counts without a resource.
    let subscriptions = read_all(
        &standin,
        "subscriptions",
        "SubscriptionQuery",
        "id status resourceId startDate customer { customerId }",
        ascending(&["createdAt"]),
        None,
        1000,
    );
    let counted: HashMap<String, (String, String)> = subscriptions
        .iter()
        .filter(|s| matches!(s["status"].as_str(), Some("ACTIVE" | "IN_TRIAL")))
        .filter(|s| s["resourceId"].is_null())
        .map(|s| {
            let customer = s["customer"]["customerId"].as_str().expect("customerId");
            let start = s["startDate"].as_str().expect("startDate");
            (
                s["id"].as_str().expect("id").to_string(),
                (customer.to_string(), start.to_string()),
            )
        })
        .collect();
    let mut per_customer: HashMap<&str, usize> = HashMap::new();
    for (customer, _) in counted.values() {
        *per_customer.entry(customer).or_default() += 1;
    }
    let promoted: HashSet<(String, String)> = active_promotions(&standin)
        .iter()
        .map(|p| {
            (
                p["customer"]["customerId"].to_string(),
                p["feature"]["id"].to_string(),
            )
        })
        .collect();
    let (mut exact, mut configured) = (0, 0);
    for o in standin.subscription_entitlements() {
        let Some((customer, start)) = counted.get(o["subscription"]["id"].as_str().expect("id"))
        else {
            continue;
        };
        let rows = standin.entitlements(customer);
        let row = rows
            .iter()
            .find(|r| r["feature"]["id"] == o["featureId"])
            .unwrap_or_else(|| panic!("{customer} is entitled to what {o} overrides"));
        // The larger grant wins: at least the override.
        let unlimited = |v: &Value| v["hasUnlimitedUsage"] == json!(true);
        assert!(
            unlimited(row)
                || (!unlimited(&o) && number(row, "usageLimit") >= number(&o, "usageLimit")),
            "{row} grants less than {o}"
        );
        let only_source = per_customer[customer.as_str()] == 1
            && !promoted.contains(&(json!(customer).to_string(), o["featureId"].to_string()));
        if !only_source {
            continue;
        }
        exact += 1;
        for field in [
            "usageLimit",
            "hasUnlimitedUsage",
            "hasSoftLimit",
            "resetPeriod",
        ] {
            assert_eq!(row[field], o[field], "{field}: {row} from {o}");
        }
        let period_start = row["usagePeriodStart"].as_str().unwrap_or_default();
        let configuration = &o["resetPeriodConfiguration"];
        if configuration["monthlyAccordingTo"] == "StartOfTheMonth" {
            assert!(
                period_start.ends_with("-01T00:00:00.000Z"),
                "{row} from {o}"
            );
            configured += 1;
        } else if configuration["weeklyAccordingTo"]
            .as_str()
            .is_some_and(|d| d.starts_with("Every"))
        {
            assert!(period_start.ends_with("T00:00:00.000Z"), "{row} from {o}");
            configured += 1;
        } else if o["resetPeriod"].is_string() {
            assert_eq!(row["usagePeriodAnchor"], json!(start), "{row} from {o}");
        }
    }
    assert!(exact > 10 && configured > 0, "{exact} {configured}");
    assert!(standin.invalid_queries().is_empty());
}
