//! Trying a request again: bounded exponential backoff with jitter, `Retry-After`,
//! and a total time budget, after which the last error stands.

use std::hash::{BuildHasher, Hasher};
use std::time::Instant;

use crate::error::{Error, Result, Retry};

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// The most one request's retries may take in all, in ms, from its first
    /// failure: the waits and the retried attempts (a timed-out one included).
    pub budget_ms: u64,
    /// The first backoff; each next one doubles, up to `max_delay_ms`.
    pub base_ms: u64,
    pub max_delay_ms: u64,
    /// How many times a malformed answer is tried again.
    pub max_malformed: u32,
}

impl RetryPolicy {
    /// The most `check` retries, whatever the config says: a person is waiting.
    pub const CHECK_BUDGET_CAP_SECS: u64 = 60;

    /// The config's `max_retry_seconds`, for every request; backoffs grow to
    /// a minute to outlast per-minute rate limits.
    pub fn with_budget(budget_secs: u64) -> Self {
        RetryPolicy {
            budget_ms: budget_secs.saturating_mul(1000),
            base_ms: 1000,
            max_delay_ms: 60_000,
            max_malformed: 3,
        }
    }

    /// `check`: the config's budget, up to [`Self::CHECK_BUDGET_CAP_SECS`].
    pub fn checking(budget_secs: u64) -> Self {
        Self::with_budget(budget_secs.min(Self::CHECK_BUDGET_CAP_SECS))
    }

    /// The backoff before retry number `n` (0-based), jittered into its upper half.
    fn backoff_ms(&self, n: u32) -> u64 {
        let full = self
            .base_ms
            .saturating_mul(1u64 << n.min(20))
            .min(self.max_delay_ms);
        full / 2 + random_below(full / 2 + 1)
    }
}

/// A wait about to happen, for the caller to report and then sleep through.
#[derive(Debug)]
pub struct Wait<'e> {
    pub error: &'e Error,
    pub delay_ms: u64,
    /// The attempt that failed (1-based).
    pub attempt: u32,
    pub rate_limited: bool,
}

/// Runs `attempt` until it succeeds, fails in a way no retry fixes, or the budget
/// is spent. Before each retry, `wait` reports the delay and sleeps through it.
pub fn run<T>(
    policy: &RetryPolicy,
    mut attempt: impl FnMut() -> Result<T>,
    wait: impl FnMut(&Wait<'_>),
) -> Result<T> {
    let first = attempt();
    run_after(policy, first, attempt, wait)
}

/// [`run`], the first attempt already made (`first` is its result).
pub fn run_after<T>(
    policy: &RetryPolicy,
    first: Result<T>,
    mut attempt: impl FnMut() -> Result<T>,
    mut wait: impl FnMut(&Wait<'_>),
) -> Result<T> {
    let (mut waited_ms, mut malformed, mut backoffs) = (0u64, 0u32, 0u32);
    let failed_at = Instant::now();
    let mut result = Some(first);
    for number in 1.. {
        let error = match result.take().unwrap_or_else(&mut attempt) {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        let (delay_ms, rate_limited) = match error.retry {
            // A smaller page is the read loop's to choose.
            Retry::No | Retry::SmallerPage(_) => return Err(error),
            Retry::Malformed if malformed >= policy.max_malformed => {
                return Err(error.context(format!("still failing after {number} attempts")))
            }
            Retry::Malformed => {
                malformed += 1;
                (policy.backoff_ms(malformed - 1), false)
            }
            Retry::Backoff(after) | Retry::RateLimited(after) => {
                let delay = after.unwrap_or_else(|| policy.backoff_ms(backoffs));
                backoffs += 1;
                (delay, matches!(error.retry, Retry::RateLimited(_)))
            }
        };
        // The clock counts the retried attempts too; the sum of the waits
        // stands in where the waits do not really sleep (tests).
        let clock_ms = u64::try_from(failed_at.elapsed().as_millis()).unwrap_or(u64::MAX);
        let spent_ms = waited_ms.max(clock_ms);
        if spent_ms.saturating_add(delay_ms) > policy.budget_ms {
            return Err(error.context(format!(
                "gave up after {number} attempts and {} s of retrying (retry budget {} s)",
                spent_ms / 1000,
                policy.budget_ms / 1000
            )));
        }
        wait(&Wait {
            error: &error,
            delay_ms,
            attempt: number,
            rate_limited,
        });
        waited_ms += delay_ms;
    }
    unreachable!("the loop returns")
}

/// A random number below `bound`, from the hasher keys std draws from the OS.
fn random_below(bound: u64) -> u64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(bound);
    hasher.finish() % bound.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::FailureType;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            budget_ms: 10_000,
            base_ms: 100,
            max_delay_ms: 1_000,
            max_malformed: 2,
        }
    }

    /// Runs a script of attempt results; returns the outcome and the waits asked for.
    fn script(results: Vec<Result<u32>>) -> (Result<u32>, Vec<(u64, bool)>) {
        let mut results = results.into_iter();
        let mut waits = Vec::new();
        let outcome = run(
            &policy(),
            || results.next().expect("script ran out"),
            |w| waits.push((w.delay_ms, w.rate_limited)),
        );
        (outcome, waits)
    }

    fn err(retry: Retry) -> Result<u32> {
        Err(Error::transient("boom").retry(retry))
    }

    #[test]
    fn retries_transient_failures_with_growing_jittered_backoff() {
        let (outcome, waits) = script(vec![
            err(Retry::Backoff(None)),
            err(Retry::Backoff(None)),
            err(Retry::Backoff(None)),
            Ok(7),
        ]);
        assert_eq!(outcome.unwrap(), 7);
        let bounds = [(50, 100), (100, 200), (200, 400)];
        for ((delay, limited), (lo, hi)) in waits.iter().zip(bounds) {
            assert!(
                (lo..=hi).contains(delay) && !limited,
                "{delay} not in {lo}..={hi}"
            );
        }
    }

    #[test]
    fn honours_retry_after_and_flags_rate_limits() {
        let (outcome, waits) = script(vec![
            err(Retry::RateLimited(Some(2_500))),
            err(Retry::RateLimited(None)),
            Ok(1),
        ]);
        assert_eq!(outcome.unwrap(), 1);
        assert_eq!(waits[0], (2_500, true));
        assert!(waits[1].1 && (100..=200).contains(&waits[1].0), "{waits:?}");
    }

    #[test]
    fn backoff_reaches_the_cap_and_the_budget_ends_it() {
        let (outcome, waits) = script((0..100).map(|_| err(Retry::RateLimited(None))).collect());
        let error = outcome.unwrap_err();
        assert_eq!(error.failure_type, FailureType::Transient);
        assert!(error.message.contains("gave up after"), "{}", error.message);
        assert!(waits.iter().map(|w| w.0).sum::<u64>() <= 10_000);
        assert!(
            waits.iter().any(|w| w.0 > 500),
            "backoff never grew: {waits:?}"
        );
        let (outcome, waits) = script(vec![err(Retry::Backoff(Some(60_000)))]);
        assert!(outcome.is_err() && waits.is_empty());
    }

    #[test]
    fn malformed_answers_are_retried_a_few_times_only() {
        let malformed = || Err(Error::system("truncated").retry(Retry::Malformed));
        let (outcome, waits) = script(vec![malformed(), malformed(), malformed()]);
        let error = outcome.unwrap_err();
        assert_eq!(error.failure_type, FailureType::System);
        assert!(error.message.contains("after 3 attempts"));
        assert_eq!(waits.len(), 2);
    }

    #[test]
    fn slow_failing_attempts_count_against_the_budget() {
        // Attempts that time out after 150 ms, each retried at once
        // (`Retry-After: 0`): only the clock can end this.
        let policy = RetryPolicy {
            budget_ms: 600,
            ..policy()
        };
        let mut attempts = 0;
        let slow_timeout = || {
            attempts += 1;
            std::thread::sleep(std::time::Duration::from_millis(150));
            err(Retry::Backoff(Some(0)))
        };
        let error = run(&policy, slow_timeout, |_| {}).expect_err("budget");
        assert!(error.message.contains("gave up after"), "{}", error.message);
        assert!((4..=6).contains(&attempts), "{attempts} attempts");
    }

    #[test]
    fn a_zero_budget_means_no_retry() {
        let zero = RetryPolicy::with_budget(0);
        let mut attempts = 0;
        let outcome = run(
            &zero,
            || {
                attempts += 1;
                err(Retry::RateLimited(None))
            },
            |_| {},
        );
        assert!(outcome.is_err());
        assert_eq!(attempts, 1);
    }

    #[test]
    fn check_honours_the_configured_budget_up_to_a_minute() {
        assert_eq!(RetryPolicy::checking(0).budget_ms, 0);
        assert_eq!(RetryPolicy::checking(5).budget_ms, 5_000);
        assert_eq!(RetryPolicy::checking(600).budget_ms, 60_000);
    }

    #[test]
    fn permanent_errors_are_not_retried() {
        let (outcome, waits) = script(vec![Err(Error::config("bad key"))]);
        assert_eq!(outcome.unwrap_err().message, "bad key");
        assert!(waits.is_empty());
    }
}
