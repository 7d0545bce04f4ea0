use std::process::ExitCode;

use clap::Parser;
use host::cli::{Cli, TopCommand};
use host::{ComponentSource, MessageWriter};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match &cli.command {
        TopCommand::Run(args) => host::run(
            ComponentSource::File(&args.component),
            &args.command(),
            &args.options(),
            MessageWriter::stdout(),
        ),
    };
    ExitCode::from(outcome.exit_code())
}
