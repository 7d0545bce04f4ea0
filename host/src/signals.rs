//! SIGTERM and SIGINT: a runner stopping the host gets whole lines, then a
//! TRACE ERROR saying so, then exit status 128 + the signal. Without this a
//! signal kills the process wherever it is, mid-line if stdout is slow.

use std::time::Duration;

use crate::messages::{self, FailureType};
use crate::output::MessageWriter;

/// How long the batch being written may take to reach a slow reader once
/// a signal came: within the 10 s a container runtime waits by default
/// before it kills.
pub const GRACE: Duration = Duration::from_secs(5);

/// The TRACE ERROR a signal ends a run with.
pub fn stopped_message(signal: &str) -> String {
    let message = format!("the host was stopped by {signal} before the command finished");
    messages::trace_error(&message, &message, FailureType::TransientError)
}

/// How a binary's `main` ends once the run is over: with the run's exit
/// code, unless a signal came first.
pub struct Stop {
    output: MessageWriter,
}

impl Stop {
    /// No signal handling: the platform's default applies.
    pub fn new(output: &MessageWriter) -> Stop {
        Stop {
            output: output.share(),
        }
    }

    /// Handles SIGTERM and SIGINT on a thread of their own from now on:
    /// the output is closed with [`stopped_message`] and the process exits
    /// with 128 + the signal.
    #[cfg(unix)]
    pub fn on_signals(output: &MessageWriter) -> std::io::Result<Stop> {
        use signal_hook::consts::{SIGINT, SIGTERM};
        use signal_hook::iterator::Signals;

        let mut signals = Signals::new([SIGTERM, SIGINT])?;
        let handler = output.share();
        std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                if let Some(signal) = signals.forever().next() {
                    let name = if signal == SIGINT {
                        "SIGINT"
                    } else {
                        "SIGTERM"
                    };
                    if handler.close_with(&stopped_message(name), GRACE) {
                        std::process::exit(128 + signal);
                    }
                }
            })?;
        Ok(Stop::new(output))
    }

    #[cfg(not(unix))]
    pub fn on_signals(output: &MessageWriter) -> std::io::Result<Stop> {
        Ok(Stop::new(output))
    }

    /// `code`, unless a signal came before the run ended: then its handler
    /// is ending the output and the process, and this waits for it.
    pub fn exit_code(&self, code: u8) -> u8 {
        if !self.output.end() {
            loop {
                std::thread::park();
            }
        }
        code
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stop_is_a_transient_trace_error() {
        let line = stopped_message("SIGTERM");
        let message: serde_json::Value = serde_json::from_str(&line).expect("JSON");
        let error = &message["trace"]["error"];
        assert_eq!(error["failure_type"], "transient_error");
        assert_eq!(
            error["message"],
            "the host was stopped by SIGTERM before the command finished"
        );
    }
}
