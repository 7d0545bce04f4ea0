//! What an operator can tune for one run, so the CLI and embedders pass one
//! struct through.

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Duration;

use crate::allowlist::OriginOverrides;
use crate::network_policy::NetworkPolicy;

/// Resource limits for one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Deadline for one HTTP request: connecting, sending and reading the
    /// whole response.
    pub request_timeout: Duration,
    /// Largest response body accepted; a larger one is `too-large`.
    pub max_response_bytes: u64,
    /// Cap on the component's linear memory, all its memories together.
    pub max_memory_mib: u32,
    /// CPU time one call into the component may use (see `deadline`).
    pub cpu_deadline: Duration,
}

impl Limits {
    pub const DEFAULT_TIMEOUT_SECS: u64 = 30;
    pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 64 * 1024 * 1024;
    pub const DEFAULT_MAX_MEMORY_MIB: u32 = 256;
    /// wasm32 addresses 4 GiB at most.
    pub const MAX_MEMORY_MIB: u32 = 4096;
    pub const DEFAULT_CPU_DEADLINE_SECS: u64 = 300;
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(Self::DEFAULT_TIMEOUT_SECS),
            max_response_bytes: Self::DEFAULT_MAX_RESPONSE_BYTES,
            max_memory_mib: Self::DEFAULT_MAX_MEMORY_MIB,
            cpu_deadline: Duration::from_secs(Self::DEFAULT_CPU_DEADLINE_SECS),
        }
    }
}

/// Where compiled components are cached.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum CachePolicy {
    /// `$XDG_CACHE_HOME/component-host` or `~/.cache/component-host`.
    #[default]
    UserCacheDir,
    /// This directory (created if missing).
    Dir(PathBuf),
    /// Compile on every run.
    Disabled,
}

/// Where a run's HTTP requests go.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Exchanges {
    /// The network.
    #[default]
    Network,
    /// The network, each exchange recorded in this directory, secrets
    /// masked (see `recording`).
    Record(PathBuf),
    /// No network: answered from the recording in this directory.
    Replay(PathBuf),
}

impl Exchanges {
    /// From a command line's `--record DIR` and `--replay DIR` (which it
    /// should not take together: `--record` wins).
    pub fn from_flags(record: Option<&PathBuf>, replay: Option<&PathBuf>) -> Self {
        match (record, replay) {
            (Some(dir), _) => Exchanges::Record(dir.clone()),
            (None, Some(dir)) => Exchanges::Replay(dir.clone()),
            (None, None) => Exchanges::Network,
        }
    }
}

/// Everything about a run except the component and the command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOptions {
    pub limits: Limits,
    /// The operator's changes to the component's allow-list.
    pub origins: OriginOverrides,
    /// Which addresses may be connected to: public ones only, by default.
    pub network: NetworkPolicy,
    pub cache: CachePolicy,
    /// Say on stderr what the host does (cache hits and misses...).
    pub verbose: bool,
    /// How many HTTP requests `read` keeps in flight in all: as many
    /// streams at once, each in its own component instance (see
    /// `concurrent`), and a component's `send-all` batches share the same
    /// slots. 1 reads the whole catalog in one instance, one request at a time.
    pub concurrency: NonZeroUsize,
    pub exchanges: Exchanges,
    /// A DEBUG LOG for each HTTP exchange (see `transport::Debugging`).
    pub debug: bool,
}

impl RunOptions {
    /// Two requests in flight: at an API's usual latencies that stays well
    /// under per-minute rate limits (1,500 a minute, say); connectors back off
    /// on HTTP 429 themselves.
    pub const DEFAULT_CONCURRENCY: NonZeroUsize = NonZeroUsize::new(2).unwrap();
    /// `--concurrency N`: a whole number from 1 to [`Self::MAX_CONCURRENCY`].
    pub fn parse_concurrency(text: &str) -> Result<NonZeroUsize, String> {
        let max = Self::MAX_CONCURRENCY;
        text.parse::<NonZeroUsize>()
            .ok()
            .filter(|n| n.get() <= max)
            .ok_or_else(|| format!("expected a whole number from 1 to {max}"))
    }

    /// More instances than this would mostly add memory (each has its own
    /// memory cap) and load on the API.
    pub const MAX_CONCURRENCY: usize = 16;
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            origins: OriginOverrides::default(),
            network: NetworkPolicy::default(),
            cache: CachePolicy::default(),
            verbose: false,
            concurrency: Self::DEFAULT_CONCURRENCY,
            exchanges: Exchanges::Network,
            debug: false,
        }
    }
}
