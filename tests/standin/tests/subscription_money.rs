//! What subscriptions pay: totals consistent with their prices, add-ons and
//! coupons, links to real plan prices and add-ons, and the default filter of
//! `SubscriptionQuery.prices` that hides MINIMUM_SPEND prices.

mod common;

use std::collections::{HashMap, HashSet};

use common::nested::{catalog_query, close, list, nodes, num, subscriptions_query};
use common::{data, start};
use serde_json::{json, Value};

/// Ids of every price of every package, by package id.
fn price_ids(packages: &[Value]) -> HashMap<String, HashSet<String>> {
    packages
        .iter()
        .map(|p| {
            let ids = list(&p["prices"])
                .iter()
                .map(|x| x["id"].as_str().unwrap_or_default().to_string())
                .collect();
            (p["id"].as_str().unwrap_or_default().to_string(), ids)
        })
        .collect()
}

#[test]
fn subscription_money_is_consistent_and_links_to_real_records() {
    let standin = start(200);
    let catalog = data(&standin, &catalog_query(), json!({}));
    let plans = nodes(&catalog, "plans");
    let addons = nodes(&catalog, "addons");
    let plan_prices = price_ids(&plans);
    let addon_prices = price_ids(&addons);
    let compatible: HashMap<String, Vec<Value>> = plans
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap_or_default().to_string(),
                list(&p["compatibleAddons"]),
            )
        })
        .collect();
    let coupons = nodes(
        &data(
            &standin,
            "{ coupons(paging: {first: 100}) { edges { node { id refId type } } } }",
            json!({}),
        ),
        "coupons",
    );
    let subs = nodes(
        &data(&standin, &subscriptions_query(), json!({})),
        "subscriptions",
    );
    assert_eq!(subs.len(), 400);

    let mut seen_price_ids = HashSet::new();
    let mut seen = HashSet::new();
    for s in &subs {
        let plan_id = s["plan"]["id"].as_str().unwrap_or_default();
        assert_eq!(s["customer"]["customerId"], s["customerId"]);
        assert_eq!(s["payingCustomer"]["id"], s["payingCustomerId"]);
        assert_eq!(s["resource"]["resourceId"], s["resourceId"]);
        let prices = list(&s["prices"]);
        let sub_addons = list(&s["addons"]);
        if s["pricingType"] != "PAID" {
            assert!(
                s["totalPrice"].is_null() && prices.is_empty() && sub_addons.is_empty(),
                "{s}"
            );
            continue;
        }
        let currency = s["totalPrice"]["total"]["currency"].clone();
        seen.insert(format!("currency {currency}"));
        let mut sub_total = 0.0;
        for p in &prices {
            assert!(seen_price_ids.insert(p["id"].clone()), "duplicate id {p}");
            assert!(plan_prices[plan_id].contains(p["price"]["id"].as_str().unwrap_or_default()));
            assert_eq!(p["price"]["billingPeriod"], s["billingPeriod"]);
            assert_eq!(p["billingModel"], p["price"]["billingModel"]);
            assert_eq!(p["featureId"], p["price"]["featureId"]);
            seen.insert(format!("model {}", p["billingModel"]));
            let amount = &p["price"]["price"]["amount"];
            match p["billingModel"].as_str() {
                Some("FLAT_FEE") => sub_total += num(amount),
                Some("PER_UNIT") => sub_total += num(amount) * num(&p["usageLimit"]),
                _ => {}
            }
            if !p["price"]["price"].is_null() {
                assert_eq!(p["price"]["price"]["currency"], currency);
            }
        }
        let mut addons_total = 0.0;
        for a in &sub_addons {
            let addon_id = a["addon"]["id"].as_str().unwrap_or_default();
            assert_eq!(a["addonId"], a["addon"]["id"]);
            assert!(addon_prices[addon_id].contains(a["price"]["id"].as_str().unwrap_or_default()));
            assert!(compatible[plan_id]
                .iter()
                .any(|c| c["id"] == a["addon"]["id"]));
            assert_eq!(a["price"]["price"]["currency"], currency);
            let q = num(&a["quantity"]);
            assert!((1.0..=10.0).contains(&q), "{a}");
            addons_total += num(&a["price"]["price"]["amount"]) * q;
            seen.insert("addon".into());
        }
        let total_price = &s["totalPrice"];
        assert!(
            close(num(&total_price["subTotal"]["amount"]), sub_total),
            "{s}"
        );
        assert!(
            close(num(&total_price["addonsTotal"]["amount"]), addons_total),
            "{s}"
        );
        let gross = sub_total + addons_total;
        let mut discount = 0.0;
        for c in list(&s["coupons"]) {
            assert!(coupons
                .iter()
                .any(|k| k["id"] == c["id"] && k["refId"] == c["refId"] && k["type"] == c["type"]));
            seen.insert(format!(
                "coupon {} {}",
                c["type"],
                c["expirationDate"].is_null()
            ));
            seen.insert(format!("coupon status {}", c["status"]));
            if c["status"] != "ACTIVE" {
                continue;
            }
            discount += match c["type"].as_str() {
                Some("PERCENTAGE") => gross * num(&c["percentOff"]) / 100.0,
                _ => list(&c["amountsOff"])
                    .iter()
                    .find(|m| m["currency"] == currency)
                    .map_or(0.0, |m| num(&m["amount"])),
            };
        }
        assert!(
            close(
                num(&total_price["total"]["amount"]),
                (gross - discount).max(0.0)
            ),
            "{s}"
        );
        let invoice = &s["latestInvoice"];
        if !invoice.is_null() {
            seen.insert(format!("invoice {}", invoice["status"]));
            let lines: f64 = list(&invoice["lines"])
                .iter()
                .map(|l| num(&l["amount"]))
                .sum();
            assert!(close(lines, num(&invoice["subTotal"])), "{invoice}");
            assert!(close(
                num(&invoice["totalExcludingTax"]),
                num(&total_price["total"]["amount"])
            ));
            assert!(close(
                num(&invoice["total"]),
                num(&invoice["totalExcludingTax"]) + num(&invoice["tax"])
            ));
        }
        for u in list(&s["scheduledUpdates"]) {
            assert_eq!(u["scheduledExecutionTime"], s["currentBillingPeriodEnd"]);
            let target = &u["targetPackage"];
            let known = plans
                .iter()
                .chain(&addons)
                .any(|p| p["id"] == target["id"] && p["refId"] == target["refId"]);
            assert!(known, "{u}");
            seen.insert(format!("update {}", u["scheduleVariables"]["__typename"]));
        }
        for field in [
            "trialConfiguration",
            "minimumSpend",
            "budget",
            "freeItems",
            "experimentInfo",
        ] {
            if !s[field].is_null() {
                seen.insert(field.to_string());
            }
        }
        assert_eq!(
            standin.subscription_money(s["id"].as_str().unwrap_or_default()),
            Some(json!({
                "totalPrice": s["totalPrice"], "prices": s["prices"], "addons": s["addons"],
            }))
        );
    }
    for expected in [
        "currency \"USD\"",
        "currency \"EUR\"",
        "model \"FLAT_FEE\"",
        "model \"PER_UNIT\"",
        "model \"USAGE_BASED\"",
        "model \"MINIMUM_SPEND\"",
        "addon",
        "coupon \"PERCENTAGE\" true",
        "coupon \"PERCENTAGE\" false",
        "coupon \"FIXED\" true",
        "coupon status \"ACTIVE\"",
        "invoice \"PAID\"",
        "invoice \"OPEN\"",
        "update \"DowngradeChangeVariables\"",
        "update \"AddonChangeVariables\"",
        "trialConfiguration",
        "minimumSpend",
        "budget",
        "freeItems",
        "experimentInfo",
    ] {
        assert!(seen.contains(expected), "no {expected} in {seen:?}");
    }
    assert_eq!(
        standin.subscription_money("00000000-0000-4000-8000-000000000000"),
        None
    );
}

#[test]
fn minimum_spend_prices_are_hidden_unless_a_filter_is_given() {
    let standin = start(100);
    let query = "{ subscriptions(paging: {first: 1000}) { edges { node { \
        default: prices { id billingModel } \
        all: prices(filter: {}) { id billingModel } \
        minimum: prices(filter: {billingModel: {eq: MINIMUM_SPEND}}) { id } \
        sorted: prices(filter: {}, sorting: [{field: billingModel, direction: ASC}]) { billingModel } } } } }";
    let subs = nodes(&data(&standin, query, json!({})), "subscriptions");
    let mut differ = 0;
    for s in &subs {
        let all = list(&s["all"]);
        let hidden: Vec<&Value> = all
            .iter()
            .filter(|p| p["billingModel"] == "MINIMUM_SPEND")
            .collect();
        let shown: Vec<Value> = all
            .iter()
            .filter(|p| p["billingModel"] != "MINIMUM_SPEND")
            .cloned()
            .collect();
        assert_eq!(list(&s["default"]), shown);
        let minimum: Vec<Value> = hidden.iter().map(|p| json!({ "id": p["id"] })).collect();
        assert_eq!(list(&s["minimum"]), minimum);
        let models: Vec<String> = list(&s["sorted"])
            .iter()
            .map(|p| p["billingModel"].to_string())
            .collect();
        let mut expected = models.clone();
        expected.sort();
        assert_eq!(models, expected);
        differ += usize::from(!hidden.is_empty());
    }
    assert!(differ > 0, "no subscription with a MINIMUM_SPEND price");
}
