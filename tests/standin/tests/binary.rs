//! The `stigg-standin` binary announces its URL and serves until killed.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

use serde_json::json;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn prints_its_url_then_serves_with_faults() {
    let child = Command::new(env!("CARGO_BIN_EXE_stigg-standin"))
        .args([
            "--port",
            "0",
            "--api-key",
            "demo",
            "--customers",
            "25",
            "--subscriptions-per-customer",
            "3",
            "--seed",
            "7",
        ])
        .args(["--fault", "on_request=2,status=503,retry_after=1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let mut server = Server(child);
    let stdout = server.0.stdout.take().expect("stdout");
    let mut first = String::new();
    BufReader::new(stdout)
        .read_line(&mut first)
        .expect("a first line");
    let url = first
        .trim()
        .strip_prefix("listening on ")
        .expect("listening on URL");
    let addr: SocketAddr = url
        .trim_start_matches("http://")
        .trim_end_matches("/graphql")
        .parse()
        .expect("an address");

    let headers = [("Content-Type", "application/json"), ("X-API-KEY", "demo")];
    let body = json!({ "query": "{ subscriptions { totalCount } }" }).to_string();
    let ok = common::request(addr, "POST", "/graphql", &headers, &body).expect("a response");
    assert_eq!(
        ok.json(),
        json!({ "data": { "subscriptions": { "totalCount": 75 } } })
    );
    let failed = common::request(addr, "POST", "/graphql", &headers, &body).expect("a response");
    assert_eq!(failed.status, 503);
    assert_eq!(failed.header("retry-after"), Some("1"));
    let stats = common::request(addr, "GET", "/_admin/stats", &[], "").expect("a response");
    assert_eq!(stats.json()["requests"], json!(2));
}
