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
//! Entitlements of subscriptions scoped to a resource (a site, a workspace)
//! come from `query: {customerId, resourceId}`, one request per customer
//! resource: `customer_resource_entitlements`, the same columns.
//!
//! The answer may leave `customerId` null, so the row takes the customer
//! from the request; the key joins customer, resource and feature.

use super::{by, opt, req, Answer, Field, KeyColumn, Naming, PerParentDef, Ty::*};
use crate::streams::customer_resources::CUSTOMER_RESOURCES;
use crate::streams::customers::CUSTOMERS;

pub const CUSTOMER_ENTITLEMENTS: PerParentDef = PerParentDef {
    name: "customer_entitlements",
    root_field: "entitlements",
    argument: "query",
    answer: Answer::List,
    input_type: "FetchEntitlementsQuery",
    parent: &CUSTOMERS,
    naming: &by("customerId"),
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

/// The entitlements of each customer resource: Stigg answers those of the
/// subscriptions on that resource.
pub const CUSTOMER_RESOURCE_ENTITLEMENTS: PerParentDef = PerParentDef {
    name: "customer_resource_entitlements",
    parent: &CUSTOMER_RESOURCES,
    naming: &[
        Naming {
            field: "customer.customerId",
            input: "customerId",
        },
        Naming {
            field: "resourceId",
            input: "resourceId",
        },
    ],
    ..CUSTOMER_ENTITLEMENTS
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
