//! What a read sends: the selected streams grouped by the connection they
//! come from, so a parent and its child streams share one query per page,
//! and the columns each query selects (Airbyte's column selection).

use crate::catalog::{Selected, Stream, SyncMode};
use crate::query::Pick;
use crate::stream::{ChildDef, ChildSource, StreamDef, Ty};

/// One connection read in one mode, and the streams it feeds.
#[derive(Debug)]
pub struct Group {
    pub stream: &'static StreamDef,
    pub mode: SyncMode,
    /// Set when the connection's own stream is selected.
    pub parent: Option<ParentOut>,
    pub children: Vec<ChildOut>,
    /// The fields each node selects, in declaration order.
    pub picks: Vec<Pick>,
}

/// The connection's own records.
#[derive(Debug)]
pub struct ParentOut {
    /// The columns to keep, when the query selects more than the runner
    /// selected (lists read only for child streams); `None`: records as sent.
    pub strip: Option<Vec<&'static str>>,
    /// Kept columns copied from a path of the record ([`Ty::From`]): (name, path).
    pub copies: Vec<(&'static str, &'static str)>,
}

/// A child stream fed by this connection.
#[derive(Debug)]
pub struct ChildOut {
    pub child: &'static ChildDef,
    /// Its sources whose parent is this connection.
    pub sources: Vec<&'static ChildSource>,
    /// The element columns to keep; `None`: all.
    pub keep: Option<Vec<&'static str>>,
}

impl ParentOut {
    /// Whether the parent's records keep the column `name`.
    pub fn keeps(&self, name: &str) -> bool {
        self.strip.as_ref().is_none_or(|keep| keep.contains(&name))
    }
}

impl Group {
    /// The names of the streams this group feeds.
    pub fn members(&self) -> Vec<&'static str> {
        let parent = self.parent.as_ref().map(|_| self.stream.name);
        parent
            .into_iter()
            .chain(self.children.iter().map(|c| c.child.name))
            .collect()
    }
}

/// Groups the selected streams: one group per (connection, mode), in
/// catalog order. Child streams are read in full, with their parents' full
/// refresh group.
pub fn groups(selected: &[Selected]) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for s in selected {
        if let Stream::Root(stream) = s.stream {
            let keep = parent_keep(stream, s.columns.as_deref());
            let group = group_of(&mut groups, stream, s.mode);
            group.parent = Some(ParentOut {
                strip: Some(keep),
                copies: Vec::new(),
            });
        }
    }
    for s in selected {
        let Stream::Child(child) = s.stream else {
            continue;
        };
        for parent in child.parents() {
            let sources = child
                .sources
                .iter()
                .filter(|source| source.parent.name == parent.name)
                .collect();
            let keep = child_keep(child, s.columns.as_deref());
            group_of(&mut groups, parent, SyncMode::FullRefresh)
                .children
                .push(ChildOut {
                    child,
                    sources,
                    keep,
                });
        }
    }
    for group in &mut groups {
        group.picks = picks(group);
        let selects_more =
            |keep: &Vec<&str>| group.picks.iter().any(|p| !keep.contains(&p.field.name));
        if let Some(parent) = &mut group.parent {
            parent.copies = group
                .picks
                .iter()
                .filter_map(|p| match p.field.ty {
                    Ty::From(path) => Some((p.field.name, path)),
                    _ => None,
                })
                .collect();
            if !parent.strip.as_ref().is_some_and(selects_more) {
                parent.strip = None;
            }
        }
    }
    groups
}

fn group_of<'g>(
    groups: &'g mut Vec<Group>,
    stream: &'static StreamDef,
    mode: SyncMode,
) -> &'g mut Group {
    let at = groups
        .iter()
        .position(|g| g.stream.name == stream.name && g.mode == mode);
    let at = at.unwrap_or_else(|| {
        groups.push(Group {
            stream,
            mode,
            parent: None,
            children: Vec::new(),
            picks: Vec::new(),
        });
        groups.len() - 1
    });
    &mut groups[at]
}

/// The parent's columns: those selected, and always its key, order and cursor.
fn parent_keep(stream: &'static StreamDef, columns: Option<&[String]>) -> Vec<&'static str> {
    stream
        .fields
        .iter()
        .map(|f| f.name)
        .filter(|name| {
            columns.is_none_or(|c| c.iter().any(|c| c == name))
                || stream.key_fields().contains(name)
        })
        .collect()
}

/// A child's element columns, when narrowed: those selected, and always its
/// primary key (and a union's `__typename`).
fn child_keep(child: &ChildDef, columns: Option<&[String]>) -> Option<Vec<&'static str>> {
    let columns = columns?;
    let names: Vec<&'static str> = match child.element() {
        Ty::Object(fields) => fields.iter().map(|f| f.name).collect(),
        Ty::Union(members) => std::iter::once("__typename")
            .chain(members.iter().flat_map(|m| m.fields.iter().map(|f| f.name)))
            .collect(),
        _ => Vec::new(),
    };
    let mut keep: Vec<&'static str> = Vec::new();
    for name in names {
        let wanted = columns.iter().any(|c| c == name)
            || child.primary_key.contains(&name)
            || name == "__typename";
        if wanted && !keep.contains(&name) {
            keep.push(name);
        }
    }
    Some(keep)
}

/// The fields a group's query selects: the parent's columns whole (or its
/// keys alone when only children are read), and each child's list with the
/// element columns the children need.
fn picks(group: &Group) -> Vec<Pick> {
    let stream = group.stream;
    let parent_keeps = |name: &str| match &group.parent {
        Some(parent) => parent.keeps(name),
        None => stream.key_fields().contains(&name),
    };
    // The fields copied into kept `From` columns are read too.
    let sources: Vec<&str> = stream
        .fields
        .iter()
        .filter(|f| parent_keeps(f.name))
        .filter_map(|f| match f.ty {
            Ty::From(path) => Some(crate::stream::top_level(path)),
            _ => None,
        })
        .collect();
    let mut picks = Vec::new();
    for field in stream.fields {
        if parent_keeps(field.name) || sources.contains(&field.name) {
            picks.push(Pick::whole(field));
            continue;
        }
        let readers: Vec<&ChildOut> = group
            .children
            .iter()
            .filter(|c| c.sources.iter().any(|s| s.list == field.name))
            .collect();
        if readers.is_empty() {
            continue;
        }
        let mut only: Option<Vec<&'static str>> = Some(Vec::new());
        for reader in readers {
            match (&mut only, &reader.keep) {
                (Some(names), Some(keep)) => names.extend(
                    keep.iter()
                        .filter(|n| !names.contains(n))
                        .collect::<Vec<_>>(),
                ),
                _ => only = None,
            }
        }
        picks.push(Pick { field, only });
    }
    picks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::parse_configured;
    use crate::fixtures::API;

    fn grouped(entries: &str) -> Vec<Group> {
        let text = format!(r#"{{"streams":[{entries}]}}"#);
        groups(&parse_configured(&text, &API).expect("a valid catalog"))
    }

    fn picked(group: &Group) -> Vec<String> {
        group
            .picks
            .iter()
            .map(|p| match &p.only {
                None => p.field.name.to_owned(),
                Some(only) => format!("{}({})", p.field.name, only.join(",")),
            })
            .collect()
    }

    #[test]
    fn a_parent_and_its_child_share_one_query() {
        let groups = grouped(
            r#"{"stream":{"name":"plans"},"sync_mode":"full_refresh"},
               {"stream":{"name":"plan_prices"},"sync_mode":"full_refresh"}"#,
        );
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].members(), ["plans", "plan_prices"]);
        assert_eq!(
            picked(&groups[0]),
            [
                "id",
                "createdAt",
                "name",
                "prices",
                "overagePrices",
                "grants"
            ]
        );
        assert!(groups[0].parent.as_ref().unwrap().strip.is_none());
        assert_eq!(groups[0].children[0].sources.len(), 2);
    }

    #[test]
    fn a_child_alone_queries_only_keys_and_its_lists() {
        let groups = grouped(
            r#"{"stream":{"name":"plan_prices","json_schema":{"properties":{"plan_id":{},"amount":{}}}},"sync_mode":"full_refresh"}"#,
        );
        assert_eq!(groups.len(), 1);
        assert!(groups[0].parent.is_none());
        assert_eq!(groups[0].members(), ["plan_prices"]);
        assert_eq!(
            picked(&groups[0]),
            [
                "id",
                "createdAt",
                "prices(id,amount)",
                "overagePrices(id,amount)"
            ]
        );
    }

    #[test]
    fn deselected_columns_leave_the_query_and_the_parent_keeps_its_own() {
        let groups = grouped(
            r#"{"stream":{"name":"plans","json_schema":{"properties":{"name":{}}}},"sync_mode":"full_refresh"},
               {"stream":{"name":"plan_prices","json_schema":{"properties":{"id":{}}}},"sync_mode":"full_refresh"}"#,
        );
        assert_eq!(
            picked(&groups[0]),
            ["id", "createdAt", "name", "prices(id)", "overagePrices(id)"]
        );
        assert_eq!(
            groups[0].parent.as_ref().unwrap().strip,
            Some(vec!["id", "createdAt", "name"])
        );
    }
}
