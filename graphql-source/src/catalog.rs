//! The catalog: what `discover` offers and what the runner's configured catalog selects.

use std::collections::HashSet;

use serde_json::{json, Value};

use crate::api::Api;
use crate::error::{Error, Result};
use crate::schema;
use crate::settings::kind;
use crate::stream::{ChildDef, PerParentDef, StreamDef};

/// A stream of the API: read from its own root field, from lists inside
/// its parents' records, or one parent at a time.
#[derive(Debug, Clone, Copy)]
pub enum Stream {
    Root(&'static StreamDef),
    Child(&'static ChildDef),
    PerParent(&'static PerParentDef),
}

impl Stream {
    pub fn name(self) -> &'static str {
        match self {
            Stream::Root(s) => s.name,
            Stream::Child(c) => c.name,
            Stream::PerParent(p) => p.name,
        }
    }

    /// Child streams are read in full; per-parent ones when no log says
    /// which parents changed.
    pub fn supports_incremental(self) -> bool {
        match self {
            Stream::Root(s) => s.supports_incremental(),
            Stream::Child(_) => false,
            Stream::PerParent(p) => p.incremental.is_some(),
        }
    }

    pub fn primary_key(self) -> Vec<&'static str> {
        match self {
            Stream::Root(s) => s.primary_key.to_vec(),
            Stream::Child(c) => c.primary_key.to_vec(),
            Stream::PerParent(p) => p.primary_key.to_vec(),
        }
    }

    pub fn json_schema(self) -> Value {
        match self {
            Stream::Root(s) => schema::of_stream(s),
            Stream::Child(c) => schema::of_child(c),
            Stream::PerParent(p) => schema::of_per_parent(p),
        }
    }
}

impl Api {
    /// Every stream, in discover order: roots, children, per-parent.
    pub fn all_streams(&self) -> impl Iterator<Item = Stream> + '_ {
        let roots = self.streams.iter().map(|s| Stream::Root(s));
        let children = self.children.iter().map(|c| Stream::Child(c));
        let per_parent = self.per_parent.iter().map(|p| Stream::PerParent(p));
        roots.chain(children).chain(per_parent)
    }
}

/// The catalog entry of one stream; `by_activity`: incremental by the
/// activity log (no cursor field of its own: the source decides what to read).
pub fn airbyte_stream(stream: Stream, by_activity: bool) -> Value {
    let keys: Vec<Vec<&str>> = stream
        .primary_key()
        .into_iter()
        .map(|k| k.split('.').collect())
        .collect();
    let mut entry = json!({
        "name": stream.name(),
        "json_schema": stream.json_schema(),
        "supported_sync_modes": ["full_refresh"],
        "source_defined_primary_key": keys,
        "is_resumable": true,
    });
    let cursor = match stream {
        Stream::Root(s) => s.incremental().map(|i| i.cursor),
        Stream::Child(_) => None,
        Stream::PerParent(p) => p.incremental.as_ref().map(|i| i.cursor),
    };
    if let Some(cursor) = cursor {
        entry["supported_sync_modes"] = json!(["full_refresh", "incremental"]);
        entry["source_defined_cursor"] = json!(true);
        entry["default_cursor_field"] = json!([cursor]);
    }
    if by_activity {
        entry["supported_sync_modes"] = json!(["full_refresh", "incremental"]);
        entry["source_defined_cursor"] = json!(true);
    }
    entry
}

/// Streams read by the activity log (the config's choice) are incremental
/// where the runner asked for it, not downgraded.
pub fn by_activity(mut selected: Vec<Selected>, streams: &[&str]) -> Vec<Selected> {
    for selection in &mut selected {
        if selection.downgraded && streams.contains(&selection.stream.name()) {
            selection.mode = SyncMode::Incremental;
            selection.downgraded = false;
        }
    }
    selected
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMode {
    FullRefresh,
    Incremental,
}

/// A stream the configured catalog selects, and how to read it.
#[derive(Debug)]
pub struct Selected {
    pub stream: Stream,
    pub mode: SyncMode,
    /// Set when the runner asked for incremental on a full-refresh-only stream
    /// (PyAirbyte does): the stream is read in full, and a LOG says so.
    pub downgraded: bool,
    /// The columns the runner selected (the properties of the configured
    /// stream's `json_schema`); `None`: every column.
    pub columns: Option<Vec<String>>,
}

/// Parses the configured catalog. Unknown or duplicate streams and invalid sync
/// modes are config errors that name the entry.
pub fn parse_configured(text: &str, api: &Api) -> Result<Vec<Selected>> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| Error::config(format!("the catalog is not valid JSON ({e})")))?;
    let Some(entries) = value.get("streams").and_then(Value::as_array) else {
        return Err(Error::config(
            "the catalog must be a JSON object with a `streams` array",
        ));
    };
    if entries.is_empty() {
        return Err(Error::config("the catalog selects no streams"));
    }
    let mut seen = HashSet::new();
    entries
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            let selected = parse_entry(entry, api)
                .map_err(|e| e.context(format!("catalog stream #{}", i + 1)))?;
            if !seen.insert(selected.stream.name()) {
                return Err(Error::config(format!(
                    "the catalog selects stream `{}` twice",
                    selected.stream.name()
                )));
            }
            Ok(selected)
        })
        .collect()
}

fn parse_entry(entry: &Value, api: &Api) -> Result<Selected> {
    let name = match entry.pointer("/stream/name") {
        Some(Value::String(name)) => name,
        Some(other) => {
            return Err(Error::config(format!(
                "`stream.name` must be a string, not {}",
                kind(other)
            )))
        }
        None => return Err(Error::config("has no `stream.name`")),
    };
    let stream = api
        .all_streams()
        .find(|s| s.name() == *name)
        .ok_or_else(|| {
            let known: Vec<&str> = api.all_streams().map(Stream::name).collect();
            Error::config(format!(
                "unknown stream `{name}`; this connector has: {}",
                known.join(", ")
            ))
        })?;
    let requested = match entry.get("sync_mode") {
        Some(Value::String(mode)) if mode == "full_refresh" => SyncMode::FullRefresh,
        Some(Value::String(mode)) if mode == "incremental" => SyncMode::Incremental,
        Some(Value::String(mode)) => {
            return Err(Error::config(format!(
                "stream `{name}` has sync_mode `{mode}`; expected `full_refresh` or `incremental`"
            )))
        }
        Some(other) => {
            return Err(Error::config(format!(
                "stream `{name}`: `sync_mode` must be a string, not {}",
                kind(other)
            )))
        }
        None => return Err(Error::config(format!("stream `{name}` has no `sync_mode`"))),
    };
    let downgraded = requested == SyncMode::Incremental && !stream.supports_incremental();
    let mode = if downgraded {
        SyncMode::FullRefresh
    } else {
        requested
    };
    Ok(Selected {
        stream,
        mode,
        downgraded,
        columns: columns(entry, name)?,
    })
}

/// The selected columns: the keys of `stream.json_schema.properties`, when
/// the runner narrowed them (Airbyte's column selection).
fn columns(entry: &Value, name: &str) -> Result<Option<Vec<String>>> {
    match entry.pointer("/stream/json_schema/properties") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(properties)) => Ok(Some(properties.keys().cloned().collect())),
        Some(other) => Err(Error::config(format!(
            "stream `{name}`: `json_schema.properties` must be an object, not {}",
            kind(other)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures as streams;

    fn catalog(entries: &str) -> String {
        format!(r#"{{"streams":[{entries}]}}"#)
    }

    #[test]
    fn selects_streams_in_catalog_order() {
        let text = catalog(
            r#"{"stream":{"name":"subscriptions"},"sync_mode":"incremental","destination_sync_mode":"overwrite"},
               {"stream":{"name":"customers"},"sync_mode":"incremental"}"#,
        );
        let selected = parse_configured(&text, &streams::API).unwrap();
        assert_eq!(selected[0].stream.name(), "subscriptions");
        assert_eq!(
            (selected[0].mode, selected[0].downgraded),
            (SyncMode::FullRefresh, true)
        );
        assert_eq!(
            (selected[1].mode, selected[1].downgraded),
            (SyncMode::Incremental, false)
        );
    }

    #[test]
    fn rejects_bad_catalogs_precisely() {
        let cases = [
            ("{", "not valid JSON"),
            ("[]", "`streams` array"),
            (r#"{"streams":[]}"#, "no streams"),
            (
                &catalog(r#"{"sync_mode":"full_refresh"}"#),
                "catalog stream #1: has no `stream.name`",
            ),
            (
                &catalog(r#"{"stream":{"name":3},"sync_mode":"full_refresh"}"#),
                "must be a string, not a number",
            ),
            (
                &catalog(r#"{"stream":{"name":"invoices"},"sync_mode":"full_refresh"}"#),
                "unknown stream `invoices`; this connector has: customers",
            ),
            (
                &catalog(r#"{"stream":{"name":"customers"},"sync_mode":"cdc"}"#),
                "sync_mode `cdc`",
            ),
            (
                &catalog(r#"{"stream":{"name":"customers"}}"#),
                "no `sync_mode`",
            ),
            (
                &catalog(
                    r#"{"stream":{"name":"customers"},"sync_mode":"full_refresh"},{"stream":{"name":"customers"},"sync_mode":"incremental"}"#,
                ),
                "stream `customers` twice",
            ),
        ];
        for (text, expected) in cases {
            let err = parse_configured(text, &streams::API).unwrap_err();
            assert!(err.message.contains(expected), "{text}: {}", err.message);
        }
    }

    #[test]
    fn discover_entry_declares_modes_and_keys() {
        let entry = airbyte_stream(Stream::Root(&streams::CUSTOMERS), false);
        assert_eq!(
            entry["supported_sync_modes"],
            json!(["full_refresh", "incremental"])
        );
        assert_eq!(entry["default_cursor_field"], json!(["updatedAt"]));
        assert_eq!(entry["source_defined_primary_key"], json!([["id"]]));
        let subs = airbyte_stream(Stream::Root(&streams::SUBSCRIPTIONS), false);
        assert_eq!(subs["supported_sync_modes"], json!(["full_refresh"]));
        assert!(subs.get("default_cursor_field").is_none());
        let prices = airbyte_stream(Stream::Child(&streams::PRICES), false);
        assert_eq!(prices["supported_sync_modes"], json!(["full_refresh"]));
        assert_eq!(prices["source_defined_primary_key"], json!([["id"]]));
    }

    #[test]
    fn a_nested_key_is_copied_to_the_top_level() {
        let entry = airbyte_stream(Stream::Root(&streams::RESOURCES), false);
        assert_eq!(
            entry["source_defined_primary_key"],
            json!([["resourceId"], ["customer_id"]])
        );
        let customer_id = &entry["json_schema"]["properties"]["customer_id"];
        assert_eq!(customer_id["type"], json!("string"));
    }

    #[test]
    fn reads_the_selected_columns() {
        let text = catalog(
            r#"{"stream":{"name":"plans","json_schema":{"properties":{"id":{},"name":{}}}},"sync_mode":"full_refresh"},
               {"stream":{"name":"plan_prices","json_schema":{}},"sync_mode":"incremental"}"#,
        );
        let selected = parse_configured(&text, &streams::API).unwrap();
        assert_eq!(selected[0].columns, Some(vec!["id".into(), "name".into()]));
        assert_eq!(selected[1].columns, None);
        assert_eq!(
            (selected[1].mode, selected[1].downgraded),
            (SyncMode::FullRefresh, true)
        );
        let bad = catalog(
            r#"{"stream":{"name":"plans","json_schema":{"properties":[]}},"sync_mode":"full_refresh"}"#,
        );
        let err = parse_configured(&bad, &streams::API).unwrap_err();
        assert!(
            err.message.contains("must be an object, not an array"),
            "{}",
            err.message
        );
    }
}
