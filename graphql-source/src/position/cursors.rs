//! Following a server's offset cursors: a page that says another follows
//! names it by its `endCursor`, and no cursor may come twice (the read would
//! loop forever).

use std::collections::HashSet;

use crate::error::{Error, Result};
use crate::page::Page;

#[derive(Debug, Default)]
pub struct Cursors {
    seen: HashSet<String>,
}

impl Cursors {
    /// Cursors followed so far: `after`, when a read resumes from it.
    pub fn from(after: Option<&String>) -> Cursors {
        Cursors {
            seen: after.into_iter().cloned().collect(),
        }
    }

    /// The cursor of the page after `page`, which says one follows.
    pub fn next(&mut self, page: &Page) -> Result<String> {
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
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_is_followed_once_and_must_be_given() {
        let mut cursors = Cursors::from(Some(&"a".to_owned()));
        let page = |cursor: Option<&str>| Page::from_nodes(&[], true, cursor);
        assert!(cursors.next(&page(Some("a"))).is_err(), "resumed from a");
        assert_eq!(cursors.next(&page(Some("b"))).unwrap(), "b");
        let error = cursors.next(&page(Some("b"))).unwrap_err();
        assert!(error.message.contains("a second time"), "{}", error.message);
        assert!(cursors
            .next(&page(None))
            .unwrap_err()
            .message
            .contains("no endCursor"));
    }
}
