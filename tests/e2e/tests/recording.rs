//! Reporting a problem: a read recorded against the stand-in (`--record`)
//! replays with the stand-in stopped (`--replay`), giving the same messages,
//! and the recording holds the key in no form; `--debug` shows each request.

use serde_json::Value;
use stigg_e2e::{artifacts, catalog, config, run, run_host, standin, Inputs, Output, API_KEY};
use stigg_standin::Standin;

const STREAMS: [(&str, &str); 3] = [
    ("customers", "incremental"),
    ("subscriptions", "full_refresh"),
    ("credit_grants", "full_refresh"),
];

/// Each stream's messages in order (streams read at once interleave), with
/// `emitted_at` and the times a state takes from the sync's own start
/// (`deletes_from`: where the next sync reads the log from) left out; LOGs,
/// which tell times, left out.
fn by_stream(out: &Output) -> Vec<(String, Vec<Value>)> {
    let mut streams: Vec<(String, Vec<Value>)> = Vec::new();
    for message in &out.messages {
        let mut message = message.clone();
        let stream = [
            &message["record"]["stream"],
            &message["state"]["stream"]["stream_descriptor"]["name"],
            &message["trace"]["stream_status"]["stream_descriptor"]["name"],
            &message["trace"]["estimate"]["name"],
        ]
        .into_iter()
        .find_map(|name| name.as_str())
        .unwrap_or("-")
        .to_owned();
        if message["type"] == "LOG" {
            continue;
        }
        for body in ["record", "trace"] {
            if let Some(fields) = message.get_mut(body).and_then(Value::as_object_mut) {
                fields.remove("emitted_at");
            }
        }
        if let Some(state) = message
            .pointer_mut("/state/stream/stream_state")
            .and_then(Value::as_object_mut)
        {
            state.remove("deletes_from");
        }
        match streams.iter_mut().find(|(name, _)| *name == stream) {
            Some((_, messages)) => messages.push(message),
            None => streams.push((stream, vec![message])),
        }
    }
    streams.sort_by(|a, b| a.0.cmp(&b.0));
    streams
}

/// A read of `streams` from `server`.
fn inputs(server: &Standin, streams: &[(&str, &str)]) -> Inputs {
    Inputs {
        config: Some(config(&server.url())),
        catalog: Some(catalog(streams)),
        state: None,
    }
}

#[test]
fn a_recorded_read_replays_without_the_network_and_holds_no_key() {
    let server = standin(30);
    let dir = tempfile::tempdir().expect("tempdir");
    let recording = dir.path().join("recording");
    let inputs = inputs(&server, &STREAMS);
    let recorded = run("read", &inputs, &["--record", &recording.to_string_lossy()]);
    assert_eq!(recorded.code, 0, "{}", recorded.stderr);
    assert!(
        server.request_count() > 30,
        "a read of every customer's grants"
    );
    server.stop();

    for entry in std::fs::read_dir(&recording).expect("the recording") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("read");
        for form in graphql_source::io::secret::forms_of(API_KEY) {
            assert!(!text.contains(&form), "{}: holds {form:?}", path.display());
        }
    }

    let file = |name: &str| recording.join(name).to_string_lossy().into_owned();
    let args: Vec<String> = [
        "run",
        &artifacts().wasm.to_string_lossy(),
        "read",
        "--config",
        &file("config.json"),
        "--catalog",
        &file("catalog.json"),
        "--replay",
        &recording.to_string_lossy(),
    ]
    .map(String::from)
    .to_vec();
    let replayed = run_host(&args);
    assert_eq!(replayed.code, 0, "{}", replayed.stderr);
    let (replayed_streams, recorded_streams) = (by_stream(&replayed), by_stream(&recorded));
    assert_eq!(replayed_streams.len(), recorded_streams.len());
    for ((name, replayed), (_, recorded)) in replayed_streams.iter().zip(&recorded_streams) {
        let first_difference = replayed.iter().zip(recorded).position(|(a, b)| a != b);
        assert_eq!(
            first_difference,
            None,
            "{name}: {:?}",
            first_difference.map(|i| (&replayed[i], &recorded[i]))
        );
        assert_eq!(replayed.len(), recorded.len(), "{name}");
    }
    assert_eq!(
        replayed.record_ids("credit_grants"),
        recorded.record_ids("credit_grants")
    );
}

#[test]
fn a_request_that_was_not_recorded_fails_naming_it() {
    let server = standin(5);
    let dir = tempfile::tempdir().expect("tempdir");
    let recording = dir.path().join("recording");
    let inputs = |streams: &[(&str, &str)]| inputs(&server, streams);
    let flags = ["--record", &recording.to_string_lossy()].map(String::from);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    assert_eq!(
        run("read", &inputs(&[("customers", "full_refresh")]), &flags).code,
        0
    );
    // Another stream than the one recorded.
    let replay = ["--replay", &recording.to_string_lossy()].map(String::from);
    let replay: Vec<&str> = replay.iter().map(String::as_str).collect();
    let out = run("read", &inputs(&[("features", "full_refresh")]), &replay);
    assert_eq!(out.code, 1);
    let message = out.trace_error()["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(message.contains("was not recorded"), "{message}");
    assert!(
        message.contains("the next recorded request is POST"),
        "{message}"
    );
}

#[test]
fn debug_shows_each_request_and_no_key() {
    let server = standin(12);
    let inputs = inputs(&server, &[("customers", "full_refresh")]);
    let quiet = run("read", &inputs, &[]);
    let debug_lines = |out: &Output| -> Vec<String> {
        out.of_type("LOG")
            .filter(|m| m["log"]["level"] == "DEBUG")
            .filter_map(|m| m["log"]["message"].as_str().map(str::to_owned))
            .collect()
    };
    assert!(debug_lines(&quiet).is_empty(), "off by default");
    server.reset_stats();
    let out = run("read", &inputs, &["--debug"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    out.assert_no_leak(API_KEY);
    let lines = debug_lines(&out);
    assert_eq!(lines.len() as u64, server.request_count(), "{lines:#?}");
    for line in &lines {
        assert!(
            line.starts_with(&format!("POST {}", server.url())),
            "{line}"
        );
        assert!(line.contains(" query "), "{line}");
        assert!(line.contains(" variables {"), "{line}");
        assert!(line.contains(": HTTP 200, "), "{line}");
        assert!(line.ends_with(" ms"), "{line}");
    }
}
