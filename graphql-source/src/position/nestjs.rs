//! nestjs-query's paging dialect, which every pager speaks: `paging {first,
//! after}` with the server's offset cursors, `sorting` as `{field,
//! direction}` pairs, and `filter`. A page that says another follows names it
//! by its `endCursor`, and no cursor may come twice (the read would loop
//! forever).

use std::collections::HashSet;

use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::page::Page;

/// Where a sequence of pages stands: the cursor to send next, and every
/// cursor followed so far.
#[derive(Debug, Default)]
pub struct Offset {
    after: Option<String>,
    seen: HashSet<String>,
}

impl Offset {
    /// Pages from `after` on (from the first page when `None`).
    pub fn resume(after: Option<String>) -> Offset {
        Offset {
            seen: after.iter().cloned().collect(),
            after,
        }
    }

    /// The cursor the next page is asked after.
    pub fn after(&self) -> Option<&String> {
        self.after.as_ref()
    }

    /// `paging` for the next page of `first` rows.
    pub fn paging(&self, first: u32) -> Value {
        let mut paging = json!({ "first": first });
        if let Some(after) = &self.after {
            paging["after"] = json!(after);
        }
        paging
    }

    /// Moves past `page`, which says another follows: to its `endCursor`,
    /// which must be given and new.
    pub fn follow(&mut self, page: &Page) -> Result<()> {
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
        Ok(())
    }
}

/// A connection's arguments: `paging`, `sorting` and `filter` (always given:
/// `{}`, the schema's default, when nothing is filtered, so no server has to
/// tell an absent variable from null).
pub fn arguments(paging: Value, sorting: Vec<Value>, filter: Value) -> Value {
    json!({ "paging": paging, "sorting": sorting, "filter": filter })
}

/// Sorting by `fields`, ascending.
pub fn ascending(fields: &[&str]) -> Vec<Value> {
    fields
        .iter()
        .map(|field| json!({ "field": field, "direction": "ASC" }))
        .collect()
}

/// Sorting by `field`, newest first.
pub fn descending(field: &str) -> Vec<Value> {
    vec![json!({ "field": field, "direction": "DESC" })]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_is_followed_once_and_must_be_given() {
        let mut offset = Offset::resume(Some("a".to_owned()));
        assert_eq!(offset.paging(5), json!({"first": 5, "after": "a"}));
        let page = |cursor: Option<&str>| Page::from_nodes(&[], true, cursor);
        assert!(offset.follow(&page(Some("a"))).is_err(), "resumed from a");
        offset.follow(&page(Some("b"))).unwrap();
        assert_eq!(offset.after().map(String::as_str), Some("b"));
        let error = offset.follow(&page(Some("b"))).unwrap_err();
        assert!(error.message.contains("a second time"), "{}", error.message);
        assert!(offset
            .follow(&page(None))
            .unwrap_err()
            .message
            .contains("no endCursor"));
        assert_eq!(Offset::default().paging(3), json!({"first": 3}));
    }
}
