//! Airbyte source for Stigg: declarations only. The [`STIGG`] API (endpoint,
//! auth header, check query) and its streams (`streams/`, one file each);
//! the `graphql-source` engine does the rest, and exports the WIT world when
//! built for wasm32-wasip2.

pub mod streams;

use graphql_source::io::{Http, Sink};
use graphql_source::pace::RateLimits;
use graphql_source::{Api, Outcome};

/// What `check` sends: the cheapest authenticated query, one customer id.
pub const CHECK_QUERY: &str = "query Check { customers(paging: {first: 1}) \
    { edges { node { id } } pageInfo { hasNextPage endCursor } } }";

pub static STIGG: Api = Api {
    name: "Stigg",
    // The connector's page; a release builds with its own (metadata.yaml's documentationUrl).
    documentation_url: match option_env!("STIGG_DOCUMENTATION_URL") {
        Some(url) => url,
        None => "https://github.com/source-stigg-wasm/source-stigg-wasm/blob/main/docs/stigg.md",
    },
    default_base_url: "https://api.stigg.io/graphql",
    key_header: "x-api-key",
    key_description: "A server API key of the Stigg environment to sync \
        (Stigg app: Integrations > API keys).",
    user_agent: concat!("source-stigg-wasm/", env!("CARGO_PKG_VERSION")),
    check_query: CHECK_QUERY,
    check_root_field: "customers",
    streams: streams::ALL,
    children: streams::CHILDREN,
    per_parent: streams::PER_PARENT,
    introspection: true,
    activity: streams::ACTIVITY,
    rate_limits: RateLimits {
        // "Most reads": Stigg's in-app read operations; the listed ones are lower.
        window_seconds: 60,
        default_limit: 3000,
        per_operation: &[
            ("subscriptions", 1500),
            ("coupons", 500),
            ("creditGrants", 500),
            ("creditsLedger", 500),
        ],
        source: "https://docs.stigg.io/api-and-sdks/integration/graphql/rate-limits",
    },
};

#[cfg(target_family = "wasm")]
graphql_source::export_source!(STIGG);

/// Emits the SPEC.
pub fn spec(sink: &mut dyn Sink) -> Outcome {
    STIGG.spec(sink)
}

/// The origins the config needs to reach (for the host's allow-list).
pub fn allowed_origins(config: &str) -> Result<Vec<String>, String> {
    STIGG.allowed_origins(config)
}

/// Emits CONNECTION_STATUS.
pub fn check(http: &mut dyn Http, sink: &mut dyn Sink, config: &str) -> Outcome {
    STIGG.check(http, sink, config)
}

/// Emits the CATALOG.
pub fn discover(sink: &mut dyn Sink, config: &str) -> Outcome {
    STIGG.discover(sink, config)
}

/// Reads the configured catalog's streams.
pub fn read(
    http: &mut dyn Http,
    sink: &mut dyn Sink,
    config: &str,
    catalog: &str,
    state: Option<&str>,
) -> Outcome {
    STIGG.read(http, sink, config, catalog, state)
}
