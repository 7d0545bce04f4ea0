//! Sandbox limits, through the real `host` binary and the probe component:
//! memory cap, CPU deadline (and what it does not count), response cap,
//! a crashing guest.

mod common;

use std::thread;
use std::time::{Duration, Instant};

use common::{response, run_probe, ProbeOutput, Server};
use serde_json::json;

#[test]
fn memory_cap_is_a_trace_naming_the_limit() {
    let out = run_probe(&json!({"probe": "alloc"}), &["--max-memory-mib", "48"]);
    assert_eq!(out.code, 1, "{out:#?}");
    let error = out.trace_error();
    assert_eq!(error["failure_type"], "system_error");
    assert_eq!(
        error["message"],
        "the connector exceeded the memory limit of 48 MiB (--max-memory-mib)"
    );
    // The guest got memory up to the cap, not beyond it.
    let most = out
        .probe_results()
        .iter()
        .filter_map(|r| r["allocated_mib"].as_u64())
        .max();
    assert!(most.is_none_or(|mib| mib <= 48), "{most:?}");
}

#[test]
fn default_memory_cap_is_256_mib() {
    let out = run_probe(&json!({"probe": "alloc"}), &[]);
    assert_eq!(out.code, 1, "{out:#?}");
    let message = out.trace_error()["message"].as_str().unwrap_or_default();
    assert!(message.contains("256 MiB (--max-memory-mib)"), "{message}");
    let most = out
        .probe_results()
        .iter()
        .filter_map(|r| r["allocated_mib"].as_u64())
        .max();
    assert_eq!(most, Some(192), "{out:#?}");
}

#[test]
fn a_cap_below_the_initial_memory_stops_instantiation() {
    let out = run_probe(&json!({"probe": "emit"}), &["--max-memory-mib", "1"]);
    assert_eq!(out.code, 1, "{out:#?}");
    assert_eq!(
        out.trace_error()["message"],
        "the connector exceeded the memory limit of 1 MiB (--max-memory-mib)"
    );
    assert!(out.probe_results().is_empty());
}

#[test]
fn cpu_deadline_stops_a_spinning_guest() {
    let started = Instant::now();
    let out = run_probe(&json!({"probe": "spin"}), &["--cpu-deadline-secs", "1"]);
    assert_eq!(out.code, 1, "{out:#?}");
    let error = out.trace_error();
    assert_eq!(error["failure_type"], "system_error");
    assert_eq!(
        error["message"],
        "the connector exceeded the CPU deadline of 1 s for one call (--cpu-deadline-secs)"
    );
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn cpu_deadline_does_not_count_sleeping() {
    let out = run_probe(
        &json!({"probe": "sleep", "ms": 2000}),
        &["--cpu-deadline-secs", "1"],
    );
    assert_eq!(out.code, 0, "{out:#?}");
    assert_eq!(out.probe_result()["slept_ms"], 2000);
}

#[test]
fn cpu_deadline_does_not_count_waiting_for_http() {
    let server = Server::start(|_| {
        thread::sleep(Duration::from_millis(2000));
        response("200 OK", "", b"late")
    });
    let out = run_probe(
        &json!({"probe": "http", "url": server.url("/slow"), "origins": [server.origin()]}),
        &["--cpu-deadline-secs", "1"],
    );
    assert_eq!(out.code, 0, "{out:#?}");
    let result = out.probe_result();
    assert_eq!(result["status"], 200, "{result}");
    assert_eq!(result["body"], "late");
}

#[test]
fn response_over_the_cap_is_too_large_for_the_guest() {
    let server = Server::start(|_| response("200 OK", "", &[b'x'; 5000]));
    let out = run_probe(
        &json!({"probe": "http", "url": server.url("/big"), "origins": [server.origin()]}),
        &["--max-response-bytes", "1000"],
    );
    assert_eq!(out.code, 0, "{out:#?}");
    let result = out.probe_result();
    assert_eq!(result["error"], "too-large", "{result}");
    assert_eq!(result["detail"], 1000);
}

#[test]
fn request_timeout_is_a_timeout_for_the_guest() {
    let server = Server::start(|_| {
        thread::sleep(Duration::from_millis(3000));
        response("200 OK", "", b"too late")
    });
    let out = run_probe(
        &json!({"probe": "http", "url": server.url("/"), "origins": [server.origin()]}),
        &["--timeout-secs", "1"],
    );
    assert_eq!(out.code, 0, "{out:#?}");
    assert_eq!(out.probe_result()["error"], "timeout");
}

#[test]
fn a_guest_panic_is_a_system_error() {
    let out = run_probe(&json!({"probe": "panic"}), &[]);
    assert_eq!(out.code, 1, "{out:#?}");
    let error = out.trace_error();
    assert_eq!(error["failure_type"], "system_error");
    let message = error["message"].as_str().unwrap_or_default();
    assert!(message.contains("trapped"), "{message}");
    // The guest's panic message reaches stderr, for the operator.
    assert!(
        out.stderr.contains("the probe panicked on purpose"),
        "{}",
        out.stderr
    );
}
