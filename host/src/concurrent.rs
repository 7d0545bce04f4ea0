//! `read` with several streams at once (`--concurrency N`, N > 1): the
//! component splits the configured catalog (`split-catalog`: streams that
//! share requests stay together), and up to N component instances read the
//! parts at the same time, one part each.
//!
//! - **Splitting** (`catalog_split`). The parts must hold every stream of
//!   the catalog exactly once (the host checks). Each instance gets its
//!   part, the same config and the whole state (a connector reads only its
//!   own streams' states). A catalog the component returns whole, or a split
//!   that fails the check, is read by one instance, as with
//!   `--concurrency 1`, and the component reports what is wrong with it.
//! - **Instances.** Each has its own store and limits, all from the one
//!   compiled component, and a clone of one HTTP client with the allow-list
//!   the component declared once for the config: together they keep at most
//!   N requests in flight, `send-all` batches included. The memory cap
//!   (`--max-memory-mib`) is per instance, so a read may use up to N times
//!   it; the CPU deadline (`--cpu-deadline-secs`) is per call of each
//!   instance, counted on the thread running it.
//! - **Output.** All instances write through one [`MessageWriter`]: a
//!   batch of messages is written whole under a lock and flushed, so lines
//!   never interleave, and each stream's messages keep their order.
//! - **Failures.** A config the component rejects (its `allowed-origins`
//!   says so) is read by one instance, which reports it once. Otherwise the
//!   first stream starts alone, and the others wait until it has written a
//!   batch ending in RECORDs or a STATE (the config, state and credentials
//!   work) or ended: a bad key or a bad state is then reported once, not
//!   once per stream. An instance whose batch ends in a TRACE ERROR of
//!   `config-error` (the sink says so: the host reads no message text) stops
//!   the read from starting further streams (every one would fail alike);
//!   the ones already reading finish. A trap or a
//!   sandbox limit ends only its own instance, with the host's TRACE ERROR
//!   naming the stream. If the output cannot be written, no further stream
//!   starts and the running ones stop at their next message.
//! - **Exit.** 0 only if every instance's `read` returned Ok.

use std::io;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;

use crate::allowlist::AllowList;
use crate::catalog_split::StreamCatalog;
use crate::http_client::HttpClient;
use crate::options::RunOptions;
use crate::outcome::{self, Outcome};
use crate::output::MessageWriter;
use crate::runtime::{CallError, ConnectorRuntime, Observer, Session};
use crate::transport::Transport;
use connector_io::{FailureType, Kind};

/// Which streams may start.
struct Schedule {
    state: Mutex<ScheduleState>,
    changed: Condvar,
}

struct ScheduleState {
    /// The next stream to start (the first is the lead's).
    next: usize,
    total: usize,
    /// The first stream has shown the read works, or has ended.
    gate_open: bool,
    /// Start no more streams.
    stopped: bool,
}

impl Schedule {
    fn new(total: usize) -> Self {
        Self {
            state: Mutex::new(ScheduleState {
                next: 1,
                total,
                gate_open: false,
                stopped: false,
            }),
            changed: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, ScheduleState> {
        // Nothing panics while holding it; if something did, the counters
        // are still whole.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn open_gate(&self) {
        self.lock().gate_open = true;
        self.changed.notify_all();
    }

    fn stop(&self) {
        self.lock().stopped = true;
        self.changed.notify_all();
    }

    /// Waits until streams other than the first may start; then the next
    /// one to read, if any.
    fn next(&self) -> Option<usize> {
        let mut state = self.lock();
        while !state.gate_open && !state.stopped {
            state = self
                .changed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        if state.stopped || state.next >= state.total {
            return None;
        }
        state.next += 1;
        Some(state.next - 1)
    }
}

/// Watches what an instance's batches end with: the lead's first RECORD or
/// STATE opens the gate; a config error stops new streams.
fn observer(schedule: Arc<Schedule>, lead: bool) -> Observer {
    let mut gate_closed = lead;
    Box::new(move |end: Kind| {
        if gate_closed && matches!(end, Kind::Record | Kind::State) {
            gate_closed = false;
            schedule.open_gate();
        }
        if end == Kind::Error(FailureType::Config) {
            schedule.stop();
        }
    })
}

/// Reads `streams` (from `catalog_split::split_catalog` of `catalog`) with up to
/// `options.concurrency` instances at once.
pub(crate) fn read(
    runtime: &ConnectorRuntime,
    streams: &[StreamCatalog],
    (config, catalog, state): (&str, &str, Option<&str>),
    options: &RunOptions,
    transport: Arc<dyn Transport>,
    mut output: MessageWriter,
) -> Outcome {
    // One client, cloned into every instance: they share the bound on
    // requests in flight.
    let mut http =
        HttpClient::over(AllowList::default(), transport).with_max_in_flight(options.concurrency);
    let mut lead = runtime.session_with(http.clone(), output.share(), &options.limits);
    let allow = match options.origins.resolve(|| lead.declared_origins(config)) {
        Ok((allow, true)) => allow,
        // Every instance would report the bad config: one does, reading
        // the whole catalog as with --concurrency 1.
        Ok((allow, false)) => {
            lead.set_allow_list(allow);
            let result = lead.read(config, catalog, state);
            return outcome::finish(lead.into_output(), result);
        }
        Err(error) => return outcome::finish(lead.into_output(), Err(error)),
    };
    lead.set_allow_list(allow.clone());
    http.set_allow_list(allow);
    let workers = options.concurrency.get().min(streams.len());
    let fanout = Fanout {
        runtime,
        streams,
        config,
        state,
        options,
        http,
        output: output.share(),
        schedule: Arc::new(Schedule::new(streams.len())),
        closed: Mutex::new(None),
    };
    fanout.log(&format!(
        "reading {} streams, up to {workers} at once",
        streams.len()
    ));
    let outcomes = fanout.run(lead, workers);
    let closed = fanout
        .closed
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    if let Some(error) = closed {
        eprintln!("host: stopped: cannot write messages: {error}");
        return Outcome::OutputClosed;
    }
    outcome::flush(&mut output).unwrap_or(worst(outcomes))
}

/// The outcome a read with several ends reports: the worst of them.
fn worst(outcomes: Vec<Outcome>) -> Outcome {
    let severity = |outcome: &Outcome| match outcome {
        Outcome::Completed => 0,
        Outcome::CommandFailed => 1,
        Outcome::HostFailed => 2,
        Outcome::OutputClosed => 3,
    };
    outcomes
        .into_iter()
        .max_by_key(severity)
        .unwrap_or(Outcome::Completed)
}

/// What the reader threads share.
struct Fanout<'a> {
    runtime: &'a ConnectorRuntime,
    streams: &'a [StreamCatalog],
    config: &'a str,
    state: Option<&'a str>,
    options: &'a RunOptions,
    /// The client every instance clones (allow-list set).
    http: HttpClient,
    output: MessageWriter,
    schedule: Arc<Schedule>,
    /// The first write error, reported once at the end.
    closed: Mutex<Option<io::Error>>,
}

impl Fanout<'_> {
    /// `workers` threads, this one among them with `lead`, each taking the
    /// next stream until none is left; every thread's outcomes.
    fn run(&self, lead: Session, workers: usize) -> Vec<Outcome> {
        thread::scope(|scope| {
            let mut helpers = Vec::new();
            for n in 1..workers {
                let spawned = thread::Builder::new()
                    .name(format!("read-{n}"))
                    .spawn_scoped(scope, || self.work(None));
                match spawned {
                    Ok(handle) => helpers.push(handle),
                    Err(error) => self.log(&format!("could not start a reader thread: {error}")),
                }
            }
            // This thread reads the first stream, then takes its share.
            let mut outcomes = self.work(Some(lead));
            for handle in helpers {
                match handle.join() {
                    Ok(more) => outcomes.extend(more),
                    Err(_) => outcomes.push(Outcome::HostFailed),
                }
            }
            outcomes
        })
    }

    /// One reader thread: the lead's stream if given, then streams from the
    /// schedule until none is left (or the read stops).
    fn work(&self, lead: Option<Session>) -> Vec<Outcome> {
        let mut outcomes = Vec::new();
        if let Some(session) = lead {
            outcomes.push(self.read_stream(session, 0));
            self.schedule.open_gate();
        }
        while let Some(index) = self.schedule.next() {
            let http = self.http.clone();
            let session =
                self.runtime
                    .session_with(http, self.output.share(), &self.options.limits);
            outcomes.push(self.read_stream(session, index));
        }
        outcomes
    }

    fn read_stream(&self, mut session: Session, index: usize) -> Outcome {
        let stream = &self.streams[index];
        self.log(&format!("stream `{}`: reading", stream.name));
        session.set_observer(observer(Arc::clone(&self.schedule), index == 0));
        let result = session.read(self.config, &stream.catalog, self.state);
        let output = session.into_output();
        let outcome = match result {
            Err(CallError::OutputClosed(error)) => {
                let mut closed = self.closed.lock().unwrap_or_else(PoisonError::into_inner);
                closed.get_or_insert(error);
                Outcome::OutputClosed
            }
            result => outcome::finish_stream(output, result, Some(stream.descriptor())),
        };
        if outcome == Outcome::OutputClosed {
            self.schedule.stop();
        }
        self.log(&format!("stream `{}`: {outcome:?}", stream.name));
        outcome
    }

    fn log(&self, message: &str) {
        if self.options.verbose {
            eprintln!("host: {message}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gate_opens_on_the_leads_first_record_or_state() {
        let schedule = Arc::new(Schedule::new(3));
        let mut other = observer(Arc::clone(&schedule), false);
        other(Kind::Record);
        assert!(!schedule.lock().gate_open);
        let mut lead = observer(Arc::clone(&schedule), true);
        lead(Kind::Other);
        lead(Kind::Error(FailureType::System));
        assert!(!schedule.lock().gate_open);
        assert!(!schedule.lock().stopped);
        lead(Kind::State);
        assert!(schedule.lock().gate_open);
        assert_eq!(schedule.next(), Some(1));
        assert_eq!(schedule.next(), Some(2));
        assert_eq!(schedule.next(), None);
    }

    #[test]
    fn a_config_error_stops_new_streams() {
        let schedule = Arc::new(Schedule::new(3));
        let mut lead = observer(Arc::clone(&schedule), true);
        lead(Kind::Error(FailureType::Config));
        schedule.open_gate();
        assert_eq!(schedule.next(), None);
    }

    #[test]
    fn waiting_streams_start_when_the_gate_opens() {
        let schedule = Arc::new(Schedule::new(2));
        let waiter = {
            let schedule = Arc::clone(&schedule);
            thread::spawn(move || schedule.next())
        };
        thread::sleep(std::time::Duration::from_millis(20));
        schedule.open_gate();
        assert_eq!(waiter.join().expect("join"), Some(1));
    }

    #[test]
    fn outcomes_combine_to_the_worst() {
        use Outcome::*;
        assert_eq!(worst(vec![Completed, Completed]), Completed);
        assert_eq!(worst(vec![Completed, CommandFailed]), CommandFailed);
        assert_eq!(worst(vec![HostFailed, CommandFailed]), HostFailed);
        assert_eq!(worst(vec![OutputClosed, HostFailed]), OutputClosed);
        assert_eq!(worst(Vec::new()), Completed, "no stream to read");
    }
}
