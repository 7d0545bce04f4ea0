//! Where a stream's read stands, and how it moves: the GraphQL variables for the
//! next page, the advance over a page, and the state that checkpoints it.

use std::collections::HashSet;
use std::fmt;

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::graphql::Page;
use crate::partition::{self, Range};
use crate::state::{PartitionState, StreamState};
use crate::streams::{Incremental, StreamDef};
use crate::time::parse_rfc3339_ms;

/// A read in progress.
#[derive(Debug)]
pub enum Position {
    /// Full refresh: partitions of the creation order, each paged by Stigg's
    /// offset cursors, ascending.
    FullRefresh(Partitions),
    /// Incremental: keyset paging on (cursor, tie_break), ascending.
    Keyset {
        keys: &'static Incremental,
        /// Lower bound (inclusive) of the first page: the saved cursor or `start_date`.
        from: Option<String>,
        /// The key of the last row emitted.
        last: Option<Key>,
        /// Set once the last page has been read.
        done: bool,
    },
}

/// The unfinished partitions of a full refresh.
#[derive(Debug)]
pub struct Partitions {
    order: &'static [&'static str],
    parts: Vec<Part>,
    /// Set for a fresh read until it knows whether to split the stream.
    planning: Option<Planning>,
}

#[derive(Debug)]
struct Part {
    range: Range,
    after: Option<String>,
    /// Every cursor followed so far: a repeat would loop forever.
    seen: HashSet<String>,
}

/// Deciding whether to split a fresh read: its first page says whether the
/// stream is large (then that page is read again in its partition), the
/// newest row how far its creation times reach.
#[derive(Debug, Clone, Copy)]
enum Planning {
    /// The first round reads the first page.
    FirstPage { page_size: u32, nullable: bool },
    /// The stream is large: the second round asks for the newest row.
    Newest {
        rows: u64,
        page_size: u32,
        oldest_ms: i64,
        nullable: bool,
    },
}

/// A row's position in keyset order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    cursor_ms: i64,
    tie: String,
    /// The cursor as Stigg wrote it, to send back verbatim.
    cursor: String,
}

impl Position {
    pub fn full_refresh(
        stream: &'static StreamDef,
        saved: Option<&StreamState>,
        page_size: u32,
    ) -> (Position, Option<String>) {
        let order = stream.full_refresh_order;
        let fresh = || {
            let nullable = stream
                .fields
                .iter()
                .find(|f| f.name == order[0])
                .is_none_or(|f| f.nullable);
            let planning = Some(Planning::FirstPage {
                page_size,
                nullable,
            });
            (vec![Part::new(Range::ALL, None)], planning)
        };
        let ((parts, planning), note) = match saved {
            Some(StreamState::FullRefresh {
                order: saved_order,
                partitions,
            }) if *saved_order == order.join(",") => {
                let parts = partitions
                    .iter()
                    .map(|p| Part::new(p.range.clone(), p.after.clone()))
                    .collect();
                let note = format!(
                    "resuming the full refresh: {} partition(s) left",
                    partitions.len()
                );
                ((parts, None), Some(note))
            }
            Some(StreamState::FullRefresh {
                order: saved_order, ..
            }) => (
                fresh(),
                Some(format!(
                    "the saved position is for order `{saved_order}`, not `{}`: starting over",
                    order.join(",")
                )),
            ),
            _ => (fresh(), None),
        };
        let partitions = Partitions {
            order,
            parts,
            planning,
        };
        (Position::FullRefresh(partitions), note)
    }

    pub fn incremental(
        keys: &'static Incremental,
        saved: Option<&StreamState>,
        start_date: Option<&str>,
    ) -> Position {
        let from = match saved {
            Some(StreamState::Incremental {
                cursor: Some(cursor),
                ..
            }) => Some(cursor.clone()),
            _ => start_date.map(str::to_owned),
        };
        Position::Keyset {
            keys,
            from,
            last: None,
            done: false,
        }
    }

    /// Whether every page has been read.
    pub fn done(&self) -> bool {
        match self {
            Position::FullRefresh(p) => p.parts.is_empty(),
            Position::Keyset { done, .. } => *done,
        }
    }

    /// The `variables` of the next round's queries, which may be sent at once.
    /// `filter` is always given (`{}`, the schema's default, when nothing is
    /// filtered) so no server has to treat an absent variable as absent rather
    /// than null.
    pub fn requests(&self, page_size: u32) -> Vec<Value> {
        match self {
            Position::FullRefresh(p) => p.requests(page_size),
            Position::Keyset {
                keys, from, last, ..
            } => {
                let (c, t) = (keys.cursor, keys.tie_break);
                let filter = match (last, from) {
                    (Some(last), _) => json!({ "or": [
                        { c: { "gt": last.cursor } },
                        { c: { "eq": last.cursor }, t: { "gt": last.tie } },
                    ]}),
                    (None, Some(from)) => json!({ c: { "gte": from } }),
                    (None, None) => json!({}),
                };
                vec![json!({
                    "paging": { "first": page_size },
                    "sorting": [asc(c), asc(t)],
                    "filter": filter,
                })]
            }
        }
    }

    /// How many partitions are left to read (incremental reads have one).
    pub fn partitions(&self) -> usize {
        match self {
            Position::FullRefresh(p) => p.parts.len(),
            Position::Keyset { .. } => 1,
        }
    }

    /// Moves past a round's `pages` (one per request, in order). Returns how
    /// many of them, from the first, hold rows to emit. Errors when a page
    /// would make the read loop or skip: a repeated cursor, rows out of order.
    pub fn advance(&mut self, pages: &[Page]) -> Result<usize> {
        match self {
            Position::FullRefresh(p) => p.advance(pages),
            Position::Keyset {
                keys, last, done, ..
            } => {
                let page = pages.first().ok_or_else(|| Error::system("no page read"))?;
                for node in page.nodes() {
                    let key = probe(node, keys)?;
                    if last.as_ref().is_some_and(|last| key <= *last) {
                        return Err(Error::system(format!(
                            "Stigg returned rows out of ({}, {}) order; stopping rather than skipping rows",
                            keys.cursor, keys.tie_break
                        )));
                    }
                    *last = Some(key);
                }
                *done = !page.has_next_page || page.nodes().len() == 0;
                Ok(1)
            }
        }
    }

    /// The state to checkpoint now.
    pub fn state(&self) -> StreamState {
        match self {
            Position::FullRefresh(p) if p.parts.is_empty() => StreamState::FullRefreshComplete,
            Position::FullRefresh(p) => StreamState::FullRefresh {
                order: p.order.join(","),
                partitions: p
                    .parts
                    .iter()
                    .map(|part| PartitionState {
                        range: part.range.clone(),
                        after: part.after.clone(),
                    })
                    .collect(),
            },
            Position::Keyset {
                keys, from, last, ..
            } => StreamState::Incremental {
                cursor_field: keys.cursor.to_owned(),
                cursor: last
                    .as_ref()
                    .map(|k| k.cursor.clone())
                    .or_else(|| from.clone()),
            },
        }
    }
}

fn asc(field: &str) -> Value {
    json!({ "field": field, "direction": "ASC" })
}

impl Partitions {
    fn field(&self) -> &'static str {
        self.order[0]
    }

    fn requests(&self, page_size: u32) -> Vec<Value> {
        if let Some(Planning::Newest { .. }) = self.planning {
            return vec![json!({
                "paging": { "first": 1 },
                "sorting": [{ "field": self.field(), "direction": "DESC" }],
                "filter": partition::newest_filter(self.field()),
            })];
        }
        let sorting: Vec<Value> = self.order.iter().map(|f| asc(f)).collect();
        self.parts
            .iter()
            .map(|part| {
                let mut paging = json!({ "first": page_size });
                if let Some(after) = &part.after {
                    paging["after"] = json!(after);
                }
                json!({ "paging": paging, "sorting": sorting, "filter": part.range.filter(self.field()) })
            })
            .collect()
    }

    fn advance(&mut self, pages: &[Page]) -> Result<usize> {
        let expected = match self.planning {
            Some(Planning::Newest { .. }) => 1,
            _ => self.parts.len(),
        };
        if pages.len() != expected {
            return Err(Error::system(
                "a round of pages does not match its requests",
            ));
        }
        match self.planning.take() {
            Some(Planning::FirstPage {
                page_size,
                nullable,
            }) => {
                let rows = pages[0].total_count.unwrap_or(0);
                let large = partition::worth_splitting(rows, page_size);
                match self.created_ms(&pages[0]) {
                    Some(oldest_ms) if large && pages[0].has_next_page => {
                        self.planning = Some(Planning::Newest {
                            rows,
                            page_size,
                            oldest_ms,
                            nullable,
                        });
                        return Ok(0);
                    }
                    _ => {}
                }
            }
            Some(Planning::Newest {
                rows,
                page_size,
                oldest_ms,
                nullable,
            }) => {
                let newest_ms = self.created_ms(&pages[0]);
                let ranges = newest_ms.and_then(|newest_ms| {
                    partition::plan(rows, page_size, oldest_ms, newest_ms, nullable)
                });
                if let Some(ranges) = ranges {
                    self.parts = ranges.into_iter().map(|r| Part::new(r, None)).collect();
                }
                // Either way no row was emitted yet: the parts start afresh.
                return Ok(0);
            }
            None => {}
        }
        let mut finished = Vec::new();
        for (part, page) in self.parts.iter_mut().zip(pages) {
            finished.push(!part.advance(page)?);
        }
        let rows = self.parts.len();
        let mut finished = finished.into_iter();
        self.parts.retain(|_| !finished.next().unwrap_or(false));
        Ok(rows)
    }

    /// The creation time of a page's first row, if it has a usable one.
    fn created_ms(&self, page: &Page) -> Option<i64> {
        let node = page.nodes().next()?;
        let [value] = string_fields(node, [self.field()]).ok()?;
        parse_rfc3339_ms(&value?)
    }
}

impl Part {
    fn new(range: Range, after: Option<String>) -> Part {
        let seen = after.iter().cloned().collect();
        Part { range, after, seen }
    }

    /// Moves past `page`; returns whether another page follows.
    fn advance(&mut self, page: &Page) -> Result<bool> {
        if !page.has_next_page {
            return Ok(false);
        }
        let next = page.end_cursor.clone().ok_or_else(|| {
            Error::system("Stigg said another page follows (hasNextPage) but gave no endCursor")
        })?;
        if !self.seen.insert(next.clone()) {
            return Err(Error::system(format!(
                "Stigg returned endCursor {next:?} a second time; stopping rather than looping"
            )));
        }
        self.after = Some(next);
        Ok(true)
    }
}

/// Reads a node's keyset key: its cursor and tie-break fields, skipping the rest.
fn probe(node: &str, keys: &Incremental) -> Result<Key> {
    let unusable = |why: &dyn fmt::Display| {
        Error::system(format!(
            "a row from Stigg has no usable {}/{}: {why}",
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

/// Reads the named string fields of a JSON object (`None`: absent or null),
/// skipping the rest without building it.
fn string_fields<const N: usize>(
    node: &str,
    names: [&str; N],
) -> serde_json::Result<[Option<String>; N]> {
    StringFields(names).deserialize(&mut serde_json::Deserializer::from_str(node))
}

struct StringFields<'n, const N: usize>([&'n str; N]);

impl<'de, const N: usize> DeserializeSeed<'de> for StringFields<'_, N> {
    type Value = [Option<String>; N];

    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        de.deserialize_map(self)
    }
}

impl<'de, const N: usize> Visitor<'de> for StringFields<'_, N> {
    type Value = [Option<String>; N];

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "an object with string fields {}", self.0.join(", "))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut values = std::array::from_fn(|_| None);
        while let Some(name) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match self.0.iter().position(|wanted| *wanted == name) {
                Some(i) => values[i] = map.next_value::<Option<String>>()?,
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::streams;

    fn page(nodes: &[&str], next: bool, cursor: Option<&str>) -> Page {
        Page::from_nodes(nodes, next, cursor)
    }

    fn raw(text: &str) -> &str {
        text
    }

    fn with_total(mut page: Page, total: u64) -> Page {
        page.total_count = Some(total);
        page
    }

    const OLD: &str = r#"{"id":"a","createdAt":"2024-01-01T00:00:00.000Z"}"#;
    const NEW: &str = r#"{"createdAt":"2024-01-05T00:00:00.000Z","id":"z"}"#;

    #[test]
    fn a_small_stream_is_one_offset_read_that_refuses_repeated_cursors() {
        let stream = streams::find("subscriptions").unwrap();
        let (mut pos, note) = Position::full_refresh(stream, None, 50);
        assert!(note.is_none());
        let first = pos.requests(50);
        assert_eq!(
            first,
            vec![
                json!({"paging":{"first":50},"sorting":[{"field":"createdAt","direction":"ASC"},{"field":"subscriptionId","direction":"ASC"}],"filter":{}})
            ]
        );
        // 150 rows are too few to split: the first page's rows are emitted.
        let round = [with_total(page(&[OLD], true, Some("a")), 150)];
        assert_eq!(pos.advance(&round).unwrap(), 1);
        assert_eq!(
            pos.requests(5),
            vec![
                json!({"paging":{"first":5,"after":"a"},"sorting":first[0]["sorting"],"filter":{}})
            ]
        );
        assert_eq!(
            pos.state(),
            StreamState::FullRefresh {
                order: "createdAt,subscriptionId".into(),
                partitions: vec![PartitionState {
                    range: Range::ALL,
                    after: Some("a".into())
                }]
            }
        );
        assert_eq!(pos.advance(&[page(&[], true, Some("b"))]).unwrap(), 1);
        let repeat = pos.advance(&[page(&[], true, Some("a"))]).unwrap_err();
        assert!(repeat.message.contains("second time"), "{}", repeat.message);
        let missing = pos.advance(&[page(&[], true, None)]).unwrap_err();
        assert!(
            missing.message.contains("no endCursor"),
            "{}",
            missing.message
        );
        assert!(!pos.done());
        assert_eq!(pos.advance(&[page(&[], false, None)]).unwrap(), 1);
        assert!(pos.done());
        assert_eq!(pos.state(), StreamState::FullRefreshComplete);
    }

    #[test]
    fn a_large_stream_is_split_by_creation_time_and_resumes_per_partition() {
        let stream = streams::find("customers").unwrap();
        let (mut pos, _) = Position::full_refresh(stream, None, 50);
        let first = [with_total(page(&[OLD], true, Some("a")), 1_000)];
        assert_eq!(
            pos.advance(&first).unwrap(),
            0,
            "the first page is read again in its range"
        );
        assert_eq!(
            pos.requests(50),
            vec![
                json!({"paging":{"first":1},"sorting":[{"field":"createdAt","direction":"DESC"}],"filter":{"createdAt":{"isNot":null}}})
            ]
        );
        assert_eq!(pos.advance(&[page(&[NEW], false, None)]).unwrap(), 0);
        assert_eq!(pos.partitions(), 5);
        let requests = pos.requests(50);
        let filters: Vec<&Value> = requests.iter().map(|r| &r["filter"]).collect();
        assert_eq!(
            filters,
            [
                &json!({"createdAt":{"lt":"2024-01-02T00:00:00.000Z"}}),
                &json!({"and":[{"createdAt":{"gte":"2024-01-02T00:00:00.000Z"}},{"createdAt":{"lt":"2024-01-03T00:00:00.000Z"}}]}),
                &json!({"and":[{"createdAt":{"gte":"2024-01-03T00:00:00.000Z"}},{"createdAt":{"lt":"2024-01-04T00:00:00.000Z"}}]}),
                &json!({"createdAt":{"gte":"2024-01-04T00:00:00.000Z"}}),
                &json!({"createdAt":{"is":null}}),
            ]
        );
        // Every partition pages on; the first and the null one finish.
        let round = [
            page(&[OLD], false, None),
            page(&[], true, Some("b1")),
            page(&[], true, Some("c1")),
            page(&[NEW], true, Some("d1")),
            page(&[], false, None),
        ];
        assert_eq!(pos.advance(&round).unwrap(), 5);
        let state = pos.state();
        let StreamState::FullRefresh { partitions, .. } = &state else {
            panic!("{state:?}")
        };
        let afters: Vec<_> = partitions.iter().map(|p| p.after.as_deref()).collect();
        assert_eq!(afters, [Some("b1"), Some("c1"), Some("d1")]);
        // A new run resumes exactly there, without planning again.
        let (resumed, note) = Position::full_refresh(stream, Some(&state), 50);
        assert!(note.unwrap().contains("3 partition(s) left"));
        assert_eq!(resumed.requests(50), pos.requests(50));
        assert_eq!(resumed.requests(50).len(), 3);
    }

    #[test]
    fn a_stream_without_usable_creation_times_is_read_whole() {
        let stream = streams::find("customers").unwrap();
        let no_time = r#"{"id":"a","createdAt":null}"#;
        // The first row has no creation time: no split.
        let (mut pos, _) = Position::full_refresh(stream, None, 50);
        let first = [with_total(page(&[no_time], true, Some("a")), 1_000)];
        assert_eq!(pos.advance(&first).unwrap(), 1);
        assert_eq!(pos.partitions(), 1);
        // The newest row is as old as the first: no split, read from the start.
        let (mut pos, _) = Position::full_refresh(stream, None, 50);
        let first = [with_total(page(&[OLD], true, Some("a")), 1_000)];
        assert_eq!(pos.advance(&first).unwrap(), 0);
        assert_eq!(pos.advance(&[page(&[OLD], false, None)]).unwrap(), 0);
        assert_eq!(pos.requests(50)[0]["paging"], json!({"first": 50}));
        assert_eq!(pos.requests(50)[0]["filter"], json!({}));
    }

    #[test]
    fn a_round_must_match_its_requests() {
        let stream = streams::find("customers").unwrap();
        let (mut pos, _) = Position::full_refresh(stream, None, 50);
        assert!(pos.advance(&[]).is_err());
        let two = [page(&[], false, None), page(&[], false, None)];
        assert!(pos.advance(&two).is_err());
    }

    #[test]
    fn offset_paging_resumes_only_in_the_same_order() {
        let stream = streams::find("customers").unwrap();
        let saved = |order: &str| StreamState::FullRefresh {
            order: order.into(),
            partitions: vec![PartitionState {
                range: Range::ALL,
                after: Some("c9".into()),
            }],
        };
        let (pos, note) = Position::full_refresh(stream, Some(&saved("createdAt,id")), 50);
        assert_eq!(pos.requests(1)[0]["paging"]["after"], "c9");
        assert!(note.unwrap().contains("resuming"));
        let (pos, note) = Position::full_refresh(stream, Some(&saved("createdAt")), 50);
        assert!(pos.requests(1)[0]["paging"].get("after").is_none());
        assert!(note.unwrap().contains("starting over"));
    }

    #[test]
    fn keyset_paging_filters_after_the_last_row() {
        let keys = streams::find("customers")
            .unwrap()
            .incremental
            .as_ref()
            .unwrap();
        let mut pos = Position::incremental(keys, None, Some("2024-01-01T00:00:00.000Z"));
        assert_eq!(
            pos.requests(2)[0]["filter"],
            json!({"updatedAt":{"gte":"2024-01-01T00:00:00.000Z"}})
        );
        let (a, b) = (
            raw(r#"{"id":"b","updatedAt":"2024-02-01T00:00:00.000Z","x":[1,{"id":"z"}]}"#),
            raw(r#"{"updatedAt":"2024-02-01T00:00:00.000Z","id":"c"}"#),
        );
        assert_eq!(
            pos.advance(&[page(&[a, b], true, Some("ignored"))])
                .unwrap(),
            1
        );
        assert_eq!(
            pos.requests(2)[0]["filter"],
            json!({"or":[{"updatedAt":{"gt":"2024-02-01T00:00:00.000Z"}},{"updatedAt":{"eq":"2024-02-01T00:00:00.000Z"},"id":{"gt":"c"}}]})
        );
        assert_eq!(
            pos.state(),
            StreamState::Incremental {
                cursor_field: "updatedAt".into(),
                cursor: Some("2024-02-01T00:00:00.000Z".into())
            }
        );
        let older = raw(r#"{"id":"a","updatedAt":"2024-02-01T00:00:00.000Z"}"#);
        assert!(pos
            .advance(&[page(&[older], true, None)])
            .unwrap_err()
            .message
            .contains("out of"));
        assert!(!pos.done());
        pos.advance(&[page(&[], true, None)]).unwrap();
        assert!(pos.done(), "an empty page ends the read");
    }

    #[test]
    fn keyset_resumes_from_state_before_start_date_and_reports_bad_rows() {
        let keys = streams::find("customers")
            .unwrap()
            .incremental
            .as_ref()
            .unwrap();
        let saved = StreamState::Incremental {
            cursor_field: "updatedAt".into(),
            cursor: Some("2025-01-01T00:00:00.000Z".into()),
        };
        let mut pos = Position::incremental(keys, Some(&saved), Some("2020-01-01T00:00:00.000Z"));
        assert_eq!(
            pos.requests(1)[0]["filter"]["updatedAt"]["gte"],
            "2025-01-01T00:00:00.000Z"
        );
        for bad in [
            r#"{"id":"a"}"#,
            r#"{"id":"a","updatedAt":null}"#,
            r#"{"id":"a","updatedAt":"soon"}"#,
        ] {
            let node = raw(bad);
            assert_eq!(
                pos.advance(&[page(&[node], false, None)])
                    .unwrap_err()
                    .failure_type,
                crate::error::FailureType::System,
                "{bad}"
            );
        }
    }
}
