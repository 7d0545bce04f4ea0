//! Stigg features (`Query.features`, type `Feature`).

use super::shapes::METER;
use super::{opt, req, Connection, Incremental, IncrementalPaging, Order, Read, StreamDef, Ty::*};

pub const FEATURES: StreamDef = StreamDef {
    name: "features",
    root_field: "features",
    read: Read::Connection(Connection {
        filter_type: "FeatureFilter",
        sort_type: "FeatureSort",
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
        req("displayName", String),
        opt("description", String),
        req("featureStatus", Enum),
        req("featureType", Enum),
        opt("meterType", Enum),
        opt("featureUnits", String),
        opt("featureUnitsPlural", String),
        opt("hasEntitlements", Boolean),
        opt("hasMeter", Boolean),
        req("environmentId", String),
        opt("createdAt", DateTime),
        req("updatedAt", DateTime),
        opt("additionalMetaData", Json),
        opt("meter", Object(METER)),
        opt(
            "unitTransformation",
            Object(&[
                req("divide", Float),
                req("round", Enum),
                opt("featureUnits", String),
                opt("featureUnitsPlural", String),
            ]),
        ),
    ],
};
