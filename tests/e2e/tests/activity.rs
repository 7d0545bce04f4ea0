//! Usage, credits, the activity log and deletes, end to end: a first sync,
//! then changes upstream (customers updated and deleted, subscriptions
//! changed, usage reported, credits granted and consumed), then a second
//! sync that brings exactly those, deletions included; and an idle sync's
//! requests do not grow with the number of customers.

use std::collections::HashSet;

use serde_json::{json, Value};
use stigg_e2e::{check_records, config, read_standin, record_validators, standin, Output};
use stigg_standin::Standin;

const STREAMS: [(&str, &str); 6] = [
    ("customers", "incremental"),
    ("subscriptions", "incremental"),
    ("usage_measurements", "incremental"),
    ("event_logs", "incremental"),
    ("credit_grants", "incremental"),
    ("credit_ledger", "incremental"),
];

fn activity_on() -> Value {
    json!({ "subscriptions_incremental_via_activity_log": true, "page_size": 100 })
}

fn read(server: &Standin, streams: &[(&str, &str)], state: Option<&Value>) -> Output {
    let out = read_standin(server, streams, activity_on(), state.map(Value::to_string));
    assert_eq!(out.code, 0, "{}", out.stdout);
    out
}

fn ids(out: &Output, stream: &str) -> HashSet<String> {
    out.record_ids(stream).into_iter().collect()
}

#[test]
fn a_second_sync_brings_exactly_what_changed_upstream() {
    let server = standin(80);
    let first = read(&server, &STREAMS, None);
    check_records(&first, &record_validators(&config(&server.url())));
    assert_eq!(ids(&first, "customers").len(), 80);
    assert_eq!(ids(&first, "subscriptions").len(), 160);
    assert!(first.records("event_logs").count() > 160);
    let credit_customers = server.credit_customers();
    assert!(!credit_customers.is_empty());
    let grants: HashSet<String> = first
        .records("credit_grants")
        .filter_map(|g| g["customerId"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(
        grants,
        credit_customers.iter().cloned().collect(),
        "every customer with credits"
    );

    let touched: HashSet<String> = server.touch_customers(3).into_iter().collect();
    let deleted: HashSet<String> = server.delete_customers(2).into_iter().collect();
    let changed: HashSet<String> = server.update_subscriptions(4).into_iter().collect();
    let reported: HashSet<String> = server.report_usage(5).into_iter().collect();
    let creditor = credit_customers[0].clone();
    let grant = server.grant_credits(&creditor, 25.0).expect("a grant");
    server
        .consume_credits(&creditor, 5.0)
        .expect("a consumption");
    server.reset_stats();

    let second = read(&server, &STREAMS, Some(&first.saved_state()));
    check_records(&second, &record_validators(&config(&server.url())));

    // Customers: the touched ones (and the boundary), and a deletion record
    // for each deleted one.
    let (deletions, updates): (Vec<&Value>, Vec<&Value>) = second
        .records("customers")
        .partition(|r| r.get("_ab_cdc_deleted_at").is_some_and(|d| !d.is_null()));
    let deleted_ids: HashSet<String> = deletions
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(deleted_ids, deleted);
    for deletion in &deletions {
        assert_eq!(deletion["updatedAt"], deletion["_ab_cdc_deleted_at"]);
    }
    let updated: HashSet<String> = updates
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(touched.is_subset(&updated), "{touched:?} vs {updated:?}");
    assert!(
        updated.len() <= touched.len() + 1,
        "at most the boundary row again"
    );

    // Subscriptions: the changed ones (read with their customers' others).
    let subscriptions = ids(&second, "subscriptions");
    assert!(changed.is_subset(&subscriptions), "{changed:?}");
    assert!(
        subscriptions.len() <= 2 * changed.len(),
        "{}",
        subscriptions.len()
    );

    // Usage: exactly the new measurements, bar the boundary.
    let usage = ids(&second, "usage_measurements");
    assert!(reported.is_subset(&usage));
    assert!(usage.len() <= reported.len() + 1);

    // The activity log: every change above, once; the boundary at most again.
    let events: Vec<&Value> = second.records("event_logs").collect();
    let kinds: Vec<&str> = events
        .iter()
        .filter_map(|e| e["eventLogType"].as_str())
        .collect();
    for (kind, count) in [
        ("CUSTOMER_UPDATED", 3),
        ("CUSTOMER_DELETED", 2),
        ("SUBSCRIPTION_UPDATED", 4),
        ("MEASUREMENT_REPORTED", 5),
        ("CREDIT_GRANT_CREATED", 1),
    ] {
        assert_eq!(
            kinds.iter().filter(|k| **k == kind).count(),
            count,
            "{kind}"
        );
    }
    let event_ids: HashSet<&str> = events.iter().filter_map(|e| e["id"].as_str()).collect();
    assert_eq!(event_ids.len(), events.len(), "no event twice in one sync");

    // Credits: only the customer with credit activity is read again, with
    // the new grant and its ledger entries.
    let credited: HashSet<&str> = second
        .records("credit_grants")
        .chain(second.records("credit_ledger"))
        .filter_map(|g| g["customerId"].as_str())
        .collect();
    assert_eq!(credited, HashSet::from([creditor.as_str()]));
    assert!(second
        .records("credit_grants")
        .any(|g| g["id"] == grant.as_str()));
    let entries: Vec<&Value> = second
        .records("credit_ledger")
        .filter(|e| e["customerId"] == creditor.as_str())
        .collect();
    assert!(entries.iter().any(|e| e["eventType"] == "CREDITS_CONSUMED"));
    let keys: HashSet<&str> = second
        .records("credit_ledger")
        .filter_map(|e| e["entry_key"].as_str())
        .collect();
    assert_eq!(
        keys.len(),
        second.records("credit_ledger").count(),
        "entry keys are unique"
    );
}

/// The requests of an incremental sync with nothing changed upstream.
fn idle_requests(customers: usize) -> u64 {
    let streams = &STREAMS;
    let server = standin(customers);
    let first = read(&server, streams, None);
    server.reset_stats();
    let idle = read(&server, streams, Some(&first.saved_state()));
    assert!(idle.records("subscriptions").next().is_none());
    server.request_count()
}

#[test]
fn an_idle_sync_s_requests_do_not_grow_with_the_customers() {
    let (small, large) = (idle_requests(50), idle_requests(1_000));
    println!("requests of an idle incremental sync: {small} with 50 customers, {large} with 1,000");
    assert_eq!(small, large);
    assert!(small <= 10, "{small}");
}

#[test]
fn an_interrupted_per_customer_read_resumes_after_the_customers_done() {
    use stigg_standin::{Fault, FaultRule};
    let server = standin(60);
    let streams = [("credit_grants", "incremental")];
    let all = read(&server, &streams, None);
    let every_grant = ids(&all, "credit_grants");
    assert!(!every_grant.is_empty());

    // The 20th request for grants fails for good: two rounds of 8 customers are done.
    server.reset_stats();
    server.set_faults(vec![FaultRule::on_request(
        20,
        Fault::Status {
            code: 400,
            retry_after: None,
        },
    )
    .for_root_field("creditGrants")]);
    let no_retries = json!({ "max_retry_seconds": 0, "page_size": 100 });
    let failed = read_standin(&server, &streams, no_retries.clone(), None);
    assert_ne!(failed.code, 0);
    let first_requests = server.root_field_count("creditGrants");
    assert_eq!(
        first_requests, 24,
        "three rounds of 8 customers, the third failed"
    );
    server.clear_faults();
    server.reset_stats();

    let state = failed.saved_state();
    let resumed = read_standin(&server, &streams, no_retries, Some(state.to_string()));
    assert_eq!(resumed.code, 0, "{}", resumed.stdout);
    let resumed_requests = server.root_field_count("creditGrants");
    assert_eq!(
        resumed_requests,
        60 - 16,
        "the 16 customers done are not read again"
    );
    let mut seen = ids(&failed, "credit_grants");
    seen.extend(ids(&resumed, "credit_grants"));
    assert_eq!(seen, every_grant, "nothing lost");
}
