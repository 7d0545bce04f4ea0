//! A server that pages without end: every answer says another page follows,
//! with a new `endCursor`. The read must stop with an error naming the
//! stream, after a bounded number of requests, whatever the pages hold.

mod common;

use common::sync;
use graphql_source::io::{Http, HttpError, Request, Response};
use serde_json::{json, Value};

/// Answers every page with `rows` new customers (none at all when 0), a
/// fresh cursor, `hasNextPage: true` and a `totalCount` of 5.
struct Endless {
    rows: usize,
    requests: usize,
}

impl Http for Endless {
    fn send(&mut self, _request: &Request) -> Result<Response, HttpError> {
        self.requests += 1;
        let n = self.requests;
        let edges: Vec<Value> = (0..self.rows)
            .map(|i| {
                json!({"node": {"id": format!("c{n}-{i}"), "customerId": "x",
                "createdAt": "2024-01-01T00:00:00.000Z", "updatedAt": "2024-01-01T00:00:00.000Z",
                "totalActiveSubscription": 0}})
            })
            .collect();
        let page = json!({"data": {"customers": {"edges": edges,
            "pageInfo": {"hasNextPage": true, "endCursor": format!("cursor-{n}")},
            "totalCount": 5}}});
        Ok(Response {
            status: 200,
            headers: Vec::new(),
            body: page.to_string(),
        })
    }
}

/// The TRACE ERROR's stream and message, and how many requests were sent,
/// for a full refresh of `stream` (`customers`, or one whose parents are).
fn read_endless(stream: &str, rows: usize) -> (String, String, usize) {
    let mut server = Endless { rows, requests: 0 };
    let config = json!({"api_key": "test-key-123", "page_size": 2, "max_retry_seconds": 0});
    let messages = sync(&mut server, config, stream, "full_refresh", None);
    let errors = messages.errors();
    let error = errors.first().expect("the read failed");
    assert_eq!(error["failure_type"], "system_error", "{error}");
    let stream = error["stream_descriptor"]["name"]
        .as_str()
        .unwrap_or_default();
    let message = error["message"].as_str().unwrap_or_default();
    (stream.to_owned(), message.to_owned(), server.requests)
}

#[test]
fn empty_pages_that_say_more_follow_stop_at_the_first() {
    let (stream, message, requests) = read_endless("customers", 0);
    assert_eq!(stream, "customers");
    assert!(
        message.contains("no rows but says another follows"),
        "{message}"
    );
    assert!(message.contains("after 0 records"), "{message}");
    assert_eq!(requests, 1);
}

#[test]
fn pages_of_new_rows_stop_several_times_past_the_count() {
    let (stream, message, requests) = read_endless("customers", 2);
    assert_eq!(stream, "customers");
    assert!(
        message.contains("the server counted 5 at the start"),
        "{message}"
    );
    // 3 x 5 rows and 3 pages of slack: 21 rows, 2 a page.
    assert_eq!(requests, 11, "{message}");
}

#[test]
fn a_listing_of_parents_that_pages_without_end_stops_too() {
    // grants are read per customer: the customers are listed first.
    let (stream, message, requests) = read_endless("grants", 2);
    assert_eq!(stream, "grants");
    assert!(message.contains("grants (listing customers)"), "{message}");
    assert!(
        message.contains("the server counted 5 at the start"),
        "{message}"
    );
    assert_eq!(requests, 11, "{message}");
}
