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
