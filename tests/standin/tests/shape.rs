//! Responses carry exactly the selected fields, typed like Stigg's.

mod common;

use common::{data, start};
use serde_json::{json, Value};

const ALL_CUSTOMER_FIELDS: &str = "additionalMetaData awsMarketplaceCustomerId billingCurrency billingId billingLinkUrl createdAt crmHubspotCompanyId crmHubspotCompanyUrl crmId customerId defaultPaymentExpirationMonth defaultPaymentExpirationYear defaultPaymentMethodCardBrand defaultPaymentMethodId defaultPaymentMethodLast4Digits defaultPaymentMethodType defaultPaymentMethodWalletType deletedAt email environmentId excludeFromExperiment hasActiveResource hasActiveSubscription hasPaymentMethod id name refId salesforceId totalActivePromotionalEntitlements totalActiveSubscription updatedAt";

fn nodes(data: &Value, root_field: &str) -> Vec<Value> {
    data[root_field]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

#[test]
fn only_selected_fields_in_selection_order() {
    let standin = start(20);
    let query = "{ customers(paging: {first: 3}) { totalCount edges { node { updatedAt id __typename } cursor } } }";
    // serde_json::Value sorts keys: look at the text itself.
    let text = common::gql(&standin, query, json!({})).body;
    assert!(
        text.starts_with(r#"{"data":{"customers":{"totalCount":20,"edges":[{"node":{"updatedAt":"#),
        "{text}"
    );
    let node = regex_free_nodes(&text);
    assert_eq!(node.len(), 3);
    for fields in node {
        assert_eq!(fields, ["updatedAt", "id", "__typename"]);
    }
    let page = data(&standin, query, json!({}));
    assert!(nodes(&page, "customers")
        .iter()
        .all(|n| n["__typename"] == json!("Customer")));
}

/// The key order of each `"node":{...}` object in a response text.
fn regex_free_nodes(text: &str) -> Vec<Vec<String>> {
    text.split(r#""node":{"#)
        .skip(1)
        .map(|rest| {
            let object = rest.split('}').next().unwrap_or_default();
            object
                .split(',')
                .filter_map(|pair| pair.split(':').next())
                .map(|k| k.trim_matches('"').to_string())
                .collect()
        })
        .collect()
}

#[test]
fn aliases_and_fragments_work() {
    let standin = start(5);
    let query = "fragment C on Customer { key: customerId } { list: customers(paging: {first: 1}) { edges { node { ...C ... on Customer { id } } } } }";
    let page = data(&standin, query, json!({}));
    let node = &page["list"]["edges"][0]["node"];
    assert!(node["key"]
        .as_str()
        .is_some_and(|k| k.starts_with("customer-")));
    assert!(node["id"].is_string());
}

#[test]
fn customer_values_are_realistic() {
    let standin = start(400);
    let page = data(&standin, &format!("{{ customers(paging: {{first: 400}}) {{ edges {{ node {{ {ALL_CUSTOMER_FIELDS} }} }} }} }}"), json!({}));
    let customers = nodes(&page, "customers");
    assert_eq!(customers.len(), 400);
    let uuid = |v: &Value| {
        v.as_str()
            .is_some_and(|s| s.len() == 36 && s.chars().filter(|c| *c == '-').count() == 4)
    };
    let iso = |v: &Value| {
        v.as_str()
            .is_some_and(|s| s.len() == 24 && s.ends_with('Z') && &s[19..20] == ".")
    };
    for c in &customers {
        assert!(uuid(&c["id"]) && uuid(&c["environmentId"]));
        assert!(iso(&c["createdAt"]) && iso(&c["updatedAt"]));
        assert!(c["updatedAt"].as_str() >= c["createdAt"].as_str());
        assert!(c["totalActiveSubscription"].is_number());
        assert_eq!(c["customerId"], c["refId"]);
        assert!(c["email"].is_null() || c["email"].as_str().is_some_and(|e| e.contains('@')));
        assert!(c["additionalMetaData"].is_null() || c["additionalMetaData"].is_object());
        assert_eq!(
            c["hasActiveSubscription"],
            json!(c["totalActiveSubscription"].as_f64() > Some(0.0))
        );
    }
    let some_null = |field: &str| customers.iter().any(|c| c[field].is_null());
    let some_set = |field: &str| customers.iter().any(|c| !c[field].is_null());
    for field in [
        "name",
        "email",
        "billingId",
        "crmId",
        "additionalMetaData",
        "defaultPaymentMethodType",
        "billingCurrency",
    ] {
        assert!(
            some_null(field) && some_set(field),
            "{field} should be sometimes null"
        );
    }
    let unique: std::collections::HashSet<&str> = customers
        .iter()
        .filter_map(|c| c["customerId"].as_str())
        .collect();
    assert_eq!(unique.len(), 400);
}

#[test]
fn subscriptions_reference_customers_and_plans() {
    let standin = start(50);
    let customers = data(
        &standin,
        "{ customers(paging: {first: 100}) { edges { node { customerId } } } }",
        json!({}),
    );
    let customer_ids: Vec<Value> = nodes(&customers, "customers")
        .iter()
        .map(|c| c["customerId"].clone())
        .collect();
    let plans = data(&standin, "{ plans(paging: {first: 100}) { edges { node { id refId product { refId } productId } } } }", json!({}));
    let plan_ids: Vec<Value> = nodes(&plans, "plans")
        .iter()
        .map(|p| p["id"].clone())
        .collect();
    for plan in nodes(&plans, "plans") {
        assert_eq!(plan["product"]["refId"], plan["productId"]);
    }
    let query = "{ subscriptions(paging: {first: 1000}) { totalCount edges { node { customerId status pricingType startDate plan { id displayName product { displayName } } } } } }";
    let subs = data(&standin, query, json!({}));
    assert_eq!(subs["subscriptions"]["totalCount"], json!(100));
    for sub in nodes(&subs, "subscriptions") {
        assert!(customer_ids.contains(&sub["customerId"]), "{sub}");
        assert!(plan_ids.contains(&sub["plan"]["id"]));
        assert!(sub["status"].is_string() && sub["startDate"].is_string());
    }
}

#[test]
fn integral_floats_are_written_like_javascript() {
    let standin = start(30);
    let reply = common::gql(
        &standin,
        "{ customers(paging: {first: 30}) { edges { node { totalActiveSubscription } } } }",
        json!({}),
    );
    assert!(!reply.body.contains(".0"), "{}", reply.body);
    assert!(reply.body.contains(r#""totalActiveSubscription":"#));
}

#[test]
fn other_node_types_resolve_all_scalar_fields() {
    let standin = start(30);
    let queries = [
        "{ plans { edges { node { additionalMetaData awsMarketplacePlanDimension billingId billingLinkUrl createdAt description displayName environmentId hiddenFromWidgets id isLatest isParent overageBillingPeriod pricingType productId refId status type updatedAt versionNumber } } } }",
        "{ addons { edges { node { additionalMetaData billingId billingLinkUrl createdAt description displayName environmentId hasSubscriptions hiddenFromWidgets id isLatest maxQuantity overageBillingPeriod pricingType product { id } productId refId status type updatedAt versionNumber } } } }",
        "{ features { edges { node { additionalMetaData createdAt description displayName environmentId featureStatus featureType featureUnits featureUnitsPlural hasEntitlements hasMeter id meterType refId updatedAt usedEnumValues } } } }",
        "{ products { edges { node { additionalMetaData awsMarketplaceProductCode awsMarketplaceProductId createdAt description displayName environmentId hasSubscriptions id isDefaultProduct multipleSubscriptions refId status updatedAt } } } }",
        "{ coupons { edges { node { additionalMetaData billingId billingLinkUrl createdAt description discountValue durationInMonths environmentId id name percentOff refId source status type updatedAt } } } }",
        "{ promotionalEntitlements { edges { node { createdAt description endDate enumValues environmentId featureGroupIds featureId hasSoftLimit hasUnlimitedUsage id isVisible period resetPeriod startDate status unlimited updatedAt usageLimit } } } }",
        "{ usageMeasurements { edges { node { createdAt customerId environmentId featureId id value } } } }",
        "{ subscriptions { edges { node { additionalMetaData billingCycleAnchor billingId billingLinkUrl billingPeriod billingSyncError budgetExceeded cancelReason cancellationDate createdAt crmId crmLinkUrl currentBillingPeriodEnd currentBillingPeriodStart customerId effectiveEndDate endDate environmentId id oldBillingId payingCustomerId paymentCollection paymentCollectionMethod pricingType refId resourceId salesforceId startDate status subscriptionId trialEndDate wasInTrial } } } }",
    ];
    for query in queries {
        let page = data(&standin, query, json!({}));
        let root = page
            .as_object()
            .and_then(|o| o.keys().next().cloned())
            .unwrap_or_default();
        let expected = standin.ids(&root).len().min(10);
        assert_eq!(nodes(&page, &root).len(), expected, "{root}");
    }
}
