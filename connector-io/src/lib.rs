//! The two capabilities a connector needs from whoever runs it, and the types
//! they carry: an HTTP client ([`Http`]) and a message sink ([`Sink`]).
//!
//! They mirror `airbyte:connector/http` and `sink` in `wit/connector.wit`.
//! The connector is written against these traits, so it runs as a component
//! (its WIT binding implements them over the imports), natively (the host's
//! HTTP client implements [`Http`]), and in unit tests (fakes).

use std::fmt;

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

/// Receives Airbyte messages, one JSON object per call, in order.
pub trait Sink {
    fn emit(&mut self, message: &str);

    /// Receives a RECORD. A sink may hold records back to pass several on
    /// at once, never past a message of another type.
    fn record(&mut self, message: &str) {
        self.emit(message);
    }
}

impl Sink for Vec<String> {
    fn emit(&mut self, message: &str) {
        self.push(message.to_owned());
    }
}

/// A [`Sink`] that passes messages on as lines (`sink.emit` in the WIT):
/// RECORDs in batches of about `batch_bytes`, and each other message ending
/// its batch, so every batch ends where a runner may act. A call costs more
/// than its copy in some hosts (wasmtime-py, jco): one per record made them
/// several times slower than the Rust host.
pub struct Lines<F: FnMut(&str)> {
    lines: String,
    batch_bytes: usize,
    out: F,
}

impl<F: FnMut(&str)> Lines<F> {
    pub fn new(batch_bytes: usize, out: F) -> Self {
        Self {
            lines: String::new(),
            batch_bytes,
            out,
        }
    }

    /// Passes on what the batch holds.
    pub fn flush(&mut self) {
        if !self.lines.is_empty() {
            (self.out)(&self.lines);
            self.lines.clear();
        }
    }

    fn push(&mut self, message: &str) {
        self.lines.push_str(message);
        self.lines.push('\n');
    }
}

impl<F: FnMut(&str)> Sink for Lines<F> {
    fn emit(&mut self, message: &str) {
        self.push(message);
        self.flush();
    }

    fn record(&mut self, message: &str) {
        self.push(message);
        if self.lines.len() >= self.batch_bytes {
            self.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_go_in_batches_that_any_other_message_ends() {
        let mut calls = Vec::new();
        let mut lines = Lines::new(20, |text: &str| calls.push(text.to_owned()));
        lines.record("r1-----");
        lines.record("r2-----");
        lines.record("r3-----"); // 24 bytes: the batch is full
        lines.record("r4");
        lines.emit("STATE");
        lines.record("r5");
        lines.flush();
        lines.flush();
        assert_eq!(
            calls,
            ["r1-----\nr2-----\nr3-----\n", "r4\nSTATE\n", "r5\n"]
        );
    }
}
