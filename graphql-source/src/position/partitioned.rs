//! Full refresh: a stream paged by the server's offset cursors in creation order,
//! split into creation-time partitions when it is large (see `crate::partition`).

use std::collections::HashSet;

use serde_json::{json, Value};

use super::asc;
use crate::raw_json::string_fields;
use crate::error::{Error, Result};
use crate::graphql::Page;
use crate::partition::{self, Range};
use crate::state::{PartitionState, StreamState};
use crate::stream::StreamDef;
use crate::time::parse_rfc3339_ms;

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

impl Partitions {
    /// A fresh read, or the saved one if it is a full refresh in the same
    /// order. The note says what became of a saved position.
    pub fn new(
        stream: &'static StreamDef,
        saved: Option<&StreamState>,
        page_size: u32,
    ) -> (Partitions, Option<String>) {
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
        (partitions, note)
    }

    pub fn done(&self) -> bool {
        self.parts.is_empty()
    }

    /// Whether the next round still serves planning only.
    pub fn planning(&self) -> bool {
        self.planning.is_some()
    }

    /// How many partitions are left to read.
    pub fn remaining(&self) -> usize {
        self.parts.len()
    }

    pub fn state(&self) -> StreamState {
        if self.parts.is_empty() {
            return StreamState::FullRefreshComplete;
        }
        StreamState::FullRefresh {
            order: self.order.join(","),
            partitions: self
                .parts
                .iter()
                .map(|part| PartitionState {
                    range: part.range.clone(),
                    after: part.after.clone(),
                })
                .collect(),
        }
    }

    fn field(&self) -> &'static str {
        self.order[0]
    }

    pub fn requests(&self, page_size: u32) -> Vec<Value> {
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

    pub fn advance(&mut self, pages: &[Page]) -> Result<usize> {
        let expected = match self.planning {
            Some(Planning::Newest { .. }) => 1,
            _ => self.parts.len(),
        };
        if pages.len() != expected {
            return Err(Error::system(
                "a round of pages does not match its requests",
            ));
        }
        if let Some(planning) = self.planning.take() {
            if self.plan(planning, &pages[0]) {
                return Ok(0);
            }
        }
        let field = self.field();
        let more = self
            .parts
            .iter_mut()
            .zip(pages)
            .map(|(part, page)| part.advance(page, field))
            .collect::<Result<Vec<bool>>>()?;
        let rows = self.parts.len();
        let mut more = more.into_iter();
        self.parts.retain(|_| more.next().unwrap_or(true));
        Ok(rows)
    }

    /// Moves the planning on with the round's one page. Returns whether that
    /// page served planning only: then its rows are read again in their
    /// partition, and none is emitted now.
    fn plan(&mut self, planning: Planning, page: &Page) -> bool {
        match planning {
            Planning::FirstPage {
                page_size,
                nullable,
            } => {
                let rows = page.total_count.unwrap_or(0);
                let large = page.has_next_page && partition::worth_splitting(rows, page_size);
                let Some(oldest_ms) = self.created_ms(page).filter(|_| large) else {
                    return false;
                };
                self.planning = Some(Planning::Newest {
                    rows,
                    page_size,
                    oldest_ms,
                    nullable,
                });
                true
            }
            Planning::Newest {
                rows,
                page_size,
                oldest_ms,
                nullable,
            } => {
                let ranges = self.created_ms(page).and_then(|newest_ms| {
                    partition::plan(rows, page_size, oldest_ms, newest_ms, nullable)
                });
                if let Some(ranges) = ranges {
                    self.parts = ranges.into_iter().map(|r| Part::new(r, None)).collect();
                }
                true
            }
        }
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

    /// Moves past `page`; returns whether another page follows. Its rows must
    /// be in the partition's range (sorted, so the first and last tell): a
    /// server that ignored the filter would send every partition the same rows.
    fn advance(&mut self, page: &Page, field: &str) -> Result<bool> {
        let ends = [page.nodes().next(), page.nodes().last()];
        for node in ends.into_iter().flatten() {
            let created = string_fields(node, [field]).ok().and_then(|[c]| c);
            if !self.range.holds(created.as_deref()) {
                return Err(Error::system(format!(
                    "the server returned a row with {field} {} for the partition {}: the filter \
                     was not applied; stopping rather than emitting rows twice",
                    created.as_deref().unwrap_or("null"),
                    serde_json::to_string(&self.range).unwrap_or_default(),
                )));
            }
        }
        if !page.has_next_page {
            return Ok(false);
        }
        let next = page.end_cursor.clone().ok_or_else(|| {
            Error::system(
                "the server said another page follows (hasNextPage) but gave no endCursor",
            )
        })?;
        if !self.seen.insert(next.clone()) {
            return Err(Error::system(format!(
                "the server returned endCursor {next:?} a second time; stopping rather than looping"
            )));
        }
        self.after = Some(next);
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_pages::{page, with_total};
    use super::*;
    use crate::fixtures as streams;

    const OLD: &str = r#"{"id":"a","createdAt":"2024-01-01T00:00:00.000Z"}"#;
    const NEW: &str = r#"{"createdAt":"2024-01-05T00:00:00.000Z","id":"z"}"#;

    #[test]
    fn a_small_stream_is_one_offset_read_that_refuses_repeated_cursors() {
        let stream = streams::find("subscriptions").unwrap();
        let (mut pos, note) = Partitions::new(stream, None, 50);
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
        let (mut pos, _) = Partitions::new(stream, None, 50);
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
        assert_eq!(pos.remaining(), 5);
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
        let (resumed, note) = Partitions::new(stream, Some(&state), 50);
        assert!(note.unwrap().contains("3 partition(s) left"));
        assert_eq!(resumed.requests(50), pos.requests(50));
        assert_eq!(resumed.requests(50).len(), 3);
    }

    #[test]
    fn a_row_outside_its_partition_stops_the_read() {
        let stream = streams::find("customers").unwrap();
        let (mut pos, _) = Partitions::new(stream, None, 50);
        pos.advance(&[with_total(page(&[OLD], true, Some("a")), 1_000)])
            .unwrap();
        pos.advance(&[page(&[NEW], false, None)]).unwrap();
        // The second range starts on Jan 2: a server that ignored the filter
        // sends it the oldest rows again.
        let mut round: Vec<Page> = (0..5).map(|_| page(&[], false, None)).collect();
        round[1] = page(&[OLD], true, Some("b1"));
        let error = pos.advance(&round).unwrap_err();
        assert!(
            error.message.contains("createdAt 2024-01-01T00:00:00.000Z")
                && error.message.contains("not applied"),
            "{}",
            error.message
        );
        round[1] = page(&[], false, None);
        round[4] = page(&[OLD], false, None);
        let error = pos.advance(&round).unwrap_err();
        assert!(
            error.message.contains(r#"partition "null""#),
            "{}",
            error.message
        );
    }

    #[test]
    fn a_stream_without_usable_creation_times_is_read_whole() {
        let stream = streams::find("customers").unwrap();
        let no_time = r#"{"id":"a","createdAt":null}"#;
        // The first row has no creation time: no split.
        let (mut pos, _) = Partitions::new(stream, None, 50);
        let first = [with_total(page(&[no_time], true, Some("a")), 1_000)];
        assert_eq!(pos.advance(&first).unwrap(), 1);
        assert_eq!(pos.remaining(), 1);
        // The newest row is as old as the first: no split, read from the start.
        let (mut pos, _) = Partitions::new(stream, None, 50);
        let first = [with_total(page(&[OLD], true, Some("a")), 1_000)];
        assert_eq!(pos.advance(&first).unwrap(), 0);
        assert_eq!(pos.advance(&[page(&[OLD], false, None)]).unwrap(), 0);
        assert_eq!(pos.requests(50)[0]["paging"], json!({"first": 50}));
        assert_eq!(pos.requests(50)[0]["filter"], json!({}));
    }

    #[test]
    fn a_round_must_match_its_requests() {
        let stream = streams::find("customers").unwrap();
        let (mut pos, _) = Partitions::new(stream, None, 50);
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
        let (pos, note) = Partitions::new(stream, Some(&saved("createdAt,id")), 50);
        assert_eq!(pos.requests(1)[0]["paging"]["after"], "c9");
        assert!(note.unwrap().contains("resuming"));
        let (pos, note) = Partitions::new(stream, Some(&saved("createdAt")), 50);
        assert!(pos.requests(1)[0]["paging"].get("after").is_none());
        assert!(note.unwrap().contains("starting over"));
    }
}
