//! What a component cannot reach: files, environment, and any origin, URL
//! form or header the allow-list refuses. Through the real `host` binary.

mod common;

use common::{response, run_probe, run_probe_with_env, ProbeOutput, Server};
use serde_json::{json, Value};

#[test]
fn no_filesystem() {
    for path in ["/etc/passwd", "/", "."] {
        let out = run_probe(&json!({"probe": "read-file", "path": path}), &[]);
        assert_eq!(out.code, 0, "{out:#?}");
        let result = out.probe_result();
        assert_eq!(result["ok"], false, "{path}: {result}");
        assert_eq!(result["kind"], "NotFound", "{path}: {result}");
    }
}

#[test]
fn no_environment_and_no_arguments() {
    let out = run_probe_with_env(
        &json!({"probe": "env"}),
        &[],
        &[("PROBE_SECRET", "do-not-leak")],
    );
    assert_eq!(out.code, 0, "{out:#?}");
    let result = out.probe_result();
    assert_eq!(result["vars"], json!([]), "{result}");
    assert_eq!(result["args"], json!([]), "{result}");
    assert!(!out.stdout.contains("do-not-leak"));
}

#[test]
fn messages_arrive_in_order() {
    let out = run_probe(&json!({"probe": "emit", "count": 500}), &[]);
    assert_eq!(out.code, 0, "{out:#?}");
    let indexes: Vec<u64> = out
        .probe_results()
        .iter()
        .filter_map(|r| r["index"].as_u64())
        .collect();
    assert_eq!(indexes, (0..500).collect::<Vec<_>>());
}

/// Sends one request through the probe, allowed to reach `origins` only.
fn send(origins: &[String], request: Value) -> Value {
    let mut config = request;
    config["probe"] = json!("http");
    config["origins"] = json!(origins);
    let out = run_probe(&config, &[]);
    assert_eq!(out.code, 0, "{out:#?}");
    out.probe_result()
}

#[test]
fn an_allowed_origin_is_reached() {
    let server = Server::ok("hello");
    let result = send(&[server.origin()], json!({"url": server.url("/x")}));
    assert_eq!(result["status"], 200, "{result}");
    assert_eq!(result["body"], "hello");
    assert_eq!(server.hits(), 1);
}

#[test]
fn a_redirect_to_another_origin_is_returned_not_followed() {
    let elsewhere = Server::ok("followed");
    let location = elsewhere.url("/stolen");
    let allowed =
        Server::start(move |_| response("302 Found", &format!("Location: {location}\r\n"), b""));
    let result = send(&[allowed.origin()], json!({"url": allowed.url("/start")}));
    assert_eq!(result["status"], 302, "{result}");
    assert!(
        result["headers"]
            .as_array()
            .is_some_and(|h| h.contains(&json!(["location", elsewhere.url("/stolen")]))),
        "{result}"
    );
    assert_eq!(allowed.hits(), 1);
    assert_eq!(elsewhere.hits(), 0, "the redirect was followed");
}

#[test]
fn another_origin_is_denied() {
    let allowed = Server::ok("a");
    let other = Server::ok("b");
    let result = send(&[allowed.origin()], json!({"url": other.url("/")}));
    assert_eq!(result["error"], "denied", "{result}");
    assert_eq!(other.hits(), 0);
}

#[test]
fn a_host_header_is_denied() {
    let server = Server::ok("a");
    for name in ["Host", "host", " HOST "] {
        let result = send(
            &[server.origin()],
            json!({"url": server.url("/"), "headers": [[name, "evil.example"]]}),
        );
        assert_eq!(result["error"], "denied", "{name}: {result}");
    }
    assert_eq!(server.hits(), 0);
}

#[test]
fn userinfo_tricks_are_denied() {
    let server = Server::ok("a");
    let port = server.port;
    for url in [
        // Reads like the allowed origin; the host is evil.invalid.
        format!("http://127.0.0.1:{port}@evil.invalid/"),
        format!("http://127.0.0.1@127.0.0.1:{port}/"),
        format!("http://user:password@127.0.0.1:{port}/"),
    ] {
        let result = send(&[server.origin()], json!({ "url": url }));
        assert_eq!(result["error"], "denied", "{url}: {result}");
    }
    assert_eq!(server.hits(), 0);
}

#[test]
fn other_schemes_are_denied() {
    let server = Server::ok("a");
    let port = server.port;
    for url in [
        format!("ftp://127.0.0.1:{port}/"),
        format!("ws://127.0.0.1:{port}/"),
        "file:///etc/passwd".to_string(),
        "data:text/plain,hello".to_string(),
        "not a url".to_string(),
    ] {
        let result = send(&[server.origin()], json!({ "url": url }));
        assert_eq!(result["error"], "denied", "{url}: {result}");
    }
    assert_eq!(server.hits(), 0);
}

#[test]
fn no_origins_means_no_network() {
    let server = Server::ok("a");
    let result = send(&[], json!({"url": server.url("/")}));
    assert_eq!(result["error"], "denied", "{result}");
    assert_eq!(server.hits(), 0);
}
