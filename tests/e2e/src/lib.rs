//! Helpers for the end-to-end tests: build and run the real `host` with the real
//! `stigg.wasm`, capture its output, and check every message against the Airbyte
//! protocol and every record against the schema `discover` declares.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::{json, Value};
use stigg_standin::{Standin, StandinConfig};
pub use test_support::Output;

/// The API key the stand-in accepts in tests. Distinctive, so a leak is easy to grep.
pub const API_KEY: &str = "e2e-secret-key-5f3a9c";

/// Paths of the built host and component.
pub struct Artifacts {
    pub host: PathBuf,
    pub wasm: PathBuf,
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Builds the host (debug) and the component once per test process, unless
/// STIGG_HOST and STIGG_WASM name prebuilt ones.
pub fn artifacts() -> &'static Artifacts {
    static ARTIFACTS: OnceLock<Artifacts> = OnceLock::new();
    ARTIFACTS.get_or_init(|| {
        let root = workspace_root();
        if let (Ok(host), Ok(wasm)) = (std::env::var("STIGG_HOST"), std::env::var("STIGG_WASM")) {
            return Artifacts {
                host: host.into(),
                wasm: wasm.into(),
            };
        }
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        for args in [
            &["build", "-q", "-p", "host-cli"][..],
            &[
                "build",
                "-q",
                "-p",
                "stigg-connector",
                "--target",
                "wasm32-wasip2",
                "--profile",
                "component",
            ],
        ] {
            let status = Command::new(&cargo)
                .args(args)
                .current_dir(&root)
                .status()
                .expect("run cargo");
            assert!(status.success(), "cargo {args:?} failed");
        }
        Artifacts {
            host: root.join("target/debug/host"),
            wasm: root.join("target/wasm32-wasip2/component/stigg.wasm"),
        }
    })
}

/// What the end-to-end tests read from a sync's output beyond the messages.
pub trait SyncOutput {
    fn full_refresh_requests(&self, stream: &str, page_size: usize) -> usize;
}

impl SyncOutput for Output {
    /// The requests a full refresh of `stream` needs when nothing fails: one
    /// per page of each partition (an empty one still takes one), plus, when
    /// the stream was split, its first page and its newest row. Any other
    /// count means a page was read twice or skipped.
    fn full_refresh_requests(&self, stream: &str, page_size: usize) -> usize {
        let pages = |rows: usize| rows.div_ceil(page_size).max(1);
        let created: Vec<Option<i64>> = self
            .records(stream)
            .map(|r| {
                r["createdAt"]
                    .as_str()
                    .and_then(graphql_source::time::parse_rfc3339_ms)
            })
            .collect();
        let plan = self.states(stream).find_map(|m| {
            let partitions = m["state"]["stream"]["stream_state"]["partitions"].as_array()?;
            (partitions.len() > 1).then(|| partitions.clone())
        });
        let Some(plan) = plan else {
            return pages(created.len());
        };
        let bound = |b: &Value| b.as_str().and_then(graphql_source::time::parse_rfc3339_ms);
        let holds = |range: &Value, at: Option<i64>| match (range, at) {
            (Value::String(null), at) if null == "null" => at.is_none(),
            (Value::Object(r), Some(at)) => {
                let b = &r["between"];
                bound(&b["gte"]).is_none_or(|low| low <= at)
                    && bound(&b["lt"]).is_none_or(|high| at < high)
            }
            _ => false,
        };
        2 + plan
            .iter()
            .map(|p| pages(created.iter().filter(|at| holds(&p["range"], **at)).count()))
            .sum::<usize>()
    }
}

/// Files for one command, in a temporary directory.
pub struct Inputs {
    pub config: Option<Value>,
    pub catalog: Option<Value>,
    /// Raw text, so tests can pass malformed state.
    pub state: Option<String>,
}

/// The host flag that lets the connector reach the stand-in on 127.0.0.1.
pub const ALLOW_LOCAL: &str = "--allow-private-network";

/// Runs `host run stigg.wasm <command>` with the given inputs and extra host
/// flags, allowed to reach the stand-in ([`ALLOW_LOCAL`]).
pub fn run(command: &str, inputs: &Inputs, flags: &[&str]) -> Output {
    let mut all = vec![ALLOW_LOCAL];
    all.extend_from_slice(flags);
    run_under_policy(command, inputs, &all)
}

/// As [`run`], under the host's default network policy: no private network.
pub fn run_under_policy(command: &str, inputs: &Inputs, flags: &[&str]) -> Output {
    let dir = tempfile::tempdir().expect("temp dir");
    let write = |name: &str, text: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write input");
        path.to_string_lossy().into_owned()
    };
    let mut args: Vec<String> = vec![
        "run".into(),
        artifacts().wasm.to_string_lossy().into_owned(),
    ];
    args.extend(flags.iter().map(|f| f.to_string()));
    args.push(command.into());
    if let Some(config) = &inputs.config {
        args.extend(["--config".into(), write("config.json", config.to_string())]);
    }
    if let Some(catalog) = &inputs.catalog {
        args.extend([
            "--catalog".into(),
            write("catalog.json", catalog.to_string()),
        ]);
    }
    if let Some(state) = &inputs.state {
        args.extend(["--state".into(), write("state.json", state.clone())]);
    }
    run_host(&args)
}

/// Runs the host with raw arguments; every line it printed must be a valid
/// Airbyte message.
pub fn run_host(args: &[String]) -> Output {
    let run = Command::new(&artifacts().host)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run host");
    Output::messages(run)
}

/// The stand-in with `customers` customers of 2 subscriptions each, keyed
/// by [`API_KEY`].
pub fn standin(customers: usize) -> Standin {
    Standin::start(StandinConfig {
        api_key: API_KEY.into(),
        customers,
        subscriptions_per_customer: 2,
        ..Default::default()
    })
}

/// A config for the stand-in at `url`, pacing off (tests of pacing set
/// their own limits).
pub fn config(url: &str) -> Value {
    json!({ "api_key": API_KEY, "base_url": url, "page_size": 50,
            "rate_limits": { "*": 6_000_000 } })
}

/// `host run ... read` against the stand-in, with the test config (and the
/// `extra` keys over it), a catalog of `streams` and the state, if any. Checks
/// what every read must hold: the API key never shows, and the stand-in found
/// every query valid.
pub fn read_standin(
    server: &Standin,
    streams: &[(&str, &str)],
    extra: Value,
    state: Option<String>,
) -> Output {
    let mut config = config(&server.url());
    if let (Some(config), Value::Object(extra)) = (config.as_object_mut(), extra) {
        config.extend(extra);
    }
    let inputs = Inputs {
        config: Some(config),
        catalog: Some(catalog(streams)),
        state,
    };
    let out = run("read", &inputs, &[]);
    out.assert_no_leak(API_KEY);
    assert!(
        server.invalid_queries().is_empty(),
        "invalid queries: {:?}",
        server.invalid_queries()
    );
    out
}

/// A configured catalog selecting `streams` (name, sync mode).
pub fn catalog(streams: &[(&str, &str)]) -> Value {
    let entries: Vec<Value> = streams
        .iter()
        .map(|(name, mode)| {
            json!({
                "stream": { "name": name, "json_schema": {}, "supported_sync_modes": ["full_refresh"] },
                "sync_mode": mode,
                "destination_sync_mode": "append",
            })
        })
        .collect();
    json!({ "streams": entries })
}

/// The record schemas `discover` declares, by stream, compiled.
pub fn record_validators(config: &Value) -> HashMap<String, jsonschema::Validator> {
    record_validators_for(config, None)
}

/// As [`record_validators`], each schema narrowed to the columns `catalog`
/// selects (the properties of its `json_schema`, where it lists any): a
/// deselected column is neither present nor required.
pub fn record_validators_for(
    config: &Value,
    catalog: Option<&Value>,
) -> HashMap<String, jsonschema::Validator> {
    let selected = |name: &str| -> Option<Vec<String>> {
        let entries = catalog?["streams"].as_array()?;
        let entry = entries.iter().find(|e| e["stream"]["name"] == name)?;
        let properties = entry["stream"]["json_schema"]["properties"].as_object()?;
        Some(properties.keys().cloned().collect())
    };
    let out = run(
        "discover",
        &Inputs {
            config: Some(config.clone()),
            catalog: None,
            state: None,
        },
        &[],
    );
    assert_eq!(out.code, 0, "discover failed: {}", out.stdout);
    let catalog = out.of_type("CATALOG").next().expect("a CATALOG");
    catalog["catalog"]["streams"]
        .as_array()
        .expect("streams")
        .iter()
        .map(|s| {
            let name = s["name"].as_str().expect("name");
            let mut schema = s["json_schema"].clone();
            if let (Some(columns), Some(required)) =
                (selected(name), schema["required"].as_array_mut())
            {
                required.retain(|r| r.as_str().is_some_and(|r| columns.iter().any(|c| c == r)));
            }
            let validator = jsonschema::draft7::new(&schema).expect("record schema compiles");
            (name.to_owned(), validator)
        })
        .collect()
}

/// Asserts every record of `out` is valid against its stream's schema.
pub fn check_records(out: &Output, validators: &HashMap<String, jsonschema::Validator>) {
    for message in out.of_type("RECORD") {
        let stream = message["record"]["stream"].as_str().expect("stream");
        let validator = validators
            .get(stream)
            .unwrap_or_else(|| panic!("record of undeclared stream {stream}"));
        let data = &message["record"]["data"];
        let errors: Vec<String> = validator
            .iter_errors(data)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{stream} record {data} does not match its schema: {errors:?}"
        );
    }
}
