//! The compiled-component cache, through the real `host` binary: a second
//! run loads what the first compiled; bad entries are ignored and rewritten.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{host, probe_wasm, Output, HOST};

fn spec(cache_dir: &Path, extra: &[&str]) -> Output {
    let probe = probe_wasm().to_string_lossy().into_owned();
    let dir = cache_dir.to_string_lossy().into_owned();
    let mut args = vec!["run", &probe, "spec", "--verbose", "--cache-dir", &dir];
    args.extend_from_slice(extra);
    let out = host(&args, &[]);
    assert_eq!(out.code, 0, "{out:#?}");
    assert_eq!(out.messages.len(), 1, "{out:#?}");
    assert_eq!(out.messages[0]["type"], "SPEC");
    out
}

/// The files in the cache directory.
fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut list: Vec<PathBuf> = fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    list.sort();
    list
}

fn only_entry(dir: &Path) -> PathBuf {
    let list = entries(dir);
    assert_eq!(list.len(), 1, "{list:?}");
    assert!(list[0].to_string_lossy().ends_with(".cwasm"), "{list:?}");
    list[0].clone()
}

#[test]
fn the_second_run_loads_what_the_first_compiled() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("cache");
    let first = spec(&dir, &[]);
    assert!(
        first.stderr.contains("cached the compiled component at"),
        "{}",
        first.stderr
    );
    let entry = only_entry(&dir);
    let second = spec(&dir, &[]);
    assert!(
        second.stderr.contains(&format!(
            "loaded the compiled component from {}",
            entry.display()
        )),
        "{}",
        second.stderr
    );
    assert_eq!(only_entry(&dir), entry);
}

#[cfg(unix)]
#[test]
fn the_directory_and_entries_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("new/cache");
    spec(&dir, &[]);
    let mode = |p: &Path| fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&only_entry(&dir)), 0o600);
}

#[test]
fn a_corrupt_entry_is_ignored_and_rewritten() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("cache");
    spec(&dir, &[]);
    let entry = only_entry(&dir);
    let good = fs::read(&entry).expect("read");

    // One flipped bit in the compiled code.
    let mut flipped = good.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x10;
    fs::write(&entry, &flipped).expect("write");
    let out = spec(&dir, &[]);
    assert!(out.stderr.contains("corrupt"), "{}", out.stderr);
    assert!(
        out.stderr.contains("cached the compiled component"),
        "{}",
        out.stderr
    );
    assert_eq!(fs::read(&entry).expect("read"), good);

    // Truncated, empty, and not ours at all.
    for bad in [
        &good[..good.len() / 3],
        &b""[..],
        &b"\x7fELF\x02\x01\x01"[..],
    ] {
        fs::write(&entry, bad).expect("write");
        let out = spec(&dir, &[]);
        assert!(out.stderr.contains("ignoring"), "{}", out.stderr);
        assert_eq!(fs::read(&entry).expect("read"), good);
    }
    let out = spec(&dir, &[]);
    assert!(
        out.stderr.contains("loaded the compiled component"),
        "{}",
        out.stderr
    );
}

#[test]
fn an_entry_for_another_component_is_ignored() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    spec(&a, &[]);
    // Same file name, contents written for a different key.
    let entry = only_entry(&a);
    fs::create_dir_all(&b).expect("mkdir");
    let mut foreign = fs::read(&entry).expect("read");
    foreign[25] ^= 1; // inside the stored key
    let moved = b.join(entry.file_name().expect("name"));
    fs::write(&moved, &foreign).expect("write");
    let out = spec(&b, &[]);
    assert!(out.stderr.contains("another component"), "{}", out.stderr);
}

#[cfg(unix)]
#[test]
fn a_symlinked_entry_is_not_followed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (real, linked) = (tmp.path().join("real"), tmp.path().join("linked"));
    spec(&real, &[]);
    let target = only_entry(&real);
    fs::create_dir_all(&linked).expect("mkdir");
    let link = linked.join(target.file_name().expect("name"));
    std::os::unix::fs::symlink(&target, &link).expect("symlink");
    let out = spec(&linked, &[]);
    assert!(out.stderr.contains("ignoring"), "{}", out.stderr);
    // Replaced by a file of our own; the link's target is untouched.
    assert!(!fs::symlink_metadata(&link)
        .expect("meta")
        .file_type()
        .is_symlink());
}

#[cfg(unix)]
#[test]
fn a_directory_others_can_write_is_not_used() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("shared");
    fs::create_dir(&dir).expect("mkdir");
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).expect("chmod");
    let out = spec(&dir, &[]);
    assert!(out.stderr.contains("not using the cache"), "{}", out.stderr);
    assert!(entries(&dir).is_empty());
}

#[test]
fn no_cache_writes_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let probe = probe_wasm().to_string_lossy().into_owned();
    let home = tmp.path().to_string_lossy().into_owned();
    let out = host(
        &["run", &probe, "spec", "--no-cache", "-v"],
        &[("XDG_CACHE_HOME", &home)],
    );
    assert_eq!(out.code, 0, "{out:#?}");
    assert!(entries(tmp.path()).is_empty());
}

#[test]
fn the_default_directory_is_under_xdg_cache_home() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let probe = probe_wasm().to_string_lossy().into_owned();
    let home = tmp.path().to_string_lossy().into_owned();
    let out = host(&["run", &probe, "spec"], &[("XDG_CACHE_HOME", &home)]);
    assert_eq!(out.code, 0, "{out:#?}");
    only_entry(&tmp.path().join("component-host"));
}

#[test]
fn concurrent_runs_leave_one_whole_entry() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("cache");
    let children: Vec<_> = (0..4)
        .map(|_| {
            Command::new(HOST)
                .arg("run")
                .arg(probe_wasm())
                .args(["spec", "--cache-dir"])
                .arg(&dir)
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn host")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("wait");
        assert!(out.status.success());
        assert!(String::from_utf8_lossy(&out.stdout).contains("\"SPEC\""));
    }
    // No temporary files left, and the entry loads.
    only_entry(&dir);
    let out = spec(&dir, &[]);
    assert!(
        out.stderr.contains("loaded the compiled component"),
        "{}",
        out.stderr
    );
}
