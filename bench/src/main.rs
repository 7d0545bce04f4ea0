//! `just bench`: the real host running stigg.wasm against the stand-in, beside the
//! same connector core built natively, and the figures that compare them.
//!
//!     stigg-bench [--customers N] [--latency-ms MS] [--repeat N] [--no-scale]
//!                 [--no-hosts] [--rate-limit-scale S]
//!
//! The sandbox's cost is measured at no latency (where it shows most); concurrency
//! at `--latency-ms` (default 50) on a tenth of the customers, where waiting dominates.
//! Then the same read through the Rust, Python and JS hosts (see `hosts`).
//! Pacing against a stand-in enforcing Stigg's rate limits in windows of 60 s × S
//! (default 0.25; 0 skips it): see `rate_limited`.
//!
//! Each run is a child process; CPU time and peak RSS come from wait4(2). The
//! stand-in runs as a process of its own: Linux keeps a parent's memory high-water
//! mark in a child's `ru_maxrss` across exec, so a big in-process stand-in would
//! inflate every figure.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use fixture::{read_args, Fixture, Measurement};

mod fixture;
mod hosts;
mod rate_limited;

const USAGE: &str = "stigg-bench [--customers N] [--latency-ms MS] [--repeat N] [--no-scale] \
                     [--no-hosts] [--rate-limit-scale S]";

struct Options {
    customers: usize,
    latency_ms: u64,
    scale: bool,
    /// Runs of each side for the wasm/native comparison.
    repeat: usize,
    /// The rate-limited scenario's window, as a fraction of a minute; 0 skips it.
    rate_limit_scale: f64,
    /// Whether to compare the Rust, Python and JS hosts.
    hosts: bool,
}

fn main() -> Result<()> {
    let options = parse_args()?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let host = root.join("target/release/host");
    let native = root.join("target/release/native-read");
    let wasm = root.join("target/wasm32-wasip2/component/stigg.wasm");
    for path in [&host, &native, &wasm] {
        if !path.exists() {
            bail!(
                "{} is missing: run `just bench`, which builds it",
                path.display()
            );
        }
    }
    let wasm_read = |dir: &Path, extra: &[&str]| {
        // The stand-in listens on 127.0.0.1.
        let mut args = vec![
            "run".to_owned(),
            "--allow-private-network".to_owned(),
            wasm.display().to_string(),
        ];
        args.extend(read_args(dir));
        args.extend(extra.iter().map(|s| s.to_string()));
        (host.clone(), args)
    };
    // Compile once into the host's cache: the reads below measure warm starts.
    Command::new(&host)
        .args(["run", &wasm.display().to_string(), "spec"])
        .output()?;
    let host_help =
        String::from_utf8_lossy(&Command::new(&host).args(["run", "--help"]).output()?.stdout)
            .into_owned();

    println!(
        "# stigg-bench: {} customers, 2 subscriptions each, page size 50",
        options.customers
    );
    println!("wasm size: {} KiB", std::fs::metadata(&wasm)?.len() / 1024);
    println!();
    println!(
        "{:<34} {:>8} {:>7} {:>10} {:>7} {:>9} {:>12} {:>9}",
        "run", "records", "wall s", "records/s", "CPU s", "RSS MiB", "1st rec ms", "requests"
    );

    let (wasm_run, native_run) = {
        let fixture = Fixture::start(options.customers, 0)?;
        // One request at a time, like the native run: the ratio is the sandbox's
        // cost alone. Runs alternate, and each side's run of median CPU time is
        // shown: a shared machine's noise then hits both alike.
        let (program, args) = wasm_read(fixture.dir(), &["--concurrency", "1"]);
        let (mut wasm_runs, mut native_runs) = (Vec::new(), Vec::new());
        for _ in 0..options.repeat {
            wasm_runs.push(fixture.measure(&program, &args)?);
            native_runs.push(fixture.measure(&native, &read_args(fixture.dir()))?);
        }
        let (wasm_run, native_run) = (median_by_cpu(wasm_runs), median_by_cpu(native_runs));
        report("wasm: host + stigg.wasm", &wasm_run.median);
        report("native: same core, no sandbox", &native_run.median);
        println!();
        for (name, runs) in [("wasm", &wasm_run), ("native", &native_run)] {
            println!(
                "{name} CPU s over {} runs: min {:.3}, median {:.3}, max {:.3}",
                options.repeat,
                runs.min.as_secs_f64(),
                runs.median.cpu.as_secs_f64(),
                runs.max.as_secs_f64()
            );
        }
        (wasm_run.median, native_run.median)
    };
    println!(
        "wasm/native (medians): CPU {:.2}x, wall {:.2}x, peak RSS {:.2}x",
        wasm_run.cpu.as_secs_f64() / native_run.cpu.as_secs_f64(),
        wasm_run.wall.as_secs_f64() / native_run.wall.as_secs_f64(),
        wasm_run.peak_rss_kib as f64 / native_run.peak_rss_kib as f64
    );

    if host_help.contains("--no-cache") {
        let cold = median_wall(
            &host,
            &["run", "--no-cache", &wasm.display().to_string(), "spec"],
        )?;
        let warm_args = ["run", &wasm.display().to_string(), "spec"];
        Command::new(&host).args(warm_args).output()?; // fills the cache
        let warm = median_wall(&host, &warm_args)?;
        println!(
            "spec start: cold (no cache) {:.0} ms, warm (cached) {:.0} ms",
            ms(cold),
            ms(warm)
        );
    }

    if options.scale {
        println!();
        println!("memory against sync size (wasm, both streams):");
        let mut rss = Vec::new();
        for customers in [2_000, 200_000] {
            let fixture = Fixture::start(customers, 0)?;
            let (program, args) = wasm_read(fixture.dir(), &[]);
            let run = fixture.measure(&program, &args)?;
            report(&format!("wasm, {customers} customers"), &run);
            rss.push(run.peak_rss_kib);
        }
        println!(
            "peak RSS 200k / 2k customers: {:.2}x",
            rss[1] as f64 / rss[0] as f64
        );
    }

    if options.latency_ms > 0 {
        let customers = (options.customers / 10).max(1);
        println!();
        println!(
            "concurrency at {} ms latency per request, {customers} customers:",
            options.latency_ms
        );
        let fixture = Fixture::start(customers, options.latency_ms)?;
        let (program, args) = wasm_read(fixture.dir(), &["--concurrency", "1"]);
        let one = fixture.measure(&program, &args)?;
        report("wasm, --concurrency 1", &one);
        let (program, args) = wasm_read(fixture.dir(), &[]);
        let default = fixture.measure(&program, &args)?;
        report("wasm, default concurrency", &default);
        println!(
            "default concurrency is {:.2}x faster than 1",
            one.wall.as_secs_f64() / default.wall.as_secs_f64()
        );
    }

    if options.hosts {
        hosts::run(&root, options.customers)?;
    }

    if options.rate_limit_scale > 0.0 {
        rate_limited::run(options.customers, options.rate_limit_scale, &wasm_read)?;
    }
    Ok(())
}

fn parse_args() -> Result<Options> {
    let mut options = Options {
        customers: 20_000,
        latency_ms: 50,
        scale: true,
        repeat: 5,
        rate_limit_scale: 0.25,
        hosts: true,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().with_context(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--customers" => options.customers = value("--customers")?.parse()?,
            "--latency-ms" => options.latency_ms = value("--latency-ms")?.parse()?,
            "--no-scale" => options.scale = false,
            "--no-hosts" => options.hosts = false,
            "--repeat" => options.repeat = value("--repeat")?.parse::<usize>()?.max(1),
            "--rate-limit-scale" => {
                options.rate_limit_scale = value("--rate-limit-scale")?.parse()?;
                if !(options.rate_limit_scale >= 0.0 && options.rate_limit_scale.is_finite()) {
                    bail!("--rate-limit-scale needs a number of 0 or more");
                }
            }
            "-h" | "--help" => {
                println!("usage: {USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other}; usage: {USAGE}"),
        }
    }
    Ok(options)
}

/// Several runs of one program: the one of median CPU time, and the extremes.
struct Runs {
    median: Measurement,
    min: Duration,
    max: Duration,
}

fn median_by_cpu(mut runs: Vec<Measurement>) -> Runs {
    runs.sort_by_key(|m| m.cpu);
    let (min, max) = (runs[0].cpu, runs[runs.len() - 1].cpu);
    let median = runs.swap_remove(runs.len() / 2);
    Runs { median, min, max }
}

fn median_wall(program: &Path, args: &[&str]) -> Result<Duration> {
    let mut times = Vec::new();
    for _ in 0..7 {
        let started = Instant::now();
        let out = Command::new(program).args(args).output()?;
        if !out.status.success() {
            bail!("{} {args:?} failed", program.display());
        }
        times.push(started.elapsed());
    }
    times.sort();
    Ok(times[times.len() / 2])
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn report(name: &str, m: &Measurement) {
    println!(
        "{:<34} {:>8} {:>7.2} {:>10.0} {:>7.2} {:>9.1} {:>12} {:>9}",
        name,
        m.records,
        m.wall.as_secs_f64(),
        m.records as f64 / m.wall.as_secs_f64(),
        m.cpu.as_secs_f64(),
        m.peak_rss_kib as f64 / 1024.0,
        m.first_record
            .map_or("-".into(), |d| format!("{:.0}", ms(d))),
        m.requests
    );
}
