//! Stigg promotional entitlements (`Query.promotionalEntitlements`, type
//! `PromotionalEntitlement`): features granted to a customer outside their plan.
//!
//! Full refresh only: `updatedAt` is nullable in Stigg's schema.

use super::shapes::RESET_PERIOD_CONFIGURATION;
use super::{opt, req, Connection, Order, Read, StreamDef, Ty::*};

pub const PROMOTIONAL_ENTITLEMENTS: StreamDef = StreamDef {
    name: "promotional_entitlements",
    root_field: "promotionalEntitlements",
    read: Read::Connection(Connection {
        filter_type: "PromotionalEntitlementFilter",
        sort_type: "PromotionalEntitlementSort",
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
        req("status", Enum),
        req("period", Enum),
        req("startDate", DateTime),
        opt("endDate", DateTime),
        opt("description", String),
        req("featureId", String),
        opt("usageLimit", Float),
        opt("unlimited", Boolean),
        opt("hasUnlimitedUsage", Boolean),
        opt("hasSoftLimit", Boolean),
        opt("resetPeriod", Enum),
        opt(
            "resetPeriodConfiguration",
            Union(RESET_PERIOD_CONFIGURATION),
        ),
        opt("enumValues", List(&String)),
        opt("featureGroupIds", List(&String)),
        req("isVisible", Boolean),
        req("environmentId", String),
        opt("createdAt", DateTime),
        opt("updatedAt", DateTime),
        req(
            "customer",
            Object(&[req("id", String), req("customerId", String)]),
        ),
        req(
            "feature",
            Object(&[req("id", String), req("refId", String)]),
        ),
    ],
};
