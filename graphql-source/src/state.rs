//! Stream state: what the runner hands back (input) and what a stream checkpoints.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::partition::Range;
use crate::settings::kind;

/// Where one stream stands. Serialised as the STATE message's `stream_state`,
/// tagged by `mode`; each pager reads and writes its own variant's type, so a
/// state of another kind never reaches it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum StreamState {
    /// A full refresh under way.
    FullRefresh(PartitionsLeft),
    /// The last full refresh finished: the next one starts from the beginning.
    FullRefreshComplete,
    /// An incremental read's cursor.
    Incremental(CursorAt),
    /// A per-parent stream under way.
    PerParent(ParentsFrom),
    /// A per-parent stream read in full: the parents the log names from
    /// `from` on are still to read again.
    PerParentLog { from: String },
    /// A stream read by an activity log's changes.
    Activity(ActivityAt),
    /// A child stream: where the read of each parent it comes from stands.
    ByParent {
        parents: BTreeMap<String, StreamState>,
    },
}

/// A full refresh read in `order`: the partitions still to finish, each
/// resuming after its offset cursor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartitionsLeft {
    pub order: String,
    pub partitions: Vec<PartitionState>,
}

/// One unfinished partition of a full refresh.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartitionState {
    pub range: Range,
    /// The offset cursor of its last page read; absent before its first page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

/// Every row with `cursor_field` < `cursor` has been emitted (`None`: none
/// seen yet).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CursorAt {
    pub cursor_field: String,
    pub cursor: Option<String>,
    /// Deletions logged from this time on are still to be emitted (streams
    /// with deletes; absent until a first sync sets it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletes_from: Option<String>,
}

/// Every parent ordered before `parents_from` (by the parent stream's full
/// refresh order) is done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParentsFrom {
    pub parents_from: Vec<Option<String>>,
    /// An incremental sync's full read: when done, the log is to read from
    /// here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity_from: Option<String>,
}

/// Every change logged from `from` on is still to read; `syncs` incremental
/// syncs since the last full refresh; `full_refresh` the one under way, if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivityAt {
    pub from: String,
    pub syncs: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_refresh: Option<Nested>,
}

/// A full refresh under way inside another state, tagged as at the top so
/// 0.4's states read unchanged; no other kind fits there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Nested {
    FullRefresh(PartitionsLeft),
}

impl StreamState {
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// The largest state accepted. This connector's states are a few KiB; a
/// bigger one is a runner's mistake (every STATE of a sync, say), refused
/// before parsing so it cannot exhaust the component's memory.
pub const MAX_STATE_BYTES: usize = 16 * 1024 * 1024;

/// Parses the runner's state: absent, empty, `[]`, or a list of STREAM states.
/// Returns each stream's state by name. Legacy and global states are rejected.
/// Entries are parsed one at a time, so a repeated one is refused at once.
pub fn parse_input(text: Option<&str>) -> Result<HashMap<String, StreamState>> {
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return Ok(HashMap::new());
    };
    if text.len() > MAX_STATE_BYTES {
        return Err(Error::config(format!(
            "the state is {} bytes, more than the {} MiB a state of this connector can be (its \
             states are a few KiB): pass the last STATE of each stream, or [] to start over",
            text.len(),
            MAX_STATE_BYTES >> 20
        )));
    }
    let not_json =
        |e: serde_json::Error| Error::config(format!("the state is not valid JSON ({e})"));
    let entries: Vec<&RawValue> = match text.trim_start().as_bytes().first() {
        Some(b'[') => serde_json::from_str(text).map_err(not_json)?,
        Some(b'{') => {
            serde_json::from_str::<&RawValue>(text).map_err(not_json)?;
            return Err(Error::config(
                "the state is a legacy (single object) state; this connector reads a list of \
                 per-stream states, e.g. [] to start over",
            ));
        }
        _ => {
            let other: Value = serde_json::from_str(text).map_err(not_json)?;
            return Err(Error::config(format!(
                "the state must be a JSON list, not {}",
                kind(&other)
            )));
        }
    };
    let mut states = HashMap::new();
    for (i, entry) in entries.iter().enumerate() {
        let context = |e: Error| e.context(format!("state entry #{}", i + 1));
        let entry: Value =
            serde_json::from_str(entry.get()).map_err(|e| context(Error::config(e.to_string())))?;
        let (name, state) = parse_entry(&entry).map_err(context)?;
        if states.insert(name.clone(), state).is_some() {
            return Err(Error::config(format!(
                "the state holds stream `{name}` twice"
            )));
        }
    }
    Ok(states)
}

fn parse_entry(entry: &Value) -> Result<(String, StreamState)> {
    match entry.get("type").and_then(Value::as_str) {
        Some("STREAM") => {}
        Some(other) => {
            return Err(Error::config(format!(
                "state type `{other}` is not supported; this connector writes STREAM states"
            )))
        }
        None => return Err(Error::config("has no `type` (expected \"STREAM\")")),
    }
    let name = entry
        .pointer("/stream/stream_descriptor/name")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::config("has no `stream.stream_descriptor.name`"))?;
    let raw = upgrade(
        entry
            .pointer("/stream/stream_state")
            .cloned()
            .unwrap_or(Value::Null),
    );
    let unusable = |why: String| {
        Error::config(format!(
            "the state of stream `{name}` is not one this connector wrote ({why}); pass [] to start over"
        ))
    };
    let state: StreamState = serde_json::from_value(raw).map_err(|e| unusable(e.to_string()))?;
    validate(&state, true).map_err(unusable)?;
    Ok((name.to_owned(), state))
}

fn validate(state: &StreamState, top: bool) -> Result<(), String> {
    match state {
        StreamState::FullRefresh(left)
        | StreamState::Activity(ActivityAt {
            full_refresh: Some(Nested::FullRefresh(left)),
            ..
        }) => left.validate(),
        StreamState::ByParent { parents } if top => parents
            .values()
            .try_for_each(|state| validate(state, false)),
        StreamState::ByParent { .. } => Err("a parent's state is itself by parent".into()),
        _ => Ok(()),
    }
}

impl PartitionsLeft {
    fn validate(&self) -> Result<(), String> {
        if self.partitions.is_empty() {
            return Err("a full refresh under way with no partition left".into());
        }
        for partition in &self.partitions {
            partition.range.validate().map_err(|e| e.message)?;
        }
        Ok(())
    }
}

/// Reads a full refresh state written by 0.1.0 (one offset cursor, `after`) as
/// what it means now: one partition holding every row.
fn upgrade(mut raw: Value) -> Value {
    let Some(state) = raw.as_object_mut() else {
        return raw;
    };
    let v1 = state.get("mode").and_then(Value::as_str) == Some("full_refresh")
        && !state.contains_key("partitions");
    if let (true, Some(Value::String(after))) = (v1, state.get("after")) {
        let partition = PartitionState {
            range: Range::ALL,
            after: Some(after.clone()),
        };
        state.remove("after");
        state.insert(
            "partitions".into(),
            serde_json::to_value([partition]).unwrap_or(Value::Null),
        );
    }
    raw
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_runners_send() {
        assert!(parse_input(None).unwrap().is_empty());
        assert!(parse_input(Some(" \n")).unwrap().is_empty());
        assert!(parse_input(Some("[]")).unwrap().is_empty());
        let text = r#"[{"type":"STREAM","stream":{"stream_descriptor":{"name":"customers"},
            "stream_state":{"mode":"incremental","cursor_field":"updatedAt","cursor":"2024-01-01T00:00:00.000Z"}},
            "sourceStats":{"recordCount":3.0}},
            {"type":"STREAM","stream":{"stream_descriptor":{"name":"subscriptions","namespace":null},
            "stream_state":{"mode":"full_refresh","order":"createdAt,subscriptionId","partitions":[
                {"range":{"between":{"lt":"2024-01-01T00:00:00.000Z"}},"after":"YQ=="},
                {"range":"null"}]}}}]"#;
        let states = parse_input(Some(text)).unwrap();
        assert_eq!(
            states["subscriptions"],
            StreamState::FullRefresh(PartitionsLeft {
                order: "createdAt,subscriptionId".into(),
                partitions: vec![
                    PartitionState {
                        range: Range::Between {
                            gte: None,
                            lt: Some("2024-01-01T00:00:00.000Z".into())
                        },
                        after: Some("YQ==".into())
                    },
                    PartitionState {
                        range: Range::Null,
                        after: None
                    },
                ]
            })
        );
        assert!(matches!(states["customers"], StreamState::Incremental(_)));
    }

    #[test]
    fn child_states_hold_each_parent_s_state() {
        let text = r#"[{"type":"STREAM","stream":{"stream_descriptor":{"name":"package_prices"},
            "stream_state":{"mode":"by_parent","parents":{"plans":{"mode":"full_refresh_complete"},
            "addons":{"mode":"full_refresh","order":"createdAt,id","partitions":[{"range":"null"}]}}}}}]"#;
        let StreamState::ByParent { parents } = &parse_input(Some(text)).unwrap()["package_prices"]
        else {
            panic!("a by-parent state");
        };
        assert_eq!(parents["plans"], StreamState::FullRefreshComplete);
    }

    #[test]
    fn reads_a_full_refresh_state_of_version_0_1_as_one_partition() {
        let text = r#"[{"type":"STREAM","stream":{"stream_descriptor":{"name":"customers"},
            "stream_state":{"mode":"full_refresh","order":"createdAt,id","after":"YQ=="}}}]"#;
        assert_eq!(
            parse_input(Some(text)).unwrap()["customers"],
            StreamState::FullRefresh(PartitionsLeft {
                order: "createdAt,id".into(),
                partitions: vec![PartitionState {
                    range: Range::ALL,
                    after: Some("YQ==".into())
                }]
            })
        );
    }

    /// Every kind of state, as 0.4 wrote it, reads back and writes the same.
    #[test]
    fn reads_and_writes_every_kind_as_0_4_did() {
        let full = r#"{"mode":"full_refresh","order":"createdAt,id","partitions":[{"range":{"between":{}},"after":"x"}]}"#;
        for text in [
            r#"{"mode":"full_refresh_complete"}"#,
            full,
            r#"{"mode":"incremental","cursor_field":"updatedAt","cursor":"t"}"#,
            r#"{"mode":"incremental","cursor_field":"updatedAt","cursor":null,"deletes_from":"d"}"#,
            r#"{"mode":"per_parent","parents_from":["2024",null]}"#,
            r#"{"mode":"per_parent","parents_from":["2024"],"activity_from":"a"}"#,
            r#"{"mode":"per_parent_log","from":"f"}"#,
            r#"{"mode":"activity","from":"f","syncs":2}"#,
            &format!(r#"{{"mode":"activity","from":"f","syncs":0,"full_refresh":{full}}}"#),
            &format!(r#"{{"mode":"by_parent","parents":{{"plans":{full}}}}}"#),
        ] {
            let value: Value = serde_json::from_str(text).unwrap();
            let state: StreamState = serde_json::from_value(value.clone()).expect(text);
            validate(&state, true).expect(text);
            assert_eq!(state.to_value(), value, "{text}");
        }
    }

    /// A state of the wrong kind where a kind is fixed is refused by its
    /// type; so is one a parent's state may not be.
    #[test]
    fn refuses_a_nested_state_of_another_kind() {
        for bad in [
            r#"{"mode":"by_parent","parents":{"plans":{"mode":"by_parent","parents":{}}}}"#,
            r#"{"mode":"by_parent","parents":{"plans":{"mode":"full_refresh","order":"a","partitions":[]}}}"#,
            r#"{"mode":"activity","from":"f","syncs":0,"full_refresh":{"mode":"incremental","cursor_field":"a","cursor":null}}"#,
            r#"{"mode":"activity","from":"f","syncs":0,"full_refresh":{"mode":"full_refresh","order":"a","partitions":[]}}"#,
            r#"{"mode":"incremental","cursor_field":"a","cursor":null,"parents_from":[]}"#,
        ] {
            let text = format!(
                r#"[{{"type":"STREAM","stream":{{"stream_descriptor":{{"name":"p"}},"stream_state":{bad}}}}}]"#
            );
            let error = parse_input(Some(&text)).expect_err(bad);
            assert!(
                error.message.contains("not one this connector wrote"),
                "{}",
                error.message
            );
        }
    }

    #[test]
    fn rejects_legacy_global_and_malformed_states() {
        let stream = |s: &str| {
            format!(
                r#"[{{"type":"STREAM","stream":{{"stream_descriptor":{{"name":"customers"}},"stream_state":{s}}}}}]"#
            )
        };
        let cases = [
            ("{nope", "not valid JSON".to_owned()),
            (r#"{"customers":{"updatedAt":"x"}}"#, "legacy".to_owned()),
            ("42", "must be a JSON list, not a number".to_owned()),
            (
                r#"[{"type":"GLOBAL","global":{}}]"#,
                "state entry #1: state type `GLOBAL`".to_owned(),
            ),
            (r#"[{"stream":{}}]"#, "has no `type`".to_owned()),
            (
                r#"[{"type":"STREAM","stream":{}}]"#,
                "stream_descriptor.name".to_owned(),
            ),
            (
                &stream(r#"{"updatedAt":"2024"}"#),
                "not one this connector wrote".to_owned(),
            ),
            (
                &stream(r#"{"mode":"full_refresh","order":"createdAt,id","after":7}"#),
                "not one this connector wrote".to_owned(),
            ),
            (
                &stream(r#"{"mode":"full_refresh","order":"createdAt,id","partitions":[]}"#),
                "no partition left".to_owned(),
            ),
            (
                &stream(
                    r#"{"mode":"full_refresh","order":"createdAt,id","partitions":[{"range":{"between":{"gte":"x"}}}]}"#,
                ),
                "partition bound \"x\" is not a timestamp".to_owned(),
            ),
            (
                &stream(r#"{"mode":"incremental","cursor":"x"}"#),
                "missing field `cursor_field`".to_owned(),
            ),
            (
                &format!(
                    "[{},{}]",
                    &stream("{\"mode\":\"full_refresh_complete\"}")[1..].trim_end_matches(']'),
                    &stream("{\"mode\":\"full_refresh_complete\"}")[1..].trim_end_matches(']')
                ),
                "stream `customers` twice".to_owned(),
            ),
        ];
        for (text, expected) in cases {
            let err = parse_input(Some(text)).unwrap_err();
            assert!(err.message.contains(&expected), "{text}: {}", err.message);
        }
    }

    /// A list of every STATE a sync emitted: refused by size when it is
    /// large, at its second entry when it is not, never parsed whole.
    #[test]
    fn refuses_an_oversized_or_repetitive_state() {
        let entry = r#"{"type":"STREAM","stream":{"stream_descriptor":{"name":"customers"},"stream_state":{"mode":"full_refresh_complete"}}}"#;
        let list = |n: usize| format!("[{}]", vec![entry; n].join(","));
        let big = list(MAX_STATE_BYTES / entry.len() + 1);
        let error = parse_input(Some(&big)).unwrap_err();
        assert_eq!(error.failure_type, crate::error::FailureType::Config);
        assert!(
            error.message.contains("more than the 16 MiB"),
            "{}",
            error.message
        );
        let repeated = list(100_000);
        assert!(repeated.len() < MAX_STATE_BYTES);
        let error = parse_input(Some(&repeated)).unwrap_err();
        assert!(
            error.message.contains("`customers` twice"),
            "{}",
            error.message
        );
    }
}
