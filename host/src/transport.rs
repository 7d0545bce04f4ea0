//! The HTTP capability's seam. A [`Transport`] sends one request and reads
//! the whole response; a decorator adds one rule around another transport, as
//! wasmtime-wasi-http's hooks do: [`AllowListed`] (only allow-listed origins,
//! well-formed headers) and [`InFlight`] (a bound on requests in flight,
//! adaptive). [`Network`] reaches the network under the network policy, which
//! lives in its DNS resolver (a name cannot resolve around it), so it is the
//! transport's rule rather than a decorator's. An embedder adds a recorder, a
//! replayer or a proxy by wrapping or replacing [`Network`]
//! (`HttpClient::over`); the allow-list and the bound still apply.

use std::io;
use std::num::NonZeroUsize;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use connector_io::{HttpError, Method, Request, Response};

use crate::allowlist::AllowList;
use crate::network_policy::{self, NetworkPolicy, PolicyResolver};
use crate::options::Limits;

/// Sends one request and reads the whole response. Shared by every thread
/// of a run.
pub trait Transport: Send + Sync {
    fn send(&self, request: &Request) -> Result<Response, HttpError>;
}

impl<T: Transport + ?Sized> Transport for Arc<T> {
    fn send(&self, request: &Request) -> Result<Response, HttpError> {
        (**self).send(request)
    }
}

/// The network, through ureq: the policy's resolver, no proxy from the
/// environment, no redirect followed, one deadline for the whole exchange,
/// bodies capped and decoded as UTF-8.
#[derive(Debug, Clone)]
pub struct Network {
    agent: ureq::Agent,
    max_response_bytes: u64,
}

impl Network {
    pub fn new(limits: &Limits, policy: NetworkPolicy) -> Self {
        Self {
            agent: agent(limits.request_timeout, policy),
            max_response_bytes: limits.max_response_bytes,
        }
    }

    fn dispatch(&self, request: &Request) -> Result<ureq::http::Response<ureq::Body>, ureq::Error> {
        let mut builder = ureq::http::Request::builder()
            .method(request.method.as_str())
            .uri(request.url.as_str());
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        // A GET without a body must not announce one (`content-length: 0`).
        if request.method == Method::Get && request.body.is_empty() {
            self.agent.run(builder.body(())?)
        } else {
            self.agent.run(builder.body(request.body.as_bytes())?)
        }
    }
}

impl Transport for Network {
    fn send(&self, request: &Request) -> Result<Response, HttpError> {
        let what = format!("{} {}", request.method.as_str(), request.url);
        let mut response = self
            .dispatch(request)
            .map_err(|e| classify(e, &what, Phase::Exchange))?;
        let status = response.status().as_u16();
        let headers = response_headers(response.headers());
        let bytes = response
            .body_mut()
            .with_config()
            .limit(self.max_response_bytes)
            .read_to_vec()
            .map_err(|e| match classify(e, &what, Phase::Body) {
                HttpError::TooLarge(_) => HttpError::TooLarge(self.max_response_bytes),
                other => other,
            })?;
        let body = String::from_utf8(bytes).map_err(|e| {
            HttpError::NotUtf8(format!(
                "{what}: HTTP {status}, invalid byte at offset {}",
                e.utf8_error().valid_up_to()
            ))
        })?;
        Ok(Response {
            status,
            headers,
            body,
        })
    }
}

/// Requests only to the allow-list's origins, with header names that are
/// tokens and values of visible ASCII; the request goes on with the URL as
/// the allow-list read it, so no other parser decides where it goes.
#[derive(Clone)]
pub struct AllowListed<T> {
    pub allow: AllowList,
    pub inner: T,
}

impl<T: Transport> Transport for AllowListed<T> {
    fn send(&self, request: &Request) -> Result<Response, HttpError> {
        let headers = request
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()));
        let url = self
            .allow
            .check_request(&request.url, headers)
            .map_err(|denial| HttpError::Denied(denial.to_string()))?;
        let checked = Request {
            method: request.method,
            url: url.to_string(),
            headers: request.headers.clone(),
            body: request.body.clone(),
        };
        self.inner.send(&checked)
    }
}

/// At most `max` requests in flight over every clone, adaptive below it:
/// a 429 halves the bound, and it grows back by one after each `limit`
/// answers without one (AIMD), so a server that throttles gets fewer
/// requests at once and one that keeps up gets the ceiling.
#[derive(Clone)]
pub struct InFlight<T> {
    gate: Arc<Gate>,
    inner: T,
}

impl<T> InFlight<T> {
    pub fn new(inner: T, max: NonZeroUsize) -> Self {
        Self {
            gate: Arc::new(Gate::new(max)),
            inner,
        }
    }

    /// The same transport with a bound of its own.
    pub fn with_max(self, max: NonZeroUsize) -> Self {
        Self::new(self.inner, max)
    }

    /// The ceiling: how many requests may be in flight at most.
    pub fn max(&self) -> usize {
        self.gate.max
    }
}

impl<T: Transport> Transport for InFlight<T> {
    fn send(&self, request: &Request) -> Result<Response, HttpError> {
        let _slot = self.gate.enter();
        let answer = self.inner.send(request);
        if let Ok(response) = &answer {
            self.gate.answered(response.status == 429);
        }
        answer
    }
}

/// A DEBUG LOG for each exchange (`--debug`): the operation and its
/// variables (the key travels in a header, which is not shown), then the
/// status, the body's size and the time taken, or the error. A retried
/// request shows once per attempt.
pub struct Debugging<T> {
    inner: T,
    out: crate::output::MessageWriter,
}

impl<T> Debugging<T> {
    pub fn new(inner: T, out: crate::output::MessageWriter) -> Self {
        Self { inner, out }
    }
}

impl<T: Transport> Transport for Debugging<T> {
    fn send(&self, request: &Request) -> Result<Response, HttpError> {
        let started = std::time::Instant::now();
        let answer = self.inner.send(request);
        let took = started.elapsed().as_millis();
        let outcome = match &answer {
            Ok(r) => format!("HTTP {}, {} bytes, {took} ms", r.status, r.body.len()),
            Err(e) => format!("{e}, after {took} ms"),
        };
        let line = format!(
            "{} {}{}: {outcome}",
            request.method.as_str(),
            request.url,
            operation(&request.body)
        );
        // Best effort: a closed output fails the run's own next write.
        let _ = self.out.share().emit(&crate::messages::log("DEBUG", &line));
        answer
    }
}

/// ` query Name variables {...}` of a GraphQL body, or nothing.
fn operation(body: &str) -> String {
    let Ok(body) = serde_json::from_str::<serde_json::Value>(body) else {
        return String::new();
    };
    let query = body["query"].as_str().unwrap_or_default();
    let name: String = query
        .split(['{', '('])
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    format!(" {name} variables {}", body["variables"])
}

/// The bound on requests in flight (see [`InFlight`]).
#[derive(Debug)]
/// The bound on requests in flight, adaptive below its ceiling (`max`,
/// `--concurrency`): a 429 halves it, and it grows back by one after each
/// `limit` answers without one (AIMD), so a server that throttles gets fewer
/// requests at once and one that keeps up gets the ceiling.
struct Gate {
    max: usize,
    state: Mutex<GateState>,
    freed: Condvar,
}

#[derive(Debug)]
struct GateState {
    inside: usize,
    limit: usize,
    /// Answers without a 429 since the limit last changed.
    calm: usize,
}

struct Slot<'g>(&'g Gate);

impl Gate {
    fn new(max: NonZeroUsize) -> Self {
        Self {
            max: max.get(),
            state: Mutex::new(GateState {
                inside: 0,
                limit: max.get(),
                calm: 0,
            }),
            freed: Condvar::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, GateState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn enter(&self) -> Slot<'_> {
        let mut state = self
            .freed
            .wait_while(self.lock(), |s| s.inside >= s.limit)
            .unwrap_or_else(PoisonError::into_inner);
        state.inside += 1;
        Slot(self)
    }

    /// An answer came back: `throttled` when it was a 429.
    fn answered(&self, throttled: bool) {
        let mut state = self.lock();
        if throttled {
            state.limit = (state.limit / 2).max(1);
            state.calm = 0;
            return;
        }
        state.calm += 1;
        if state.calm >= state.limit && state.limit < self.max {
            state.limit += 1;
            state.calm = 0;
            self.freed.notify_all();
        }
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.inside -= 1;
        self.0.freed.notify_one();
    }
}

fn agent(timeout: Duration, policy: NetworkPolicy) -> ureq::Agent {
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        // No proxy from the environment: the host connects only to the
        // origins it checked.
        .proxy(None)
        .timeout_connect(Some(timeout))
        // One budget for the whole exchange, from DNS to the last body byte.
        .timeout_global(Some(timeout))
        .build();
    ureq::Agent::with_parts(
        config,
        ureq::unversioned::transport::DefaultConnector::default(),
        PolicyResolver::new(policy),
    )
}

fn response_headers(headers: &ureq::http::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            (
                // `http` already stores names in lower case; this keeps the
                // contract even if that ever changes.
                name.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// Where an error happened: ureq reuses `BodyExceedsLimit` for a request
/// body that overruns its content-length, which is not a response too large.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Exchange,
    Body,
}

fn classify(error: ureq::Error, what: &str, phase: Phase) -> HttpError {
    match error {
        ureq::Error::Timeout(t) => HttpError::Timeout(format!("{what}: {t}")),
        ureq::Error::BodyExceedsLimit(limit) if phase == Phase::Body => HttpError::TooLarge(limit),
        ureq::Error::Io(e) if network_policy::refusal_in(&e).is_some() => {
            HttpError::Denied(format!("{what}: {e}"))
        }
        ureq::Error::Io(e) if is_timeout(&e) => HttpError::Timeout(format!("{what}: {e}")),
        ureq::Error::Http(e) => HttpError::Denied(format!("{what}: invalid request: {e}")),
        ureq::Error::BadUri(_) => HttpError::Denied(format!("{what}: invalid URL")),
        other => HttpError::Transport(format!("{what}: {other}")),
    }
}

fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread;

    #[test]
    fn a_429_halves_the_requests_in_flight_which_grow_back_to_the_ceiling() {
        let gate = Gate::new(NonZeroUsize::new(8).unwrap());
        let limit = |gate: &Gate| gate.lock().limit;
        assert_eq!(limit(&gate), 8);
        gate.answered(true);
        assert_eq!(limit(&gate), 4);
        gate.answered(true);
        gate.answered(true);
        gate.answered(true);
        assert_eq!(limit(&gate), 1, "never below one");
        // One more after each `limit` calm answers: 1, then 2 answers for 3, ...
        gate.answered(false);
        assert_eq!(limit(&gate), 2);
        for _ in 0..2 {
            gate.answered(false);
        }
        assert_eq!(limit(&gate), 3);
        for _ in 0..100 {
            gate.answered(false);
        }
        assert_eq!(limit(&gate), 8, "back to the ceiling, not above");
        // The limit bounds who may enter.
        gate.answered(true);
        let held: Vec<Slot<'_>> = (0..4).map(|_| gate.enter()).collect();
        assert_eq!(gate.lock().inside, 4);
        let entered = std::sync::atomic::AtomicBool::new(false);
        thread::scope(|scope| {
            scope.spawn(|| {
                let _slot = gate.enter();
                entered.store(true, std::sync::atomic::Ordering::SeqCst);
            });
            thread::sleep(std::time::Duration::from_millis(50));
            assert!(
                !entered.load(std::sync::atomic::Ordering::SeqCst),
                "a fifth waits"
            );
            drop(held);
        });
        assert!(entered.load(std::sync::atomic::Ordering::SeqCst));
    }
}
