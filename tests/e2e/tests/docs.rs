//! The README's stream table says what `discover` says.

use std::path::Path;

use serde_json::json;
use stigg_e2e::{run, Inputs};

#[test]
fn readme_stream_table_matches_discover() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .unwrap();
    let table = readme
        .split("<!-- streams-table")
        .nth(1)
        .and_then(|rest| rest.split("<!-- /streams-table -->").next())
        .expect("README has the streams table markers");
    let rows: Vec<Vec<String>> = table
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().replace('`', ""))
                .collect()
        })
        .collect();

    let config = json!({ "api_key": "k" });
    let out = run(
        "discover",
        &Inputs {
            config: Some(config),
            catalog: None,
            state: None,
        },
        &[],
    );
    let streams = out.of_type("CATALOG").next().unwrap()["catalog"]["streams"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(rows.len(), streams.len(), "one row per stream");
    for (row, stream) in rows.iter().zip(&streams) {
        let name = stream["name"].as_str().unwrap();
        assert_eq!(row[0], name);
        let key: Vec<String> = stream["source_defined_primary_key"]
            .as_array()
            .unwrap()
            .iter()
            .map(|path| {
                let parts: Vec<&str> = path
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| p.as_str().unwrap())
                    .collect();
                parts.join(".")
            })
            .collect();
        assert_eq!(row[2], key.join(", "), "{name}: key");
        let modes = stream["supported_sync_modes"].as_array().unwrap();
        assert!(
            row[3].starts_with("yes") && modes.contains(&json!("full_refresh")),
            "{name}"
        );
        let incremental = modes.contains(&json!("incremental"));
        assert_eq!(
            row[4].starts_with("yes"),
            incremental,
            "{name}: incremental"
        );
        let cursor = stream["default_cursor_field"][0].as_str().unwrap_or("");
        assert_eq!(row[5], cursor, "{name}: cursor");
        assert_eq!(
            row[3].contains("resumable"),
            stream["is_resumable"] == json!(true),
            "{name}"
        );
    }
}
