//! The Airbyte source commands as a runner passes them (`spec`, `check
//! --config F`, `discover --config F`, `read --config F --catalog F [--state
//! F]`), parsed with clap, for `host run` and `source-stigg-wasm` alike.

use std::num::NonZeroUsize;
use std::path::PathBuf;

use clap::Subcommand;
use host::{Command, RunOptions};

/// The Airbyte source commands.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum AirbyteCommand {
    /// Print the connector's SPEC
    Spec,
    /// Test the config: prints a CONNECTION_STATUS (SUCCEEDED or FAILED)
    Check {
        /// Config JSON file
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
    /// Print the CATALOG of streams
    Discover {
        /// Config JSON file
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
    /// Read the configured streams: RECORD, STATE and TRACE messages
    Read {
        /// Config JSON file
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Configured catalog JSON file
        #[arg(long, value_name = "FILE")]
        catalog: PathBuf,
        /// State JSON file from an earlier read
        #[arg(long, value_name = "FILE")]
        state: Option<PathBuf>,
        /// HTTP requests in flight in all (1 to 16): streams read at once, each
        /// in its own component instance, and a component's batched requests
        #[arg(
            long,
            value_name = "N",
            default_value_t = RunOptions::DEFAULT_CONCURRENCY,
            value_parser = RunOptions::parse_concurrency,
        )]
        concurrency: NonZeroUsize,
    },
}

impl AirbyteCommand {
    /// The command with its file paths, for `host::run`.
    pub fn command(&self) -> Command {
        match self {
            Self::Spec => Command::Spec,
            Self::Check { config } => Command::Check {
                config: config.clone(),
            },
            Self::Discover { config } => Command::Discover {
                config: config.clone(),
            },
            Self::Read {
                config,
                catalog,
                state,
                ..
            } => Command::Read {
                config: config.clone(),
                catalog: catalog.clone(),
                state: state.clone(),
            },
        }
    }

    /// `read --concurrency`, else the default.
    pub fn concurrency(&self) -> NonZeroUsize {
        match self {
            Self::Read { concurrency, .. } => *concurrency,
            _ => RunOptions::DEFAULT_CONCURRENCY,
        }
    }
}
