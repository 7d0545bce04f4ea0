//! A component built for another version of the WIT contract is refused with
//! a message that says so, not a link error.

mod common;

use common::{host, probe_wasm};

/// The probe with its `airbyte:connector/http@0.5.0` import rewritten to
/// `from`'s version (same length, so the binary stays well formed).
fn probe_built_for(version: &str, dir: &std::path::Path) -> String {
    let mut bytes = std::fs::read(probe_wasm()).expect("read the probe");
    let (old, new) = (
        b"airbyte:connector/http@0.5.0",
        format!("airbyte:connector/http@{version}"),
    );
    assert_eq!(old.len(), new.len());
    let at = bytes
        .windows(old.len())
        .position(|w| w == old)
        .expect("the probe imports http@0.5.0");
    bytes[at..at + old.len()].copy_from_slice(new.as_bytes());
    let path = dir.join(format!("probe-{version}.wasm"));
    std::fs::write(&path, bytes).expect("write");
    path.to_string_lossy().into_owned()
}

#[test]
fn a_component_for_another_minor_is_refused_clearly() {
    let dir = tempfile::tempdir().expect("tempdir");
    for version in ["0.6.0", "0.4.0"] {
        let wasm = probe_built_for(version, dir.path());
        let out = host(&["run", &wasm, "spec", "--no-cache"], &[]);
        assert_eq!(out.code, 1, "{out:#?}");
        let message = out.trace_error()["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(
            message.contains(&format!("built for airbyte:connector@{version}")),
            "{message}"
        );
        assert!(
            message.contains("runs airbyte:connector@0.5.x components"),
            "{message}"
        );
    }
}

#[test]
fn a_patch_release_of_the_same_minor_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wasm = probe_built_for("0.5.9", dir.path());
    let out = host(&["run", &wasm, "spec", "--no-cache"], &[]);
    assert_eq!(out.code, 0, "a 0.5.x component was refused: {out:#?}");
    assert_eq!(out.messages[0]["type"], "SPEC", "{out:#?}");
}
