//! Price books and entitlements of plans and add-ons, union members,
//! selection of nested fields and nested list arguments.

mod common;

use std::collections::HashSet;

use common::nested::{catalog_query, list, nodes};
use common::{data, gql, start};
use serde_json::{json, Value};

#[test]
fn plans_and_addons_have_price_books_and_entitlements() {
    let standin = start(20);
    let catalog = data(&standin, &catalog_query(), json!({}));
    let features: HashSet<(Value, Value)> = nodes(&catalog, "features")
        .iter()
        .map(|f| (f["id"].clone(), f["refId"].clone()))
        .collect();
    let addon_ids: HashSet<Value> = nodes(&catalog, "addons")
        .iter()
        .map(|a| a["id"].clone())
        .collect();
    let mut price_ids = HashSet::new();
    let mut entitlement_ids = HashSet::new();
    let mut seen = HashSet::new();
    let packages: Vec<Value> = nodes(&catalog, "plans")
        .into_iter()
        .chain(nodes(&catalog, "addons"))
        .collect();
    for pkg in &packages {
        let prices = list(&pkg["prices"]);
        let overage = list(&pkg["overagePrices"]);
        match pkg["pricingType"].as_str() {
            Some("FREE") | Some("CUSTOM") => {
                assert!(prices.is_empty() && overage.is_empty(), "{pkg}")
            }
            _ => {
                for period in ["MONTHLY", "ANNUALLY"] {
                    assert!(
                        prices.iter().any(|p| p["billingPeriod"] == period
                            && p["price"]["currency"] == "USD"
                            && p["billingCountryCode"].is_null()),
                        "{pkg}"
                    );
                }
            }
        }
        assert_eq!(
            overage.is_empty(),
            pkg["overageBillingPeriod"].is_null(),
            "{pkg}"
        );
        let currencies: HashSet<String> = prices
            .iter()
            .filter_map(|p| p["price"]["currency"].as_str().map(str::to_string))
            .collect();
        seen.insert(format!("{} currencies", currencies.len()));
        for p in prices.iter().chain(&overage) {
            assert!(price_ids.insert(p["id"].clone()), "duplicate price id {p}");
            assert_eq!(p["packageId"], pkg["id"]);
            seen.insert(format!("model {}", p["billingModel"]));
            if !p["feature"].is_null() {
                assert!(
                    features.contains(&(p["feature"]["id"].clone(), p["feature"]["refId"].clone()))
                );
                assert_eq!(p["featureId"], p["feature"]["id"]);
            }
            if let Some(tiers) = p["tiers"].as_array() {
                seen.insert(format!("tiers {}", p["tiersMode"]));
                assert!(p["price"].is_null() && tiers.len() > 1);
                assert!(tiers.last().is_some_and(|t| t["upTo"].is_null()));
                assert!(tiers[..tiers.len() - 1]
                    .iter()
                    .all(|t| t["upTo"].is_number()));
            }
        }
        let minimums: Vec<(Value, Value)> = prices
            .iter()
            .filter(|p| p["billingModel"] == "MINIMUM_SPEND")
            .map(|p| (p["billingPeriod"].clone(), p["price"].clone()))
            .collect();
        if let Some(list) = pkg["minimumSpend"].as_array() {
            let declared: Vec<(Value, Value)> = list
                .iter()
                .map(|m| (m["billingPeriod"].clone(), m["minimum"].clone()))
                .collect();
            assert_eq!(declared, minimums);
        }
        for e in list(&pkg["packageEntitlements"]) {
            assert!(
                entitlement_ids.insert(e["id"].clone()),
                "duplicate entitlement id {e}"
            );
            assert_eq!(e["packageId"], pkg["id"]);
            seen.insert(e["__typename"].as_str().unwrap_or_default().to_string());
            match e["__typename"].as_str() {
                Some("PackageFeatureEntitlement") => {
                    assert!(features
                        .contains(&(e["feature"]["id"].clone(), e["feature"]["refId"].clone())));
                    assert!(e["amount"].is_null() && e.get("cadence").is_none());
                }
                Some("PackageCreditEntitlement") => {
                    assert!(e["cadence"].is_string() && e["customCurrencyId"].is_string());
                    assert!(e.get("feature").is_none());
                }
                other => panic!("unexpected member {other:?}"),
            }
        }
        for link in list(&pkg["compatibleAddons"])
            .iter()
            .chain(&list(&pkg["dependencies"]))
        {
            assert!(addon_ids.contains(&link["id"]), "{link}");
            seen.insert("addon link".into());
        }
        if !pkg["defaultTrialConfig"].is_null() {
            seen.insert("trial".into());
        }
    }
    for expected in [
        "1 currencies",
        "2 currencies",
        "3 currencies",
        "model \"FLAT_FEE\"",
        "model \"PER_UNIT\"",
        "model \"USAGE_BASED\"",
        "model \"MINIMUM_SPEND\"",
        "tiers \"GRADUATED\"",
        "tiers \"VOLUME\"",
        "PackageFeatureEntitlement",
        "PackageCreditEntitlement",
        "addon link",
        "trial",
    ] {
        assert!(seen.contains(expected), "no {expected} in {seen:?}");
    }
}

#[test]
fn only_selected_nested_fields_and_union_members_are_answered() {
    let standin = start(50);
    let query = "{ subscriptions(paging: {first: 100}) { edges { node { totalPrice { total { amount } } } } } \
                 plans(paging: {first: 100}) { edges { node { packageEntitlements { __typename ... on PackageCreditEntitlement { amount } } } } } }";
    let reply = gql(&standin, query, json!({}));
    assert!(
        !reply.body.contains("subTotal") && !reply.body.contains("currency"),
        "{}",
        reply.body
    );
    let page = reply.json()["data"].clone();
    let totals: Vec<Value> = nodes(&page, "subscriptions")
        .iter()
        .map(|s| s["totalPrice"].clone())
        .collect();
    assert!(totals.iter().any(|t| !t.is_null()));
    for t in totals.iter().filter(|t| !t.is_null()) {
        assert_eq!(t.as_object().map(|o| o.len()), Some(1));
        assert_eq!(t["total"].as_object().map(|o| o.len()), Some(1));
    }
    let mut members = HashSet::new();
    for e in nodes(&page, "plans")
        .iter()
        .flat_map(|p| list(&p["packageEntitlements"]))
    {
        let keys: Vec<&String> = e
            .as_object()
            .map(|o| o.keys().collect())
            .unwrap_or_default();
        match e["__typename"].as_str() {
            Some("PackageCreditEntitlement") => assert_eq!(keys, ["__typename", "amount"]),
            _ => assert_eq!(keys, ["__typename"]),
        }
        members.insert(e["__typename"].clone());
    }
    assert_eq!(members.len(), 2, "{members:?}");
}

#[test]
fn nested_list_arguments_filter_and_sort() {
    let standin = start(10);
    let query = "{ plans(paging: {first: 100}) { edges { node { \
        compatibleAddons(sorting: [{field: refId, direction: ASC}]) { id refId } } } } \
        addons(paging: {first: 100}) { edges { node { \
        all: prices { billingModel } flat: prices(filter: {billingModel: {in: [FLAT_FEE]}}) { billingModel } } } } }";
    let page = data(&standin, query, json!({}));
    let mut linked = 0;
    for plan in nodes(&page, "plans") {
        let refs: Vec<String> = list(&plan["compatibleAddons"])
            .iter()
            .map(|a| a["refId"].to_string())
            .collect();
        let mut sorted = refs.clone();
        sorted.sort();
        assert_eq!(refs, sorted);
        linked += refs.len();
        if let Some(first) = list(&plan["compatibleAddons"]).first() {
            let one = data(&standin, &format!(
                "{{ plans(paging: {{first: 100}}) {{ edges {{ node {{ compatibleAddons(filter: {{id: {{eq: {}}}}}) {{ id }} }} }} }} }}",
                first["id"]
            ), json!({}));
            let hits: usize = nodes(&one, "plans")
                .iter()
                .map(|p| list(&p["compatibleAddons"]).len())
                .sum();
            assert!(hits >= 1 && hits <= nodes(&one, "plans").len());
        }
    }
    assert!(linked > 0);
    for addon in nodes(&page, "addons") {
        let flat: Vec<Value> = list(&addon["all"])
            .into_iter()
            .filter(|p| p["billingModel"] == "FLAT_FEE")
            .collect();
        assert_eq!(list(&addon["flat"]), flat);
    }
}
