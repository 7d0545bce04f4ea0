//! State shared by the server's tasks and the `Standin` handle.

use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::config::{BadKeyMode, StandinConfig};
use crate::faults::FaultPlan;
use crate::limits::RateLimiter;
use crate::schema::Served;
use crate::stats::Stats;
use crate::store::Store;

pub struct Shared {
    pub api_key: String,
    pub bad_key_mode: BadKeyMode,
    pub latency_ms: u64,
    pub max_page_size: usize,
    store: RwLock<Store>,
    stats: Mutex<Stats>,
    faults: Mutex<FaultPlan>,
    limiter: Option<Mutex<RateLimiter>>,
    served: RwLock<Arc<Served>>,
}

impl Shared {
    pub fn new(config: &StandinConfig, store: Store) -> Self {
        let mut faults = FaultPlan::default();
        faults.set(config.faults.clone());
        Shared {
            api_key: config.api_key.clone(),
            bad_key_mode: config.bad_key_mode,
            latency_ms: config.latency_ms,
            max_page_size: config.max_page_size,
            store: RwLock::new(store),
            stats: Mutex::new(Stats::default()),
            faults: Mutex::new(faults),
            limiter: config
                .rate_limits
                .clone()
                .map(|c| Mutex::new(RateLimiter::new(c))),
            served: RwLock::new(Arc::new(Served::default())),
        }
    }

    // A panicking request must not take the stand-in down with it: the
    // guarded data stays usable, so poisoned locks are simply taken over.

    pub fn store(&self) -> RwLockReadGuard<'_, Store> {
        self.store.read().unwrap_or_else(|p| p.into_inner())
    }

    pub fn store_mut(&self) -> RwLockWriteGuard<'_, Store> {
        self.store.write().unwrap_or_else(|p| p.into_inner())
    }

    pub fn stats(&self) -> MutexGuard<'_, Stats> {
        self.stats.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn faults(&self) -> MutexGuard<'_, FaultPlan> {
        self.faults.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The schema served now.
    pub fn served(&self) -> Arc<Served> {
        self.served
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn serve(&self, served: Served) {
        *self.served.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(served);
    }

    /// The rate limiter, when limits are enforced.
    pub fn limiter(&self) -> Option<MutexGuard<'_, RateLimiter>> {
        self.limiter
            .as_ref()
            .map(|l| l.lock().unwrap_or_else(|p| p.into_inner()))
    }
}
