//! The connector core built natively, over the host's own HTTP capability and
//! output writer, its messages batched as the component batches them: the same
//! work as `host run stigg.wasm read` minus the sandbox.
//!
//!     native-read --config F --catalog F [--state F] [--concurrency N]

use std::num::NonZeroUsize;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use graphql_source::io::{Lines, BATCH_BYTES};
use host::{AllowList, HttpClient, Limits, MessageWriter, NetworkPolicy};

fn arg(args: &[String], flag: &str) -> Option<String> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn main() -> Result<ExitCode> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(config), Some(catalog)) = (arg(&args, "--config"), arg(&args, "--catalog")) else {
        bail!("usage: native-read --config F --catalog F [--state F]");
    };
    let config = std::fs::read_to_string(&config).context("reading the config")?;
    let catalog = std::fs::read_to_string(&catalog).context("reading the catalog")?;
    let state = arg(&args, "--state")
        .map(std::fs::read_to_string)
        .transpose()
        .context("reading the state")?;
    let origins = stigg::allowed_origins(&config).unwrap_or_default();
    let allow = AllowList::parse(&origins)
        .map_err(|(origin, e)| anyhow::anyhow!("origin {origin}: {e}"))?;
    let concurrency = arg(&args, "--concurrency")
        .map(|n| n.parse::<NonZeroUsize>())
        .transpose()
        .context("--concurrency must be a positive number")?
        .unwrap_or(NonZeroUsize::MIN);
    // The bench reads from a stand-in on 127.0.0.1.
    let client = HttpClient::new(allow, &Limits::default(), NetworkPolicy::PERMISSIVE)
        .with_max_in_flight(concurrency);
    let mut http = client;
    let mut writer = MessageWriter::stdout();
    // The component's batches: a page or so of records, or up to any other message.
    let mut out = Lines::new(BATCH_BYTES, |lines: &str, _| {
        if writer.emit(lines).is_err() {
            std::process::exit(1);
        }
    });
    let outcome = stigg::read(&mut http, &mut out, &config, &catalog, state.as_deref());
    out.flush();
    drop(out);
    writer.flush().context("flushing stdout")?;
    Ok(if outcome.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
