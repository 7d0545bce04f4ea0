//! Partition planning for a fresh full refresh: the first page tells whether
//! the stream is large, the newest row how far its creation times reach.

use crate::page::Page;
use crate::partition::{self, Range};
use crate::raw_json::string_fields;
use crate::time::parse_rfc3339_ms;

/// Deciding whether to split a fresh read: its first page says whether the
/// stream is large (then that page is read again in its partition), the
/// newest row how far its creation times reach.
#[derive(Debug, Clone, Copy)]
pub(super) enum Planning {
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

/// What a planning round decided.
pub(super) enum Step {
    /// The stream is small (or its creation times unusable): read it whole,
    /// emitting the first page's rows now.
    ReadWhole,
    /// The stream is large: ask for its newest row next.
    AskNewest(Planning),
    /// The partitions to read (`None`: one, the whole stream, when the
    /// newest row gives no usable time).
    Split(Option<Vec<Range>>),
}

impl Planning {
    /// Moves on with the round's one page; `field` is the creation time.
    pub(super) fn next(self, page: &Page, field: &str) -> Step {
        match self {
            Planning::FirstPage {
                page_size,
                nullable,
            } => {
                let rows = page.total_count.unwrap_or(0);
                let large = page.has_next_page && partition::worth_splitting(rows, page_size);
                match created_ms(page, field).filter(|_| large) {
                    None => Step::ReadWhole,
                    Some(oldest_ms) => Step::AskNewest(Planning::Newest {
                        rows,
                        page_size,
                        oldest_ms,
                        nullable,
                    }),
                }
            }
            Planning::Newest {
                rows,
                page_size,
                oldest_ms,
                nullable,
            } => Step::Split(created_ms(page, field).and_then(|newest_ms| {
                partition::ranges(rows, page_size, oldest_ms, newest_ms, nullable)
            })),
        }
    }
}

/// The creation time of a page's first row, if it has a usable one.
fn created_ms(page: &Page, field: &str) -> Option<i64> {
    let node = page.nodes().next()?;
    let [value] = string_fields(node, [field]).ok()?;
    parse_rfc3339_ms(&value?)
}
