//! Test controls: what `Standin` offers in-process, and the same under
//! `/_admin/*` over HTTP for the binary.
//!
//! - `GET /_admin/stats` — `{requests, byRootField, invalidQueries, rateLimited,
//!   rateLimitedByRootField}` (`rateLimited`: requests refused with HTTP 429)
//! - `GET /_admin/invalid-queries` — the rejected requests
//! - `POST /_admin/reset-stats`
//! - `POST /_admin/touch-customers` `{"n": 5}` — `{"ids": [...]}`; likewise
//!   `delete-customers`, `create-customers` and `report-usage` (measurement ids)
//! - `POST /_admin/grant-credits` `{"customerId": "customer-…", "amount": 100}` — `{"id": grant id | null}`
//! - `POST /_admin/consume-credits` `{"customerId": "customer-…", "amount": 5}` — `{"eventId": … | null}`
//! - `POST /_admin/entitlements` `{"customerId": "customer-…", "resourceId": null}` — what
//!   `entitlements` answers for them, every field
//! - `POST /_admin/customers-over` `{"share": 0.8}` — `{"customerIds": [...]}`
//! - `GET|PUT|POST|DELETE /_admin/faults` — list, replace (a list), add one, clear
//! - `GET /_admin/ids/{rootField}` — every id of a list query, in stored order
//! - `PUT /_admin/schema` `{"removeFields": ["Customer.email"], "introspection": false}`
//!   — the schema served from now on: the subset with those changes
//! - `POST /_admin/spend` `{"rootField": "subscriptions", "n": 10}` — another
//!   client's calls in the rate-limit window now: `{"spent": how many fit}`

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use crate::data::Kind;
use crate::faults::FaultRule;
use crate::fields::{customer_entitlements, scalar, Tree, Val};
use crate::rng::format_uuid;
use crate::schema::{SchemaChange, Served};
use crate::state::Shared;
use crate::store::Store;

/// What a mutation of `n` rows of `kind` returns: their `id`s.
fn changed(
    shared: &Shared,
    kind: Kind,
    n: usize,
    change: fn(&mut Store, usize) -> Vec<u32>,
) -> Vec<String> {
    let mut store = shared.store_mut();
    let changed = change(&mut store, n);
    let rows = store.data.rows(kind);
    changed
        .iter()
        .filter_map(|&i| rows.get(i as usize))
        .map(|r| format_uuid(r.id))
        .collect()
}

/// Sets `n` customers' updatedAt to now (distinct milliseconds); their ids.
pub fn touch_customers(shared: &Shared, n: usize) -> Vec<String> {
    changed(shared, Kind::Customer, n, Store::touch_customers)
}

pub fn update_subscriptions(shared: &Shared, n: usize) -> Vec<String> {
    changed(shared, Kind::Subscription, n, Store::update_subscriptions)
}

pub fn delete_customers(shared: &Shared, n: usize) -> Vec<String> {
    changed(shared, Kind::Customer, n, Store::delete_customers)
}

pub fn create_customers(shared: &Shared, n: usize) -> Vec<String> {
    changed(shared, Kind::Customer, n, Store::create_customers)
}

pub fn report_usage(shared: &Shared, n: usize) -> Vec<String> {
    changed(shared, Kind::UsageMeasurement, n, Store::report_usage)
}

pub fn grant_credits(shared: &Shared, customer_id: &str, amount: f64) -> Option<String> {
    let mut store = shared.store_mut();
    let customer = store.data.customer_by_external_id(customer_id)?;
    let grant = store.grant_credits(customer, amount)?;
    store
        .data
        .row(Kind::CreditGrant, grant)
        .map(|r| format_uuid(r.id))
}

pub fn consume_credits(shared: &Shared, customer_id: &str, amount: f64) -> Option<String> {
    let mut store = shared.store_mut();
    let customer = store.data.customer_by_external_id(customer_id)?;
    store.consume_credits(customer, amount).map(format_uuid)
}

/// The `customerId`s of the live customers with credit grants, in row order.
pub fn credit_customers(shared: &Shared) -> Vec<String> {
    let store = shared.store();
    let ds = &store.data;
    let mut customers: Vec<u32> = ds
        .grants_by_customer
        .keys()
        .copied()
        .filter(|&c| ds.is_live(Kind::Customer, c))
        .collect();
    customers.sort_unstable();
    customers
        .into_iter()
        .filter_map(|c| match scalar(ds, Kind::Customer, c, "customerId") {
            Some(Val::Str(id)) => Some(id),
            _ => None,
        })
        .collect()
}

/// What `entitlements(query: {customerId, resourceId})` answers, every
/// field selected, as parsed from the response text; empty for an unknown
/// or deleted customer.
pub fn entitlements(
    shared: &Shared,
    customer_id: &str,
    resource_id: Option<&str>,
) -> Vec<serde_json::Value> {
    let store = shared.store();
    let ds = &store.data;
    let Some(customer) = ds.customer_by_external_id(customer_id) else {
        return Vec::new();
    };
    match Tree::from(customer_entitlements(ds, customer, resource_id)).to_json(ds) {
        serde_json::Value::Array(rows) => rows,
        _ => Vec::new(),
    }
}

/// The `customerId`s (sorted) of the live customers with a metered
/// entitlement (no resource) whose usage is at least `share` of its limit.
pub fn customers_over(shared: &Shared, share: f64) -> Vec<String> {
    let store = shared.store();
    let ds = &store.data;
    let mut ids: Vec<String> = crate::fields::customers_over(ds, share)
        .into_iter()
        .filter_map(|c| match scalar(ds, Kind::Customer, c, "customerId") {
            Some(Val::Str(id)) => Some(id),
            _ => None,
        })
        .collect();
    ids.sort_unstable();
    ids
}

/// Every id a list query can return, in stored order; `None` for an
/// unknown root field. Records without an `id` (customer resources,
/// package groups) give their internal ids.
pub fn ids(shared: &Shared, root_field: &str) -> Option<Vec<String>> {
    let kind = Kind::from_root_field(root_field)?;
    let store = shared.store();
    let ds = &store.data;
    let ids = (0..ds.count(kind) as u32)
        .filter(|&i| ds.is_listed(kind, i))
        .map(|i| match (kind, ds.row(kind, i)) {
            (Kind::EventLog, _) => scalar(ds, kind, i, "id").unwrap_or(Val::Null).to_json(),
            (_, Some(row)) => Val::Uuid(row.id).to_json(),
            (_, None) => Val::Null.to_json(),
        })
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    Some(ids)
}

pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/_admin/stats", get(stats))
        .route("/_admin/invalid-queries", get(invalid_queries))
        .route("/_admin/reset-stats", post(reset_stats))
        .route("/_admin/touch-customers", post(touch))
        .route("/_admin/delete-customers", post(delete))
        .route("/_admin/create-customers", post(create))
        .route("/_admin/report-usage", post(report))
        .route("/_admin/grant-credits", post(grant))
        .route("/_admin/consume-credits", post(consume))
        .route("/_admin/entitlements", post(list_entitlements))
        .route("/_admin/customers-over", post(over))
        .route(
            "/_admin/faults",
            get(list_faults)
                .put(set_faults)
                .post(add_fault)
                .delete(clear_faults),
        )
        .route("/_admin/ids/{root_field}", get(list_ids))
        .route("/_admin/spend", post(spend))
        .route("/_admin/schema", axum::routing::put(change_schema))
}

async fn change_schema(
    State(shared): State<Arc<Shared>>,
    Json(change): Json<SchemaChange>,
) -> Response {
    match Served::changed(&change) {
        Ok(served) => {
            shared.serve(served);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(why) => (StatusCode::BAD_REQUEST, why).into_response(),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SpendRequest {
    root_field: String,
    n: u32,
}

async fn spend(State(shared): State<Arc<Shared>>, Json(r): Json<SpendRequest>) -> Response {
    let spent = shared.limiter().map_or(0, |mut l| {
        l.spend(&r.root_field, r.n, std::time::Instant::now())
    });
    Json(serde_json::json!({ "spent": spent })).into_response()
}

async fn stats(State(shared): State<Arc<Shared>>) -> Response {
    let stats = shared.stats();
    let body = serde_json::json!({
        "requests": stats.requests,
        "byRootField": stats.by_root_field,
        "invalidQueries": stats.invalid.len(),
        "rateLimited": stats.rate_limited_requests,
        "rateLimitedByRootField": stats.rate_limited,
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

async fn delete(State(shared): State<Arc<Shared>>, Json(request): Json<TouchRequest>) -> Response {
    Json(serde_json::json!({ "ids": delete_customers(&shared, request.n) })).into_response()
}

async fn create(State(shared): State<Arc<Shared>>, Json(request): Json<TouchRequest>) -> Response {
    Json(serde_json::json!({ "ids": create_customers(&shared, request.n) })).into_response()
}

async fn report(State(shared): State<Arc<Shared>>, Json(request): Json<TouchRequest>) -> Response {
    Json(serde_json::json!({ "ids": report_usage(&shared, request.n) })).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreditRequest {
    customer_id: String,
    amount: f64,
}

async fn grant(State(shared): State<Arc<Shared>>, Json(r): Json<CreditRequest>) -> Response {
    let id = grant_credits(&shared, &r.customer_id, r.amount);
    Json(serde_json::json!({ "id": id })).into_response()
}

async fn consume(State(shared): State<Arc<Shared>>, Json(r): Json<CreditRequest>) -> Response {
    let id = consume_credits(&shared, &r.customer_id, r.amount);
    Json(serde_json::json!({ "eventId": id })).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EntitlementsRequest {
    customer_id: String,
    #[serde(default)]
    resource_id: Option<String>,
}

async fn list_entitlements(
    State(shared): State<Arc<Shared>>,
    Json(r): Json<EntitlementsRequest>,
) -> Response {
    Json(entitlements(
        &shared,
        &r.customer_id,
        r.resource_id.as_deref(),
    ))
    .into_response()
}

#[derive(Deserialize)]
struct OverRequest {
    share: f64,
}

async fn over(State(shared): State<Arc<Shared>>, Json(r): Json<OverRequest>) -> Response {
    Json(serde_json::json!({ "customerIds": customers_over(&shared, r.share) })).into_response()
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
