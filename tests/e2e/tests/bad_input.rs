//! Every malformed config, catalog, state and command line gets a specific error
//! and the Airbyte exit convention: `check` prints CONNECTION_STATUS FAILED and
//! exits 0; `read` and `discover` print a TRACE ERROR config_error and exit 1.

use stigg_e2e::{artifacts, run_host, Output, ALLOW_LOCAL};

const GOOD_CONFIG: &str = r#"{"api_key":"k","base_url":"http://127.0.0.1:9/graphql"}"#;
const GOOD_CATALOG: &str = r#"{"streams":[{"stream":{"name":"customers"},"sync_mode":"full_refresh","destination_sync_mode":"overwrite"}]}"#;
const MISSING: &str = "<missing file>";

/// One bad input: which command, the three files (None: not passed), what must come out.
struct Case {
    command: &'static str,
    config: Option<&'static [u8]>,
    catalog: Option<&'static [u8]>,
    state: Option<&'static [u8]>,
    expect: &'static str,
}

fn config(text: &'static str) -> Case {
    Case {
        command: "read",
        config: Some(text.as_bytes()),
        catalog: Some(GOOD_CATALOG.as_bytes()),
        state: None,
        expect: "",
    }
}

fn catalog(text: &'static str) -> Case {
    Case {
        catalog: Some(text.as_bytes()),
        ..config(GOOD_CONFIG)
    }
}

fn state(text: &'static str) -> Case {
    Case {
        state: Some(text.as_bytes()),
        ..config(GOOD_CONFIG)
    }
}

impl Case {
    fn expect(self, expect: &'static str) -> Case {
        Case { expect, ..self }
    }

    fn run(&self) -> Output {
        let dir = tempfile::tempdir().unwrap();
        let mut args = vec![
            "run".to_owned(),
            ALLOW_LOCAL.to_owned(),
            artifacts().wasm.to_string_lossy().into_owned(),
            self.command.to_owned(),
        ];
        for (flag, content) in [
            ("--config", self.config),
            ("--catalog", self.catalog),
            ("--state", self.state),
        ] {
            let Some(content) = content else { continue };
            let path = dir.path().join(flag.trim_start_matches('-'));
            if content != MISSING.as_bytes() {
                std::fs::write(&path, content).unwrap();
            }
            args.extend([flag.to_owned(), path.to_string_lossy().into_owned()]);
        }
        run_host(&args)
    }
}

fn table() -> Vec<Case> {
    vec![
        // The config.
        config("{").expect("the config is not valid JSON"),
        config("").expect("the config is not valid JSON"),
        config("[]").expect("the config must be a JSON object"),
        config("{}").expect("the config has no `api_key`"),
        config(r#"{"api_key":null}"#).expect("the config has no `api_key`"),
        config(r#"{"api_key":5}"#).expect("`api_key` must be a string, not a number"),
        config(r#"{"api_key":" "}"#).expect("`api_key` is empty"),
        config(r#"{"api_key":"a\nb"}"#).expect("`api_key` contains control characters"),
        config(r#"{"api_key":"key-\u2713-not-ascii"}"#).expect("`api_key` holds a character an HTTP header cannot carry (character 5 of the key)"),
        config("{\"api_key\":\"key-\u{00ff}-latin-1\"}").expect("`api_key` holds a character an HTTP header cannot carry"),
        config(r#"{"api_key":"k","page_size":0}"#).expect("`page_size` must be an integer from 1 to 1000, not 0"),
        config(r#"{"api_key":"k","page_size":1001}"#).expect("`page_size` must be an integer from 1 to 1000, not 1001"),
        config(r#"{"api_key":"k","page_size":2.5}"#).expect("`page_size` must be an integer from 1 to 1000, not 2.5"),
        config(r#"{"api_key":"k","page_size":"50"}"#).expect("`page_size` must be an integer from 1 to 1000, not a string"),
        config(r#"{"api_key":"k","base_url":"api.stigg.io/graphql"}"#).expect("it must start with https:// or http://"),
        config(r#"{"api_key":"k","base_url":"ftp://api.stigg.io"}"#).expect("the scheme must be https or http"),
        config(r#"{"api_key":"k","base_url":"https://u:p@api.stigg.io/graphql"}"#).expect("must not contain a user name or password"),
        config(r#"{"api_key":"k","base_url":"https://api.stigg.io/graphql#x"}"#).expect("it has a #fragment"),
        config(r#"{"api_key":"k","base_url":"https://api.stigg.io:0/"}"#).expect("its host or port is malformed"),
        config(r#"{"api_key":"k","base_url":["https://api.stigg.io"]}"#).expect("`base_url` must be a string, not an array"),
        config(r#"{"api_key":"k","start_date":"yesterday"}"#).expect("`start_date` must be an ISO 8601 date or date-time"),
        config(r#"{"api_key":"k","start_date":"2024-02-30"}"#).expect("`start_date` must be an ISO 8601 date or date-time"),
        config(r#"{"api_key":"k","max_retry_seconds":-1}"#).expect("`max_retry_seconds` must be an integer from 0 to 3600, not -1"),
        config(r#"{"api_key":"k","max_retry_seconds":true}"#).expect("`max_retry_seconds` must be an integer from 0 to 3600, not a boolean"),
        config(MISSING).expect("config"),
        config("\u{FEFF}{}").expect("the config is not valid JSON"),
        Case { config: Some(b"\xff\xfe{}"), ..config(GOOD_CONFIG) }.expect("not UTF-8"),
        // The configured catalog.
        catalog("{").expect("the catalog is not valid JSON"),
        catalog("[]").expect("the catalog must be a JSON object with a `streams` array"),
        catalog(r#"{"streams":{}}"#).expect("the catalog must be a JSON object with a `streams` array"),
        catalog(r#"{"streams":[]}"#).expect("the catalog selects no streams"),
        catalog(r#"{"streams":[{"sync_mode":"full_refresh"}]}"#).expect("catalog stream #1: has no `stream.name`"),
        catalog(r#"{"streams":[{"stream":{"name":7},"sync_mode":"full_refresh"}]}"#).expect("`stream.name` must be a string, not a number"),
        catalog(r#"{"streams":[{"stream":{"name":"invoices"},"sync_mode":"full_refresh"}]}"#).expect("unknown stream `invoices`; this connector has: customers, subscriptions"),
        catalog(r#"{"streams":[{"stream":{"name":"customers"},"sync_mode":"cdc"}]}"#).expect("stream `customers` has sync_mode `cdc`; expected `full_refresh` or `incremental`"),
        catalog(r#"{"streams":[{"stream":{"name":"customers"}}]}"#).expect("stream `customers` has no `sync_mode`"),
        catalog(r#"{"streams":[{"stream":{"name":"customers"},"sync_mode":1}]}"#).expect("`sync_mode` must be a string, not a number"),
        catalog(r#"{"streams":[{"stream":{"name":"plans"},"sync_mode":"full_refresh"},{"stream":{"name":"plans"},"sync_mode":"full_refresh"}]}"#).expect("the catalog selects stream `plans` twice"),
        catalog(MISSING).expect("catalog"),
        // The state.
        state("{").expect("the state is not valid JSON"),
        state(r#"{"customers":{"updatedAt":"2024-01-01"}}"#).expect("the state is a legacy (single object) state"),
        state("7").expect("the state must be a JSON list, not a number"),
        state(r#"[{"type":"GLOBAL","global":{}}]"#).expect("state entry #1: state type `GLOBAL` is not supported"),
        state(r#"[{"type":"LEGACY","data":{}}]"#).expect("state type `LEGACY` is not supported"),
        state(r#"[{"stream":{"stream_descriptor":{"name":"customers"}}}]"#).expect("has no `type`"),
        state(r#"[{"type":"STREAM","stream":{}}]"#).expect("has no `stream.stream_descriptor.name`"),
        state(r#"[{"type":"STREAM","stream":{"stream_descriptor":{"name":"customers"},"stream_state":{"updatedAt":"x"}}}]"#)
            .expect("the state of stream `customers` is not one this connector wrote"),
        state(r#"[{"type":"STREAM","stream":{"stream_descriptor":{"name":"customers"},"stream_state":{"mode":"full_refresh_complete"}}},{"type":"STREAM","stream":{"stream_descriptor":{"name":"customers"},"stream_state":{"mode":"full_refresh_complete"}}}]"#)
            .expect("the state holds stream `customers` twice"),
        state(MISSING).expect("state"),
        // discover and check with a bad config.
        Case { command: "discover", catalog: None, ..config(r#"{"api_key":[]}"#) }.expect("`api_key` must be a string, not an array"),
        Case { command: "check", catalog: None, ..config(r#"{"api_key":"k","page_size":-3}"#) }.expect("`page_size` must be an integer from 1 to 1000, not -3"),
        Case { command: "check", catalog: None, ..config("nope") }.expect("the config is not valid JSON"),
        Case { command: "check", catalog: None, ..config(MISSING) }.expect("config"),
    ]
}

#[test]
fn every_bad_input_gets_its_own_error_and_the_airbyte_exit_convention() {
    let cases = table();
    assert!(cases.len() >= 30);
    for case in &cases {
        let out = case.run();
        let what = format!(
            "{} with config {:?}",
            case.command,
            case.config.map(String::from_utf8_lossy)
        );
        let message = if case.command == "check" {
            assert_eq!(out.code, 0, "{what}: check exits 0\n{}", out.stdout);
            let status = out.connection_status();
            assert_eq!(status["status"], "FAILED", "{what}");
            status["message"].as_str().unwrap().to_owned()
        } else {
            assert_eq!(out.code, 1, "{what}: exits 1\n{}", out.stdout);
            let errors = out.errors();
            assert_eq!(errors.len(), 1, "{what}: one TRACE ERROR\n{}", out.stdout);
            assert_eq!(errors[0]["failure_type"], "config_error", "{what}");
            assert_eq!(out.of_type("RECORD").count(), 0);
            errors[0]["message"].as_str().unwrap().to_owned()
        };
        assert!(
            message.contains(case.expect),
            "{what}:\n  expected {:?}\n  got      {message:?}",
            case.expect
        );
        assert!(!out.stderr.contains("panicked"), "{what}: {}", out.stderr);
    }
}

#[test]
fn command_line_mistakes_are_usage_errors() {
    let wasm = artifacts().wasm.to_string_lossy().into_owned();
    for args in [
        vec!["run".to_owned(), wasm.clone(), "check".into()],
        vec![
            "run".to_owned(),
            wasm.clone(),
            "read".into(),
            "--config".into(),
            "c.json".into(),
        ],
        vec!["run".to_owned(), wasm.clone(), "sync".into()],
        vec!["frobnicate".to_owned()],
    ] {
        let out = std::process::Command::new(&artifacts().host)
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            !String::from_utf8_lossy(&out.stderr).is_empty(),
            "{args:?}: says why"
        );
    }
}
