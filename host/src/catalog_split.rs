//! Splitting a configured catalog into one catalog per stream, for reading
//! the streams at once (see `concurrent`). A catalog of any other shape than
//! a JSON object with a `streams` array of two or more distinct entries is
//! not split: one instance reads it, and the component reports what is wrong.

use std::collections::HashSet;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::messages::StreamDescriptor;

/// One stream of a configured catalog, as a catalog of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamCatalog {
    pub name: String,
    pub namespace: Option<String>,
    /// `{"streams":[<the entry, verbatim>]}`.
    pub catalog: String,
}

impl StreamCatalog {
    pub fn descriptor(&self) -> StreamDescriptor<'_> {
        StreamDescriptor {
            name: &self.name,
            namespace: self.namespace.as_deref(),
        }
    }
}

/// One catalog per stream, in the catalog's order; `None` when the catalog
/// is not an object with a `streams` array of two or more distinct streams
/// (it is then read whole, by one instance).
pub fn split_catalog(text: &str) -> Option<Vec<StreamCatalog>> {
    let RawObject(fields) = serde_json::from_str(text).ok()?;
    let at = fields.iter().position(|(key, _)| key == "streams")?;
    let entries: Vec<&RawValue> = serde_json::from_str(fields[at].1.get()).ok()?;
    if entries.len() < 2 {
        return None;
    }
    let mut seen = HashSet::new();
    let mut streams = Vec::with_capacity(entries.len());
    for entry in entries {
        let EntryId { stream } = serde_json::from_str(entry.get()).ok()?;
        if !seen.insert((stream.namespace.clone(), stream.name.clone())) {
            return None;
        }
        streams.push(StreamCatalog {
            name: stream.name,
            namespace: stream.namespace,
            catalog: single_catalog(&fields, at, entry)?,
        });
    }
    Some(streams)
}

/// The catalog's keys in their order, `streams` holding only `entry`.
fn single_catalog(
    fields: &[(String, Box<RawValue>)],
    at: usize,
    entry: &RawValue,
) -> Option<String> {
    let mut out = String::from("{");
    for (i, (key, value)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&serde_json::to_string(key).ok()?);
        out.push(':');
        if i == at {
            out.push('[');
            out.push_str(entry.get());
            out.push(']');
        } else {
            out.push_str(value.get());
        }
    }
    out.push('}');
    Some(out)
}

/// What identifies a configured stream.
#[derive(Deserialize)]
struct EntryId {
    stream: StreamId,
}

#[derive(Deserialize)]
struct StreamId {
    name: String,
    #[serde(default)]
    namespace: Option<String>,
}

/// A JSON object's members, in order, values untouched; a repeated key is
/// an error (which member would the component see?).
struct RawObject(Vec<(String, Box<RawValue>)>);

impl<'de> Deserialize<'de> for RawObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Members;

        impl<'de> Visitor<'de> for Members {
            type Value = RawObject;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawObject, A::Error> {
                let mut fields: Vec<(String, Box<RawValue>)> = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, Box<RawValue>>()? {
                    if fields.iter().any(|(k, _)| *k == key) {
                        return Err(de::Error::custom(format!("the key {key:?} is repeated")));
                    }
                    fields.push((key, value));
                }
                Ok(RawObject(fields))
            }
        }

        deserializer.deserialize_map(Members)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    #[test]
    fn splits_into_one_catalog_per_stream_keeping_entries_verbatim() {
        let text = r#"{"streams": [
            {"stream": {"name": "customers", "json_schema": {}}, "sync_mode": "incremental",  "cursor_field": ["updatedAt"]},
            {"stream": {"name": "plans", "namespace": "billing"}, "sync_mode": "full_refresh"}
        ], "extra": {"kept": true}}"#;
        let streams = split_catalog(text).expect("splits");
        assert_eq!(streams.len(), 2);
        assert_eq!(streams[0].name, "customers");
        assert_eq!(streams[0].namespace, None);
        assert_eq!(
            streams[0].catalog,
            r#"{"streams":[{"stream": {"name": "customers", "json_schema": {}}, "sync_mode": "incremental",  "cursor_field": ["updatedAt"]}],"extra":{"kept": true}}"#
        );
        assert_eq!(streams[1].namespace.as_deref(), Some("billing"));
        let second: Value = serde_json::from_str(&streams[1].catalog).expect("json");
        assert_eq!(
            second,
            json!({"streams": [{"stream": {"name": "plans", "namespace": "billing"}, "sync_mode": "full_refresh"}], "extra": {"kept": true}})
        );
    }

    #[test]
    fn anything_else_is_read_whole() {
        for text in [
            "",
            "{",
            "[]",
            "{}",
            r#"{"streams": {}}"#,
            r#"{"streams": []}"#,
            r#"{"streams": [{"stream": {"name": "customers"}}]}"#,
            r#"{"streams": [{"stream": {"name": "a"}}, {"sync_mode": "full_refresh"}]}"#,
            r#"{"streams": [{"stream": {"name": "a"}}, {"stream": {"name": 7}}]}"#,
            r#"{"streams": [{"stream": {"name": "a"}}, 5]}"#,
            r#"{"streams": [{"stream": {"name": "a"}}, {"stream": {"name": "a"}}]}"#,
            r#"{"streams": [{"stream": {"name": "a"}}, {"stream": {"name": "b"}}], "streams": []}"#,
            r#"{"streams": [{"stream": {"name": "a", "name": "b"}}, {"stream": {"name": "c"}}]}"#,
        ] {
            assert_eq!(split_catalog(text), None, "{text}");
        }
    }

    #[test]
    fn the_same_name_in_two_namespaces_is_two_streams() {
        let text = r#"{"streams": [{"stream": {"name": "a", "namespace": "x"}}, {"stream": {"name": "a"}}]}"#;
        assert_eq!(split_catalog(text).map(|s| s.len()), Some(2));
    }
}
