//! `subscriptionEntitlements`: subscriptions' overrides of their plans'
//! entitlements, read with the connector's selection, order and filters.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use common::pages::{ascending, read_all, text};
use common::{data, request, start};
use serde_json::{json, Value};
use stigg_standin::{Standin, StandinConfig};

const ROOT: &str = "subscriptionEntitlements";
const NODE: &str = "SubscriptionEntitlement";

/// The connector's selection.
const SELECTION: &str = "id subscriptionId featureId feature { id refId } \
    subscription { id subscriptionId } description usageLimit hasUnlimitedUsage hasSoftLimit \
    resetPeriod resetPeriodConfiguration { __typename \
    ... on MonthlyResetPeriodConfig { monthlyAccordingTo } \
    ... on WeeklyResetPeriodConfig { weeklyAccordingTo } \
    ... on YearlyResetPeriodConfig { yearlyAccordingTo } } \
    environmentId createdAt updatedAt";

fn order() -> Value {
    ascending(&["createdAt", "id"])
}

fn read(standin: &Standin, filter: Option<Value>, page_size: u64) -> Vec<Value> {
    read_all(standin, ROOT, NODE, SELECTION, order(), filter, page_size)
}

fn ids(rows: &[Value]) -> Vec<String> {
    rows.iter().map(|r| text(r, "id").to_string()).collect()
}

fn key(row: &Value) -> (String, String) {
    (
        text(row, "createdAt").to_string(),
        text(row, "id").to_string(),
    )
}

#[test]
fn paging_by_seven_reads_every_row_once_in_order() {
    let standin = start(300);
    let rows = read(&standin, None, 7);
    assert!(
        rows.len() > 150,
        "about a quarter of 600 subscriptions, 1–3 each: {}",
        rows.len()
    );
    let unique: BTreeSet<String> = ids(&rows).into_iter().collect();
    assert_eq!(unique.len(), rows.len(), "each row once");
    assert!(
        rows.windows(2).all(|w| key(&w[0]) < key(&w[1])),
        "(createdAt, id) order"
    );
    let tied = rows
        .windows(2)
        .filter(|w| w[0]["createdAt"] == w[1]["createdAt"])
        .count();
    assert!(tied > 10, "createdAt ties on purpose: {tied}");

    let mut expected = standin.subscription_entitlements();
    let stored = ids(&expected);
    assert_eq!(standin.ids(ROOT), stored, "ids in stored order");
    expected.sort_by_key(key);
    assert_eq!(rows, expected);

    // The same over HTTP, and again: deterministic.
    let reply = request(
        standin.addr(),
        "GET",
        "/_admin/ids/subscriptionEntitlements",
        &[],
        "",
    )
    .expect("a reply");
    assert_eq!(reply.json(), json!(stored));
    assert_eq!(read(&standin, None, 1000), rows);
    assert!(
        standin.invalid_queries().is_empty(),
        "{:?}",
        standin.invalid_queries()
    );
}

#[test]
fn created_at_ranges_partition_the_rows() {
    let standin = start(300);
    let all = read(&standin, None, 1000);
    let at = |i: usize| text(&all[i], "createdAt").to_string();
    // A tied value as one of the bounds: ties fall on one side only.
    let tie = all
        .windows(2)
        .position(|w| w[0]["createdAt"] == w[1]["createdAt"])
        .expect("a tie");
    let mut bounds = vec![at(all.len() / 4), at(tie), at(all.len() * 3 / 4)];
    bounds.sort();
    bounds.dedup();
    let mut parts = read(
        &standin,
        Some(json!({ "createdAt": { "lt": bounds[0] } })),
        7,
    );
    for pair in bounds.windows(2) {
        let range = json!({ "and": [{ "createdAt": { "gte": pair[0] } }, { "createdAt": { "lt": pair[1] } }] });
        let part = read(&standin, Some(range), 7);
        assert!(!part.is_empty());
        parts.extend(part);
    }
    let last = bounds.last().expect("a bound");
    parts.extend(read(
        &standin,
        Some(json!({ "createdAt": { "gte": last } })),
        7,
    ));
    assert_eq!(parts, all);
    let none = read(&standin, Some(json!({ "createdAt": { "is": null } })), 7);
    assert!(none.is_empty(), "every row has a createdAt");
    assert!(standin.invalid_queries().is_empty());
}

#[test]
fn id_in_subscription_id_and_updated_at_filters() {
    let standin = start(200);
    let all = read(&standin, None, 1000);
    let picked: Vec<String> = ids(&all).into_iter().step_by(9).collect();
    let found = read(&standin, Some(json!({ "id": { "in": picked } })), 7);
    assert_eq!(ids(&found), picked, "those, in (createdAt, id) order");

    let subscription = text(&all[all.len() / 2], "subscriptionId").to_string();
    let of_one = read(
        &standin,
        Some(json!({ "subscriptionId": { "eq": subscription } })),
        7,
    );
    let expected: Vec<Value> = all
        .iter()
        .filter(|r| r["subscriptionId"] == subscription.as_str())
        .cloned()
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(of_one, expected);

    // A null updatedAt passes `is: null` and no comparison.
    let no_update = read(&standin, Some(json!({ "updatedAt": { "is": null } })), 7);
    assert!(!no_update.is_empty());
    assert!(no_update.iter().all(|r| r["updatedAt"].is_null()));
    let updated = read(
        &standin,
        Some(json!({ "updatedAt": { "gte": "2000-01-01T00:00:00.000Z" } })),
        7,
    );
    assert_eq!(no_update.len() + updated.len(), all.len());
    // Sorted by updatedAt ascending, nulls come last.
    let by_update = read_all(
        &standin,
        ROOT,
        NODE,
        "id updatedAt",
        ascending(&["updatedAt", "id"]),
        None,
        50,
    );
    let nulls = by_update
        .iter()
        .filter(|r| r["updatedAt"].is_null())
        .count();
    assert_eq!(nulls, no_update.len());
    assert!(by_update[by_update.len() - nulls..]
        .iter()
        .all(|r| r["updatedAt"].is_null()));
    let bad = common::gql(
        &standin,
        "{ subscriptionEntitlements(filter: {updatedAt: {gt: \"soon\"}}) { edges { node { id } } } }",
        json!({}),
    );
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert_eq!(standin.invalid_queries().len(), 1);
}

/// Every subscription by `id`, with its plan's feature entitlements.
fn subscriptions(standin: &Standin) -> HashMap<String, Value> {
    let selection = "id subscriptionId startDate environmentId plan { id packageEntitlements { \
        __typename ... on PackageFeatureEntitlement { featureId usageLimit hasUnlimitedUsage } } }";
    read_all(
        standin,
        "subscriptions",
        "SubscriptionQuery",
        selection,
        ascending(&["createdAt"]),
        None,
        1000,
    )
    .into_iter()
    .map(|s| (text(&s, "id").to_string(), s))
    .collect()
}

/// Every feature by `id`.
fn features(standin: &Standin) -> HashMap<String, Value> {
    read_all(
        standin,
        "features",
        "Feature",
        "id refId featureType meterType",
        ascending(&["createdAt", "refId"]),
        None,
        1000,
    )
    .into_iter()
    .map(|f| (text(&f, "id").to_string(), f))
    .collect()
}

#[test]
fn rows_override_their_subscriptions_plan_entitlements() {
    let standin = start(300);
    let rows = standin.subscription_entitlements();
    let subscriptions = subscriptions(&standin);
    let features = features(&standin);
    let mut per_subscription: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for row in &rows {
        let subscription = &subscriptions[text(&row["subscription"], "id")];
        assert_eq!(row["subscriptionId"], subscription["subscriptionId"]);
        assert_eq!(
            row["subscription"]["subscriptionId"],
            subscription["subscriptionId"]
        );
        assert_eq!(row["environmentId"], subscription["environmentId"]);
        assert!(
            text(row, "createdAt") > text(subscription, "startDate"),
            "{row}"
        );
        if let Some(updated) = row["updatedAt"].as_str() {
            assert!(updated >= text(row, "createdAt"), "{row}");
        }
        assert!(
            text(row, "createdAt") <= "2025-06-30T00:00:00.000Z",
            "nothing generated after DATA_END"
        );

        // featureId is the feature's id, as in PackageFeatureEntitlement.
        assert_eq!(row["featureId"], row["feature"]["id"]);
        let feature = &features[text(row, "featureId")];
        assert_eq!(row["feature"]["refId"], feature["refId"]);
        assert_eq!(feature["featureType"], "NUMBER", "{row}");
        assert!(
            per_subscription
                .entry(text(row, "subscriptionId").to_string())
                .or_default()
                .insert(text(row, "featureId").to_string()),
            "one override per feature and subscription"
        );
        let plan_entitlement = subscription["plan"]["packageEntitlements"]
            .as_array()
            .expect("entitlements")
            .iter()
            .find(|e| e["featureId"] == row["featureId"])
            .unwrap_or_else(|| panic!("{row} overrides a feature of its plan"));
        assert_ne!(
            (&row["usageLimit"], &row["hasUnlimitedUsage"]),
            (
                &plan_entitlement["usageLimit"],
                &plan_entitlement["hasUnlimitedUsage"]
            ),
            "{row} differs from the plan's {plan_entitlement}"
        );
        let unlimited = row["hasUnlimitedUsage"] == json!(true);
        assert_eq!(row["usageLimit"].is_null(), unlimited, "{row}");
        assert!(row["hasSoftLimit"].is_boolean());

        let resets = feature["meterType"] == "Incremental";
        assert_eq!(row["resetPeriod"].is_string(), resets, "{row}");
        let member = match row["resetPeriod"].as_str() {
            Some("MONTH") => ("MonthlyResetPeriodConfig", "monthlyAccordingTo"),
            Some("WEEK") => ("WeeklyResetPeriodConfig", "weeklyAccordingTo"),
            Some("YEAR") => ("YearlyResetPeriodConfig", "yearlyAccordingTo"),
            None => {
                assert!(row["resetPeriodConfiguration"].is_null(), "{row}");
                continue;
            }
            Some(other) => panic!("reset period {other}"),
        };
        let configuration = &row["resetPeriodConfiguration"];
        if !configuration.is_null() {
            assert_eq!(configuration["__typename"], member.0, "{row}");
            assert!(configuration[member.1].is_string(), "{row}");
        }
    }
    let subscribers = per_subscription.len() as f64 / subscriptions.len() as f64;
    assert!(
        (0.15..0.35).contains(&subscribers),
        "about a quarter of the subscriptions: {subscribers}"
    );
    assert!(per_subscription.values().any(|f| f.len() >= 2));

    let count = |test: &dyn Fn(&Value) -> bool| rows.iter().filter(|r| test(r)).count();
    assert!(count(&|r| r["hasUnlimitedUsage"] == json!(true)) > 5);
    assert!(count(&|r| r["hasSoftLimit"] == json!(true)) > 5);
    assert!(count(&|r| r["description"].is_string()) > 5);
    assert!(count(&|r| r["updatedAt"].is_null()) > 0);
    for member in [
        "MonthlyResetPeriodConfig",
        "WeeklyResetPeriodConfig",
        "YearlyResetPeriodConfig",
    ] {
        assert!(
            count(&|r| r["resetPeriodConfiguration"]["__typename"] == member) > 0,
            "{member}"
        );
    }
    assert!(
        count(&|r| r["resetPeriod"].is_string() && r["resetPeriodConfiguration"].is_null()) > 0
    );
    assert!(standin.invalid_queries().is_empty());
}

#[test]
fn every_field_resolves_and_only_selected_ones_are_answered() {
    let standin = start(100);
    let query = "{ subscriptionEntitlements(paging: {first: 3}) { edges { cursor node { \
        __typename id limit: usageLimit feature { __typename displayName } \
        subscription { __typename id refId status pricingType startDate createdAt environmentId subscriptionId } } } \
        pageInfo { hasNextPage startCursor } } }";
    let page = data(&standin, query, json!({}));
    let edges = page[ROOT]["edges"].as_array().expect("edges");
    assert_eq!(edges.len(), 3);
    let subscriptions = subscriptions(&standin);
    for edge in edges {
        let node = &edge["node"];
        assert_eq!(node["__typename"], NODE);
        assert_eq!(node.as_object().map(|o| o.len()), Some(5), "{node}");
        assert_eq!(node["feature"]["__typename"], "Feature");
        let subscription = &node["subscription"];
        assert_eq!(subscription["__typename"], "CustomerSubscription");
        let listed = &subscriptions[text(subscription, "id")];
        assert_eq!(subscription["refId"], listed["subscriptionId"]);
        assert_eq!(subscription["startDate"], listed["startDate"]);
        assert!(subscription["status"].is_string() && subscription["pricingType"].is_string());
    }
    assert_eq!(page[ROOT]["pageInfo"]["hasNextPage"], json!(true));
    // No totalCount on this connection.
    let reply = common::gql(
        &standin,
        "{ subscriptionEntitlements { totalCount } }",
        json!({}),
    );
    assert_eq!(reply.status, 400);
    assert_eq!(standin.invalid_queries().len(), 1);
}

#[test]
fn the_same_seed_gives_the_same_overrides() {
    let config = || StandinConfig {
        customers: 150,
        seed: 7,
        ..Default::default()
    };
    let a = Standin::start(config());
    let b = Standin::start(config());
    assert!(!a.subscription_entitlements().is_empty());
    assert_eq!(a.subscription_entitlements(), b.subscription_entitlements());
    let other = Standin::start(StandinConfig {
        seed: 8,
        ..config()
    });
    assert_ne!(
        a.subscription_entitlements(),
        other.subscription_entitlements()
    );
}
