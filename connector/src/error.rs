//! Errors as Airbyte classifies them: whose fault, and whether trying again may help.

use std::fmt;

/// Airbyte's `failure_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureType {
    /// The user must fix something: the config, the key, the catalog, the state.
    Config,
    /// Stigg or the network failed in a way that may pass.
    Transient,
    /// Anything else: an unexpected response, a connector bug.
    System,
}

impl FailureType {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureType::Config => "config_error",
            FailureType::Transient => "transient_error",
            FailureType::System => "system_error",
        }
    }
}

/// An error for people: `message` says what happened and what to do;
/// `internal` carries the technical detail (an excerpt of a response, say).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub failure_type: FailureType,
    pub message: String,
    pub internal: Option<String>,
}

impl Error {
    pub fn new(failure_type: FailureType, message: impl Into<String>) -> Self {
        Error {
            failure_type,
            message: message.into(),
            internal: None,
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
