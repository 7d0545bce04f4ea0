//! Stigg's rate limits, enforced: a sliding window per operation, 429 with
//! Stigg's body and no `Retry-After`, counters, the scale, another client.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{gql, request, KEY};
use serde_json::json;
use stigg_standin::{RateLimitConfig, Standin, StandinConfig, RATE_LIMITED_BODY};

const CUSTOMERS: &str = "{ customers(paging: {first: 2}) { edges { node { id } } } }";
const SUBSCRIPTIONS: &str = "{ subscriptions(paging: {first: 2}) { edges { node { id } } } }";

fn limited(limits: RateLimitConfig) -> Standin {
    Standin::start(StandinConfig {
        api_key: KEY.into(),
        customers: 10,
        rate_limits: Some(limits),
        ..Default::default()
    })
}

fn status(standin: &Standin, query: &str) -> u16 {
    gql(standin, query, json!({})).status
}

#[test]
fn the_call_over_the_limit_is_refused_until_the_window_slides() {
    // A 2 s window (scale 1/30), 3 calls per window.
    let standin = limited(RateLimitConfig::scaled(1.0 / 30.0).with_limit("*", 3));
    assert_eq!(
        standin.rate_limits().map(|l| l.window()),
        Some(Duration::from_secs(2))
    );
    let first = Instant::now();
    let served: Vec<u16> = (0..3).map(|_| status(&standin, CUSTOMERS)).collect();
    assert_eq!(served, [200, 200, 200]);
    let refused = gql(&standin, CUSTOMERS, json!({}));
    assert!(
        first.elapsed() < Duration::from_secs(2),
        "the machine is too slow for this test's window"
    );
    assert_eq!(refused.status, 429);
    assert_eq!(refused.header("retry-after"), None, "Stigg sends none");
    assert_eq!(refused.body, RATE_LIMITED_BODY);
    assert_eq!(
        refused.json(),
        json!({ "error": "rate_limit_exceeded", "message": "Too many requests" })
    );
    // Other operations have windows of their own.
    assert_eq!(status(&standin, SUBSCRIPTIONS), 200);
    // Served and refused are counted apart.
    assert_eq!(standin.root_field_count("customers"), 3);
    assert_eq!(standin.rate_limited_count("customers"), 1);
    assert_eq!(standin.rate_limited_requests(), 1);
    assert_eq!(standin.request_count(), 5);
    // Once the first call has left the window, one more fits, not two.
    std::thread::sleep(Duration::from_secs(2).saturating_sub(first.elapsed()));
    assert_eq!(status(&standin, CUSTOMERS), 200);
    assert_eq!(standin.rate_limited_counts().get("customers"), Some(&1));
}

#[test]
fn stigg_s_limits_by_operation() {
    // Scale 1: Stigg's own window, a minute.
    let standin = limited(RateLimitConfig::default());
    assert_eq!(standin.spend("subscriptions", 1499), 1499);
    assert_eq!(status(&standin, SUBSCRIPTIONS), 200, "the 1,500th call");
    assert_eq!(status(&standin, SUBSCRIPTIONS), 429, "the 1,501st");
    assert_eq!(standin.spend("subscriptions", 5), 0, "nothing fits");
    assert_eq!(status(&standin, CUSTOMERS), 200, "customers allow 3,000");
    assert_eq!(standin.spend("customers", 5000), 2999);
    assert_eq!(status(&standin, CUSTOMERS), 429);
    assert_eq!(standin.spend("creditGrants", 600), 500);
    assert_eq!(
        standin.rate_limited_counts(),
        [("customers".to_owned(), 1), ("subscriptions".to_owned(), 1)].into()
    );
}

#[test]
fn the_scale_shrinks_the_window_not_the_limits() {
    // Scale 0.05: Stigg's counts per 3 s.
    let standin = limited(RateLimitConfig::scaled(0.05));
    let limits = standin.rate_limits().expect("limits enforced");
    assert_eq!(limits.window(), Duration::from_secs(3));
    assert_eq!(limits.per_minute("subscriptions"), 30_000.0);
    let spent_at = Instant::now();
    assert_eq!(standin.spend("subscriptions", 2000), 1500);
    assert_eq!(status(&standin, SUBSCRIPTIONS), 429);
    std::thread::sleep(Duration::from_secs(3).saturating_sub(spent_at.elapsed()));
    assert_eq!(status(&standin, SUBSCRIPTIONS), 200);
    assert_eq!(
        standin.spend("subscriptions", 2000),
        1499,
        "the served call stays"
    );
}

#[test]
fn without_limits_nothing_is_refused() {
    let standin = common::start(10);
    assert!(standin.rate_limits().is_none());
    assert_eq!(standin.spend("customers", 10), 0);
    let statuses: Vec<u16> = (0..5).map(|_| status(&standin, CUSTOMERS)).collect();
    assert_eq!(statuses, [200; 5]);
    assert!(standin.rate_limited_counts().is_empty());
}

#[test]
fn another_client_spends_steadily() {
    // A 1 s window; the other client wants 100 calls per window of 20 allowed.
    let standin = limited(
        RateLimitConfig::scaled(1.0 / 60.0)
            .with_limit("subscriptions", 20)
            .with_limit("*", 1000),
    );
    let spender = standin.spend_steadily("subscriptions", 100);
    std::thread::sleep(Duration::from_millis(500));
    let spent = spender.spent();
    assert!(spent >= 10, "{spent} spent in half a second");
    assert_eq!(status(&standin, SUBSCRIPTIONS), 429, "the window is full");
    let spender_customers = standin.spend_steadily("customers", 100);
    std::thread::sleep(Duration::from_millis(300));
    let (spent, refused) = spender.stop();
    assert!(refused > 0, "{spent} spent, none refused");
    assert!(spender_customers.spent() >= 10);
    let stopped = spender_customers.stop();
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(
        status(&standin, SUBSCRIPTIONS),
        200,
        "nobody spends any more"
    );
    // The other client's calls are not the connector's: not counted as served.
    assert_eq!(standin.root_field_count("subscriptions"), 1);
    assert_eq!(standin.rate_limited_count("subscriptions"), 1);
    assert!(stopped.0 >= 10);
}

#[test]
fn admin_stats_and_spend() {
    let standin = limited(RateLimitConfig::default().with_limit("customers", 2));
    let headers = [("Content-Type", "application/json")];
    let body = json!({ "rootField": "customers", "n": 5 }).to_string();
    let spent = request(standin.addr(), "POST", "/_admin/spend", &headers, &body)
        .expect("a response")
        .json();
    assert_eq!(spent, json!({ "spent": 2 }));
    assert_eq!(status(&standin, CUSTOMERS), 429);
    assert_eq!(status(&standin, SUBSCRIPTIONS), 200);
    let stats = request(standin.addr(), "GET", "/_admin/stats", &[], "")
        .expect("a response")
        .json();
    assert_eq!(stats["rateLimited"], json!(1));
    assert_eq!(stats["rateLimitedByRootField"], json!({ "customers": 1 }));
    assert_eq!(stats["byRootField"], json!({ "subscriptions": 1 }));
}

#[test]
fn the_binary_takes_limits_from_flags() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stigg-standin"))
        .args(["--port", "0", "--api-key", KEY, "--customers", "5"])
        .args(["--rate-limit-scale", "0.5", "--rate-limit", "customers=1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let mut first = String::new();
    if let Some(stdout) = child.stdout.take() {
        let _ = BufReader::new(stdout).read_line(&mut first);
    }
    let addr = first
        .trim()
        .strip_prefix("listening on http://")
        .and_then(|a| a.strip_suffix("/graphql"))
        .and_then(|a| a.parse().ok());
    let statuses: Vec<u16> = (0..2)
        .filter_map(|_| {
            let body = json!({ "query": CUSTOMERS }).to_string();
            let headers = [("Content-Type", "application/json"), ("X-API-KEY", KEY)];
            request(addr?, "POST", "/graphql", &headers, &body).ok()
        })
        .map(|r| r.status)
        .collect();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(statuses, [200, 429], "first line: {first:?}");
    let bad = Command::new(env!("CARGO_BIN_EXE_stigg-standin"))
        .args(["--rate-limit-scale", "0", "--rate-limit", "x"])
        .output()
        .expect("the binary runs");
    assert!(!bad.status.success());
}
