//! `stigg-standin`: serves the Stigg stand-in until killed.
//!
//! Prints `listening on http://127.0.0.1:PORT/graphql` as its first line.

use std::io::Write as _;

use clap::{Parser, ValueEnum};
use stigg_standin::{BadKeyMode, FaultRule, RateLimitConfig, Standin, StandinConfig};

#[derive(Parser, Debug)]
#[command(
    name = "stigg-standin",
    about = "A stand-in for Stigg's GraphQL API, for tests and demos"
)]
struct Cli {
    /// Port on 127.0.0.1; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// The X-API-KEY value to accept.
    #[arg(long, env = "STIGG_STANDIN_API_KEY", default_value = "standin-api-key")]
    api_key: String,
    #[arg(long, default_value_t = 100)]
    customers: usize,
    #[arg(long, default_value_t = 2)]
    subscriptions_per_customer: usize,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Delay added to every /graphql request.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Largest accepted `first`.
    #[arg(long, default_value_t = 1000)]
    max_page_size: usize,
    /// How a bad API key is answered.
    #[arg(long, value_enum, default_value_t = BadKey::Http401)]
    bad_key: BadKey,
    /// A fault rule, repeatable: `every=3,root_field=customers,status=429,retry_after=2`,
    /// `on_request=5,drop`, `every=4,truncate`, `on_request=2,graphql_error=Boom,code=INTERNAL_SERVER_ERROR`,
    /// `every=7,data_null`, `every=2,latency_ms=300`, `on_request=3,repeat_cursor`,
    /// `on_request=4,no_data_key`, or the same as JSON.
    #[arg(long = "fault", value_parser = parse_fault)]
    faults: Vec<FaultRule>,
    /// Enforce Stigg's rate limits (HTTP 429, no Retry-After) in a sliding
    /// window of 60 s × SCALE: 0.1 allows `subscriptions` 1,500 calls per 6 s.
    #[arg(long, value_parser = parse_scale)]
    rate_limit_scale: Option<f64>,
    /// A limit per window over Stigg's, repeatable: `subscriptions=100`, or
    /// `*=100` for every operation not named. Enforces limits (scale 1 unless
    /// --rate-limit-scale says otherwise).
    #[arg(long = "rate-limit", value_parser = parse_limit)]
    rate_limits: Vec<(String, u32)>,
}

fn parse_scale(text: &str) -> Result<f64, String> {
    text.parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0)
        .ok_or_else(|| format!("the scale must be a number above 0, not {text:?}"))
}

fn parse_limit(text: &str) -> Result<(String, u32), String> {
    let (operation, calls) = text
        .split_once('=')
        .ok_or_else(|| format!("expected OPERATION=CALLS, not {text:?}"))?;
    let calls = calls
        .trim()
        .parse::<u32>()
        .map_err(|_| format!("{calls:?} is not a number of calls"))?;
    Ok((operation.trim().to_owned(), calls))
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum BadKey {
    /// HTTP 401 with an UNAUTHENTICATED error.
    Http401,
    /// HTTP 200 with an UNAUTHENTICATED GraphQL error.
    Graphql200,
}

fn parse_fault(spec: &str) -> Result<FaultRule, String> {
    spec.parse()
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let rate_limits =
        (cli.rate_limit_scale.is_some() || !cli.rate_limits.is_empty()).then(|| RateLimitConfig {
            scale: cli.rate_limit_scale.unwrap_or(1.0),
            limits: cli.rate_limits.into_iter().collect(),
        });
    let config = StandinConfig {
        api_key: cli.api_key,
        customers: cli.customers,
        subscriptions_per_customer: cli.subscriptions_per_customer,
        seed: cli.seed,
        bad_key_mode: match cli.bad_key {
            BadKey::Http401 => BadKeyMode::Http401,
            BadKey::Graphql200 => BadKeyMode::GraphqlError200,
        },
        latency_ms: cli.latency_ms,
        max_page_size: cli.max_page_size,
        faults: cli.faults,
        port: cli.port,
        rate_limits,
    };
    let standin = Standin::try_start(config)?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "listening on {}", standin.url())?;
    stdout.flush()?;
    eprintln!(
        "stigg-standin: admin under {}/_admin/, API key {:?}",
        standin.base_url(),
        standin.api_key()
    );
    if let Some(limits) = standin.rate_limits() {
        eprintln!(
            "stigg-standin: rate limits enforced per {:?} window",
            limits.window()
        );
    }
    loop {
        std::thread::park();
    }
}
