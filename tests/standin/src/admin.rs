//! Test controls: what `Standin` offers in-process, and the same under
//! `/_admin/*` over HTTP for the binary.
//!
//! - `GET /_admin/stats` — `{requests, byRootField, invalidQueries}`
//! - `GET /_admin/invalid-queries` — the rejected requests
//! - `POST /_admin/reset-stats`
//! - `POST /_admin/touch-customers` `{"n": 5}` — `{"ids": [...]}`
//! - `GET|PUT|POST|DELETE /_admin/faults` — list, replace (a list), add one, clear
//! - `GET /_admin/ids/{rootField}` — every id of a list query, in stored order

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use crate::data::Kind;
use crate::faults::FaultRule;
use crate::rng::format_uuid;
use crate::state::Shared;

/// Sets `n` customers' updatedAt to now (distinct milliseconds); their ids.
pub fn touch_customers(shared: &Shared, n: usize) -> Vec<String> {
    let mut store = shared.store_mut();
    let touched = store.touch_customers(n);
    let rows = store.data.rows(Kind::Customer);
    touched
        .iter()
        .map(|&i| format_uuid(rows[i as usize].id))
        .collect()
}

/// Every id a list query can return, in stored order; `None` for an unknown root field.
pub fn ids(shared: &Shared, root_field: &str) -> Option<Vec<String>> {
    let kind = Kind::from_root_field(root_field)?;
    Some(
        shared
            .store()
            .data
            .rows(kind)
            .iter()
            .map(|r| format_uuid(r.id))
            .collect(),
    )
}

pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/_admin/stats", get(stats))
        .route("/_admin/invalid-queries", get(invalid_queries))
        .route("/_admin/reset-stats", post(reset_stats))
        .route("/_admin/touch-customers", post(touch))
        .route(
            "/_admin/faults",
            get(list_faults)
                .put(set_faults)
                .post(add_fault)
                .delete(clear_faults),
        )
        .route("/_admin/ids/{root_field}", get(list_ids))
}

async fn stats(State(shared): State<Arc<Shared>>) -> Response {
    let stats = shared.stats();
    let body = serde_json::json!({
        "requests": stats.requests,
        "byRootField": stats.by_root_field,
        "invalidQueries": stats.invalid.len(),
    });
    Json(body).into_response()
}

async fn invalid_queries(State(shared): State<Arc<Shared>>) -> Response {
    Json(shared.stats().invalid.clone()).into_response()
}

async fn reset_stats(State(shared): State<Arc<Shared>>) -> StatusCode {
    *shared.stats() = Default::default();
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct TouchRequest {
    n: usize,
}

async fn touch(State(shared): State<Arc<Shared>>, Json(request): Json<TouchRequest>) -> Response {
    Json(serde_json::json!({ "ids": touch_customers(&shared, request.n) })).into_response()
}

async fn list_faults(State(shared): State<Arc<Shared>>) -> Response {
    Json(shared.faults().rules()).into_response()
}

async fn set_faults(
    State(shared): State<Arc<Shared>>,
    Json(rules): Json<Vec<FaultRule>>,
) -> StatusCode {
    shared.faults().set(rules);
    StatusCode::NO_CONTENT
}

async fn add_fault(State(shared): State<Arc<Shared>>, Json(rule): Json<FaultRule>) -> StatusCode {
    shared.faults().add(rule);
    StatusCode::NO_CONTENT
}

async fn clear_faults(State(shared): State<Arc<Shared>>) -> StatusCode {
    shared.faults().set(Vec::new());
    StatusCode::NO_CONTENT
}

async fn list_ids(State(shared): State<Arc<Shared>>, Path(root_field): Path<String>) -> Response {
    match ids(&shared, &root_field) {
        Some(ids) => Json(ids).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            format!("no list query {root_field:?}"),
        )
            .into_response(),
    }
}
