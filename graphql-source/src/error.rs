//! Errors as Airbyte classifies them: whose fault, and whether trying again may help.

use std::fmt;

pub use connector_io::FailureType;

/// An error for people: `message` says what happened and what to do;
/// `internal` carries the technical detail (an excerpt of a response, say).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub failure_type: FailureType,
    pub message: String,
    pub internal: Option<String>,
    /// Whether sending the same request again may succeed.
    pub retry: Retry,
}

/// How a failed request may be tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Never: trying again gives the same answer.
    No,
    /// After the server's `Retry-After` (ms) or a backoff: server errors, timeouts, dropped connections.
    Backoff(Option<u64>),
    /// Rate limited: after the server's `Retry-After` (ms), or a backoff that reaches minutes.
    RateLimited(Option<u64>),
    /// A malformed answer (truncated body, unexpected GraphQL error): a few times only.
    Malformed,
    /// The server refused the page size (`paging.first`): the same request
    /// with fewer rows may pass; the server's maximum, if it said one.
    SmallerPage(Option<u32>),
}

impl Error {
    pub fn new(failure_type: FailureType, message: impl Into<String>) -> Self {
        Error {
            failure_type,
            message: message.into(),
            internal: None,
            retry: Retry::No,
        }
    }

    pub fn config(message: impl Into<String>) -> Self {
        Self::new(FailureType::Config, message)
    }

    pub fn transient(message: impl Into<String>) -> Self {
        Self::new(FailureType::Transient, message)
    }

    pub fn system(message: impl Into<String>) -> Self {
        Self::new(FailureType::System, message)
    }

    pub fn with_internal(mut self, internal: impl Into<String>) -> Self {
        self.internal = Some(internal.into());
        self
    }

    pub fn retry(mut self, retry: Retry) -> Self {
        self.retry = retry;
        self
    }

    /// Prefixes the message with where it happened.
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;
