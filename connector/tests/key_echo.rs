//! A server may echo the API key back in any form: as typed, JSON-escaped,
//! percent-encoded, base64-encoded, in a body, a header or a GraphQL error.
//! Whatever the key's characters and wherever the echo lands (before, across
//! or after the point where quotes are cut), no message the connector emits
//! holds the key in any of those forms.

use base64::Engine;
use graphql_source::io::{Http, HttpError, Request, Response};
use proptest::prelude::*;
use serde_json::{json, Value};

/// How the server writes the key.
#[derive(Debug, Clone, Copy)]
enum Form {
    Typed,
    JsonOnce,
    JsonTwice,
    /// Python's `json.dumps`: non-ASCII as `\u` escapes.
    JsonAscii,
    Percent,
    /// Inside a longer base64 token, after `prefix` other bytes.
    Base64 {
        prefix: usize,
    },
}

/// Where the server puts it.
#[derive(Debug, Clone, Copy)]
enum Echo {
    GraphqlError,
    GraphqlErrorUnauthenticated,
    TextBody(u16),
    RetryAfter,
    Location,
    Transport,
    Timeout,
    Denied,
    NotUtf8,
    /// An answer without the key at all: the success path.
    Silent,
}

fn json_string(text: &str) -> String {
    let quoted = serde_json::to_string(text).expect("a string serialises");
    quoted[1..quoted.len() - 1].to_owned()
}

fn ascii_json_string(text: &str) -> String {
    json_string(text)
        .chars()
        .map(|c| match c {
            c if c.is_ascii() => c.to_string(),
            c => c
                .encode_utf16(&mut [0; 2])
                .iter()
                .map(|unit| format!("\\u{unit:04x}"))
                .collect(),
        })
        .collect()
}

fn percent(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn written(form: Form, key: &str) -> String {
    match form {
        Form::Typed => key.to_owned(),
        Form::JsonOnce => json_string(key),
        Form::JsonTwice => json_string(&json_string(key)),
        Form::JsonAscii => ascii_json_string(key),
        Form::Percent => percent(key),
        Form::Base64 { prefix } => b64(format!("{}{key}!?", "p".repeat(prefix)).as_bytes()),
    }
}

/// What must never be seen: every form, and the base64 of the key's whole
/// 3-byte groups at each alignment.
fn leaks(key: &str) -> Vec<String> {
    let mut forms: Vec<String> = [
        Form::Typed,
        Form::JsonOnce,
        Form::JsonTwice,
        Form::JsonAscii,
        Form::Percent,
    ]
    .iter()
    .map(|f| written(*f, key))
    .collect();
    forms.push(percent(key).to_lowercase());
    let bytes = key.as_bytes();
    for skip in 0..3 {
        let whole = (bytes.len() - skip) / 3 * 3;
        forms.push(b64(&bytes[skip..skip + whole]));
    }
    forms
}

struct EchoServer {
    echo: Echo,
    text: String,
}

impl EchoServer {
    fn response(&self, status: u16, headers: &[(&str, &str)], body: String) -> Response {
        Response {
            status,
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body,
        }
    }
}

impl Http for EchoServer {
    fn send(&mut self, _request: &Request) -> Result<Response, HttpError> {
        let text = self.text.clone();
        let graphql_error = |code: &str| {
            json!({"data": null, "errors": [{"message": text, "extensions": {"code": code}}]})
                .to_string()
        };
        Ok(match self.echo {
            Echo::GraphqlError => self.response(200, &[], graphql_error("INTERNAL_SERVER_ERROR")),
            Echo::GraphqlErrorUnauthenticated => {
                self.response(200, &[], graphql_error("UNAUTHENTICATED"))
            }
            Echo::TextBody(status) => self.response(status, &[], text),
            Echo::RetryAfter => self.response(429, &[("retry-after", &text)], text.clone()),
            Echo::Location => self.response(302, &[("location", &text)], String::new()),
            Echo::Transport => return Err(HttpError::Transport(text)),
            Echo::Timeout => return Err(HttpError::Timeout(text)),
            Echo::Denied => return Err(HttpError::Denied(text)),
            Echo::NotUtf8 => return Err(HttpError::NotUtf8(text)),
            Echo::Silent => self.response(
                200,
                &[],
                json!({"data": {"customers": {"edges": [{"node": {"id": "c-1"}}],
                    "pageInfo": {"hasNextPage": false, "endCursor": "e"}, "totalCount": 1}}})
                .to_string(),
            ),
        })
    }
}

fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        Value::Object(fields) => fields.iter().for_each(|(k, v)| {
            out.push(k.clone());
            strings(v, out);
        }),
        _ => {}
    }
}

/// Keys as the config accepts them: visible ASCII (what a header carries).
/// The redactor's non-ASCII forms are covered by its own unit tests.
fn key() -> impl Strategy<Value = String> {
    "[!-~]{8,40}"
}

fn form() -> impl Strategy<Value = Form> {
    prop_oneof![
        Just(Form::Typed),
        Just(Form::JsonOnce),
        Just(Form::JsonTwice),
        Just(Form::JsonAscii),
        Just(Form::Percent),
        (0usize..3).prop_map(|prefix| Form::Base64 { prefix }),
    ]
}

fn echo() -> impl Strategy<Value = Echo> {
    prop_oneof![
        Just(Echo::GraphqlError),
        Just(Echo::GraphqlErrorUnauthenticated),
        prop::sample::select(vec![400u16, 401, 403, 404, 500, 503, 200]).prop_map(Echo::TextBody),
        Just(Echo::RetryAfter),
        Just(Echo::Location),
        Just(Echo::Transport),
        Just(Echo::Timeout),
        Just(Echo::Denied),
        Just(Echo::NotUtf8),
        Just(Echo::Silent),
    ]
}

proptest! {
    #[test]
    fn no_command_ever_shows_the_key(
        key in key(),
        form in form(),
        echo in echo(),
        // Where the echo lands against the 1,000 characters the redactor shows.
        padding in 0usize..1_200,
        repeats in 1usize..3,
    ) {
        let echoed = written(form, &key);
        // Padded with a control character, which no key holds.
        let text = format!("{}{}", "\u{7}".repeat(padding), format!("key {echoed} ").repeat(repeats));
        let mut server = EchoServer { echo, text };
        let config = json!({"api_key": key, "max_retry_seconds": 0}).to_string();
        let catalog = json!({"streams": [{"stream": {"name": "customers"},
            "sync_mode": "full_refresh", "destination_sync_mode": "overwrite"}]})
            .to_string();
        let mut out: Vec<String> = Vec::new();
        let _ = stigg::spec(&mut out);
        let _ = stigg::check(&mut server, &mut out, &config);
        let _ = stigg::discover(&mut out, &config);
        let _ = stigg::read(&mut server, &mut out, &config, &catalog, None);
        prop_assert!(out.iter().any(|m| m.contains("CONNECTION_STATUS")));
        let forms = leaks(&key);
        for line in &out {
            let message: Value = serde_json::from_str(line).expect("every message is JSON");
            let mut texts = vec![line.clone()];
            strings(&message, &mut texts);
            for text in &texts {
                for form in &forms {
                    prop_assert!(!text.contains(form.as_str()),
                        "{echo:?}/{form:?} leaked {form} in {line}");
                    // Nor the start of one (7 characters or more: the body
                    // excerpt escapes the padding as `\u0007`), where a text was cut short.
                    if let Some(shown) = text.strip_suffix('…') {
                        let starts = form.char_indices().skip(6).map(|(at, _)| &form[..at]);
                        for start in starts {
                            prop_assert!(!shown.ends_with(start),
                                "{echo:?}/{form:?} leaked the start {start} of {form} in {line}");
                        }
                    }
                }
            }
        }
    }
}
