//! The rate-limited scenario: the stand-in enforces Stigg's limits (a sliding
//! window per operation, 429 without `Retry-After`) in windows of 60 s × scale,
//! and the connector is told the same limits as calls a minute (limit / scale),
//! at share 1.0 and at the default 0.5.
//!
//! The bound is how long the calls a read made take at the pace it is allowed:
//! for each operation, its calls / (share × limit / scale a minute), the largest
//! of them. The pacer lets a second's worth go at once, so a read can beat the
//! bound by about a second.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::{json, Map, Value};

use crate::fixture::Fixture;

/// The host's command line for a read of `dir`'s config and catalog.
pub type WasmRead<'a> = &'a dyn Fn(&Path, &[&str]) -> (PathBuf, Vec<String>);

pub fn run(customers: usize, scale: f64, wasm_read: WasmRead<'_>) -> Result<()> {
    println!();
    println!(
        "rate limited: Stigg's limits per {:.0} s window (scale {scale}), {customers} customers:",
        60.0 * scale
    );
    println!(
        "{:<34} {:>8} {:>7} {:>8} {:>10} {:>9} {:>6}",
        "run", "records", "wall s", "bound s", "wall/bound", "requests", "429s"
    );
    for share in [1.0, 0.5] {
        // A stand-in of its own: the previous read's calls stay in its windows.
        let fixture = Fixture::start_with(customers, &["--rate-limit-scale", &scale.to_string()])?;
        // The connector's own table (Stigg's limits), over the stand-in's window.
        fixture.write_config(json!({
            "rate_limit_share": share,
            "rate_limit_window_seconds": (60.0 * scale).round() as u64,
        }))?;
        let (program, args) = wasm_read(fixture.dir(), &[]);
        let measured = fixture.measure(&program, &args)?;
        let stats = fixture.stats()?;
        let served = stats["byRootField"]
            .as_object()
            .context("stats.byRootField")?;
        let bound_s = bound_seconds(served, share, scale);
        let refused = stats["rateLimited"].as_u64().context("stats.rateLimited")?;
        println!(
            "{:<34} {:>8} {:>7.2} {:>8.2} {:>9.2}x {:>9} {:>6}",
            format!("wasm, share {share}"),
            measured.records,
            measured.wall.as_secs_f64(),
            bound_s,
            measured.wall.as_secs_f64() / bound_s,
            measured.requests,
            refused
        );
        let calls: Vec<String> = served.iter().map(|(op, n)| format!("{op} {n}")).collect();
        println!("  calls: {}", calls.join(", "));
    }
    Ok(())
}

/// The largest of each operation's calls over its allowed pace, in seconds.
fn bound_seconds(served: &Map<String, Value>, share: f64, scale: f64) -> f64 {
    let limits = &stigg::STIGG.rate_limits;
    served
        .iter()
        .map(|(op, calls)| {
            let per_minute = share * f64::from(limits.of(op)) / scale;
            calls.as_f64().unwrap_or(0.0) / per_minute * 60.0
        })
        .fold(0.0, f64::max)
}
