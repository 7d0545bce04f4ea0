//! `Customer.coupon`, `Customer.experimentInfo`, `Feature.meter`,
//! `Feature.unitTransformation` and
//! `PromotionalEntitlement.resetPeriodConfiguration`, read with the
//! connector's selections.

mod common;

use std::collections::{BTreeSet, HashMap};

use common::pages::{ascending, read_all, text};
use common::{data, start};
use serde_json::{json, Value};
use stigg_standin::{Standin, StandinConfig};

const CUSTOMER: &str = "id customerId excludeFromExperiment coupon { id refId } \
    experimentInfo { id name groupName groupType status } createdAt updatedAt";
const FEATURE: &str = "id refId featureType meterType hasMeter featureUnitsPlural \
    meter { id aggregation { function field } filters { conditions { field operation value values } } \
    createdAt updatedAt } \
    unitTransformation { divide round featureUnits featureUnitsPlural } \
    environmentId createdAt updatedAt";
const PROMOTION: &str = "id customer { id customerId } feature { id refId } status startDate \
    usageLimit hasUnlimitedUsage resetPeriod resetPeriodConfiguration { __typename \
    ... on MonthlyResetPeriodConfig { monthlyAccordingTo } \
    ... on WeeklyResetPeriodConfig { weeklyAccordingTo } \
    ... on YearlyResetPeriodConfig { yearlyAccordingTo } } createdAt updatedAt";

fn read(standin: &Standin, root: &str, node: &str, selection: &str) -> Vec<Value> {
    read_all(
        standin,
        root,
        node,
        selection,
        ascending(&["createdAt", "id"]),
        None,
        1000,
    )
}

fn assert_no_invalid_queries(standin: &Standin) {
    assert!(
        standin.invalid_queries().is_empty(),
        "{:?}",
        standin.invalid_queries()
    );
}

fn share(count: usize, of: usize) -> f64 {
    count as f64 / of as f64
}

#[test]
fn about_one_customer_in_six_has_a_real_coupon() {
    let standin = start(1200);
    let customers = read(&standin, "customers", "Customer", CUSTOMER);
    let coupons: HashMap<String, String> = read(&standin, "coupons", "Coupon", "id refId")
        .iter()
        .map(|c| (text(c, "id").to_string(), text(c, "refId").to_string()))
        .collect();
    let with: Vec<&Value> = customers
        .iter()
        .filter(|c| !c["coupon"].is_null())
        .collect();
    let s = share(with.len(), customers.len());
    assert!((0.12..0.22).contains(&s), "about 1 in 6: {s}");
    for c in &with {
        let coupon = &c["coupon"];
        assert_eq!(
            coupons.get(text(coupon, "id")).map(String::as_str),
            Some(text(coupon, "refId")),
            "a real coupon: {c}"
        );
    }
    let distinct: BTreeSet<&str> = with.iter().map(|c| text(&c["coupon"], "id")).collect();
    assert!(distinct.len() > 5, "many coupons: {distinct:?}");

    // Only what is selected, and the same again.
    let page = data(
        &standin,
        "{ customers(paging: {first: 1000}) { edges { node { coupon { refId } } } } }",
        json!({}),
    );
    let refs: Vec<Value> = page["customers"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["coupon"].clone())
        .collect();
    assert!(refs
        .iter()
        .all(|r| r.is_null() || r.as_object().is_some_and(|o| o.len() == 1)));
    assert_eq!(read(&standin, "customers", "Customer", CUSTOMER), customers);
    assert_no_invalid_queries(&standin);
}

#[test]
fn customers_in_experiments_name_experiments_that_ran() {
    let standin = start(1200);
    let customers = read(&standin, "customers", "Customer", CUSTOMER);
    let experiments: HashMap<String, Value> = read(
        &standin,
        "experiments",
        "Experiment",
        "id refId name status controlGroupName variantGroupName variantPercentage createdAt",
    )
    .into_iter()
    .map(|e| (text(&e, "refId").to_string(), e))
    .collect();
    let inside: Vec<&Value> = customers
        .iter()
        .filter(|c| !c["experimentInfo"].is_null())
        .collect();
    let s = share(inside.len(), customers.len());
    assert!((0.08..0.18).contains(&s), "about 1 in 8: {s}");
    let mut groups = BTreeSet::new();
    let mut named = BTreeSet::new();
    for c in &inside {
        let info = &c["experimentInfo"];
        assert_ne!(c["excludeFromExperiment"], json!(true), "{c}");
        let experiment = experiments
            .get(text(info, "id"))
            .unwrap_or_else(|| panic!("id is an experiment's refId: {c}"));
        assert_eq!(info["name"], experiment["name"]);
        assert_eq!(info["status"], experiment["status"]);
        assert_ne!(info["status"], json!("DRAFT"), "only experiments that ran");
        let group = match text(info, "groupType") {
            "CONTROL" => "controlGroupName",
            "VARIANT" => "variantGroupName",
            other => panic!("groupType {other}"),
        };
        assert_eq!(info["groupName"], experiment[group], "{c}");
        groups.insert(text(info, "groupType").to_string());
        named.insert(text(info, "id").to_string());
    }
    assert_eq!(groups.len(), 2, "both groups: {groups:?}");
    assert!(named.len() >= 2, "several experiments: {named:?}");
    let excluded = customers
        .iter()
        .filter(|c| c["excludeFromExperiment"] == json!(true))
        .count();
    assert!(excluded > 50, "excluded customers exist: {excluded}");
    assert_no_invalid_queries(&standin);
}

/// Every meter id by feature id.
fn meters(features: &[Value]) -> HashMap<String, String> {
    features
        .iter()
        .filter(|f| !f["meter"].is_null())
        .map(|f| {
            (
                text(f, "id").to_string(),
                text(&f["meter"], "id").to_string(),
            )
        })
        .collect()
}

#[test]
fn metered_features_have_meters() {
    let standin = start(50);
    let features = read(&standin, "features", "Feature", FEATURE);
    let mut functions = BTreeSet::new();
    let mut filter_counts = BTreeSet::new();
    let mut operations = BTreeSet::new();
    for f in &features {
        let metered = matches!(f["meterType"].as_str(), Some("Incremental" | "Fluctuating"));
        let meter = &f["meter"];
        assert_eq!(!meter.is_null(), metered, "{f}");
        if !metered {
            assert!(f["unitTransformation"].is_null(), "{f}");
            continue;
        }
        assert_ne!(f["hasMeter"], json!(false), "{f}");
        assert_eq!(meter["createdAt"], f["createdAt"]);
        assert_eq!(meter["updatedAt"], f["updatedAt"]);
        assert_eq!(text(meter, "id").len(), 36);
        let aggregation = &meter["aggregation"];
        let function = text(aggregation, "function");
        assert!(["COUNT", "SUM", "MAX", "UNIQUE"].contains(&function), "{f}");
        assert_eq!(aggregation["field"].is_null(), function == "COUNT", "{f}");
        functions.insert(function.to_string());
        let filters = meter["filters"].as_array().expect("a list");
        assert!(filters.len() <= 2, "{f}");
        filter_counts.insert(filters.len());
        for definition in filters {
            let conditions = definition["conditions"].as_array().expect("a list");
            assert!((1..=2).contains(&conditions.len()), "{f}");
            let fields: BTreeSet<&str> = conditions.iter().map(|c| text(c, "field")).collect();
            assert_eq!(fields.len(), conditions.len(), "distinct fields: {f}");
            for c in conditions {
                match text(c, "operation") {
                    "EQUALS" => {
                        assert!(c["value"].is_string() && c["values"].is_null(), "{c}")
                    }
                    "IN" => {
                        assert!(c["value"].is_null(), "{c}");
                        let values = c["values"].as_array().expect("values");
                        assert!(values.len() >= 2 && values.iter().all(Value::is_string));
                    }
                    other => panic!("operation {other}"),
                }
                operations.insert(text(c, "operation").to_string());
            }
        }
    }
    assert!(functions.len() >= 3, "{functions:?}");
    assert!(filter_counts.len() >= 2, "{filter_counts:?}");
    assert_eq!(operations.len(), 2, "{operations:?}");

    // About a quarter of the metered features show larger units.
    let metered = meters(&features).len();
    let transformed: Vec<&Value> = features
        .iter()
        .filter(|f| !f["unitTransformation"].is_null())
        .collect();
    assert!(metered >= 12, "{metered}");
    assert!(
        transformed.len() >= metered / 4 && transformed.len() <= metered / 4 + 1,
        "{} of {metered}",
        transformed.len()
    );
    for f in transformed {
        let t = &f["unitTransformation"];
        assert!([100.0, 1000.0, 1_000_000.0].contains(&t["divide"].as_f64().expect("divide")));
        assert!(["UP", "DOWN"].contains(&text(t, "round")));
        if let Some(units) = t["featureUnits"].as_str() {
            let plural = text(f, "featureUnitsPlural");
            assert!(units.ends_with(plural), "{f}");
            assert!(text(t, "featureUnitsPlural").contains(" of "), "{f}");
        }
    }
    assert_no_invalid_queries(&standin);
}

#[test]
fn meter_ids_are_the_entitlements_meter_ids() {
    let standin = start(200);
    let features = read(&standin, "features", "Feature", FEATURE);
    let meters = meters(&features);
    let customers = read(&standin, "customers", "Customer", "customerId");
    let mut joined = BTreeSet::new();
    for c in &customers {
        for row in standin.entitlements(text(c, "customerId")) {
            let feature = text(&row["feature"], "id");
            match row["meterId"].as_str() {
                Some(meter) => {
                    assert_eq!(
                        meters.get(feature).map(String::as_str),
                        Some(meter),
                        "{row}"
                    );
                    joined.insert(meter.to_string());
                }
                None => assert!(!meters.contains_key(feature), "{row}"),
            }
        }
    }
    assert!(joined.len() >= 5, "{joined:?}");
    assert_no_invalid_queries(&standin);
}

#[test]
fn promotions_reset_configuration_matches_the_reset_period() {
    let standin = start(300);
    let promotions = read(
        &standin,
        "promotionalEntitlements",
        "PromotionalEntitlement",
        PROMOTION,
    );
    let mut members = BTreeSet::new();
    for p in &promotions {
        let config = &p["resetPeriodConfiguration"];
        let (member, field, allowed): (&str, &str, &[&str]) = match p["resetPeriod"].as_str() {
            Some("MONTH") => (
                "MonthlyResetPeriodConfig",
                "monthlyAccordingTo",
                &["SubscriptionStart", "StartOfTheMonth"],
            ),
            Some("WEEK") => (
                "WeeklyResetPeriodConfig",
                "weeklyAccordingTo",
                &[
                    "SubscriptionStart",
                    "EveryMonday",
                    "EveryTuesday",
                    "EveryWednesday",
                    "EveryThursday",
                    "EveryFriday",
                    "EverySaturday",
                    "EverySunday",
                ],
            ),
            Some("YEAR") => (
                "YearlyResetPeriodConfig",
                "yearlyAccordingTo",
                &["SubscriptionStart"],
            ),
            _ => {
                assert!(config.is_null(), "{p}");
                continue;
            }
        };
        assert_eq!(text(config, "__typename"), member, "{p}");
        assert!(allowed.contains(&text(config, field)), "{p}");
        assert_eq!(config.as_object().map(|o| o.len()), Some(2), "{p}");
        members.insert(member);
    }
    assert!(members.len() >= 2, "{members:?}");
    assert_no_invalid_queries(&standin);
}

const DAY: i64 = 86_400_000;

fn millis(iso: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(iso)
        .expect("a time")
        .timestamp_millis()
}

/// Without subscriptions, a customer's resetting entitlements come from its
/// Active promotions, whose configuration moves the usage period anchor.
#[test]
fn promotions_configuration_sets_the_usage_period_anchor() {
    let standin = Standin::start(StandinConfig {
        api_key: common::KEY.into(),
        customers: 300,
        subscriptions_per_customer: 0,
        ..Default::default()
    });
    let promotions = read(
        &standin,
        "promotionalEntitlements",
        "PromotionalEntitlement",
        PROMOTION,
    );
    let active: Vec<&Value> = promotions
        .iter()
        .filter(|p| p["status"] == json!("Active"))
        .collect();
    // (customer, feature) granted by one Active promotion only.
    let mut grants: HashMap<(String, String), usize> = HashMap::new();
    for p in &active {
        let key = (
            text(&p["customer"], "customerId").to_string(),
            text(&p["feature"], "id").to_string(),
        );
        *grants.entry(key).or_default() += 1;
    }
    let mut moved = 0;
    let mut checked = 0;
    for p in &active {
        let customer = text(&p["customer"], "customerId");
        let feature = text(&p["feature"], "id");
        if grants[&(customer.to_string(), feature.to_string())] > 1 {
            continue;
        }
        let Some(row) = standin
            .entitlements(customer)
            .into_iter()
            .find(|r| r["feature"]["id"] == json!(feature))
        else {
            panic!("an Active promotion grants its feature: {p}");
        };
        let Some(anchor) = row["usagePeriodAnchor"].as_str() else {
            assert!(p["resetPeriodConfiguration"].is_null(), "{p} {row}");
            continue;
        };
        let start = millis(text(p, "startDate"));
        let anchor = millis(anchor);
        let config = &p["resetPeriodConfiguration"];
        let value = config
            .as_object()
            .and_then(|o| o.iter().find(|(k, _)| k.ends_with("AccordingTo")))
            .and_then(|(_, v)| v.as_str())
            .unwrap_or("SubscriptionStart");
        match value {
            "SubscriptionStart" => assert_eq!(anchor, start, "{p} {row}"),
            "StartOfTheMonth" => {
                let first = chrono::DateTime::from_timestamp_millis(anchor).expect("a time");
                assert_eq!(
                    first.format("%d %H:%M:%S%.3f").to_string(),
                    "01 00:00:00.000"
                );
                assert!(anchor <= start && start - anchor < 31 * DAY, "{p} {row}");
                moved += 1;
            }
            every => {
                assert_eq!(anchor % DAY, 0, "midnight: {row}");
                assert!(anchor <= start && start - anchor < 7 * DAY, "{p} {row}");
                let weekday = chrono::DateTime::from_timestamp_millis(anchor)
                    .expect("a time")
                    .format("Every%A")
                    .to_string();
                assert_eq!(weekday, every, "{p} {row}");
                moved += 1;
            }
        }
        checked += 1;
    }
    assert!(checked >= 5, "{checked}");
    assert!(moved >= 1, "some anchors moved: {moved} of {checked}");
    assert_no_invalid_queries(&standin);
}
