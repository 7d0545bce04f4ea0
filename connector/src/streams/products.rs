//! Stigg products (`Query.products`, type `Product`).

use super::{opt, req, Connection, Incremental, IncrementalPaging, Order, Read, StreamDef, Ty::*};

pub const PRODUCTS: StreamDef = StreamDef {
    name: "products",
    root_field: "products",
    read: Read::Connection(Connection {
        filter_type: "ProductFilter",
        sort_type: "ProductSort",
        total_count: true,
        full_refresh_order: Order {
            created: "createdAt",
            ties: &["id"],
        },
        incremental: Some(Incremental {
            cursor: "updatedAt",
            tie_break: "id",
            paging: IncrementalPaging::Keyset,
            deletes: None,
        }),
    }),
    primary_key: &["id"],
    fields: &[
        req("id", String),
        req("refId", String),
        opt("displayName", String),
        opt("description", String),
        req("status", Enum),
        req("isDefaultProduct", Boolean),
        req("multipleSubscriptions", Boolean),
        opt("awsMarketplaceProductCode", String),
        opt("awsMarketplaceProductId", String),
        req("environmentId", String),
        req("createdAt", DateTime),
        req("updatedAt", DateTime),
        opt("additionalMetaData", Json),
    ],
};
