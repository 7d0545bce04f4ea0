//! Stigg's rate limits: a sliding window per operation (GraphQL root field)
//! per API key, answered with HTTP 429, Stigg's body and no `Retry-After`
//! (https://docs.stigg.io/api-and-sdks/integration/graphql/rate-limits).
//!
//! The window lasts 60 s × `scale`, and the limits stay Stigg's counts: at
//! scale 0.01 `subscriptions` allows 1,500 calls per 0.6 s. A client that
//! paces by the minute therefore stands for Stigg's limits at `limit / scale`
//! calls a minute. The stand-in accepts one API key, so "per API key" is one
//! set of windows.
//!
//! A refused call is not recorded in the window (a sliding log that counts
//! what it served): a client that retries still gets in once the window
//! has slid.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// Calls a minute by operation, from Stigg's docs (above); the rest allow
/// [`DEFAULT_LIMIT`]. The same figures as the connector's table.
pub const STIGG_LIMITS: &[(&str, u32)] = &[
    ("subscriptions", 1500),
    ("coupons", 500),
    ("creditGrants", 500),
    ("creditsLedger", 500),
];
/// "Most reads".
pub const DEFAULT_LIMIT: u32 = 3000;

/// Stigg's documented 429 body (documented for the Edge API; the GraphQL
/// API's own 429 body is not documented, so the stand-in answers the same).
pub const RATE_LIMITED_BODY: &str =
    r#"{"error":"rate_limit_exceeded","message":"Too many requests"}"#;

/// How the stand-in enforces rate limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateLimitConfig {
    /// The window is 60 s × `scale`; the limits are calls per window.
    pub scale: f64,
    /// Calls per window by operation over Stigg's table; `*` for every
    /// operation not named.
    #[serde(default)]
    pub limits: BTreeMap<String, u32>,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            scale: 1.0,
            limits: BTreeMap::new(),
        }
    }
}

impl RateLimitConfig {
    /// Stigg's limits in a window of 60 s × `scale`.
    pub fn scaled(scale: f64) -> Self {
        RateLimitConfig {
            scale,
            ..Default::default()
        }
    }

    /// Overrides the limit of `operation` (`*`: every one not named).
    pub fn with_limit(mut self, operation: &str, calls: u32) -> Self {
        self.limits.insert(operation.to_owned(), calls);
        self
    }

    /// Calls `operation` may make per window.
    pub fn limit(&self, operation: &str) -> u32 {
        self.limits
            .get(operation)
            .or_else(|| self.limits.get("*"))
            .copied()
            .unwrap_or_else(|| {
                STIGG_LIMITS
                    .iter()
                    .find(|(name, _)| *name == operation)
                    .map_or(DEFAULT_LIMIT, |(_, limit)| *limit)
            })
    }

    pub fn window(&self) -> Duration {
        // The CLI refuses a scale that is not above 0; a config built in
        // code could still hold one, and must not panic here.
        let seconds = 60.0 * self.scale;
        match seconds.is_finite() {
            true => Duration::from_secs_f64(seconds.clamp(0.001, 1e9)),
            false => Duration::from_secs(60),
        }
    }

    /// What a client pacing by the minute must set to match `operation`'s
    /// limit here: calls per window over the window in minutes.
    pub fn per_minute(&self, operation: &str) -> f64 {
        f64::from(self.limit(operation)) / self.scale
    }
}

/// The windows: when each recent call of each operation was served.
#[derive(Debug)]
pub struct RateLimiter {
    config: RateLimitConfig,
    calls: HashMap<String, VecDeque<Instant>>,
}

impl RateLimiter {
    pub fn new(config: RateLimitConfig) -> Self {
        RateLimiter {
            config,
            calls: HashMap::new(),
        }
    }

    pub fn config(&self) -> &RateLimitConfig {
        &self.config
    }

    /// Calls of `operation` still in the window at `now`.
    fn in_window(&mut self, operation: &str, now: Instant) -> &mut VecDeque<Instant> {
        let window = self.config.window();
        let calls = self.calls.entry(operation.to_owned()).or_default();
        while calls
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= window)
        {
            calls.pop_front();
        }
        calls
    }

    /// Room left for `operation` at `now`.
    pub fn room(&mut self, operation: &str, now: Instant) -> u32 {
        let limit = self.config.limit(operation);
        let used = self.in_window(operation, now).len();
        limit.saturating_sub(u32::try_from(used).unwrap_or(u32::MAX))
    }

    /// A request selecting `operations`: served (each records a call) when
    /// every one has room; otherwise the operations that had none, and
    /// nothing is recorded.
    pub fn admit(&mut self, operations: &[String], now: Instant) -> Result<(), Vec<String>> {
        let full: Vec<String> = operations
            .iter()
            .filter(|op| self.room(op, now) == 0)
            .cloned()
            .collect();
        if !full.is_empty() {
            return Err(full);
        }
        for op in operations {
            self.in_window(op, now).push_back(now);
        }
        Ok(())
    }

    /// Another client's `n` calls of `operation` at `now`; how many fit.
    pub fn spend(&mut self, operation: &str, n: u32, now: Instant) -> u32 {
        let fit = self.room(operation, now).min(n);
        let calls = self.in_window(operation, now);
        calls.extend(std::iter::repeat_n(now, fit as usize));
        fit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stigg_s_table_and_overrides() {
        let stigg = RateLimitConfig::default();
        assert_eq!(
            (stigg.limit("subscriptions"), stigg.limit("customers")),
            (1500, 3000)
        );
        let custom = RateLimitConfig::scaled(0.5)
            .with_limit("*", 10)
            .with_limit("plans", 4);
        assert_eq!(
            (custom.limit("subscriptions"), custom.limit("plans")),
            (10, 4)
        );
        assert_eq!(custom.window(), Duration::from_secs(30));
        assert_eq!(custom.per_minute("plans"), 8.0);
    }

    #[test]
    fn a_request_needs_room_in_every_operation_it_selects() {
        let mut limiter = RateLimiter::new(RateLimitConfig::default().with_limit("*", 2));
        let t0 = Instant::now();
        let both = ["plans".to_owned(), "addons".to_owned()];
        assert_eq!(limiter.spend("plans", 1, t0), 1);
        assert_eq!(limiter.admit(&both, t0), Ok(()));
        assert_eq!(limiter.admit(&both, t0), Err(vec!["plans".to_owned()]));
        // The refused request recorded nothing: `addons` has one call left.
        assert_eq!(limiter.room("addons", t0), 1);
        let later = t0 + Duration::from_secs(60);
        assert_eq!(limiter.admit(&both, later), Ok(()));
    }
}
