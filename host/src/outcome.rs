//! How a run ended, and the host's own reports: the TRACE ERROR when the
//! component could not run or crashed, and the final flush of the output.

use crate::limits::LimitExceeded;
use crate::messages::{self, FailureType, StreamDescriptor};
use crate::output::MessageWriter;
use crate::runtime::{CallError, CommandResult};

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The command ran to the end (a `check` that found a bad config included).
    Completed,
    /// The command failed and a TRACE ERROR on the output says why.
    CommandFailed,
    /// The component could not be run or it crashed; the host printed a
    /// TRACE ERROR (system_error).
    HostFailed,
    /// The output could not be written (e.g. the reader went away).
    OutputClosed,
}

impl Outcome {
    pub fn exit_code(self) -> u8 {
        match self {
            Self::Completed => 0,
            Self::CommandFailed | Self::HostFailed | Self::OutputClosed => 1,
        }
    }
}

pub fn finish(output: MessageWriter, result: Result<CommandResult, CallError>) -> Outcome {
    finish_stream(output, result, None)
}

/// Like `finish`; a TRACE ERROR of the host's names `stream`, if given.
pub fn finish_stream(
    mut output: MessageWriter,
    result: Result<CommandResult, CallError>,
    stream: Option<StreamDescriptor<'_>>,
) -> Outcome {
    let outcome = match result {
        Ok(Ok(())) => Outcome::Completed,
        Ok(Err(_)) => Outcome::CommandFailed,
        Err(CallError::OutputClosed(error)) => {
            eprintln!("host: stopped: cannot write messages: {error}");
            return Outcome::OutputClosed;
        }
        Err(error) => {
            return report_host_failure_for(output, &message(&error), &error.detail(), stream)
        }
    };
    flush(&mut output).unwrap_or(outcome)
}

/// What the command line says of a failed call: a limit's message names
/// the flag that raises it, so an operator knows what to change.
fn message(error: &CallError) -> String {
    let flag = match error {
        CallError::Limit {
            limit: LimitExceeded::Memory { .. },
            ..
        } => "--max-memory-mib",
        CallError::Limit {
            limit: LimitExceeded::Cpu { .. },
            ..
        } => "--cpu-deadline-secs",
        other => return other.to_string(),
    };
    format!("{error} ({flag})")
}

pub fn report_host_failure(output: MessageWriter, message: &str, detail: &str) -> Outcome {
    report_host_failure_for(output, message, detail, None)
}

fn report_host_failure_for(
    mut output: MessageWriter,
    message: &str,
    detail: &str,
    stream: Option<StreamDescriptor<'_>>,
) -> Outcome {
    match stream {
        Some(stream) => eprintln!("host: stream `{}`: {message}", stream.name),
        None => eprintln!("host: {message}"),
    }
    let line = messages::stream_trace_error(message, detail, FailureType::SystemError, stream);
    write_line(&mut output, &line).unwrap_or(Outcome::HostFailed)
}

/// `Some(OutputClosed)` if the line could not be written.
pub fn write_line(output: &mut MessageWriter, line: &str) -> Option<Outcome> {
    match output.emit(line) {
        Ok(()) => flush(output),
        Err(error) => {
            eprintln!("host: cannot write messages: {error}");
            Some(Outcome::OutputClosed)
        }
    }
}

/// `Some(OutputClosed)` if the final flush failed.
pub fn flush(output: &mut MessageWriter) -> Option<Outcome> {
    match output.flush() {
        Ok(()) => None,
        Err(error) => {
            eprintln!("host: cannot write messages: {error}");
            Some(Outcome::OutputClosed)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn limit(limit: LimitExceeded) -> CallError {
        CallError::Limit {
            limit,
            detail: String::new(),
        }
    }

    /// The library's errors name limits; the command line adds its flags.
    #[test]
    fn a_limit_s_message_names_the_flag_that_raises_it() {
        assert_eq!(
            message(&limit(LimitExceeded::Memory { mib: 48 })),
            "the connector exceeded the memory limit of 48 MiB (--max-memory-mib)"
        );
        let cpu = LimitExceeded::Cpu {
            limit: Duration::from_secs(1),
        };
        assert_eq!(
            message(&limit(cpu)),
            "the connector exceeded the CPU deadline of 1 s for one call (--cpu-deadline-secs)"
        );
        let table = LimitExceeded::Table { elements: 10 };
        assert_eq!(message(&limit(table.clone())), table.to_string(), "no flag");
    }
}
