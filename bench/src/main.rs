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

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

mod hosts;
mod rate_limited;

const API_KEY: &str = "bench-api-key-0123456789";
/// The columns `subscriptions` had before it carried its money (0.3.0), so
/// figures compare across versions; the money's nested lists are served by
/// the stand-in at a cost that would dominate the measurement.
const SUBSCRIPTION_COLUMNS: &[&str] = &[
    "id",
    "subscriptionId",
    "refId",
    "environmentId",
    "status",
    "pricingType",
    "paymentCollection",
    "billingPeriod",
    "cancelReason",
    "startDate",
    "endDate",
    "createdAt",
    "cancellationDate",
    "trialEndDate",
    "effectiveEndDate",
    "billingCycleAnchor",
    "currentBillingPeriodStart",
    "currentBillingPeriodEnd",
    "billingId",
    "billingLinkUrl",
    "crmId",
    "crmLinkUrl",
    "salesforceId",
    "customerId",
    "payingCustomerId",
    "resourceId",
    "wasInTrial",
    "budgetExceeded",
    "additionalMetaData",
    "plan",
];

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

/// What one child process cost.
struct Measurement {
    wall: Duration,
    cpu: Duration,
    peak_rss_kib: u64,
    first_record: Option<Duration>,
    records: u64,
    /// A hash of each record (`emitted_at` aside), sorted: equal for equal multisets.
    record_hashes: Vec<u64>,
    requests: u64,
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
            other => bail!("unknown argument {other}; usage: {USAGE}"),
        }
    }
    Ok(options)
}

/// A stand-in process and the config and catalog files that point at it.
pub(crate) struct Fixture {
    standin: std::process::Child,
    url: String,
    dir: tempfile_dir::Dir,
}

impl Fixture {
    fn start(customers: usize, latency_ms: u64) -> Result<Fixture> {
        Fixture::start_with(customers, &["--latency-ms", &latency_ms.to_string()])
    }

    /// A stand-in started with these extra flags.
    fn start_with(customers: usize, flags: &[&str]) -> Result<Fixture> {
        let program = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/stigg-standin");
        let mut standin = Command::new(&program)
            .args([
                "--port",
                "0",
                "--api-key",
                API_KEY,
                "--subscriptions-per-customer",
                "2",
            ])
            .args(["--customers", &customers.to_string()])
            .args(flags)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", program.display()))?;
        let mut first_line = String::new();
        BufReader::new(standin.stdout.take().context("stand-in stdout")?)
            .read_line(&mut first_line)?;
        let url = first_line
            .trim()
            .strip_prefix("listening on ")
            .context("stand-in did not start")?
            .to_owned();
        let dir = tempfile_dir::Dir::new()?;
        let streams: Vec<_> = [("customers", None), ("subscriptions", Some(SUBSCRIPTION_COLUMNS))]
            .iter()
            .map(|(name, columns)| {
                let mut stream = json!({ "name": name });
                if let Some(columns) = columns {
                    let properties: serde_json::Map<String, serde_json::Value> =
                        columns.iter().map(|c| (c.to_string(), json!({}))).collect();
                    stream["json_schema"] = json!({ "properties": properties });
                }
                json!({ "stream": stream, "sync_mode": "full_refresh", "destination_sync_mode": "overwrite" })
            })
            .collect();
        std::fs::write(
            dir.path().join("catalog.json"),
            json!({ "streams": streams }).to_string(),
        )?;
        let fixture = Fixture { standin, url, dir };
        // Pacing off: the bench measures the connector, not Stigg's limits.
        fixture.write_config(json!({ "rate_limits": { "*": 6_000_000 } }))?;
        Ok(fixture)
    }

    /// Writes config.json: the stand-in's URL and key, pages of 50, and `extra`.
    fn write_config(&self, extra: Value) -> Result<()> {
        let mut config = json!({ "api_key": API_KEY, "base_url": self.url, "page_size": 50 });
        if let (Some(config), Value::Object(extra)) = (config.as_object_mut(), extra) {
            config.extend(extra);
        }
        std::fs::write(self.dir.path().join("config.json"), config.to_string())?;
        Ok(())
    }

    fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Requests the stand-in has seen, from its admin endpoint.
    fn requests(&self) -> Result<u64> {
        self.stats()?["requests"].as_u64().context("stats.requests")
    }

    /// The stand-in's `/_admin/stats`.
    fn stats(&self) -> Result<Value> {
        let address = self
            .url
            .trim_start_matches("http://")
            .split('/')
            .next()
            .context("stand-in address")?;
        let mut stream = TcpStream::connect(address)?;
        write!(
            stream,
            "GET /_admin/stats HTTP/1.0\r\nHost: {address}\r\n\r\n"
        )?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        let body = response
            .split("\r\n\r\n")
            .nth(1)
            .context("stats response")?;
        Ok(serde_json::from_str(body)?)
    }

    fn measure(&self, program: &Path, args: &[String]) -> Result<Measurement> {
        let before = self.requests()?;
        let started = Instant::now();
        let mut child = Command::new(program)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdout = child.stdout.take().context("child stdout")?;
        let (mut records, mut first_record, mut record_hashes) = (0u64, None, Vec::new());
        for line in BufReader::new(stdout).lines() {
            let line = line?;
            if line.contains(r#""type":"RECORD""#) {
                records += 1;
                first_record.get_or_insert_with(|| started.elapsed());
                record_hashes.push(record_hash(&line));
            }
        }
        record_hashes.sort_unstable();
        let (status, usage) = wait4(child.id())?;
        let wall = started.elapsed();
        if status != 0 {
            bail!("{} exited with status {status}", program.display());
        }
        let requests = self.requests()? - before;
        Ok(Measurement {
            wall,
            cpu: usage.0,
            peak_rss_kib: usage.1,
            first_record,
            records,
            record_hashes,
            requests,
        })
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = self.standin.kill();
        let _ = self.standin.wait();
    }
}

fn read_args(dir: &Path) -> Vec<String> {
    let path = |name: &str| dir.join(name).display().to_string();
    vec![
        "read".into(),
        "--config".into(),
        path("config.json"),
        "--catalog".into(),
        path("catalog.json"),
    ]
}

/// A hash of a RECORD line without its `emitted_at` (a clock). The component
/// sorts keys, so `emitted_at` follows `data`: the last one is the record's.
fn record_hash(line: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    match line.rfind(r#""emitted_at":"#) {
        Some(at) => {
            let rest = &line[at + r#""emitted_at":"#.len()..];
            line[..at].hash(&mut hasher);
            rest.trim_start_matches(|c: char| c.is_ascii_digit())
                .hash(&mut hasher);
        }
        None => line.hash(&mut hasher),
    }
    hasher.finish()
}

/// Reaps the child and returns its exit status, CPU time (user + sys) and peak RSS (KiB).
fn wait4(pid: u32) -> Result<(i32, (Duration, u64))> {
    let mut status = 0;
    // SAFETY: rusage is plain data, zero is a valid value; wait4 fills it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our own child, not yet reaped (we never called wait on it).
    let reaped = unsafe { libc::wait4(pid as libc::pid_t, &mut status, 0, &mut usage) };
    if reaped < 0 {
        bail!("wait4: {}", std::io::Error::last_os_error());
    }
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    Ok((
        code,
        (
            tv(usage.ru_utime) + tv(usage.ru_stime),
            usage.ru_maxrss as u64,
        ),
    ))
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

/// A temporary directory removed on drop (std only, to keep the bench's dependencies few).
mod tempfile_dir {
    use std::path::{Path, PathBuf};

    pub struct Dir(PathBuf);

    impl Dir {
        pub fn new() -> std::io::Result<Dir> {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos();
            let path =
                std::env::temp_dir().join(format!("stigg-bench-{}-{nanos}", std::process::id()));
            std::fs::create_dir_all(&path)?;
            Ok(Dir(path))
        }

        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
