//! The host's network policy, through the real `host` binary and the probe:
//! whatever the allow-list (which a config builds) says, non-public addresses
//! and plain http are refused until the operator allows them.

mod common;

use common::{run_probe_under_policy, ProbeOutput, Server};
use serde_json::{json, Value};

/// Sends one GET through the probe, with `url`'s origin on the allow-list.
fn send(url: &str, origin: &str, flags: &[&str]) -> Value {
    let config = json!({"probe": "http", "url": url, "origins": [origin]});
    let out = run_probe_under_policy(&config, flags);
    assert_eq!(out.code, 0, "{out:#?}");
    out.probe_result()
}

fn assert_refused(result: &Value, what: &str, range: &str) {
    assert_eq!(result["error"], "denied", "{what}: {result}");
    let detail = result["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("network policy"), "{what}: {detail}");
    assert!(detail.contains(range), "{what}: {detail}");
}

#[test]
fn loopback_is_refused_by_address_and_by_name() {
    let server = Server::ok("local");
    let port = server.port;
    for host in ["127.0.0.1", "localhost", "127.1"] {
        let origin = format!("http://{host}:{port}");
        let result = send(&format!("{origin}/x"), &origin, &[]);
        assert_refused(&result, host, "loopback");
    }
    assert_eq!(server.hits(), 0, "a refused request reached the server");
}

#[test]
fn metadata_private_and_link_local_addresses_are_refused() {
    for (url, range) in [
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("https://10.0.0.7/graphql", "RFC 1918"),
        ("https://192.168.1.1/graphql", "RFC 1918"),
        ("https://100.64.0.1/graphql", "carrier-grade NAT"),
        ("https://[::1]/graphql", "loopback"),
        ("https://[fe80::1]/graphql", "link-local"),
        ("https://[fd12::1]/graphql", "RFC 4193"),
        ("https://[::ffff:169.254.169.254]/graphql", "link-local"),
    ] {
        let origin = url.split('/').take(3).collect::<Vec<_>>().join("/");
        assert_refused(&send(url, &origin, &[]), url, range);
    }
}

#[test]
fn plain_http_to_a_public_address_is_refused() {
    // Refused before any connection: this machine has no route to it anyway.
    let result = send("http://8.8.8.8/graphql", "http://8.8.8.8", &[]);
    assert_refused(&result, "plain http", "requires https");
}

#[test]
fn the_operators_flag_allows_private_networks_before_or_after_the_command() {
    let server = Server::ok("local");
    let origin = server.origin();
    let url = server.url("/x");
    let result = send(&url, &origin, &["--allow-private-network"]);
    assert_eq!(result["body"], "local", "{result}");
    assert_eq!(server.hits(), 1);

    // After the command, as common::run_probe passes it.
    let config = json!({"probe": "http", "url": url, "origins": [origin]});
    let out = common::run_probe(&config, &[]);
    assert_eq!(out.probe_result()["body"], "local", "{out:#?}");
    assert_eq!(server.hits(), 2);
}

#[test]
fn allowing_private_networks_does_not_allow_plain_http_elsewhere() {
    let result = send(
        "http://10.0.0.7/graphql",
        "http://10.0.0.7",
        &["--allow-private-network"],
    );
    assert_refused(&result, "plain http to 10.0.0.7", "requires https");
}
