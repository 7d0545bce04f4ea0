//! How a stand-in is set up.

use serde::{Deserialize, Serialize};

use crate::faults::FaultRule;
use crate::limits::RateLimitConfig;

/// How a request with a missing or wrong `X-API-KEY` is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum BadKeyMode {
    /// HTTP 401 with an UNAUTHENTICATED error body.
    #[default]
    Http401,
    /// HTTP 200 with an UNAUTHENTICATED GraphQL error and `"data": null`.
    GraphqlError200,
}

#[derive(Debug, Clone)]
pub struct StandinConfig {
    /// The value `X-API-KEY` must have.
    pub api_key: String,
    pub customers: usize,
    pub subscriptions_per_customer: usize,
    /// Same seed, same data.
    pub seed: u64,
    pub bad_key_mode: BadKeyMode,
    /// Added to every /graphql request.
    pub latency_ms: u64,
    /// The largest `first`/`last` accepted.
    pub max_page_size: usize,
    /// Fault rules installed from the start.
    pub faults: Vec<FaultRule>,
    /// 0 picks a free port.
    pub port: u16,
    /// Stigg's rate limits, enforced (see `limits`); `None`: unlimited.
    pub rate_limits: Option<RateLimitConfig>,
}

impl Default for StandinConfig {
    fn default() -> Self {
        StandinConfig {
            api_key: String::from("standin-api-key"),
            customers: 100,
            subscriptions_per_customer: 2,
            seed: 42,
            bad_key_mode: BadKeyMode::Http401,
            latency_ms: 0,
            max_page_size: 1000,
            faults: Vec::new(),
            port: 0,
            rate_limits: None,
        }
    }
}
