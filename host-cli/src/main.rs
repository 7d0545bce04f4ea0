//! `host`: the command line over the `host` library (`cli.rs` parses it;
//! the library does the rest).

mod cli;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use cli::{Cli, InspectArgs, TopCommand};
use host::signals::Stop;
use host::{ComponentCache, ComponentSource, MessageWriter};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match &cli.command {
        TopCommand::Run(args) => {
            let output = MessageWriter::stdout();
            let stop = Stop::on_signals(&output).unwrap_or_else(|error| {
                eprintln!("host: cannot handle SIGTERM and SIGINT: {error}");
                Stop::new(&output)
            });
            let outcome = host::run(
                ComponentSource::File(&args.component),
                &args.command.command(),
                &args.options(),
                output,
            );
            stop.exit_code(outcome.exit_code())
        }
        TopCommand::Inspect(args) => inspect(args),
    };
    ExitCode::from(code)
}

fn inspect(args: &InspectArgs) -> u8 {
    let cache = ComponentCache::for_policy(&args.cache.policy());
    let log = |message: &str| {
        if args.verbose {
            eprintln!("host: {message}");
        }
    };
    let source = ComponentSource::File(&args.component);
    let inventory = match host::inspect::inspect(source, cache.as_ref(), &log) {
        Ok(inventory) => inventory,
        Err(error) => {
            eprintln!("host: cannot inspect the component: {error:#}");
            return 1;
        }
    };
    let text = if args.json {
        match serde_json::to_string_pretty(&inventory) {
            Ok(json) => json + "\n",
            Err(error) => {
                eprintln!("host: {error}");
                return 1;
            }
        }
    } else {
        inventory.to_text()
    };
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Ok(()) => 0,
        Err(error) => {
            eprintln!("host: cannot write to stdout: {error}");
            1
        }
    }
}
