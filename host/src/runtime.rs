//! Loading a connector component on wasmtime, giving it its imports, and
//! calling its exports, with failures mapped to what a runner should hear.

use std::io;
use std::path::Path;

use anyhow::Context as _;
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store, Trap};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::allowlist::AllowList;
use crate::http_client::{self, HttpClient, HttpError};
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
}

impl ConnectorRuntime {
    /// Compiles the component and checks that its imports are all provided.
    pub fn load(source: ComponentSource<'_>) -> anyhow::Result<Self> {
        let engine = Engine::new(&Config::new())
            .map_err(anyhow::Error::from)
            .context("creating the wasmtime engine")?;
        let component = compile(&engine, source)?;
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
        Ok(Self { pre })
    }

    /// A fresh store for one run; the component is instantiated on first call.
    pub fn session(&self, http: HttpClient, output: MessageWriter) -> Session {
        let state = HostState {
            wasi: wasi_ctx(),
            table: ResourceTable::new(),
            http,
            output,
            output_error: None,
        };
        Session {
            store: Store::new(self.pre.engine(), state),
            pre: self.pre.clone(),
            bindings: None,
        }
    }
}

fn compile(engine: &Engine, source: ComponentSource<'_>) -> anyhow::Result<Component> {
    match source {
        ComponentSource::File(path) => Component::from_file(engine, path)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("loading the component {}", path.display())),
        ComponentSource::Bytes(bytes) => Component::from_binary(engine, bytes)
            .map_err(anyhow::Error::from)
            .context("loading the component"),
    }
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
            Self::Trapped { detail, .. } | Self::Runtime { detail, .. } => detail.clone(),
            other => other.to_string(),
        }
    }
}

/// A command's own answer: `Err` means it failed and already said why.
pub type CommandResult = Result<(), String>;

/// One instance of the component and the store it lives in.
pub struct Session {
    store: Store<HostState>,
    pre: ConnectorPre<HostState>,
    bindings: Option<Connector>,
}

impl Session {
    pub fn spec(&mut self) -> Result<CommandResult, CallError> {
        let (source, store) = self.source()?;
        let result = source.call_spec(store);
        self.outcome(result, "calling spec")
    }

    pub fn allowed_origins(
        &mut self,
        config: &str,
    ) -> Result<Result<Vec<String>, String>, CallError> {
        let (source, store) = self.source()?;
        let result = source.call_allowed_origins(store, config);
        self.outcome(result, "calling allowed-origins")
    }

    pub fn check(&mut self, config: &str) -> Result<CommandResult, CallError> {
        let (source, store) = self.source()?;
        let result = source.call_check(store, config);
        self.outcome(result, "calling check")
    }

    pub fn discover(&mut self, config: &str) -> Result<CommandResult, CallError> {
        let (source, store) = self.source()?;
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
        let result = source.call_read(store, config, catalog, state);
        self.outcome(result, "calling read")
    }

    /// The origins the component's requests may reach from now on.
    pub fn set_allow_list(&mut self, allow: AllowList) {
        self.store.data_mut().http.set_allow_list(allow);
    }

    pub fn allow_list(&self) -> &AllowList {
        self.store.data().http.allow_list()
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

/// What the component's imports reach.
struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    http: HttpClient,
    output: MessageWriter,
    /// Set when a write failed, so the trap it causes is reported as such.
    output_error: Option<io::Error>,
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
    fn emit(&mut self, message: String) -> wasmtime::Result<()> {
        if self.output_error.is_some() {
            return Err(wasmtime::Error::msg("the output is closed"));
        }
        self.output.emit(&message).map_err(|error| {
            let text = format!("writing a message failed: {error}");
            self.output_error = Some(error);
            wasmtime::Error::msg(text)
        })
    }
}

impl http::Host for HostState {
    fn send(&mut self, request: http::Request) -> Result<http::Response, http::Error> {
        self.http
            .send(from_wit_request(request))
            .map(to_wit_response)
            .map_err(to_wit_error)
    }
}

fn from_wit_request(request: http::Request) -> http_client::Request {
    http_client::Request {
        method: match request.method {
            http::Method::Get => http_client::Method::Get,
            http::Method::Post => http_client::Method::Post,
        },
        url: request.url,
        headers: request.headers,
        body: request.body,
    }
}

fn to_wit_response(response: http_client::Response) -> http::Response {
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
    }
}
