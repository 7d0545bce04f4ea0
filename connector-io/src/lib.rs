//! The two capabilities a connector needs from whoever runs it, and the types
//! they carry: an HTTP client ([`Http`]) and a message sink ([`Sink`]).
//!
//! They mirror `airbyte:connector/http` and `sink` in `wit/connector.wit`.
//! The connector is written against these traits, so it runs as a component
//! (its WIT binding implements them over the imports), natively (the host's
//! HTTP client implements [`Http`]), and in unit tests (fakes).

use std::fmt;

pub mod secret;

/// HTTP methods a connector may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
        }
    }
}

/// One HTTP request; `url` is absolute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    /// Text (JSON for a GraphQL API); empty for none.
    pub body: String,
}

/// A complete HTTP response; header names in lower case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    /// The first header of that (lower-case) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Why a request got no response. The strings say what happened, for people;
/// they name the URL, never the headers (which carry credentials).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    /// Refused by the host (allow-list, network policy, malformed URL). Not retryable.
    Denied(String),
    /// Connecting or reading took longer than the host's timeout.
    Timeout(String),
    /// DNS, TCP, TLS or a dropped connection.
    Transport(String),
    /// The body exceeded the host's cap (bytes).
    TooLarge(u64),
    /// The body is not UTF-8 text.
    NotUtf8(String),
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Denied(m) => write!(f, "request refused by the host: {m}"),
            Self::Timeout(m) => write!(f, "request timed out: {m}"),
            Self::Transport(m) => write!(f, "connection failed: {m}"),
            Self::TooLarge(cap) => write!(f, "response larger than the host's cap of {cap} bytes"),
            Self::NotUtf8(m) => write!(f, "response body is not UTF-8: {m}"),
        }
    }
}

impl std::error::Error for HttpError {}

/// Sends HTTP requests.
pub trait Http {
    fn send(&mut self, request: &Request) -> Result<Response, HttpError>;

    /// Sends several independent requests, at once if the implementation
    /// can; one result per request, in order.
    fn send_all(&mut self, requests: &[Request]) -> Vec<Result<Response, HttpError>> {
        requests.iter().map(|r| self.send(r)).collect()
    }
}

/// Airbyte's `failure_type` of a TRACE ERROR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureType {
    /// The user must fix something: the config, the key, the catalog, the state.
    Config,
    /// The API or the network failed in a way that may pass.
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

/// What a message is, as far as a host acts on it (`sink.batch-end` in the WIT).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Record,
    State,
    /// A TRACE ERROR.
    Error(FailureType),
    /// LOG, TRACE (status, estimate), SPEC, CATALOG, CONNECTION_STATUS.
    Other,
}

/// One Airbyte message: its JSON text, on one line, and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub line: String,
    pub kind: Kind,
}

/// Receives Airbyte messages, in order.
pub trait Sink {
    fn emit(&mut self, message: &Message);

    /// Receives a RECORD's line. A sink may hold records back to pass
    /// several on at once, never past a message of another kind.
    fn record(&mut self, line: &str);
}

impl Sink for Vec<String> {
    fn emit(&mut self, message: &Message) {
        self.push(message.line.clone());
    }

    fn record(&mut self, line: &str) {
        self.push(line.to_owned());
    }
}

/// About how many bytes of RECORDs [`Lines`] passes on at once: a page or so.
pub const BATCH_BYTES: usize = 64 * 1024;

/// A [`Sink`] that passes messages on as lines (`sink.emit` in the WIT), with
/// what each batch ends with: RECORDs in batches of about `batch_bytes`, and
/// each other message ending its batch, so every batch ends where a runner
/// may act. A call costs more than its copy in some hosts (wasmtime-py, jco):
/// one per record made them several times slower than the Rust host.
pub struct Lines<F: FnMut(&str, Kind)> {
    lines: String,
    batch_bytes: usize,
    out: F,
}

impl<F: FnMut(&str, Kind)> Lines<F> {
    pub fn new(batch_bytes: usize, out: F) -> Self {
        Self {
            lines: String::new(),
            batch_bytes,
            out,
        }
    }

    /// Passes on the RECORDs the batch holds.
    pub fn flush(&mut self) {
        self.pass(Kind::Record);
    }

    fn pass(&mut self, end: Kind) {
        if !self.lines.is_empty() {
            (self.out)(&self.lines, end);
            self.lines.clear();
        }
    }

    fn push(&mut self, line: &str) {
        self.lines.push_str(line);
        self.lines.push('\n');
    }
}

impl<F: FnMut(&str, Kind)> Sink for Lines<F> {
    fn emit(&mut self, message: &Message) {
        self.push(&message.line);
        self.pass(message.kind);
    }

    fn record(&mut self, line: &str) {
        self.push(line);
        if self.lines.len() >= self.batch_bytes {
            self.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_go_in_batches_that_any_other_message_ends_and_names() {
        let mut calls = Vec::new();
        let mut lines = Lines::new(20, |text: &str, end| calls.push((text.to_owned(), end)));
        let message = |line: &str, kind| Message {
            line: line.into(),
            kind,
        };
        lines.record("r1-----");
        lines.record("r2-----");
        lines.record("r3-----"); // 24 bytes: the batch is full
        lines.record("r4");
        lines.emit(&message("STATE", Kind::State));
        lines.emit(&message("ERR", Kind::Error(FailureType::Config)));
        lines.record("r5");
        lines.flush();
        lines.flush();
        let text = |s: &str| s.to_owned();
        assert_eq!(
            calls,
            [
                (text("r1-----\nr2-----\nr3-----\n"), Kind::Record),
                (text("r4\nSTATE\n"), Kind::State),
                (text("ERR\n"), Kind::Error(FailureType::Config)),
                (text("r5\n"), Kind::Record),
            ]
        );
    }
}
