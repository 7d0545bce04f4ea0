//! Checking the component's split of a configured catalog (its
//! `split-catalog`), for reading the parts at once (see `concurrent`): two
//! or more catalogs holding every stream exactly once, or the catalog is
//! read whole, by one instance, and the component reports what is wrong.

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

/// The component's split of `text` (from its `split-catalog`), checked: at
/// least two catalogs that hold every stream of `text` exactly once. `None`
/// otherwise (the catalog is then read whole, by one instance), so a
/// component cannot make the host read a stream twice or skip one.
pub fn split_catalog(text: &str, parts: &[String]) -> Option<Vec<StreamCatalog>> {
    if parts.len() < 2 {
        return None;
    }
    let mut all = stream_ids(text)?;
    let mut seen = Vec::new();
    let mut streams = Vec::with_capacity(parts.len());
    for part in parts {
        let ids = stream_ids(part)?;
        let first = ids.first()?.clone();
        seen.extend(ids);
        streams.push(StreamCatalog {
            name: first.name,
            namespace: first.namespace,
            catalog: part.clone(),
        });
    }
    all.sort();
    seen.sort();
    let distinct = all.windows(2).all(|pair| pair[0] != pair[1]);
    (distinct && all == seen).then_some(streams)
}

/// The streams of a configured catalog, in order; `None` unless it is a
/// JSON object (no key repeated) whose `streams` array holds entries with a
/// string `stream.name`.
fn stream_ids(text: &str) -> Option<Vec<StreamId>> {
    let RawObject(fields) = serde_json::from_str(text).ok()?;
    let (_, streams) = fields.iter().find(|(key, _)| key == "streams")?;
    let entries: Vec<&RawValue> = serde_json::from_str(streams.get()).ok()?;
    entries
        .into_iter()
        .map(|entry| {
            let EntryId { stream } = serde_json::from_str(entry.get()).ok()?;
            Some(stream)
        })
        .collect()
}

/// What identifies a configured stream.
#[derive(Deserialize)]
struct EntryId {
    stream: StreamId,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
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

    const TWO: &str = r#"{"streams": [
        {"stream": {"name": "customers", "json_schema": {}}, "sync_mode": "incremental"},
        {"stream": {"name": "plans", "namespace": "billing"}, "sync_mode": "full_refresh"}
    ], "extra": {"kept": true}}"#;

    fn part(entries: &str) -> String {
        format!(r#"{{"streams": [{entries}]}}"#)
    }

    #[test]
    fn a_split_that_holds_every_stream_once_is_taken() {
        let parts = [
            part(r#"{"stream": {"name": "plans", "namespace": "billing"}}"#),
            part(r#"{"stream": {"name": "customers"}}"#),
        ];
        let streams = split_catalog(TWO, &parts).expect("splits");
        assert_eq!(streams[0].name, "plans");
        assert_eq!(streams[0].namespace.as_deref(), Some("billing"));
        assert_eq!(streams[1].catalog, parts[1]);
    }

    #[test]
    fn anything_else_is_read_whole() {
        let customers = part(r#"{"stream": {"name": "customers"}}"#);
        let plans = part(r#"{"stream": {"name": "plans", "namespace": "billing"}}"#);
        let cases: Vec<(&str, Vec<String>)> = vec![
            (TWO, vec![TWO.to_owned()]),
            (TWO, vec![customers.clone()]),
            (TWO, vec![customers.clone(), customers.clone()]),
            (
                TWO,
                vec![customers.clone(), plans.clone(), customers.clone()],
            ),
            (
                TWO,
                vec![customers.clone(), part(r#"{"stream": {"name": "plans"}}"#)],
            ),
            (TWO, vec![customers.clone(), "{".into()]),
            (TWO, vec![customers.clone(), part("")]),
            ("{", vec![customers.clone(), plans.clone()]),
            (
                r#"{"streams": [{"stream": {"name": "a"}}, {"stream": {"name": "a"}}]}"#,
                vec![
                    part(r#"{"stream": {"name": "a"}}"#),
                    part(r#"{"stream": {"name": "a"}}"#),
                ],
            ),
            (
                r#"{"streams": [{"stream": {"name": "a", "name": "b"}}, {"stream": {"name": "c"}}]}"#,
                vec![
                    part(r#"{"stream": {"name": "b"}}"#),
                    part(r#"{"stream": {"name": "c"}}"#),
                ],
            ),
        ];
        for (catalog, parts) in cases {
            assert!(
                split_catalog(catalog, &parts).is_none(),
                "{catalog} into {parts:?}"
            );
        }
    }
}
