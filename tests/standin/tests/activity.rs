//! The activity log (`eventLogs`): consistent with the data, filtered and
//! ordered as the connector reads it, and extended by the test mutations.

mod common;

use std::collections::{HashMap, HashSet};

use common::pages::{ascending, read_all, text};
use common::{data, gql, start, walk};
use serde_json::{json, Value};

/// What the connector selects of an event.
const EVENT: &str = "id eventLogType entityType entityId parentEntityId environmentId traceId \
    payload actor { type name email scopedKeyName workflowName } webhooks { id endpoint } createdAt";

fn events(standin: &stigg_standin::Standin, filter: Value) -> Vec<Value> {
    let sorting = ascending(&["createdAt", "id"]);
    read_all(
        standin,
        "eventLogs",
        "EventLog",
        EVENT,
        sorting,
        Some(filter),
        500,
    )
}

fn customer_ids(standin: &stigg_standin::Standin) -> Vec<String> {
    walk(standin, "customers", "CustomerSort", 1000, None, None)
}

#[test]
fn the_log_follows_the_data_in_created_at_then_id_order() {
    let standin = start(300);
    let all = events(&standin, json!({}));
    let keys: Vec<(&str, &str)> = all
        .iter()
        .map(|e| (text(e, "createdAt"), text(e, "id")))
        .collect();
    assert!(
        keys.windows(2).all(|w| w[0] < w[1]),
        "not in (createdAt, id) order"
    );
    let mut by_type: HashMap<&str, Vec<&Value>> = HashMap::new();
    for e in &all {
        by_type.entry(text(e, "eventLogType")).or_default().push(e);
    }
    let customers = customer_ids(&standin);
    let created = &by_type["CUSTOMER_CREATED"];
    assert_eq!(created.len(), customers.len());
    let created_ids: HashSet<&str> = created.iter().map(|e| text(e, "entityId")).collect();
    assert!(customers.iter().all(|c| created_ids.contains(c.as_str())));
    for e in created {
        assert_eq!(e["entityType"], "CUSTOMER");
        assert_eq!(e["payload"]["id"], e["entityId"]);
        assert!(text(&e["payload"], "customerId").starts_with("customer-"));
        assert!(e["parentEntityId"].is_null());
    }
    assert_eq!(
        by_type["SUBSCRIPTION_CREATED"].len(),
        standin.ids("subscriptions").len()
    );
    for e in &by_type["SUBSCRIPTION_CREATED"] {
        assert_eq!(e["entityType"], "SUBSCRIPTION");
        assert!(created_ids.contains(text(e, "parentEntityId")));
    }
    assert_eq!(
        by_type["MEASUREMENT_REPORTED"].len(),
        standin.ids("usageMeasurements").len()
    );
    assert!(by_type.contains_key("CUSTOMER_UPDATED"));
    assert!(!by_type["CREDIT_GRANT_CREATED"].is_empty());
    assert!(all.iter().all(|e| e["actor"]["type"].is_string()));
    assert!(all
        .iter()
        .any(|e| e["webhooks"].as_array().is_some_and(|w| !w.is_empty())));
    assert_eq!(standin.ids("eventLogs").len(), all.len());
    assert!(standin.invalid_queries().is_empty());
}

#[test]
fn filters_on_time_type_and_entity() {
    let standin = start(200);
    let all = events(&standin, json!({}));
    let middle = text(&all[all.len() / 2], "createdAt").to_string();
    let later = events(&standin, json!({ "createdAt": { "gte": middle } }));
    let expected: Vec<&Value> = all
        .iter()
        .filter(|e| text(e, "createdAt") >= middle.as_str())
        .collect();
    assert_eq!(later.len(), expected.len());
    let updates = events(
        &standin,
        json!({ "eventLogType": { "in": ["CUSTOMER_UPDATED", "CUSTOMER_DELETED"] } }),
    );
    assert!(!updates.is_empty());
    assert!(updates
        .iter()
        .all(|e| e["eventLogType"] == "CUSTOMER_UPDATED"));
    let not_customers = events(
        &standin,
        json!({ "entityType": { "in": ["SUBSCRIPTION", "MEASUREMENT"] } }),
    );
    assert!(not_customers.iter().all(|e| e["entityType"] != "CUSTOMER"));
    let one = text(&all[3], "entityId");
    let about_one = events(&standin, json!({ "entityId": { "eq": one } }));
    assert!(about_one.iter().all(|e| e["entityId"] == one));
    let by_id = events(&standin, json!({ "id": { "eq": text(&all[5], "id") } }));
    assert_eq!(by_id, vec![all[5].clone()]);
    assert!(events(&standin, json!({ "id": { "eq": "not-an-id" } })).is_empty());
    // The default order is newest first.
    let newest = data(
        &standin,
        "{ eventLogs(paging: {first: 1}) { edges { node { createdAt } } } }",
        json!({}),
    );
    assert_eq!(
        newest["eventLogs"]["edges"][0]["node"]["createdAt"],
        all[all.len() - 1]["createdAt"]
    );
    assert!(standin.invalid_queries().is_empty());
}

#[test]
fn the_event_log_has_no_total_count_and_a_narrow_filter() {
    let standin = start(20);
    for query in [
        "{ eventLogs { totalCount } }",
        r#"{ eventLogs(filter: {createdAt: {gt: "2024-01-01T00:00:00Z"}}) { edges { node { id } } } }"#,
        r#"{ eventLogs(filter: {id: {in: ["a"]}}) { edges { node { id } } } }"#,
    ] {
        let reply = gql(&standin, query, json!({}));
        assert_eq!(reply.status, 400, "{query}: {}", reply.body);
        assert_eq!(
            reply.json()["errors"][0]["extensions"]["code"],
            "GRAPHQL_VALIDATION_FAILED"
        );
    }
}

#[test]
fn deleted_customers_vanish_and_are_logged() {
    let standin = start(100);
    let before = customer_ids(&standin);
    let all = events(&standin, json!({}));
    let last = text(all.last().expect("events"), "createdAt").to_string();
    let deleted = standin.delete_customers(3);
    assert_eq!(deleted.len(), 3);
    let after = customer_ids(&standin);
    assert_eq!(after.len(), before.len() - 3);
    assert!(deleted
        .iter()
        .all(|d| before.contains(d) && !after.contains(d)));
    assert_eq!(standin.ids("customers").len(), after.len());
    // What the connector asks for deletions.
    let logged = events(
        &standin,
        json!({ "createdAt": { "gte": last }, "eventLogType": { "in": ["CUSTOMER_DELETED"] } }),
    );
    let entity_ids: Vec<&str> = logged.iter().map(|e| text(e, "entityId")).collect();
    assert_eq!(
        entity_ids,
        deleted.iter().map(String::as_str).collect::<Vec<_>>()
    );
    let times: Vec<&str> = logged.iter().map(|e| text(e, "createdAt")).collect();
    assert!(
        times.windows(2).all(|w| w[0] < w[1]),
        "distinct, increasing: {times:?}"
    );
    assert!(times[0] > last.as_str());
    assert!(logged
        .iter()
        .all(|e| e["entityType"] == "CUSTOMER" && e["payload"]["id"] == e["entityId"]));
    // The generated history is unchanged, so earlier events keep their ids.
    let again = events(&standin, json!({}));
    assert_eq!(again[..all.len()], all[..]);
    assert_eq!(again.len(), all.len() + 3);
}

#[test]
fn touches_creations_and_usage_are_logged() {
    let standin = start(100);
    let touched = standin.touch_customers(2);
    let created = standin.create_customers(2);
    let measured = standin.report_usage(3);
    assert_eq!((touched.len(), created.len(), measured.len()), (2, 2, 3));
    let customers = customer_ids(&standin);
    assert!(created.iter().all(|c| customers.contains(c)));
    let usage = standin.ids("usageMeasurements");
    assert!(measured.iter().all(|m| usage.contains(m)));
    let all = events(&standin, json!({}));
    let tail: Vec<(&str, &str)> = all[all.len() - 7..]
        .iter()
        .map(|e| (text(e, "eventLogType"), text(e, "entityId")))
        .collect();
    let expected: Vec<(&str, &str)> = touched
        .iter()
        .map(|t| ("CUSTOMER_UPDATED", t.as_str()))
        .chain(created.iter().map(|c| ("CUSTOMER_CREATED", c.as_str())))
        .chain(
            measured
                .iter()
                .map(|m| ("MEASUREMENT_REPORTED", m.as_str())),
        )
        .collect();
    assert_eq!(tail, expected);
    // The connector's incremental read of usage finds exactly the new ones.
    let filter = json!({ "createdAt": { "gte": all[all.len() - 3]["createdAt"] } });
    let new_usage = read_all(
        &standin,
        "usageMeasurements",
        "UsageMeasurement",
        "id customerId featureId value environmentId createdAt",
        ascending(&["createdAt", "id"]),
        Some(filter),
        2,
    );
    let ids: Vec<&str> = new_usage.iter().map(|u| text(u, "id")).collect();
    assert_eq!(ids, measured.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(standin.invalid_queries().is_empty());
}
