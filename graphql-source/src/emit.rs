//! A group's nodes as RECORD messages: the parent's record as the server
//! sent it (or without the columns read only for child streams), and each
//! child stream's rows.

use crate::child;
use crate::error::{Error, Result};
use crate::group::{Group, ParentOut};
use crate::io::Sink;
use crate::messages;
use crate::raw_json::{members, push_string, value_at, write_object};
use crate::stream::PerParentDef;

/// Writes the RECORD of a per-parent stream's node for the parent named
/// `parent`: as sent, or led by its key column and its parent column when
/// it has them, and ending with `nulls` (columns the server no longer has).
pub fn keyed_record(
    out: &mut String,
    stream: &PerParentDef,
    node: &str,
    (parent, nulls): (&str, &[&str]),
    emitted_at: u64,
) -> Result<()> {
    if stream.key_column.is_none() && stream.parent_column.is_none() && nulls.is_empty() {
        messages::record(out, stream.name, node, emitted_at);
        return Ok(());
    }
    let fields = members(node)
        .map_err(|e| Error::system(format!("a {} record is not an object ({e})", stream.name)))?;
    let mut parent_value = String::new();
    if stream.parent_column.is_some() {
        push_string(parent, &mut parent_value);
    }
    let parent_column = stream
        .parent_column
        .map(|name| (name, parent_value.as_str()));
    let mut key_value = String::new();
    let key = stream.key_column.as_ref().map(|key| {
        let parts: Vec<String> = key
            .from
            .iter()
            .map(|path| match parent_column {
                Some((name, _)) if name == *path => parent.to_owned(),
                _ => key_part(&value_at(&fields, path)),
            })
            .collect();
        push_string(&parts.join("|"), &mut key_value);
        (key.name, key_value.as_str())
    });
    let mut row = String::new();
    let rest = fields.iter().map(|(k, v)| (k.as_ref(), v.get()));
    let nulls = nulls.iter().map(|k| (*k, "null"));
    let members = key
        .into_iter()
        .chain(parent_column)
        .chain(rest)
        .chain(nulls);
    write_object(members, &mut row);
    messages::record(out, stream.name, &row, emitted_at);
    Ok(())
}

/// A value as a key part: a string as itself, null as empty, else its JSON.
fn key_part(raw: &str) -> String {
    match raw {
        "null" => String::new(),
        raw => serde_json::from_str::<String>(raw).unwrap_or_else(|_| raw.to_owned()),
    }
}

pub struct Emitter<'g> {
    group: &'g Group,
    line: String,
    row: String,
    /// Records since the last checkpoint: the parent's, then each child's.
    counts: Vec<u64>,
    /// Kept columns the server's schema no longer has: written as null.
    nulls: Vec<&'static str>,
}

impl<'g> Emitter<'g> {
    /// `absent`: the paths the group's query leaves out.
    pub fn new(group: &'g Group, absent: &[String]) -> Self {
        let kept = |name: &str| group.parent.as_ref().is_some_and(|p| p.keeps(name));
        let nulls = group.stream.fields.iter().map(|f| f.name);
        Emitter {
            group,
            line: String::new(),
            row: String::new(),
            counts: vec![0; 1 + group.children.len()],
            nulls: nulls
                .filter(|name| kept(name) && absent.iter().any(|a| a == name))
                .collect(),
        }
    }

    /// The counts since the last call (the parent's first).
    pub fn take_counts(&mut self) -> Vec<u64> {
        std::mem::replace(&mut self.counts, vec![0; 1 + self.group.children.len()])
    }

    /// Emits what one node holds for the group's streams.
    pub fn node(&mut self, sink: &mut dyn Sink, node: &str, emitted_at: u64) -> Result<()> {
        let group = self.group;
        let rewrite = group
            .parent
            .as_ref()
            .is_some_and(|p| p.strip.is_some() || !p.copies.is_empty())
            || !self.nulls.is_empty();
        let parsed = match (group.children.is_empty(), rewrite) {
            (true, false) if group.parent.is_some() => None,
            _ => Some(members(node).map_err(|e| {
                Error::system(format!(
                    "a {} record is not a JSON object ({e})",
                    group.stream.name
                ))
            })?),
        };
        if let Some(parent) = &group.parent {
            let record = match &parsed {
                Some(parsed) if rewrite => {
                    rewritten(parent, parsed, &self.nulls, &mut self.row);
                    self.row.as_str()
                }
                _ => node,
            };
            self.line.clear();
            messages::record(&mut self.line, group.stream.name, record, emitted_at);
            sink.record(&self.line);
            self.counts[0] += 1;
        }
        match parsed {
            Some(parsed) if !group.children.is_empty() => self.children(sink, &parsed, emitted_at),
            _ => Ok(()),
        }
    }

    /// Emits the rows of the child streams the parsed node holds.
    fn children(
        &mut self,
        sink: &mut dyn Sink,
        parsed: &child::Parent<'_>,
        emitted_at: u64,
    ) -> Result<()> {
        let stream = self.group.stream;
        let parent_key = stream.primary_key.first().ok_or_else(|| {
            Error::system(format!(
                "{}: its rows feed child streams, which need its primary key, and it has none",
                stream.name
            ))
        })?;
        for (i, out) in self.group.children.iter().enumerate() {
            let line = &mut self.line;
            let mut emit = |row: &str| {
                line.clear();
                messages::record(line, out.child.name, row, emitted_at);
                sink.record(line);
            };
            for source in &out.sources {
                self.counts[1 + i] += child::rows(
                    parsed,
                    parent_key,
                    out.child,
                    source,
                    out.keep.as_deref(),
                    &mut emit,
                )?;
            }
        }
        Ok(())
    }
}

/// A node's members as the parent stream emits them: the columns it keeps,
/// then the copies of nested values, then `nulls`, written into `row`.
fn rewritten(parent: &ParentOut, parsed: &child::Parent<'_>, nulls: &[&str], row: &mut String) {
    let copies: Vec<(&str, String)> = parent
        .copies
        .iter()
        .map(|(name, path)| (*name, value_at(parsed, path)))
        .collect();
    row.clear();
    let kept = parsed
        .iter()
        .filter(|(k, _)| parent.keeps(k))
        .map(|(k, v)| (k.as_ref(), v.get()));
    let copies = copies.iter().map(|(k, v)| (*k, v.as_str()));
    let nulls = nulls.iter().map(|k| (*k, "null"));
    write_object(kept.chain(copies).chain(nulls), row);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{GRANTS, LEDGER};

    #[test]
    fn a_key_column_joins_its_fields_and_leads_the_record() {
        let mut out = String::new();
        let node = r#"{"grantId":"g1","at":"2024-01-01T00:00:00Z","eventId":null,"amount":-2.5}"#;
        keyed_record(&mut out, &LEDGER, node, ("c1", &[]), 7).unwrap();
        let message: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            message["record"]["data"],
            serde_json::json!({"entry_key": "g1|2024-01-01T00:00:00Z|", "grantId": "g1",
                "at": "2024-01-01T00:00:00Z", "eventId": null, "amount": -2.5})
        );
        out.clear();
        keyed_record(&mut out, &GRANTS, r#"{"id":"a"}"#, ("c1", &["gone"]), 7).unwrap();
        assert!(out.contains(r#""data":{"id":"a","gone":null}"#), "{out}");
        assert!(keyed_record(&mut out, &LEDGER, "[1]", ("c1", &[]), 7).is_err());
    }

    #[test]
    fn a_parent_column_names_the_parent_and_a_key_may_take_nested_values() {
        use crate::stream::{KeyColumn, PerParentDef};
        const ENTITLED: PerParentDef = PerParentDef {
            parent_column: Some("customerId"),
            key_column: Some(KeyColumn {
                name: "key",
                from: &["customerId", "resourceId", "feature.id"],
            }),
            ..GRANTS
        };
        let mut out = String::new();
        let node = r#"{"resourceId":null,"feature":{"id":"f1"},"usageLimit":5}"#;
        keyed_record(&mut out, &ENTITLED, node, ("c\"1", &[]), 7).unwrap();
        let message: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            message["record"]["data"],
            serde_json::json!({"key": "c\"1||f1", "customerId": "c\"1", "resourceId": null,
                "feature": {"id": "f1"}, "usageLimit": 5})
        );
    }
}
