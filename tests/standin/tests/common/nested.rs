//! Queries and helpers of the nested-field tests: each selects every
//! field the connector selects.

#![allow(dead_code)]

use serde_json::Value;

pub const MONEY: &str = "{ amount currency }";

/// `Price` with every field, as the connector selects it.
pub fn price() -> String {
    format!(
        "{{ id billingModel billingPeriod billingCadence price {MONEY} tiersMode \
         tiers {{ upTo unitPrice {MONEY} flatPrice {MONEY} }} featureId feature {{ id refId }} \
         blockSize minUnitQuantity maxUnitQuantity billingCountryCode billingId resetPeriod \
         creditGrantCadence creditRate {{ amount currencyId customCurrencyId costFormula }} \
         topUpCustomCurrencyId isOverridePrice packageId createdAt }}"
    )
}

pub fn subscriptions_query() -> String {
    let p = price();
    format!(
        "{{ subscriptions(paging: {{first: 1000}}) {{ edges {{ node {{ id customerId payingCustomerId \
         status pricingType billingPeriod currentBillingPeriodEnd resourceId plan {{ id }} \
         customer {{ id customerId }} payingCustomer {{ id customerId }} resource {{ resourceId }} \
         totalPrice {{ subTotal {MONEY} addonsTotal {MONEY} total {MONEY} }} \
         prices(filter: {{}}) {{ id billingModel featureId usageLimit hasSoftLimit creditsQuantity \
           creditGrantCadence nextGrantDate createdAt updatedAt price {p} }} \
         addons {{ id addonId addon {{ id refId }} quantity price {p} createdAt updatedAt }} \
         coupons {{ id refId name type status discountValue percentOff amountsOff {MONEY} \
           durationInMonths startDate expirationDate environmentId }} \
         trialConfiguration {{ trialEndBehavior }} minimumSpend {{ isOverride minimum {MONEY} }} \
         budget {{ hasSoftLimit limit }} freeItems {{ addonId quantity }} \
         latestInvoice {{ billingId status billingReason currency subTotal subTotalExcludingTax tax \
           total totalExcludingTax amountDue appliedBalance startingBalance endingBalance attemptCount \
           requiresAction errorMessage pdfUrl dueDate createdAt updatedAt \
           lines {{ amount currency description proration quantity }} }} \
         scheduledUpdates {{ subscriptionScheduleType scheduleStatus scheduledExecutionTime createdAt \
           billingId targetPackage {{ id refId type }} scheduleVariables {{ __typename }} }} \
         experimentInfo {{ id name groupName groupType status }} }} }} }} }}"
    )
}

pub const ENTITLEMENT: &str = "{ __typename \
  ... on PackageFeatureEntitlement { id packageId behavior hasSoftLimit isCustom isGranted description \
    displayNameOverride order environmentId createdAt updatedAt featureId feature { id refId } \
    usageLimit hasUnlimitedUsage resetPeriod enumValues } \
  ... on PackageCreditEntitlement { id packageId behavior hasSoftLimit isCustom isGranted description \
    displayNameOverride order environmentId createdAt updatedAt amount cadence customCurrencyId } }";

pub fn catalog_query() -> String {
    let p = price();
    format!(
        "{{ plans(paging: {{first: 1000}}) {{ edges {{ node {{ id refId pricingType product {{ id }} \
         prices {p} overagePrices {p} overageBillingPeriod \
         minimumSpend {{ billingPeriod minimum {MONEY} }} \
         defaultTrialConfig {{ duration units trialEndBehavior budget {{ hasSoftLimit limit }} }} \
         packageEntitlements {ENTITLEMENT} compatibleAddons {{ id refId }} }} }} }} \
         addons(paging: {{first: 1000}}) {{ edges {{ node {{ id refId maxQuantity \
         prices {p} overagePrices {p} overageBillingPeriod packageEntitlements {ENTITLEMENT} \
         dependencies {{ id refId }} }} }} }} \
         features(paging: {{first: 1000}}) {{ edges {{ node {{ id refId }} }} }} }}"
    )
}

pub fn nodes(data: &Value, root: &str) -> Vec<Value> {
    data[root]["edges"]
        .as_array()
        .map(|edges| edges.iter().map(|e| e["node"].clone()).collect())
        .unwrap_or_default()
}

pub fn list(v: &Value) -> Vec<Value> {
    v.as_array().cloned().unwrap_or_default()
}

pub fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

pub fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 0.005
}
