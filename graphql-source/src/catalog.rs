//! The catalog: what `discover` offers and what the runner's configured catalog selects.

use std::collections::HashSet;

use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::settings::kind;
use crate::stream::StreamDef;

/// The catalog entry of one stream.
pub fn airbyte_stream(stream: &StreamDef) -> Value {
    let mut entry = json!({
        "name": stream.name,
        "json_schema": stream.json_schema(),
        "supported_sync_modes": ["full_refresh"],
        "source_defined_primary_key": [[stream.primary_key]],
        "is_resumable": true,
    });
    if let Some(incremental) = &stream.incremental {
        entry["supported_sync_modes"] = json!(["full_refresh", "incremental"]);
        entry["source_defined_cursor"] = json!(true);
        entry["default_cursor_field"] = json!([incremental.cursor]);
    }
    entry
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMode {
    FullRefresh,
    Incremental,
}

/// A stream the configured catalog selects, and how to read it.
#[derive(Debug)]
pub struct Selected {
    pub stream: &'static StreamDef,
    pub mode: SyncMode,
    /// Set when the runner asked for incremental on a full-refresh-only stream
    /// (PyAirbyte does): the stream is read in full, and a LOG says so.
    pub downgraded: bool,
}

/// Parses the configured catalog. Unknown or duplicate streams and invalid sync
/// modes are config errors that name the entry.
pub fn parse_configured(text: &str, streams: &[&'static StreamDef]) -> Result<Vec<Selected>> {
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
            let selected = parse_entry(entry, streams)
                .map_err(|e| e.context(format!("catalog stream #{}", i + 1)))?;
            if !seen.insert(selected.stream.name) {
                return Err(Error::config(format!(
                    "the catalog selects stream `{}` twice",
                    selected.stream.name
                )));
            }
            Ok(selected)
        })
        .collect()
}

fn parse_entry(entry: &Value, streams: &[&'static StreamDef]) -> Result<Selected> {
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
    let stream = streams
        .iter()
        .copied()
        .find(|s| s.name == *name)
        .ok_or_else(|| {
            let known: Vec<&str> = streams.iter().map(|s| s.name).collect();
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
    })
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
        let selected = parse_configured(&text, streams::ALL).unwrap();
        assert_eq!(selected[0].stream.name, "subscriptions");
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
            let err = parse_configured(text, streams::ALL).unwrap_err();
            assert!(err.message.contains(expected), "{text}: {}", err.message);
        }
    }

    #[test]
    fn discover_entry_declares_modes_and_keys() {
        let entry = airbyte_stream(streams::find("customers").unwrap());
        assert_eq!(
            entry["supported_sync_modes"],
            json!(["full_refresh", "incremental"])
        );
        assert_eq!(entry["default_cursor_field"], json!(["updatedAt"]));
        assert_eq!(entry["source_defined_primary_key"], json!([["id"]]));
        let subs = airbyte_stream(streams::find("subscriptions").unwrap());
        assert_eq!(subs["supported_sync_modes"], json!(["full_refresh"]));
        assert!(subs.get("default_cursor_field").is_none());
    }
}
