//! The CPU deadline of a call into the component.
//!
//! What it measures: the CPU time of the thread running the call, from the
//! call's start. That is the guest's own code plus the host work it asks for
//! synchronously (copying messages, TLS); time spent *waiting* (for the
//! network, for stdout to drain, in a sleep or a retry backoff) uses no CPU
//! and is not counted, so a slow server cannot trip it.
//!
//! How: wasmtime's epoch interruption. A ticker thread bumps the engine's
//! epoch every [`TICK`]; when the store's epoch deadline passes, compiled
//! code calls [`CpuBudget::on_deadline`], which reads the thread's CPU clock
//! and either traps or re-arms. CPU time never runs ahead of wall time on
//! one thread, so re-arming after the remaining budget in wall ticks checks
//! as rarely as possible and still catches an overrun within a tick or two.

use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread;
use std::time::Duration;

use wasmtime::{Engine, UpdateDeadline};

use crate::limits::LimitExceeded;

/// How often the ticker bumps the epoch: the deadline's resolution.
pub const TICK: Duration = Duration::from_millis(10);

/// Bumps an engine's epoch until dropped.
pub struct EpochTicker {
    _stop: Sender<()>,
}

impl EpochTicker {
    pub fn start(engine: &Engine) -> std::io::Result<Self> {
        let (stop, stopped) = mpsc::channel::<()>();
        let engine = engine.clone();
        thread::Builder::new()
            .name("epoch-ticker".into())
            .spawn(move || {
                // Dropping the sender disconnects the channel: time to go.
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(TICK) {
                    engine.increment_epoch();
                }
            })?;
        Ok(Self { _stop: stop })
    }
}

/// One store's CPU budget per call.
pub struct CpuBudget {
    limit: Duration,
    /// The thread's CPU time when the current call started.
    started: Duration,
    exceeded: bool,
}

impl CpuBudget {
    pub fn new(limit: Duration) -> Self {
        Self {
            limit,
            started: Duration::ZERO,
            exceeded: false,
        }
    }

    /// Starts a call's budget; returns the epoch deadline to arm, in ticks.
    pub fn start_call(&mut self) -> u64 {
        self.started = thread_cpu_time();
        self.exceeded = false;
        ticks(self.limit)
    }

    /// Called by wasmtime when the epoch deadline passes: trap if the call
    /// used up its budget, otherwise check again once it could have.
    pub fn on_deadline(&mut self) -> wasmtime::Result<UpdateDeadline> {
        let used = thread_cpu_time().saturating_sub(self.started);
        if used >= self.limit {
            self.exceeded = true;
            return Err(wasmtime::Error::new(self.exceeded_error()));
        }
        Ok(UpdateDeadline::Continue(ticks(self.limit - used)))
    }

    /// The limit, if the current call ran into it.
    pub fn exceeded(&self) -> Option<LimitExceeded> {
        self.exceeded.then(|| self.exceeded_error())
    }

    fn exceeded_error(&self) -> LimitExceeded {
        LimitExceeded::Cpu { limit: self.limit }
    }
}

/// Whole ticks in `d`, at least one.
fn ticks(d: Duration) -> u64 {
    u64::try_from(d.as_nanos() / TICK.as_nanos())
        .unwrap_or(u64::MAX)
        .max(1)
}

#[cfg(unix)]
fn thread_cpu_time() -> Duration {
    use rustix::time::{clock_gettime, ClockId};
    let t = clock_gettime(ClockId::ThreadCPUTime);
    Duration::new(
        u64::try_from(t.tv_sec).unwrap_or(0),
        u32::try_from(t.tv_nsec).unwrap_or(0),
    )
}

/// Without a thread CPU clock, wall time since a fixed point: the deadline
/// then also counts time spent waiting.
#[cfg(not(unix))]
fn thread_cpu_time() -> Duration {
    use std::sync::OnceLock;
    use std::time::Instant;
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    ORIGIN.get_or_init(Instant::now).elapsed()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Uses `d` of CPU (not wall) time, however busy the machine is.
    fn burn(d: Duration) {
        let start = thread_cpu_time();
        while thread_cpu_time().saturating_sub(start) < d {
            std::hint::black_box(());
        }
    }

    #[test]
    fn ticks_round_down_but_never_to_zero() {
        assert_eq!(ticks(Duration::from_secs(1)), 100);
        assert_eq!(ticks(Duration::from_millis(15)), 1);
        assert_eq!(ticks(Duration::ZERO), 1);
    }

    #[test]
    fn sleeping_does_not_use_the_budget() {
        let mut budget = CpuBudget::new(Duration::from_millis(50));
        budget.start_call();
        thread::sleep(Duration::from_millis(120));
        assert!(matches!(
            budget.on_deadline(),
            Ok(UpdateDeadline::Continue(_))
        ));
        assert_eq!(budget.exceeded(), None);
    }

    #[test]
    fn spinning_uses_it_up() {
        let mut budget = CpuBudget::new(Duration::from_millis(50));
        budget.start_call();
        burn(Duration::from_millis(120));
        let Err(error) = budget.on_deadline() else {
            panic!("still within budget");
        };
        assert!(
            error.to_string().contains("CPU deadline of 0.05 s"),
            "{error}"
        );
        assert!(budget.exceeded().is_some());
        // A new call starts afresh.
        budget.start_call();
        assert_eq!(budget.exceeded(), None);
    }
}
