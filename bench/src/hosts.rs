//! The same read through each host of the contract: the Rust host, the Python
//! host (wasmtime-py) and the JS host (jco on Node), on one stand-in. Wall, CPU
//! and peak memory side by side, and whether each returns exactly the Rust
//! host's records (`emitted_at` aside).
//!
//! The Python and JS hosts' packages come from `tests/ecosystem/install.sh`,
//! which `just bench` runs; a host that cannot run fails the bench.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::fixture::{read_args, Fixture, Measurement};
use crate::report;

/// Runs of each host; each host's run of median wall time is shown.
const RUNS: usize = 3;

struct Host {
    name: &'static str,
    program: PathBuf,
    /// Arguments before the component's path.
    prefix: Vec<String>,
}

pub fn run(root: &Path, customers: usize) -> Result<()> {
    let wasm = root.join("target/wasm32-wasip2/component/stigg.wasm");
    let hosts = [
        Host {
            name: "rust: host-cli (wasmtime)",
            program: root.join("target/release/host"),
            prefix: vec!["run".into()],
        },
        Host {
            name: "python: wasmtime-py",
            program: root.join("target/ecosystem/python-host/bin/python"),
            prefix: vec![path(&root.join("examples/python-host/stigg_host.py"))],
        },
        Host {
            name: "js: jco on Node",
            program: PathBuf::from(std::env::var("NODE").unwrap_or_else(|_| "node".into())),
            prefix: vec![path(&root.join("examples/js-host/host.mjs"))],
        },
    ];
    println!();
    println!("per host, {customers} customers, default concurrency (median wall of {RUNS} runs):");
    let fixture = Fixture::start(customers, 0)?;
    let command = |host: &Host, args: Vec<String>| {
        let mut all = host.prefix.clone();
        all.extend(["--allow-private-network".into(), path(&wasm)]);
        all.extend(args);
        all
    };
    // A first spec fills each host's cache (compiled or transpiled component).
    for host in &hosts {
        let status = std::process::Command::new(&host.program)
            .args(command(host, vec!["spec".into()]))
            .stdout(std::process::Stdio::null())
            .status()
            .with_context(|| format!("starting {}", host.program.display()))?;
        if !status.success() {
            bail!(
                "{}: spec failed; is it installed (tests/ecosystem/install.sh)?",
                host.name
            );
        }
    }
    let mut runs: Vec<Vec<Measurement>> = hosts.iter().map(|_| Vec::new()).collect();
    for _ in 0..RUNS {
        for (host, runs) in hosts.iter().zip(&mut runs) {
            let args = command(host, read_args(fixture.dir()));
            runs.push(fixture.measure(&host.program, &args)?);
        }
    }
    let medians: Vec<Measurement> = runs
        .into_iter()
        .map(|mut runs| {
            runs.sort_by_key(|m| m.wall);
            runs.swap_remove(runs.len() / 2)
        })
        .collect();
    for (host, run) in hosts.iter().zip(&medians) {
        report(host.name, run);
    }
    let rust = &medians[0];
    for (host, run) in hosts.iter().zip(&medians).skip(1) {
        println!(
            "{} / rust: wall {:.2}x, CPU {:.2}x, peak RSS {:.2}x; records {}",
            host.name.split(':').next().unwrap_or(host.name),
            run.wall.as_secs_f64() / rust.wall.as_secs_f64(),
            run.cpu.as_secs_f64() / rust.cpu.as_secs_f64(),
            run.peak_rss_kib as f64 / rust.peak_rss_kib as f64,
            same_records(rust, run)
        );
    }
    Ok(())
}

/// "the same" or how they differ, as multisets of records.
fn same_records(expected: &Measurement, got: &Measurement) -> String {
    if expected.record_hashes == got.record_hashes {
        return format!("the same ({})", got.records);
    }
    let missing = difference(&expected.record_hashes, &got.record_hashes);
    let extra = difference(&got.record_hashes, &expected.record_hashes);
    format!("DIFFER: {missing} missing, {extra} extra")
}

/// How many of sorted `a` are not matched in sorted `b`.
fn difference(a: &[u64], b: &[u64]) -> usize {
    let (mut i, mut j, mut unmatched) = (0, 0, 0);
    while i < a.len() {
        if j < b.len() && a[i] == b[j] {
            i += 1;
            j += 1;
        } else if j < b.len() && b[j] < a[i] {
            j += 1;
        } else {
            unmatched += 1;
            i += 1;
        }
    }
    unmatched
}

fn path(p: &Path) -> String {
    p.display().to_string()
}
