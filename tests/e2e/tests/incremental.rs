//! Incremental and resumable syncs: a runner saves the last STATE of each stream
//! and passes it back; nothing is lost and little is read twice.

use std::collections::HashSet;

use serde_json::{json, Value};
use stigg_e2e::{read_standin, standin, Output};
use stigg_standin::{Fault, FaultRule, Standin};

fn read(server: &Standin, streams: &[(&str, &str)], state: Option<&Value>, extra: Value) -> Output {
    read_standin(server, streams, extra, state.map(Value::to_string))
}

fn ids(out: &Output, stream: &str) -> HashSet<String> {
    out.record_ids(stream).into_iter().collect()
}

const CUSTOMERS_INCREMENTAL: [(&str, &str); 1] = [("customers", "incremental")];

/// The cursor the last customers STATE saved.
fn saved_cursor(out: &Output) -> String {
    let state = out.states("customers").last().expect("a customers STATE");
    state["state"]["stream"]["stream_state"]["cursor"]
        .as_str()
        .expect("cursor")
        .to_owned()
}

#[test]
fn a_second_sync_brings_back_the_changed_customers_and_at_most_the_boundary() {
    let server = standin(300);
    let first = read(&server, &CUSTOMERS_INCREMENTAL, None, json!({}));
    assert_eq!(first.code, 0, "{}", first.stdout);
    assert_eq!(ids(&first, "customers").len(), 300);
    let cursor = saved_cursor(&first);
    let boundary: HashSet<String> = first
        .records("customers")
        .filter(|r| r["updatedAt"] == cursor.as_str())
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();

    // No change upstream: only the rows at the saved cursor come again.
    let idle = read(
        &server,
        &CUSTOMERS_INCREMENTAL,
        Some(&first.saved_state()),
        json!({}),
    );
    assert_eq!(ids(&idle, "customers"), boundary);
    assert_eq!(
        saved_cursor(&idle),
        cursor,
        "the cursor does not move without changes"
    );

    let touched: HashSet<String> = server.touch_customers(7).into_iter().collect();
    let second = read(
        &server,
        &CUSTOMERS_INCREMENTAL,
        Some(&idle.saved_state()),
        json!({}),
    );
    assert_eq!(second.code, 0);
    let got = ids(&second, "customers");
    assert!(touched.is_subset(&got), "every changed customer comes back");
    assert!(
        got.difference(&touched).all(|id| boundary.contains(id)),
        "nothing else but the boundary"
    );
    assert!(saved_cursor(&second) > cursor);
    assert!(second
        .states("customers")
        .all(|s| s["state"]["stream"]["stream_state"]["mode"] == "incremental"));
}

#[test]
fn start_date_limits_the_first_incremental_sync() {
    let server = standin(200);
    let all = read(&server, &CUSTOMERS_INCREMENTAL, None, json!({}));
    let mut stamps: Vec<String> = all
        .records("customers")
        .map(|r| r["updatedAt"].as_str().unwrap().to_owned())
        .collect();
    stamps.sort();
    let start = stamps[stamps.len() / 2].clone();
    let expected: HashSet<String> = all
        .records("customers")
        .filter(|r| r["updatedAt"].as_str().unwrap() >= start.as_str())
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    let since = read(
        &server,
        &CUSTOMERS_INCREMENTAL,
        None,
        json!({ "start_date": start }),
    );
    assert_eq!(ids(&since, "customers"), expected);
}

/// Fails the `root_field` request number `k` for good (a non-retryable error).
fn fail_request(server: &Standin, root_field: &str, k: u64) {
    let fault = Fault::GraphqlError {
        message: "stopped by the test".into(),
        code: "BAD_USER_INPUT".into(),
    };
    server.set_faults(vec![
        FaultRule::on_request(k, fault).for_root_field(root_field)
    ]);
}

#[test]
fn an_interrupted_incremental_sync_resumes_without_losing_rows() {
    let server = standin(260);
    fail_request(&server, "customers", 4);
    let broken = read(&server, &CUSTOMERS_INCREMENTAL, None, json!({}));
    assert_eq!(broken.code, 1);
    assert_eq!(
        ids(&broken, "customers").len(),
        150,
        "three pages before the failure"
    );
    server.clear_faults();
    let resumed = read(
        &server,
        &CUSTOMERS_INCREMENTAL,
        Some(&broken.saved_state()),
        json!({}),
    );
    assert_eq!(resumed.code, 0);
    let union: HashSet<String> = ids(&broken, "customers")
        .union(&ids(&resumed, "customers"))
        .cloned()
        .collect();
    assert_eq!(
        union,
        server.ids("customers").into_iter().collect::<HashSet<_>>()
    );
    assert!(
        ids(&resumed, "customers").len() < 260,
        "the resumed sync did not start over"
    );
}

/// A failed full refresh and the sync that resumed it hold every row once
/// between them (no page read twice, none skipped), and the stream is done.
fn assert_resumed_read_is_whole(server: &Standin, broken: &Output, resumed: &Output, stream: &str) {
    let (a, b) = (ids(broken, stream), ids(resumed, stream));
    assert!(a.is_disjoint(&b), "no page read twice");
    let union: HashSet<String> = a.union(&b).cloned().collect();
    assert_eq!(
        union,
        server.ids(stream).into_iter().collect::<HashSet<_>>()
    );
    assert_eq!(
        resumed.saved_state()[0]["stream"]["stream_state"],
        json!({ "mode": "full_refresh_complete" })
    );
}

#[test]
fn an_interrupted_full_refresh_resumes_where_it_stopped_then_starts_over() {
    let server = standin(100);
    fail_request(&server, "subscriptions", 3);
    let streams = [("subscriptions", "full_refresh")];
    let broken = read(&server, &streams, None, json!({}));
    assert_eq!(broken.code, 1);
    assert_eq!(ids(&broken, "subscriptions").len(), 100);
    let state = broken.saved_state();
    assert_eq!(state[0]["stream"]["stream_state"]["mode"], "full_refresh");
    assert_eq!(
        state[0]["stream"]["stream_state"]["order"],
        "createdAt,subscriptionId"
    );

    server.clear_faults();
    server.reset_stats();
    let resumed = read(&server, &streams, Some(&state), json!({}));
    assert_eq!(resumed.code, 0);
    assert_eq!(
        server.root_field_count("subscriptions"),
        2,
        "only the two pages left"
    );
    assert_resumed_read_is_whole(&server, &broken, &resumed, "subscriptions");
    let done = resumed.saved_state();

    let next = read(&server, &streams, Some(&done), json!({}));
    assert_eq!(
        ids(&next, "subscriptions").len(),
        200,
        "a completed full refresh starts over"
    );
}

#[test]
fn an_interrupted_split_full_refresh_resumes_each_partition() {
    // 600 subscriptions: split into creation-time partitions. Requests 1-2
    // plan, 3-6 read every partition's first page, the 9th fails.
    let server = standin(300);
    fail_request(&server, "subscriptions", 9);
    let streams = [("subscriptions", "full_refresh")];
    let broken = read(&server, &streams, None, json!({}));
    assert_eq!(broken.code, 1, "{}", broken.stdout);
    // The partitions of the first state that has more than one.
    let plan = |out: &Output| -> Vec<Value> {
        out.states("subscriptions")
            .filter_map(|m| m["state"]["stream"]["stream_state"]["partitions"].as_array())
            .find(|partitions| partitions.len() > 1)
            .map(|partitions| partitions.iter().map(|p| p["range"].clone()).collect())
            .unwrap_or_default()
    };
    let planned = plan(&broken);
    assert_eq!(
        planned.len(),
        4,
        "three ranges and the null one: {planned:?}"
    );
    assert!(!ids(&broken, "subscriptions").is_empty());
    let state = broken.saved_state();

    server.clear_faults();
    server.reset_stats();
    let resumed = read(&server, &streams, Some(&state), json!({}));
    assert_eq!(resumed.code, 0, "{}", resumed.stdout);
    // The saved partitions go on where they were; nothing is planned again.
    assert!(
        plan(&resumed).iter().all(|r| planned.contains(r)),
        "{:?}",
        plan(&resumed)
    );
    assert_resumed_read_is_whole(&server, &broken, &resumed, "subscriptions");
}

#[test]
fn full_refresh_pages_oldest_first_so_new_rows_land_at_the_end() {
    let server = standin(120);
    let out = read(&server, &[("customers", "full_refresh")], None, json!({}));
    let created: Vec<&str> = out
        .records("customers")
        .map(|r| r["createdAt"].as_str().unwrap())
        .collect();
    assert!(
        created.windows(2).all(|w| w[0] <= w[1]),
        "createdAt ascending"
    );
}

#[test]
fn bad_states_are_config_errors_that_say_what_is_wrong() {
    let server = standin(5);
    for (state, expected) in [
        (
            json!({ "customers": { "updatedAt": "2024-01-01" } }),
            "legacy",
        ),
        (
            json!([{ "type": "GLOBAL", "global": {} }]),
            "state type `GLOBAL`",
        ),
        (
            json!([{ "type": "STREAM", "stream": { "stream_descriptor": { "name": "customers" }, "stream_state": { "cursor": 5 } } }]),
            "not one this connector wrote",
        ),
        (json!("[]"), "must be a JSON list, not a string"),
    ] {
        let out = read(&server, &CUSTOMERS_INCREMENTAL, Some(&state), json!({}));
        assert_eq!(out.code, 1, "{state}");
        let errors = out.errors();
        assert_eq!(errors[0]["failure_type"], "config_error");
        assert!(
            errors[0]["message"].as_str().unwrap().contains(expected),
            "{state}: {}",
            errors[0]
        );
    }
    assert_eq!(
        server.request_count(),
        0,
        "nothing is read with a bad state"
    );
}
