//! Pacing against Stigg's rate limits, enforced by the stand-in: a sliding
//! window per operation, 429 without `Retry-After`.
//!
//! The stand-in's window is 60 s × `SCALE` (2 s) so the reads take seconds.
//! Its limits are calls per window; the connector's `rate_limits` are calls
//! a minute, so the same limit there is `calls / SCALE`. The limits are lower
//! than Stigg's so that these small reads need more than one window's worth
//! of `subscriptions` calls: unpaced, they are refused (see the control).

use std::collections::BTreeSet;

use serde_json::{json, Value};
use stigg_e2e::{read_standin, Output, API_KEY};
use stigg_standin::{RateLimitConfig, Standin, StandinConfig};

const SCALE: f64 = 1.0 / 30.0;
/// Calls per window.
const CUSTOMERS_LIMIT: u32 = 60;
const SUBSCRIPTIONS_LIMIT: u32 = 30;
/// 200 customers and 400 subscriptions in pages of 10: about 44
/// `subscriptions` calls, half as many again as a window allows.
const CUSTOMERS: usize = 200;
const PAGE_SIZE: usize = 10;

const STREAMS: [(&str, &str); 2] = [
    ("customers", "full_refresh"),
    ("subscriptions", "full_refresh"),
];

fn limited_server(customers: usize) -> Standin {
    let limits = RateLimitConfig::scaled(SCALE)
        .with_limit("customers", CUSTOMERS_LIMIT)
        .with_limit("subscriptions", SUBSCRIPTIONS_LIMIT);
    Standin::start(StandinConfig {
        api_key: API_KEY.into(),
        customers,
        subscriptions_per_customer: 2,
        rate_limits: Some(limits),
        ..Default::default()
    })
}

/// The stand-in's limits as the connector's `rate_limits`, in the form the
/// spec shows (a list; one test below uses the object form of 0.4).
fn connector_limits(server: &Standin) -> Value {
    let limits = server.rate_limits().expect("limits enforced");
    json!([
        { "operation": "customers", "calls_per_minute": limits.limit("customers") },
        { "operation": "subscriptions", "calls_per_minute": limits.limit("subscriptions") },
    ])
}

/// The stand-in's window, for the connector's `rate_limit_window_seconds`.
fn window_seconds(server: &Standin) -> u64 {
    let limits = server.rate_limits().expect("limits enforced");
    limits.window().as_secs_f64().round() as u64
}

/// Every record of both streams, exactly the stand-in's.
fn assert_every_record(server: &Standin, out: &Output) {
    assert_eq!(
        out.code,
        0,
        "{}\n{}",
        out.stderr,
        out.logs().collect::<Vec<_>>().join("\n")
    );
    for (stream, _) in STREAMS {
        let read: BTreeSet<String> = out.record_ids(stream).into_iter().collect();
        let served: BTreeSet<String> = server.ids(stream).into_iter().collect();
        assert_eq!(
            read.len(),
            out.record_ids(stream).len(),
            "{stream}: duplicates"
        );
        assert_eq!(read, served, "{stream}");
    }
}

/// The LOGs of retries after a 429.
fn rate_limit_retries(out: &Output) -> Vec<&str> {
    out.logs()
        .filter(|l| l.contains("HTTP 429") && l.contains("retrying"))
        .collect()
}

/// Asserts each 429 was retried, after a backoff: without `Retry-After` the
/// first is 1 s jittered into its upper half, so at least 500 ms.
fn assert_each_backed_off(server: &Standin, out: &Output) {
    let retries = rate_limit_retries(out);
    assert_eq!(
        retries.len() as u64,
        server.rate_limited_requests(),
        "{retries:#?}"
    );
    for retry in retries {
        let delay_ms = retry
            .rsplit_once("retrying in ")
            .and_then(|(_, d)| d.strip_suffix(" ms"))
            .and_then(|d| d.parse::<u64>().ok());
        assert!(delay_ms.is_some_and(|d| d >= 500), "{retry}");
    }
}

#[test]
fn control_unpaced_the_read_is_refused() {
    let server = limited_server(CUSTOMERS);
    let out = read_standin(
        &server,
        &STREAMS,
        json!({ "page_size": PAGE_SIZE, "rate_limits": { "*": 6_000_000 } }),
        None,
    );
    assert_every_record(&server, &out);
    assert!(
        server.rate_limited_count("subscriptions") > 0,
        "the window never filled: the tests below would prove nothing"
    );
    assert_each_backed_off(&server, &out);
}

/// A paced read at `share` (the default 0.5 when `None`) gets every record
/// and no 429.
fn paced_read_is_never_refused(share: Option<f64>) {
    let server = limited_server(CUSTOMERS);
    let mut extra = json!({
        "page_size": PAGE_SIZE,
        "rate_limits": connector_limits(&server),
        "rate_limit_window_seconds": window_seconds(&server),
    });
    if let Some(share) = share {
        extra["rate_limit_share"] = json!(share);
    }
    let out = read_standin(&server, &STREAMS, extra, None);
    assert_every_record(&server, &out);
    assert_eq!(
        server.rate_limited_counts(),
        Default::default(),
        "{:#?}",
        rate_limit_retries(&out)
    );
}

#[test]
fn paced_to_half_the_limit_nothing_is_refused() {
    paced_read_is_never_refused(None);
}

/// At share 1.0 the pace is the whole limit: evenly spaced requests never
/// put more than the limit in any window.
#[test]
fn paced_to_the_whole_limit_nothing_is_refused() {
    paced_read_is_never_refused(Some(1.0));
}

/// Paced, a read takes seconds: each stream says how far it is, once a
/// second here (`progress_log_seconds`), and how large it will be.
#[test]
fn a_paced_read_says_how_far_it_is() {
    let server = limited_server(CUSTOMERS);
    let extra = json!({ "page_size": PAGE_SIZE, "rate_limits": connector_limits(&server),
        "rate_limit_window_seconds": window_seconds(&server), "progress_log_seconds": 1 });
    let started = std::time::Instant::now();
    let out = read_standin(&server, &STREAMS, extra, None);
    let seconds = started.elapsed().as_secs_f64();
    assert_every_record(&server, &out);
    let estimate = out
        .of_type("TRACE")
        .find(|m| m["trace"]["estimate"]["name"] == "subscriptions")
        .expect("an ESTIMATE of subscriptions");
    assert_eq!(
        estimate["trace"]["estimate"]["row_estimate"],
        server.ids("subscriptions").len()
    );
    let progress: Vec<&str> = out
        .logs()
        .filter(|l| l.starts_with("subscriptions: ") && l.contains("records so far"))
        .collect();
    assert!(
        seconds > 3.0,
        "the read took {seconds:.1} s: too fast to test"
    );
    // One a second at most, and none missed for long.
    assert!(
        progress.len() as f64 <= seconds + 1.0,
        "{seconds:.1} s: {progress:#?}"
    );
    assert!(
        progress.len() as f64 >= seconds / 3.0,
        "{seconds:.1} s: {progress:#?}"
    );
    assert!(
        progress.iter().any(|l| l.contains(" s left at this pace")),
        "{progress:#?}"
    );
}

#[test]
fn another_client_spending_60_percent_of_subscriptions() {
    // Fewer pages than above: after a 429 the connector slows down to a
    // sixteenth of its pace and recovers slowly, and this test's point is
    // that it completes.
    let server = limited_server(CUSTOMERS / 2);
    let other = server.spend_steadily("subscriptions", SUBSCRIPTIONS_LIMIT * 6 / 10);
    // The default share, 0.5: with the other client's 60%, 110% of the limit
    // is asked for until the connector slows down.
    let extra = json!({ "page_size": PAGE_SIZE, "rate_limits": connector_limits(&server),
        "rate_limit_window_seconds": window_seconds(&server) });
    let out = read_standin(&server, &STREAMS, extra, None);
    let (spent, _) = other.stop();
    assert!(spent > 0);
    assert_every_record(&server, &out);
    let refusals = server.rate_limited_requests();
    assert!(
        refusals <= 5,
        "{refusals} requests refused: {:#?}",
        rate_limit_retries(&out)
    );
    assert_each_backed_off(&server, &out);
}
