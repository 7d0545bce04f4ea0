//! A per-parent stream's read: its parents in the parent stream's order, a
//! few read at once (one page each per round), and the first unfinished
//! parent as the checkpoint (parents read again after a resume emit their
//! rows twice: at most one round's worth).

use std::cmp::Ordering;
use std::collections::VecDeque;

use serde_json::{json, Value};

use super::nestjs::Offset;
use crate::error::{Error, Result};
use crate::page::Page;
use crate::raw_json::{members, value_at};
use crate::state::{ParentsFrom, StreamState};
use crate::stream::{Answer, Order, PerParentDef};
use crate::time::parse_rfc3339_ms;

/// A parent: where it sorts, and the values that name it in requests (one
/// per [`crate::stream::Naming`] of its stream).
#[derive(Debug, Clone)]
pub struct Parent {
    pub key: ParentKey,
    pub values: Vec<String>,
}

/// The values of the parent stream's full refresh order (creation time
/// first), compared as the server sorts them: times as times, nulls last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParentKey(pub Vec<Option<String>>);

impl Ord for ParentKey {
    fn cmp(&self, other: &Self) -> Ordering {
        let time = |v: &Option<String>| v.as_deref().and_then(parse_rfc3339_ms);
        let mut pairs = self.0.iter().zip(&other.0);
        let first = pairs
            .next()
            .map_or(Ordering::Equal, |(a, b)| nulls_last(time(a), time(b)));
        pairs.fold(first, |order, (a, b)| {
            order.then_with(|| nulls_last(a.as_deref(), b.as_deref()))
        })
    }
}

fn nulls_last<T: Ord>(a: Option<T>, b: Option<T>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a.cmp(&b),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

impl PartialOrd for ParentKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Parent {
    /// Reads a parent from a node of the parent stream.
    pub fn from_node(node: &str, stream: &PerParentDef) -> Result<Parent> {
        let fields = members(node).map_err(|e| {
            Error::system(format!(
                "a {} record is not an object ({e})",
                stream.parent.name
            ))
        })?;
        let get = |path: &str| -> Option<String> {
            serde_json::from_str::<Option<String>>(&value_at(&fields, path))
                .ok()
                .flatten()
        };
        let order = parent_order(stream)?;
        let values = stream.naming.iter().map(|naming| {
            get(naming.field).ok_or_else(|| {
                Error::system(format!(
                    "a {} record has no `{}`, which {} needs to name it",
                    stream.parent.name, naming.field, stream.name
                ))
            })
        });
        Ok(Parent {
            key: ParentKey(order.fields().into_iter().map(get).collect()),
            values: values.collect::<Result<_>>()?,
        })
    }
}

/// The parent stream's order: parents are listed, resumed and read again by
/// id through it.
pub fn parent_order(stream: &PerParentDef) -> Result<Order> {
    stream.parent.order().ok_or_else(|| {
        Error::system(format!(
            "{}: its parent stream {} is not a connection",
            stream.name, stream.parent.name
        ))
    })
}

#[derive(Debug)]
struct Active {
    parent: Parent,
    offset: Offset,
}

/// The parents still to read.
#[derive(Debug)]
pub struct Parents {
    stream: &'static PerParentDef,
    queue: VecDeque<Parent>,
    active: Vec<Active>,
    /// How many parents are read at once.
    width: usize,
    /// How many parents this read goes through.
    all: usize,
}

impl Parents {
    /// Every parent in order, less those a saved state says are done. The
    /// note says how many are left.
    pub fn new(
        stream: &'static PerParentDef,
        mut parents: Vec<Parent>,
        saved: Option<&ParentsFrom>,
        width: usize,
    ) -> (Parents, Option<String>) {
        parents.sort_by(|a, b| a.key.cmp(&b.key));
        let all = parents.len();
        let mut note = None;
        if let Some(saved) = saved {
            let from = ParentKey(saved.parents_from.clone());
            parents.retain(|p| p.key >= from);
            note = Some(format!("resuming: {} of {all} parents left", parents.len()));
        }
        let parents = Parents {
            stream,
            all: parents.len(),
            queue: parents.into(),
            active: Vec::new(),
            width: width.max(1),
        };
        (parents, note)
    }

    pub fn left(&self) -> usize {
        self.queue.len() + self.active.len()
    }
}

impl super::Pager for Parents {
    fn done(&self) -> bool {
        self.queue.is_empty() && self.active.is_empty()
    }

    /// The rows per parent read so far, times the parents.
    fn estimate(&self, rows: u64) -> Option<u64> {
        let finished = (self.all - self.left()) as u64;
        (finished > 0).then(|| rows * self.all as u64 / finished)
    }

    /// The next round's variables: the next page of each parent under way,
    /// and the first page of the next ones, up to `width`.
    fn requests(&mut self, page_size: u32) -> Vec<Value> {
        while self.active.len() < self.width {
            let Some(parent) = self.queue.pop_front() else {
                break;
            };
            self.active.push(Active {
                parent,
                offset: Offset::default(),
            });
        }
        let stream = self.stream;
        self.active
            .iter()
            .map(|a| {
                let mut input = match stream.answer {
                    Answer::Connection => json!({ "paging": a.offset.paging(page_size) }),
                    Answer::List => json!({}),
                };
                for (naming, value) in stream.naming.iter().zip(&a.parent.values) {
                    input[naming.input] = json!(value);
                }
                json!({ stream.argument: input })
            })
            .collect()
    }

    /// Moves past a round's pages (one per active parent, in order).
    fn advance(&mut self, pages: &[Page]) -> Result<usize> {
        if pages.len() != self.active.len() {
            return Err(Error::system(
                "a round of pages does not match its requests",
            ));
        }
        let mut finished = Vec::new();
        for (i, (active, page)) in self.active.iter_mut().zip(pages).enumerate() {
            if !page.has_next_page {
                finished.push(i);
                continue;
            }
            active.offset.follow(page).map_err(|e| {
                let named = self.stream.naming.iter().zip(&active.parent.values);
                let named: Vec<String> = named.map(|(n, v)| format!("{} {v}", n.field)).collect();
                e.context(named.join(", "))
            })?;
        }
        for i in finished.into_iter().rev() {
            self.active.remove(i);
        }
        Ok(pages.len())
    }

    /// Every parent before the first unfinished one is done.
    fn state(&self) -> StreamState {
        let first = self
            .active
            .first()
            .map(|a| &a.parent)
            .or(self.queue.front());
        match first {
            None => StreamState::FullRefreshComplete,
            Some(parent) => StreamState::PerParent(ParentsFrom {
                parents_from: parent.key.0.clone(),
                activity_from: None,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::GRANTS;
    use crate::position::Pager;

    fn parent(created: Option<&str>, id: &str) -> Parent {
        Parent {
            key: ParentKey(vec![created.map(str::to_owned), Some(id.to_owned())]),
            values: vec![format!("c-{id}")],
        }
    }

    fn page(next: Option<&str>) -> Page {
        Page::from_nodes(&[r#"{"id":"g"}"#], next.is_some(), next)
    }

    #[test]
    fn keys_sort_by_time_then_id_with_nulls_last() {
        let mut keys = [
            parent(None, "a").key,
            parent(Some("2024-01-02T00:00:00Z"), "b").key,
            parent(Some("2024-01-01T12:00:00.000+00:00"), "z").key,
            parent(Some("2024-01-02T00:00:00.000Z"), "a").key,
        ];
        keys.sort();
        let ids: Vec<&str> = keys.iter().map(|k| k.0[1].as_deref().unwrap()).collect();
        assert_eq!(ids, ["z", "a", "b", "a"]);
        assert_eq!(keys[3].0[0], None);
    }

    #[test]
    fn parents_are_read_a_few_at_a_time_and_checkpointed_at_the_first_unfinished() {
        let parents = vec![
            parent(Some("2024-01-03T00:00:00Z"), "c"),
            parent(Some("2024-01-01T00:00:00Z"), "a"),
            parent(Some("2024-01-02T00:00:00Z"), "b"),
        ];
        let (mut pos, note) = Parents::new(&GRANTS, parents, None, 2);
        assert!(note.is_none());
        let first = pos.requests(10);
        assert_eq!(
            first,
            [
                json!({"input": {"customerId": "c-a", "paging": {"first": 10}}}),
                json!({"input": {"customerId": "c-b", "paging": {"first": 10}}}),
            ]
        );
        // a has a second page; b is done.
        assert_eq!(pos.advance(&[page(Some("p1")), page(None)]).unwrap(), 2);
        let state = ParentsFrom {
            parents_from: vec![Some("2024-01-01T00:00:00Z".into()), Some("a".into())],
            activity_from: None,
        };
        assert_eq!(pos.state(), StreamState::PerParent(state.clone()));
        let second = pos.requests(10);
        assert_eq!(second[0]["input"]["paging"]["after"], "p1");
        assert_eq!(second[1]["input"]["customerId"], "c-c");
        assert!(
            pos.advance(&[page(Some("p1")), page(None)]).is_err(),
            "a repeated cursor"
        );

        // Resuming from the checkpoint skips the parents before it.
        let again = vec![
            parent(Some("2024-01-01T00:00:00Z"), "a"),
            parent(Some("2024-01-02T00:00:00Z"), "b"),
            parent(Some("2024-01-03T00:00:00Z"), "c"),
        ];
        let (mut resumed, note) = Parents::new(&GRANTS, again, Some(&state), 8);
        assert_eq!(note.as_deref(), Some("resuming: 3 of 3 parents left"));
        assert_eq!(resumed.requests(5).len(), 3);
        resumed
            .advance(&[page(None), page(None), page(None)])
            .unwrap();
        assert!(resumed.done());
        assert_eq!(resumed.state(), StreamState::FullRefreshComplete);
    }

    #[test]
    fn a_list_per_parent_is_one_request_each_without_paging() {
        const LISTED: PerParentDef = PerParentDef {
            argument: "query",
            answer: Answer::List,
            ..GRANTS
        };
        let parents = vec![parent(Some("2024-01-01T00:00:00Z"), "a")];
        let (mut pos, _) = Parents::new(&LISTED, parents, None, 8);
        assert_eq!(pos.requests(10), [json!({"query": {"customerId": "c-a"}})]);
        let list = Page::from_nodes(&[r#"{"id":"g"}"#], false, None);
        pos.advance(&[list]).unwrap();
        assert!(pos.done());
    }

    #[test]
    fn a_parent_named_by_two_fields_one_nested_sends_both() {
        use crate::stream::Naming;
        const BY_RESOURCE: PerParentDef = PerParentDef {
            argument: "query",
            answer: Answer::List,
            naming: &[
                Naming {
                    field: "customer.customerId",
                    input: "customerId",
                },
                Naming {
                    field: "resourceId",
                    input: "resourceId",
                },
            ],
            ..GRANTS
        };
        let node = r#"{"id":"r1","createdAt":"2024-01-01T00:00:00Z","resourceId":"site-1","customer":{"customerId":"c-9"}}"#;
        let parent = Parent::from_node(node, &BY_RESOURCE).unwrap();
        assert_eq!(parent.values, ["c-9", "site-1"]);
        let (mut pos, _) = Parents::new(&BY_RESOURCE, vec![parent], None, 8);
        assert_eq!(
            pos.requests(10),
            [json!({"query": {"customerId": "c-9", "resourceId": "site-1"}})]
        );
        let missing = r#"{"id":"r2","createdAt":null,"resourceId":"site-2","customer":null}"#;
        let error = Parent::from_node(missing, &BY_RESOURCE).unwrap_err();
        assert!(
            error.message.contains("`customer.customerId`"),
            "{}",
            error.message
        );
    }
}
