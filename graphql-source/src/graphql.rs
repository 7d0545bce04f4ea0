//! One GraphQL round trip: the request, the transport and HTTP checks, and
//! the body handed to `page` to become a page of nodes or an error.

use serde_json::Value;

use crate::error::{Error, Result, Retry};
use crate::io::{Http, HttpError, Method, Request, Response};
use crate::page::{excerpt, Page, Root};
use crate::settings::Settings;

/// The POST of one GraphQL query.
fn request(settings: &Settings, query: &str, variables: &Value) -> Request {
    let body = serde_json::json!({ "query": query, "variables": variables }).to_string();
    Request {
        method: Method::Post,
        url: settings.endpoint.url.clone(),
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("accept".into(), "application/json".into()),
            (
                settings.api.key_header.into(),
                settings.api_key.expose().into(),
            ),
            ("user-agent".into(), settings.api.user_agent.into()),
        ],
        body,
    }
}

/// The response after the transport- and HTTP-level checks (auth, status).
fn checked(response: Result<Response, HttpError>, settings: &Settings) -> Result<Response> {
    let response = response.map_err(|e| transport_error(e, settings))?;
    check_status(&response, settings.api.name)?;
    Ok(response)
}

fn transport_error(error: HttpError, settings: &Settings) -> Error {
    let origin = &settings.endpoint.origin;
    let api = settings.api.name;
    match &error {
        HttpError::Denied(reason) => Error::config(format!(
            "the host refused to let the connector reach {origin} ({reason}); \
             fix `base_url`, or ask the host's operator to allow it"
        )),
        HttpError::Timeout(_) => Error::transient(format!(
            "{api} at {origin} did not answer within the host's request timeout"
        ))
        .retry(Retry::Backoff(None)),
        HttpError::Transport(_) => Error::transient(format!("could not reach {api} at {origin}"))
            .retry(Retry::Backoff(None)),
        HttpError::TooLarge(cap) => Error::system(format!(
            "a response from {api} exceeded the host's response size cap of {cap} bytes; \
             lower `page_size` or raise the cap"
        )),
        HttpError::NotUtf8(_) => Error::system(format!("a response from {api} is not UTF-8 text"))
            .retry(Retry::Malformed),
    }
    .with_internal(error.to_string())
}

fn check_status(response: &Response, api: &str) -> Result<()> {
    let status = response.status;
    let retry_after = || {
        response
            .header("retry-after")
            .and_then(crate::time::retry_after_ms)
    };
    let error = match status {
        200..=299 => return Ok(()),
        401 | 403 => Error::config(format!(
            "{api} rejected the API key (HTTP {status}); check `api_key`: it must be a \
             server API key of the environment to sync"
        )),
        429 => Error::transient(format!("{api}'s rate limit was hit (HTTP 429)"))
            .retry(Retry::RateLimited(retry_after())),
        408 | 500..=599 => Error::transient(format!("{api} answered HTTP {status}"))
            .retry(Retry::Backoff(retry_after())),
        _ => Error::system(format!(
            "{api} answered HTTP {status} to the connector's query"
        )),
    };
    Err(error.with_internal(excerpt(&response.body)))
}

/// Sends the query and parses the page: one attempt, errors classified for retry.
pub fn fetch_page(
    http: &mut dyn Http,
    settings: &Settings,
    query: &str,
    variables: &Value,
    root: Root,
) -> Result<Page> {
    Page::parse_root(fetch_body(http, settings, query, variables)?, root)
}

/// Sends the query: one attempt; the body of a 2xx answer.
pub fn fetch_body(
    http: &mut dyn Http,
    settings: &Settings,
    query: &str,
    variables: &Value,
) -> Result<String> {
    let response = http.send(&request(settings, query, variables));
    Ok(checked(response, settings)?.body)
}

/// Sends one query per `variables` at once (as the host allows) and parses each
/// page: one attempt each, results in order.
pub fn fetch_pages(
    http: &mut dyn Http,
    settings: &Settings,
    query: &str,
    variables: &[Value],
    root: Root,
) -> Vec<Result<Page>> {
    let requests: Vec<Request> = variables
        .iter()
        .map(|v| request(settings, query, v))
        .collect();
    http.send_all(&requests)
        .into_iter()
        .map(|response| Page::parse_root(checked(response, settings)?.body, root))
        .collect()
}
