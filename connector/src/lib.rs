//! Airbyte source for Stigg.
//!
//! The core is plain Rust over two capabilities ([`io::Http`], [`io::Sink`]) so it
//! runs anywhere: as a WebAssembly component (the `wasm` module binds it to the
//! WIT world in `wit/`), natively, and in unit tests.

pub mod catalog;
pub mod config;
pub mod error;
pub mod graphql;
pub mod io;
pub mod messages;
pub mod partition;
pub mod position;
pub mod read;
pub mod redact;
pub mod retry;
pub mod state;
pub mod streams;
pub mod time;

#[cfg(target_family = "wasm")]
mod wasm;

use serde_json::json;

use config::{
    Config, DEFAULT_BASE_URL, DEFAULT_MAX_RETRY_SECONDS, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE,
    MAX_RETRY_SECONDS,
};
use error::Error;
use io::{Http, Sink};
use redact::Redactor;

pub const DOCUMENTATION_URL: &str = "https://docs.stigg.io/docs/graphql-api";

/// What a failed command reports to its caller: the TRACE ERROR is already emitted.
pub type Outcome = Result<(), String>;

/// Emits the SPEC.
pub fn spec(sink: &mut dyn Sink) -> Outcome {
    sink.emit(&messages::spec(
        connection_specification(),
        DOCUMENTATION_URL,
    ));
    Ok(())
}

fn connection_specification() -> serde_json::Value {
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "Stigg Source Spec",
        "type": "object",
        "required": ["api_key"],
        "additionalProperties": true,
        "properties": {
            "api_key": {
                "type": "string",
                "title": "API Key",
                "description": "A server API key of the Stigg environment to sync (Stigg app: Integrations > API keys).",
                "airbyte_secret": true,
                "order": 0,
            },
            "start_date": {
                "type": "string",
                "title": "Start date",
                "description": "Incremental streams read rows updated at or after this UTC date on their first sync. Empty: all rows.",
                "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2}))?$",
                "examples": ["2024-01-31", "2024-01-31T00:00:00Z"],
                "order": 1,
            },
            "page_size": {
                "type": "integer",
                "title": "Page size",
                "description": "Rows per GraphQL request.",
                "default": DEFAULT_PAGE_SIZE,
                "minimum": 1,
                "maximum": MAX_PAGE_SIZE,
                "order": 2,
            },
            "max_retry_seconds": {
                "type": "integer",
                "title": "Retry budget (seconds)",
                "description": "How long one request may be retried in all (rate limits, server errors) before the sync fails. 0 turns retries off.",
                "default": DEFAULT_MAX_RETRY_SECONDS,
                "minimum": 0,
                "maximum": MAX_RETRY_SECONDS,
                "order": 3,
            },
            "base_url": {
                "type": "string",
                "title": "API URL",
                "description": "Stigg's GraphQL endpoint. Change it only for a proxy or a test server.",
                "default": DEFAULT_BASE_URL,
                "format": "uri",
                "order": 4,
            },
        },
    })
}

/// The origins the config needs to reach (for the host's allow-list).
pub fn allowed_origins(config: &str) -> Result<Vec<String>, String> {
    Config::parse(config)
        .map(|c| vec![c.endpoint.origin])
        .map_err(|e| e.message)
}

/// Emits CONNECTION_STATUS: SUCCEEDED when one authenticated query works.
pub fn check(http: &mut dyn Http, sink: &mut dyn Sink, config: &str) -> Outcome {
    let result = Config::parse(config).and_then(|config| {
        let redactor = Redactor::new(&config);
        probe(http, &config).map_err(|e| redactor.error(&e))
    });
    let message = result.as_ref().err().map(|e| match e.failure_type {
        error::FailureType::Config => e.message.clone(),
        _ => format!(
            "{} ({})",
            e.message,
            e.internal.as_deref().unwrap_or("no detail")
        ),
    });
    sink.emit(&messages::connection_status(
        message.as_deref().map_or(Ok(()), Err),
    ));
    Ok(())
}

/// What `check` sends: the cheapest authenticated query, one customer id.
pub const CHECK_QUERY: &str = "query Check { customers(paging: {first: 1}) \
    { edges { node { id } } pageInfo { hasNextPage endCursor } totalCount } }";

fn probe(http: &mut dyn Http, config: &Config) -> Result<(), Error> {
    let fetch = || graphql::fetch_page(http, config, CHECK_QUERY, &json!({}), "customers");
    let pause = |wait: &retry::Wait<'_>| {
        std::thread::sleep(std::time::Duration::from_millis(wait.delay_ms))
    };
    let policy = retry::RetryPolicy::checking(config.max_retry_seconds);
    retry::run(&policy, fetch, pause).map(|_| ())
}

/// Emits the CATALOG. The streams are fixed, so the config is only validated.
pub fn discover(sink: &mut dyn Sink, config: &str) -> Outcome {
    if let Err(e) = Config::parse(config) {
        return fail(sink, &e);
    }
    let streams = streams::ALL
        .iter()
        .map(|s| catalog::airbyte_stream(s))
        .collect();
    sink.emit(&messages::catalog(streams));
    Ok(())
}

/// Reads the configured catalog's streams.
pub fn read(
    http: &mut dyn Http,
    sink: &mut dyn Sink,
    config: &str,
    catalog: &str,
    state: Option<&str>,
) -> Outcome {
    let config = match Config::parse(config) {
        Ok(config) => config,
        Err(e) => return fail(sink, &e),
    };
    let redactor = Redactor::new(&config);
    let inputs = catalog::parse_configured(catalog)
        .and_then(|selected| Ok((selected, state::parse_input(state)?)));
    let (selected, states) = match inputs {
        Ok(inputs) => inputs,
        Err(e) => return fail(sink, &redactor.error(&e)),
    };
    let mut reader = read::Reader {
        http,
        sink,
        config: &config,
        redactor: &redactor,
    };
    reader
        .read_all(&selected, &states)
        .map_err(|e| redactor.error(&e).message)
}

/// Emits a TRACE ERROR and returns its message.
fn fail(sink: &mut dyn Sink, error: &Error) -> Outcome {
    sink.emit(&messages::error(error, None));
    Err(error.message.clone())
}
