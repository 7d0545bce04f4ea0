//! One partition's offset paging: the server's `endCursor` after each page,
//! rows checked against the partition's range, and no cursor followed twice.

use super::nestjs::Offset;
use crate::error::{Error, Result};
use crate::page::Page;
use crate::partition::Range;
use crate::raw_json::string_fields;

#[derive(Debug)]
pub(super) struct Part {
    pub range: Range,
    pub offset: Offset,
}

impl Part {
    pub fn new(range: Range, after: Option<String>) -> Part {
        Part {
            range,
            offset: Offset::resume(after),
        }
    }

    /// Moves past `page`; returns whether another page follows. Its rows must
    /// be in the partition's range (sorted, so the first and last tell): a
    /// server that ignored the filter would send every partition the same rows.
    pub fn advance(&mut self, page: &Page, field: &str) -> Result<bool> {
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
        self.offset.follow(page)?;
        Ok(true)
    }
}
