//! The two capabilities the connector core needs from whoever runs it: an HTTP
//! client and a message sink. The wasm binding implements them over the WIT
//! imports; tests and native builds implement them directly.

/// HTTP methods the connector uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

/// One HTTP request.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// A complete HTTP response (header names in lower case).
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
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

/// Why a request got no response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    /// Refused by the host (allow-list, malformed URL). Not retryable.
    Denied(String),
    /// Connect or read timed out.
    Timeout(String),
    /// DNS, TCP, TLS or a dropped connection.
    Transport(String),
    /// The body exceeded the host's cap (bytes).
    TooLarge(u64),
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HttpError::Denied(m) => write!(f, "request refused by the host: {m}"),
            HttpError::Timeout(m) => write!(f, "request timed out: {m}"),
            HttpError::Transport(m) => write!(f, "connection failed: {m}"),
            HttpError::TooLarge(cap) => {
                write!(f, "response larger than the host's cap of {cap} bytes")
            }
        }
    }
}

/// Sends HTTP requests.
pub trait Http {
    fn send(&mut self, request: &Request) -> Result<Response, HttpError>;

    /// Sends several requests, at once if the implementation can; one result
    /// per request, in order.
    fn send_all(&mut self, requests: &[Request]) -> Vec<Result<Response, HttpError>> {
        requests.iter().map(|r| self.send(r)).collect()
    }
}

/// Receives Airbyte messages, one JSON object per call, in order.
pub trait Sink {
    fn emit(&mut self, message: &str);
}

impl Sink for Vec<String> {
    fn emit(&mut self, message: &str) {
        self.push(message.to_owned());
    }
}
