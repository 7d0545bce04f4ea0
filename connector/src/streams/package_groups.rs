//! Stigg package groups (`Query.packageGroups`, type `PackageGroup`): sets
//! of add-ons offered together, one row per version.
//!
//! Full refresh only: the type has no single unique field to break ties of
//! `updatedAt` (it is keyed by `packageGroupId` and `versionNumber`).

use super::shapes::REF;
use super::{opt, req, Connection, Order, Read, StreamDef, Ty::*};

pub const PACKAGE_GROUPS: StreamDef = StreamDef {
    name: "package_groups",
    root_field: "packageGroups",
    read: Read::Connection(Connection {
        filter_type: "PackageGroupFilter",
        sort_type: "PackageGroupSort",
        total_count: true,
        full_refresh_order: Order {
            created: "createdAt",
            ties: &["packageGroupId", "versionNumber"],
        },
        incremental: None,
    }),
    primary_key: &["packageGroupId", "versionNumber"],
    fields: &[
        req("packageGroupId", String),
        req("versionNumber", Int),
        req("displayName", String),
        opt("description", String),
        req("status", Enum),
        req("isLatest", Boolean),
        opt("productId", String),
        req("product", Object(REF)),
        opt("addons", List(&Object(REF))),
        req("environmentId", String),
        req("createdAt", DateTime),
        req("updatedAt", DateTime),
    ],
};
