//! Stigg feature groups (`Query.featureGroups`, type `FeatureGroup`), every
//! version and status: the field's default filter keeps only PUBLISHED
//! rows, and the connector always sends a filter of its own, which replaces
//! it, so archived groups are read too.

use super::shapes::REF;
use super::{opt, req, Connection, Incremental, IncrementalPaging, Order, Read, StreamDef, Ty::*};

pub const FEATURE_GROUPS: StreamDef = StreamDef {
    name: "feature_groups",
    root_field: "featureGroups",
    read: Read::Connection(Connection {
        filter_type: "FeatureGroupFilter",
        sort_type: "FeatureGroupSort",
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
        req("featureGroupId", String),
        req("displayName", String),
        opt("description", String),
        req("status", Enum),
        req("isLatest", Boolean),
        req("versionNumber", Int),
        req("features", List(&Object(REF))),
        req("environmentId", String),
        req("createdAt", DateTime),
        req("updatedAt", DateTime),
    ],
};
