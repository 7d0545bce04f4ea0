//! The network capability handed to a connector: requests only to
//! allow-listed origins and to addresses the network policy permits,
//! redirects never followed, bodies capped, and at most a set number in
//! flight across every clone of the client.
//!
//! It speaks the `connector-io` types (not the WIT bindings), so a native
//! build of a connector is served by the same client.

use std::io;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError};
use std::thread;
use std::time::Duration;

use connector_io::{Http, HttpError, Method, Request, Response};

use crate::allowlist::AllowList;
use crate::network_policy::{self, NetworkPolicy, PolicyResolver};
use crate::options::Limits;

/// Sends requests for one run. Clones share the connection pool and the
/// bound on requests in flight.
#[derive(Debug, Clone)]
pub struct HttpClient {
    agent: ureq::Agent,
    allow: AllowList,
    max_response_bytes: u64,
    in_flight: Arc<Gate>,
}

impl HttpClient {
    /// A client that sends one request at a time, to the addresses `policy`
    /// permits.
    pub fn new(allow: AllowList, limits: &Limits, policy: NetworkPolicy) -> Self {
        Self {
            agent: agent(limits.request_timeout, policy),
            allow,
            max_response_bytes: limits.max_response_bytes,
            in_flight: Arc::new(Gate::new(NonZeroUsize::MIN)),
        }
    }

    /// The same client with up to `max` requests in flight (over all its clones).
    pub fn with_max_in_flight(mut self, max: NonZeroUsize) -> Self {
        self.in_flight = Arc::new(Gate::new(max));
        self
    }

    pub fn set_allow_list(&mut self, allow: AllowList) {
        self.allow = allow;
    }

    /// Sends every request, as many at once as the bound on requests in
    /// flight allows; one result per request, in order.
    pub fn send_all(&self, requests: &[Request]) -> Vec<Result<Response, HttpError>> {
        let workers = self.in_flight.max.min(requests.len());
        if workers <= 1 {
            return requests.iter().map(|r| self.send(r)).collect();
        }
        let next = AtomicUsize::new(0);
        let results: Vec<OnceLock<Result<Response, HttpError>>> =
            requests.iter().map(|_| OnceLock::new()).collect();
        let work = || loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(request) = requests.get(i) else {
                break;
            };
            let _ = results[i].set(self.send(request));
        };
        thread::scope(|scope| {
            // The calling thread works too, so a failed spawn only slows the batch.
            for n in 1..workers {
                let _ = thread::Builder::new()
                    .name(format!("http-{n}"))
                    .spawn_scoped(scope, work);
            }
            work();
        });
        results
            .into_iter()
            .map(|result| {
                result
                    .into_inner()
                    .unwrap_or_else(|| Err(HttpError::Transport("the request was not sent".into())))
            })
            .collect()
    }

    /// Checks the request against the allow-list, sends it (once a slot in
    /// flight is free) and reads the whole response.
    pub fn send(&self, request: &Request) -> Result<Response, HttpError> {
        let url = self
            .allow
            .check_request(
                &request.url,
                request
                    .headers
                    .iter()
                    .map(|(n, v)| (n.as_str(), v.as_str())),
            )
            .map_err(|denial| HttpError::Denied(denial.to_string()))?;
        let _slot = self.in_flight.enter();
        let what = format!("{} {}", request.method.as_str(), url);
        let mut response = self
            .dispatch(request, url.as_str())
            .map_err(|e| classify(e, &what, Phase::Exchange))?;
        let status = response.status().as_u16();
        self.in_flight.answered(status == 429);
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

    fn dispatch(
        &self,
        request: &Request,
        url: &str,
    ) -> Result<ureq::http::Response<ureq::Body>, ureq::Error> {
        let mut builder = ureq::http::Request::builder()
            .method(request.method.as_str())
            .uri(url);
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

impl Http for HttpClient {
    fn send(&mut self, request: &Request) -> Result<Response, HttpError> {
        HttpClient::send(self, request)
    }

    fn send_all(&mut self, requests: &[Request]) -> Vec<Result<Response, HttpError>> {
        HttpClient::send_all(self, requests)
    }
}

/// A counting semaphore: at most `max` holders at once.
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
#[path = "http_client_tests.rs"]
mod tests;
