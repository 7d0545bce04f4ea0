//! A run's HTTP exchanges, recorded for someone else to replay: what a user
//! hands over when a sync fails, without handing over their key.
//!
//! `--record DIR` puts a [`Recorder`] under the allow-list: every exchange
//! (the request, then the status, headers and body, or the error) is
//! appended to `DIR/exchanges.jsonl` with every secret of the config masked
//! in every form a text may hold it ([`connector_io::secret`]), and the
//! config (its secrets masked), catalog and state are written beside it.
//! `--replay DIR` puts a [`Replayer`] there instead: no network at all, each
//! request answered by the first recorded exchange left with the same method,
//! URL and body (streams read at once interleave their requests, so the
//! order is kept per request, not across them); a request that was not
//! recorded is refused, naming it and the next recorded one.
//!
//! Secrets are the config's top-level properties the component's spec marks
//! `airbyte_secret` (a nested secret is not known here).

use std::collections::VecDeque;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use connector_io::{HttpError, Method, Request, Response};
use serde_json::{json, Value};

use crate::transport::Transport;

/// What stands in a recording where a secret was.
pub const MASK: &str = "<secret>";
const EXCHANGES: &str = "exchanges.jsonl";

/// The secret values of a config, in every form, longest first.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    values: Vec<String>,
    forms: Vec<String>,
}

impl Secrets {
    /// The string values of `config`'s properties that `spec` (a SPEC
    /// message's `connectionSpecification`) marks `airbyte_secret`.
    pub fn of(config: &Value, spec: &Value) -> Secrets {
        let properties = spec["properties"].as_object();
        let values: Vec<String> = properties
            .into_iter()
            .flatten()
            .filter(|(_, schema)| schema["airbyte_secret"] == true)
            .filter_map(|(name, _)| config[name].as_str())
            .filter(|value| !value.is_empty())
            .map(str::to_owned)
            .collect();
        let mut forms: Vec<String> = values
            .iter()
            .flat_map(|v| connector_io::secret::forms_of(v))
            .collect();
        forms.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        forms.dedup();
        Secrets { values, forms }
    }

    /// `text` with every form of every secret replaced by [`MASK`].
    pub fn mask(&self, text: &str) -> String {
        self.forms
            .iter()
            .fold(text.to_owned(), |text, form| text.replace(form, MASK))
    }

    /// The config with each secret property's value replaced by [`MASK`].
    fn masked_config(&self, config: &Value) -> Value {
        match config {
            Value::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(name, value)| {
                        let secret = value
                            .as_str()
                            .is_some_and(|v| self.values.iter().any(|s| s == v));
                        let value = if secret { json!(MASK) } else { value.clone() };
                        (name.clone(), value)
                    })
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

/// Starts a recording in `dir`: the config (masked), the catalog and the
/// state, and an empty list of exchanges.
pub fn start(
    dir: &Path,
    secrets: &Secrets,
    (config, catalog, state): (Option<&str>, Option<&str>, Option<&str>),
) -> io::Result<PathBuf> {
    fs::create_dir_all(dir)?;
    if let Some(config) = config {
        let masked = match serde_json::from_str::<Value>(config) {
            Ok(value) => secrets.masked_config(&value).to_string(),
            Err(_) => secrets.mask(config),
        };
        fs::write(dir.join("config.json"), masked)?;
    }
    for (name, text) in [("catalog.json", catalog), ("state.json", state)] {
        if let Some(text) = text {
            fs::write(dir.join(name), secrets.mask(text))?;
        }
    }
    let path = dir.join(EXCHANGES);
    fs::write(&path, "")?;
    Ok(path)
}

/// Sends through `inner` and appends each exchange, masked, to a file.
pub struct Recorder<T> {
    inner: T,
    secrets: Secrets,
    file: Arc<Mutex<fs::File>>,
}

impl<T> Recorder<T> {
    pub fn new(inner: T, secrets: Secrets, exchanges: &Path) -> io::Result<Self> {
        let file = fs::OpenOptions::new().append(true).open(exchanges)?;
        Ok(Self {
            inner,
            secrets,
            file: Arc::new(Mutex::new(file)),
        })
    }

    fn append(&self, request: &Request, answer: &Result<Response, HttpError>) {
        let mut line = exchange(request, answer).to_string();
        line = self.secrets.mask(&line);
        line.push('\n');
        let mut file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        // A recording that cannot be written must not fail the sync it records.
        if let Err(error) = file.write_all(line.as_bytes()) {
            eprintln!("host: could not record an exchange: {error}");
        }
    }
}

impl<T: Transport> Transport for Recorder<T> {
    fn send(&self, request: &Request) -> Result<Response, HttpError> {
        let answer = self.inner.send(request);
        self.append(request, &answer);
        answer
    }
}

fn exchange(request: &Request, answer: &Result<Response, HttpError>) -> Value {
    let mut line = json!({ "request": {
        "method": request.method.as_str(),
        "url": request.url,
        "headers": request.headers,
        "body": request.body,
    }});
    line[match answer {
        Ok(_) => "response",
        Err(_) => "error",
    }] = match answer {
        Ok(r) => json!({ "status": r.status, "headers": r.headers, "body": r.body }),
        Err(e) => error(e),
    };
    line
}

/// An error as the WIT's variant holds it: its case and its payload (the
/// message the host wrote, without the prefix the case adds when shown).
fn error(error: &HttpError) -> Value {
    let (kind, message) = match error {
        HttpError::Denied(m) => ("denied", m),
        HttpError::Timeout(m) => ("timeout", m),
        HttpError::Transport(m) => ("transport", m),
        HttpError::NotUtf8(m) => ("not-utf8", m),
        HttpError::TooLarge(cap) => {
            return json!({ "kind": "too-large", "cap": cap, "message": "" })
        }
    };
    json!({ "kind": kind, "message": message })
}

/// Answers from a recording, with no network.
pub struct Replayer {
    left: Mutex<VecDeque<Recorded>>,
}

/// One recorded exchange.
struct Recorded {
    method: String,
    url: String,
    body: String,
    answer: Result<Response, HttpError>,
}

impl Replayer {
    /// The exchanges recorded in `dir`.
    pub fn load(dir: &Path) -> Result<Self, String> {
        let path = dir.join(EXCHANGES);
        let text = fs::read_to_string(&path)
            .map_err(|e| format!("cannot read the recording {}: {e}", path.display()))?;
        let left = text
            .lines()
            .enumerate()
            .map(|(i, line)| {
                recorded(line).ok_or_else(|| {
                    format!("{} line {}: not a recorded exchange", path.display(), i + 1)
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            left: Mutex::new(left),
        })
    }
}

impl Transport for Replayer {
    fn send(&self, request: &Request) -> Result<Response, HttpError> {
        let mut left = self.left.lock().unwrap_or_else(PoisonError::into_inner);
        let method = request.method.as_str();
        let same =
            |r: &Recorded| r.method == method && r.url == request.url && r.body == request.body;
        match left.iter().position(same) {
            Some(at) => left.remove(at).map_or_else(gone, |r| r.answer),
            None => Err(HttpError::Denied(format!(
                "replay: {method} {} with body {} was not recorded (or not that many times); {}",
                request.url,
                excerpt(&request.body),
                match left.front() {
                    Some(next) => format!(
                        "the next recorded request is {} {} with body {}",
                        next.method,
                        next.url,
                        excerpt(&next.body)
                    ),
                    None => "every recorded request was answered".into(),
                }
            ))),
        }
    }
}

/// Not reached: the exchange was found under the same lock.
fn gone() -> Result<Response, HttpError> {
    Err(HttpError::Transport(
        "replay: the exchange was taken".into(),
    ))
}

fn excerpt(body: &str) -> String {
    let cut: String = body.chars().take(300).collect();
    let ellipsis = if cut.len() < body.len() { "…" } else { "" };
    format!("{cut:?}{ellipsis}")
}

fn recorded(line: &str) -> Option<Recorded> {
    let value: Value = serde_json::from_str(line).ok()?;
    let request = &value["request"];
    let text = |v: &Value| v.as_str().map(str::to_owned);
    let headers =
        |v: &Value| -> Option<Vec<(String, String)>> { serde_json::from_value(v.clone()).ok() };
    let answer = match (&value["response"], &value["error"]) {
        (Value::Object(_), _) => {
            let r = &value["response"];
            Ok(Response {
                status: u16::try_from(r["status"].as_u64()?).ok()?,
                headers: headers(&r["headers"])?,
                body: text(&r["body"])?,
            })
        }
        (_, Value::Object(e)) => Err(replayed_error(
            e.get("kind")?.as_str()?,
            text(&e["message"])?,
            e.get("cap"),
        )),
        _ => return None,
    };
    let method = text(&request["method"])?;
    [Method::Get, Method::Post]
        .iter()
        .any(|m| m.as_str() == method)
        .then_some(Recorded {
            method,
            url: text(&request["url"])?,
            body: text(&request["body"])?,
            answer,
        })
}

fn replayed_error(kind: &str, message: String, cap: Option<&Value>) -> HttpError {
    match kind {
        "denied" => HttpError::Denied(message),
        "timeout" => HttpError::Timeout(message),
        "too-large" => HttpError::TooLarge(cap.and_then(Value::as_u64).unwrap_or(0)),
        "not-utf8" => HttpError::NotUtf8(message),
        _ => HttpError::Transport(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Canned;

    impl Transport for Canned {
        fn send(&self, request: &Request) -> Result<Response, HttpError> {
            Ok(Response {
                status: 200,
                headers: vec![("x-echo".into(), request.headers[0].1.clone())],
                body: format!("{{\"echo\":\"{}\"}}", request.headers[0].1),
            })
        }
    }

    struct Failing;

    impl Transport for Failing {
        fn send(&self, request: &Request) -> Result<Response, HttpError> {
            match request.body.as_str() {
                "slow" => Err(HttpError::Timeout("POST x: timed out after 30 s".into())),
                _ => Err(HttpError::TooLarge(1024)),
            }
        }
    }

    #[test]
    fn a_recorded_error_replays_as_it_was() {
        let dir = tempfile::tempdir().expect("tempdir");
        let secrets = Secrets::default();
        let path = start(dir.path(), &secrets, (None, None, None)).expect("start");
        let recorder = Recorder::new(Failing, secrets, &path).expect("recorder");
        let recorded: Vec<_> = ["slow", "big"]
            .map(|body| recorder.send(&request(body)).expect_err("an error"))
            .into();
        let replayer = Replayer::load(dir.path()).expect("load");
        for (body, error) in ["slow", "big"].into_iter().zip(recorded) {
            assert_eq!(replayer.send(&request(body)).expect_err("an error"), error);
        }
    }

    fn request(body: &str) -> Request {
        Request {
            method: Method::Post,
            url: "https://api.example.com/graphql".into(),
            headers: vec![("x-api-key".into(), "key\"with/odd-chars-42".into())],
            body: body.into(),
        }
    }

    #[test]
    fn a_recording_holds_no_secret_and_replays_in_request_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spec = json!({"properties": {"api_key": {"airbyte_secret": true}, "page_size": {}}});
        let config = json!({"api_key": "key\"with/odd-chars-42", "page_size": 5});
        let secrets = Secrets::of(&config, &spec);
        let path = start(
            dir.path(),
            &secrets,
            (Some(&config.to_string()), Some("{}"), None),
        )
        .expect("start");
        let recorder = Recorder::new(Canned, secrets, &path).expect("recorder");
        for body in ["one", "two", "one"] {
            recorder.send(&request(body)).expect("answer");
        }
        for entry in fs::read_dir(dir.path()).expect("dir") {
            let text = fs::read_to_string(entry.expect("entry").path()).expect("read");
            for form in connector_io::secret::forms_of("key\"with/odd-chars-42") {
                assert!(!text.contains(&form), "{form} in {text}");
            }
        }
        let saved: Value = serde_json::from_str(
            &fs::read_to_string(dir.path().join("config.json")).expect("config"),
        )
        .expect("JSON");
        assert_eq!(saved, json!({"api_key": MASK, "page_size": 5}));
        let replayer = Replayer::load(dir.path()).expect("load");
        // The replayed config's key is the mask: requests carry it.
        let masked = |body: &str| Request {
            headers: vec![("x-api-key".into(), MASK.into())],
            ..request(body)
        };
        assert!(replayer.send(&masked("two")).is_ok(), "out of order");
        assert!(replayer.send(&masked("one")).is_ok());
        assert!(replayer.send(&masked("one")).is_ok());
        let error = replayer.send(&masked("one")).expect_err("a third one");
        let HttpError::Denied(message) = error else {
            panic!("{error:?}")
        };
        assert!(message.contains("was not recorded"), "{message}");
        assert!(
            message.contains("every recorded request was answered"),
            "{message}"
        );
    }
}
