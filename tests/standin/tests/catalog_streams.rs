//! Customer resources, experiments, feature groups, package groups and
//! offers, read with the connector's selections, orders and filters.

mod common;

use std::collections::HashSet;

use common::pages::{ascending, read_all, text};
use common::{data, start};
use serde_json::{json, Value};
use stigg_standin::Standin;

const RESOURCE: &str = "resourceId customer { id customerId } environmentId createdAt";
const EXPERIMENT: &str = "id refId name description status productId product { id refId } \
    controlGroupName variantGroupName variantPercentage startedAt stoppedAt environmentId createdAt updatedAt";
const FEATURE_GROUP: &str =
    "id featureGroupId displayName description status isLatest versionNumber \
    features { id refId } environmentId createdAt updatedAt";
const PACKAGE_GROUP: &str = "packageGroupId versionNumber displayName description status isLatest \
    productId product { id refId } addons { id refId } environmentId createdAt updatedAt";
const OFFER: &str = "id offerId name description status isDefault isLatest version metadata \
    environmentId createdAt updatedAt";

/// Reads a stream whole (full refresh) and again split in two createdAt
/// ranges, as the connector does for large streams; both agree.
fn full_refresh(
    standin: &Standin,
    root: &str,
    node: &str,
    selection: &str,
    order: &[&str],
) -> Vec<Value> {
    let all = read_all(
        standin,
        root,
        node,
        selection,
        ascending(order),
        Some(json!({})),
        3,
    );
    assert!(!all.is_empty(), "{root}");
    let key = |n: &Value| -> Vec<String> { order.iter().map(|f| n[*f].to_string()).collect() };
    assert!(
        all.windows(2).all(|w| key(&w[0]) <= key(&w[1])),
        "{root} not in {order:?} order"
    );
    let split = text(&all[all.len() / 2], "createdAt").to_string();
    let early = json!({ "createdAt": { "lt": split } });
    let late =
        json!({ "and": [{ "createdAt": { "gte": split } }, { "createdAt": { "isNot": null } }] });
    let mut parts = read_all(
        standin,
        root,
        node,
        selection,
        ascending(order),
        Some(early),
        1000,
    );
    parts.extend(read_all(
        standin,
        root,
        node,
        selection,
        ascending(order),
        Some(late),
        1000,
    ));
    assert_eq!(parts, all, "{root}");
    all
}

#[test]
fn customer_resources_are_the_subscriptions_resources() {
    let standin = start(400);
    let resources = full_refresh(
        &standin,
        "customerResources",
        "CustomerResource",
        RESOURCE,
        &["createdAt", "resourceId"],
    );
    let subscriptions = data(
        &standin,
        "{ subscriptions(paging: {first: 1000}) { edges { node { resourceId resource { resourceId createdAt customer { id } } customer { id } } } } }",
        json!({}),
    );
    let with_resource: HashSet<(String, String)> = subscriptions["subscriptions"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| &e["node"])
        .filter(|s| s["resourceId"].is_string())
        .map(|s| {
            assert_eq!(s["resource"]["resourceId"], s["resourceId"]);
            assert_eq!(s["resource"]["customer"]["id"], s["customer"]["id"]);
            (
                text(s, "resourceId").to_string(),
                text(&s["customer"], "id").to_string(),
            )
        })
        .collect();
    let listed: HashSet<(String, String)> = resources
        .iter()
        .map(|r| {
            (
                text(r, "resourceId").to_string(),
                text(&r["customer"], "id").to_string(),
            )
        })
        .collect();
    assert_eq!(
        listed.len(),
        resources.len(),
        "keyed by resourceId and customer.id"
    );
    assert_eq!(listed, with_resource);
    assert!(standin.invalid_queries().is_empty());
}

#[test]
fn experiments_packages_and_offers_read_whole() {
    let standin = start(50);
    let experiments = full_refresh(
        &standin,
        "experiments",
        "Experiment",
        EXPERIMENT,
        &["createdAt", "id"],
    );
    let statuses: HashSet<&str> = experiments.iter().map(|e| text(e, "status")).collect();
    assert!(statuses.contains("DRAFT") && statuses.contains("COMPLETED"));
    let groups = full_refresh(
        &standin,
        "packageGroups",
        "PackageGroup",
        PACKAGE_GROUP,
        &["createdAt", "packageGroupId", "versionNumber"],
    );
    let keys: HashSet<(String, u64)> = groups
        .iter()
        .map(|g| {
            (
                text(g, "packageGroupId").to_string(),
                g["versionNumber"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(keys.len(), groups.len());
    let addons: HashSet<String> = standin.ids("addons").into_iter().collect();
    for group in &groups {
        let listed = group["addons"].as_array().expect("addons");
        assert!(!listed.is_empty());
        assert!(listed.iter().all(|a| addons.contains(text(a, "id"))));
        assert!(group["product"]["id"].is_string());
    }
    let offers = full_refresh(&standin, "offers", "Offer", OFFER, &["createdAt", "id"]);
    let statuses: HashSet<&str> = offers.iter().map(|o| text(o, "status")).collect();
    assert_eq!(statuses.len(), 3, "every status: {statuses:?}");
    assert!(offers.iter().any(|o| o["isLatest"] == false));
    assert!(standin.invalid_queries().is_empty());
}

#[test]
fn feature_groups_default_to_published_and_a_filter_replaces_that() {
    let standin = start(50);
    let all = full_refresh(
        &standin,
        "featureGroups",
        "FeatureGroup",
        FEATURE_GROUP,
        &["createdAt", "id"],
    );
    assert!(all.iter().any(|g| g["status"] == "ARCHIVED"));
    assert!(all.iter().any(|g| g["versionNumber"].as_u64() > Some(1)));
    assert!(all
        .iter()
        .all(|g| !g["features"].as_array().expect("features").is_empty()));
    let defaulted = data(
        &standin,
        "{ featureGroups(paging: {first: 1000}) { totalCount edges { node { status } } } }",
        json!({}),
    );
    let published = all.iter().filter(|g| g["status"] == "PUBLISHED").count();
    assert_eq!(
        defaulted["featureGroups"]["totalCount"].as_u64(),
        Some(published as u64)
    );
    let explicit = data(
        &standin,
        "{ featureGroups(filter: {}) { totalCount } }",
        json!({}),
    );
    assert_eq!(
        explicit["featureGroups"]["totalCount"].as_u64(),
        Some(all.len() as u64)
    );
    let latest = data(
        &standin,
        "{ featureGroups(filter: {isLatest: {is: true}}) { totalCount } }",
        json!({}),
    );
    let latest_count = all.iter().filter(|g| g["isLatest"] == true).count();
    assert_eq!(
        latest["featureGroups"]["totalCount"].as_u64(),
        Some(latest_count as u64)
    );

    // Incremental: updatedAt from a bookmark, then the keyset after a row.
    let order = ascending(&["updatedAt", "id"]);
    let by_update = read_all(
        &standin,
        "featureGroups",
        "FeatureGroup",
        "id updatedAt",
        order.clone(),
        Some(json!({})),
        1000,
    );
    let pivot = &by_update[by_update.len() / 2];
    let filter = json!({ "or": [
        { "updatedAt": { "gt": pivot["updatedAt"] } },
        { "updatedAt": { "eq": pivot["updatedAt"] }, "id": { "gt": pivot["id"] } },
    ] });
    let rest = read_all(
        &standin,
        "featureGroups",
        "FeatureGroup",
        "id updatedAt",
        order,
        Some(filter),
        2,
    );
    assert_eq!(rest[..], by_update[by_update.len() / 2 + 1..]);
    assert!(standin.invalid_queries().is_empty());
}
