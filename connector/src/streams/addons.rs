//! Stigg add-ons (`Query.addons`, type `Addon`): one row per add-on version.
//!
//! Full refresh only: `updatedAt` is nullable in Stigg's schema.

use super::shapes::{PACKAGE_ENTITLEMENT, PRICE, REF};
use super::{opt, req, Connection, Order, Read, StreamDef, Ty::*};

pub const ADDONS: StreamDef = StreamDef {
    name: "addons",
    root_field: "addons",
    read: Read::Connection(Connection {
        filter_type: "AddonFilter",
        sort_type: "AddonSort",
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
        opt("maxQuantity", Float),
        opt("productId", String),
        opt("billingId", String),
        opt("billingLinkUrl", String),
        req("environmentId", String),
        opt("createdAt", DateTime),
        opt("updatedAt", DateTime),
        opt("additionalMetaData", Json),
        opt("product", Object(REF)),
        opt("prices", List(&Object(PRICE))),
        opt("overagePrices", List(&Object(PRICE))),
        opt("overageBillingPeriod", Enum),
        opt("packageEntitlements", List(&Union(PACKAGE_ENTITLEMENT))),
        opt("dependencies", List(&Object(REF))),
    ],
};
