//! Splitting a configured catalog for instances that read at once: streams
//! that share requests (a parent and the child streams read from its
//! records, across all their parents) stay in one catalog, and so do
//! streams that use the same operation (root field), so one instance paces
//! each operation (see `pace`).

use serde_json::Value;

use crate::api::Api;
use crate::catalog::{parse_configured, Selected, Stream, SyncMode};
use crate::group;

impl Api {
    /// The catalogs separate instances may read at once; `[catalog]` when it
    /// cannot be split (malformed: `read` reports why; or one unit).
    pub fn split_catalog(&'static self, catalog: &str) -> Vec<String> {
        let whole = || vec![catalog.to_owned()];
        let (Ok(selected), Ok(Value::Object(object))) = (
            parse_configured(catalog, self),
            serde_json::from_str::<Value>(catalog),
        ) else {
            return whole();
        };
        let Some(Value::Array(entries)) = object.get("streams") else {
            return whole();
        };
        let units = self.units(&selected);
        if units.len() < 2 {
            return whole();
        }
        units
            .into_iter()
            .map(|members| {
                let mut part = object.clone();
                let chosen = members.iter().map(|i| entries[*i].clone()).collect();
                part.insert("streams".into(), Value::Array(chosen));
                Value::Object(part).to_string()
            })
            .collect()
    }

    /// The selected streams (by index) in units: a group's members together,
    /// and streams that use one operation together.
    fn units(&self, selected: &[Selected]) -> Vec<Vec<usize>> {
        let names: Vec<&str> = selected.iter().map(|s| s.stream.name()).collect();
        let index = |name: &str| names.iter().position(|n| *n == name);
        let mut units = Units::new(names.len());
        // Incremental as the runner asked (a stream read in full for want of
        // a cursor may still be read by its activity log, if the config says).
        let incremental = |s: &Selected| s.mode == SyncMode::Incremental || s.downgraded;
        for group in group::groups(selected) {
            let members: Vec<usize> = group.members().iter().filter_map(|m| index(m)).collect();
            let asked = selected
                .iter()
                .any(|s| s.stream.name() == group.stream.name && incremental(s));
            units.join(
                &members,
                &self.operations(Stream::Root(group.stream), asked),
            );
        }
        for (i, selection) in selected.iter().enumerate() {
            if let Stream::PerParent(_) = selection.stream {
                let operations = self.operations(selection.stream, incremental(selection));
                units.join(&[i], &operations);
            }
        }
        units.members()
    }
}

impl Api {
    /// Every operation (root field) a read of `stream` may send: its own,
    /// its parents', and, when read incrementally, the logs its deletes, its
    /// activity mode or its parents' activity read (whether the config turns
    /// the activity mode on or not: a reader that knows passes `incremental`
    /// as the mode it reads in).
    pub fn operations(&self, stream: Stream, incremental: bool) -> Vec<&'static str> {
        match stream {
            Stream::Root(stream) => {
                let deletes = stream.incremental().and_then(|i| i.deletes.as_ref());
                let activity = self
                    .activity
                    .iter()
                    .filter(|a| a.stream.name == stream.name);
                let logs = deletes
                    .into_iter()
                    .chain(activity.map(|a| &a.entries))
                    .filter(|_| incremental);
                std::iter::once(stream.root_field)
                    .chain(logs.map(|entries| entries.log.root_field))
                    .collect()
            }
            Stream::Child(child) => child.parents().iter().map(|p| p.root_field).collect(),
            Stream::PerParent(stream) => {
                let log = stream.incremental.as_ref().filter(|_| incremental);
                [stream.root_field, stream.parent.root_field]
                    .into_iter()
                    .chain(log.map(|a| a.entries.log.root_field))
                    .collect()
            }
        }
    }
}

/// Streams (by index) joined into units, with the first unit that used
/// each operation.
struct Units {
    parent: Vec<usize>,
    by_operation: Vec<(&'static str, usize)>,
}

impl Units {
    fn new(streams: usize) -> Units {
        Units {
            parent: (0..streams).collect(),
            by_operation: Vec::new(),
        }
    }

    /// The representative of `i`'s unit (union-find with path halving).
    fn find(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }

    fn union(&mut self, a: usize, b: usize) {
        let (a, b) = (self.find(a), self.find(b));
        self.parent[a] = b;
    }

    /// One unit of `members` and every unit that used one of `operations`.
    fn join(&mut self, members: &[usize], operations: &[&'static str]) {
        let Some(&first) = members.first() else {
            return;
        };
        for member in &members[1..] {
            self.union(*member, first);
        }
        for operation in operations {
            match self.by_operation.iter().find(|(op, _)| op == operation) {
                Some(&(_, other)) => self.union(other, first),
                None => self.by_operation.push((operation, first)),
            }
        }
    }

    /// Each unit's streams, in order of their first stream.
    fn members(mut self) -> Vec<Vec<usize>> {
        let mut units: Vec<Vec<usize>> = Vec::new();
        let mut roots: Vec<usize> = Vec::new();
        for stream in 0..self.parent.len() {
            let root = self.find(stream);
            match roots.iter().position(|r| *r == root) {
                Some(at) => units[at].push(stream),
                None => {
                    roots.push(root);
                    units.push(vec![stream]);
                }
            }
        }
        units
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::fixtures::API;

    fn names(catalogs: &[String]) -> Vec<Vec<String>> {
        catalogs
            .iter()
            .map(|c| {
                let v: serde_json::Value = serde_json::from_str(c).unwrap();
                v["streams"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| e["stream"]["name"].as_str().unwrap().to_owned())
                    .collect()
            })
            .collect()
    }

    fn entry(name: &str, mode: &str) -> serde_json::Value {
        json!({"stream": {"name": name}, "sync_mode": mode, "destination_sync_mode": "append"})
    }

    #[test]
    fn a_parent_and_its_children_stay_together_the_rest_apart() {
        let catalog = json!({"streams": [
            entry("subscriptions", "full_refresh"),
            entry("plan_prices", "full_refresh"),
            entry("currencies", "full_refresh"),
            entry("plans", "full_refresh"),
        ], "extra": 1})
        .to_string();
        let parts = API.split_catalog(&catalog);
        assert_eq!(
            names(&parts),
            [
                vec!["subscriptions"],
                vec!["plan_prices", "plans"],
                vec!["currencies"]
            ]
        );
        let first: serde_json::Value = serde_json::from_str(&parts[0]).unwrap();
        assert_eq!(first["extra"], 1, "other keys are kept");
        assert_eq!(
            first["streams"][0],
            entry("subscriptions", "full_refresh"),
            "entries verbatim"
        );
    }

    #[test]
    fn streams_that_use_one_operation_stay_together() {
        // grants lists customers; customers' deletes read events.
        let catalog = json!({"streams": [
            entry("customers", "incremental"),
            entry("grants", "full_refresh"),
            entry("events", "incremental"),
            entry("plans", "full_refresh"),
        ]})
        .to_string();
        let parts = API.split_catalog(&catalog);
        assert_eq!(
            names(&parts),
            [vec!["customers", "grants", "events"], vec!["plans"]]
        );
    }

    #[test]
    fn streams_read_by_the_activity_log_stay_with_the_log() {
        // subscriptions may be read by the events' changes, grants by the
        // customers the events name: one instance paces the events.
        let catalog = json!({"streams": [
            entry("subscriptions", "incremental"),
            entry("events", "incremental"),
            entry("plans", "full_refresh"),
        ]})
        .to_string();
        assert_eq!(
            names(&API.split_catalog(&catalog)),
            [vec!["subscriptions", "events"], vec!["plans"]]
        );
        let catalog = json!({"streams": [
            entry("ledger", "full_refresh"),
            entry("grants", "incremental"),
            entry("subscriptions", "incremental"),
        ]})
        .to_string();
        assert_eq!(
            names(&API.split_catalog(&catalog)),
            [vec!["ledger", "grants", "subscriptions"]]
        );
        // Read in full, they read no log: apart, each paced on its own.
        let catalog = json!({"streams": [
            entry("customers", "full_refresh"),
            entry("subscriptions", "full_refresh"),
            entry("events", "incremental"),
        ]})
        .to_string();
        assert_eq!(
            names(&API.split_catalog(&catalog)),
            [vec!["customers"], vec!["subscriptions"], vec!["events"]]
        );
    }

    #[test]
    fn catalogs_that_cannot_be_split_come_back_whole() {
        for catalog in [
            "{".to_owned(),
            json!({"streams": [entry("customers", "incremental")]}).to_string(),
            json!({"streams": [entry("plans", "full_refresh"), entry("plan_prices", "full_refresh")]})
                .to_string(),
            json!({"streams": [entry("nope", "full_refresh"), entry("plans", "full_refresh")]})
                .to_string(),
        ] {
            assert_eq!(API.split_catalog(&catalog), std::slice::from_ref(&catalog), "{catalog}");
        }
    }
}
