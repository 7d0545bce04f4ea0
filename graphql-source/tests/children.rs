//! Child streams through the whole read, against a fake server of plans
//! whose records hold lists of prices: one query per page feeds the parent
//! and its children, a child alone queries only what it needs, deselected
//! columns leave the query and the records, and states resume.

use graphql_source::fixtures::API;
use graphql_source::io::{Http, HttpError, Request, Response};
use serde_json::{json, Value};
use test_support::Output;

/// Serves `rows` plans, `page` per request, each with two prices and one
/// overage price; keeps every request body.
struct Plans {
    rows: usize,
    /// What `totalCount` says, when not `rows`.
    count: Option<u64>,
    bodies: Vec<Value>,
}

fn plan(i: usize) -> Value {
    let price = |n: usize| json!({"id": format!("pr{i}-{n}"), "amount": {"amount": (i * 10 + n) as f64, "currency": "USD"}});
    json!({
        "id": format!("plan{i}"),
        "createdAt": format!("2024-01-01T00:00:{i:02}.000Z"),
        "name": format!("Plan {i}"),
        "prices": [price(1), price(2)],
        "overagePrices": [price(3)],
        "grants": [{"__typename": "UnitGrant", "id": format!("g{i}"), "units": 5.0}],
    })
}

impl Http for Plans {
    fn send(&mut self, request: &Request) -> Result<Response, HttpError> {
        let body: Value = serde_json::from_str(&request.body).expect("a JSON body");
        let after = body["variables"]["paging"]["after"]
            .as_str()
            .and_then(|c| c.parse::<usize>().ok())
            .unwrap_or(0);
        let first = body["variables"]["paging"]["first"].as_u64().unwrap_or(1) as usize;
        self.bodies.push(body);
        let end = (after + first).min(self.rows);
        let edges: Vec<Value> = (after..end).map(|i| json!({ "node": plan(i) })).collect();
        let page = json!({"data": {"plans": {
            "edges": edges,
            "pageInfo": {"hasNextPage": end < self.rows, "endCursor": end.to_string()},
            "totalCount": self.count.unwrap_or(self.rows as u64),
        }}});
        Ok(Response {
            status: 200,
            headers: Vec::new(),
            body: page.to_string(),
        })
    }
}

struct Run {
    queries: Vec<String>,
    messages: Output,
}

impl Run {
    fn records<'a>(&'a self, stream: &'a str) -> Vec<&'a Value> {
        self.messages.records(stream).collect()
    }

    fn states<'a>(&'a self, stream: &'a str) -> Vec<&'a Value> {
        let states = self.messages.states(stream);
        states
            .map(|m| &m["state"]["stream"]["stream_state"])
            .collect()
    }
}

fn read(rows: usize, streams: Value, state: Option<&str>) -> Run {
    read_counted(rows, None, streams, state)
}

fn read_counted(rows: usize, count: Option<u64>, streams: Value, state: Option<&str>) -> Run {
    let mut server = Plans {
        rows,
        count,
        bodies: Vec::new(),
    };
    let mut out: Vec<String> = Vec::new();
    let config = json!({"api_key": "test-key-123", "page_size": 2}).to_string();
    let catalog = json!({ "streams": streams }).to_string();
    API.read(&mut server, &mut out, &config, &catalog, state)
        .expect("the read succeeds");
    Run {
        queries: server
            .bodies
            .iter()
            .map(|b| b["query"].as_str().unwrap_or_default().to_owned())
            .collect(),
        messages: Output::lines(&out),
    }
}

fn entry(name: &str, properties: Option<&[&str]>) -> Value {
    let mut stream = json!({ "name": name });
    if let Some(properties) = properties {
        let props: serde_json::Map<String, Value> = properties
            .iter()
            .map(|p| (p.to_string(), json!({})))
            .collect();
        stream["json_schema"] = json!({ "properties": props });
    }
    json!({"stream": stream, "sync_mode": "full_refresh", "destination_sync_mode": "overwrite"})
}

#[test]
fn a_parent_and_its_child_share_each_page() {
    let run = read(
        3,
        json!([entry("plans", None), entry("plan_prices", None)]),
        None,
    );
    assert_eq!(run.queries.len(), 2, "two pages of 2, one query each");
    assert_eq!(run.records("plans").len(), 3);
    let prices = run.records("plan_prices");
    assert_eq!(prices.len(), 9, "two base and one overage price per plan");
    let plan_ids: Vec<&Value> = run.records("plans").iter().map(|p| &p["id"]).collect();
    assert!(prices.iter().all(|p| plan_ids.contains(&&p["plan_id"])));
    assert_eq!(
        prices[2],
        &json!({"plan_id": "plan0", "price_group": "OVERAGE", "id": "pr0-3", "amount": {"amount": 3.0, "currency": "USD"}})
    );
    // The parent record keeps its lists too, as sent.
    assert_eq!(run.records("plans")[1]["prices"][1]["id"], "pr1-2");
    for stream in ["plans", "plan_prices"] {
        assert_eq!(
            run.messages.statuses(stream),
            ["STARTED", "RUNNING", "COMPLETE"],
            "{stream}"
        );
        assert_eq!(run.states(stream).len(), 2, "{stream}: a state per round");
    }
    assert_eq!(
        run.states("plans")[1],
        &json!({"mode": "full_refresh_complete"})
    );
    assert_eq!(
        run.states("plan_prices")[1],
        &json!({"mode": "by_parent", "parents": {"plans": {"mode": "full_refresh_complete"}}})
    );
}

#[test]
fn a_child_alone_asks_only_for_keys_and_its_lists() {
    let run = read(
        3,
        json!([entry("plan_prices", Some(&["plan_id", "amount"]))]),
        None,
    );
    assert!(run.records("plans").is_empty(), "no parent record");
    assert_eq!(run.records("plan_prices").len(), 9);
    let query = &run.queries[0];
    assert!(
        query.contains("node { id createdAt prices(filter: {}) { id amount { amount currency } } overagePrices { id amount { amount currency } } }"),
        "{query}"
    );
    assert!(run.messages.statuses("plans").is_empty());
}

impl Run {
    fn estimates(&self) -> Vec<(&str, u64)> {
        self.messages
            .of_type("TRACE")
            .filter(|m| m["trace"]["type"] == "ESTIMATE")
            .map(|m| {
                let estimate = &m["trace"]["estimate"];
                (
                    estimate["name"].as_str().unwrap(),
                    estimate["row_estimate"].as_u64().unwrap(),
                )
            })
            .collect()
    }
}

#[test]
fn a_child_is_estimated_from_its_parent_s_count() {
    // 5 plans, 3 prices each, pages of 2: after the first page, 6 prices for 2 of 5 plans.
    let run = read(5, json!([entry("plan_prices", None)]), None);
    assert_eq!(run.estimates(), [("plan_prices", 15)]);
    assert_eq!(run.records("plan_prices").len(), 15);
}

#[test]
fn a_count_no_stream_could_have_is_an_estimate_not_a_crash() {
    // 3 prices a plan times a count of u64::MAX is past any number: the most there is.
    let run = read_counted(5, Some(u64::MAX), json!([entry("plan_prices", None)]), None);
    assert_eq!(run.estimates(), [("plan_prices", u64::MAX)]);
    assert_eq!(run.records("plan_prices").len(), 15, "every price read");
}

#[test]
fn deselected_columns_leave_the_query_and_the_records() {
    let run = read(
        2,
        json!([
            entry("plans", Some(&["name"])),
            entry("plan_prices", Some(&["id"])),
        ]),
        None,
    );
    let query = &run.queries[0];
    assert!(
        !query.contains("grants") && !query.contains("amount"),
        "{query}"
    );
    let plan = run.records("plans")[0];
    let mut keys: Vec<&str> = plan
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        ["createdAt", "id", "name"],
        "the lists read for plan_prices are stripped"
    );
    assert_eq!(
        run.records("plan_prices")[0],
        &json!({"plan_id": "plan0", "price_group": "BASE", "id": "pr0-1"})
    );
}

#[test]
fn an_interrupted_group_resumes_where_all_its_streams_stood() {
    let first = read(
        5,
        json!([entry("plans", None), entry("plan_prices", None)]),
        None,
    );
    let state_after_first_round = |stream: &str| first.states(stream)[0].clone();
    let state = json!([
        {"type": "STREAM", "stream": {"stream_descriptor": {"name": "plans"}, "stream_state": state_after_first_round("plans")}},
        {"type": "STREAM", "stream": {"stream_descriptor": {"name": "plan_prices"}, "stream_state": state_after_first_round("plan_prices")}},
    ])
    .to_string();
    let resumed = read(
        5,
        json!([entry("plans", None), entry("plan_prices", None)]),
        Some(&state),
    );
    let ids: Vec<&Value> = resumed.records("plans").iter().map(|p| &p["id"]).collect();
    assert_eq!(ids, ["plan2", "plan3", "plan4"]);
    assert_eq!(resumed.records("plan_prices").len(), 9);

    // A stream added since (no state of its own): the group starts over.
    let only_parent = json!([
        {"type": "STREAM", "stream": {"stream_descriptor": {"name": "plans"}, "stream_state": state_after_first_round("plans")}},
    ])
    .to_string();
    let restarted = read(
        5,
        json!([entry("plans", None), entry("plan_prices", None)]),
        Some(&only_parent),
    );
    assert_eq!(restarted.records("plans").len(), 5);
    assert_eq!(restarted.records("plan_prices").len(), 15);
}

/// Serves resources: a key nested in `customer`.
struct Resources;

impl Http for Resources {
    fn send(&mut self, request: &Request) -> Result<Response, HttpError> {
        let body: Value = serde_json::from_str(&request.body).expect("a JSON body");
        let query = body["query"].as_str().unwrap_or_default();
        assert!(
            !query.contains("customer_id"),
            "a copy is not asked for: {query}"
        );
        let nodes = json!([
            {"node": {"resourceId": "site-1", "createdAt": "2024-01-01T00:00:00.000Z", "customer": {"id": "c1"}}},
            {"node": {"resourceId": "site-1", "createdAt": "2024-01-02T00:00:00.000Z", "customer": {"id": "c2"}}},
        ]);
        let page = json!({"data": {"resources": {"edges": nodes,
            "pageInfo": {"hasNextPage": false}, "totalCount": 2}}});
        Ok(Response {
            status: 200,
            headers: Vec::new(),
            body: page.to_string(),
        })
    }
}

#[test]
fn a_nested_key_is_copied_to_a_top_level_column() {
    let mut out: Vec<String> = Vec::new();
    let config = json!({"api_key": "test-key-123"}).to_string();
    let catalog = json!({"streams": [{"stream": {"name": "resources",
        "json_schema": {"properties": {"resourceId": {}, "customer_id": {}}}},
        "sync_mode": "full_refresh", "destination_sync_mode": "overwrite"}]})
    .to_string();
    API.read(&mut Resources, &mut out, &config, &catalog, None)
        .expect("the read succeeds");
    let records: Vec<Value> = out
        .iter()
        .map(|m| serde_json::from_str::<Value>(m).unwrap())
        .filter(|m| m["type"] == "RECORD")
        .map(|m| m["record"]["data"].clone())
        .collect();
    assert_eq!(
        records,
        [
            json!({"resourceId": "site-1", "createdAt": "2024-01-01T00:00:00.000Z", "customer_id": "c1"}),
            json!({"resourceId": "site-1", "createdAt": "2024-01-02T00:00:00.000Z", "customer_id": "c2"}),
        ]
    );
}
