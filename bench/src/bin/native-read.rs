//! The connector core built natively, over the host's own HTTP capability and
//! output writer: the same work as `host run stigg.wasm read` minus the sandbox.
//!
//!     native-read --config F --catalog F [--state F] [--concurrency N]

use std::num::NonZeroUsize;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use host::{AllowList, HttpClient, Limits, MessageWriter, NetworkPolicy};
use stigg::io::{Http, HttpError, Method, Request, Response, Sink};

struct NativeHttp(HttpClient);

impl Http for NativeHttp {
    fn send(&mut self, request: &Request) -> Result<Response, HttpError> {
        from_host(self.0.send(&to_host(request)))
    }

    fn send_all(&mut self, requests: &[Request]) -> Vec<Result<Response, HttpError>> {
        let requests: Vec<host::Request> = requests.iter().map(to_host).collect();
        self.0
            .send_all(&requests)
            .into_iter()
            .map(from_host)
            .collect()
    }
}

fn to_host(request: &Request) -> host::Request {
    host::Request {
        method: match request.method {
            Method::Get => host::Method::Get,
            Method::Post => host::Method::Post,
        },
        url: request.url.clone(),
        headers: request.headers.clone(),
        body: request.body.clone(),
    }
}

fn from_host(result: Result<host::Response, host::HttpError>) -> Result<Response, HttpError> {
    match result {
        Ok(r) => Ok(Response {
            status: r.status,
            headers: r.headers,
            body: r.body,
        }),
        Err(host::HttpError::Denied(m)) => Err(HttpError::Denied(m)),
        Err(host::HttpError::Timeout(m)) => Err(HttpError::Timeout(m)),
        Err(host::HttpError::Transport(m)) => Err(HttpError::Transport(m)),
        Err(host::HttpError::TooLarge(cap)) => Err(HttpError::TooLarge(cap)),
    }
}

struct Output(MessageWriter);

impl Sink for Output {
    fn emit(&mut self, message: &str) {
        if self.0.emit(message).is_err() {
            std::process::exit(1);
        }
    }
}

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
    let mut http = NativeHttp(client);
    let mut out = Output(MessageWriter::stdout());
    let outcome = stigg::read(&mut http, &mut out, &config, &catalog, state.as_deref());
    out.0.flush().context("flushing stdout")?;
    Ok(if outcome.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
