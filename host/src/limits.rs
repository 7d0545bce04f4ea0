//! The memory and table caps of one store, and the errors that name the
//! limit a component ran into.

use std::time::Duration;

use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};

/// Which limit stopped the component, and its value (the command line
/// names its flag too: see `outcome`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitExceeded {
    #[error("the connector exceeded the memory limit of {mib} MiB")]
    Memory { mib: u32 },
    #[error(
        "the connector exceeded the CPU deadline of {} s for one call",
        secs(*.limit)
    )]
    Cpu { limit: Duration },
    #[error("the connector exceeded the table limit of {elements} elements")]
    Table { elements: usize },
}

fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0}")
    } else {
        format!("{s}")
    }
}

/// Caps for structures a connector has a handful of; generous for any
/// real component, small enough that a hostile one cannot make the host
/// allocate much outside linear memory.
const MAX_INSTANCES: usize = 100;
const MAX_TABLES: usize = 20;
const MAX_MEMORIES: usize = 10;
const MAX_TABLE_ELEMENTS: usize = 100_000;

const MIB: usize = 1024 * 1024;

/// `StoreLimits` caps each memory; this also caps their sum (a component
/// may hold several core instances, each with a memory) and remembers a
/// refusal, so the trap that usually follows is reported as the limit.
pub struct MemoryLimiter {
    inner: StoreLimits,
    mib: u32,
    cap: usize,
    /// Bytes of linear memory granted so far (memories never shrink).
    total: usize,
    /// The last grant, taken back if the grow then fails.
    last_grant: usize,
    refused: Option<LimitExceeded>,
}

impl MemoryLimiter {
    pub fn new(max_memory_mib: u32) -> Self {
        let cap = usize::try_from(max_memory_mib)
            .ok()
            .and_then(|m| m.checked_mul(MIB))
            .unwrap_or(usize::MAX);
        Self {
            inner: StoreLimitsBuilder::new()
                .memory_size(cap)
                .table_elements(MAX_TABLE_ELEMENTS)
                .instances(MAX_INSTANCES)
                .tables(MAX_TABLES)
                .memories(MAX_MEMORIES)
                .build(),
            mib: max_memory_mib,
            cap,
            total: 0,
            last_grant: 0,
            refused: None,
        }
    }

    /// Forgets refusals before a new call: only one during the call explains
    /// how the call ended.
    pub fn reset_refusal(&mut self) {
        self.refused = None;
    }

    pub fn refusal(&self) -> Option<&LimitExceeded> {
        self.refused.as_ref()
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let growth = desired.saturating_sub(current);
        let total = self.total.saturating_add(growth);
        // The guest sees memory.grow return -1, as the spec allows; a Rust
        // guest then aborts, and `refusal` names the limit.
        if total > self.cap || !self.inner.memory_growing(current, desired, maximum)? {
            if total > self.cap || desired > self.cap {
                self.refused = Some(LimitExceeded::Memory { mib: self.mib });
            }
            return Ok(false);
        }
        self.total = total;
        self.last_grant = growth;
        Ok(true)
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.total = self.total.saturating_sub(self.last_grant);
        self.last_grant = 0;
        self.inner.memory_grow_failed(error)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.inner.table_growing(current, desired, maximum)?;
        if !allowed && desired > MAX_TABLE_ELEMENTS {
            self.refused = Some(LimitExceeded::Table {
                elements: MAX_TABLE_ELEMENTS,
            });
        }
        Ok(allowed)
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }

    fn tables(&self) -> usize {
        self.inner.tables()
    }

    fn memories(&self) -> usize {
        self.inner.memories()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: usize = 64 * 1024;

    #[test]
    fn caps_the_sum_of_all_memories() {
        let mut limiter = MemoryLimiter::new(1);
        assert!(limiter.memory_growing(0, 8 * PAGE, None).expect("grow"));
        assert!(limiter.memory_growing(0, 8 * PAGE, None).expect("grow"));
        assert_eq!(limiter.refusal(), None);
        // 16 pages is 1 MiB: one more page in either memory is too much.
        assert!(!limiter
            .memory_growing(8 * PAGE, 9 * PAGE, None)
            .expect("grow"));
        assert_eq!(limiter.refusal(), Some(&LimitExceeded::Memory { mib: 1 }));
        limiter.reset_refusal();
        assert_eq!(limiter.refusal(), None);
    }

    #[test]
    fn a_failed_grow_gives_its_grant_back() {
        let mut limiter = MemoryLimiter::new(1);
        assert!(limiter.memory_growing(0, 16 * PAGE, None).expect("grow"));
        limiter
            .memory_grow_failed(wasmtime::Error::msg("mmap failed"))
            .expect("not a trap");
        assert!(limiter.memory_growing(0, 16 * PAGE, None).expect("grow"));
    }

    #[test]
    fn the_declared_maximum_is_not_our_limit() {
        let mut limiter = MemoryLimiter::new(256);
        assert!(!limiter
            .memory_growing(PAGE, 2 * PAGE, Some(PAGE))
            .expect("grow"));
        assert_eq!(limiter.refusal(), None);
    }

    #[test]
    fn messages_name_the_limits_and_their_values() {
        assert_eq!(
            LimitExceeded::Memory { mib: 256 }.to_string(),
            "the connector exceeded the memory limit of 256 MiB"
        );
        assert_eq!(
            LimitExceeded::Cpu {
                limit: Duration::from_secs(300)
            }
            .to_string(),
            "the connector exceeded the CPU deadline of 300 s for one call"
        );
        assert!(LimitExceeded::Cpu {
            limit: Duration::from_millis(1500)
        }
        .to_string()
        .contains("1.5 s"));
    }
}
