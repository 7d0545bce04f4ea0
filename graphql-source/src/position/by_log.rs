//! A read an activity log drives, as a decorator over the pager that reads
//! the rows: in full, after which the log is read from `from`; or again for
//! the rows the log names as changed from `from` on, after which it is read
//! from `next`. Its states say where the pager stands and where the log is
//! to be read from, in the form of the stream's kind.

use serde_json::Value;

use super::Pager;
use crate::error::Result;
use crate::page::Page;
use crate::state::{ActivityAt, Nested, ParentsFrom, StreamState};

/// Which rows a read by the log reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Since {
    /// Every row; then the log from `from`.
    Full { from: String },
    /// The rows changed from `from` on; then the log from `next`.
    Changes { from: String, next: String },
}

impl Since {
    /// Where the log is to be read from next: past this read once it is
    /// done; from where it started while it is not (the same rows again).
    fn from(&self, done: bool) -> String {
        match self {
            Since::Changes { next, .. } if done => next.clone(),
            Since::Full { from } | Since::Changes { from, .. } => from.clone(),
        }
    }
}

/// How a stream's states carry the log's position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// A stream read by id (`StreamState::Activity`): `syncs` reads of
    /// changes since its last full refresh, before this one.
    Activity { syncs: u32 },
    /// A per-parent stream (`PerParent` while its full read is under way,
    /// `PerParentLog` between reads).
    PerParent,
}

/// What a read by the log adds to its pager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ByLog {
    pub since: Since,
    pub form: Form,
}

impl ByLog {
    /// `pager`, decorated when the log drives the read (`slot` holds the
    /// decorator).
    pub fn over<'p>(
        by_log: Option<ByLog>,
        pager: &'p mut dyn Pager,
        slot: &'p mut Option<Logged<'p>>,
    ) -> &'p mut dyn Pager {
        match by_log {
            Some(log) => slot.insert(Logged { pager, log }),
            None => pager,
        }
    }

    /// The state to write when the pager's is `inner`.
    fn state(&self, inner: StreamState, done: bool) -> StreamState {
        let from = self.since.from(done);
        let full = matches!(self.since, Since::Full { .. });
        match (self.form, inner) {
            (Form::Activity { syncs }, inner) => StreamState::Activity(ActivityAt {
                from,
                syncs: match (full, done) {
                    (true, _) => 0,
                    (false, true) => syncs + 1,
                    (false, false) => syncs,
                },
                full_refresh: match inner {
                    StreamState::FullRefresh(left) if full && !done => {
                        Some(Nested::FullRefresh(left))
                    }
                    _ => None,
                },
            }),
            (Form::PerParent, StreamState::PerParent(at)) if full && !done => {
                StreamState::PerParent(ParentsFrom {
                    activity_from: Some(from),
                    ..at
                })
            }
            (Form::PerParent, _) => StreamState::PerParentLog { from },
        }
    }
}

/// A pager read by the log: pages as its pager, states as [`ByLog`] says.
pub struct Logged<'p> {
    pager: &'p mut dyn Pager,
    log: ByLog,
}

impl Pager for Logged<'_> {
    fn done(&self) -> bool {
        self.pager.done()
    }

    fn requests(&mut self, page_size: u32) -> Vec<Value> {
        self.pager.requests(page_size)
    }

    fn advance(&mut self, pages: &[Page]) -> Result<usize> {
        self.pager.advance(pages)
    }

    fn state(&self) -> StreamState {
        self.log.state(self.pager.state(), self.pager.done())
    }

    fn bounded_by_count(&self) -> bool {
        self.pager.bounded_by_count()
    }

    fn planning(&self) -> bool {
        self.pager.planning()
    }

    fn partitions(&self) -> usize {
        self.pager.partitions()
    }

    fn estimate(&self, rows: u64) -> Option<u64> {
        self.pager.estimate(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::partition::Range;
    use crate::state::{PartitionState, PartitionsLeft};

    fn under_way() -> StreamState {
        StreamState::FullRefresh(PartitionsLeft {
            order: "createdAt,id".into(),
            partitions: vec![PartitionState {
                range: Range::ALL,
                after: Some("c".into()),
            }],
        })
    }

    fn activity(from: &str, syncs: u32, full_refresh: Option<StreamState>) -> StreamState {
        let full_refresh = full_refresh.map(|state| match state {
            StreamState::FullRefresh(left) => Nested::FullRefresh(left),
            other => panic!("{other:?}"),
        });
        StreamState::Activity(ActivityAt {
            from: from.into(),
            syncs,
            full_refresh,
        })
    }

    #[test]
    fn a_stream_read_by_id_saves_its_full_refresh_until_done_and_counts_its_syncs() {
        let full = ByLog {
            since: Since::Full { from: "T0".into() },
            form: Form::Activity { syncs: 4 },
        };
        assert_eq!(
            full.state(under_way(), false),
            activity("T0", 0, Some(under_way()))
        );
        assert_eq!(
            full.state(StreamState::FullRefreshComplete, true),
            activity("T0", 0, None)
        );
        let changes = ByLog {
            since: Since::Changes {
                from: "T1".into(),
                next: "T2".into(),
            },
            form: Form::Activity { syncs: 2 },
        };
        let interrupted = changes.state(StreamState::FullRefreshComplete, false);
        assert_eq!(
            interrupted,
            activity("T1", 2, None),
            "the same changes again"
        );
        let done = changes.state(StreamState::FullRefreshComplete, true);
        assert_eq!(done, activity("T2", 3, None));
    }

    #[test]
    fn a_per_parent_stream_carries_the_log_s_position_through_its_full_read() {
        let parents = StreamState::PerParent(ParentsFrom {
            parents_from: vec![Some("p".into())],
            activity_from: None,
        });
        let full = ByLog {
            since: Since::Full { from: "T0".into() },
            form: Form::PerParent,
        };
        assert_eq!(
            full.state(parents, false),
            StreamState::PerParent(ParentsFrom {
                parents_from: vec![Some("p".into())],
                activity_from: Some("T0".into()),
            })
        );
        let log = |from: &str| StreamState::PerParentLog { from: from.into() };
        assert_eq!(
            full.state(StreamState::FullRefreshComplete, true),
            log("T0")
        );
        let changes = ByLog {
            since: Since::Changes {
                from: "T1".into(),
                next: "T2".into(),
            },
            form: Form::PerParent,
        };
        let at = StreamState::PerParent(ParentsFrom {
            parents_from: vec![],
            activity_from: None,
        });
        assert_eq!(
            changes.state(at, false),
            log("T1"),
            "the same parents again"
        );
        assert_eq!(
            changes.state(StreamState::FullRefreshComplete, true),
            log("T2")
        );
    }
}
