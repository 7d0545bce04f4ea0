//! What the read loop asks the server, seen from a fake server: only the
//! first round of a stream asks for `totalCount`.

use graphql_source::fixtures::API;
use graphql_source::io::{Http, HttpError, Request, Response};
use serde_json::{json, Value};

/// Serves `rows` customers, one page per request, and keeps every request body.
struct Pages {
    rows: usize,
    bodies: Vec<Value>,
}

impl Http for Pages {
    fn send(&mut self, request: &Request) -> Result<Response, HttpError> {
        let body: Value = serde_json::from_str(&request.body).expect("a JSON body");
        let after = body["variables"]["paging"]["after"]
            .as_str()
            .and_then(|c| c.parse::<usize>().ok())
            .unwrap_or(0);
        let first = body["variables"]["paging"]["first"].as_u64().unwrap_or(1) as usize;
        self.bodies.push(body);
        let end = (after + first).min(self.rows);
        let edges: Vec<Value> = (after..end)
            .map(|i| {
                json!({"node": {"id": format!("c{i}"), "createdAt": format!("2024-01-01T00:00:0{i}.000Z")}})
            })
            .collect();
        let page = json!({"data": {"customers": {
            "edges": edges,
            "pageInfo": {"hasNextPage": end < self.rows, "endCursor": end.to_string()},
            "totalCount": self.rows,
        }}});
        Ok(Response {
            status: 200,
            headers: Vec::new(),
            body: page.to_string(),
        })
    }
}

#[test]
fn only_the_first_round_asks_for_the_total() {
    let mut server = Pages {
        rows: 3,
        bodies: Vec::new(),
    };
    let mut out: Vec<String> = Vec::new();
    let config = json!({"api_key": "test-key-123", "page_size": 1}).to_string();
    let catalog = json!({"streams": [{"stream": {"name": "customers"},
        "sync_mode": "full_refresh", "destination_sync_mode": "overwrite"}]})
    .to_string();
    API.read(&mut server, &mut out, &config, &catalog, None)
        .expect("the read succeeds");
    let asks: Vec<bool> = server
        .bodies
        .iter()
        .map(|b| {
            b["query"]
                .as_str()
                .unwrap_or_default()
                .contains("totalCount")
        })
        .collect();
    assert_eq!(asks, [true, false, false]);
    let records = out
        .iter()
        .filter(|m| m.contains(r#""type":"RECORD""#))
        .count();
    assert_eq!(records, 3);
    assert!(
        out.iter().any(|m| m.contains(r#""row_estimate":3"#)),
        "{out:?}"
    );
}

/// Answers a plain list query with `rows` currencies.
struct Currencies {
    rows: usize,
    bodies: Vec<Value>,
}

impl Http for Currencies {
    fn send(&mut self, request: &Request) -> Result<Response, HttpError> {
        self.bodies
            .push(serde_json::from_str(&request.body).expect("a JSON body"));
        let items: Vec<Value> = (0..self.rows)
            .map(|i| json!({"id": format!("cur{i}"), "symbol": null}))
            .collect();
        Ok(Response {
            status: 200,
            headers: Vec::new(),
            body: json!({"data": {"currencies": items}}).to_string(),
        })
    }
}

#[test]
fn a_plain_list_is_read_in_one_request() {
    let mut server = Currencies {
        rows: 3,
        bodies: Vec::new(),
    };
    let mut out: Vec<String> = Vec::new();
    let config = json!({"api_key": "test-key-123"}).to_string();
    let catalog = json!({"streams": [{"stream": {"name": "currencies"},
        "sync_mode": "full_refresh", "destination_sync_mode": "overwrite"}]})
    .to_string();
    API.read(&mut server, &mut out, &config, &catalog, None)
        .expect("the read succeeds");
    assert_eq!(server.bodies.len(), 1);
    assert_eq!(server.bodies[0]["variables"], json!({}));
    let records: Vec<&String> = out
        .iter()
        .filter(|m| m.contains(r#""type":"RECORD""#))
        .collect();
    assert_eq!(records.len(), 3);
    assert!(records[2].contains(r#"{"id":"cur2","symbol":null}"#));
    let states: Vec<&String> = out
        .iter()
        .filter(|m| m.contains(r#""type":"STATE""#))
        .collect();
    assert_eq!(states.len(), 1);
    assert!(states[0].contains(r#""stream_state":{"mode":"full_refresh_complete"}"#));
}

/// Records when each request arrives.
struct Timed {
    inner: Pages,
    at: Vec<std::time::Instant>,
}

impl Http for Timed {
    fn send(&mut self, request: &Request) -> Result<Response, HttpError> {
        self.at.push(std::time::Instant::now());
        self.inner.send(request)
    }
}

#[test]
fn requests_are_paced_to_the_share_of_the_operation_s_limit() {
    let mut server = Timed {
        inner: Pages {
            rows: 30,
            bodies: Vec::new(),
        },
        at: Vec::new(),
    };
    let mut out: Vec<String> = Vec::new();
    // 2,400 a minute at half: 20 a second, about 50 ms apart.
    let config = json!({"api_key": "test-key-123", "page_size": 1,
        "rate_limits": {"customers": 2400}, "rate_limit_share": 0.5})
    .to_string();
    let catalog = json!({"streams": [{"stream": {"name": "customers"},
        "sync_mode": "full_refresh", "destination_sync_mode": "overwrite"}]})
    .to_string();
    API.read(&mut server, &mut out, &config, &catalog, None)
        .expect("the read succeeds");
    // 30 pages, and 2 more that plan the partitions.
    let n = server.at.len();
    assert_eq!(n, 32);
    let last_ten = server.at[n - 1].duration_since(server.at[n - 11]);
    assert!(
        last_ten >= std::time::Duration::from_millis(10 * 50 - 5),
        "the last 10 requests took {last_ten:?}"
    );
    assert!(
        out[0].contains("pacing each operation to 50% of Example's limit per 60 s window"),
        "{}",
        out[0]
    );
}
