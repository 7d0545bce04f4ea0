//! Loading a connector component on wasmtime, giving it its imports, and
//! calling its exports, with failures mapped to what a runner should hear.

use std::fs;
use std::io;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store, Trap};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::allowlist::AllowList;
use crate::cache::{ComponentCache, Log};
use crate::contract;
use crate::deadline::{CpuBudget, EpochTicker};
use connector_io::{FailureType, HttpError, Kind, Method, Request, Response};

use crate::http_client::HttpClient;
use crate::limits::{LimitExceeded, MemoryLimiter};
use crate::options::Limits;
use crate::output::MessageWriter;

mod bindings {
    wasmtime::component::bindgen!({
        world: "connector",
        path: "../wit",
        // A failed write to stdout stops the guest instead of letting it
        // run a whole sync into a closed pipe.
        imports: { "airbyte:connector/sink.emit": trappable },
    });
}

use bindings::airbyte::connector::{http, sink};
use bindings::exports::airbyte::connector::source::Guest as Source;
use bindings::{Connector, ConnectorPre};

/// Where the component's bytes come from.
#[derive(Debug, Clone, Copy)]
pub enum ComponentSource<'a> {
    /// A `.wasm` component file.
    File(&'a Path),
    /// Component bytes already in memory (e.g. embedded in a binary).
    Bytes(&'a [u8]),
}

/// A compiled and linked connector, ready to instantiate for each run.
pub struct ConnectorRuntime {
    pre: ConnectorPre<HostState>,
    ticker: Arc<EpochTicker>,
}

/// The engine components run on (its settings are part of the cache key).
pub fn engine() -> anyhow::Result<Engine> {
    let mut config = Config::new();
    // Compiled code checks the epoch, so the CPU deadline can stop a guest
    // that never calls the host.
    config.epoch_interruption(true);
    Engine::new(&config)
        .map_err(anyhow::Error::from)
        .context("creating the wasmtime engine")
}

impl ConnectorRuntime {
    /// Compiles the component (or takes it from `cache`), checks its
    /// contract version, and checks that its imports are all provided.
    pub fn load_with(
        source: ComponentSource<'_>,
        cache: Option<&ComponentCache>,
        log: Log<'_>,
    ) -> anyhow::Result<Self> {
        let engine = engine()?;
        let component = load_component(&engine, source, cache, log)?;
        let ty = component.component_type();
        let names: Vec<String> = ty
            .imports(&engine)
            .chain(ty.exports(&engine))
            .map(|(name, _)| name.to_owned())
            .collect();
        contract::check(names.iter().map(String::as_str)).map_err(anyhow::Error::msg)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
            .map_err(anyhow::Error::from)
            .context("adding WASI to the linker")?;
        Connector::add_to_linker::<_, HasSelf<_>>(&mut linker, |state| state)
            .map_err(anyhow::Error::from)
            .context("adding the connector imports to the linker")?;
        let pre = linker
            .instantiate_pre(&component)
            .and_then(ConnectorPre::new)
            .map_err(anyhow::Error::from)
            .context("the component does not fit the airbyte:connector world")?;
        let ticker = EpochTicker::start(&engine).context("starting the epoch ticker")?;
        Ok(Self {
            pre,
            ticker: Arc::new(ticker),
        })
    }

    /// A fresh store for one run, under `limits` (memory and CPU; the HTTP
    /// limits are the client's). The component is instantiated on first call.
    pub fn session_with(
        &self,
        http: HttpClient,
        output: MessageWriter,
        limits: &Limits,
    ) -> Session {
        let state = HostState {
            wasi: wasi_ctx(),
            table: ResourceTable::new(),
            http,
            output,
            output_error: None,
            observer: None,
            memory: MemoryLimiter::new(limits.max_memory_mib),
            cpu: CpuBudget::new(limits.cpu_deadline),
        };
        let mut store = Store::new(self.pre.engine(), state);
        store.limiter(|state| &mut state.memory);
        store.epoch_deadline_callback(|mut store| store.data_mut().cpu.on_deadline());
        Session {
            store,
            pre: self.pre.clone(),
            bindings: None,
            _ticker: Arc::clone(&self.ticker),
        }
    }
}

/// Compiles the component, or loads it from `cache`.
pub fn load_component(
    engine: &Engine,
    source: ComponentSource<'_>,
    cache: Option<&ComponentCache>,
    log: Log<'_>,
) -> anyhow::Result<Component> {
    let what = match source {
        ComponentSource::File(path) => format!("loading the component {}", path.display()),
        ComponentSource::Bytes(_) => "loading the component".to_string(),
    };
    let Some(cache) = cache else {
        let compiled = match source {
            ComponentSource::File(path) => Component::from_file(engine, path),
            ComponentSource::Bytes(bytes) => Component::from_binary(engine, bytes),
        };
        return compiled.map_err(anyhow::Error::from).context(what);
    };
    let read;
    let bytes = match source {
        ComponentSource::File(path) => {
            read = fs::read(path).with_context(|| what.clone())?;
            &read[..]
        }
        ComponentSource::Bytes(bytes) => bytes,
    };
    cache.load_or_compile(engine, bytes, log).context(what)
}

/// No files, no environment, no arguments, no stdin, no sockets. stderr is
/// the host's (for the component's diagnostics); stdout goes nowhere, since
/// Airbyte messages travel through `sink` only.
fn wasi_ctx() -> WasiCtx {
    WasiCtxBuilder::new()
        .inherit_stderr()
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .build()
}

/// Why a call into the component did not return a result.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The guest trapped (a panic in the guest is an `unreachable` trap).
    #[error("the connector component trapped: {trap}")]
    Trapped { trap: String, detail: String },
    /// Writing a message to the runner failed (e.g. a closed pipe).
    #[error("writing the connector's messages failed: {0}")]
    OutputClosed(io::Error),
    /// The component broke the contract (e.g. declared a malformed origin).
    #[error("the connector component misbehaved: {0}")]
    Contract(String),
    /// The component ran into a sandbox limit (memory, CPU deadline).
    #[error("{limit}")]
    Limit {
        limit: LimitExceeded,
        detail: String,
    },
    /// Anything else wasmtime reported (instantiation, resource limits...).
    #[error("{what} failed: {message}")]
    Runtime {
        what: &'static str,
        message: String,
        detail: String,
    },
}

impl CallError {
    /// The full story, for `internal_message`.
    pub fn detail(&self) -> String {
        match self {
            Self::Trapped { detail, .. }
            | Self::Runtime { detail, .. }
            | Self::Limit { detail, .. } => detail.clone(),
            other => other.to_string(),
        }
    }
}

/// Sees what each batch of messages a component emits ends with (see
/// [`Session::set_observer`]).
pub type Observer = Box<dyn FnMut(Kind) + Send>;

fn kind(end: sink::BatchEnd) -> Kind {
    use sink::{BatchEnd, FailureType as Wit};
    match end {
        BatchEnd::Records => Kind::Record,
        BatchEnd::State => Kind::State,
        BatchEnd::Error(failure) => Kind::Error(match failure {
            Wit::ConfigError => FailureType::Config,
            Wit::TransientError => FailureType::Transient,
            Wit::SystemError => FailureType::System,
        }),
        BatchEnd::Other => Kind::Other,
    }
}

/// A command's own answer: `Err` means it failed and already said why.
pub type CommandResult = Result<(), String>;

/// One instance of the component and the store it lives in.
pub struct Session {
    store: Store<HostState>,
    pre: ConnectorPre<HostState>,
    bindings: Option<Connector>,
    /// Keeps the epoch moving (the CPU deadline) while the session lives,
    /// even if the runtime is dropped first.
    _ticker: Arc<EpochTicker>,
}

impl Session {
    pub fn spec(&mut self) -> Result<CommandResult, CallError> {
        let (source, store) = self.source()?;
        arm(store);
        let result = source.call_spec(store);
        self.outcome(result, "calling spec")
    }

    pub fn allowed_origins(
        &mut self,
        config: &str,
    ) -> Result<Result<Vec<String>, String>, CallError> {
        let (source, store) = self.source()?;
        arm(store);
        let result = source.call_allowed_origins(store, config);
        self.outcome(result, "calling allowed-origins")
    }

    /// The origins the component declares for `config`, parsed; `None` when
    /// it rejects the config (the command itself then reports why).
    pub fn declared_origins(&mut self, config: &str) -> Result<Option<AllowList>, CallError> {
        match self.allowed_origins(config)? {
            Ok(list) => AllowList::parse(&list)
                .map(Some)
                .map_err(|(origin, error)| {
                    CallError::Contract(format!("it declared the origin {origin:?}: {error}"))
                }),
            Err(_) => Ok(None),
        }
    }

    pub fn check(&mut self, config: &str) -> Result<CommandResult, CallError> {
        let (source, store) = self.source()?;
        arm(store);
        let result = source.call_check(store, config);
        self.outcome(result, "calling check")
    }

    pub fn discover(&mut self, config: &str) -> Result<CommandResult, CallError> {
        let (source, store) = self.source()?;
        arm(store);
        let result = source.call_discover(store, config);
        self.outcome(result, "calling discover")
    }

    pub fn read(
        &mut self,
        config: &str,
        catalog: &str,
        state: Option<&str>,
    ) -> Result<CommandResult, CallError> {
        let (source, store) = self.source()?;
        arm(store);
        let result = source.call_read(store, config, catalog, state);
        self.outcome(result, "calling read")
    }

    /// The component's split of a configured catalog into catalogs that
    /// separate instances may read at once (see `catalog_split`).
    pub fn split_catalog(&mut self, catalog: &str) -> Result<Vec<String>, CallError> {
        let (source, store) = self.source()?;
        arm(store);
        let result = source.call_split_catalog(store, catalog);
        self.outcome(result, "calling split-catalog")
    }

    /// The origins the component's requests may reach from now on.
    pub fn set_allow_list(&mut self, allow: AllowList) {
        self.store.data_mut().http.set_allow_list(allow);
    }

    /// Calls `observer` with each message the component emits, once it is
    /// written.
    pub fn set_observer(&mut self, observer: Observer) {
        self.store.data_mut().observer = Some(observer);
    }

    /// Ends the session, handing back the writer (for the host's own
    /// messages and the final flush).
    pub fn into_output(self) -> MessageWriter {
        self.store.into_data().output
    }

    fn source(&mut self) -> Result<(&Source, &mut Store<HostState>), CallError> {
        let bindings = match self.bindings.take() {
            Some(bindings) => bindings,
            None => {
                arm(&mut self.store);
                let result = self.pre.instantiate(&mut self.store);
                self.outcome(result, "instantiating the connector component")?
            }
        };
        let bindings = self.bindings.insert(bindings);
        Ok((bindings.airbyte_connector_source(), &mut self.store))
    }

    fn outcome<T>(
        &mut self,
        result: wasmtime::Result<T>,
        what: &'static str,
    ) -> Result<T, CallError> {
        result.map_err(|error| {
            // The sink's own failure is the cause, whatever wasmtime wrapped it in.
            if let Some(io_error) = self.store.data_mut().output_error.take() {
                return CallError::OutputClosed(io_error);
            }
            let detail = format!("{error:?}");
            let state = self.store.data();
            if let Some(limit) = state
                .cpu
                .exceeded()
                .or_else(|| state.memory.refusal().cloned())
            {
                return CallError::Limit { limit, detail };
            }
            match error.downcast_ref::<Trap>() {
                Some(trap) => CallError::Trapped {
                    trap: trap.to_string(),
                    detail,
                },
                None => CallError::Runtime {
                    what,
                    message: format!("{error:#}"),
                    detail,
                },
            }
        })
    }
}

/// Starts a call's budgets: the CPU deadline, and a clean slate for the
/// memory limiter's report.
fn arm(store: &mut Store<HostState>) {
    let state = store.data_mut();
    state.memory.reset_refusal();
    let ticks = state.cpu.start_call();
    store.set_epoch_deadline(ticks);
}

/// What the component's imports reach.
struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    http: HttpClient,
    output: MessageWriter,
    /// Set when a write failed, so the trap it causes is reported as such.
    output_error: Option<io::Error>,
    /// Sees each message once it is written.
    observer: Option<Observer>,
    memory: MemoryLimiter,
    cpu: CpuBudget,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl sink::Host for HostState {
    fn emit(&mut self, lines: String, end: sink::BatchEnd) -> wasmtime::Result<()> {
        if self.output_error.is_some() {
            return Err(wasmtime::Error::msg("the output is closed"));
        }
        self.output.emit(&lines).map_err(|error| {
            let text = format!("writing a message failed: {error}");
            self.output_error = Some(error);
            wasmtime::Error::msg(text)
        })?;
        if let Some(observer) = &mut self.observer {
            observer(kind(end));
        }
        Ok(())
    }
}

impl http::Host for HostState {
    fn send(&mut self, request: http::Request) -> Result<http::Response, http::Error> {
        self.http
            .send(&from_wit_request(request))
            .map(to_wit_response)
            .map_err(to_wit_error)
    }

    fn send_all(
        &mut self,
        requests: Vec<http::Request>,
    ) -> Vec<Result<http::Response, http::Error>> {
        let requests: Vec<Request> = requests.into_iter().map(from_wit_request).collect();
        self.http
            .send_all(&requests)
            .into_iter()
            .map(|result| result.map(to_wit_response).map_err(to_wit_error))
            .collect()
    }
}

fn from_wit_request(request: http::Request) -> Request {
    Request {
        method: match request.method {
            http::Method::Get => Method::Get,
            http::Method::Post => Method::Post,
        },
        url: request.url,
        headers: request.headers,
        body: request.body,
    }
}

fn to_wit_response(response: Response) -> http::Response {
    http::Response {
        status: response.status,
        headers: response.headers,
        body: response.body,
    }
}

fn to_wit_error(error: HttpError) -> http::Error {
    match error {
        HttpError::Denied(m) => http::Error::Denied(m),
        HttpError::Timeout(m) => http::Error::Timeout(m),
        HttpError::Transport(m) => http::Error::Transport(m),
        HttpError::TooLarge(cap) => http::Error::TooLarge(cap),
        HttpError::NotUtf8(m) => http::Error::NotUtf8(m),
    }
}
