//! What the host's tests and the end-to-end tests share: the output of one run
//! of a host, as Airbyte messages, each checked against the Airbyte protocol.

use std::path::Path;
use std::sync::OnceLock;

use serde_json::Value;

/// What one run printed.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// stdout's lines as JSON (empty for a run whose stdout is not messages).
    pub messages: Vec<Value>,
}

impl Output {
    /// A run whose stdout is Airbyte messages, one per line: every line must
    /// be JSON and a valid message.
    pub fn messages(run: std::process::Output) -> Self {
        let mut out = Self::text(run);
        out.messages = out
            .stdout
            .lines()
            .map(|line| {
                serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
            })
            .collect();
        out.messages.iter().for_each(check_protocol);
        out
    }

    /// Messages a source wrote (one per line, e.g. through a `Vec<String>`
    /// sink), each checked as [`Output::messages`] checks a run's.
    pub fn lines(lines: &[String]) -> Self {
        let messages: Vec<Value> = lines
            .iter()
            .map(|line| {
                serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
            })
            .collect();
        messages.iter().for_each(check_protocol);
        Self {
            code: 0,
            stdout: lines.join("\n"),
            stderr: String::new(),
            messages,
        }
    }

    /// A run whose stdout is anything (`host inspect`).
    pub fn text(run: std::process::Output) -> Self {
        Self {
            code: run.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&run.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&run.stderr).into_owned(),
            messages: Vec::new(),
        }
    }

    pub fn of_type<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.messages.iter().filter(move |m| m["type"] == kind)
    }

    /// The `data` of each RECORD of `stream`.
    pub fn records<'a>(&'a self, stream: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.of_type("RECORD")
            .filter(move |m| m["record"]["stream"] == stream)
            .map(|m| &m["record"]["data"])
    }

    pub fn record_ids(&self, stream: &str) -> Vec<String> {
        self.records(stream)
            .map(|d| d["id"].as_str().expect("record id").to_owned())
            .collect()
    }

    /// The `data` of every RECORD, whatever its stream.
    pub fn data(&self) -> Vec<&Value> {
        self.of_type("RECORD")
            .map(|m| &m["record"]["data"])
            .collect()
    }

    /// The last STATE's stream state, whatever its stream.
    pub fn last_state(&self) -> &Value {
        let last = self.of_type("STATE").last();
        &last.unwrap_or_else(|| panic!("no STATE: {self:#?}"))["state"]["stream"]["stream_state"]
    }

    /// Asserts the run reported no error.
    pub fn assert_succeeded(&self) {
        let errors = self.errors();
        assert!(errors.is_empty(), "the run failed: {errors:?}");
    }

    /// The stream states, in order.
    pub fn states<'a>(&'a self, stream: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.of_type("STATE")
            .filter(move |m| m["state"]["stream"]["stream_descriptor"]["name"] == stream)
    }

    /// The last state of each stream, as a runner would save it for the next sync.
    pub fn saved_state(&self) -> Value {
        let mut last: Vec<(String, Value)> = Vec::new();
        for m in self.of_type("STATE") {
            let name = m["state"]["stream"]["stream_descriptor"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            last.retain(|(n, _)| *n != name);
            last.push((name, m["state"].clone()));
        }
        Value::Array(last.into_iter().map(|(_, s)| s).collect())
    }

    pub fn statuses(&self, stream: &str) -> Vec<String> {
        self.of_type("TRACE")
            .filter(|m| m["trace"]["type"] == "STREAM_STATUS")
            .filter(|m| m["trace"]["stream_status"]["stream_descriptor"]["name"] == stream)
            .map(|m| {
                m["trace"]["stream_status"]["status"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect()
    }

    /// Every TRACE ERROR's `error` object.
    pub fn errors(&self) -> Vec<&Value> {
        self.of_type("TRACE")
            .filter(|m| m["trace"]["type"] == "ERROR")
            .map(|m| &m["trace"]["error"])
            .collect()
    }

    /// The one TRACE ERROR's `error` object.
    pub fn trace_error(&self) -> &Value {
        let errors = self.errors();
        assert_eq!(errors.len(), 1, "expected one TRACE ERROR: {self:#?}");
        errors[0]
    }

    /// The one CONNECTION_STATUS's `connectionStatus` object.
    pub fn connection_status(&self) -> &Value {
        let statuses: Vec<&Value> = self.of_type("CONNECTION_STATUS").collect();
        assert_eq!(
            statuses.len(),
            1,
            "expected one CONNECTION_STATUS:\n{}",
            self.stdout
        );
        &statuses[0]["connectionStatus"]
    }

    /// The text of each LOG message.
    pub fn logs(&self) -> impl Iterator<Item = &str> {
        self.of_type("LOG")
            .filter_map(|m| m["log"]["message"].as_str())
    }

    /// Asserts the run never printed `secret`, on stdout or stderr.
    pub fn assert_no_leak(&self, secret: &str) {
        assert!(!self.stdout.contains(secret), "secret on stdout");
        assert!(!self.stderr.contains(secret), "secret on stderr");
    }
}

/// Asserts `message` is a valid Airbyte message (strict schema from
/// airbyte-protocol-models 0.18.0) whose payload key matches its type.
pub fn check_protocol(message: &Value) {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    let validator = VALIDATOR.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/airbyte-protocol-0.18.0.strict.schema.json");
        let schema: Value =
            serde_json::from_str(&std::fs::read_to_string(path).expect("protocol fixture"))
                .expect("fixture is JSON");
        jsonschema::validator_for(&schema).expect("valid protocol schema")
    });
    let errors: Vec<String> = validator
        .iter_errors(message)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "invalid Airbyte message {message}: {errors:?}"
    );
    let key = match message["type"].as_str().expect("type") {
        "RECORD" => "record",
        "STATE" => "state",
        "LOG" => "log",
        "SPEC" => "spec",
        "CONNECTION_STATUS" => "connectionStatus",
        "CATALOG" => "catalog",
        "TRACE" => "trace",
        other => panic!("unexpected message type {other}"),
    };
    let object = message.as_object().expect("object");
    assert!(
        object.contains_key(key) && object.len() == 2,
        "{message}: payload must be exactly `{key}`"
    );
}
