//! Stigg usage measurements (`Query.usageMeasurements`, type
//! `UsageMeasurement`): metered usage as reported, one row per report.
//!
//! Append-only: a measurement never changes once recorded, so its non-null
//! `createdAt` is the incremental cursor. The customer and feature are
//! linked by their `id`s (`customers.id`, `features.id`).

use super::{req, Connection, Incremental, IncrementalPaging, Order, Read, StreamDef, Ty::*};

pub const USAGE_MEASUREMENTS: StreamDef = StreamDef {
    name: "usage_measurements",
    root_field: "usageMeasurements",
    read: Read::Connection(Connection {
        filter_type: "UsageMeasurementFilter",
        sort_type: "UsageMeasurementSort",
        total_count: true,
        full_refresh_order: Order {
            created: "createdAt",
            ties: &["id"],
        },
        incremental: Some(Incremental {
            cursor: "createdAt",
            tie_break: "id",
            paging: IncrementalPaging::Keyset,
            deletes: None,
        }),
    }),
    primary_key: &["id"],
    fields: &[
        req("id", String),
        req("customerId", String),
        req("featureId", String),
        req("value", Float),
        req("environmentId", String),
        req("createdAt", DateTime),
    ],
};
