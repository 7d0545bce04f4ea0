//! The command line: `host run <component.wasm> <airbyte command>` and
//! `host inspect <component.wasm>`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use airbyte_cli::AirbyteCommand;
use host::{CachePolicy, Exchanges, Limits, NetworkPolicy, Origin, OriginOverrides, RunOptions};

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
followed: a 3xx goes back to the component as is.

Network policy: whatever the allow-list says, the host connects only to public addresses, \
checked on every address a name resolves to, right before connecting (so a name that \
resolves to 127.0.0.1 is refused too). Refused unless the operator passes \
--allow-private-network: loopback, private (RFC 1918, RFC 4193), link-local (169.254.0.0/16 \
with cloud metadata services, fe80::/10), CGNAT, multicast, unspecified and other reserved \
ranges. Plain http is refused for any address but loopback unless the operator passes \
--allow-plain-http. Both flags may come before the component path or after the command.";

const SANDBOX_LIMITS: &str = "\
Sandbox limits (a component that exceeds one is stopped; the host prints a TRACE ERROR \
with failure_type system_error naming the limit, and exits 1):
  --max-memory-mib MIB      linear memory of the component, all its memories together \
(default 256). The memory.grow that would pass it fails; a Rust component then aborts.
  --cpu-deadline-secs SECS  CPU time of one call into the component (spec, check, \
discover, read; default 300). It counts the component's own computing and the host work \
it asks for (copying, TLS); time spent waiting for the network, for stdout or in a sleep \
is not counted. Checked every 10 ms.
  --timeout-secs SECS       one HTTP request, from connecting to the last body byte \
(default 30); the component sees a `timeout` error.
  --max-response-bytes N    one HTTP response body (default 64 MiB); the component sees \
a `too-large` error.";

const CONCURRENCY: &str = "\
Concurrency: read --concurrency N (default 2) keeps up to N HTTP requests in flight in all: \
up to N of the catalog's streams are read at once, each in its own component instance (own \
memory, the same allow-list), and a component may send a batch of independent requests \
(`send-all`: e.g. a large stream's creation-time partitions read together), all \
sharing the N slots. Each stream's messages keep their order and every message is one \
whole line; the streams' messages are interleaved. The default, two requests in flight, \
keeps a connector well inside per-minute rate limits such as an API's 1,500 requests a \
minute; a connector backs off on HTTP 429 itself. \
--concurrency 1 reads the whole catalog in one instance, one request at a time. The first \
stream starts alone: the others start once it has written a RECORD or STATE, so a bad key \
or state is reported once; a config_error from any stream starts no further streams; a \
stream that crashes or hits a limit gets the host's TRACE ERROR naming it while the others \
finish; the exit status is 0 only if every stream's read succeeded. --max-memory-mib \
applies to each instance (a read may use N times it) and --cpu-deadline-secs to each call \
of each instance.";

const CACHE: &str = "\
Compiled-component cache: compiling a component takes up to a second; the host keeps the \
compiled code in $XDG_CACHE_HOME/component-host (else ~/.cache/component-host), one file per \
component and wasmtime build, and loads it in a few milliseconds. It only loads files it \
wrote itself (checksummed, in a directory only this user can write); anything else is \
ignored and rewritten. --cache-dir DIR uses another directory, --no-cache compiles every \
time, --verbose says what the cache did.";

const RECORDING: &str = "\
Reporting a problem: --record DIR writes each HTTP exchange of the run (request, status, \
headers, body, or the error) to DIR/exchanges.jsonl, and the config, catalog and state beside \
it, with every secret of the config (the properties the component's spec marks \
airbyte_secret) replaced by <secret> in every form a text may hold it (as typed, \
JSON-escaped, percent-encoded, base64). --replay DIR runs the same command with no network: \
each request is answered by the recorded exchange with the same method, URL and body, and a \
request that was not recorded fails, naming it and the next recorded one. Pass the \
recording's files: read --config DIR/config.json --catalog DIR/catalog.json.";

const EXAMPLES: &str = "\
Examples:
  host run connector.wasm spec
  host run connector.wasm check --config config.json
  host run connector.wasm discover --config config.json
  host run connector.wasm read --config config.json --catalog catalog.json [--state state.json]
  host run connector.wasm read --config config.json --catalog catalog.json --concurrency 1
  host run --allow-private-network connector.wasm check --config local.json   (a local test server)";

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
    after_long_help = format!(
        "{EXAMPLES}\n\n{ALLOW_LIST_RULE}\n\n{SANDBOX_LIMITS}\n\n{CONCURRENCY}\n\n{CACHE}\n\n{RECORDING}\n\n{EXIT_CODES}"
    ),
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: TopCommand,
}

#[derive(Debug, Subcommand)]
pub enum TopCommand {
    /// Run one Airbyte command (spec, check, discover, read) with a connector component
    #[command(after_long_help = format!(
        "{EXAMPLES}\n\n{ALLOW_LIST_RULE}\n\n{SANDBOX_LIMITS}\n\n{CONCURRENCY}\n\n{CACHE}\n\n{RECORDING}\n\n{EXIT_CODES}"
    ))]
    Run(RunArgs),
    /// List a component's imports and exports, to review what it may do before running it
    #[command(after_long_help = INSPECT_HELP)]
    Inspect(InspectArgs),
}

const INSPECT_HELP: &str = "\
The imports are every function the component can call: for a connector, the \
airbyte:connector interfaces http and sink, and the WASI interfaces its standard library \
uses (the host gives those no files, environment, sockets or stdin). Types are shown \
WIT-style, by name when the interface names them. Nothing is run.
Exit status: 0, or 1 if the component cannot be read or compiled.";

/// `host inspect`: the component and how to print it.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The component (.wasm)
    #[arg(value_name = "COMPONENT")]
    pub component: PathBuf,

    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub cache: CacheArgs,

    /// Say on stderr what the host does (e.g. whether the cache was used)
    #[arg(short, long)]
    pub verbose: bool,
}

/// Where compiled components are cached.
#[derive(Debug, Args)]
pub struct CacheArgs {
    /// Do not use the compiled-component cache: compile the component every time
    #[arg(long, global = true)]
    pub no_cache: bool,

    /// Cache compiled components in DIR [default: $XDG_CACHE_HOME/component-host or ~/.cache/component-host]
    #[arg(long, value_name = "DIR", global = true, conflicts_with = "no_cache")]
    pub cache_dir: Option<PathBuf>,
}

impl CacheArgs {
    pub fn policy(&self) -> CachePolicy {
        match (&self.cache_dir, self.no_cache) {
            (_, true) => CachePolicy::Disabled,
            (Some(dir), false) => CachePolicy::Dir(dir.clone()),
            (None, false) => CachePolicy::UserCacheDir,
        }
    }
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

    /// Let requests reach loopback, private, link-local and other non-public addresses
    #[arg(long, global = true)]
    pub allow_private_network: bool,

    /// Let requests use plain http to addresses other than loopback
    #[arg(long, global = true)]
    pub allow_plain_http: bool,

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

    /// Largest linear memory the component may use, all its memories together
    #[arg(
        long,
        value_name = "MIB",
        default_value_t = Limits::DEFAULT_MAX_MEMORY_MIB,
        value_parser = clap::value_parser!(u32).range(1..=i64::from(Limits::MAX_MEMORY_MIB)),
        global = true,
    )]
    pub max_memory_mib: u32,

    /// CPU time one call into the component may use (time waiting for the network is not counted)
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = Limits::DEFAULT_CPU_DEADLINE_SECS,
        value_parser = clap::value_parser!(u64).range(1..),
        global = true,
    )]
    pub cpu_deadline_secs: u64,

    #[command(flatten)]
    pub cache: CacheArgs,

    /// Say on stderr what the host does (e.g. whether the cache was used)
    #[arg(short, long, global = true)]
    pub verbose: bool,

    /// Record every HTTP exchange, and the config, catalog and state, into DIR, with the
    /// config's secrets masked, to hand over or replay
    #[arg(long, value_name = "DIR", global = true, conflicts_with = "replay")]
    pub record: Option<PathBuf>,

    /// Answer every HTTP request from the recording in DIR: no network at all (pass the
    /// recording's config, catalog and state files)
    #[arg(long, value_name = "DIR", global = true)]
    pub replay: Option<PathBuf>,

    /// A DEBUG LOG for each HTTP exchange: the operation, its variables, the status, the
    /// body's size and the time taken
    #[arg(long, global = true)]
    pub debug: bool,

    #[command(subcommand)]
    pub command: AirbyteCommand,
}

impl RunArgs {
    pub fn options(&self) -> RunOptions {
        RunOptions {
            limits: Limits {
                request_timeout: Duration::from_secs(self.timeout_secs),
                max_response_bytes: self.max_response_bytes,
                max_memory_mib: self.max_memory_mib,
                cpu_deadline: Duration::from_secs(self.cpu_deadline_secs),
            },
            origins: OriginOverrides {
                only: self.allow_host.clone(),
                also: self.also_allow.clone(),
            },
            network: NetworkPolicy {
                allow_private: self.allow_private_network,
                allow_plain_http: self.allow_plain_http,
            },
            cache: self.cache.policy(),
            verbose: self.verbose,
            concurrency: self.command.concurrency(),
            exchanges: Exchanges::from_flags(self.record.as_ref(), self.replay.as_ref()),
            debug: self.debug,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;
    use host::Command;

    fn parse(args: &[&str]) -> Result<RunArgs, clap::Error> {
        let cli = Cli::try_parse_from(std::iter::once("host").chain(args.iter().copied()))?;
        match cli.command {
            TopCommand::Run(run) => Ok(run),
            TopCommand::Inspect(_) => {
                Err(clap::Error::new(clap::error::ErrorKind::InvalidSubcommand))
            }
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
        assert_eq!(run.command.command(), Command::Spec);
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
            "https://API.example.com",
            "--timeout-secs",
            "5",
            "--max-response-bytes",
            "1000",
            "--max-memory-mib",
            "64",
            "--cpu-deadline-secs",
            "2",
            "--cache-dir",
            "/tmp/cache",
            "-v",
        ])
        .expect("parse");
        assert_eq!(
            run.command.command(),
            Command::Read {
                config: "config.json".into(),
                catalog: "catalog.json".into(),
                state: Some("state.json".into()),
            }
        );
        let options = run.options();
        assert_eq!(options.limits.request_timeout, Duration::from_secs(5));
        assert_eq!(options.limits.max_response_bytes, 1000);
        assert_eq!(options.limits.max_memory_mib, 64);
        assert_eq!(options.limits.cpu_deadline, Duration::from_secs(2));
        assert_eq!(options.cache, CachePolicy::Dir("/tmp/cache".into()));
        assert!(options.verbose);
        assert_eq!(options.concurrency, RunOptions::DEFAULT_CONCURRENCY);
        assert_eq!(
            options.origins.only[0].to_string(),
            "https://api.example.com:443"
        );
        assert_eq!(options.origins.also[0].to_string(), "http://127.0.0.1:8080");
    }

    #[test]
    fn rejects_bad_origins_and_missing_files() {
        assert!(parse(&["run", "c.wasm", "--allow-host", "example.com", "spec"]).is_err());
        assert!(parse(&["run", "c.wasm", "--allow-host", "https://x.io/path", "spec"]).is_err());
        assert!(parse(&["run", "c.wasm", "check"]).is_err());
        assert!(parse(&["run", "c.wasm", "read", "--config", "c.json"]).is_err());
        assert!(parse(&["run", "c.wasm", "--timeout-secs", "0", "spec"]).is_err());
        assert!(parse(&["run", "c.wasm"]).is_err());
        assert!(parse(&["run", "c.wasm", "--max-memory-mib", "0", "spec"]).is_err());
        assert!(parse(&["run", "c.wasm", "--max-memory-mib", "4097", "spec"]).is_err());
        assert!(parse(&["run", "c.wasm", "--cpu-deadline-secs", "0", "spec"]).is_err());
        assert!(parse(&["run", "c.wasm", "--no-cache", "--cache-dir", "d", "spec"]).is_err());
    }

    #[test]
    fn concurrency() {
        let read = ["run", "c.wasm", "read", "--config", "c", "--catalog", "k"];
        let with = |extra: &[&'static str]| {
            let mut args = read.to_vec();
            args.extend_from_slice(extra);
            parse(&args).map(|run| run.options().concurrency.get())
        };
        assert_eq!(with(&[]).expect("default"), 2);
        assert_eq!(with(&["--concurrency", "1"]).expect("one"), 1);
        assert_eq!(with(&["--concurrency", "16"]).expect("sixteen"), 16);
        assert!(with(&["--concurrency", "0"]).is_err());
        assert!(with(&["--concurrency", "17"]).is_err());
        assert!(with(&["--concurrency", "two"]).is_err());
        assert!(parse(&["run", "c.wasm", "spec", "--concurrency", "3"]).is_err());
    }

    #[test]
    fn network_policy_flags_before_the_component_or_after_the_command() {
        assert_eq!(
            parse(&["run", "c.wasm", "spec"])
                .map(|r| r.options().network)
                .ok(),
            Some(NetworkPolicy::default())
        );
        let private_only = NetworkPolicy {
            allow_private: true,
            allow_plain_http: false,
        };
        for args in [
            &["run", "--allow-private-network", "c.wasm", "spec"][..],
            &["run", "c.wasm", "spec", "--allow-private-network"],
            &["run", "c.wasm", "--allow-private-network", "spec"],
        ] {
            let policy = parse(args).map(|r| r.options().network);
            assert_eq!(policy.ok(), Some(private_only), "{args:?}");
        }
        let both = parse(&[
            "run",
            "--allow-plain-http",
            "c.wasm",
            "check",
            "--config",
            "c.json",
            "--allow-private-network",
        ]);
        assert_eq!(
            both.map(|r| r.options().network).ok(),
            Some(NetworkPolicy::PERMISSIVE)
        );
    }

    #[test]
    fn no_cache() {
        let run = parse(&["run", "c.wasm", "spec", "--no-cache"]).expect("parse");
        assert_eq!(run.options().cache, CachePolicy::Disabled);
    }

    #[test]
    fn inspect() {
        let cli = Cli::try_parse_from(["host", "inspect", "c.wasm", "--json"]).expect("parse");
        match cli.command {
            TopCommand::Inspect(args) => {
                assert_eq!(args.component, PathBuf::from("c.wasm"));
                assert!(args.json);
                assert_eq!(args.cache.policy(), CachePolicy::UserCacheDir);
            }
            TopCommand::Run(_) => panic!("parsed as run"),
        }
    }

    #[test]
    fn help_documents_every_limit() {
        let mut command = Cli::command();
        let help = command
            .find_subcommand_mut("run")
            .expect("run")
            .render_long_help()
            .to_string();
        for flag in [
            "--max-memory-mib",
            "--cpu-deadline-secs",
            "--timeout-secs",
            "--max-response-bytes",
            "--no-cache",
            "--cache-dir",
            "--concurrency",
        ] {
            assert!(help.contains(flag), "{flag} missing from the help");
        }
    }
}
