//! One GraphQL round trip to Stigg: the request, and the response classified
//! into a page of raw nodes or an error Airbyte understands.

use std::borrow::Cow;
use std::collections::HashMap;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::io::{Http, HttpError, Method, Request, Response};

/// How much of a response body an error quotes.
const EXCERPT_CHARS: usize = 300;

/// Posts `{query, variables}` to Stigg and returns the response after the
/// transport- and HTTP-level checks (auth, status).
pub fn post(
    http: &mut dyn Http,
    config: &Config,
    query: &str,
    variables: &Value,
) -> Result<Response> {
    let body = serde_json::json!({ "query": query, "variables": variables }).to_string();
    let request = Request {
        method: Method::Post,
        url: config.endpoint.url.clone(),
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("accept".into(), "application/json".into()),
            ("x-api-key".into(), config.api_key.expose().into()),
            (
                "user-agent".into(),
                concat!("airbyte-source-stigg/", env!("CARGO_PKG_VERSION")).into(),
            ),
        ],
        body: body.into_bytes(),
    };
    let response = http
        .send(&request)
        .map_err(|e| transport_error(e, config))?;
    check_status(&response)?;
    Ok(response)
}

fn transport_error(error: HttpError, config: &Config) -> Error {
    let origin = &config.endpoint.origin;
    match &error {
        HttpError::Denied(_) => Error::config(format!(
            "the host refused to let the connector reach {origin}; \
             allow that origin, or fix `base_url`"
        )),
        HttpError::Timeout(_) | HttpError::Transport(_) => {
            Error::transient(format!("could not reach Stigg at {origin}"))
        }
        HttpError::TooLarge(_) => {
            Error::system("a Stigg response exceeded the host's size cap; lower `page_size`")
        }
    }
    .with_internal(error.to_string())
}

fn check_status(response: &Response) -> Result<()> {
    let status = response.status;
    let error = match status {
        200..=299 => return Ok(()),
        401 | 403 => Error::config(format!(
            "Stigg rejected the API key (HTTP {status}); check `api_key`: it must be a \
             server API key of the environment to sync"
        )),
        408 | 429 | 500..=599 => Error::transient(format!("Stigg answered HTTP {status}")),
        _ => Error::system(format!(
            "Stigg answered HTTP {status} to the connector's query"
        )),
    };
    Err(error.with_internal(excerpt(&response.body)))
}

/// The start of a body, for error messages.
pub fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut cut: String = text.chars().take(EXCERPT_CHARS).collect();
    if text.chars().nth(EXCERPT_CHARS).is_some() {
        cut.push('…');
    }
    format!("response body: {cut}")
}

/// One page of a connection: raw nodes borrowed from the response body.
#[derive(Debug)]
pub struct Page<'a> {
    pub nodes: Vec<&'a RawValue>,
    pub has_next_page: bool,
    pub end_cursor: Option<String>,
    pub total_count: Option<u64>,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow, default)]
    data: Option<HashMap<Cow<'a, str>, Option<Connection<'a>>>>,
    #[serde(default)]
    errors: Option<Vec<GraphqlError>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Connection<'a> {
    #[serde(borrow)]
    edges: Vec<Edge<'a>>,
    page_info: PageInfo,
    total_count: Option<u64>,
}

#[derive(Deserialize)]
struct Edge<'a> {
    #[serde(borrow)]
    node: &'a RawValue,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageInfo {
    has_next_page: Option<bool>,
    end_cursor: Option<String>,
}

#[derive(Deserialize)]
struct GraphqlError {
    #[serde(default)]
    message: String,
    #[serde(default)]
    extensions: Option<Extensions>,
}

#[derive(Deserialize)]
struct Extensions {
    code: Option<String>,
}

/// Parses a 2xx body holding one connection under `data.<root_field>`.
/// GraphQL errors, a missing `data` and a malformed shape are errors, never an empty page.
pub fn parse_page<'a>(body: &'a [u8], root_field: &str) -> Result<Page<'a>> {
    let envelope: Envelope<'a> = serde_json::from_slice(body).map_err(|e| {
        Error::system(format!(
            "Stigg's response to the {root_field} query is not the JSON expected ({e})"
        ))
        .with_internal(excerpt(body))
    })?;
    if let Some(errors) = envelope.errors.filter(|e| !e.is_empty()) {
        return Err(graphql_errors(&errors, root_field).with_internal(excerpt(body)));
    }
    let connection = envelope
        .data
        .and_then(|mut data| data.remove(root_field))
        .flatten()
        .ok_or_else(|| {
            Error::system(format!(
                "Stigg's response has no `data.{root_field}` and no errors"
            ))
            .with_internal(excerpt(body))
        })?;
    Ok(Page {
        nodes: connection.edges.into_iter().map(|e| e.node).collect(),
        has_next_page: connection.page_info.has_next_page.unwrap_or(false),
        end_cursor: connection.page_info.end_cursor,
        total_count: connection.total_count,
    })
}

fn graphql_errors(errors: &[GraphqlError], root_field: &str) -> Error {
    let codes = || {
        errors
            .iter()
            .filter_map(|e| e.extensions.as_ref()?.code.as_deref())
    };
    let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
    let detail = messages.join("; ");
    if codes().any(|c| c == "UNAUTHENTICATED" || c == "FORBIDDEN") {
        return Error::config(format!(
            "Stigg rejected the API key: {detail}; check `api_key`"
        ));
    }
    Error::system(format!(
        "Stigg returned errors for the {root_field} query: {detail}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::FailureType;

    #[test]
    fn parses_nodes_without_copying_them() {
        let body =
            br#"{"data":{"customers":{"edges":[{"node":{"id":"a","n":1}},{"node":{"id":"b"}}],
            "pageInfo":{"hasNextPage":true,"endCursor":"c2"},"totalCount":7}}}"#;
        let page = parse_page(body, "customers").unwrap();
        let ids: Vec<&str> = page.nodes.iter().map(|n| n.get()).collect();
        assert_eq!(ids, [r#"{"id":"a","n":1}"#, r#"{"id":"b"}"#]);
        assert!(page.has_next_page);
        assert_eq!(page.end_cursor.as_deref(), Some("c2"));
        assert_eq!(page.total_count, Some(7));
    }

    #[test]
    fn errors_inside_http_200_are_errors() {
        let body =
            br#"{"data":null,"errors":[{"message":"boom","extensions":{"code":"INTERNAL"}}]}"#;
        let err = parse_page(body, "customers").unwrap_err();
        assert_eq!(err.failure_type, FailureType::System);
        assert!(err.message.contains("boom"));
        let auth = br#"{"errors":[{"message":"nope","extensions":{"code":"UNAUTHENTICATED"}}]}"#;
        assert_eq!(
            parse_page(auth, "customers").unwrap_err().failure_type,
            FailureType::Config
        );
    }

    #[test]
    fn missing_data_and_bad_shapes_quote_the_body() {
        for body in [
            &br#"{"data":null}"#[..],
            br#"{}"#,
            br#"{"data":{"customers":null}}"#,
            br#"{"data":{"other":{}}}"#,
            br#"{"data":{"customers":{"edges":null,"pageInfo":{}}}}"#,
            br#"{"data":{"customers":{"edges":[],"pa"#,
            br#"<html>bad gateway</html>"#,
        ] {
            let err = parse_page(body, "customers").unwrap_err();
            assert_eq!(err.failure_type, FailureType::System);
            let internal = err.internal.unwrap();
            assert!(internal.starts_with("response body: "), "{internal}");
        }
    }

    #[test]
    fn excerpt_is_bounded() {
        let long = "x".repeat(10_000);
        let e = excerpt(long.as_bytes());
        assert!(e.chars().count() < EXCERPT_CHARS + 20);
        assert!(e.ends_with('…'));
    }
}
