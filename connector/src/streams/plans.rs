//! Stigg plans (`Query.plans`, type `Plan`): one row per plan version.
//!
//! Full refresh only: `updatedAt` is nullable in Stigg's schema, and a filter on
//! it would never return the rows where it is null.

use super::{opt, req, StreamDef, Ty::*};

pub const PLANS: StreamDef = StreamDef {
    name: "plans",
    root_field: "plans",
    filter_type: "PlanFilter",
    sort_type: "PlanSort",
    full_refresh_order: &["createdAt", "id"],
    incremental: None,
    primary_key: "id",
    fields: &[
        req("id", String),
        req("refId", String),
        req("displayName", String),
        opt("description", String),
        req("status", Enum),
        opt("pricingType", Enum),
        req("type", String),
        req("versionNumber", Int),
        opt("isLatest", Boolean),
        req("isParent", Boolean),
        opt("productId", String),
        opt("billingId", String),
        opt("billingLinkUrl", String),
        opt("awsMarketplacePlanDimension", String),
        req("environmentId", String),
        opt("createdAt", DateTime),
        opt("updatedAt", DateTime),
        opt("additionalMetaData", Json),
        req(
            "product",
            Object(&[req("id", String), req("refId", String)]),
        ),
        opt(
            "basePlan",
            Object(&[req("id", String), req("refId", String)]),
        ),
    ],
};
