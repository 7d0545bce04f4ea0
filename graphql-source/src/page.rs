//! A 2xx response body: a page of raw nodes (a connection's or a plain
//! list's), or its GraphQL errors classified for Airbyte and for retries.

use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Range;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::error::{Error, Result, Retry};
use crate::record_check::check_record;
use crate::redact;

/// The start of a body, for error messages; the redactor masks the key in it
/// and cuts it to length.
pub fn excerpt(body: &str) -> String {
    format!("response body: {}", redact::clip(body))
}

/// The root field a query reads and what it returns.
#[derive(Debug, Clone, Copy)]
pub struct Root<'a> {
    pub field: &'a str,
    /// A plain list (`[T!]!`) rather than a connection.
    pub list: bool,
}

/// One page of a connection. Nodes stay where they are in the body: records are
/// copied out of it verbatim, never parsed into a tree and printed again.
#[derive(Debug)]
pub struct Page {
    body: String,
    nodes: Vec<Range<usize>>,
    pub has_next_page: bool,
    pub end_cursor: Option<String>,
    pub total_count: Option<u64>,
}

impl Page {
    /// The nodes' JSON texts, in order.
    pub fn nodes(&self) -> impl ExactSizeIterator<Item = &str> {
        self.nodes.iter().map(|range| &self.body[range.clone()])
    }

    /// Builds a page from node texts (tests).
    pub fn from_nodes(nodes: &[&str], has_next_page: bool, end_cursor: Option<&str>) -> Page {
        let mut body = String::new();
        let mut ranges = Vec::new();
        for node in nodes {
            ranges.push(body.len()..body.len() + node.len());
            body.push_str(node);
        }
        Page {
            body,
            nodes: ranges,
            has_next_page,
            end_cursor: end_cursor.map(str::to_owned),
            total_count: None,
        }
    }
}

/// A GraphQL response whose `data` holds one root field of type `T`.
#[derive(Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>, 'de: 'a"))]
struct Envelope<'a, T> {
    #[serde(borrow, default)]
    data: Option<HashMap<Cow<'a, str>, Option<T>>>,
    #[serde(default)]
    errors: Option<Vec<GraphqlError>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Connection<'a> {
    #[serde(borrow)]
    edges: Vec<Edge<'a>>,
    page_info: PageInfo,
    total_count: Option<u64>,
}

#[derive(Deserialize)]
struct Edge<'a> {
    #[serde(borrow)]
    node: &'a RawValue,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageInfo {
    has_next_page: Option<bool>,
    end_cursor: Option<String>,
}

#[derive(Deserialize)]
struct GraphqlError {
    #[serde(default)]
    message: String,
    #[serde(default)]
    extensions: Option<Extensions>,
}

#[derive(Deserialize)]
struct Extensions {
    code: Option<String>,
}

/// The value of `data.<root_field>` in `body`: GraphQL errors, a missing
/// `data` and a malformed shape are errors, never an empty answer.
pub(crate) fn root_value<'a, T: Deserialize<'a>>(body: &'a str, root_field: &str) -> Result<T> {
    let envelope: Envelope<'a, T> = serde_json::from_str(body).map_err(|e| {
        Error::system(format!(
            "the response to the {root_field} query is not the JSON expected ({e})"
        ))
        .with_internal(excerpt(body))
        .retry(Retry::Malformed)
    })?;
    if let Some(errors) = envelope.errors.filter(|e| !e.is_empty()) {
        return Err(graphql_errors(&errors, root_field).with_internal(excerpt(body)));
    }
    envelope
        .data
        .and_then(|mut data| data.remove(root_field))
        .flatten()
        .ok_or_else(|| {
            Error::system(format!(
                "the response has no `data.{root_field}` and no errors"
            ))
            .with_internal(excerpt(body))
            .retry(Retry::Malformed)
        })
}

impl Page {
    /// Parses a 2xx body holding `root`'s rows.
    pub fn parse_root(body: String, root: Root) -> Result<Page> {
        match root.list {
            true => Page::parse_list(body, root.field),
            false => Page::parse(body, root.field),
        }
    }

    /// Parses a 2xx body holding a plain list under `data.<root_field>`: one
    /// page with every row.
    pub fn parse_list(body: String, root_field: &str) -> Result<Page> {
        let body = compact_lines(body);
        let items: Vec<&RawValue> = root_value(&body, root_field)?;
        let nodes = node_ranges(&body, &items, root_field)?;
        Ok(Page {
            body,
            nodes,
            has_next_page: false,
            end_cursor: None,
            total_count: None,
        })
    }

    /// Parses a 2xx body holding one connection under `data.<root_field>`.
    /// GraphQL errors, a missing `data` and a malformed shape are errors, never an
    /// empty page. A pretty-printed body is compacted first, so every node is one line.
    pub fn parse(body: String, root_field: &str) -> Result<Page> {
        let body = compact_lines(body);
        let connection: Connection<'_> = root_value(&body, root_field)?;
        let nodes: Vec<&RawValue> = connection.edges.iter().map(|e| e.node).collect();
        let nodes = node_ranges(&body, &nodes, root_field)?;
        // Nullable in GraphQL's connection spec; guessing `false` would end the stream silently.
        let Some(has_next_page) = connection.page_info.has_next_page else {
            return Err(Error::system(format!(
                "the {root_field} page has no pageInfo.hasNextPage: cannot tell whether more pages follow"
            ))
            .with_internal(excerpt(&body))
            .retry(Retry::Malformed));
        };
        let end_cursor = connection.page_info.end_cursor;
        // Every page a read asks for moves it by a row at least: a server
        // that says more follow with none in hand could keep it asking forever.
        if has_next_page && nodes.is_empty() {
            return Err(Error::system(format!(
                "the {root_field} page holds no rows but says another follows (hasNextPage, \
                 endCursor {}): stopping rather than paging without progress",
                end_cursor
                    .as_deref()
                    .map_or("null".into(), |c| format!("{c:?}"))
            ))
            .with_internal(excerpt(&body)));
        }
        let total_count = connection.total_count;
        Ok(Page {
            body,
            nodes,
            has_next_page,
            end_cursor,
            total_count,
        })
    }
}

/// Where each node lies in `body`, each checked to be a record.
fn node_ranges(body: &str, nodes: &[&RawValue], root_field: &str) -> Result<Vec<Range<usize>>> {
    let start = body.as_ptr() as usize;
    nodes
        .iter()
        .enumerate()
        .map(|(index, node)| {
            let node = node.get();
            check_record(node, index, root_field)?;
            let offset = node.as_ptr() as usize - start;
            Ok(offset..offset + node.len())
        })
        .collect()
}

/// A pretty-printed body compacted, so every node is one line.
fn compact_lines(body: String) -> String {
    if memchr::memchr2(b'\n', b'\r', body.as_bytes()).is_some() {
        compact(body)
    } else {
        body
    }
}

/// The same JSON without the whitespace between tokens (newlines inside strings are
/// escaped in JSON, so none remain). Malformed text is left for the parser to report.
fn compact(body: String) -> String {
    match serde_json::from_str::<Value>(&body) {
        Ok(value) => value.to_string(),
        Err(_) => body,
    }
}

/// GraphQL error codes no retry can fix: the query is wrong.
const PERMANENT_CODES: &[&str] = &[
    "GRAPHQL_PARSE_FAILED",
    "GRAPHQL_VALIDATION_FAILED",
    "BAD_USER_INPUT",
];
const AUTH_CODES: &[&str] = &["UNAUTHENTICATED", "FORBIDDEN"];
const RATE_LIMIT_CODES: &[&str] = &["TOO_MANY_REQUESTS", "RATE_LIMITED", "THROTTLED"];

fn graphql_errors(errors: &[GraphqlError], root_field: &str) -> Error {
    let has = |set: &[&str]| {
        errors
            .iter()
            .filter_map(|e| e.extensions.as_ref()?.code.as_deref())
            .any(|code| set.contains(&code))
    };
    let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
    let joined = messages.join("; ");
    let detail = redact::clip(&joined);
    if has(AUTH_CODES) {
        return Error::config(format!(
            "the server rejected the API key: {detail}; check `api_key`"
        ));
    }
    let message = format!("the {root_field} query returned errors: {detail}");
    if let Some(max) = page_size_refused(&messages) {
        Error::system(message).retry(Retry::SmallerPage(max))
    } else if has(PERMANENT_CODES) {
        Error::system(message)
    } else if has(RATE_LIMIT_CODES) {
        Error::transient(message).retry(Retry::RateLimited(None))
    } else {
        // An internal error of one request: worth a few more tries.
        Error::system(message).retry(Retry::Malformed)
    }
}

/// Whether an error refuses the page size: nestjs-query answers a `first`
/// over its limit with "Field paging.first max allowed value is `N`." Some(N)
/// when the message states the limit, Some(None) when it only names
/// `paging.first`; None for any other error.
fn page_size_refused(messages: &[&str]) -> Option<Option<u32>> {
    let message = messages.iter().find(|m| m.contains("paging.first"))?;
    let max = message
        .split_once("max allowed value is")
        .and_then(|(_, rest)| {
            let digits: String = rest
                .trim_start_matches([' ', '`'])
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse::<u32>().ok()
        })
        .filter(|max| *max > 0);
    Some(max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::FailureType;
    use crate::record_check::MAX_RECORD_DEPTH;

    #[test]
    fn a_refused_page_size_asks_for_a_smaller_page() {
        let refused = |message: &str, code: &str| {
            let body = serde_json::json!({"data": null, "errors": [
                {"message": message, "extensions": {"code": code}}]});
            Page::parse(body.to_string(), "customers")
                .expect_err("an error")
                .retry
        };
        assert_eq!(
            refused(
                "Field paging.first max allowed value is `100`.",
                "BAD_USER_INPUT"
            ),
            Retry::SmallerPage(Some(100))
        );
        assert_eq!(
            refused("Invalid paging.first", "INTERNAL_SERVER_ERROR"),
            Retry::SmallerPage(None)
        );
        assert_eq!(
            refused(
                "Field paging.first max allowed value is `0`.",
                "BAD_USER_INPUT"
            ),
            Retry::SmallerPage(None)
        );
        assert_eq!(refused("Unknown field", "BAD_USER_INPUT"), Retry::No);
    }

    #[test]
    fn parses_nodes_without_copying_them() {
        let body =
            br#"{"data":{"customers":{"edges":[{"node":{"id":"a","n":1}},{"node":{"id":"b"}}],
            "pageInfo":{"hasNextPage":true,"endCursor":"c2"},"totalCount":7}}}"#;
        let page = Page::parse(String::from_utf8_lossy(body).into_owned(), "customers").unwrap();
        let ids: Vec<&str> = page.nodes().collect();
        assert_eq!(ids, [r#"{"id":"a","n":1}"#, r#"{"id":"b"}"#]);
        assert!(page.has_next_page);
        assert_eq!(page.end_cursor.as_deref(), Some("c2"));
        assert_eq!(page.total_count, Some(7));
    }

    #[test]
    fn an_empty_page_that_says_more_follow_is_an_error() {
        let body = r#"{"data":{"customers":{"edges":[],"pageInfo":{"hasNextPage":true,"endCursor":"c9"}}}}"#;
        let err = Page::parse(body.to_owned(), "customers").unwrap_err();
        assert_eq!(err.failure_type, FailureType::System);
        assert_eq!(err.retry, Retry::No);
        assert!(
            err.message.contains("no rows but says another follows"),
            "{}",
            err.message
        );
        assert!(err.message.contains(r#"endCursor "c9""#), "{}", err.message);
        let last = r#"{"data":{"customers":{"edges":[],"pageInfo":{"hasNextPage":false}}}}"#;
        assert_eq!(
            Page::parse(last.to_owned(), "customers")
                .unwrap()
                .nodes()
                .len(),
            0
        );
    }

    #[test]
    fn pretty_printed_pages_yield_one_line_nodes() {
        let body = "{\"data\": {\"customers\": {\n  \"edges\": [{\"node\": {\n    \"id\": \"a\"\n  }}],\n  \"pageInfo\": {\"hasNextPage\": false}}}}";
        let page = Page::parse(body.to_owned(), "customers").unwrap();
        assert_eq!(page.nodes().collect::<Vec<_>>(), [r#"{"id":"a"}"#]);
    }

    #[test]
    fn errors_inside_http_200_are_errors() {
        let body =
            br#"{"data":null,"errors":[{"message":"boom","extensions":{"code":"INTERNAL"}}]}"#;
        let err = Page::parse(String::from_utf8_lossy(body).into_owned(), "customers").unwrap_err();
        assert_eq!(err.failure_type, FailureType::System);
        assert!(err.message.contains("boom"));
        let auth = br#"{"errors":[{"message":"nope","extensions":{"code":"UNAUTHENTICATED"}}]}"#;
        assert_eq!(
            Page::parse(String::from_utf8_lossy(auth).into_owned(), "customers")
                .unwrap_err()
                .failure_type,
            FailureType::Config
        );
    }

    #[test]
    fn missing_data_and_bad_shapes_quote_the_body() {
        for body in [
            &br#"{"data":null}"#[..],
            br#"{}"#,
            br#"{"data":{"customers":null}}"#,
            br#"{"data":{"other":{}}}"#,
            br#"{"data":{"customers":{"edges":null,"pageInfo":{}}}}"#,
            br#"{"data":{"customers":{"edges":[],"pageInfo":{"endCursor":null}}}}"#,
            br#"{"data":{"customers":{"edges":[],"pageInfo":{"hasNextPage":null}}}}"#,
            br#"{"data":{"customers":{"edges":[],"pa"#,
            br#"<html>bad gateway</html>"#,
        ] {
            let err =
                Page::parse(String::from_utf8_lossy(body).into_owned(), "customers").unwrap_err();
            assert_eq!(err.failure_type, FailureType::System);
            let internal = err.internal.unwrap();
            assert!(internal.starts_with("response body: "), "{internal}");
        }
    }

    fn page_of(node: &str) -> Result<Page> {
        let body = format!(
            r#"{{"data":{{"customers":{{"edges":[{{"node":{{"id":"a"}}}},{{"node":{node}}}],"pageInfo":{{"hasNextPage":false}}}}}}}}"#
        );
        Page::parse(body, "customers")
    }

    #[test]
    fn nodes_that_are_not_objects_fail_the_page() {
        for (node, kind) in [
            ("5", "a number"),
            ("-1.5e3", "a number"),
            (r#""text""#, "a string"),
            ("null", "null"),
            ("true", "a boolean"),
            (r#"[{"id":"b"}]"#, "an array"),
        ] {
            let error = page_of(node).expect_err(node);
            assert_eq!(error.failure_type, FailureType::System, "{node}");
            assert!(
                error
                    .message
                    .contains(&format!("edge 1 is {kind}, not a JSON object")),
                "{node}: {}",
                error.message
            );
        }
        assert!(page_of(r#"{"id":"b","n":[1,{"x":null}]}"#).is_ok());
    }

    #[test]
    fn nodes_nested_too_deep_fail_the_page() {
        let deep = |levels: usize| {
            format!(
                r#"{{"id":"b","x":{}{}}}"#,
                "[".repeat(levels - 1),
                "]".repeat(levels - 1)
            )
        };
        assert!(page_of(&deep(MAX_RECORD_DEPTH)).is_ok());
        let error = page_of(&deep(MAX_RECORD_DEPTH + 1)).expect_err("too deep");
        assert!(
            error.message.contains("deeper than 128"),
            "{}",
            error.message
        );
        let error = page_of(&deep(100_000)).expect_err("far too deep");
        assert!(error.message.contains("edge 1"), "{}", error.message);
    }

    #[test]
    fn a_plain_list_is_one_last_page_and_bad_shapes_fail() {
        let page = Page::parse_list(
            r#"{"data":{"currencies":[{"id":"a"},{"id":"b"}]}}"#.into(),
            "currencies",
        )
        .unwrap();
        assert_eq!(
            page.nodes().collect::<Vec<_>>(),
            [r#"{"id":"a"}"#, r#"{"id":"b"}"#]
        );
        assert!(!page.has_next_page);
        for (body, expected) in [
            (r#"{"data":{"currencies":null}}"#, "no `data.currencies`"),
            (
                r#"{"data":{"currencies":{"edges":[]}}}"#,
                "not the JSON expected",
            ),
            (r#"{"data":{"currencies":[1]}}"#, "not a JSON object"),
            (r#"{"errors":[{"message":"boom"}]}"#, "boom"),
        ] {
            let error = Page::parse_list(body.into(), "currencies").expect_err(body);
            assert!(
                error.message.contains(expected),
                "{body}: {}",
                error.message
            );
        }
    }

    #[test]
    fn excerpt_keeps_what_the_redactor_needs_and_no_more() {
        let long = "x".repeat(100_000);
        let e = excerpt(&long);
        let kept = redact::SHOWN_CHARS + redact::MARGIN_CHARS;
        assert_eq!(e.chars().count(), "response body: ".len() + kept);
    }
}
