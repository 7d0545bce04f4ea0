//! The network capability handed to a connector: [`Transport`]s stacked as
//! a run needs them (the network, or an embedder's transport; at most a set
//! number of requests in flight across every clone; only allow-listed
//! origins), with a batch of requests sent at once within the bound.
//!
//! It speaks the `connector-io` types (not the WIT bindings), so a native
//! build of a connector is served by the same client.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread;

use connector_io::{Http, HttpError, Request, Response};

use crate::allowlist::AllowList;
use crate::network_policy::NetworkPolicy;
use crate::options::Limits;
use crate::transport::{AllowListed, InFlight, Network, Transport};

/// Sends requests for one run. Clones share the transport (its connection
/// pool) and the bound on requests in flight.
#[derive(Clone)]
pub struct HttpClient {
    stack: AllowListed<InFlight<Arc<dyn Transport>>>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("allow", &self.stack.allow)
            .field("max_in_flight", &self.stack.inner.max())
            .finish()
    }
}

impl HttpClient {
    /// A client of the network that sends one request at a time, to the
    /// addresses `policy` permits.
    pub fn new(allow: AllowList, limits: &Limits, policy: NetworkPolicy) -> Self {
        Self::over(allow, Network::new(limits, policy))
    }

    /// A client of another transport (a recorder around [`Network`], a
    /// replayer, a proxy's client): the allow-list and the bound on requests
    /// in flight still apply.
    pub fn over(allow: AllowList, transport: impl Transport + 'static) -> Self {
        let transport: Arc<dyn Transport> = Arc::new(transport);
        Self {
            stack: AllowListed {
                allow,
                inner: InFlight::new(transport, NonZeroUsize::MIN),
            },
        }
    }

    /// The same client with up to `max` requests in flight (over all its clones).
    pub fn with_max_in_flight(mut self, max: NonZeroUsize) -> Self {
        self.stack.inner = self.stack.inner.with_max(max);
        self
    }

    pub fn set_allow_list(&mut self, allow: AllowList) {
        self.stack.allow = allow;
    }

    /// Sends every request, as many at once as the bound on requests in
    /// flight allows; one result per request, in order.
    pub fn send_all(&self, requests: &[Request]) -> Vec<Result<Response, HttpError>> {
        let workers = self.stack.inner.max().min(requests.len());
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
        self.stack.send(request)
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

#[cfg(test)]
#[path = "http_client_tests.rs"]
mod tests;
