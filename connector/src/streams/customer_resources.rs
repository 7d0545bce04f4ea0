//! Stigg customer resources (`Query.customerResources`, type
//! `CustomerResource`): the resources (sites, workspaces) a customer's
//! subscriptions can be scoped to.
//!
//! Full refresh only: the type has no `updatedAt`. It has no `id` either:
//! a row is keyed by its `resourceId` and its customer's `id`, copied to the
//! top-level `customer_id` (runners such as PyAirbyte take no nested key).

use super::shapes::CUSTOMER_REF;
use super::{req, Connection, Order, Read, StreamDef, Ty::*};

pub const CUSTOMER_RESOURCES: StreamDef = StreamDef {
    name: "customer_resources",
    root_field: "customerResources",
    read: Read::Connection(Connection {
        filter_type: "CustomerResourceFilter",
        sort_type: "CustomerResourceSort",
        total_count: true,
        full_refresh_order: Order {
            created: "createdAt",
            ties: &["resourceId"],
        },
        incremental: None,
    }),
    primary_key: &["resourceId", "customer_id"],
    fields: &[
        req("resourceId", String),
        req("customer", Object(CUSTOMER_REF)),
        req("customer_id", From("customer.id")),
        req("environmentId", String),
        req("createdAt", DateTime),
    ],
};
