//! Stigg's schema changing under the connector: a field removed is left out
//! of the query and its column is null (one WARN, one TRACE); a cursor
//! removed fails its stream alone with a config error; a new enum value
//! passes through; introspection refused reads as before; check reports it.

use serde_json::{json, Value};
use stigg_e2e::{config, read_standin, run, standin, Inputs, Output};
use stigg_standin::{Fault, FaultRule, SchemaChange};

fn removing(fields: &[&str]) -> SchemaChange {
    SchemaChange {
        remove_fields: fields.iter().map(|f| f.to_string()).collect(),
        introspection: true,
    }
}

fn drift_traces(out: &Output) -> Vec<&Value> {
    out.of_type("TRACE")
        .filter(|m| m["trace"]["type"] == "ANALYTICS")
        .map(|m| &m["trace"]["analytics"])
        .collect()
}

fn warnings<'a>(out: &'a Output, about: &'a str) -> Vec<&'a str> {
    out.of_type("LOG")
        .filter(|m| m["log"]["level"] == "WARN")
        .filter_map(|m| m["log"]["message"].as_str())
        .filter(|text| text.contains(about))
        .collect()
}

#[test]
fn a_removed_field_is_left_out_and_its_column_is_null() {
    let server = standin(30);
    let before = read_standin(&server, &[("customers", "full_refresh")], json!({}), None);
    before.assert_succeeded();
    assert!(before.records("customers").any(|r| r["email"].is_string()));
    assert!(
        drift_traces(&before).is_empty(),
        "no drift on the stand-in's schema"
    );

    server.change_schema(removing(&["Customer.email"]));
    let out = read_standin(&server, &[("customers", "full_refresh")], json!({}), None);
    out.assert_succeeded();
    assert_eq!(out.record_ids("customers"), before.record_ids("customers"));
    for data in out.records("customers") {
        assert!(data.get("email").is_some_and(Value::is_null), "{data}");
        assert!(data["customerId"].is_string(), "other columns stay: {data}");
    }
    assert_eq!(
        warnings(&out, "`customers.email`").len(),
        1,
        "{:#?}",
        out.messages
    );
    assert_eq!(
        drift_traces(&out),
        [&json!({"type": "schema-drift", "value": "`customers.email` no longer exists"})]
    );
}

#[test]
fn a_removed_nested_field_leaves_the_rest_of_its_object() {
    let server = standin(10);
    server.change_schema(removing(&["Money.currency"]));
    let out = read_standin(
        &server,
        &[("credit_grants", "full_refresh")],
        json!({}),
        None,
    );
    out.assert_succeeded();
    let grants: Vec<&Value> = out.records("credit_grants").collect();
    assert!(!grants.is_empty());
    for grant in grants {
        let cost = &grant["cost"];
        assert!(
            cost["amount"].is_number() && cost.get("currency").is_none(),
            "{cost}"
        );
    }
    assert_eq!(warnings(&out, "`credit_grants.cost.currency`").len(), 1);
}

#[test]
fn a_removed_cursor_fails_its_stream_alone_with_a_config_error() {
    let server = standin(10);
    server.change_schema(removing(&["Customer.updatedAt"]));
    let streams = [("customers", "incremental"), ("plans", "full_refresh")];
    let out = read_standin(&server, &streams, json!({}), None);
    assert_ne!(out.code, 0, "a stream failed: {}", out.stdout);
    assert_eq!(out.statuses("customers"), ["STARTED", "INCOMPLETE"]);
    assert_eq!(out.records("customers").count(), 0);
    let error = out.trace_error();
    assert_eq!(error["failure_type"], "config_error");
    assert_eq!(error["stream_descriptor"]["name"], "customers");
    let message = error["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("`customers.updatedAt` no longer exists"),
        "{message}"
    );
    assert!(message.contains("deselect customers"), "{message}");
    assert_eq!(
        out.statuses("plans").last().map(String::as_str),
        Some("COMPLETE")
    );
    assert!(out.records("plans").count() > 0);
}

#[test]
fn refused_introspection_reads_as_before_and_says_so_once() {
    let server = standin(10);
    server.change_schema(SchemaChange {
        remove_fields: Vec::new(),
        introspection: false,
    });
    let out = read_standin(&server, &[("customers", "full_refresh")], json!({}), None);
    out.assert_succeeded();
    assert_eq!(out.records("customers").count(), 10);
    let said = warnings(&out, "did not answer the schema query");
    assert_eq!(said.len(), 1, "{:#?}", out.messages);
    assert!(
        said[0].contains("introspection is not allowed"),
        "{}",
        said[0]
    );
}

#[test]
fn a_new_enum_value_passes_through_as_its_string() {
    let server = standin(3);
    let first = read_standin(&server, &[("customers", "full_refresh")], json!({}), None);
    let mut node = first.data()[0].clone();
    node["billingCurrency"] = json!("XTS_NEW_CURRENCY");
    let fault = Fault::BadNode {
        node: node.to_string(),
    };
    server.add_fault(FaultRule::on_request(1, fault).for_root_field("customers"));
    let out = read_standin(&server, &[("customers", "full_refresh")], json!({}), None);
    out.assert_succeeded();
    let currencies: Vec<&Value> = out
        .records("customers")
        .map(|r| &r["billingCurrency"])
        .collect();
    assert!(
        currencies.contains(&&json!("XTS_NEW_CURRENCY")),
        "{currencies:?}"
    );
}

#[test]
fn check_reports_the_drift_it_finds() {
    let server = standin(3);
    let inputs = Inputs {
        config: Some(config(&server.url())),
        catalog: None,
        state: None,
    };
    let clean = run("check", &inputs, &[]);
    assert_eq!(clean.connection_status(), &json!({"status": "SUCCEEDED"}));

    server.change_schema(removing(&["Customer.email", "Plan.createdAt"]));
    let out = run("check", &inputs, &[]);
    let status = out.connection_status();
    assert_eq!(status["status"], "SUCCEEDED", "{status}");
    let message = status["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("`customers.email` no longer exists (left out: its column will be null)"),
        "{message}"
    );
    assert!(
        message.contains("`plans.createdAt` no longer exists (its streams cannot be read)"),
        "{message}"
    );
}

#[test]
fn a_per_customer_streams_removed_column_is_null_in_every_row() {
    let server = standin(10);
    server.change_schema(removing(&["EntitlementWithSummary.currentUsage"]));
    let out = read_standin(
        &server,
        &[("customer_entitlements", "full_refresh")],
        json!({}),
        None,
    );
    out.assert_succeeded();
    let rows: Vec<&Value> = out.records("customer_entitlements").collect();
    assert!(!rows.is_empty());
    for row in rows {
        assert!(row.get("currentUsage").is_some_and(Value::is_null), "{row}");
        assert!(row["entitlement_key"].is_string(), "{row}");
    }
    assert_eq!(
        warnings(&out, "`customer_entitlements.currentUsage`").len(),
        1
    );
}
