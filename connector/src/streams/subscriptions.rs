//! Stigg subscriptions (`Query.subscriptions`, type `SubscriptionQuery`).
//!
//! Full refresh only: the type has no `updatedAt`, and none of its other
//! timestamps is bound to move on every change, so an incremental cursor would
//! miss updates.

use super::{opt, req, StreamDef, Ty::*};

pub const SUBSCRIPTIONS: StreamDef = StreamDef {
    name: "subscriptions",
    root_field: "subscriptions",
    filter_type: "SubscriptionQueryFilter",
    sort_type: "SubscriptionQuerySort",
    full_refresh_order: &["createdAt", "subscriptionId"],
    incremental: None,
    primary_key: "id",
    fields: &[
        req("id", String),
        req("subscriptionId", String),
        req("refId", String),
        req("environmentId", String),
        req("status", Enum),
        req("pricingType", Enum),
        req("paymentCollection", Enum),
        opt("billingPeriod", Enum),
        opt("cancelReason", Enum),
        req("startDate", DateTime),
        opt("endDate", DateTime),
        opt("createdAt", DateTime),
        opt("cancellationDate", DateTime),
        opt("trialEndDate", DateTime),
        opt("effectiveEndDate", DateTime),
        opt("billingCycleAnchor", DateTime),
        opt("currentBillingPeriodStart", DateTime),
        opt("currentBillingPeriodEnd", DateTime),
        opt("billingId", String),
        opt("billingLinkUrl", String),
        opt("crmId", String),
        opt("crmLinkUrl", String),
        opt("salesforceId", String),
        opt("customerId", String),
        opt("payingCustomerId", String),
        opt("resourceId", String),
        opt("wasInTrial", Boolean),
        opt("budgetExceeded", Boolean),
        opt("additionalMetaData", Json),
        req("plan", Object(&[req("id", String), req("refId", String)])),
    ],
};
