//! Where a stream's read stands, and how it moves: the GraphQL variables for the
//! next round of pages, the advance over them, and the state that checkpoints it.

mod by_ids;
mod by_log;
mod keyset;
mod nestjs;
mod offset;
mod partitioned;
pub mod per_parent;
mod planning;

use serde_json::{json, Value};

use crate::error::Result;
use crate::page::Page;
use crate::state::{CursorAt, PartitionsLeft, StreamState};
use crate::stream::{Incremental, Read, StreamDef};

pub use by_ids::ByIds;
pub use by_log::{ByLog, Form, Since};
pub use keyset::Keyset;
pub use partitioned::Partitions;

/// A read in progress.
#[derive(Debug)]
pub enum Position {
    /// Full refresh: partitions of the creation order, each paged by the server's
    /// offset cursors, ascending.
    FullRefresh(Partitions),
    /// Incremental: keyset paging on (cursor, tie_break), ascending.
    Incremental(Keyset),
    /// A plain list: one request answers it all; `true` once read.
    Once(bool),
    /// Rows read again by id (an activity log's changes).
    ByIds(ByIds),
}

impl Position {
    /// A full refresh, resumed from `saved` when it is one in the same order.
    /// The note says what became of a saved position.
    pub fn full_refresh(
        stream: &'static StreamDef,
        saved: Option<&PartitionsLeft>,
        page_size: u32,
    ) -> (Position, Option<String>) {
        let Read::Connection(connection) = &stream.read else {
            return (Position::Once(false), None);
        };
        let (partitions, note) =
            Partitions::new(stream, connection.full_refresh_order, saved, page_size);
        (Position::FullRefresh(partitions), note)
    }

    pub fn incremental(
        keys: &'static Incremental,
        saved: Option<&CursorAt>,
        start_date: Option<&str>,
    ) -> Position {
        Position::Incremental(Keyset::new(keys, saved, start_date))
    }
}

/// One way of paging a read: partitioned offsets, keyset, by ids, per
/// parent, once. The retriever ([`crate::retrieve`]) drives any of them.
pub trait Pager {
    /// Whether every page has been read.
    fn done(&self) -> bool;

    /// The `variables` of the next round's queries, which may be sent at once.
    /// `filter` is always given (`{}`, the schema's default, when nothing is
    /// filtered) so no server has to treat an absent variable as absent rather
    /// than null.
    fn requests(&mut self, page_size: u32) -> Vec<Value>;

    /// Moves past a round's `pages` (one per request, in order). Returns how
    /// many of them, from the first, hold rows to emit. Errors when a page
    /// would make the read loop or skip: a repeated cursor, rows out of order.
    fn advance(&mut self, pages: &[Page]) -> Result<usize>;

    /// The state to checkpoint now.
    fn state(&self) -> StreamState;

    /// Whether the first round's `totalCount` counts every row the read
    /// will emit (reads by id count only their first batch).
    fn bounded_by_count(&self) -> bool {
        false
    }

    /// Whether the next round still decides how to split the read.
    fn planning(&self) -> bool {
        false
    }

    /// How many partitions are left to read.
    fn partitions(&self) -> usize {
        1
    }

    /// How many rows the whole read will emit, told from the `rows` read so
    /// far, where the pager can tell (reads counted by the server's
    /// `totalCount` are estimated from the count instead).
    fn estimate(&self, _rows: u64) -> Option<u64> {
        None
    }
}

impl Pager for Position {
    fn done(&self) -> bool {
        match self {
            Position::FullRefresh(p) => p.done(),
            Position::Incremental(k) => k.done(),
            Position::Once(done) => *done,
            Position::ByIds(ids) => ids.done(),
        }
    }

    fn requests(&mut self, page_size: u32) -> Vec<Value> {
        match self {
            Position::FullRefresh(p) => p.requests(page_size),
            Position::Incremental(k) => vec![k.request(page_size)],
            Position::Once(_) => vec![json!({})],
            Position::ByIds(ids) => ids.request(page_size),
        }
    }

    fn advance(&mut self, pages: &[Page]) -> Result<usize> {
        match self {
            Position::FullRefresh(p) => p.advance(pages),
            Position::Incremental(k) => k.advance(pages),
            Position::Once(done) => {
                *done = true;
                Ok(pages.len())
            }
            Position::ByIds(ids) => ids.advance(pages),
        }
    }

    fn state(&self) -> StreamState {
        match self {
            Position::FullRefresh(p) => p.state(),
            Position::Incremental(k) => k.state(),
            // Not resumable mid-way: the caller's state says what to read again.
            Position::Once(_) | Position::ByIds(_) => StreamState::FullRefreshComplete,
        }
    }

    fn bounded_by_count(&self) -> bool {
        matches!(self, Position::FullRefresh(_) | Position::Incremental(_))
    }

    fn planning(&self) -> bool {
        matches!(self, Position::FullRefresh(p) if p.planning())
    }

    fn partitions(&self) -> usize {
        match self {
            Position::FullRefresh(p) => p.remaining(),
            Position::Incremental(_) | Position::Once(_) | Position::ByIds(_) => 1,
        }
    }
}

#[cfg(test)]
mod test_pages {
    use crate::page::Page;

    pub fn page(nodes: &[&str], next: bool, cursor: Option<&str>) -> Page {
        Page::from_nodes(nodes, next, cursor)
    }

    pub fn with_total(mut page: Page, total: u64) -> Page {
        page.total_count = Some(total);
        page
    }
}
