//! The stand-in a benchmark reads from (a process of its own), the config and
//! catalog that point at it, and what a child process read and cost.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

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

/// What one child process read and cost.
pub struct Measurement {
    pub wall: Duration,
    pub cpu: Duration,
    pub peak_rss_kib: u64,
    pub first_record: Option<Duration>,
    pub records: u64,
    /// A hash of each record (`emitted_at` aside), sorted: equal for equal multisets.
    pub record_hashes: Vec<u64>,
    pub requests: u64,
}

/// A stand-in process and the config and catalog files that point at it.
pub struct Fixture {
    standin: std::process::Child,
    url: String,
    dir: tempfile_dir::Dir,
}

impl Fixture {
    pub fn start(customers: usize, latency_ms: u64) -> Result<Fixture> {
        Fixture::start_with(customers, &["--latency-ms", &latency_ms.to_string()])
    }

    /// A stand-in started with these extra flags.
    pub fn start_with(customers: usize, flags: &[&str]) -> Result<Fixture> {
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
    pub fn write_config(&self, extra: Value) -> Result<()> {
        let mut config = json!({ "api_key": API_KEY, "base_url": self.url, "page_size": 50 });
        if let (Some(config), Value::Object(extra)) = (config.as_object_mut(), extra) {
            config.extend(extra);
        }
        std::fs::write(self.dir.path().join("config.json"), config.to_string())?;
        Ok(())
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Requests the stand-in has seen, from its admin endpoint.
    pub fn requests(&self) -> Result<u64> {
        self.stats()?["requests"].as_u64().context("stats.requests")
    }

    /// The stand-in's `/_admin/stats`.
    pub fn stats(&self) -> Result<Value> {
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

    pub fn measure(&self, program: &Path, args: &[String]) -> Result<Measurement> {
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

/// A read of `dir`'s config and catalog.
pub fn read_args(dir: &Path) -> Vec<String> {
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
