//! The page size: without `page_size` the connector asks for the most rows a
//! page may hold and lowers it to what the server accepts; a `page_size` the
//! user chose and the server refuses is a config error that names it.

use std::collections::HashSet;

use serde_json::json;
use stigg_e2e::{catalog, run, Inputs, Output, API_KEY};
use stigg_standin::{Standin, StandinConfig};

/// A stand-in whose pages hold at most 100 rows, as nestjs-query's
/// `maxResultsSize` does: a larger `first` is a GraphQL error naming the limit.
fn standin() -> Standin {
    Standin::start(StandinConfig {
        api_key: API_KEY.into(),
        customers: 250,
        subscriptions_per_customer: 1,
        max_page_size: 100,
        ..Default::default()
    })
}

fn read(server: &Standin, page_size: Option<u32>) -> Output {
    let mut config = json!({ "api_key": API_KEY, "base_url": server.url() });
    if let Some(rows) = page_size {
        config["page_size"] = json!(rows);
    }
    let inputs = Inputs {
        config: Some(config),
        catalog: Some(catalog(&[("customers", "full_refresh")])),
        state: None,
    };
    let out = run("read", &inputs, &[]);
    out.assert_no_leak(API_KEY);
    out
}

#[test]
fn an_unset_page_size_is_lowered_to_what_the_server_accepts() {
    let server = standin();
    let out = read(&server, None);
    assert_eq!(out.code, 0, "{}", out.stdout);
    let ids: HashSet<String> = out.record_ids("customers").into_iter().collect();
    assert_eq!(ids.len(), 250, "every customer once");
    assert_eq!(out.record_ids("customers").len(), 250);
    let said: Vec<&str> = out
        .logs()
        .filter(|text| text.contains("refused pages"))
        .collect();
    assert_eq!(
        said,
        ["customers: Stigg refused pages of 1000 rows; asking for 100"]
    );
    // The schema query, one refused request, then pages of 100: 3 pages.
    assert_eq!(server.invalid_queries().len(), 1);
    assert_eq!(server.request_count(), 1 + 1 + 3);
}

#[test]
fn a_chosen_page_size_the_server_refuses_is_a_config_error_naming_it() {
    let server = standin();
    let out = read(&server, Some(500));
    assert_eq!(out.code, 1, "{}", out.stdout);
    let error = out.trace_error();
    assert_eq!(error["failure_type"], "config_error");
    let message = error["message"].as_str().unwrap_or_default();
    assert!(message.contains("`page_size`"), "{message}");
    assert!(message.contains("at most 100"), "{message}");
    assert_eq!(out.records("customers").count(), 0);
    assert_eq!(
        server.request_count(),
        1 + 1,
        "the schema query; the page not retried"
    );

    let accepted = read(&server, Some(100));
    assert_eq!(accepted.code, 0, "{}", accepted.stdout);
    assert_eq!(accepted.record_ids("customers").len(), 250);
}
