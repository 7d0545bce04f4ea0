//! `read --concurrency N`: the real host running stigg.wasm against the
//! stand-in (and the probe component for crashes), one instance per stream.

mod common;

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{host, probe_wasm, stigg_wasm, Output, HOST};
use serde_json::{json, Value};
use stigg_standin::{decode_cursor, Standin, StandinConfig};

const API_KEY: &str = "host-concurrency-key-7d21";

/// (stream, the stand-in's root field)
const STREAMS: [(&str, &str); 3] = [
    ("customers", "customers"),
    ("subscriptions", "subscriptions"),
    ("plans", "plans"),
];

fn standin(customers: usize, latency_ms: u64) -> Standin {
    Standin::start(StandinConfig {
        api_key: API_KEY.into(),
        customers,
        subscriptions_per_customer: 2,
        latency_ms,
        ..Default::default()
    })
}

fn catalog(streams: &[&str]) -> Value {
    let entries: Vec<Value> = streams
        .iter()
        .map(|name| {
            json!({
                "stream": { "name": name, "json_schema": {}, "supported_sync_modes": ["full_refresh"] },
                "sync_mode": "full_refresh",
                "destination_sync_mode": "overwrite",
            })
        })
        .collect();
    json!({ "streams": entries })
}

/// `host run <component> read` with these files and flags.
fn read(
    component: &str,
    config: &Value,
    catalog: &Value,
    state: Option<&str>,
    flags: &[&str],
) -> Output {
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        path.to_string_lossy().into_owned()
    };
    // The stand-in listens on 127.0.0.1.
    let mut args: Vec<String> = vec![
        "run".into(),
        "--allow-private-network".into(),
        component.into(),
        "read".into(),
    ];
    args.extend(["--config".into(), write("config.json", &config.to_string())]);
    args.extend([
        "--catalog".into(),
        write("catalog.json", &catalog.to_string()),
    ]);
    if let Some(state) = state {
        args.extend(["--state".into(), write("state.json", state)]);
    }
    args.extend(flags.iter().map(|f| f.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = host(&args, &[]);
    for message in &out.messages {
        assert!(message.is_object(), "not a JSON object: {message}");
        assert!(message["type"].is_string(), "no type: {message}");
    }
    assert!(
        !out.stdout.contains(API_KEY) && !out.stderr.contains(API_KEY),
        "the key leaked"
    );
    out
}

fn read_stigg(server: &Standin, streams: &[&str], flags: &[&str]) -> Output {
    let config = json!({ "api_key": API_KEY, "base_url": server.url(), "page_size": 50 });
    let stigg = stigg_wasm().to_string_lossy().into_owned();
    read(&stigg, &config, &catalog(streams), None, flags)
}

/// The stream a message is about, if any.
fn stream_of(message: &Value) -> Option<&str> {
    match message["type"].as_str()? {
        "RECORD" => message["record"]["stream"].as_str(),
        "STATE" => message["state"]["stream"]["stream_descriptor"]["name"].as_str(),
        "TRACE" => {
            let trace = &message["trace"];
            trace["stream_status"]["stream_descriptor"]["name"]
                .as_str()
                .or_else(|| trace["estimate"]["name"].as_str())
                .or_else(|| trace["error"]["stream_descriptor"]["name"].as_str())
        }
        _ => None,
    }
}

fn statuses(out: &Output, stream: &str) -> Vec<String> {
    out.messages
        .iter()
        .filter(|m| m["type"] == "TRACE" && m["trace"]["type"] == "STREAM_STATUS")
        .filter(|m| stream_of(m) == Some(stream))
        .map(|m| {
            m["trace"]["stream_status"]["status"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect()
}

fn trace_errors(out: &Output) -> Vec<&Value> {
    out.messages
        .iter()
        .filter(|m| m["type"] == "TRACE" && m["trace"]["type"] == "ERROR")
        .map(|m| &m["trace"]["error"])
        .collect()
}

/// Every record exactly once; each STATE follows its own page's records
/// (its recordCount is the number of the stream's records since its last
/// STATE), the pages' cursors move forward, and the last STATE says the
/// stream is complete; the statuses are STARTED, RUNNING, COMPLETE.
fn assert_stream_read_in_order(out: &Output, server: &Standin, stream: &str, root_field: &str) {
    let mut ids = Vec::new();
    let mut since_state = 0u64;
    let mut states = Vec::new();
    for message in out.messages.iter().filter(|m| stream_of(m) == Some(stream)) {
        match message["type"].as_str() {
            Some("RECORD") => {
                ids.push(
                    message["record"]["data"]["id"]
                        .as_str()
                        .expect("id")
                        .to_owned(),
                );
                since_state += 1;
            }
            Some("STATE") => {
                let counted = message["state"]["sourceStats"]["recordCount"].as_f64();
                assert_eq!(
                    counted,
                    Some(since_state as f64),
                    "{stream}: a STATE out of place"
                );
                since_state = 0;
                states.push(message["state"]["stream"]["stream_state"].clone());
            }
            _ => {}
        }
    }
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "{stream}: a record twice");
    let expected: HashSet<String> = server.ids(root_field).into_iter().collect();
    assert!(!expected.is_empty(), "the stand-in serves {root_field}");
    assert_eq!(
        unique,
        expected.iter().collect(),
        "{stream}: records differ"
    );
    assert_eq!(since_state, 0, "{stream}: records after the last STATE");
    let (last, pages) = states.split_last().expect("a STATE");
    assert_eq!(
        last,
        &json!({ "mode": "full_refresh_complete" }),
        "{stream}"
    );
    // Each partition (the whole stream, or a creation-time range of a large
    // one) moves forward page by page.
    let mut offsets: HashMap<String, Vec<usize>> = HashMap::new();
    for state in pages {
        for part in state["partitions"].as_array().expect("partitions") {
            if let Some(after) = part["after"].as_str() {
                let offset = decode_cursor(after).expect("a cursor");
                offsets
                    .entry(part["range"].to_string())
                    .or_default()
                    .push(offset);
            }
        }
    }
    for (range, offsets) in offsets {
        assert!(
            offsets.windows(2).all(|w| w[0] < w[1]),
            "{stream} {range}: {offsets:?}"
        );
    }
    assert_eq!(
        statuses(out, stream),
        ["STARTED", "RUNNING", "COMPLETE"],
        "{stream}"
    );
}

/// The streams in the order their messages appear, each run of one
/// stream's messages once.
fn stream_runs(out: &Output) -> Vec<&str> {
    let mut runs: Vec<&str> = Vec::new();
    for stream in out.messages.iter().filter_map(stream_of) {
        if runs.last() != Some(&stream) {
            runs.push(stream);
        }
    }
    runs
}

#[test]
fn three_streams_at_once_each_complete_and_in_order() {
    // 300 customers in pages of 50 at 30 ms a request: customers is still
    // being read when the others start.
    let server = standin(300, 30);
    let names: Vec<&str> = STREAMS.iter().map(|(s, _)| *s).collect();
    let out = read_stigg(&server, &names, &["--concurrency", "3"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(trace_errors(&out).is_empty(), "{}", out.stdout);
    for (stream, root_field) in STREAMS {
        assert_stream_read_in_order(&out, &server, stream, root_field);
    }
    // The streams really were read at once: their messages interleave.
    let runs = stream_runs(&out);
    assert!(runs.len() > STREAMS.len(), "no interleaving: {runs:?}");
    assert!(
        server.invalid_queries().is_empty(),
        "{:?}",
        server.invalid_queries()
    );
}

#[test]
fn streams_that_share_requests_are_read_by_one_instance() {
    // package_prices comes from the plans and addons pages: the component's
    // split keeps it with plans, and each of their pages is asked for once.
    let server = standin(300, 10);
    let out = read_stigg(
        &server,
        &["customers", "plans", "package_prices"],
        &["--concurrency", "3", "--verbose"],
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(trace_errors(&out).is_empty(), "{}", out.stdout);
    let pages = |rows: usize| rows.div_ceil(50) as u64;
    assert_eq!(
        server.root_field_count("plans"),
        pages(server.ids("plans").len())
    );
    assert_eq!(
        server.root_field_count("addons"),
        pages(server.ids("addons").len())
    );
    assert!(
        out.stderr.contains("stream `customers`: reading"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("stream `plans`: reading"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("stream `package_prices`: reading"),
        "{}",
        out.stderr
    );
    assert!(
        out.messages
            .iter()
            .any(|m| m["type"] == "RECORD" && m["record"]["stream"] == "package_prices"),
        "no package_prices record"
    );
}

#[test]
fn the_default_is_two_at_once_and_matches_one_at_a_time() {
    let server = standin(120, 0);
    let names: Vec<&str> = STREAMS.iter().map(|(s, _)| *s).collect();
    let default = read_stigg(&server, &names, &["-v"]);
    assert_eq!(default.code, 0, "{}", default.stdout);
    assert!(
        default
            .stderr
            .contains("reading 3 streams, up to 2 at once"),
        "{}",
        default.stderr
    );
    let one = read_stigg(&server, &names, &["--concurrency", "1"]);
    assert_eq!(one.code, 0, "{}", one.stdout);
    // The same messages, whatever the order they came in.
    let key = |out: &Output| {
        let mut lines: Vec<String> = out
            .messages
            .iter()
            .filter(|m| m["type"] == "RECORD" || m["type"] == "STATE")
            .map(|m| {
                let mut m = m.clone();
                if let Some(record) = m.get_mut("record") {
                    record["emitted_at"] = Value::Null;
                }
                m.to_string()
            })
            .collect();
        lines.sort();
        lines
    };
    assert_eq!(key(&default), key(&one));
    for (stream, root_field) in STREAMS {
        assert_stream_read_in_order(&default, &server, stream, root_field);
    }
}

#[test]
fn one_at_a_time_reads_the_streams_one_after_another() {
    let server = standin(120, 5);
    let names: Vec<&str> = STREAMS.iter().map(|(s, _)| *s).collect();
    let out = read_stigg(&server, &names, &["--concurrency", "1", "-v"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert_eq!(stream_runs(&out), names);
    for (stream, root_field) in STREAMS {
        assert_stream_read_in_order(&out, &server, stream, root_field);
    }
    assert!(!out.stderr.contains("at once"), "{}", out.stderr);
}

#[test]
fn a_bad_key_is_reported_once_and_stops_every_stream() {
    let server = standin(10, 0);
    let config = json!({ "api_key": "not-the-key-913", "base_url": server.url() });
    let stigg = stigg_wasm().to_string_lossy().into_owned();
    let names: Vec<&str> = STREAMS.iter().map(|(s, _)| *s).collect();
    let out = read(
        &stigg,
        &config,
        &catalog(&names),
        None,
        &["--concurrency", "3"],
    );
    assert_eq!(out.code, 1, "{}", out.stdout);
    let errors = trace_errors(&out);
    assert_eq!(errors.len(), 1, "{}", out.stdout);
    assert_eq!(errors[0]["failure_type"], "config_error");
    // The lead's schema query and first page, both refused.
    assert_eq!(server.request_count(), 2, "the other streams never started");
    assert_eq!(statuses(&out, "customers"), ["STARTED", "INCOMPLETE"]);
    assert!(statuses(&out, "subscriptions").is_empty());
}

#[test]
fn a_bad_config_or_state_is_reported_once() {
    let server = standin(10, 0);
    let stigg = stigg_wasm().to_string_lossy().into_owned();
    let names: Vec<&str> = STREAMS.iter().map(|(s, _)| *s).collect();
    let bad_config = json!({ "api_key": "k", "base_url": server.url(), "page_size": 0 });
    let good_config = json!({ "api_key": API_KEY, "base_url": server.url() });
    let allow = server.base_url();
    for (config, state, flags) in [
        (&bad_config, None, vec!["--concurrency", "3"]),
        // The component is not asked for origins: the instances start, the
        // first one reports the config, and no other starts.
        (
            &bad_config,
            None,
            vec!["--concurrency", "3", "--allow-host", &allow],
        ),
        (&good_config, Some("7"), vec!["--concurrency", "3"]),
    ] {
        let out = read(&stigg, config, &catalog(&names), state, &flags);
        assert_eq!(out.code, 1, "{}", out.stdout);
        let errors = trace_errors(&out);
        assert_eq!(errors.len(), 1, "{flags:?}: {}", out.stdout);
        assert_eq!(errors[0]["failure_type"], "config_error");
        assert!(out.messages.iter().all(|m| m["type"] != "RECORD"));
    }
    assert_eq!(server.request_count(), 0);
}

#[test]
fn a_catalog_that_does_not_split_is_read_whole_and_reported_by_the_component() {
    let server = standin(10, 0);
    let twice = catalog(&["plans", "plans"]);
    let out = read_stigg_catalog(&server, &twice);
    assert_eq!(out.code, 1, "{}", out.stdout);
    let errors = trace_errors(&out);
    assert_eq!(errors.len(), 1, "{}", out.stdout);
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("twice"),
        "{}",
        errors[0]
    );
    assert_eq!(server.request_count(), 0);
}

fn read_stigg_catalog(server: &Standin, catalog: &Value) -> Output {
    let config = json!({ "api_key": API_KEY, "base_url": server.url() });
    let stigg = stigg_wasm().to_string_lossy().into_owned();
    read(&stigg, &config, catalog, None, &["--concurrency", "3"])
}

#[test]
fn each_crashing_instance_gets_its_own_trace_naming_its_stream() {
    let probe = probe_wasm().to_string_lossy().into_owned();
    let names = ["a", "b", "c"];
    let out = read(
        &probe,
        &json!({ "probe": "panic" }),
        &catalog(&names),
        None,
        &["--concurrency", "2"],
    );
    assert_eq!(out.code, 1, "{out:#?}");
    let errors = trace_errors(&out);
    assert_eq!(errors.len(), 3, "{}", out.stdout);
    let mut named: Vec<&str> = errors
        .iter()
        .map(|e| {
            assert_eq!(e["failure_type"], "system_error");
            assert!(
                e["message"].as_str().unwrap_or("").contains("trapped"),
                "{e}"
            );
            e["stream_descriptor"]["name"].as_str().expect("a stream")
        })
        .collect();
    named.sort_unstable();
    assert_eq!(named, names);
    // One instance, as before: one error, about no stream in particular.
    let one = read(
        &probe,
        &json!({ "probe": "panic" }),
        &catalog(&names),
        None,
        &["--concurrency", "1"],
    );
    assert_eq!(one.code, 1);
    let one_errors = trace_errors(&one);
    assert_eq!(one_errors.len(), 1, "{}", one.stdout);
    assert!(one_errors[0].get("stream_descriptor").is_none());
}

#[test]
fn the_memory_cap_is_per_instance() {
    let probe = probe_wasm().to_string_lossy().into_owned();
    let names = ["a", "b"];
    let flags = ["--concurrency", "2", "--max-memory-mib", "40"];
    let out = read(
        &probe,
        &json!({ "probe": "alloc" }),
        &catalog(&names),
        None,
        &flags,
    );
    assert_eq!(out.code, 1, "{out:#?}");
    let by_stream: HashMap<&str, &Value> = trace_errors(&out)
        .into_iter()
        .map(|e| (e["stream_descriptor"]["name"].as_str().unwrap_or(""), e))
        .collect();
    assert_eq!(by_stream.len(), 2, "{}", out.stdout);
    for error in by_stream.values() {
        assert!(
            error["message"]
                .as_str()
                .unwrap_or("")
                .contains("memory limit of 40 MiB"),
            "{error}"
        );
    }
}

#[test]
fn a_closed_stdout_stops_every_instance() {
    let server = standin(3000, 0);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config.json");
    let catalog_path = dir.path().join("catalog.json");
    let config_text = json!({ "api_key": API_KEY, "base_url": server.url(), "page_size": 20 });
    std::fs::write(&config, config_text.to_string()).expect("write");
    std::fs::write(
        &catalog_path,
        catalog(&["customers", "subscriptions", "plans"]).to_string(),
    )
    .expect("write");
    let mut child = Command::new(HOST)
        .args(["run".as_ref(), stigg_wasm().as_os_str(), "read".as_ref()])
        .arg("--config")
        .arg(&config)
        .arg("--catalog")
        .arg(&catalog_path)
        .args(["--concurrency", "3", "--allow-private-network"])
        .env(
            "XDG_CACHE_HOME",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("host-tests-cache-home"),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut first = [0u8; 4096];
    stdout.read_exact(&mut first).expect("some output");
    drop(stdout);
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr.matches("stopped: cannot write messages").count(),
        1,
        "{stderr}"
    );
    let pages = server.request_count();
    // 3000 customers and 6000 subscriptions are 450 pages of 20.
    assert!(
        pages < 100,
        "the instances went on reading: {pages} requests"
    );
}
