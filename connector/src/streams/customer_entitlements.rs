//! What each customer may use now (`Query.entitlements`, type
//! `EntitlementWithSummary`): per feature, whether it is granted and why
//! not, the limit, the usage in the current period and when it resets. One
//! request per customer (`query: {customerId}`, a plain list), within the
//! default 3,000 calls a minute: at the default half of it, 10,000
//! customers take about 10,000 requests and 7 minutes.
//!
//! A snapshot, read in full each sync: Stigg keeps no history of
//! entitlements, and no cursor covers a row's change (`currentUsage` moves
//! with every usage report, `usageUpdatedAt` only for metered features).
//! Rows of a customer's resources (`query: {customerId, resourceId}`) are
//! not read: only those of subscriptions without a resource.
//!
//! The answer may leave `customerId` null, so the row takes the customer
//! from the request; the key joins customer, resource and feature.

use super::{opt, req, Answer, Field, KeyColumn, PerParentDef, Ty::*};
use crate::streams::customers::CUSTOMERS;

pub const CUSTOMER_ENTITLEMENTS: PerParentDef = PerParentDef {
    name: "customer_entitlements",
    root_field: "entitlements",
    argument: "query",
    answer: Answer::List,
    input_type: "FetchEntitlementsQuery",
    parent: &CUSTOMERS,
    parent_field: "customerId",
    input_key: "customerId",
    primary_key: &["entitlement_key"],
    key_column: Some(KeyColumn {
        name: "entitlement_key",
        from: &["customerId", "resourceId", "feature.id"],
    }),
    parent_column: Some("customerId"),
    incremental: None,
    fields: &[
        opt("resourceId", String),
        opt("feature", Object(FEATURE)),
        req("isGranted", Boolean),
        opt("accessDeniedReason", Enum),
        req("hasUnlimitedUsage", Boolean),
        opt("hasSoftLimit", Boolean),
        opt("usageLimit", Float),
        opt("currentUsage", Float),
        opt("requestedUsage", Float),
        opt("enumValues", List(&String)),
        opt("resetPeriod", Enum),
        opt("usagePeriodAnchor", DateTime),
        opt("usagePeriodStart", DateTime),
        opt("usagePeriodEnd", DateTime),
        opt("nextResetDate", DateTime),
        opt("usageUpdatedAt", DateTime),
        opt("entitlementUpdatedAt", DateTime),
        opt("validUntil", Float),
        opt("meterId", String),
        opt("displayNameOverride", String),
    ],
};

/// `EntitlementFeature`: the feature an entitlement is for.
const FEATURE: &[Field] = &[
    req("id", String),
    req("refId", String),
    req("displayName", String),
    opt("description", String),
    req("featureType", Enum),
    opt("meterType", Enum),
    opt("featureUnits", String),
    opt("featureUnitsPlural", String),
    req("featureStatus", Enum),
];
