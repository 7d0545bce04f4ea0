//! Another client of the same API key: spends an operation's budget at a
//! steady rate in the background, as a customer's own backend would.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::state::Shared;

/// Spends calls of one operation until dropped (or `stop`ped).
pub struct Spender {
    stop: Arc<AtomicBool>,
    counts: Arc<Counts>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Default)]
struct Counts {
    spent: AtomicU64,
    refused: AtomicU64,
}

impl Spender {
    /// `per_window` calls of `operation` per rate-limit window, evenly
    /// spaced. Without limits enforced, nothing is spent.
    pub(crate) fn start(shared: Arc<Shared>, operation: &str, per_window: u32) -> Spender {
        let stop = Arc::new(AtomicBool::new(false));
        let counts = Arc::new(Counts::default());
        let window = shared.limiter().map(|l| l.config().window());
        let thread = window.filter(|_| per_window > 0).map(|window| {
            let (stop, counts, operation) =
                (Arc::clone(&stop), Arc::clone(&counts), operation.to_owned());
            let interval = window.as_secs_f64() / f64::from(per_window);
            std::thread::spawn(move || {
                let started = Instant::now();
                let mut due_so_far = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    // Calls due by now, so a late wake-up catches up.
                    let due = (started.elapsed().as_secs_f64() / interval) as u64 + 1;
                    let n = u32::try_from(due - due_so_far).unwrap_or(u32::MAX);
                    due_so_far = due;
                    if let Some(mut limiter) = shared.limiter() {
                        let fit = limiter.spend(&operation, n, Instant::now());
                        counts.spent.fetch_add(u64::from(fit), Ordering::Relaxed);
                        counts
                            .refused
                            .fetch_add(u64::from(n - fit), Ordering::Relaxed);
                    }
                    std::thread::sleep(Duration::from_secs_f64(interval.min(0.01)));
                }
            })
        });
        Spender {
            stop,
            counts,
            thread,
        }
    }

    /// Calls spent so far.
    pub fn spent(&self) -> u64 {
        self.counts.spent.load(Ordering::Relaxed)
    }

    /// This client's calls the window refused (a customer's request
    /// throttled).
    pub fn refused(&self) -> u64 {
        self.counts.refused.load(Ordering::Relaxed)
    }

    /// Stops spending; returns (spent, refused).
    pub fn stop(mut self) -> (u64, u64) {
        self.shutdown();
        (self.spent(), self.refused())
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Spender {
    fn drop(&mut self) {
        self.shutdown();
    }
}
