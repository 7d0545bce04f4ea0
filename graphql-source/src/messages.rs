//! Airbyte protocol messages, as single-line JSON texts with their kind.

use serde_json::{json, Value};

use crate::error::Error;
use crate::io::{Kind, Message};
use crate::time::now_ms;

fn other(message: Value) -> Message {
    Message {
        line: message.to_string(),
        kind: Kind::Other,
    }
}

pub fn spec(connection_specification: Value, documentation_url: &str) -> Message {
    other(json!({
        "type": "SPEC",
        "spec": {
            "documentationUrl": documentation_url,
            "connectionSpecification": connection_specification,
            "supportsIncremental": true,
            "supported_destination_sync_modes": ["overwrite", "append", "append_dedup"],
        }
    }))
}

/// SUCCEEDED, with a note if given, or FAILED and why.
pub fn connection_status(result: Result<Option<&str>, &str>) -> Message {
    let status = match result {
        Ok(None) => json!({ "status": "SUCCEEDED" }),
        Ok(Some(note)) => json!({ "status": "SUCCEEDED", "message": note }),
        Err(message) => json!({ "status": "FAILED", "message": message }),
    };
    other(json!({ "type": "CONNECTION_STATUS", "connectionStatus": status }))
}

pub fn catalog(streams: Vec<Value>) -> Message {
    other(json!({ "type": "CATALOG", "catalog": { "streams": streams } }))
}

pub fn log(level: &str, message: &str) -> Message {
    other(json!({ "type": "LOG", "log": { "level": level, "message": message } }))
}

/// Appends one RECORD line for `data` (a JSON object straight from the response,
/// on one line: see [`crate::page::Page::parse`]) to `out`.
/// `stream` is one of our stream names (`[a-z_]+`), so it needs no escaping.
pub fn record(out: &mut String, stream: &str, data: &str, emitted_at: u64) {
    use std::fmt::Write;
    debug_assert!(stream.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
    out.push_str(r#"{"type":"RECORD","record":{"stream":""#);
    out.push_str(stream);
    out.push_str(r#"","data":"#);
    out.push_str(data);
    let _ = write!(out, r#","emitted_at":{emitted_at}}}}}"#);
}

pub fn stream_state(stream: &str, state: &Value, record_count: u64) -> Message {
    let line = json!({
        "type": "STATE",
        "state": {
            "type": "STREAM",
            "stream": { "stream_descriptor": { "name": stream }, "stream_state": state },
            "sourceStats": { "recordCount": record_count as f64 },
        }
    })
    .to_string();
    Message {
        line,
        kind: Kind::State,
    }
}

/// Airbyte's stream statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Started,
    Running,
    Complete,
    Incomplete,
}

pub fn stream_status(stream: &str, status: Status) -> Message {
    let status = match status {
        Status::Started => "STARTED",
        Status::Running => "RUNNING",
        Status::Complete => "COMPLETE",
        Status::Incomplete => "INCOMPLETE",
    };
    trace(json!({
        "type": "STREAM_STATUS",
        "stream_status": { "stream_descriptor": { "name": stream }, "status": status },
    }))
}

/// STREAM_STATUS RUNNING with reason RATE_LIMITED: the read waits until `quota_reset` (ms).
pub fn rate_limited(stream: &str, quota_reset: u64) -> Message {
    trace(json!({
        "type": "STREAM_STATUS",
        "stream_status": {
            "stream_descriptor": { "name": stream },
            "status": "RUNNING",
            "reasons": [{ "type": "RATE_LIMITED", "rate_limited": { "quota_reset": quota_reset } }],
        },
    }))
}

pub fn estimate(stream: &str, rows: u64) -> Message {
    trace(json!({
        "type": "ESTIMATE",
        "estimate": { "name": stream, "type": "STREAM", "row_estimate": rows },
    }))
}

/// A TRACE ERROR of one stream alone: the read goes on with the others, so
/// the host is told nothing to act on (a config error would stop them).
pub fn stream_error(error: &Error, stream: &str) -> Message {
    Message {
        kind: Kind::Other,
        ..self::error(error, Some(stream))
    }
}

/// A TRACE ANALYTICS event: what happened (`kind`) and to what.
pub fn analytics(kind: &str, value: &str) -> Message {
    trace(json!({ "type": "ANALYTICS", "analytics": { "type": kind, "value": value } }))
}

pub fn error(error: &Error, stream: Option<&str>) -> Message {
    let mut body = json!({
        "message": error.message,
        "failure_type": error.failure_type.as_str(),
    });
    if let Some(internal) = &error.internal {
        body["internal_message"] = json!(internal);
    }
    if let Some(stream) = stream {
        body["stream_descriptor"] = json!({ "name": stream });
    }
    Message {
        kind: Kind::Error(error.failure_type),
        ..trace(json!({ "type": "ERROR", "error": body }))
    }
}

fn trace(mut trace: Value) -> Message {
    trace["emitted_at"] = json!(now_ms() as f64);
    other(json!({ "type": "TRACE", "trace": trace }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::FailureType;

    #[test]
    fn record_embeds_the_raw_object() {
        let mut out = String::new();
        record(&mut out, "customers", r#"{"id":"a"}"#, 7);
        assert_eq!(
            out,
            r#"{"type":"RECORD","record":{"stream":"customers","data":{"id":"a"},"emitted_at":7}}"#
        );
        let parsed: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(parsed["record"]["data"]["id"], "a");
    }

    #[test]
    fn each_message_says_what_a_host_may_act_on() {
        assert_eq!(stream_state("s", &json!({}), 1).kind, Kind::State);
        for other in [
            log("INFO", "x"),
            stream_status("s", Status::Running),
            estimate("s", 3),
            analytics("schema-drift", "s.f"),
            catalog(Vec::new()),
            connection_status(Err("no")),
        ] {
            assert_eq!(other.kind, Kind::Other, "{}", other.line);
        }
        let transient = error(&Error::transient("later"), None);
        assert_eq!(transient.kind, Kind::Error(FailureType::Transient));
    }

    #[test]
    fn error_carries_failure_type_and_stream() {
        let e = Error::config("bad key").with_internal("HTTP 401");
        let message = error(&e, Some("customers"));
        assert_eq!(message.kind, Kind::Error(FailureType::Config));
        let v: Value = serde_json::from_str(&message.line).unwrap();
        assert_eq!(v["trace"]["error"]["failure_type"], "config_error");
        assert_eq!(v["trace"]["error"]["internal_message"], "HTTP 401");
        assert_eq!(
            v["trace"]["error"]["stream_descriptor"]["name"],
            "customers"
        );
        assert!(v["trace"]["emitted_at"].is_number());
    }
}
