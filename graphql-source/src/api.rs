//! A connector as data: what it declares about its API; the engine does the rest.

use crate::pace::RateLimits;
use crate::stream::{Activity, ChildDef, PerParentDef, StreamDef};

/// Everything a connector declares; the engine does the rest.
#[derive(Debug)]
pub struct Api {
    /// The service's name as messages say it ("<name> answered HTTP 503").
    pub name: &'static str,
    pub documentation_url: &'static str,
    /// The GraphQL endpoint unless the config's `base_url` says otherwise.
    pub default_base_url: &'static str,
    /// The request header that carries the config's `api_key`.
    pub key_header: &'static str,
    /// What the spec tells users about `api_key`.
    pub key_description: &'static str,
    pub user_agent: &'static str,
    /// What `check` sends: the cheapest authenticated query, and its root field.
    pub check_query: &'static str,
    pub check_root_field: &'static str,
    /// Every stream, in discover order.
    pub streams: &'static [&'static StreamDef],
    /// Streams read from lists inside other streams' records, discovered
    /// after `streams`.
    pub children: &'static [&'static ChildDef],
    /// The API's per-minute limits per operation, which reads pace themselves by.
    pub rate_limits: RateLimits,
    /// Streams an incremental sync may read by an activity log's changes,
    /// when the config turns it on (`<stream>_incremental_via_activity_log`).
    pub activity: &'static [Activity],
    /// Streams answered one parent at a time, discovered last.
    pub per_parent: &'static [&'static PerParentDef],
    /// Whether reads and `check` ask the server's schema (GraphQL
    /// introspection, one request) for fields it no longer has.
    pub introspection: bool,
}
