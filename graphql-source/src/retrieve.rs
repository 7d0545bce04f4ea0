//! The one read loop: a pager's round of requests, sent at once; the pager
//! moved past the answers; the pages with rows handed to the read's
//! [`Rows`]; the STATEs they name written. Every kind of read (a stream, its
//! parents, an activity log, deletions) pages through it, so the guard
//! against a server paging without end, and the order of RUNNING, records,
//! STATE, ESTIMATE and progress LOG, hold for all of them.

use serde_json::Value;

use crate::error::{Error, Result};
use crate::fetch::{Reader, Sent};
use crate::messages::{self, Status};
use crate::page::{Page, Root};
use crate::position::Pager;
use crate::state::StreamState;
use crate::time::now_ms;

/// What a read asks: the first round's query (which may ask for
/// `totalCount`), the query of every later round, and where the rows are.
pub struct Queries<'q> {
    /// Names the read in LOGs and errors.
    pub label: &'q str,
    /// The stream whose rows these are, for its ESTIMATE; `None` for a
    /// read that emits none (a listing of parents, an activity log).
    pub stream: Option<&'q str>,
    pub root: Root<'q>,
    pub first: &'q str,
    pub next: &'q str,
}

/// One round, as the caller sees it.
pub struct Round<'r> {
    /// The pages whose rows are to be emitted (a planning round has none).
    pub pages: &'r [Page],
    /// The variables each page was asked with, in the same order.
    pub requests: &'r [Value],
    /// The pager, moved past the round.
    pub pager: &'r dyn Pager,
    /// Rows in `pages`, and in every round so far.
    pub rows: u64,
    pub total: u64,
}

/// What a read does with its rows: it emits them, and names the STATEs
/// that checkpoint them. The retriever writes those, and the RUNNING and
/// ESTIMATEs around them, so every kind of read reports alike.
pub trait Rows {
    /// The streams whose records this read emits (RUNNING for each).
    fn streams(&self) -> Vec<&'static str> {
        Vec::new()
    }

    /// Emits a round's records.
    fn emit(&mut self, reader: &mut Reader, round: &Round) -> Result<()>;

    /// The STATEs to write where `pager` stands (after a round, or at once
    /// when there was nothing to read).
    fn checkpoints(&mut self, _pager: &dyn Pager) -> Vec<Checkpoint> {
        Vec::new()
    }
}

/// A read whose rows go to a closure checkpoints nothing.
impl<F: FnMut(&mut Reader, &Round) -> Result<()>> Rows for F {
    fn emit(&mut self, reader: &mut Reader, round: &Round) -> Result<()> {
        self(reader, round)
    }
}

/// One STATE to write.
pub struct Checkpoint {
    pub stream: &'static str,
    pub state: StreamState,
    /// Records of the stream emitted since its last STATE.
    pub records: u64,
    /// Whether this read emits every row of the stream, so its records per
    /// row read times the read's count estimate the stream's size.
    pub whole: bool,
}

/// What a read did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retrieved {
    pub rounds: u64,
    pub pages: u64,
    pub rows: u64,
    pub requests: u64,
}

impl Retrieved {
    fn add(&mut self, requests: usize, pages: usize, rows: u64) {
        self.rounds += 1;
        self.requests += requests as u64;
        self.pages += pages as u64;
        self.rows += rows;
    }
}

impl Reader<'_> {
    /// Pages through `pager` to its end, handing every round to `rows`.
    pub fn retrieve(
        &mut self,
        queries: &Queries,
        pager: &mut dyn Pager,
        rows: &mut dyn Rows,
    ) -> Result<Retrieved> {
        let label = queries.label;
        let mut done = Retrieved::default();
        let mut bound = None;
        let mut pulse = Pulse::new(self.settings.progress_every_ms);
        while !pager.done() {
            let query = if done.rounds == 0 {
                queries.first
            } else {
                queries.next
            };
            let Sent {
                variables: sent,
                pages: fetched,
            } = self
                .round(label, queries.root, query, &mut |rows| pager.requests(rows))
                .map_err(|e| e.context(format_args!("{label}, after {} records", done.rows)))?;
            if done.rounds == 0 {
                bound = self.first_answer(queries, &*pager, &*rows, &fetched);
                pulse.expected = bound.as_ref().map(|b| b.counted);
            }
            let with_rows = pager.advance(&fetched)?;
            let pages = &fetched[..with_rows];
            let round_rows = pages.iter().map(|p| p.nodes().len() as u64).sum();
            let first_rows = done.rows == 0 && round_rows > 0;
            done.add(fetched.len(), with_rows, round_rows);
            if let Some(bound) = &bound {
                bound
                    .check(done.rows, &pager.state())
                    .map_err(|e| e.context(label))?;
            }
            let round = Round {
                pages,
                requests: &sent[..with_rows.min(sent.len())],
                pager: &*pager,
                rows: round_rows,
                total: done.rows,
            };
            rows.emit(self, &round)?;
            let checkpoints = rows.checkpoints(&*pager);
            if let (true, Some(bound)) = (first_rows, &bound) {
                self.estimate_others(queries, &checkpoints, bound.counted, round_rows);
            }
            self.write(checkpoints);
            self.pulse(queries, &*pager, &done, &mut pulse);
        }
        if done.rounds == 0 {
            // Nothing to read (no change logged): the states still move on.
            self.running(queries, &*rows, None);
            let checkpoints = rows.checkpoints(&*pager);
            self.write(checkpoints);
        }
        Ok(done)
    }

    /// After the first answer: RUNNING, and how far the read may go where
    /// the answer counts every row it will emit.
    fn first_answer(
        &mut self,
        queries: &Queries,
        pager: &dyn Pager,
        rows: &dyn Rows,
        pages: &[Page],
    ) -> Option<RowBound> {
        let counted =
            count_of(pages.iter().map(|p| p.total_count)).filter(|_| pager.bounded_by_count());
        self.running(queries, rows, counted);
        counted.map(|rows| RowBound::new(rows, self.rows()))
    }

    /// RUNNING for every stream the read emits, and the ESTIMATE its count
    /// gives of the stream it reads.
    fn running(&mut self, queries: &Queries, rows: &dyn Rows, counted: Option<u64>) {
        for stream in rows.streams() {
            self.sink
                .emit(&messages::stream_status(stream, Status::Running));
        }
        if let (Some(stream), Some(counted)) = (queries.stream, counted) {
            self.sink.emit(&messages::estimate(stream, counted));
        }
    }

    /// After the first round with rows: an ESTIMATE of each other stream
    /// the read emits whole (a child stream read from this parent alone),
    /// its records per row read so far times the read's count.
    fn estimate_others(
        &mut self,
        queries: &Queries,
        checkpoints: &[Checkpoint],
        counted: u64,
        rows: u64,
    ) {
        let others = checkpoints
            .iter()
            .filter(|c| c.whole && Some(c.stream) != queries.stream);
        for checkpoint in others {
            let estimate = scale(checkpoint.records, counted, rows);
            self.sink
                .emit(&messages::estimate(checkpoint.stream, estimate));
        }
    }

    fn write(&mut self, checkpoints: Vec<Checkpoint>) {
        for c in checkpoints {
            let state = c.state.to_value();
            self.sink
                .emit(&messages::stream_state(c.stream, &state, c.records));
        }
    }

    /// Every `pulse.every_ms`: an ESTIMATE where the pager can tell the
    /// read's size, and a LOG of how far the read is.
    fn pulse(&mut self, queries: &Queries, pager: &dyn Pager, done: &Retrieved, pulse: &mut Pulse) {
        let now = now_ms();
        let refined = pager.estimate(done.rows);
        if let (Some(stream), Some(rows)) = (queries.stream, refined) {
            // The first estimate at once, then with the LOGs.
            if pulse.expected.is_none() || now >= pulse.next_ms {
                self.sink.emit(&messages::estimate(stream, rows));
            }
        }
        pulse.expected = refined.or(pulse.expected);
        if now < pulse.next_ms || pager.done() {
            return;
        }
        pulse.next_ms = now + pulse.every_ms;
        let line = pulse.line(queries.label, done, now);
        self.log("INFO", &line);
    }
}

/// When a read next says how far it is, and what it expects.
struct Pulse {
    started_ms: u64,
    every_ms: u64,
    next_ms: u64,
    /// Rows the whole read will emit, where it can be told.
    expected: Option<u64>,
}

impl Pulse {
    fn new(every_ms: u64) -> Pulse {
        let started_ms = now_ms();
        Pulse {
            started_ms,
            every_ms,
            next_ms: started_ms + every_ms,
            expected: None,
        }
    }

    /// `label: 1200 records so far in 31 s (38.7 a second), 24 requests;
    /// about 52 s left at this pace`.
    fn line(&self, label: &str, done: &Retrieved, now: u64) -> String {
        let seconds = now.saturating_sub(self.started_ms) as f64 / 1000.0;
        let rate = done.rows as f64 / seconds.max(0.001);
        let mut line = format!(
            "{label}: {} records so far in {seconds:.0} s ({rate:.1} a second), {} requests",
            done.rows, done.requests
        );
        if let Some(left) = self.expected.map(|n| n.saturating_sub(done.rows)) {
            if left > 0 && rate > 0.0 {
                line.push_str(&format!(
                    "; about {:.0} s left at this pace",
                    (left as f64 / rate).ceil()
                ));
            }
        }
        line
    }
}

/// How far a read counted at its start (`totalCount`) may go: rows created
/// while it runs are read too, but a read several times past its count is a
/// server paging without end, and stops.
struct RowBound {
    counted: u64,
    most: u64,
}

impl RowBound {
    const TIMES: u64 = 3;

    fn new(counted: u64, page_size: u32) -> RowBound {
        let slack = Self::TIMES * u64::from(page_size);
        RowBound {
            counted,
            most: counted.saturating_mul(Self::TIMES).saturating_add(slack),
        }
    }

    fn check(&self, rows: u64, at: &StreamState) -> Result<()> {
        if rows <= self.most {
            return Ok(());
        }
        Err(Error::system(format!(
            "read {rows} rows where the server counted {} at the start (totalCount), more than \
             {} times as many: stopping rather than paging without end (position: {})",
            self.counted,
            Self::TIMES,
            at.to_value()
        )))
    }
}

/// The rows a round's answers count together, when each counts: a server's
/// numbers, so added without overflowing (a count past any stream's size is
/// still only a bound and an estimate).
fn count_of(mut counts: impl Iterator<Item = Option<u64>>) -> Option<u64> {
    counts.try_fold(0u64, |sum, count| Some(sum.saturating_add(count?)))
}

/// `n * of / per` (`per` > 0), at most `u64::MAX`.
fn scale(n: u64, of: u64, per: u64) -> u64 {
    let scaled = u128::from(n) * u128::from(of) / u128::from(per);
    u64::try_from(scaled).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::FailureType;

    #[test]
    fn a_read_may_go_past_its_count_but_not_several_times_past_it() {
        let bound = RowBound::new(100, 50);
        let at = StreamState::FullRefreshComplete;
        assert!(bound.check(450, &at).is_ok(), "300 + 3 pages of slack");
        let error = bound.check(451, &at).unwrap_err();
        assert_eq!(error.failure_type, FailureType::System);
        assert!(
            error.message.contains("counted 100 at the start"),
            "{}",
            error.message
        );
        assert!(
            error.message.contains("full_refresh_complete"),
            "{}",
            error.message
        );
        assert!(
            RowBound::new(0, 1000).check(3000, &at).is_ok(),
            "an empty count still reads pages"
        );
    }

    #[test]
    fn counts_a_server_makes_up_add_up_without_overflowing() {
        assert_eq!(count_of([Some(2), Some(3)].into_iter()), Some(5));
        assert_eq!(
            count_of([Some(u64::MAX), Some(3)].into_iter()),
            Some(u64::MAX)
        );
        assert_eq!(
            count_of([Some(2), None].into_iter()),
            None,
            "one page uncounted"
        );
        assert_eq!(scale(6, 5, 2), 15);
        assert_eq!(scale(6, u64::MAX, 2), u64::MAX);
    }
}
