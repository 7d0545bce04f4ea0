//! Rows read by id: the ids in batches, each batch a filtered read paged by
//! the server's offset cursors, in the stream's full refresh order. Not
//! resumable mid-way: an interrupted read starts again from its first batch.

use std::collections::{HashSet, VecDeque};

use serde_json::{json, Value};

use super::nestjs::{arguments, ascending, Offset};
use crate::error::{Error, Result};
use crate::page::Page;
use crate::raw_json::string_fields;
use crate::stream::Order;

/// Ids per request: a filter's `in` list stays short.
pub const BATCH: usize = 100;

#[derive(Debug)]
pub struct ByIds {
    /// The filter path that takes the ids (`["customer", "id"]`).
    path: &'static [&'static str],
    order: Order,
    batches: VecDeque<Vec<String>>,
    /// Where the current batch's pages stand.
    offset: Offset,
    /// Values of `key` every row read must include, checked at the end.
    key: &'static str,
    expected: HashSet<String>,
}

impl ByIds {
    /// `ids` (values at the filter `path`), each once, in batches.
    pub fn new(path: &'static [&'static str], order: Order, ids: Vec<String>) -> ByIds {
        let mut unique = HashSet::new();
        let ids: Vec<String> = ids
            .into_iter()
            .filter(|id| unique.insert(id.clone()))
            .collect();
        ByIds {
            path,
            order,
            batches: ids.chunks(BATCH).map(<[String]>::to_vec).collect(),
            offset: Offset::default(),
            key: "",
            expected: HashSet::new(),
        }
    }

    /// Fails the read unless the rows read include these values of `key`.
    pub fn expecting(mut self, key: &'static str, values: Vec<String>) -> ByIds {
        self.key = key;
        self.expected = values.into_iter().collect();
        self
    }

    pub fn done(&self) -> bool {
        self.batches.is_empty()
    }

    pub fn request(&self, page_size: u32) -> Vec<Value> {
        let Some(batch) = self.batches.front() else {
            return Vec::new();
        };
        let filter = self.path.iter().rev().fold(
            json!({ "in": batch }),
            |inner, field| json!({ *field: inner }),
        );
        vec![arguments(
            self.offset.paging(page_size),
            ascending(&self.order.fields()),
            filter,
        )]
    }

    pub fn advance(&mut self, pages: &[Page]) -> Result<usize> {
        let [page] = pages else {
            return Err(Error::system("a read by id takes one page at a time"));
        };
        for node in page.nodes() {
            if let Ok([Some(value)]) = string_fields(node, [self.key]) {
                self.expected.remove(&value);
            }
        }
        if !page.has_next_page {
            self.batches.pop_front();
            // A batch's cursors are its own: another batch may page by the same ones.
            self.offset = Offset::default();
            return self.check_done().map(|()| 1);
        }
        self.offset.follow(page)?;
        Ok(1)
    }
}

impl ByIds {
    /// At the end, every expected row must have been read.
    fn check_done(&self) -> Result<()> {
        match (self.done(), self.expected.iter().next()) {
            (true, Some(missing)) => Err(Error::system(format!(
                "the activity log names {} {missing:?} as changed, but reading again by its \
                 `{}` did not return it: the log names rows some other way than this connector \
                 assumes; turn the activity mode off (a full refresh reads every row)",
                self.key,
                self.path.join(".")
            ))),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORDER: Order = Order {
        created: "createdAt",
        ties: &["id"],
    };

    #[test]
    fn ids_go_once_in_batches_each_paged_to_its_end() {
        let ids: Vec<String> = (0..150).chain(0..10).map(|i| format!("id{i}")).collect();
        let mut read = ByIds::new(&["customer", "id"], ORDER, ids);
        let first = read.request(50);
        assert_eq!(
            first[0]["filter"]["customer"]["id"]["in"]
                .as_array()
                .unwrap()
                .len(),
            BATCH
        );
        assert_eq!(
            first[0]["sorting"][0],
            json!({"field": "createdAt", "direction": "ASC"})
        );
        read.advance(&[Page::from_nodes(&[], true, Some("c1"))])
            .unwrap();
        assert_eq!(
            read.request(50)[0]["paging"],
            json!({"first": 50, "after": "c1"})
        );
        read.advance(&[Page::from_nodes(&[], false, None)]).unwrap();
        let second = read.request(50);
        assert_eq!(
            second[0]["filter"]["customer"]["id"]["in"]
                .as_array()
                .unwrap()
                .len(),
            50
        );
        assert!(second[0]["paging"].get("after").is_none());
        read.advance(&[Page::from_nodes(&[], false, None)]).unwrap();
        assert!(read.done());
        assert!(read.request(50).is_empty());
        assert!(ByIds::new(&["id"], ORDER, Vec::new()).done());
    }

    #[test]
    fn each_batch_may_page_by_the_same_cursors() {
        // Offset cursors name positions: the second batch's first cursor may
        // be the first batch's.
        let ids: Vec<String> = (0..BATCH + 1).map(|i| format!("id{i}")).collect();
        let mut read = ByIds::new(&["id"], ORDER, ids);
        for _ in 0..2 {
            read.advance(&[Page::from_nodes(&[], true, Some("offset:1"))])
                .unwrap();
            assert_eq!(read.request(5)[0]["paging"]["after"], "offset:1");
            read.advance(&[Page::from_nodes(&[], false, None)]).unwrap();
        }
        assert!(read.done());
    }

    #[test]
    fn a_changed_row_not_read_again_fails_the_read() {
        let mut read = ByIds::new(&["id"], ORDER, vec!["a".into()])
            .expecting("id", vec!["a".into(), "b".into()]);
        let error = read
            .advance(&[Page::from_nodes(&[r#"{"id":"a"}"#], false, None)])
            .unwrap_err();
        assert!(
            error.message.contains(r#"names id "b" as changed"#),
            "{}",
            error.message
        );
        let mut fine =
            ByIds::new(&["id"], ORDER, vec!["a".into()]).expecting("id", vec!["a".into()]);
        assert!(fine
            .advance(&[Page::from_nodes(&[r#"{"id":"a"}"#], false, None)])
            .is_ok());
    }
}
