//! The acceptance read: 20,000 customers and 40,000 subscriptions, both streams,
//! every record once, every line valid, every record valid, every query valid.

use std::collections::HashSet;

use stigg_e2e::{
    catalog, check_records, config, record_validators_for, run, Inputs, SyncOutput, API_KEY,
};
use stigg_standin::{Standin, StandinConfig};

#[test]
fn reads_20k_customers_and_40k_subscriptions_exactly() {
    let server = Standin::start(StandinConfig {
        api_key: API_KEY.into(),
        customers: 20_000,
        subscriptions_per_customer: 2,
        ..Default::default()
    });
    let streams = [
        ("customers", "full_refresh"),
        ("subscriptions", "full_refresh"),
    ];
    // Subscriptions without their money's nested lists: the scale is what
    // this test checks, and the stand-in serves those lists slowly.
    let mut catalog = catalog(&streams);
    catalog["streams"][1]["stream"]["json_schema"] = serde_json::json!({"properties": {
        "id": {}, "subscriptionId": {}, "status": {}, "createdAt": {}, "plan": {}, "customerId": {}}});
    let inputs = Inputs {
        config: Some(config(&server.url())),
        catalog: Some(catalog.clone()),
        state: Some("[]".into()),
    };
    let out = run("read", &inputs, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    for (stream, expected) in [("customers", 20_000), ("subscriptions", 40_000)] {
        let ids = out.record_ids(stream);
        assert_eq!(ids.len(), expected, "{stream}");
        assert_eq!(
            ids.iter().collect::<HashSet<_>>().len(),
            expected,
            "{stream}: duplicates"
        );
    }
    check_records(
        &out,
        &record_validators_for(&config(&server.url()), Some(&catalog)),
    );
    assert!(server.invalid_queries().is_empty());
    // 1,200 pages of 50, plus what splitting into partitions adds, plus a
    // schema query per instance (the host reads the two streams at once).
    let expected =
        out.full_refresh_requests("customers", 50) + out.full_refresh_requests("subscriptions", 50);
    assert!(expected < 1_220, "{expected}");
    assert_eq!(server.request_count(), expected as u64 + 2, "pages of 50");
}
