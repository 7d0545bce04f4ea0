//! The engine serves any GraphQL API: no vendor's name in its source. A
//! connector's name reaches messages only through its `Api`.

use std::path::Path;

fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir)
        .expect("read the source folder")
        .flatten()
    {
        let path = entry.path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs" || e == "toml") {
            out.push(path);
        }
    }
}

/// The vendor this repository's own connector is for, spelled so that this
/// file does not contain it.
const VENDOR: &str = concat!("sti", "gg");

#[test]
fn the_engine_source_names_no_vendor() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut found = Vec::new();
    files(root, &mut found);
    assert!(found.len() > 10, "the source was not found: {found:?}");
    for path in found {
        let text = std::fs::read_to_string(&path).expect("read");
        for (n, line) in text.lines().enumerate() {
            assert!(
                !line.to_lowercase().contains(VENDOR),
                "{}:{}: {line}",
                path.display(),
                n + 1
            );
        }
    }
}
