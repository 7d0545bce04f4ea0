//! Runs an Airbyte source connector built as a WebAssembly component
//! (world `airbyte:connector/connector`, see `wit/connector.wit`) on wasmtime.
//!
//! The binary `host` is a thin CLI over [`run`]; another binary (or a test)
//! can embed the same pieces:
//!
//! ```no_run
//! use host::{run, Command, ComponentSource, MessageWriter, RunOptions};
//! let outcome = run(
//!     ComponentSource::File("connector.wasm".as_ref()),
//!     &Command::Spec,
//!     &RunOptions::default(),
//!     MessageWriter::stdout(),
//! );
//! std::process::exit(outcome.exit_code().into());
//! ```

pub mod allowlist;
pub mod cache;
pub mod catalog_split;
pub mod command;
pub mod concurrent;
pub mod contract;
pub mod deadline;
pub mod http_client;
pub mod inspect;
pub mod limits;
pub mod messages;
pub mod network_policy;
pub mod options;
pub mod outcome;
pub mod output;
pub mod recording;
pub mod runtime;
pub mod signals;
pub mod transport;

pub use allowlist::{AllowList, Origin, OriginError, OriginOverrides};
pub use cache::ComponentCache;
pub use command::{run, run_invocation, run_with, Command, InputError, Invocation};
pub use http_client::HttpClient;
pub use limits::LimitExceeded;
pub use network_policy::NetworkPolicy;
pub use options::{CachePolicy, Exchanges, Limits, RunOptions};
pub use outcome::Outcome;
pub use output::MessageWriter;
pub use runtime::{CallError, ComponentSource, ConnectorRuntime, Session};
pub use transport::{AllowListed, InFlight, Network, Transport};
