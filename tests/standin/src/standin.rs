//! `Standin`: a running stand-in server on its own thread and runtime,
//! driven by blocking calls so synchronous tests can use it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;

use anyhow::Context as _;
use tokio::sync::oneshot;

use crate::admin;
use crate::config::StandinConfig;
use crate::faults::FaultRule;
use crate::generate::{generate, Sizes};
use crate::limits::RateLimitConfig;
use crate::schema::{SchemaChange, Served};
use crate::server::{router, serve};
use crate::spender::Spender;
use crate::state::Shared;
use crate::stats::InvalidQuery;
use crate::store::Store;

pub struct Standin {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Standin {
    /// Generates the data, binds 127.0.0.1 and serves in the background.
    /// Panics if that fails; see `try_start`.
    pub fn start(config: StandinConfig) -> Standin {
        Standin::try_start(config)
            .unwrap_or_else(|e| panic!("the Stigg stand-in did not start: {e:#}"))
    }

    pub fn try_start(config: StandinConfig) -> anyhow::Result<Standin> {
        let sizes = Sizes {
            customers: config.customers,
            subscriptions_per_customer: config.subscriptions_per_customer,
        };
        let store = Store::new(generate(config.seed, sizes));
        let shared = Arc::new(Shared::new(&config, store));
        let listener =
            std::net::TcpListener::bind(("127.0.0.1", config.port)).context("binding 127.0.0.1")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("stigg-standin")
            .enable_all()
            .build()
            .context("building the tokio runtime")?;
        let (stop, stopped) = oneshot::channel::<()>();
        let app = router(Arc::clone(&shared));
        let thread = std::thread::Builder::new()
            .name("stigg-standin".into())
            .spawn(move || {
                runtime.block_on(async move {
                    match tokio::net::TcpListener::from_std(listener) {
                        Ok(listener) => {
                            serve(listener, app, async {
                                let _ = stopped.await;
                            })
                            .await
                        }
                        Err(e) => eprintln!("stigg-standin: cannot listen: {e}"),
                    }
                });
            })?;
        Ok(Standin {
            addr,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The GraphQL endpoint, e.g. `http://127.0.0.1:PORT/graphql`.
    pub fn url(&self) -> String {
        format!("http://{}/graphql", self.addr)
    }

    /// `http://127.0.0.1:PORT`, under which `/_admin/*` lives.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn api_key(&self) -> &str {
        &self.shared.api_key
    }

    /// Stops serving and closes every connection; also done on drop.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }

    /// POSTs to /graphql so far, answered or not.
    pub fn request_count(&self) -> u64 {
        self.shared.stats().requests
    }

    /// Valid, authorized requests per root field.
    pub fn root_field_counts(&self) -> BTreeMap<String, u64> {
        self.shared.stats().by_root_field.clone()
    }

    pub fn root_field_count(&self, root_field: &str) -> u64 {
        self.shared
            .stats()
            .by_root_field
            .get(root_field)
            .copied()
            .unwrap_or(0)
    }

    /// Requests refused by the rate limit (HTTP 429).
    pub fn rate_limited_requests(&self) -> u64 {
        self.shared.stats().rate_limited_requests
    }

    /// Requests refused by the rate limit (HTTP 429), per root field whose
    /// window was full. Not counted in `root_field_counts`.
    pub fn rate_limited_counts(&self) -> BTreeMap<String, u64> {
        self.shared.stats().rate_limited.clone()
    }

    pub fn rate_limited_count(&self, root_field: &str) -> u64 {
        self.shared
            .stats()
            .rate_limited
            .get(root_field)
            .copied()
            .unwrap_or(0)
    }

    /// The rate limits enforced, if any.
    pub fn rate_limits(&self) -> Option<RateLimitConfig> {
        self.shared.limiter().map(|l| l.config().clone())
    }

    /// Another client's `n` calls of `root_field`, recorded in its window
    /// now; how many fit (the rest would have been refused). 0 when no
    /// limits are enforced.
    pub fn spend(&self, root_field: &str, n: u32) -> u32 {
        self.shared
            .limiter()
            .map_or(0, |mut l| l.spend(root_field, n, std::time::Instant::now()))
    }

    /// Another client spending `per_window` calls of `root_field` per
    /// window, evenly, in the background until the `Spender` is dropped.
    pub fn spend_steadily(&self, root_field: &str, per_window: u32) -> Spender {
        Spender::start(Arc::clone(&self.shared), root_field, per_window)
    }

    /// Requests refused as invalid (validation, variables, malformed body).
    pub fn invalid_queries(&self) -> Vec<InvalidQuery> {
        self.shared.stats().invalid.clone()
    }

    /// The distinct texts of the valid queries served, in the order first seen.
    pub fn queries(&self) -> Vec<String> {
        self.shared.stats().queries.clone()
    }

    pub fn reset_stats(&self) {
        *self.shared.stats() = Default::default();
    }

    /// Sets `n` customers' updatedAt to now, in distinct milliseconds
    /// later than any earlier change (CUSTOMER_UPDATED each), and returns
    /// their ids.
    pub fn touch_customers(&self, n: usize) -> Vec<String> {
        admin::touch_customers(&self.shared, n)
    }

    /// Draws `n` subscriptions' fields again, logging SUBSCRIPTION_UPDATED
    /// each; their ids.
    pub fn update_subscriptions(&self, n: usize) -> Vec<String> {
        admin::update_subscriptions(&self.shared, n)
    }

    /// Deletes `n` customers (chosen deterministically among the live ones):
    /// `customers` no longer lists them, nor `customerResources` their
    /// resources, and `creditGrants`/`creditsLedger`/`entitlements` answer
    /// nothing for them; their subscriptions, measurements and promotional
    /// entitlements stay listed. Logs CUSTOMER_DELETED (entityId: the
    /// customer's `id`) for each, in distinct later milliseconds. Returns
    /// their `id`s.
    pub fn delete_customers(&self, n: usize) -> Vec<String> {
        admin::delete_customers(&self.shared, n)
    }

    /// Adds `n` customers created now (CUSTOMER_CREATED each); their `id`s.
    pub fn create_customers(&self, n: usize) -> Vec<String> {
        admin::create_customers(&self.shared, n)
    }

    /// Reports `n` usage measurements (metered features, live customers),
    /// created now (MEASUREMENT_REPORTED each); their `id`s.
    pub fn report_usage(&self, n: usize) -> Vec<String> {
        admin::report_usage(&self.shared, n)
    }

    /// Grants `amount` promotional credits, active now and never expiring,
    /// to the customer with this `customerId` (CREDIT_GRANT_CREATED, entity
    /// the grant); the grant's `id`, or `None` for an unknown customer.
    pub fn grant_credits(&self, customer_id: &str, amount: f64) -> Option<String> {
        admin::grant_credits(&self.shared, customer_id, amount)
    }

    /// Consumes up to `amount` of the customer's active credits, as one
    /// usage event: a CREDITS_CONSUMED ledger entry and a
    /// CREDIT_GRANT_UPDATED event per grant drawn from. The usage event's
    /// id (the entries' `eventId`), or `None` when there is nothing to consume.
    pub fn consume_credits(&self, customer_id: &str, amount: f64) -> Option<String> {
        admin::consume_credits(&self.shared, customer_id, amount)
    }

    /// The `customerId`s of the (live) customers with credit grants.
    pub fn credit_customers(&self) -> Vec<String> {
        admin::credit_customers(&self.shared)
    }

    /// What `entitlements(query: {customerId: customer_id})` answers, every
    /// field selected (`feature` with all its fields), as parsed from the
    /// response text: one row per feature, in feature order. `customer_id`
    /// is the customer's `customerId` (not its `id`), as for the credit
    /// queries; an unknown or deleted customer has none.
    pub fn entitlements(&self, customer_id: &str) -> Vec<serde_json::Value> {
        admin::entitlements(&self.shared, customer_id, None)
    }

    /// Like `entitlements`, with `resourceId: resource_id`: only the
    /// subscriptions on that resource count, and no promotional entitlement.
    pub fn resource_entitlements(
        &self,
        customer_id: &str,
        resource_id: &str,
    ) -> Vec<serde_json::Value> {
        admin::entitlements(&self.shared, customer_id, Some(resource_id))
    }

    /// The `customerId`s, sorted, of the live customers having at least one
    /// metered entitlement (without a resource) with a finite `usageLimit`
    /// and `currentUsage >= share * usageLimit`.
    pub fn customers_over(&self, share: f64) -> Vec<String> {
        admin::customers_over(&self.shared, share)
    }

    /// Every id a list query (by root field, e.g. "customers") can return,
    /// in stored order; empty for an unknown root field.
    pub fn ids(&self, root_field: &str) -> Vec<String> {
        admin::ids(&self.shared, root_field).unwrap_or_default()
    }

    /// What the API serves for a subscription's `totalPrice`, `prices`
    /// (MINIMUM_SPEND included, as with `prices(filter: {})`) and `addons`,
    /// every sub-field selected, links to records as `{id, refId}`:
    /// `{"totalPrice": ..., "prices": [...], "addons": [...]}`, as parsed
    /// from the response text. `None` for an unknown subscription id.
    pub fn subscription_money(&self, id: &str) -> Option<serde_json::Value> {
        let id = crate::rng::parse_uuid(id)?;
        crate::fields::subscription_money(&self.shared.store().data, id)
    }

    /// Every subscription entitlement (a subscription's override of one of
    /// its plan's entitlements), in stored order (subscription order), as
    /// `subscriptionEntitlements` answers it with `id subscriptionId
    /// featureId feature { id refId } subscription { id subscriptionId }
    /// description usageLimit hasUnlimitedUsage hasSoftLimit resetPeriod
    /// resetPeriodConfiguration { __typename <its one field> } environmentId
    /// createdAt updatedAt`, as parsed from the response text.
    pub fn subscription_entitlements(&self) -> Vec<serde_json::Value> {
        crate::fields::subscription_entitlements_json(&self.shared.store().data)
    }

    /// Replaces the fault rules (their counters start again).
    pub fn set_faults(&self, rules: Vec<FaultRule>) {
        self.shared.faults().set(rules);
    }

    pub fn add_fault(&self, rule: FaultRule) {
        self.shared.faults().add(rule);
    }

    pub fn clear_faults(&self) {
        self.shared.faults().set(Vec::new());
    }

    pub fn faults(&self) -> Vec<FaultRule> {
        self.shared.faults().rules()
    }

    /// Serves the subset with `change` made from now on (see
    /// [`SchemaChange`]); panics on a change that cannot be made.
    pub fn change_schema(&self, change: SchemaChange) {
        let served = Served::changed(&change).unwrap_or_else(|why| panic!("{why}"));
        self.shared.serve(served);
    }
}

impl Drop for Standin {
    fn drop(&mut self) {
        self.shutdown();
    }
}
