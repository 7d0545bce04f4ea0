//! `POST /graphql`: authenticate, parse, validate, pick faults, execute.

use std::sync::Arc;
use std::time::Duration;

use apollo_compiler::response::{GraphQLError, JsonMap, JsonValue};
use apollo_compiler::validation::Valid;
use apollo_compiler::ExecutableDocument;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::config::BadKeyMode;
use crate::execute::{execute, Context, Quirk};
use crate::faults::Fault;
use crate::input_check::check_filters;
use crate::json_text::to_js_json;
use crate::limits::RATE_LIMITED_BODY;
use crate::schema::Served;
use crate::state::Shared;
use crate::stats::InvalidQuery;

/// Marks a response the connection layer must not send: it closes instead.
#[derive(Debug, Clone, Copy)]
pub struct DropConnection;

#[derive(Deserialize)]
struct GraphqlRequest {
    query: String,
    #[serde(default)]
    variables: Option<JsonMap>,
    #[serde(default, rename = "operationName")]
    operation_name: Option<String>,
}

/// A request checked and ready to run.
struct Prepared {
    query: String,
    document: Valid<ExecutableDocument>,
    operation_name: Option<String>,
    variables: Valid<JsonMap>,
    root_fields: Vec<String>,
    /// The schema it was validated against.
    served: Arc<Served>,
}

pub async fn handle(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    shared.stats().requests += 1;
    sleep_ms(shared.latency_ms).await;
    if !authorized(&shared, &headers) {
        return unauthorized(shared.bad_key_mode);
    }
    let prepared = match prepare(shared.served(), &headers, &body) {
        Ok(prepared) => prepared,
        Err(rejection) => {
            let response = rejection.response();
            // Introspection turned off is the server's choice, not a fault of the query.
            if rejection.record.message != NO_INTROSPECTION {
                shared.stats().invalid.push(rejection.record);
            }
            return response;
        }
    };
    if let Err(full) = admit(&shared, &prepared.root_fields) {
        let mut stats = shared.stats();
        stats.rate_limited_requests += 1;
        for op in full {
            *stats.rate_limited.entry(op).or_default() += 1;
        }
        return rate_limited();
    }
    shared
        .stats()
        .count_valid(&prepared.root_fields, &prepared.query);
    let decision = shared.faults().decide(&prepared.root_fields);
    sleep_ms(decision.latency_ms).await;
    respond(&shared, &prepared, decision.fault)
}

async fn sleep_ms(ms: u64) {
    if ms > 0 {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
}

/// Stigg limits each operation of a valid request; invalid ones are
/// refused before that, as the stand-in cannot tell their operations.
fn admit(shared: &Shared, root_fields: &[String]) -> Result<(), Vec<String>> {
    match shared.limiter() {
        Some(mut limiter) => limiter.admit(root_fields, std::time::Instant::now()),
        None => Ok(()),
    }
}

/// Stigg's 429: its JSON body, no `Retry-After`.
fn rate_limited() -> Response {
    json_text_response(StatusCode::TOO_MANY_REQUESTS, RATE_LIMITED_BODY.to_owned())
}

fn authorized(shared: &Shared, headers: &HeaderMap) -> bool {
    headers
        .get("x-api-key")
        .is_some_and(|key| key.as_bytes() == shared.api_key.as_bytes())
}

fn unauthorized(mode: BadKeyMode) -> Response {
    let errors = vec![error_value("Unauthorized", "UNAUTHENTICATED")];
    match mode {
        BadKeyMode::Http401 => json_response(StatusCode::UNAUTHORIZED, body(errors, None)),
        BadKeyMode::GraphqlError200 => {
            json_response(StatusCode::OK, body(errors, Some(JsonValue::Null)))
        }
    }
}

/// Why a request was refused before execution, as Apollo Server says it.
struct Rejection {
    errors: Vec<GraphQLError>,
    record: InvalidQuery,
}

impl Rejection {
    fn new(query: &str, code: &str, errors: Vec<GraphQLError>) -> Self {
        let message = errors
            .iter()
            .map(|e| e.message.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        let record = InvalidQuery {
            query: query.to_string(),
            message,
            code: code.to_string(),
        };
        Rejection { errors, record }
    }

    fn simple(query: &str, code: &str, message: String) -> Self {
        Rejection::new(query, code, vec![plain_error(message)])
    }

    fn response(&self) -> Response {
        let errors = self
            .errors
            .iter()
            .map(|e| {
                let mut e = e.clone();
                e.extensions
                    .insert("code", JsonValue::from(self.record.code.as_str()));
                error_to_value(&e)
            })
            .collect();
        json_response(StatusCode::BAD_REQUEST, body(errors, None))
    }
}

fn plain_error(message: String) -> GraphQLError {
    GraphQLError {
        message,
        locations: Vec::new(),
        path: Vec::new(),
        extensions: JsonMap::new(),
    }
}

/// Apollo Server's answer to introspection when it is off.
const NO_INTROSPECTION: &str = "GraphQL introspection is not allowed by Apollo Server, but the \
     query contained __schema or __type. To enable introspection, pass introspection: true to \
     ApolloServer in production";

fn prepare(served: Arc<Served>, headers: &HeaderMap, body: &[u8]) -> Result<Prepared, Rejection> {
    let text = String::from_utf8_lossy(body);
    if !is_json(headers) {
        let message = "POST requests must have Content-Type: application/json".to_string();
        return Err(Rejection::simple(&text, "BAD_REQUEST", message));
    }
    let request: GraphqlRequest = serde_json::from_slice(body).map_err(|e| {
        Rejection::simple(
            &text,
            "BAD_REQUEST",
            format!("POST body is not a GraphQL request: {e}"),
        )
    })?;
    let query = request.query.as_str();
    let schema = &served.schema;
    let document = ExecutableDocument::parse_and_validate(schema, query, "query.graphql").map_err(
        |invalid| {
            let errors = invalid
                .errors
                .iter()
                .map(|d| d.unstable_to_json_compat())
                .collect();
            Rejection::new(query, "GRAPHQL_VALIDATION_FAILED", errors)
        },
    )?;
    let operation = document
        .operations
        .get(request.operation_name.as_deref())
        .map_err(|e| Rejection::simple(query, "BAD_REQUEST", e.message().to_string()))?;
    let raw_variables = request.variables.unwrap_or_default();
    let variables =
        apollo_compiler::request::coerce_variable_values(schema, operation, &raw_variables)
            .map_err(|e| Rejection::simple(query, "BAD_USER_INPUT", e.message().to_string()))?;
    if let Err(bad) = check_filters(&document, operation, &variables) {
        let code = if bad.from_variable {
            "BAD_USER_INPUT"
        } else {
            "GRAPHQL_VALIDATION_FAILED"
        };
        return Err(Rejection::simple(query, code, bad.message));
    }
    let introspects = operation
        .root_fields(&document)
        .any(|f| matches!(f.name.as_str(), "__schema" | "__type"));
    if introspects && !served.introspection {
        let message = NO_INTROSPECTION.to_string();
        return Err(Rejection::simple(
            query,
            "GRAPHQL_VALIDATION_FAILED",
            message,
        ));
    }
    let root_fields = operation
        .root_fields(&document)
        .map(|f| f.name.to_string())
        .filter(|name| !name.starts_with("__"))
        .collect();
    Ok(Prepared {
        query: request.query.clone(),
        document,
        operation_name: request.operation_name,
        variables,
        root_fields,
        served,
    })
}

fn is_json(headers: &HeaderMap) -> bool {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    content_type
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
}

fn respond(shared: &Shared, prepared: &Prepared, fault: Option<Fault>) -> Response {
    match fault {
        None => json_text_response(StatusCode::OK, run(shared, prepared, None)),
        Some(Fault::RepeatCursor) => json_text_response(
            StatusCode::OK,
            run(shared, prepared, Some(Quirk::RepeatCursor)),
        ),
        Some(Fault::IgnoreFilter) => json_text_response(
            StatusCode::OK,
            run(shared, prepared, Some(Quirk::IgnoreFilter)),
        ),
        Some(Fault::Truncate) => {
            let mut text = run(shared, prepared, None);
            let mut half = text.len() / 2;
            while !text.is_char_boundary(half) {
                half -= 1;
            }
            text.truncate(half);
            json_text_response(StatusCode::OK, text)
        }
        Some(Fault::Status { code, retry_after }) => status_response(code, retry_after),
        Some(Fault::Drop) => {
            let mut response = StatusCode::INTERNAL_SERVER_ERROR.into_response();
            response.extensions_mut().insert(DropConnection);
            response
        }
        Some(Fault::GraphqlError { message, code }) => json_response(
            StatusCode::OK,
            body(vec![error_value(&message, &code)], Some(JsonValue::Null)),
        ),
        Some(Fault::DataNull) => {
            json_response(StatusCode::OK, body(Vec::new(), Some(JsonValue::Null)))
        }
        Some(Fault::NoDataKey) => json_response(StatusCode::OK, body(Vec::new(), None)),
        Some(Fault::BadNode { node }) => json_text_response(
            StatusCode::OK,
            with_first_node(&run(shared, prepared, None), prepared, &node),
        ),
        // Latency is applied before responding; nothing else to do.
        Some(Fault::Latency { .. }) => {
            json_text_response(StatusCode::OK, run(shared, prepared, None))
        }
    }
}

/// The answer with its first edge's node replaced by `node`, verbatim.
fn with_first_node(answer: &str, prepared: &Prepared, node: &str) -> String {
    const MARK: &str = "__bad_node__";
    let Ok(mut value) = serde_json::from_str::<serde_json::Value>(answer) else {
        return answer.to_owned();
    };
    let root = prepared.root_fields.first().map_or("", String::as_str);
    let Some(first) = value.pointer_mut(&format!("/data/{root}/edges/0/node")) else {
        return answer.to_owned();
    };
    *first = serde_json::Value::from(MARK);
    value.to_string().replacen(&format!("\"{MARK}\""), node, 1)
}

/// Executes the request; returns the response body.
fn run(shared: &Shared, prepared: &Prepared, quirk: Option<Quirk>) -> String {
    let store = shared.store();
    let ctx = Context::new(&store, shared.max_page_size, quirk);
    let Ok(operation) = prepared
        .document
        .operations
        .get(prepared.operation_name.as_deref())
    else {
        return to_js_json(&body(
            vec![error_value("Unknown operation", "BAD_REQUEST")],
            None,
        ));
    };
    let schema = &prepared.served.schema;
    let response = execute(
        &ctx,
        schema,
        &prepared.document,
        operation,
        &prepared.variables,
    );
    record_user_errors(shared, prepared, &response.errors);
    let errors = response.errors.iter().map(error_to_value).collect();
    to_js_json(&body(
        errors,
        Some(response.data.map_or(JsonValue::Null, JsonValue::Object)),
    ))
}

/// Errors the request's input caused (a too large `first`, a bad cursor)
/// count as invalid queries too: the real API would refuse them as well.
fn record_user_errors(shared: &Shared, prepared: &Prepared, errors: &[GraphQLError]) {
    for error in errors {
        if error.extensions.get("code").and_then(JsonValue::as_str) == Some("BAD_USER_INPUT") {
            let record = InvalidQuery {
                query: prepared.query.clone(),
                message: error.message.clone(),
                code: "BAD_USER_INPUT".into(),
            };
            shared.stats().invalid.push(record);
        }
    }
}

fn status_response(code: u16, retry_after: Option<String>) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let reason = status.canonical_reason().unwrap_or("Error");
    let mut response = json_response(
        status,
        body(vec![error_value(reason, &format!("HTTP_{code}"))], None),
    );
    if let Some(value) = retry_after.and_then(|v| HeaderValue::from_str(&v).ok()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// A response body: `errors` (when any) then `data` (when given), in that
/// order, as Apollo Server writes them.
fn body(errors: Vec<JsonValue>, data: Option<JsonValue>) -> JsonValue {
    let mut map = JsonMap::new();
    if !errors.is_empty() {
        map.insert("errors", JsonValue::Array(errors));
    }
    if let Some(data) = data {
        map.insert("data", data);
    }
    JsonValue::Object(map)
}

fn error_value(message: &str, code: &str) -> JsonValue {
    let mut error = plain_error(message.to_string());
    error.extensions.insert("code", JsonValue::from(code));
    error_to_value(&error)
}

/// `{message, locations?, path?, extensions?}` in that order.
fn error_to_value(error: &GraphQLError) -> JsonValue {
    let mut map = JsonMap::new();
    map.insert("message", JsonValue::from(error.message.as_str()));
    if !error.locations.is_empty() {
        let locations = error.locations.iter().map(|l| {
            let mut at = JsonMap::new();
            at.insert("line", JsonValue::from(l.line as u64));
            at.insert("column", JsonValue::from(l.column as u64));
            JsonValue::Object(at)
        });
        map.insert("locations", JsonValue::Array(locations.collect()));
    }
    if !error.path.is_empty() {
        let path = serde_json::to_value(&error.path).unwrap_or_default();
        map.insert("path", JsonValue::from(path));
    }
    if !error.extensions.is_empty() {
        map.insert("extensions", JsonValue::Object(error.extensions.clone()));
    }
    JsonValue::Object(map)
}

fn json_response(status: StatusCode, body: JsonValue) -> Response {
    json_text_response(status, to_js_json(&body))
}

fn json_text_response(status: StatusCode, body: String) -> Response {
    let content_type = HeaderValue::from_static("application/json; charset=utf-8");
    (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
}
