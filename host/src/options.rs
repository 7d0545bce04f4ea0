//! What an operator can tune for one run. New limits (memory cap, CPU
//! deadline, compiled-component cache, concurrency) belong here, so the CLI
//! and embedders pass one struct through.

use std::time::Duration;

use crate::allowlist::OriginOverrides;

/// Resource limits for one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Deadline for one HTTP request: connecting, sending and reading the
    /// whole response.
    pub request_timeout: Duration,
    /// Largest response body accepted; a larger one is `too-large`.
    pub max_response_bytes: u64,
}

impl Limits {
    pub const DEFAULT_TIMEOUT_SECS: u64 = 30;
    pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 64 * 1024 * 1024;
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(Self::DEFAULT_TIMEOUT_SECS),
            max_response_bytes: Self::DEFAULT_MAX_RESPONSE_BYTES,
        }
    }
}

/// Everything about a run except the component and the command.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunOptions {
    pub limits: Limits,
    /// The operator's changes to the component's allow-list.
    pub origins: OriginOverrides,
}
