//! Custom currencies and the per-customer credit grants and ledger.

mod common;

use common::pages::text;
use common::{data, gql, start};
use serde_json::{json, Value};
use stigg_standin::Standin;

const GRANT: &str = "id grantId customerId resourceId currencyId displayName grantType status \
    sourceType amount consumedAmount cost { amount currency } priority paymentCollection \
    effectiveAt expireAt voidedAt comment invoiceId additionalMetaData createdAt updatedAt";
const ENTRY: &str =
    "customerId creditGrantId creditCurrencyId eventType eventId amount featureId resourceId timestamp";

/// Every node of one customer's `root` (creditGrants or creditsLedger),
/// paging as the connector does; also checks totalCount.
fn per_customer(standin: &Standin, root: &str, customer: &str, page: u64) -> Vec<Value> {
    let (input, selection) = match root {
        "creditGrants" => ("GetCreditGrantsInput", GRANT),
        _ => ("CreditLedgerInput", ENTRY),
    };
    let query = format!(
        "query P($input: {input}!) {{ {root}(input: $input) {{ edges {{ node {{ {selection} }} }} \
         pageInfo {{ hasNextPage endCursor }} totalCount }} }}"
    );
    let mut nodes = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut input = json!({ "customerId": customer, "paging": { "first": page } });
        if let Some(after) = &after {
            input["paging"]["after"] = json!(after);
        }
        let data = data(standin, &query, json!({ "input": input }));
        let connection = &data[root];
        nodes.extend(
            connection["edges"]
                .as_array()
                .expect("edges")
                .iter()
                .map(|e| e["node"].clone()),
        );
        if connection["pageInfo"]["hasNextPage"] != json!(true) {
            assert_eq!(connection["totalCount"].as_u64(), Some(nodes.len() as u64));
            return nodes;
        }
        after = connection["pageInfo"]["endCursor"]
            .as_str()
            .map(str::to_string);
    }
}

#[test]
fn currencies_by_status() {
    let standin = start(10);
    let list = |args: &str| {
        let query = format!("{{ customCurrencies{args} {{ id currencyId displayName symbol units {{ singular plural }} archivedAt createdAt updatedAt }} }}");
        data(&standin, &query, json!({}))["customCurrencies"]
            .as_array()
            .expect("a list")
            .clone()
    };
    let both = list("(input: {status: [ACTIVE, ARCHIVED]})");
    let active = list("");
    let archived = list("(input: {status: [ARCHIVED]})");
    assert_eq!(both.len(), active.len() + archived.len());
    assert!(!archived.is_empty() && !active.is_empty());
    assert!(archived.iter().all(|c| c["archivedAt"].is_string()));
    assert!(active.iter().all(|c| c["archivedAt"].is_null()));
    assert_eq!(list("(input: {})").len(), active.len());
    assert!(list(r#"(input: {environmentId: "00000000-0000-4000-8000-000000000000"})"#).is_empty());
}

#[test]
fn some_customers_have_grants_paged_one_customer_at_a_time() {
    let standin = start(500);
    let with_credits = standin.credit_customers();
    assert!(
        (50..=150).contains(&with_credits.len()),
        "{}",
        with_credits.len()
    );
    for customer in with_credits.iter().take(20) {
        let grants = per_customer(&standin, "creditGrants", customer, 1);
        assert_eq!(
            per_customer(&standin, "creditGrants", customer, 100),
            grants
        );
        assert!(!grants.is_empty());
        let ledger = per_customer(&standin, "creditsLedger", customer, 2);
        for grant in &grants {
            assert_eq!(grant["customerId"], customer.as_str());
            let amount = grant["amount"].as_f64().expect("amount");
            let consumed = grant["consumedAmount"].as_f64().expect("consumed");
            assert!((0.0..=amount).contains(&consumed), "{grant}");
            assert_eq!(grant["cost"]["currency"], "USD");
            let entries: Vec<&Value> = ledger
                .iter()
                .filter(|e| e["creditGrantId"] == grant["id"])
                .collect();
            let of = |ty: &str| {
                entries
                    .iter()
                    .filter(|e| e["eventType"] == ty)
                    .copied()
                    .collect::<Vec<_>>()
            };
            if grant["status"] == "SCHEDULED" {
                assert!(entries.is_empty());
                continue;
            }
            assert_eq!(of("CREDITS_GRANTED").len(), 1);
            let used: f64 = of("CREDITS_CONSUMED")
                .iter()
                .map(|e| -e["amount"].as_f64().unwrap_or(0.0))
                .sum();
            assert_eq!(used, consumed, "{grant}");
            for e in of("CREDITS_CONSUMED") {
                assert!(
                    e["eventId"].is_string() && e["featureId"].is_string(),
                    "{e}"
                );
            }
            match text(grant, "status") {
                "EXPIRED" => assert!(grant["expireAt"].is_string()),
                "VOIDED" => assert!(grant["voidedAt"].is_string()),
                _ => {}
            }
        }
        let times: Vec<&str> = ledger.iter().map(|e| text(e, "timestamp")).collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "oldest first");
    }
    assert!(standin.invalid_queries().is_empty());
}

#[test]
fn unknown_customers_have_no_credits() {
    let standin = start(50);
    for customer in ["customer-nobody", "customer-ffffffff", ""] {
        assert!(per_customer(&standin, "creditGrants", customer, 10).is_empty());
        assert!(per_customer(&standin, "creditsLedger", customer, 10).is_empty());
    }
    let reply = gql(&standin, "{ creditGrants { totalCount } }", json!({}));
    assert_eq!(reply.status, 400, "input is required");
}

#[test]
fn granting_and_consuming_credits_is_logged() {
    let standin = start(200);
    let customer = data(
        &standin,
        "{ customers(paging: {first: 1}) { edges { node { id customerId } } } }",
        json!({}),
    );
    let customer = &customer["customers"]["edges"][0]["node"];
    let customer_id = text(customer, "customerId");
    let before = per_customer(&standin, "creditGrants", customer_id, 10).len();
    let grant = standin.grant_credits(customer_id, 50.0).expect("a grant");
    let event = standin
        .consume_credits(customer_id, 20.0)
        .expect("consumed");
    let grants = per_customer(&standin, "creditGrants", customer_id, 10);
    assert_eq!(grants.len(), before + 1);
    let ledger = per_customer(&standin, "creditsLedger", customer_id, 10);
    let consumed: f64 = ledger
        .iter()
        .filter(|e| e["eventId"] == event.as_str())
        .map(|e| -e["amount"].as_f64().unwrap_or(0.0))
        .sum();
    assert_eq!(consumed, 20.0);
    let log = data(
        &standin,
        r#"{ eventLogs(filter: {entityType: {eq: CREDIT}}, sorting: [{field: createdAt, direction: DESC}], paging: {first: 5}) { edges { node { eventLogType entityId parentEntityId } } } }"#,
        json!({}),
    );
    let first = &log["eventLogs"]["edges"].as_array().expect("edges")[..];
    assert!(first
        .iter()
        .any(|e| e["node"]["eventLogType"] == "CREDIT_GRANT_CREATED"
            && e["node"]["entityId"] == grant.as_str()));
    assert_eq!(first[0]["node"]["eventLogType"], "CREDIT_GRANT_UPDATED");
    assert_eq!(first[0]["node"]["parentEntityId"], customer["id"]);
    assert!(standin.grant_credits("customer-nobody", 1.0).is_none());
}
