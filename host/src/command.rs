//! One Airbyte command from start to exit code: read the input files, build
//! the allow-list, call the component, report what the component could not.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::allowlist::{AllowList, OriginOverrides};
use crate::cache::ComponentCache;
use crate::catalog_split::{self, StreamCatalog};
use crate::concurrent;
use crate::http_client::HttpClient;
use crate::messages::{self, FailureType};
use crate::options::{Exchanges, RunOptions};
use crate::outcome::{finish, report_host_failure, write_line, Outcome};
use crate::output::MessageWriter;
use crate::recording::{self, Recorder, Replayer, Secrets};
use crate::runtime::{CallError, CommandResult, ComponentSource, ConnectorRuntime, Session};
use crate::transport::{Debugging, Network, Transport};

/// An Airbyte command as a runner gives it: file paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Spec,
    Check {
        config: PathBuf,
    },
    Discover {
        config: PathBuf,
    },
    Read {
        config: PathBuf,
        catalog: PathBuf,
        state: Option<PathBuf>,
    },
}

/// The same command with the files' texts, as the component receives them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    Spec,
    Check {
        config: String,
    },
    Discover {
        config: String,
    },
    Read {
        config: String,
        catalog: String,
        state: Option<String>,
    },
}

/// An input file that could not be used. Says which file and why, never
/// what is in it (the config holds an API key).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot read the {what} file {path}: {reason}")]
pub struct InputError {
    pub what: &'static str,
    pub path: String,
    pub reason: String,
}

impl Command {
    /// Reads the files the command names.
    pub fn load(&self) -> Result<Invocation, InputError> {
        Ok(match self {
            Self::Spec => Invocation::Spec,
            Self::Check { config } => Invocation::Check {
                config: read_text(config, "config")?,
            },
            Self::Discover { config } => Invocation::Discover {
                config: read_text(config, "config")?,
            },
            Self::Read {
                config,
                catalog,
                state,
            } => Invocation::Read {
                config: read_text(config, "config")?,
                catalog: read_text(catalog, "catalog")?,
                state: state
                    .as_deref()
                    .map(|s| read_text(s, "state"))
                    .transpose()?,
            },
        })
    }
}

impl Invocation {
    fn config(&self) -> Option<&str> {
        match self {
            Self::Spec => None,
            Self::Check { config } | Self::Discover { config } | Self::Read { config, .. } => {
                Some(config)
            }
        }
    }
}

/// The largest config, catalog or state file a host reads: far beyond any
/// real one, and small enough to copy into a component's memory.
pub const MAX_INPUT_BYTES: u64 = 64 * 1024 * 1024;

fn read_text(path: &Path, what: &'static str) -> Result<String, InputError> {
    let error = |reason: String| InputError {
        what,
        path: path.display().to_string(),
        reason,
    };
    let mut bytes = Vec::new();
    // Read no more than the cap and a byte, whatever the file claims to be.
    fs::File::open(path)
        .and_then(|file| file.take(MAX_INPUT_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| error(e.to_string()))?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(error(format!(
            "larger than the host's limit of {} MiB for an input file",
            MAX_INPUT_BYTES >> 20
        )));
    }
    // `Utf8Error`'s message gives an offset, not the bytes.
    String::from_utf8(bytes).map_err(|e| error(format!("not UTF-8 text ({})", e.utf8_error())))
}

/// Runs one command: reads its files, loads the component, runs it.
pub fn run(
    source: ComponentSource<'_>,
    command: &Command,
    options: &RunOptions,
    output: MessageWriter,
) -> Outcome {
    match command.load() {
        Ok(invocation) => run_invocation(source, &invocation, options, output),
        Err(error) => report_input_error(command, &error, output),
    }
}

/// Runs a command whose inputs are already in memory.
pub fn run_invocation(
    source: ComponentSource<'_>,
    invocation: &Invocation,
    options: &RunOptions,
    output: MessageWriter,
) -> Outcome {
    let cache = ComponentCache::for_policy(&options.cache);
    let log = |message: &str| {
        if options.verbose {
            eprintln!("host: {message}");
        }
    };
    match ConnectorRuntime::load_with(source, cache.as_ref(), &log) {
        Ok(runtime) => run_with(&runtime, invocation, options, output),
        Err(error) => report_host_failure(
            output,
            &format!("the connector component could not be loaded: {error:#}"),
            &format!("{error:?}"),
        ),
    }
}

/// Runs a command on an already compiled component (to run several commands
/// without compiling again). A `read` of several streams with
/// `options.concurrency` above 1 reads them at once (see `concurrent`).
pub fn run_with(
    runtime: &ConnectorRuntime,
    invocation: &Invocation,
    options: &RunOptions,
    output: MessageWriter,
) -> Outcome {
    if let Invocation::Read {
        config,
        catalog,
        state,
    } = invocation
    {
        if options.concurrency.get() > 1 {
            if let Some(streams) = split(runtime, catalog, options, &output) {
                let transport = match exchanges(runtime, invocation, options, &output) {
                    Ok(transport) => transport,
                    Err(error) => return report_host_failure(output, &error, &error),
                };
                let inputs = (config.as_str(), catalog.as_str(), state.as_deref());
                return concurrent::read(runtime, &streams, inputs, options, transport, output);
            }
        }
    }
    let transport = match exchanges(runtime, invocation, options, &output) {
        Ok(transport) => transport,
        Err(error) => return report_host_failure(output, &error, &error),
    };
    let http =
        HttpClient::over(AllowList::default(), transport).with_max_in_flight(options.concurrency);
    let mut session = runtime.session_with(http, output, &options.limits);
    let result = execute(&mut session, invocation, &options.origins);
    let output = session.into_output();
    finish(output, result)
}

/// The transport under a run's HTTP capability: the network, the network
/// recorded, or a recording.
fn exchanges(
    runtime: &ConnectorRuntime,
    invocation: &Invocation,
    options: &RunOptions,
    output: &MessageWriter,
) -> Result<Arc<dyn Transport>, String> {
    let transport = base_transport(runtime, invocation, options)?;
    Ok(match options.debug {
        true => Arc::new(Debugging::new(transport, output.share())),
        false => transport,
    })
}

fn base_transport(
    runtime: &ConnectorRuntime,
    invocation: &Invocation,
    options: &RunOptions,
) -> Result<Arc<dyn Transport>, String> {
    let network = || Network::new(&options.limits, options.network);
    match &options.exchanges {
        Exchanges::Network => Ok(Arc::new(network())),
        Exchanges::Replay(dir) => Ok(Arc::new(Replayer::load(dir)?)),
        Exchanges::Record(dir) => {
            let fail = |e: std::io::Error| format!("cannot record into {}: {e}", dir.display());
            let config = invocation.config();
            let secrets = secrets(runtime, config, options);
            let inputs = match invocation {
                Invocation::Read { catalog, state, .. } => {
                    (config, Some(catalog.as_str()), state.as_deref())
                }
                _ => (config, None, None),
            };
            let exchanges = recording::start(dir, &secrets, inputs).map_err(fail)?;
            Ok(Arc::new(
                Recorder::new(network(), secrets, &exchanges).map_err(fail)?,
            ))
        }
    }
}

/// The config's secrets, as the component's spec marks them.
fn secrets(runtime: &ConnectorRuntime, config: Option<&str>, options: &RunOptions) -> Secrets {
    let captured = Captured::default();
    let http = HttpClient::new(AllowList::default(), &options.limits, options.network);
    let mut session = runtime.session_with(
        http,
        MessageWriter::new(Box::new(captured.clone())),
        &options.limits,
    );
    let _ = session.spec();
    drop(session);
    let spec = captured.text();
    let spec = spec
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|m| m["type"] == "SPEC")
        .map(|m| m["spec"]["connectionSpecification"].clone())
        .unwrap_or_default();
    let config = config
        .and_then(|c| serde_json::from_str(c).ok())
        .unwrap_or_default();
    Secrets::of(&config, &spec)
}

/// A writer that keeps what it is given.
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        let bytes = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut bytes = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The parts of `catalog` instances may read at once, as the component
/// splits it (checked); `None` to read it whole.
fn split(
    runtime: &ConnectorRuntime,
    catalog: &str,
    options: &RunOptions,
    output: &MessageWriter,
) -> Option<Vec<StreamCatalog>> {
    let http = HttpClient::new(AllowList::default(), &options.limits, options.network);
    let mut session = runtime.session_with(http, output.share(), &options.limits);
    let parts = session.split_catalog(catalog).ok()?;
    catalog_split::split_catalog(catalog, &parts)
}

fn execute(
    session: &mut Session,
    invocation: &Invocation,
    origins: &OriginOverrides,
) -> Result<CommandResult, CallError> {
    if let Some(config) = invocation.config() {
        let (allow, _) = origins.resolve(|| session.declared_origins(config))?;
        session.set_allow_list(allow);
    }
    match invocation {
        Invocation::Spec => session.spec(),
        Invocation::Check { config } => session.check(config),
        Invocation::Discover { config } => session.discover(config),
        Invocation::Read {
            config,
            catalog,
            state,
        } => session.read(config, catalog, state.as_deref()),
    }
}

/// A missing or unreadable file: for `check` a FAILED connection status (the
/// check ran and found the config unusable), otherwise a config error.
fn report_input_error(command: &Command, error: &InputError, mut output: MessageWriter) -> Outcome {
    let message = capitalised(&error.to_string());
    let (line, outcome) = match command {
        Command::Check { .. } => (messages::connection_failed(&message), Outcome::Completed),
        _ => (
            messages::trace_error(&message, &message, FailureType::ConfigError),
            Outcome::CommandFailed,
        ),
    };
    write_line(&mut output, &line).unwrap_or(outcome)
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::Recorder;

    /// A file in a directory removed when the returned guard drops.
    fn temp_file(name: &str, contents: &[u8]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(name);
        fs::write(&path, contents).expect("write");
        (dir, path)
    }

    const NOT_WASM: ComponentSource<'static> = ComponentSource::Bytes(b"not a component");

    /// Unit tests leave the user's cache alone.
    fn options() -> RunOptions {
        RunOptions {
            cache: crate::options::CachePolicy::Disabled,
            ..RunOptions::default()
        }
    }

    #[test]
    fn check_with_missing_config_is_a_failed_status() {
        let out = Recorder::default();
        let command = Command::Check {
            config: "/nonexistent/config.json".into(),
        };
        let outcome = run(NOT_WASM, &command, &options(), out.writer());
        assert_eq!(outcome, Outcome::Completed);
        let messages = out.messages();
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0]["connectionStatus"]["status"], "FAILED");
        let text = messages[0]["connectionStatus"]["message"]
            .as_str()
            .unwrap_or("");
        assert!(text.contains("/nonexistent/config.json"), "{text}");
    }

    #[test]
    fn read_with_missing_catalog_is_a_config_error() {
        let (_dir, config) = temp_file("config.json", br#"{"api_key":"SECRET-KEY"}"#);
        let out = Recorder::default();
        let command = Command::Read {
            config,
            catalog: "/nonexistent/catalog.json".into(),
            state: None,
        };
        let outcome = run(NOT_WASM, &command, &options(), out.writer());
        assert_eq!(outcome, Outcome::CommandFailed);
        let messages = out.messages();
        assert_eq!(
            messages[0]["trace"]["error"]["failure_type"],
            "config_error"
        );
        let text = messages[0].to_string();
        assert!(text.contains("catalog"), "{text}");
        assert!(!text.contains("SECRET-KEY"), "{text}");
    }

    #[test]
    fn invalid_utf8_is_reported_without_contents() {
        let (_dir, config) = temp_file("bad.json", b"{\"api_key\":\"SECRET\xff\"}");
        let error = read_text(&config, "config").expect_err("not utf-8");
        assert!(error.reason.contains("UTF-8"), "{error}");
        assert!(!error.to_string().contains("SECRET"), "{error}");
    }

    #[test]
    fn a_file_over_the_input_cap_is_refused_after_reading_at_most_the_cap() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.json");
        let file = fs::File::create(&path).expect("create");
        file.set_len(MAX_INPUT_BYTES + 1).expect("a sparse file");
        let error = read_text(&path, "state").expect_err("too large");
        assert_eq!(
            error.to_string(),
            format!(
                "cannot read the state file {}: larger than the host's limit of 64 MiB for an \
                 input file",
                path.display()
            )
        );
    }

    #[test]
    fn bad_component_is_a_system_error() {
        let out = Recorder::default();
        let outcome = run(NOT_WASM, &Command::Spec, &options(), out.writer());
        assert_eq!(outcome, Outcome::HostFailed);
        let messages = out.messages();
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0]["type"], "TRACE");
        assert_eq!(
            messages[0]["trace"]["error"]["failure_type"],
            "system_error"
        );
        let text = messages[0]["trace"]["error"]["message"]
            .as_str()
            .unwrap_or("");
        assert!(text.contains("could not be loaded"), "{text}");
    }

    #[test]
    fn missing_component_file_is_a_system_error() {
        let out = Recorder::default();
        let source = ComponentSource::File(Path::new("/nonexistent/connector.wasm"));
        let outcome = run(source, &Command::Spec, &options(), out.writer());
        assert_eq!(outcome, Outcome::HostFailed);
        let text = out.messages()[0]["trace"]["error"]["message"].to_string();
        assert!(text.contains("/nonexistent/connector.wasm"), "{text}");
    }

    #[test]
    fn exit_codes() {
        assert_eq!(Outcome::Completed.exit_code(), 0);
        assert_eq!(Outcome::CommandFailed.exit_code(), 1);
        assert_eq!(Outcome::HostFailed.exit_code(), 1);
        assert_eq!(Outcome::OutputClosed.exit_code(), 1);
    }
}
