//! Client-side pacing per operation (a GraphQL root field): requests spaced
//! so each operation stays within its share of the API's per-minute limit,
//! smoothly (at most a second's worth at once, never a minute's worth in
//! the first seconds), and slower for a while after a 429 (another client
//! spending the same key), recovering step by step.

use std::collections::HashMap;

/// A rate limit of the API: calls a minute per operation.
#[derive(Debug)]
pub struct RateLimits {
    /// Operations not listed.
    pub default_per_minute: u32,
    pub per_operation: &'static [(&'static str, u32)],
    /// Where the figures come from.
    pub source: &'static str,
}

impl RateLimits {
    pub fn of(&self, operation: &str) -> u32 {
        self.per_operation
            .iter()
            .find(|(name, _)| *name == operation)
            .map_or(self.default_per_minute, |(_, limit)| *limit)
    }
}

/// The lowest a 429 can slow an operation to, as a fraction of its pace.
const MIN_FACTOR: f64 = 1.0 / 16.0;
/// Each round without a 429 speeds a slowed operation up by this much.
const RECOVERY: f64 = 1.1;

/// The pace of every operation a read uses.
#[derive(Debug)]
pub struct Pacer {
    limits: &'static RateLimits,
    /// The share of each limit the read may use.
    share: f64,
    /// Limits the user set (operation, or `*` for all), calls a minute.
    overrides: HashMap<String, u32>,
    buckets: HashMap<String, Bucket>,
}

/// GCRA: the theoretical arrival time of the next request, and how far
/// ahead of it a burst may run.
#[derive(Debug)]
struct Bucket {
    tat_ms: f64,
    /// Slowed after a 429: the pace is `allowed × factor`.
    factor: f64,
}

impl Pacer {
    pub fn new(limits: &'static RateLimits, share: f64, overrides: HashMap<String, u32>) -> Pacer {
        Pacer {
            limits,
            share,
            overrides,
            buckets: HashMap::new(),
        }
    }

    /// Calls a minute `operation` may make, before any slowing down.
    fn allowed(&self, operation: &str) -> f64 {
        let limit = self
            .overrides
            .get(operation)
            .or_else(|| self.overrides.get("*"))
            .copied()
            .unwrap_or_else(|| self.limits.of(operation));
        f64::from(limit) * self.share
    }

    /// Takes `n` slots of `operation` at `now_ms`; returns how long to wait
    /// before sending them.
    pub fn reserve(&mut self, operation: &str, n: usize, now_ms: u64) -> u64 {
        let per_minute = self.allowed(operation);
        if per_minute <= 0.0 || n == 0 {
            return 0;
        }
        let bucket = self.buckets.entry(operation.to_owned()).or_insert(Bucket {
            tat_ms: 0.0,
            factor: 1.0,
        });
        let rate = per_minute * bucket.factor;
        let interval = 60_000.0 / rate;
        // A second's worth may go at once (at least one request).
        let burst = (rate / 60.0).max(1.0);
        let tolerance = interval * (burst - 1.0);
        let now = now_ms as f64;
        let tat = bucket.tat_ms.max(now) + interval * n as f64;
        bucket.tat_ms = tat;
        // The last of the n may start once it is within the tolerance.
        let start = tat - interval - tolerance;
        (start - now).max(0.0).ceil() as u64
    }

    /// A 429 on `operation`: halve its pace (down to a sixteenth).
    pub fn slow_down(&mut self, operation: &str) {
        if let Some(bucket) = self.buckets.get_mut(operation) {
            bucket.factor = (bucket.factor / 2.0).max(MIN_FACTOR);
        }
    }

    /// A round of `operation` without a 429: recover part of its pace.
    pub fn recover(&mut self, operation: &str) {
        if let Some(bucket) = self.buckets.get_mut(operation) {
            bucket.factor = (bucket.factor * RECOVERY).min(1.0);
        }
    }

    /// The current pace of `operation`, calls a minute (0: not paced).
    pub fn pace(&self, operation: &str) -> f64 {
        let factor = self.buckets.get(operation).map_or(1.0, |b| b.factor);
        self.allowed(operation) * factor
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static LIMITS: RateLimits = RateLimits {
        default_per_minute: 600,
        per_operation: &[("slow", 60)],
        source: "tests",
    };

    fn pacer(share: f64) -> Pacer {
        Pacer::new(&LIMITS, share, HashMap::new())
    }

    /// Sends `count` single requests as early as the pacer allows, from t=0;
    /// returns their start times.
    fn starts(pacer: &mut Pacer, op: &str, count: usize) -> Vec<u64> {
        let mut now = 0;
        (0..count)
            .map(|_| {
                now += pacer.reserve(op, 1, now);
                now
            })
            .collect()
    }

    #[test]
    fn a_second_s_worth_goes_at_once_then_the_pace_holds() {
        let mut pacer = pacer(1.0);
        // 600 a minute: a burst of 10, then one every 100 ms.
        let fast = starts(&mut pacer, "fast", 30);
        assert!(fast[..10].iter().all(|t| *t == 0), "{fast:?}");
        assert_eq!(fast[10], 100);
        assert_eq!(fast[29] - fast[28], 100);
        // In 20 s at 600 a minute: 200 requests, and the burst.
        let many = starts(&mut self::pacer(1.0), "x", 400);
        let in_first_20s = many.iter().filter(|t| **t < 20_000).count();
        assert!((200..=210).contains(&in_first_20s), "{in_first_20s}");
        // Operations are paced apart: `slow` is one a second, whatever `fast` did.
        assert_eq!(starts(&mut pacer, "slow", 3), [0, 1000, 2000]);
    }

    #[test]
    fn the_share_and_overrides_set_the_pace() {
        assert_eq!(pacer(0.5).pace("slow"), 30.0);
        assert_eq!(pacer(0.5).pace("other"), 300.0);
        let overrides = HashMap::from([("slow".to_owned(), 120), ("*".to_owned(), 6000)]);
        let raised = Pacer::new(&LIMITS, 0.5, overrides);
        assert_eq!((raised.pace("slow"), raised.pace("other")), (60.0, 3000.0));
    }

    #[test]
    fn a_round_waits_until_all_its_requests_fit() {
        let mut pacer = pacer(1.0);
        assert_eq!(pacer.reserve("slow", 1, 0), 0);
        // Three more: the last may start at 3 s.
        assert_eq!(pacer.reserve("slow", 3, 0), 3000);
        assert_eq!(pacer.reserve("slow", 0, 0), 0);
    }

    #[test]
    fn a_429_slows_the_operation_and_it_recovers() {
        let mut pacer = pacer(1.0);
        pacer.reserve("op", 1, 0);
        pacer.slow_down("op");
        pacer.slow_down("op");
        assert_eq!(pacer.pace("op"), 150.0);
        for _ in 0..20 {
            pacer.recover("op");
        }
        assert_eq!(pacer.pace("op"), 600.0);
        for _ in 0..10 {
            pacer.slow_down("op");
        }
        assert_eq!(pacer.pace("op"), 600.0 / 16.0);
    }
}
