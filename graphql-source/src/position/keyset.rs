//! Incremental reads: rows with `cursor >= from` in (cursor, tie_break)
//! order, paged by the key of the last row emitted (so rows changing during
//! the read cannot shift a page) or, for append-only rows whose filter
//! allows only `gte`, by the server's offset cursors.

use std::fmt;

use serde_json::{json, Value};

use super::nestjs::{arguments, ascending, Offset};
use crate::error::{Error, Result};
use crate::page::Page;
use crate::raw_json::string_fields;
use crate::state::{CursorAt, StreamState};
use crate::stream::{Incremental, IncrementalPaging};
use crate::time::parse_rfc3339_ms;

#[derive(Debug)]
pub struct Keyset {
    keys: &'static Incremental,
    /// Lower bound (inclusive) of the first page: the saved cursor or `start_date`.
    from: Option<String>,
    /// The key of the last row emitted.
    last: Option<Key>,
    /// Offset paging: where the server's cursors stand.
    offset: Offset,
    /// Set once the last page has been read.
    done: bool,
    /// Carried in the state for the deletes read after the rows.
    deletes_from: Option<String>,
}

/// A row's position in keyset order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    cursor_ms: i64,
    tie: String,
    /// The cursor as the server wrote it, to send back verbatim.
    cursor: String,
}

impl Keyset {
    pub fn new(
        keys: &'static Incremental,
        saved: Option<&CursorAt>,
        start_date: Option<&str>,
    ) -> Keyset {
        let from = (saved.and_then(|s| s.cursor.as_deref()))
            .or(start_date)
            .map(str::to_owned);
        let deletes_from = saved.and_then(|s| s.deletes_from.clone());
        Keyset {
            keys,
            from,
            last: None,
            offset: Offset::default(),
            done: false,
            deletes_from,
        }
    }

    pub fn done(&self) -> bool {
        self.done
    }

    pub fn request(&self, page_size: u32) -> Value {
        let (c, t) = (self.keys.cursor, self.keys.tie_break);
        let offset = self.keys.paging == IncrementalPaging::Offset;
        let filter = match (&self.last, &self.from) {
            (Some(last), _) if !offset => json!({ "or": [
                { c: { "gt": last.cursor } },
                { c: { "eq": last.cursor }, t: { "gt": last.tie } },
            ]}),
            (_, Some(from)) => json!({ c: { "gte": from } }),
            (_, None) => json!({}),
        };
        let paging = match offset {
            true => self.offset.paging(page_size),
            false => json!({ "first": page_size }),
        };
        arguments(paging, ascending(&[c, t]), filter)
    }

    /// Moves past the round's one page; its rows are to be emitted (returns 1).
    pub fn advance(&mut self, pages: &[Page]) -> Result<usize> {
        let [page] = pages else {
            return Err(Error::system(
                "an incremental read takes one page at a time",
            ));
        };
        for node in page.nodes() {
            let key = probe(node, self.keys)?;
            if self.last.as_ref().is_some_and(|last| key <= *last) {
                return Err(Error::system(format!(
                    "the server returned rows out of ({}, {}) order; stopping rather than skipping rows",
                    self.keys.cursor, self.keys.tie_break
                )));
            }
            self.last = Some(key);
        }
        self.done = !page.has_next_page || page.nodes().len() == 0;
        if self.keys.paging == IncrementalPaging::Offset && !self.done {
            self.offset.follow(page)?;
        }
        Ok(1)
    }

    pub fn state(&self) -> StreamState {
        StreamState::Incremental(self.cursor_at())
    }

    /// Where the read stands: every row before this cursor is read.
    pub fn cursor_at(&self) -> CursorAt {
        CursorAt {
            cursor_field: self.keys.cursor.to_owned(),
            cursor: self
                .last
                .as_ref()
                .map(|k| k.cursor.clone())
                .or_else(|| self.from.clone()),
            deletes_from: self.deletes_from.clone(),
        }
    }

    /// Where the deletions still to emit start (streams with deletes).
    pub fn deletes_from(&self) -> Option<&str> {
        self.deletes_from.as_deref()
    }

    pub fn set_deletes_from(&mut self, from: String) {
        self.deletes_from = Some(from);
    }
}

/// Reads a node's keyset key: its cursor and tie-break fields, skipping the rest.
fn probe(node: &str, keys: &Incremental) -> Result<Key> {
    let unusable = |why: &dyn fmt::Display| {
        Error::system(format!(
            "a row from the server has no usable {}/{}: {why}",
            keys.cursor, keys.tie_break
        ))
    };
    let [cursor, tie] =
        string_fields(node, [keys.cursor, keys.tie_break]).map_err(|e| unusable(&e))?;
    let (Some(cursor), Some(tie)) = (cursor, tie) else {
        return Err(unusable(&"missing or null"));
    };
    let cursor_ms = parse_rfc3339_ms(&cursor).ok_or_else(|| {
        Error::system(format!(
            "a row's {} is not a timestamp: {cursor:?}",
            keys.cursor
        ))
    })?;
    Ok(Key {
        cursor_ms,
        tie,
        cursor,
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_pages::page;
    use super::*;
    use crate::error::FailureType;
    use crate::fixtures as streams;

    fn customers() -> &'static Incremental {
        streams::find("customers")
            .and_then(|s| s.incremental())
            .expect("customers are incremental")
    }

    fn at(cursor_field: &str, cursor: &str) -> CursorAt {
        CursorAt {
            cursor_field: cursor_field.into(),
            cursor: Some(cursor.into()),
            deletes_from: None,
        }
    }

    #[test]
    fn pages_after_the_last_row() {
        let mut keyset = Keyset::new(customers(), None, Some("2024-01-01T00:00:00.000Z"));
        assert_eq!(
            keyset.request(2)["filter"],
            json!({"updatedAt":{"gte":"2024-01-01T00:00:00.000Z"}})
        );
        let a = r#"{"id":"b","updatedAt":"2024-02-01T00:00:00.000Z","x":[1,{"id":"z"}]}"#;
        let b = r#"{"updatedAt":"2024-02-01T00:00:00.000Z","id":"c"}"#;
        let round = [page(&[a, b], true, Some("ignored"))];
        assert_eq!(keyset.advance(&round).unwrap(), 1);
        assert_eq!(
            keyset.request(2)["filter"],
            json!({"or":[{"updatedAt":{"gt":"2024-02-01T00:00:00.000Z"}},{"updatedAt":{"eq":"2024-02-01T00:00:00.000Z"},"id":{"gt":"c"}}]})
        );
        assert_eq!(
            keyset.state(),
            StreamState::Incremental(at("updatedAt", "2024-02-01T00:00:00.000Z"))
        );
        let older = r#"{"id":"a","updatedAt":"2024-02-01T00:00:00.000Z"}"#;
        let error = keyset.advance(&[page(&[older], true, None)]).unwrap_err();
        assert!(error.message.contains("out of"), "{}", error.message);
        assert!(!keyset.done());
        keyset.advance(&[page(&[], true, None)]).unwrap();
        assert!(keyset.done(), "an empty page ends the read");
        assert!(keyset.advance(&[]).is_err(), "a round is one page");
    }

    #[test]
    fn offset_paging_keeps_the_lower_bound_and_follows_the_server_s_cursors() {
        let events = streams::EVENTS.incremental().unwrap();
        let saved = at("createdAt", "2024-03-01T00:00:00.000Z");
        let mut keyset = Keyset::new(events, Some(&saved), None);
        let first = keyset.request(2);
        assert_eq!(
            first,
            json!({"paging": {"first": 2}, "sorting": [
                {"field": "createdAt", "direction": "ASC"}, {"field": "id", "direction": "ASC"}],
                "filter": {"createdAt": {"gte": "2024-03-01T00:00:00.000Z"}}})
        );
        let a = r#"{"id":"e1","createdAt":"2024-03-01T00:00:00.000Z"}"#;
        let b = r#"{"id":"e2","createdAt":"2024-03-02T00:00:00.000Z"}"#;
        keyset.advance(&[page(&[a, b], true, Some("c2"))]).unwrap();
        let second = keyset.request(2);
        assert_eq!(second["paging"], json!({"first": 2, "after": "c2"}));
        assert_eq!(second["filter"], first["filter"], "the bound stays");
        assert_eq!(
            keyset.state(),
            StreamState::Incremental(at("createdAt", "2024-03-02T00:00:00.000Z"))
        );
        let c = r#"{"id":"e3","createdAt":"2024-03-03T00:00:00.000Z"}"#;
        let error = keyset.advance(&[page(&[c], true, Some("c2"))]).unwrap_err();
        assert!(error.message.contains("second time"), "{}", error.message);
        let d = r#"{"id":"e4","createdAt":"2024-03-04T00:00:00.000Z"}"#;
        assert!(
            keyset.advance(&[page(&[d], true, None)]).is_err(),
            "no endCursor"
        );
    }

    #[test]
    fn resumes_from_state_before_start_date_and_reports_bad_rows() {
        let saved = at("updatedAt", "2025-01-01T00:00:00.000Z");
        let mut keyset = Keyset::new(customers(), Some(&saved), Some("2020-01-01T00:00:00.000Z"));
        assert_eq!(
            keyset.request(1)["filter"]["updatedAt"]["gte"],
            "2025-01-01T00:00:00.000Z"
        );
        for bad in [
            r#"{"id":"a"}"#,
            r#"{"id":"a","updatedAt":null}"#,
            r#"{"id":"a","updatedAt":"soon"}"#,
        ] {
            let error = keyset.advance(&[page(&[bad], false, None)]).unwrap_err();
            assert_eq!(error.failure_type, FailureType::System, "{bad}");
        }
    }
}
