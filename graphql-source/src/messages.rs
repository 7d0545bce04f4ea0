//! Airbyte protocol messages, as single-line JSON texts.

use serde_json::{json, Value};

use crate::error::Error;
use crate::time::now_ms;

pub fn spec(connection_specification: Value, documentation_url: &str) -> String {
    json!({
        "type": "SPEC",
        "spec": {
            "documentationUrl": documentation_url,
            "connectionSpecification": connection_specification,
            "supportsIncremental": true,
            "supported_destination_sync_modes": ["overwrite", "append", "append_dedup"],
        }
    })
    .to_string()
}

pub fn connection_status(result: Result<(), &str>) -> String {
    let status = match result {
        Ok(()) => json!({ "status": "SUCCEEDED" }),
        Err(message) => json!({ "status": "FAILED", "message": message }),
    };
    json!({ "type": "CONNECTION_STATUS", "connectionStatus": status }).to_string()
}

pub fn catalog(streams: Vec<Value>) -> String {
    json!({ "type": "CATALOG", "catalog": { "streams": streams } }).to_string()
}

pub fn log(level: &str, message: &str) -> String {
    json!({ "type": "LOG", "log": { "level": level, "message": message } }).to_string()
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

pub fn stream_state(stream: &str, state: &Value, record_count: u64) -> String {
    json!({
        "type": "STATE",
        "state": {
            "type": "STREAM",
            "stream": { "stream_descriptor": { "name": stream }, "stream_state": state },
            "sourceStats": { "recordCount": record_count as f64 },
        }
    })
    .to_string()
}

/// Airbyte's stream statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Started,
    Running,
    Complete,
    Incomplete,
}

pub fn stream_status(stream: &str, status: Status) -> String {
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
pub fn rate_limited(stream: &str, quota_reset: u64) -> String {
    trace(json!({
        "type": "STREAM_STATUS",
        "stream_status": {
            "stream_descriptor": { "name": stream },
            "status": "RUNNING",
            "reasons": [{ "type": "RATE_LIMITED", "rate_limited": { "quota_reset": quota_reset } }],
        },
    }))
}

pub fn estimate(stream: &str, rows: u64) -> String {
    trace(json!({
        "type": "ESTIMATE",
        "estimate": { "name": stream, "type": "STREAM", "row_estimate": rows },
    }))
}

pub fn error(error: &Error, stream: Option<&str>) -> String {
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
    trace(json!({ "type": "ERROR", "error": body }))
}

fn trace(mut trace: Value) -> String {
    trace["emitted_at"] = json!(now_ms() as f64);
    json!({ "type": "TRACE", "trace": trace }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn error_carries_failure_type_and_stream() {
        let e = Error::config("bad key").with_internal("HTTP 401");
        let v: Value = serde_json::from_str(&error(&e, Some("customers"))).unwrap();
        assert_eq!(v["trace"]["error"]["failure_type"], "config_error");
        assert_eq!(v["trace"]["error"]["internal_message"], "HTTP 401");
        assert_eq!(
            v["trace"]["error"]["stream_descriptor"]["name"],
            "customers"
        );
        assert!(v["trace"]["emitted_at"].is_number());
    }
}
