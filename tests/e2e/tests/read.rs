//! Full-refresh reads through the real host and component: every record once,
//! valid against its schema, with the statuses and states a runner needs.

use std::collections::HashSet;

use serde_json::json;
use stigg_e2e::{
    check_records, config, read_standin, record_validators, Output, SyncOutput, API_KEY,
};
use stigg_standin::{Standin, StandinConfig};

fn standin(customers: usize, subscriptions_per_customer: usize) -> Standin {
    Standin::start(StandinConfig {
        api_key: API_KEY.into(),
        customers,
        subscriptions_per_customer,
        ..Default::default()
    })
}

fn read(server: &Standin, streams: &[(&str, &str)], page_size: u32, state: Option<&str>) -> Output {
    read_standin(
        server,
        streams,
        json!({ "page_size": page_size }),
        state.map(Into::into),
    )
}

/// Asserts the stream's records are exactly the stand-in's rows, once each.
fn assert_exact(out: &Output, server: &Standin, stream: &str, root_field: &str) {
    let ids = out.record_ids(stream);
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "{stream}: duplicate records");
    let expected: HashSet<String> = server.ids(root_field).into_iter().collect();
    assert_eq!(unique.len(), expected.len(), "{stream}: record count");
    assert!(
        ids.iter().all(|id| expected.contains(id)),
        "{stream}: unknown record"
    );
}

#[test]
fn reads_both_streams_completely_over_many_pages() {
    let server = standin(230, 2);
    let out = read(
        &server,
        &[
            ("customers", "full_refresh"),
            ("subscriptions", "full_refresh"),
        ],
        50,
        None,
    );
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert_exact(&out, &server, "customers", "customers");
    assert_exact(&out, &server, "subscriptions", "subscriptions");
    check_records(&out, &record_validators(&config(&server.url())));
    for stream in ["customers", "subscriptions"] {
        assert_eq!(
            out.statuses(stream),
            ["STARTED", "RUNNING", "COMPLETE"],
            "{stream}"
        );
    }
    // One STATE per page; the counts add up to the records; the last says the stream is done.
    let states: Vec<_> = out.states("customers").collect();
    assert_eq!(states.len(), 5, "230 customers in pages of 50");
    let counted: f64 = states
        .iter()
        .map(|s| s["state"]["sourceStats"]["recordCount"].as_f64().unwrap())
        .sum();
    assert_eq!(counted, 230.0);
    assert_eq!(
        states[4]["state"]["stream"]["stream_state"],
        json!({ "mode": "full_refresh_complete" })
    );
    assert_eq!(
        states[0]["state"]["stream"]["stream_state"]["mode"],
        "full_refresh"
    );
    assert_eq!(server.root_field_count("customers"), 5);
    // 460 subscriptions are worth splitting: their first page and newest
    // row, then each partition's pages.
    let states: Vec<_> = out.states("subscriptions").collect();
    assert_eq!(
        states[1]["state"]["stream"]["stream_state"]["partitions"]
            .as_array()
            .map(Vec::len),
        Some(3),
        "two creation-time ranges and the null one"
    );
    let logs: Vec<&str> = out
        .of_type("LOG")
        .filter_map(|m| m["log"]["message"].as_str())
        .filter(|m| m.starts_with("subscriptions: "))
        .collect();
    assert!(
        logs.iter()
            .any(|m| m.ends_with("asking for its newest row to split it by creation time"))
            && logs
                .iter()
                .any(|m| m.ends_with("reading 3 partition(s) by creation time"))
            && logs.iter().any(|m| m.contains("3 pages at once")),
        "{logs:#?}"
    );
    assert_eq!(
        server.root_field_count("subscriptions"),
        out.full_refresh_requests("subscriptions", 50) as u64
    );
}

#[test]
fn records_carry_the_stream_and_emitted_at_in_ms() {
    let server = standin(2, 1);
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let out = read(&server, &[("customers", "full_refresh")], 50, None);
    let record = &out.of_type("RECORD").next().unwrap()["record"];
    assert_eq!(record["stream"], "customers");
    let emitted_at = record["emitted_at"].as_i64().unwrap();
    assert!(
        emitted_at >= before && emitted_at < before + 60_000,
        "{emitted_at}"
    );
}

#[test]
fn paging_edge_cases_empty_one_exact_page_and_one_more() {
    for (customers, pages) in [(0, 1), (1, 1), (50, 1), (51, 2), (100, 2)] {
        let server = standin(customers, 0);
        let out = read(&server, &[("customers", "full_refresh")], 50, None);
        assert_eq!(out.code, 0, "{customers}: {}", out.stdout);
        assert_exact(&out, &server, "customers", "customers");
        assert_eq!(
            server.root_field_count("customers"),
            pages,
            "{customers} customers"
        );
        assert_eq!(
            out.statuses("customers").last().map(String::as_str),
            Some("COMPLETE")
        );
        assert_eq!(out.states("customers").count() as u64, pages);
    }
}

#[test]
fn reads_only_the_streams_the_catalog_selects() {
    let server = standin(20, 2);
    let out = read(&server, &[("subscriptions", "full_refresh")], 50, None);
    assert_eq!(out.code, 0);
    assert_eq!(out.record_ids("customers").len(), 0);
    assert_eq!(out.record_ids("subscriptions").len(), 40);
    assert_eq!(server.root_field_count("customers"), 0);
    assert!(out.statuses("customers").is_empty());
}

#[test]
fn reads_every_catalog_stream() {
    let server = standin(40, 1);
    let streams = [
        ("customers", "full_refresh"),
        ("subscriptions", "full_refresh"),
        ("plans", "full_refresh"),
        ("addons", "full_refresh"),
        ("features", "full_refresh"),
        ("products", "full_refresh"),
        ("coupons", "full_refresh"),
        ("promotional_entitlements", "full_refresh"),
    ];
    let out = read(&server, &streams, 7, None);
    assert_eq!(out.code, 0, "{}", out.stdout);
    let root_fields = [
        "customers",
        "subscriptions",
        "plans",
        "addons",
        "features",
        "products",
        "coupons",
        "promotionalEntitlements",
    ];
    for ((stream, _), root) in streams.iter().zip(root_fields) {
        assert!(!server.ids(root).is_empty(), "the stand-in serves {root}");
        assert_exact(&out, &server, stream, root);
    }
    check_records(&out, &record_validators(&config(&server.url())));
}

#[test]
fn accepts_what_pyairbyte_passes_empty_state_and_incremental_everywhere() {
    let server = standin(30, 2);
    let out = read(
        &server,
        &[
            ("customers", "incremental"),
            ("subscriptions", "incremental"),
        ],
        50,
        Some("[]"),
    );
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert_exact(&out, &server, "customers", "customers");
    assert_exact(&out, &server, "subscriptions", "subscriptions");
    let warned = out.of_type("LOG").any(|m| {
        m["log"]["level"] == "WARN"
            && m["log"]["message"]
                .as_str()
                .unwrap()
                .contains("subscriptions: supports full refresh only")
    });
    assert!(warned, "a LOG says subscriptions was read in full");
}

#[test]
fn emits_an_estimate_from_total_count() {
    let server = standin(120, 0);
    let out = read(&server, &[("customers", "full_refresh")], 50, None);
    let estimate = out
        .of_type("TRACE")
        .find(|m| m["trace"]["type"] == "ESTIMATE")
        .expect("an ESTIMATE trace");
    assert_eq!(
        estimate["trace"]["estimate"],
        json!({ "name": "customers", "type": "STREAM", "row_estimate": 120 })
    );
}
