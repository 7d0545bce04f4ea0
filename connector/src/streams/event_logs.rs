//! Stigg's activity log (`Query.eventLogs`, type `EventLog`): what changed,
//! when, by whom. Append-only, incremental on `createdAt`.
//!
//! Its filter is narrower than other connections' (`createdAt` only
//! `gte`/`lte`, `id` only `eq`) and it has no `totalCount`, so pages follow
//! the server's offset cursors over `createdAt >= <saved cursor>`, sorted by
//! (`createdAt`, `id`): events logged during a read land after every page
//! already read. The saved cursor is the `createdAt` of the last event
//! emitted, so the next sync reads again only the events logged in that
//! same millisecond (deduplicate on `id`).
//!
//! `request` (the API call's body and response) is not selected: it may hold
//! whatever the caller sent.

use super::{opt, req, Connection, Incremental, IncrementalPaging, Order, Read, StreamDef, Ty::*};

pub const EVENT_LOGS: StreamDef = StreamDef {
    name: "event_logs",
    root_field: "eventLogs",
    read: Read::Connection(Connection {
        filter_type: "EventLogFilter",
        sort_type: "EventLogSort",
        total_count: false,
        full_refresh_order: Order {
            created: "createdAt",
            ties: &["id"],
        },
        incremental: Some(Incremental {
            cursor: "createdAt",
            tie_break: "id",
            paging: IncrementalPaging::Offset,
            deletes: None,
        }),
    }),
    primary_key: &["id"],
    fields: &[
        req("id", String),
        req("eventLogType", Enum),
        opt("entityType", Enum),
        opt("entityId", String),
        opt("parentEntityId", String),
        req("environmentId", String),
        opt("traceId", String),
        req("payload", Json),
        opt(
            "actor",
            Object(&[
                opt("type", Enum),
                opt("name", String),
                opt("email", String),
                opt("scopedKeyName", String),
                opt("workflowName", String),
            ]),
        ),
        opt(
            "webhooks",
            List(&Object(&[req("id", String), req("endpoint", String)])),
        ),
        req("createdAt", DateTime),
    ],
};
