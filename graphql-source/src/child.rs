//! Child rows: the elements of a list inside a parent record, each written
//! as a record of its own with the parent's key and the source's tags.

use std::borrow::Cow;

use serde_json::value::RawValue;

use crate::error::{Error, Result};
use crate::raw_json::{members, push_string, write_object};
use crate::stream::{ChildDef, ChildSource};

/// A parent record's members, parsed once for all its child lists.
pub type Parent<'a> = [(Cow<'a, str>, &'a RawValue)];

/// Calls `emit` with each row that `source` holds in `parent` (whose key
/// field is `parent_pk`); `keep` narrows the element's columns. Returns the
/// number of rows.
pub fn rows(
    parent: &Parent<'_>,
    parent_pk: &str,
    child: &ChildDef,
    source: &ChildSource,
    keep: Option<&[&str]>,
    emit: &mut dyn FnMut(&str),
) -> Result<u64> {
    let get = |name: &str| parent.iter().find(|(k, _)| k == name).map(|(_, v)| v.get());
    let key = get(parent_pk).filter(|v| *v != "null").ok_or_else(|| {
        Error::system(format!(
            "a {} record has no `{parent_pk}`: its {} rows cannot name their parent",
            source.parent.name, child.name
        ))
    })?;
    let list = match get(source.list) {
        None | Some("null") => return Ok(0),
        Some(list) => list,
    };
    let bad = |what: &str| {
        Error::system(format!(
            "the `{}` of {} record {key} is {what}; {} rows cannot be read from it",
            source.list, source.parent.name, child.name
        ))
    };
    let items: Vec<&RawValue> = serde_json::from_str(list).map_err(|_| bad("not a list"))?;
    let mut line = String::new();
    for item in &items {
        let element = members(item.get()).map_err(|_| bad("a list holding a non-object"))?;
        line.clear();
        let tags = source.tags.iter().map(|(name, value)| {
            let mut quoted = String::new();
            push_string(value, &mut quoted);
            (*name, quoted)
        });
        let head: Vec<(&str, String)> = std::iter::once((child.parent_key, key.to_owned()))
            .chain(tags)
            .collect();
        let kept = element
            .iter()
            .filter(|(name, _)| keep.is_none_or(|keep| keep.contains(&name.as_ref())))
            .map(|(name, value)| (name.as_ref(), value.get()));
        write_object(
            head.iter().map(|(k, v)| (*k, v.as_str())).chain(kept),
            &mut line,
        );
        emit(&line);
    }
    Ok(items.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::PRICES;

    fn rows_of(node: &str, source: usize, keep: Option<&[&str]>) -> Result<Vec<String>> {
        let parent = members(node).unwrap();
        let mut out = Vec::new();
        let source = &PRICES.sources[source];
        rows(&parent, "id", &PRICES, source, keep, &mut |row| {
            out.push(row.to_owned())
        })?;
        Ok(out)
    }

    #[test]
    fn each_element_becomes_a_row_with_its_parent_and_tags() {
        let node = r#"{"id":"p1","prices":[{"id":"a","amount":{"amount":5,"currency":"USD"}},{"id":"b","amount":null}],"overagePrices":null}"#;
        assert_eq!(
            rows_of(node, 0, None).unwrap(),
            [
                r#"{"plan_id":"p1","price_group":"BASE","id":"a","amount":{"amount":5,"currency":"USD"}}"#,
                r#"{"plan_id":"p1","price_group":"BASE","id":"b","amount":null}"#
            ]
        );
        assert!(rows_of(node, 1, None).unwrap().is_empty());
        assert_eq!(
            rows_of(node, 0, Some(&["id"])).unwrap()[1],
            r#"{"plan_id":"p1","price_group":"BASE","id":"b"}"#
        );
    }

    #[test]
    fn a_malformed_parent_fails_loudly() {
        for (node, expected) in [
            (r#"{"prices":[]}"#, "has no `id`"),
            (r#"{"id":null,"prices":[]}"#, "has no `id`"),
            (r#"{"id":"p","prices":{"id":"a"}}"#, "is not a list"),
            (r#"{"id":"p","prices":[1]}"#, "a list holding a non-object"),
        ] {
            let error = rows_of(node, 0, None).expect_err(node);
            assert!(
                error.message.contains(expected),
                "{node}: {}",
                error.message
            );
        }
    }
}
