//! What the connector does when Stigg misbehaves: it retries what may pass and
//! still delivers every record exactly once, or it fails with the right TRACE.

use std::collections::HashSet;

use serde_json::{json, Value};
use stigg_e2e::{
    catalog, config, read_standin, run, run_under_policy, Inputs, Output, SyncOutput, API_KEY,
};
use stigg_standin::{Fault, FaultRule, Standin, StandinConfig};

fn standin(customers: usize, faults: Vec<FaultRule>) -> Standin {
    Standin::start(StandinConfig {
        api_key: API_KEY.into(),
        customers,
        subscriptions_per_customer: 1,
        faults,
        ..Default::default()
    })
}

fn read_with(server: &Standin, streams: &[(&str, &str)], extra: Value) -> Output {
    read_standin(server, streams, extra, None)
}

fn customers_only() -> [(&'static str, &'static str); 1] {
    [("customers", "full_refresh")]
}

/// Asserts the error's `key` (message, internal_message) contains `fragment`.
fn assert_says(error: &Value, key: &str, fragment: &str) {
    let text = error[key].as_str().unwrap_or_default();
    assert!(text.contains(fragment), "{key} lacks {fragment:?}: {error}");
}

/// The one TRACE ERROR of a failed read.
fn the_error(out: &Output) -> &Value {
    assert_eq!(out.code, 1, "a failed read exits non-zero:\n{}", out.stdout);
    let errors = out.errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    errors[0]
}

fn assert_exactly_once(out: &Output, server: &Standin, stream: &str) {
    let ids = out.record_ids(stream);
    let unique: HashSet<_> = ids.iter().cloned().collect();
    assert_eq!(unique.len(), ids.len(), "duplicates in {stream}");
    assert_eq!(
        unique,
        server.ids(stream).into_iter().collect::<HashSet<_>>(),
        "{stream} differs"
    );
}

#[test]
fn survives_every_transient_fault_with_nothing_lost_or_doubled() {
    let on = |k, fault| FaultRule::on_request(k, fault).for_root_field("customers");
    let faults = vec![
        on(
            2,
            Fault::Status {
                code: 429,
                retry_after: Some("1".into()),
            },
        ),
        on(
            4,
            Fault::Status {
                code: 429,
                retry_after: None,
            },
        ),
        on(
            6,
            Fault::Status {
                code: 500,
                retry_after: None,
            },
        ),
        on(
            8,
            Fault::Status {
                code: 503,
                retry_after: Some("0".into()),
            },
        ),
        on(10, Fault::Drop),
        on(12, Fault::Truncate),
        on(
            14,
            Fault::GraphqlError {
                message: "Internal server error".into(),
                code: "INTERNAL_SERVER_ERROR".into(),
            },
        ),
        on(16, Fault::DataNull),
        on(18, Fault::Latency { ms: 300 }),
    ];
    let server = standin(500, faults);
    let out = read_with(&server, &customers_only(), json!({}));
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert_exactly_once(&out, &server, "customers");
    assert_eq!(
        out.statuses("customers").last().map(String::as_str),
        Some("COMPLETE")
    );
    // Every page once + 8 failed attempts (the latency fault is no failure).
    assert_eq!(
        server.root_field_count("customers"),
        out.full_refresh_requests("customers", 50) as u64 + 8
    );
    let rate_limited = out
        .of_type("TRACE")
        .filter(|m| m["trace"]["stream_status"]["reasons"][0]["type"] == "RATE_LIMITED")
        .count();
    assert_eq!(rate_limited, 2, "a RATE_LIMITED status for each 429");
    let retries = out
        .of_type("LOG")
        .filter(|m| {
            m["log"]["message"]
                .as_str()
                .unwrap()
                .contains("retrying in")
        })
        .count();
    assert_eq!(retries, 8);
}

#[test]
fn graphql_errors_inside_http_200_fail_the_stream_with_the_servers_message() {
    let fault = Fault::GraphqlError {
        message: "Field 'x' exploded".into(),
        code: "INTERNAL_SERVER_ERROR".into(),
    };
    let server = standin(
        60,
        vec![FaultRule::every(1, fault).for_root_field("customers")],
    );
    let out = read_with(
        &server,
        &customers_only(),
        json!({ "max_retry_seconds": 0 }),
    );
    let error = the_error(&out);
    assert_eq!(error["failure_type"], "system_error");
    assert_says(error, "message", "Field 'x' exploded");
    assert_eq!(error["stream_descriptor"]["name"], "customers");
    assert_eq!(out.statuses("customers"), ["STARTED", "INCOMPLETE"]);
    assert_eq!(
        out.record_ids("customers").len(),
        0,
        "an error is not an empty page"
    );
}

#[test]
fn malformed_answers_are_retried_a_few_times_then_quoted() {
    let server = standin(
        60,
        vec![FaultRule::every(1, Fault::DataNull).for_root_field("customers")],
    );
    let out = read_with(&server, &customers_only(), json!({}));
    let error = the_error(&out);
    assert_eq!(error["failure_type"], "system_error");
    assert_says(error, "message", "no `data.customers`");
    assert_says(error, "internal_message", r#"response body: {"data":null"#);
    assert_eq!(
        server.root_field_count("customers"),
        4,
        "one attempt and three retries"
    );
}

#[test]
fn a_repeated_end_cursor_is_an_error_not_an_endless_loop() {
    let server = standin(
        200,
        vec![FaultRule::on_request(2, Fault::RepeatCursor).for_root_field("customers")],
    );
    let out = read_with(&server, &customers_only(), json!({}));
    let error = the_error(&out);
    assert_says(error, "message", "a second time");
    assert_eq!(
        out.record_ids("customers").len(),
        50,
        "the page that repeats is not emitted"
    );
    assert_eq!(server.root_field_count("customers"), 2);
}

#[test]
fn a_server_that_ignores_the_filter_stops_a_split_read_before_any_row_twice() {
    // 500 customers: split into creation-time partitions. Every filter is
    // ignored: the first page and the newest row come out as ever, but each
    // partition would get the oldest rows.
    let server = standin(500, vec![FaultRule::every(1, Fault::IgnoreFilter)]);
    let out = read_with(&server, &customers_only(), json!({}));
    assert_eq!(out.code, 1, "{}", out.stdout);
    let error = the_error(&out);
    assert_says(error, "message", "the filter was not applied");
    let ids = out.record_ids("customers");
    assert!(
        ids.is_empty(),
        "no partition's rows were emitted: {}",
        ids.len()
    );
}

#[test]
fn a_bad_key_is_a_config_error_and_is_not_retried() {
    let server = standin(10, vec![]);
    let mut config = config(&server.url());
    config["api_key"] = json!("not-the-key-42");
    let inputs = Inputs {
        config: Some(config),
        catalog: Some(catalog(&[
            ("customers", "full_refresh"),
            ("subscriptions", "full_refresh"),
        ])),
        state: None,
    };
    let out = run("read", &inputs, &[]);
    out.assert_no_leak("not-the-key-42");
    let error = the_error(&out);
    assert_eq!(error["failure_type"], "config_error");
    assert_says(error, "message", "rejected the API key (HTTP 401)");
    assert_eq!(
        server.request_count(),
        2,
        "the schema query and one request, then stop: every stream would fail alike"
    );
}

#[test]
fn spent_retry_budget_is_a_transient_error() {
    let server = standin(
        10,
        vec![FaultRule::every(
            1,
            Fault::Status {
                code: 503,
                retry_after: Some("1".into()),
            },
        )],
    );
    let out = read_with(
        &server,
        &customers_only(),
        json!({ "max_retry_seconds": 2 }),
    );
    let error = the_error(&out);
    assert_eq!(error["failure_type"], "transient_error");
    // Attempt 1, a 1 s wait, attempt 2: over a second spent, and another 1 s
    // wait would pass the 2 s budget (the attempts count, not only the waits).
    assert_says(error, "message", "gave up after 2 attempts");
    assert_says(error, "message", "(retry budget 2 s)");
}

#[test]
fn one_failed_stream_does_not_hide_the_others() {
    let fault = Fault::GraphqlError {
        message: "nope".into(),
        code: "BAD_USER_INPUT".into(),
    };
    let server = standin(
        30,
        vec![FaultRule::every(1, fault).for_root_field("customers")],
    );
    let out = read_with(
        &server,
        &[
            ("customers", "full_refresh"),
            ("subscriptions", "full_refresh"),
        ],
        json!({}),
    );
    assert_eq!(out.code, 1);
    assert_eq!(out.statuses("customers"), ["STARTED", "INCOMPLETE"]);
    assert_eq!(
        out.statuses("subscriptions"),
        ["STARTED", "RUNNING", "COMPLETE"]
    );
    assert_exactly_once(&out, &server, "subscriptions");
    assert_eq!(
        server.root_field_count("customers"),
        1,
        "BAD_USER_INPUT is not retried"
    );
}

#[test]
fn the_key_never_leaks_even_when_stigg_echoes_it() {
    let echo = Fault::GraphqlError {
        message: format!("invalid key {API_KEY} for env"),
        code: "UNAUTHENTICATED".into(),
    };
    let server = standin(5, vec![FaultRule::every(1, echo)]);
    let out = read_with(&server, &customers_only(), json!({}));
    let error = the_error(&out);
    assert_eq!(error["failure_type"], "config_error");
    assert_says(error, "message", "invalid key *** for env");
    let check = run(
        "check",
        &Inputs {
            config: Some(config(&server.url())),
            catalog: None,
            state: None,
        },
        &[],
    );
    check.assert_no_leak(API_KEY);
    assert_eq!(check.connection_status()["status"], "FAILED");
}

#[test]
fn the_host_denies_origins_off_the_allow_list() {
    let server = standin(5, vec![]);
    let inputs = Inputs {
        config: Some(config(&server.url())),
        catalog: Some(catalog(&customers_only())),
        state: None,
    };
    let out = run("read", &inputs, &["--allow-host", "https://api.stigg.io"]);
    out.assert_no_leak(API_KEY);
    let error = the_error(&out);
    assert_eq!(error["failure_type"], "config_error");
    assert_says(error, "message", "refused to let the connector reach");
    assert_eq!(server.request_count(), 0, "no request reached the server");
    let allowed = run("read", &inputs, &["--allow-host", &server.base_url()]);
    assert_eq!(allowed.code, 0, "{}", allowed.stdout);
}

#[test]
fn a_node_that_is_not_an_object_or_nests_too_deep_fails_the_stream() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    for (node, says) in [
        ("42", "is a number, not a JSON object"),
        ("\"text\"", "is a string, not a JSON object"),
        ("null", "is null, not a JSON object"),
        ("[{\"id\":\"x\"}]", "is an array, not a JSON object"),
        (deep.as_str(), "is an array, not a JSON object"),
        (
            &format!("{{\"id\":\"x\",\"deep\":{deep}}}"),
            "nested deeper than 128 levels",
        ),
    ] {
        // The second page of customers carries the bad node.
        let bad = Fault::BadNode {
            node: node.to_string(),
        };
        let server = standin(
            6,
            vec![FaultRule::on_request(2, bad).for_root_field("customers")],
        );
        let out = read_with(&server, &customers_only(), json!({"page_size": 2}));
        let error = the_error(&out);
        assert_eq!(
            error["failure_type"],
            "system_error",
            "{}",
            &node[..node.len().min(40)]
        );
        assert_says(error, "message", says);
        assert_says(error, "message", "customers, after 2 records");
        assert_eq!(
            out.records("customers").count(),
            2,
            "only the first page's records"
        );
        assert_eq!(
            out.statuses("customers").last().map(String::as_str),
            Some("INCOMPLETE")
        );
    }
}

#[test]
fn the_stand_in_is_unreachable_without_the_operators_flag() {
    let server = standin(5, vec![]);
    let config = Some(config(&server.url()));
    let check = run_under_policy(
        "check",
        &Inputs {
            config: config.clone(),
            catalog: None,
            state: None,
        },
        &[],
    );
    check.assert_no_leak(API_KEY);
    assert_eq!(check.code, 0, "{}", check.stdout);
    let status = check.connection_status();
    assert_eq!(status["status"], "FAILED");
    let message = status["message"].as_str().unwrap_or_default();
    assert!(message.contains("network policy"), "{message}");
    assert!(message.contains("loopback"), "{message}");

    let inputs = Inputs {
        config,
        catalog: Some(catalog(&customers_only())),
        state: None,
    };
    let read = run_under_policy("read", &inputs, &[]);
    read.assert_no_leak(API_KEY);
    assert_ne!(read.code, 0);
    assert_eq!(the_error(&read)["failure_type"], "config_error");
    assert_eq!(
        server.request_count(),
        0,
        "a refused request reached the stand-in"
    );
}

#[test]
fn host_limits_are_named_in_the_error() {
    let server = standin(60, vec![]);
    let inputs = |extra: Value| {
        let mut config = config(&server.url());
        config
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        Inputs {
            config: Some(config),
            catalog: Some(catalog(&customers_only())),
            state: None,
        }
    };
    let capped = run(
        "read",
        &inputs(json!({})),
        &["--max-response-bytes", "1000"],
    );
    let error = the_error(&capped);
    assert_eq!(error["failure_type"], "system_error");
    assert_says(error, "message", "response size cap of 1000 bytes");

    server.set_faults(vec![FaultRule::every(1, Fault::Latency { ms: 1_500 })]);
    let slow = run(
        "read",
        &inputs(json!({ "max_retry_seconds": 0 })),
        &["--timeout-secs", "1"],
    );
    let error = the_error(&slow);
    assert_eq!(error["failure_type"], "transient_error");
    assert_says(
        error,
        "message",
        "did not answer within the host's request timeout",
    );
}
