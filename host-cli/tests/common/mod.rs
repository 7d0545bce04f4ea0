//! Shared by the integration tests: the real `host` binary, the probe and
//! stigg components (built once per test process), local HTTP servers.

#![allow(dead_code)] // each test file uses its own part of this module

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread;
use std::time::Duration;

use serde_json::Value;

pub const HOST: &str = env!("CARGO_BIN_EXE_host");

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Builds a wasm32-wasip2 artifact with cargo, unless `env_var` names one.
fn build_wasm(env_var: &str, args: &[&str], artifact: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(env_var) {
        return path.into();
    }
    let root = workspace_root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "-q", "--target", "wasm32-wasip2"])
        .args(args)
        .current_dir(&root)
        .status()
        .expect("run cargo");
    assert!(status.success(), "cargo build {args:?} failed");
    root.join("target/wasm32-wasip2").join(artifact)
}

/// The probe component (tests/guest-probe), or `$GUEST_PROBE_WASM`.
pub fn probe_wasm() -> &'static Path {
    static PROBE: OnceLock<PathBuf> = OnceLock::new();
    PROBE.get_or_init(|| {
        build_wasm(
            "GUEST_PROBE_WASM",
            &["-p", "guest-probe", "--release"],
            "release/guest_probe.wasm",
        )
    })
}

/// The connector component, or `$STIGG_WASM`.
pub fn stigg_wasm() -> &'static Path {
    static STIGG: OnceLock<PathBuf> = OnceLock::new();
    STIGG.get_or_init(|| {
        build_wasm(
            "STIGG_WASM",
            &["-p", "stigg-connector", "--profile", "component"],
            "component/stigg.wasm",
        )
    })
}

/// A cache directory for runs that do not test the cache: under the target
/// directory, so tests never write to the user's own cache.
fn test_cache_home() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("host-tests-cache-home")
}

pub use test_support::Output;

/// What the guest probe reports: its LOG messages carry JSON results.
pub trait ProbeOutput {
    /// The results the probe reported, parsed.
    fn probe_results(&self) -> Vec<Value>;

    /// The single probe result.
    fn probe_result(&self) -> Value {
        let mut results = self.probe_results();
        assert_eq!(results.len(), 1, "{results:#?}");
        results.remove(0)
    }
}

impl ProbeOutput for Output {
    fn probe_results(&self) -> Vec<Value> {
        self.logs()
            .filter_map(|text| serde_json::from_str(text).ok())
            .collect()
    }
}

/// Runs `host` with these arguments; every line of stdout must be a valid
/// Airbyte message. `XDG_CACHE_HOME` points into the target directory unless
/// `envs` sets it.
pub fn host(args: &[&str], envs: &[(&str, &str)]) -> Output {
    Output::messages(run(args, envs))
}

/// Runs `host` with stdout of any form (`host inspect`).
pub fn host_raw(args: &[&str]) -> Output {
    Output::text(run(args, &[]))
}

fn run(args: &[&str], envs: &[(&str, &str)]) -> std::process::Output {
    Command::new(HOST)
        .args(args)
        .env("XDG_CACHE_HOME", test_cache_home())
        .envs(envs.iter().copied())
        .output()
        .expect("run host")
}

/// Runs the probe's `read` with this config (written to a temporary file),
/// allowed to reach the test servers on 127.0.0.1 (`--allow-private-network`).
pub fn run_probe(config: &Value, extra_args: &[&str]) -> Output {
    run_probe_with_env(config, extra_args, &[])
}

pub fn run_probe_with_env(config: &Value, extra_args: &[&str], envs: &[(&str, &str)]) -> Output {
    probe_read(config, &["--allow-private-network"], extra_args, envs)
}

/// Runs the probe's `read` under the host's default network policy, with
/// `flags` between `run` and the component path.
pub fn run_probe_under_policy(config: &Value, flags: &[&str]) -> Output {
    probe_read(config, flags, &[], &[])
}

fn probe_read(config: &Value, before: &[&str], after: &[&str], envs: &[(&str, &str)]) -> Output {
    let dir = tempfile::tempdir().expect("tempdir");
    let config_path = dir.path().join("config.json");
    let catalog_path = dir.path().join("catalog.json");
    std::fs::write(&config_path, config.to_string()).expect("write config");
    std::fs::write(&catalog_path, "{}").expect("write catalog");
    let probe = probe_wasm().to_string_lossy().into_owned();
    let config_arg = config_path.to_string_lossy().into_owned();
    let catalog_arg = catalog_path.to_string_lossy().into_owned();
    let mut args = vec!["run"];
    args.extend_from_slice(before);
    args.extend([
        probe.as_str(),
        "read",
        "--config",
        &config_arg,
        "--catalog",
        &catalog_arg,
    ]);
    args.extend_from_slice(after);
    host(&args, envs)
}

/// A local HTTP server answering every connection with what `reply` makes
/// of the request head; it counts the connections it accepted.
pub struct Server {
    pub port: u16,
    hits: Arc<AtomicUsize>,
}

impl Server {
    pub fn start(reply: impl Fn(&str) -> Vec<u8> + Send + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&hits);
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                counter.fetch_add(1, Ordering::SeqCst);
                let head = read_head(&mut stream);
                let _ = stream.write_all(&reply(&head));
            }
        });
        Self { port, hits }
    }

    /// Answers 200 with this body.
    pub fn ok(body: &'static str) -> Self {
        Self::start(move |_| response("200 OK", "", body.as_bytes()))
    }

    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin())
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

pub fn response(status: &str, extra_headers: &str, body: &[u8]) -> Vec<u8> {
    let mut raw = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n{extra_headers}\r\n",
        body.len()
    )
    .into_bytes();
    raw.extend_from_slice(body);
    raw
}

fn read_head(stream: &mut TcpStream) -> String {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut data = Vec::new();
    let mut buf = [0u8; 1024];
    while !data.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&data).into_owned()
}
