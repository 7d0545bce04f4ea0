//! Stigg subscription entitlements (`Query.subscriptionEntitlements`, type
//! `SubscriptionEntitlement`): a subscription's own limits on features,
//! which override its plan's.
//!
//! Full refresh only: `updatedAt` is nullable in Stigg's schema. The
//! connection has no `totalCount`, so it is read in one `createdAt` order,
//! never split into partitions.

use super::shapes::{REF, RESET_PERIOD_CONFIGURATION};
use super::{opt, req, Connection, Order, Read, StreamDef, Ty::*};

pub const SUBSCRIPTION_ENTITLEMENTS: StreamDef = StreamDef {
    name: "subscription_entitlements",
    root_field: "subscriptionEntitlements",
    read: Read::Connection(Connection {
        filter_type: "SubscriptionEntitlementFilter",
        sort_type: "SubscriptionEntitlementSort",
        total_count: false,
        full_refresh_order: Order {
            created: "createdAt",
            ties: &["id"],
        },
        incremental: None,
    }),
    primary_key: &["id"],
    fields: &[
        req("id", String),
        req("subscriptionId", String),
        req("featureId", String),
        req("feature", Object(REF)),
        req(
            "subscription",
            Object(&[req("id", String), req("subscriptionId", String)]),
        ),
        opt("description", String),
        opt("usageLimit", Float),
        opt("hasUnlimitedUsage", Boolean),
        opt("hasSoftLimit", Boolean),
        opt("resetPeriod", Enum),
        opt(
            "resetPeriodConfiguration",
            Union(RESET_PERIOD_CONFIGURATION),
        ),
        req("environmentId", String),
        opt("createdAt", DateTime),
        opt("updatedAt", DateTime),
    ],
};
