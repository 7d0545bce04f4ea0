//! The command line: `host run <component.wasm> <airbyte command>`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::allowlist::{Origin, OriginOverrides};
use crate::command::Command;
use crate::options::{Limits, RunOptions};

const ALLOW_LIST_RULE: &str = "\
Network allow-list: before check, discover and read, the host asks the component which \
origins (scheme://host:port) the config needs, and every HTTP request must go to one of \
them. If the component rejects the config, the list is empty and the command itself \
reports the bad config. Operators change the list with:
  --allow-host ORIGIN   the list is exactly the --allow-host origins (plus any --also-allow);
                        the component's own list is not used (narrowing)
  --also-allow ORIGIN   added to the list in force (extending, e.g. a local test server)
Origins are scheme://host[:port] with scheme http or https; the default port is filled in \
and scheme and host are compared in lower case. Requests are also refused if the URL has \
user:password@, a scheme other than http/https, or a `host` header. Redirects are never \
followed: a 3xx goes back to the component as is.";

const EXAMPLES: &str = "\
Examples:
  host run stigg.wasm spec
  host run stigg.wasm check --config config.json
  host run stigg.wasm discover --config config.json
  host run stigg.wasm read --config config.json --catalog catalog.json [--state state.json]
  host run stigg.wasm --also-allow http://127.0.0.1:8080 check --config local.json";

const EXIT_CODES: &str = "\
Exit status: 0 when the command ran to the end (a check that reports FAILED included); \
1 when the command failed (it printed a TRACE ERROR), the component could not be \
loaded or crashed (the host prints a TRACE ERROR with failure_type system_error), or \
stdout could not be written; 2 for command-line usage errors.";

/// Runs an Airbyte source connector built as a WebAssembly component.
#[derive(Debug, Parser)]
#[command(
    name = "host",
    version,
    about = "Runs an Airbyte source connector built as a WebAssembly component (wasm32-wasip2)",
    long_about = "Runs an Airbyte source connector built as a WebAssembly component \
(wasm32-wasip2) on wasmtime. Airbyte messages go to stdout, one JSON object per line; \
the component's diagnostics go to stderr. The component gets no files, environment, \
sockets or stdin: it reaches the network only through the host's HTTP capability, \
limited to an allow-list of origins.",
    after_long_help = format!("{EXAMPLES}\n\n{ALLOW_LIST_RULE}\n\n{EXIT_CODES}"),
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: TopCommand,
}

#[derive(Debug, Subcommand)]
pub enum TopCommand {
    /// Run one Airbyte command (spec, check, discover, read) with a connector component
    #[command(after_long_help = format!("{EXAMPLES}\n\n{ALLOW_LIST_RULE}\n\n{EXIT_CODES}"))]
    Run(RunArgs),
}

/// `host run`: the component, the operator's options, the Airbyte command.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The connector component (.wasm, built for wasm32-wasip2)
    #[arg(value_name = "COMPONENT")]
    pub component: PathBuf,

    /// Allow only this origin (repeatable); replaces the component's own list
    #[arg(long = "allow-host", value_name = "ORIGIN", global = true)]
    pub allow_host: Vec<Origin>,

    /// Also allow this origin (repeatable); added to the list in force
    #[arg(long = "also-allow", value_name = "ORIGIN", global = true)]
    pub also_allow: Vec<Origin>,

    /// Deadline for each HTTP request: connect, send and read the whole response
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = Limits::DEFAULT_TIMEOUT_SECS,
        value_parser = clap::value_parser!(u64).range(1..),
        global = true,
    )]
    pub timeout_secs: u64,

    /// Largest HTTP response body accepted; a larger one is an error the connector sees
    #[arg(
        long,
        value_name = "BYTES",
        default_value_t = Limits::DEFAULT_MAX_RESPONSE_BYTES,
        global = true,
    )]
    pub max_response_bytes: u64,

    #[command(subcommand)]
    pub command: AirbyteCommand,
}

/// The Airbyte source commands.
#[derive(Debug, Clone, Subcommand)]
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
    },
}

impl RunArgs {
    pub fn command(&self) -> Command {
        match &self.command {
            AirbyteCommand::Spec => Command::Spec,
            AirbyteCommand::Check { config } => Command::Check {
                config: config.clone(),
            },
            AirbyteCommand::Discover { config } => Command::Discover {
                config: config.clone(),
            },
            AirbyteCommand::Read {
                config,
                catalog,
                state,
            } => Command::Read {
                config: config.clone(),
                catalog: catalog.clone(),
                state: state.clone(),
            },
        }
    }

    pub fn options(&self) -> RunOptions {
        RunOptions {
            limits: Limits {
                request_timeout: Duration::from_secs(self.timeout_secs),
                max_response_bytes: self.max_response_bytes,
            },
            origins: OriginOverrides {
                only: self.allow_host.clone(),
                also: self.also_allow.clone(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<RunArgs, clap::Error> {
        let cli = Cli::try_parse_from(std::iter::once("host").chain(args.iter().copied()))?;
        match cli.command {
            TopCommand::Run(run) => Ok(run),
        }
    }

    #[test]
    fn definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn spec() {
        let run = parse(&["run", "c.wasm", "spec"]).expect("parse");
        assert_eq!(run.component, PathBuf::from("c.wasm"));
        assert_eq!(run.command(), Command::Spec);
        assert_eq!(run.options(), RunOptions::default());
    }

    #[test]
    fn read_with_options_before_and_after_the_command() {
        let run = parse(&[
            "run",
            "--also-allow",
            "http://127.0.0.1:8080",
            "c.wasm",
            "read",
            "--config",
            "config.json",
            "--catalog",
            "catalog.json",
            "--state",
            "state.json",
            "--allow-host",
            "https://API.stigg.io",
            "--timeout-secs",
            "5",
            "--max-response-bytes",
            "1000",
        ])
        .expect("parse");
        assert_eq!(
            run.command(),
            Command::Read {
                config: "config.json".into(),
                catalog: "catalog.json".into(),
                state: Some("state.json".into()),
            }
        );
        let options = run.options();
        assert_eq!(options.limits.request_timeout, Duration::from_secs(5));
        assert_eq!(options.limits.max_response_bytes, 1000);
        assert_eq!(
            options.origins.only[0].to_string(),
            "https://api.stigg.io:443"
        );
        assert_eq!(options.origins.also[0].to_string(), "http://127.0.0.1:8080");
    }

    #[test]
    fn rejects_bad_origins_and_missing_files() {
        assert!(parse(&["run", "c.wasm", "--allow-host", "stigg.io", "spec"]).is_err());
        assert!(parse(&["run", "c.wasm", "--allow-host", "https://x.io/path", "spec"]).is_err());
        assert!(parse(&["run", "c.wasm", "check"]).is_err());
        assert!(parse(&["run", "c.wasm", "read", "--config", "c.json"]).is_err());
        assert!(parse(&["run", "c.wasm", "--timeout-secs", "0", "spec"]).is_err());
        assert!(parse(&["run", "c.wasm"]).is_err());
    }
}
