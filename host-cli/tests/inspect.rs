//! `host inspect` on the real connector and on the probe.

mod common;

use common::{probe_wasm, stigg_wasm};
use serde_json::Value;

fn inspect(wasm: &std::path::Path, json: bool) -> common::Output {
    let path = wasm.to_string_lossy().into_owned();
    let mut args = vec!["inspect", path.as_str()];
    if json {
        args.push("--json");
    }
    let out = common::host_raw(&args);
    assert_eq!(out.code, 0, "{out:#?}");
    out
}

#[test]
fn stigg_text_lists_its_interfaces_and_signatures() {
    let out = inspect(stigg_wasm(), false);
    let text = &out.stdout;
    for line in [
        "imports (what the component may call):",
        "  instance airbyte:connector/http@0.5.0",
        "    send: func(request: request) -> result<response, error>",
        "    error: variant { denied(string), timeout(string), transport(string), too-large(u64), not-utf8(string) }",
        "  instance airbyte:connector/sink@0.5.0",
        "    batch-end: variant { records, state, error(failure-type), other }",
        "    emit: func(lines: string, end: batch-end)",
        "exports (what the host may call):",
        "  instance airbyte:connector/source@0.5.0",
        "    spec: func() -> result<_, string>",
        "    allowed-origins: func(config: string) -> result<list<string>, string>",
        "    read: func(config: string, catalog: string, state: option<string>) -> result<_, string>",
        "    split-catalog: func(catalog: string) -> list<string>",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
    }
    // The connector asks for no files and no sockets.
    assert!(!text.contains("wasi:filesystem"), "{text}");
    assert!(!text.contains("wasi:sockets"), "{text}");
}

#[test]
fn stigg_json_is_machine_readable() {
    let out = inspect(stigg_wasm(), true);
    let value: Value = serde_json::from_str(&out.stdout).expect("json");
    let names = |list: &Value| -> Vec<String> {
        list.as_array()
            .map(|l| {
                l.iter()
                    .filter_map(|i| i["name"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let imports = names(&value["imports"]);
    assert!(
        imports.contains(&"airbyte:connector/http@0.5.0".to_string()),
        "{imports:?}"
    );
    assert!(
        imports.contains(&"airbyte:connector/sink@0.5.0".to_string()),
        "{imports:?}"
    );
    let exports = value["exports"].as_array().expect("exports");
    assert_eq!(exports.len(), 1);
    assert_eq!(exports[0]["kind"], "instance");
    let functions: Vec<(String, String)> = exports[0]["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap_or_default().to_string(),
                f["signature"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(
        functions
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>(),
        [
            "spec",
            "allowed-origins",
            "check",
            "discover",
            "read",
            "split-catalog"
        ]
    );
    assert_eq!(functions[2].1, "func(config: string) -> result<_, string>");
}

#[test]
fn the_probe_shows_it_asks_for_the_filesystem() {
    let out = inspect(probe_wasm(), false);
    assert!(
        out.stdout.contains("  instance wasi:filesystem/preopens@"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("resource descriptor"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("[method]descriptor.read-via-stream: func(self: borrow<descriptor>"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_missing_or_invalid_component_fails() {
    let out = common::host_raw(&["inspect", "/nonexistent/x.wasm"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("/nonexistent/x.wasm"), "{}", out.stderr);
    let tmp = tempfile::tempdir().expect("tempdir");
    let bad = tmp.path().join("bad.wasm");
    std::fs::write(&bad, b"not wasm").expect("write");
    let out = common::host_raw(&["inspect", &bad.to_string_lossy()]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("cannot inspect"), "{}", out.stderr);
}
