//! `source-stigg-wasm`: the Stigg connector as a plain Airbyte source executable,
//! for runners that start a program (PyAirbyte's `local_executable`, scripts,
//! orchestrators): `source-stigg-wasm spec | check | discover | read`.
//!
//! It is a thin launcher: it finds `stigg.wasm` (see [`locate`]) and runs it
//! with the `host` library, exactly as `host run stigg.wasm ...` would: same
//! messages on stdout, same exit codes, same allow-list and network policy
//! (changed through environment variables, which runners can set where they
//! cannot add flags).

use std::env;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use airbyte_cli::AirbyteCommand;
use clap::Parser;
use host::messages::{self, FailureType};
use host::signals::Stop;
use host::{ComponentSource, Exchanges, MessageWriter, NetworkPolicy, RunOptions};

/// Overrides every other place.
const WASM_ENV: &str = "STIGG_WASM";
const WASM_NAME: &str = "stigg.wasm";
/// `host run --allow-private-network` and `--allow-plain-http`.
const ALLOW_PRIVATE_ENV: &str = "STIGG_ALLOW_PRIVATE_NETWORK";
const ALLOW_PLAIN_HTTP_ENV: &str = "STIGG_ALLOW_PLAIN_HTTP";
/// Where `cargo build -p stigg-connector --target wasm32-wasip2 --profile
/// component` puts it, relative to the target directory.
const WASM_IN_TARGET: &str = "wasm32-wasip2/component/stigg.wasm";

const LOCATION_RULE: &str = "\
Where the connector component comes from (the first that applies):
  1. $STIGG_WASM, if set (it must name an existing file);
  2. stigg.wasm in the directory of this executable (how to ship the pair);
  3. ../wasm32-wasip2/component/stigg.wasm from that directory, i.e. the
     component built in the same cargo target directory (target/debug/source-stigg-wasm
     finds target/wasm32-wasip2/component/stigg.wasm);
  4. target/wasm32-wasip2/component/stigg.wasm of the workspace this binary was
     built from.
Build the component with `just component` (or `./dev component`).";

const DETAILS: &str = "\
Messages go to stdout, one JSON object per line; exit status 0 when the command ran to \
the end (a check that reports FAILED included), 1 when it failed (a TRACE ERROR says why), \
2 for usage errors: the same as `host run stigg.wasm <command>`.

Network: the component may reach only the origin of its config's base_url \
(default https://api.stigg.io:443), and only at public addresses over https: loopback, \
private, link-local (cloud metadata), CGNAT, multicast and reserved addresses are refused, \
checked on the address connected to, and so is plain http to anything but loopback. The \
operator lifts these with environment variables: STIGG_ALLOW_PRIVATE_NETWORK=1 (e.g. a \
local test server) and STIGG_ALLOW_PLAIN_HTTP=1 (`host run`'s --allow-private-network and \
--allow-plain-http; 0 or unset keeps the default). Every other setting is `host run`'s \
default; to change the allow-list or the limits, run `host run stigg.wasm [OPTIONS] \
<command>` instead.";

/// The Stigg Airbyte source (a WebAssembly component run on wasmtime).
#[derive(Debug, Parser)]
#[command(
    name = "source-stigg-wasm",
    version,
    about = "Airbyte source for Stigg: spec | check | discover | read",
    after_help = format!("{LOCATION_RULE}\n\n{DETAILS}"),
)]
struct Cli {
    /// Record every HTTP exchange, and the config, catalog and state, into DIR, with the
    /// config's secrets masked, to hand over or replay
    #[arg(long, value_name = "DIR", global = true, conflicts_with = "replay")]
    record: Option<PathBuf>,

    /// Answer every HTTP request from the recording in DIR: no network at all
    #[arg(long, value_name = "DIR", global = true)]
    replay: Option<PathBuf>,

    /// A DEBUG LOG for each HTTP exchange
    #[arg(long, global = true)]
    debug: bool,

    #[command(subcommand)]
    command: AirbyteCommand,
}

/// The places to look for the component, in order (see [`LOCATION_RULE`]).
/// With `$STIGG_WASM` set, it is the only candidate.
fn candidates(from_env: Option<PathBuf>, exe: Option<&Path>) -> Vec<PathBuf> {
    if let Some(path) = from_env {
        return vec![path];
    }
    let mut list = Vec::new();
    if let Some(dir) = exe.and_then(Path::parent) {
        list.push(dir.join(WASM_NAME));
        if let Some(target) = dir.parent() {
            list.push(target.join(WASM_IN_TARGET));
        }
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    list.push(workspace.join("target").join(WASM_IN_TARGET));
    list
}

/// The first candidate that is a file, or every place tried.
fn locate(candidates: Vec<PathBuf>) -> Result<PathBuf, Vec<PathBuf>> {
    match candidates.iter().find(|p| p.is_file()) {
        Some(found) => Ok(found.clone()),
        None => Err(candidates),
    }
}

/// A yes/no environment variable: unset, empty, `0` or `false` is no; `1` or
/// `true` is yes; anything else is a usage error (a typo must not pass as no).
fn flag(name: &str, value: Option<&str>) -> Result<bool, String> {
    let value = value.map(|v| v.trim().to_ascii_lowercase());
    match value.as_deref() {
        None | Some("" | "0" | "false") => Ok(false),
        Some("1" | "true") => Ok(true),
        Some(other) => Err(format!("${name} must be 1 or 0, not {other:?}")),
    }
}

fn network_policy() -> Result<NetworkPolicy, String> {
    let read = |name| flag(name, env::var(name).ok().as_deref());
    Ok(NetworkPolicy {
        allow_private: read(ALLOW_PRIVATE_ENV)?,
        allow_plain_http: read(ALLOW_PLAIN_HTTP_ENV)?,
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let network = match network_policy() {
        Ok(policy) => policy,
        Err(message) => {
            eprintln!("source-stigg-wasm: {message}");
            return ExitCode::from(2);
        }
    };
    let from_env = env::var_os(WASM_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    let exe = env::current_exe()
        .ok()
        .map(|p| p.canonicalize().unwrap_or(p));
    let mut output = MessageWriter::stdout();
    let stop = Stop::on_signals(&output).unwrap_or_else(|error| {
        eprintln!("source-stigg-wasm: cannot handle SIGTERM and SIGINT: {error}");
        Stop::new(&output)
    });
    let wasm = match locate(candidates(from_env, exe.as_deref())) {
        Ok(path) => path,
        Err(tried) => {
            let tried: Vec<String> = tried.iter().map(|p| p.display().to_string()).collect();
            let message = format!(
                "source-stigg-wasm cannot find the connector component {WASM_NAME}; tried: {}. \
                 Build it with `just component`, or set ${WASM_ENV}.",
                tried.join(", ")
            );
            eprintln!("source-stigg-wasm: {message}");
            let line = messages::trace_error(&message, &message, FailureType::SystemError);
            // Nothing more to do if stdout is gone too.
            let _ = output.emit(&line).and_then(|()| output.flush());
            return ExitCode::from(stop.exit_code(1));
        }
    };
    let options = RunOptions {
        network,
        concurrency: cli.command.concurrency(),
        exchanges: Exchanges::from_flags(cli.record.as_ref(), cli.replay.as_ref()),
        debug: cli.debug,
        ..RunOptions::default()
    };
    let outcome = host::run(
        ComponentSource::File(&wasm),
        &cli.command.command(),
        &options,
        output,
    );
    ExitCode::from(stop.exit_code(outcome.exit_code()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("source-stigg-wasm").chain(args.iter().copied()))
    }

    #[test]
    fn definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn airbyte_commands() {
        assert_eq!(
            parse(&["spec"]).expect("spec").command.command(),
            host::Command::Spec
        );
        assert_eq!(
            parse(&["check", "--config", "c.json"])
                .expect("check")
                .command
                .command(),
            host::Command::Check {
                config: "c.json".into()
            }
        );
        let read = parse(&[
            "read",
            "--config",
            "c.json",
            "--catalog",
            "k.json",
            "--state",
            "s.json",
        ])
        .expect("read");
        assert_eq!(
            read.command.command(),
            host::Command::Read {
                config: "c.json".into(),
                catalog: "k.json".into(),
                state: Some("s.json".into()),
            }
        );
        assert!(parse(&["read", "--config", "c.json"]).is_err());
        assert!(parse(&[]).is_err());
    }

    #[test]
    fn reporting_a_problem_takes_host_run_s_flags() {
        let read = ["read", "--config", "c.json", "--catalog", "k.json"];
        let cli = parse(&[&read[..], &["--record", "dir", "--debug"]].concat()).expect("record");
        assert_eq!(
            Exchanges::from_flags(cli.record.as_ref(), cli.replay.as_ref()),
            Exchanges::Record("dir".into())
        );
        assert!(cli.debug);
        let cli = parse(&[&["--replay", "dir"][..], &read].concat()).expect("replay");
        assert_eq!(
            Exchanges::from_flags(cli.record.as_ref(), cli.replay.as_ref()),
            Exchanges::Replay("dir".into())
        );
        let both = parse(&[&read[..], &["--record", "a", "--replay", "b"]].concat());
        assert!(both.is_err(), "--record and --replay together");
    }

    #[test]
    fn policy_variables_are_strict_yes_or_no() {
        for no in [None, Some(""), Some("0"), Some("false"), Some(" 0 ")] {
            assert_eq!(flag("X", no), Ok(false), "{no:?}");
        }
        for yes in [Some("1"), Some("true"), Some("TRUE")] {
            assert_eq!(flag("X", yes), Ok(true), "{yes:?}");
        }
        for typo in ["yes", "on", "2", "l"] {
            let error = flag("X", Some(typo)).expect_err(typo);
            assert!(error.contains("$X must be 1 or 0"), "{error}");
        }
    }

    #[test]
    fn help_names_the_policy_variables() {
        let help = Cli::command().render_help().to_string();
        assert!(help.contains(ALLOW_PRIVATE_ENV) && help.contains(ALLOW_PLAIN_HTTP_ENV));
    }

    #[test]
    fn env_wins_and_is_the_only_candidate() {
        let list = candidates(
            Some("/x/my.wasm".into()),
            Some(Path::new("/a/b/source-stigg-wasm")),
        );
        assert_eq!(list, vec![PathBuf::from("/x/my.wasm")]);
    }

    #[test]
    fn next_to_the_executable_then_the_target_dir() {
        let list = candidates(None, Some(Path::new("/w/target/debug/source-stigg-wasm")));
        assert_eq!(list[0], PathBuf::from("/w/target/debug/stigg.wasm"));
        assert_eq!(
            list[1],
            PathBuf::from("/w/target/wasm32-wasip2/component/stigg.wasm")
        );
        assert!(list[2].ends_with("target/wasm32-wasip2/component/stigg.wasm"));
    }

    #[test]
    fn missing_everywhere_lists_what_was_tried() {
        let tried = locate(vec!["/nonexistent/a.wasm".into()]).expect_err("missing");
        assert_eq!(tried, vec![PathBuf::from("/nonexistent/a.wasm")]);
    }
}
