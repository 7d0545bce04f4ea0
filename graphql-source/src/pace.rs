//! Client-side pacing per operation (a GraphQL root field): requests spaced
//! so each operation stays within its share of the API's per-minute limit,
//! smoothly (at most a second's worth at once, never a minute's worth in
//! the first seconds), and slower for a while after a 429 (another client
//! spending the same key), recovering step by step.

use std::collections::HashMap;

/// The API's rate limits: calls per operation per window.
#[derive(Debug)]
pub struct RateLimits {
    /// The length of the API's (sliding) window, seconds.
    pub window_seconds: u32,
    /// Operations not listed.
    pub default_limit: u32,
    pub per_operation: &'static [(&'static str, u32)],
    /// Where the figures come from.
    pub source: &'static str,
}

impl RateLimits {
    pub fn of(&self, operation: &str) -> u32 {
        self.per_operation
            .iter()
            .find(|(name, _)| *name == operation)
            .map_or(self.default_limit, |(_, limit)| *limit)
    }
}

/// The share of the pace left unused, for timing the pacer cannot see.
const MARGIN: f64 = 0.03;
/// The lowest a 429 can slow an operation to, as a fraction of its pace.
const MIN_FACTOR: f64 = 1.0 / 16.0;

/// The pace of every operation a read uses.
#[derive(Debug)]
pub struct Pacer {
    limits: &'static RateLimits,
    /// The share of each limit the read may use.
    share: f64,
    /// Limits the user set (operation, or `*` for all), calls per window.
    overrides: HashMap<String, u32>,
    /// The window, ms: no window of this length holds more than the pace.
    window_ms: f64,
    buckets: HashMap<String, Bucket>,
}

#[derive(Debug, Default)]
struct Bucket {
    /// When the next request may start (GCRA's theoretical arrival time).
    next_ms: f64,
    /// The last 429: the pace it left (a fraction of the full one) and when.
    slowed: Option<(f64, f64)>,
}

impl Bucket {
    /// The fraction of the full pace now: back to whole, linearly, one
    /// window after a 429.
    fn factor(&self, now: f64, window_ms: f64) -> f64 {
        match self.slowed {
            None => 1.0,
            Some((factor, at)) => (factor + (1.0 - factor) * (now - at) / window_ms).min(1.0),
        }
    }
}

impl Pacer {
    /// Paces to `share` of `limits` (or of the `overrides`), over windows of
    /// `window_seconds` (the API's unless given).
    pub fn new(
        limits: &'static RateLimits,
        share: f64,
        overrides: HashMap<String, u32>,
        window_seconds: Option<u32>,
    ) -> Pacer {
        let window = window_seconds.unwrap_or(limits.window_seconds).max(1);
        Pacer {
            limits,
            share,
            overrides,
            window_ms: f64::from(window) * 1000.0,
            buckets: HashMap::new(),
        }
    }

    /// Calls per window `operation` may make, before any slowing down.
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
    /// before sending them (all at the last one's slot, in whole milliseconds
    /// rounded down: a wait under 1 ms is none, since a sleep costs more than
    /// that in some hosts, and the slots themselves stay exact).
    /// Slots are spaced evenly so that no window holds more than the pace:
    /// rounds of `n` sent together, one round at each edge of a window, put
    /// `n` more in it than the spacing alone, so at `rate` a window the
    /// spacing is the window over `rate - n`, and a margin of `MARGIN`
    /// covers requests a host sends later than asked (its own bound on
    /// requests in flight) and the network's jitter.
    pub fn reserve(&mut self, operation: &str, n: usize, now_ms: u64) -> u64 {
        let per_window = self.allowed(operation);
        if per_window <= 0.0 || n == 0 {
            return 0;
        }
        let now = now_ms as f64;
        let window = self.window_ms;
        let bucket = self.buckets.entry(operation.to_owned()).or_default();
        let rate = per_window * bucket.factor(now, window) * (1.0 - MARGIN);
        let interval = window / (rate - n as f64).max(rate.min(1.0));
        let first = bucket.next_ms.max(now);
        bucket.next_ms = first + interval * n as f64;
        let last = bucket.next_ms - interval;
        (last - now).max(0.0).floor() as u64
    }

    /// A round of `operation` ended at `now_ms`: later requests take slots
    /// from now on, not the ones left unused while it ran (its requests may
    /// have gone out as late as now).
    pub fn finished(&mut self, operation: &str, now_ms: u64) {
        if let Some(bucket) = self.buckets.get_mut(operation) {
            bucket.next_ms = bucket.next_ms.max(now_ms as f64);
        }
    }

    /// A round of `operation` met a 429 at `now_ms`: halve its pace (down
    /// to a sixteenth), from which it recovers over a window.
    pub fn slow_down(&mut self, operation: &str, now_ms: u64) {
        let now = now_ms as f64;
        let window = self.window_ms;
        let bucket = self.buckets.entry(operation.to_owned()).or_default();
        let factor = (bucket.factor(now, window) / 2.0).max(MIN_FACTOR);
        bucket.slowed = Some((factor, now));
    }

    /// How long `calls` of `operation` take at its pace now, in ms; `None`
    /// when it is not paced.
    pub fn time_for(&self, operation: &str, calls: u64, now_ms: u64) -> Option<u64> {
        let pace = self.pace(operation, now_ms);
        (pace > 0.0).then(|| (calls as f64 / pace * self.window_ms) as u64)
    }

    /// The pace of `operation` at `now_ms`, calls per window (0: not paced).
    pub fn pace(&self, operation: &str, now_ms: u64) -> f64 {
        let factor = self
            .buckets
            .get(operation)
            .map_or(1.0, |b| b.factor(now_ms as f64, self.window_ms));
        self.allowed(operation) * factor
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static LIMITS: RateLimits = RateLimits {
        window_seconds: 60,
        default_limit: 600,
        per_operation: &[("slow", 61)],
        source: "tests",
    };

    fn pacer(share: f64) -> Pacer {
        Pacer::new(&LIMITS, share, HashMap::new(), None)
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

    /// The most starts in any window of `window` ms.
    fn busiest(starts: &[u64], window: u64) -> usize {
        starts
            .iter()
            .map(|t| {
                starts
                    .iter()
                    .filter(|s| **s >= *t && **s < t + window)
                    .count()
            })
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn no_minute_holds_more_than_the_pace() {
        let mut pacer = pacer(1.0);
        let fast = starts(&mut pacer, "fast", 1500);
        assert_eq!(&fast[..3], &[0, 103, 206], "evenly spaced from the start");
        // At most the pace less its margin, and nearly all of that.
        assert!(
            (575..=582).contains(&busiest(&fast, 60_000)),
            "{}",
            busiest(&fast, 60_000)
        );
        // A window of 2 s holds at most a thirtieth of a minute's pace.
        let short = starts(
            &mut Pacer::new(&LIMITS, 1.0, HashMap::new(), Some(2)),
            "x",
            100,
        );
        assert!(busiest(&short, 2_000) <= 600, "{}", busiest(&short, 2_000));
        let mut two_s = Pacer::new(&LIMITS, 1.0, HashMap::from([("x".to_owned(), 20)]), Some(2));
        let rounds: Vec<u64> = {
            let mut now = 0;
            (0..10)
                .map(|_| {
                    now += two_s.reserve("x", 4, now);
                    now
                })
                .collect()
        };
        let sends: Vec<u64> = rounds.iter().flat_map(|t| [*t; 4]).collect();
        assert!(
            busiest(&sends, 2_000) <= 20,
            "rounds of 4: {}",
            busiest(&sends, 2_000)
        );
        // Operations are paced apart: `slow` is about one a second.
        assert_eq!(starts(&mut pacer, "slow", 3), [0, 1031, 2062]);
        let half = starts(&mut self::pacer(0.5), "fast", 700);
        assert!(
            (285..=291).contains(&busiest(&half, 60_000)),
            "{}",
            busiest(&half, 60_000)
        );
    }

    #[test]
    fn the_share_and_overrides_set_the_pace() {
        assert_eq!(pacer(0.5).pace("other", 0), 300.0);
        let overrides = HashMap::from([("slow".to_owned(), 120), ("*".to_owned(), 6000)]);
        let raised = Pacer::new(&LIMITS, 0.5, overrides, None);
        assert_eq!(
            (raised.pace("slow", 0), raised.pace("other", 0)),
            (60.0, 3000.0)
        );
    }

    #[test]
    fn a_round_goes_at_its_last_request_s_slot() {
        let mut pacer = pacer(1.0);
        assert_eq!(pacer.reserve("slow", 1, 0), 0);
        // Three more: they all go at the last one's slot.
        let wait = pacer.reserve("slow", 3, 0);
        assert!((3000..3300).contains(&wait), "{wait}");
        assert_eq!(pacer.reserve("slow", 0, 0), 0);
        // A round that ended late: the next takes slots from its end on.
        pacer.finished("slow", 10_000);
        assert!(pacer.reserve("slow", 1, 10_000) < 100);
        assert!(pacer.reserve("slow", 1, 10_000) >= 1000);
    }

    #[test]
    fn a_wait_under_a_millisecond_is_none() {
        // 600,000 a minute: a slot every 0.1 ms or so, rounds of 4 ahead of
        // the clock by less than a millisecond, until they add up to one.
        let overrides = HashMap::from([("fast".to_owned(), 600_000)]);
        let mut pacer = Pacer::new(&LIMITS, 1.0, overrides, None);
        let waits: Vec<u64> = (0..4).map(|_| pacer.reserve("fast", 4, 0)).collect();
        assert_eq!(waits, [0, 0, 1, 1]);
    }

    #[test]
    fn a_429_halves_the_pace_which_recovers_over_a_window() {
        let mut pacer = pacer(1.0);
        pacer.slow_down("op", 0);
        assert_eq!(pacer.pace("op", 0), 300.0);
        pacer.slow_down("op", 0);
        assert_eq!(pacer.pace("op", 0), 150.0);
        assert_eq!(pacer.pace("op", 30_000), 375.0);
        assert_eq!(pacer.pace("op", 60_000), 600.0);
        for _ in 0..10 {
            pacer.slow_down("op", 60_000);
        }
        assert_eq!(pacer.pace("op", 60_000), 600.0 / 16.0);
    }
}
