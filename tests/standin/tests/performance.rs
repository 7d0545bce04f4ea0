//! Big datasets start fast and page cheaply (bounds are loose: debug builds).

mod common;

use std::time::{Duration, Instant};

use common::nested::subscriptions_query;
use common::{data, walk, KEY};
use stigg_standin::{Standin, StandinConfig};

#[test]
fn two_hundred_thousand_customers_start_quickly() {
    let started = Instant::now();
    let standin = Standin::start(StandinConfig {
        api_key: KEY.into(),
        customers: 200_000,
        ..Default::default()
    });
    let elapsed = started.elapsed();
    eprintln!("200,000 customers and 400,000 subscriptions generated in {elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    assert_eq!(standin.ids("subscriptions").len(), 400_000);
}

#[test]
fn paging_twenty_thousand_customers_by_fifty_is_fast() {
    let standin = Standin::start(StandinConfig {
        api_key: KEY.into(),
        customers: 20_000,
        ..Default::default()
    });
    let started = Instant::now();
    let sorting = serde_json::json!([{ "field": "updatedAt", "direction": "ASC" }, { "field": "id", "direction": "ASC" }]);
    let filter = serde_json::json!({ "updatedAt": { "gte": "2023-01-01T00:00:00.000Z" } });
    let ids = walk(
        &standin,
        "customers",
        "CustomerSort",
        50,
        Some(sorting),
        Some(filter),
    );
    let elapsed = started.elapsed();
    let pages = ids.len().div_ceil(50);
    eprintln!(
        "{} customers in {pages} pages: {elapsed:?}, {:?} per page round trip",
        ids.len(),
        elapsed / pages as u32
    );
    assert!(
        elapsed / (pages as u32) < Duration::from_millis(50),
        "{elapsed:?}"
    );
}

#[test]
fn a_page_of_subscriptions_with_every_nested_field_is_fast() {
    let standin = Standin::start(StandinConfig {
        api_key: KEY.into(),
        customers: 200_000,
        ..Default::default()
    });
    let started = Instant::now();
    let page = data(&standin, &subscriptions_query(), serde_json::json!({}));
    let elapsed = started.elapsed();
    eprintln!("1000 subscriptions with every nested field: {elapsed:?}");
    assert_eq!(
        page["subscriptions"]["edges"].as_array().map(Vec::len),
        Some(1000)
    );
    // About 0.2 s in a release build, 1 s in a debug build.
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
}

#[test]
fn the_activity_log_of_two_hundred_thousand_customers_pages_quickly() {
    let standin = Standin::start(StandinConfig {
        api_key: KEY.into(),
        customers: 200_000,
        ..Default::default()
    });
    // The connector's incremental read: createdAt gte, (createdAt, id) order.
    let query =
        "query P($paging: CursorPaging!, $sorting: [EventLogSort!], $filter: EventLogFilter) {
        eventLogs(paging: $paging, sorting: $sorting, filter: $filter) {
          edges { node { id eventLogType entityType entityId parentEntityId payload createdAt } }
          pageInfo { hasNextPage endCursor } } }";
    let variables = |filter: serde_json::Value| {
        serde_json::json!({
            "paging": { "first": 1000 },
            "sorting": [{ "field": "createdAt", "direction": "ASC" }, { "field": "id", "direction": "ASC" }],
            "filter": filter,
        })
    };
    let started = Instant::now();
    let first = data(&standin, query, variables(serde_json::json!({})));
    let built = started.elapsed();
    let started = Instant::now();
    let filter = serde_json::json!({ "createdAt": { "gte": "2024-06-01T00:00:00.000Z" } });
    let page = data(&standin, query, variables(filter));
    let filtered = started.elapsed();
    let log = standin.ids("eventLogs").len();
    eprintln!("{log} events: first page (log built) in {built:?}, a filtered page in {filtered:?}");
    assert_eq!(
        first["eventLogs"]["edges"].as_array().map(Vec::len),
        Some(1000)
    );
    assert_eq!(
        page["eventLogs"]["edges"].as_array().map(Vec::len),
        Some(1000)
    );
    assert!(log > 700_000, "{log}");
    // About 0.3 s each in a release build; debug builds are several times slower.
    assert!(built < Duration::from_secs(10), "{built:?}");
    assert!(filtered < Duration::from_secs(10), "{filtered:?}");
}
