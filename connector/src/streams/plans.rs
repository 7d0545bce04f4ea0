//! Stigg plans (`Query.plans`, type `Plan`): one row per plan version.
//!
//! Full refresh only: `updatedAt` is nullable in Stigg's schema, and a filter on
//! it would never return the rows where it is null.

use super::shapes::{BUDGET, MONEY, PACKAGE_ENTITLEMENT, PRICE, REF};
use super::{opt, req, Connection, Order, Read, StreamDef, Ty::*};

pub const PLANS: StreamDef = StreamDef {
    name: "plans",
    root_field: "plans",
    read: Read::Connection(Connection {
        filter_type: "PlanFilter",
        sort_type: "PlanSort",
        total_count: true,
        full_refresh_order: Order {
            created: "createdAt",
            ties: &["id"],
        },
        incremental: None,
    }),
    primary_key: &["id"],
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
        req("product", Object(REF)),
        opt("basePlan", Object(REF)),
        opt("prices", List(&Object(PRICE))),
        opt("overagePrices", List(&Object(PRICE))),
        opt("overageBillingPeriod", Enum),
        opt(
            "minimumSpend",
            List(&Object(&[
                req("billingPeriod", Enum),
                req("minimum", Object(MONEY)),
            ])),
        ),
        opt(
            "defaultTrialConfig",
            Object(&[
                req("duration", Float),
                req("units", Enum),
                opt("trialEndBehavior", Enum),
                opt("budget", Object(BUDGET)),
            ]),
        ),
        opt("packageEntitlements", List(&Union(PACKAGE_ENTITLEMENT))),
        opt("compatibleAddons", List(&Object(REF))),
    ],
};
