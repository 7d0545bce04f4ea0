//! Stigg experiments (`Query.experiments`, type `Experiment`): pricing
//! experiments and their control and variant groups.
//!
//! Full refresh only: `updatedAt` is non-null but `ExperimentFilter` cannot
//! filter on it.

use super::shapes::REF;
use super::{opt, req, Connection, Order, Read, StreamDef, Ty::*};

pub const EXPERIMENTS: StreamDef = StreamDef {
    name: "experiments",
    root_field: "experiments",
    read: Read::Connection(Connection {
        filter_type: "ExperimentFilter",
        sort_type: "ExperimentSort",
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
        req("name", String),
        opt("description", String),
        req("status", Enum),
        req("productId", String),
        opt("product", Object(REF)),
        req("controlGroupName", String),
        req("variantGroupName", String),
        req("variantPercentage", Float),
        opt("startedAt", DateTime),
        opt("stoppedAt", DateTime),
        req("environmentId", String),
        req("createdAt", DateTime),
        req("updatedAt", DateTime),
    ],
};
