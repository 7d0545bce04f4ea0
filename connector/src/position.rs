//! Where a stream's read stands, and how it moves: the GraphQL variables for the
//! next page, the advance over a page, and the state that checkpoints it.

use std::collections::HashSet;
use std::fmt;

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::graphql::Page;
use crate::state::StreamState;
use crate::streams::{Incremental, StreamDef};
use crate::time::parse_rfc3339_ms;

/// A read in progress.
#[derive(Debug)]
pub enum Position {
    /// Full refresh: Stigg's offset cursors over `full_refresh_order`, ascending.
    Offset {
        order: &'static [&'static str],
        after: Option<String>,
        /// Every cursor followed so far: a repeat would loop forever.
        seen: HashSet<String>,
    },
    /// Incremental: keyset paging on (cursor, tie_break), ascending.
    Keyset {
        keys: &'static Incremental,
        /// Lower bound (inclusive) of the first page: the saved cursor or `start_date`.
        from: Option<String>,
        /// The key of the last row emitted.
        last: Option<Key>,
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
    ) -> (Position, Option<String>) {
        let order = stream.full_refresh_order;
        let (after, note) = match saved {
            Some(StreamState::FullRefresh {
                order: saved_order,
                after,
            }) if *saved_order == order.join(",") => (
                Some(after.clone()),
                Some(format!("resuming the full refresh after cursor {after}")),
            ),
            Some(StreamState::FullRefresh {
                order: saved_order, ..
            }) => (
                None,
                Some(format!(
                    "the saved position is for order `{saved_order}`, not `{}`: starting over",
                    order.join(",")
                )),
            ),
            _ => (None, None),
        };
        (
            Position::Offset {
                order,
                after,
                seen: HashSet::new(),
            },
            note,
        )
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
        }
    }

    /// The `variables` of the next page's query. `filter` is always given (`{}`,
    /// the schema's default, when nothing is filtered) so no server has to treat an
    /// absent variable as absent rather than null.
    pub fn variables(&self, page_size: u32) -> Value {
        let asc = |field: &str| json!({ "field": field, "direction": "ASC" });
        match self {
            Position::Offset { order, after, .. } => {
                let mut paging = json!({ "first": page_size });
                if let Some(after) = after {
                    paging["after"] = json!(after);
                }
                let sorting: Vec<Value> = order.iter().map(|f| asc(f)).collect();
                json!({ "paging": paging, "sorting": sorting, "filter": {} })
            }
            Position::Keyset { keys, from, last } => {
                let (c, t) = (keys.cursor, keys.tie_break);
                let filter = match (last, from) {
                    (Some(last), _) => json!({ "or": [
                        { c: { "gt": last.cursor } },
                        { c: { "eq": last.cursor }, t: { "gt": last.tie } },
                    ]}),
                    (None, Some(from)) => json!({ c: { "gte": from } }),
                    (None, None) => json!({}),
                };
                json!({ "paging": { "first": page_size }, "sorting": [asc(c), asc(t)], "filter": filter })
            }
        }
    }

    /// Moves past `page`. Returns whether another page follows. Errors when the
    /// page would make the read loop or skip: a repeated cursor, rows out of order.
    pub fn advance(&mut self, page: &Page) -> Result<bool> {
        match self {
            Position::Offset { after, seen, .. } => {
                if !page.has_next_page {
                    return Ok(false);
                }
                let next = page.end_cursor.clone().ok_or_else(|| {
                    Error::system(
                        "Stigg said another page follows (hasNextPage) but gave no endCursor",
                    )
                })?;
                if !seen.insert(next.clone()) || after.as_ref() == Some(&next) {
                    return Err(Error::system(format!(
                        "Stigg returned endCursor {next:?} a second time; stopping rather than looping"
                    )));
                }
                *after = Some(next);
                Ok(true)
            }
            Position::Keyset { keys, last, .. } => {
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
                Ok(page.has_next_page && page.nodes().len() > 0)
            }
        }
    }

    /// The state to checkpoint now; `done` once the last page has been emitted.
    pub fn state(&self, done: bool) -> StreamState {
        match self {
            Position::Offset { .. } if done => StreamState::FullRefreshComplete,
            Position::Offset { order, after, .. } => StreamState::FullRefresh {
                order: order.join(","),
                after: after.clone().unwrap_or_default(),
            },
            Position::Keyset { keys, from, last } => StreamState::Incremental {
                cursor_field: keys.cursor.to_owned(),
                cursor: last
                    .as_ref()
                    .map(|k| k.cursor.clone())
                    .or_else(|| from.clone()),
            },
        }
    }
}

/// Reads a node's keyset key: its cursor and tie-break fields, skipping the rest.
fn probe(node: &str, keys: &Incremental) -> Result<Key> {
    let mut de = serde_json::Deserializer::from_str(node);
    let (cursor, tie) = KeyFields(keys).deserialize(&mut de).map_err(|e| {
        Error::system(format!(
            "a row from Stigg has no usable {}/{}: {e}",
            keys.cursor, keys.tie_break
        ))
    })?;
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

struct KeyFields<'k>(&'k Incremental);

impl<'de> DeserializeSeed<'de> for KeyFields<'_> {
    type Value = (String, String);

    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        de.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for KeyFields<'_> {
    type Value = (String, String);

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "an object with string fields {} and {}",
            self.0.cursor, self.0.tie_break
        )
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut cursor, mut tie) = (None, None);
        while let Some(name) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if name == self.0.cursor {
                cursor = Some(map.next_value::<String>()?);
            } else if name == self.0.tie_break {
                tie = Some(map.next_value::<String>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        match (cursor, tie) {
            (Some(c), Some(t)) => Ok((c, t)),
            _ => Err(serde::de::Error::custom("missing field")),
        }
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

    #[test]
    fn offset_paging_follows_cursors_and_refuses_repeats() {
        let stream = streams::find("subscriptions").unwrap();
        let (mut pos, note) = Position::full_refresh(stream, None);
        assert!(note.is_none());
        assert_eq!(
            pos.variables(50),
            json!({"paging":{"first":50},"sorting":[{"field":"createdAt","direction":"ASC"},{"field":"subscriptionId","direction":"ASC"}],"filter":{}})
        );
        assert!(pos.advance(&page(&[], true, Some("a"))).unwrap());
        assert_eq!(pos.variables(5)["paging"], json!({"first":5,"after":"a"}));
        assert_eq!(
            pos.state(false),
            StreamState::FullRefresh {
                order: "createdAt,subscriptionId".into(),
                after: "a".into()
            }
        );
        assert!(pos.advance(&page(&[], true, Some("b"))).unwrap());
        assert!(pos
            .advance(&page(&[], true, Some("a")))
            .unwrap_err()
            .message
            .contains("second time"));
        assert!(pos
            .advance(&page(&[], true, None))
            .unwrap_err()
            .message
            .contains("no endCursor"));
        assert!(!pos.advance(&page(&[], false, None)).unwrap());
        assert_eq!(pos.state(true), StreamState::FullRefreshComplete);
    }

    #[test]
    fn offset_paging_resumes_only_in_the_same_order() {
        let stream = streams::find("customers").unwrap();
        let saved = StreamState::FullRefresh {
            order: "createdAt,id".into(),
            after: "c9".into(),
        };
        let (pos, note) = Position::full_refresh(stream, Some(&saved));
        assert_eq!(pos.variables(1)["paging"]["after"], "c9");
        assert!(note.unwrap().contains("resuming"));
        let other = StreamState::FullRefresh {
            order: "createdAt".into(),
            after: "c9".into(),
        };
        let (pos, note) = Position::full_refresh(stream, Some(&other));
        assert!(pos.variables(1)["paging"].get("after").is_none());
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
            pos.variables(2)["filter"],
            json!({"updatedAt":{"gte":"2024-01-01T00:00:00.000Z"}})
        );
        let (a, b) = (
            raw(r#"{"id":"b","updatedAt":"2024-02-01T00:00:00.000Z","x":[1,{"id":"z"}]}"#),
            raw(r#"{"updatedAt":"2024-02-01T00:00:00.000Z","id":"c"}"#),
        );
        assert!(pos.advance(&page(&[a, b], true, Some("ignored"))).unwrap());
        assert_eq!(
            pos.variables(2)["filter"],
            json!({"or":[{"updatedAt":{"gt":"2024-02-01T00:00:00.000Z"}},{"updatedAt":{"eq":"2024-02-01T00:00:00.000Z"},"id":{"gt":"c"}}]})
        );
        assert_eq!(
            pos.state(false),
            StreamState::Incremental {
                cursor_field: "updatedAt".into(),
                cursor: Some("2024-02-01T00:00:00.000Z".into())
            }
        );
        let older = raw(r#"{"id":"a","updatedAt":"2024-02-01T00:00:00.000Z"}"#);
        assert!(pos
            .advance(&page(&[older], true, None))
            .unwrap_err()
            .message
            .contains("out of"));
        assert!(!pos.advance(&page(&[], true, None)).unwrap());
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
            pos.variables(1)["filter"]["updatedAt"]["gte"],
            "2025-01-01T00:00:00.000Z"
        );
        for bad in [
            r#"{"id":"a"}"#,
            r#"{"id":"a","updatedAt":null}"#,
            r#"{"id":"a","updatedAt":"soon"}"#,
        ] {
            let node = raw(bad);
            assert_eq!(
                pos.advance(&page(&[node], false, None))
                    .unwrap_err()
                    .failure_type,
                crate::error::FailureType::System,
                "{bad}"
            );
        }
    }
}
