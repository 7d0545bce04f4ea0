//! Full refresh: a stream paged by the server's offset cursors in creation order
//! (`offset`), split into creation-time partitions when it is large
//! (`planning`, `crate::partition`), and checkpointed as the partitions left.

use serde_json::{json, Value};

use super::nestjs::{arguments, ascending, descending};
use super::offset::Part;
use super::planning::{Planning, Step};
use crate::error::{Error, Result};
use crate::page::Page;
use crate::partition::{self, Range};
use crate::state::{PartitionState, PartitionsLeft, StreamState};
use crate::stream::{Order, StreamDef};

/// The unfinished partitions of a full refresh.
#[derive(Debug)]
pub struct Partitions {
    order: Order,
    parts: Vec<Part>,
    /// Set for a fresh read until it knows whether to split the stream.
    planning: Option<Planning>,
}

impl Partitions {
    /// A fresh read, or the saved one if it is a full refresh in the same
    /// order. The note says what became of a saved position.
    pub fn new(
        stream: &'static StreamDef,
        order: Order,
        saved: Option<&PartitionsLeft>,
        page_size: u32,
    ) -> (Partitions, Option<String>) {
        let key = order.fields().join(",");
        let fresh = || {
            let nullable = stream.field(order.created).is_none_or(|f| f.nullable);
            let planning = Some(Planning::FirstPage {
                page_size,
                nullable,
            });
            (vec![Part::new(Range::ALL, None)], planning)
        };
        let ((parts, planning), note) = match saved {
            Some(PartitionsLeft {
                order: saved_order,
                partitions,
            }) if *saved_order == key => {
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
            Some(PartitionsLeft {
                order: saved_order, ..
            }) => (
                fresh(),
                Some(format!(
                    "the saved position is for order `{saved_order}`, not `{key}`: starting over"
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
        StreamState::FullRefresh(PartitionsLeft {
            order: self.order.fields().join(","),
            partitions: self
                .parts
                .iter()
                .map(|part| PartitionState {
                    range: part.range.clone(),
                    after: part.offset.after().cloned(),
                })
                .collect(),
        })
    }

    fn field(&self) -> &'static str {
        self.order.created
    }

    pub fn requests(&self, page_size: u32) -> Vec<Value> {
        if let Some(Planning::Newest { .. }) = self.planning {
            return vec![arguments(
                json!({ "first": 1 }),
                descending(self.field()),
                partition::newest_filter(self.field()),
            )];
        }
        self.parts
            .iter()
            .map(|part| {
                let filter = part.range.filter(self.field());
                arguments(
                    part.offset.paging(page_size),
                    ascending(&self.order.fields()),
                    filter,
                )
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
        match planning.next(page, self.field()) {
            Step::ReadWhole => false,
            Step::AskNewest(next) => {
                self.planning = Some(next);
                true
            }
            Step::Split(ranges) => {
                if let Some(ranges) = ranges {
                    self.parts = ranges.into_iter().map(|r| Part::new(r, None)).collect();
                }
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_pages::{page, with_total};
    use super::*;
    use crate::fixtures as streams;

    fn order(stream: &StreamDef) -> Order {
        stream
            .connection()
            .expect("a connection")
            .full_refresh_order
    }

    const OLD: &str = r#"{"id":"a","createdAt":"2024-01-01T00:00:00.000Z"}"#;
    const NEW: &str = r#"{"createdAt":"2024-01-05T00:00:00.000Z","id":"z"}"#;

    #[test]
    fn a_small_stream_is_one_offset_read_that_refuses_repeated_cursors() {
        let stream = streams::find("subscriptions").unwrap();
        let (mut pos, note) = Partitions::new(stream, order(stream), None, 50);
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
            StreamState::FullRefresh(PartitionsLeft {
                order: "createdAt,subscriptionId".into(),
                partitions: vec![PartitionState {
                    range: Range::ALL,
                    after: Some("a".into())
                }]
            })
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
        let (mut pos, _) = Partitions::new(stream, order(stream), None, 50);
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
        let StreamState::FullRefresh(state) = pos.state() else {
            panic!("a full refresh under way")
        };
        let partitions = &state.partitions;
        let afters: Vec<_> = partitions.iter().map(|p| p.after.as_deref()).collect();
        assert_eq!(afters, [Some("b1"), Some("c1"), Some("d1")]);
        // A new run resumes exactly there, without planning again.
        let (resumed, note) = Partitions::new(stream, order(stream), Some(&state), 50);
        assert!(note.unwrap().contains("3 partition(s) left"));
        assert_eq!(resumed.requests(50), pos.requests(50));
        assert_eq!(resumed.requests(50).len(), 3);
    }

    #[test]
    fn a_row_outside_its_partition_stops_the_read() {
        let stream = streams::find("customers").unwrap();
        let (mut pos, _) = Partitions::new(stream, order(stream), None, 50);
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
        let (mut pos, _) = Partitions::new(stream, order(stream), None, 50);
        let first = [with_total(page(&[no_time], true, Some("a")), 1_000)];
        assert_eq!(pos.advance(&first).unwrap(), 1);
        assert_eq!(pos.remaining(), 1);
        // The newest row is as old as the first: no split, read from the start.
        let (mut pos, _) = Partitions::new(stream, order(stream), None, 50);
        let first = [with_total(page(&[OLD], true, Some("a")), 1_000)];
        assert_eq!(pos.advance(&first).unwrap(), 0);
        assert_eq!(pos.advance(&[page(&[OLD], false, None)]).unwrap(), 0);
        assert_eq!(pos.requests(50)[0]["paging"], json!({"first": 50}));
        assert_eq!(pos.requests(50)[0]["filter"], json!({}));
    }

    #[test]
    fn a_round_must_match_its_requests() {
        let stream = streams::find("customers").unwrap();
        let (mut pos, _) = Partitions::new(stream, order(stream), None, 50);
        assert!(pos.advance(&[]).is_err());
        let two = [page(&[], false, None), page(&[], false, None)];
        assert!(pos.advance(&two).is_err());
    }

    #[test]
    fn offset_paging_resumes_only_in_the_same_order() {
        let stream = streams::find("customers").unwrap();
        let saved = |order: &str| PartitionsLeft {
            order: order.into(),
            partitions: vec![PartitionState {
                range: Range::ALL,
                after: Some("c9".into()),
            }],
        };
        let (pos, note) = Partitions::new(stream, order(stream), Some(&saved("createdAt,id")), 50);
        assert_eq!(pos.requests(1)[0]["paging"]["after"], "c9");
        assert!(note.unwrap().contains("resuming"));
        let (pos, note) = Partitions::new(stream, order(stream), Some(&saved("createdAt")), 50);
        assert!(pos.requests(1)[0]["paging"].get("after").is_none());
        assert!(note.unwrap().contains("starting over"));
    }
}
