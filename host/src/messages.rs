//! The few Airbyte messages the host prints itself, when the component could
//! not (it never ran, it trapped, or an input file was unreadable).

use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

/// Airbyte's `failure_type` of a TRACE ERROR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureType {
    /// The operator's input is wrong (missing or unreadable files).
    ConfigError,
    /// The host or the component broke.
    SystemError,
    /// The run was stopped before it finished; running it again may succeed.
    TransientError,
}

// Structs rather than `json!`, so `type` comes first whatever serde_json's
// map ordering: readers (and our own flush check) look at it first.
#[derive(Serialize)]
struct TraceMessage<'a> {
    r#type: &'static str,
    trace: Trace<'a>,
}

#[derive(Serialize)]
struct Trace<'a> {
    r#type: &'static str,
    emitted_at: u64,
    error: TraceError<'a>,
}

#[derive(Serialize)]
struct TraceError<'a> {
    message: &'a str,
    internal_message: &'a str,
    failure_type: FailureType,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_descriptor: Option<StreamDescriptor<'a>>,
}

/// The stream a message is about (Airbyte's `StreamDescriptor`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StreamDescriptor<'a> {
    pub name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<&'a str>,
}

#[derive(Serialize)]
struct ConnectionStatusMessage<'a> {
    r#type: &'static str,
    #[serde(rename = "connectionStatus")]
    connection_status: ConnectionStatus<'a>,
}

#[derive(Serialize)]
struct ConnectionStatus<'a> {
    status: &'static str,
    message: &'a str,
}

/// One-line LOG message.
pub fn log(level: &str, message: &str) -> String {
    serde_json::json!({ "type": "LOG", "log": { "level": level, "message": message } }).to_string()
}

/// One-line TRACE ERROR message.
pub fn trace_error(message: &str, internal_message: &str, failure_type: FailureType) -> String {
    stream_trace_error(message, internal_message, failure_type, None)
}

/// One-line TRACE ERROR message about one stream, if `stream` is given.
pub fn stream_trace_error(
    message: &str,
    internal_message: &str,
    failure_type: FailureType,
    stream: Option<StreamDescriptor<'_>>,
) -> String {
    to_line(&TraceMessage {
        r#type: "TRACE",
        trace: Trace {
            r#type: "ERROR",
            emitted_at: now_millis(),
            error: TraceError {
                message,
                internal_message,
                failure_type,
                stream_descriptor: stream,
            },
        },
    })
}

/// One-line CONNECTION_STATUS FAILED message.
pub fn connection_failed(message: &str) -> String {
    to_line(&ConnectionStatusMessage {
        r#type: "CONNECTION_STATUS",
        connection_status: ConnectionStatus {
            status: "FAILED",
            message,
        },
    })
}

fn to_line(message: &impl Serialize) -> String {
    // Serializing these plain structs of strings and numbers cannot fail;
    // the fallback keeps even that impossible case a valid message.
    serde_json::to_string(message).unwrap_or_else(|_| {
        r#"{"type":"TRACE","trace":{"type":"ERROR","emitted_at":0,"error":{"message":"the host could not serialize a message","failure_type":"system_error"}}}"#.to_string()
    })
}

fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn trace_error_has_the_airbyte_shape() {
        let line = trace_error("it \"broke\"", "detail\nmore", FailureType::SystemError);
        assert!(!line.contains('\n'));
        assert!(line.starts_with(r#"{"type":"TRACE""#), "{line}");
        let value: Value = serde_json::from_str(&line).expect("json");
        assert_eq!(value["trace"]["type"], "ERROR");
        assert!(value["trace"]["emitted_at"].as_u64().is_some_and(|t| t > 0));
        assert_eq!(value["trace"]["error"]["message"], "it \"broke\"");
        assert_eq!(value["trace"]["error"]["internal_message"], "detail\nmore");
        assert_eq!(value["trace"]["error"]["failure_type"], "system_error");
    }

    #[test]
    fn a_stream_trace_error_names_the_stream() {
        let stream = StreamDescriptor {
            name: "customers",
            namespace: None,
        };
        let line = stream_trace_error("x", "y", FailureType::SystemError, Some(stream));
        let value: Value = serde_json::from_str(&line).expect("json");
        assert_eq!(
            value["trace"]["error"]["stream_descriptor"],
            serde_json::json!({ "name": "customers" })
        );
        let plain: Value =
            serde_json::from_str(&trace_error("x", "y", FailureType::SystemError)).expect("json");
        assert!(plain["trace"]["error"].get("stream_descriptor").is_none());
    }

    #[test]
    fn connection_failed_has_the_airbyte_shape() {
        let line = connection_failed("no config");
        assert!(line.starts_with(r#"{"type":"CONNECTION_STATUS""#), "{line}");
        let value: Value = serde_json::from_str(&line).expect("json");
        assert_eq!(value["type"], "CONNECTION_STATUS");
        assert_eq!(value["connectionStatus"]["status"], "FAILED");
        assert_eq!(value["connectionStatus"]["message"], "no config");
    }
}
