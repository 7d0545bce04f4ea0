//! What the stand-in has seen, for tests to assert on.

use std::collections::BTreeMap;

use serde::Serialize;

/// A request the real API would have rejected before running it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvalidQuery {
    pub query: String,
    pub message: String,
    /// GRAPHQL_VALIDATION_FAILED, BAD_USER_INPUT or BAD_REQUEST.
    pub code: String,
}

#[derive(Debug, Default, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// Every POST to /graphql, whatever came of it.
    pub requests: u64,
    /// Valid, authorized requests served per root field (not those
    /// refused by the rate limit).
    pub by_root_field: BTreeMap<String, u64>,
    /// Requests refused by the rate limit (HTTP 429).
    pub rate_limited_requests: u64,
    /// The same per root field whose window was full.
    pub rate_limited: BTreeMap<String, u64>,
    #[serde(skip)]
    pub invalid: Vec<InvalidQuery>,
    /// The text of every valid query, distinct, in the order first seen.
    #[serde(skip)]
    pub queries: Vec<String>,
}

impl Stats {
    /// Counts a valid query by its root fields and keeps its text.
    pub fn count_valid(&mut self, names: &[String], query: &str) {
        for name in names {
            *self.by_root_field.entry(name.clone()).or_default() += 1;
        }
        if !self.queries.iter().any(|q| q == query) {
            self.queries.push(query.to_owned());
        }
    }
}
