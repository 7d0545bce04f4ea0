//! Stigg offers (`Query.offers`, type `Offer`), every version and status.
//!
//! Full refresh only: `updatedAt` is non-null but `OfferFilter` cannot
//! filter on it.

use super::{opt, req, Connection, Order, Read, StreamDef, Ty::*};

pub const OFFERS: StreamDef = StreamDef {
    name: "offers",
    root_field: "offers",
    read: Read::Connection(Connection {
        filter_type: "OfferFilter",
        sort_type: "OfferSort",
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
        req("offerId", String),
        req("name", String),
        opt("description", String),
        req("status", Enum),
        req("isDefault", Boolean),
        req("isLatest", Boolean),
        req("version", Int),
        opt("metadata", Json),
        req("environmentId", String),
        req("createdAt", DateTime),
        req("updatedAt", DateTime),
    ],
};
