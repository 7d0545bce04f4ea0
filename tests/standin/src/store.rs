//! The dataset plus a cache of ordered result sets.
//!
//! Filtering and sorting happen once per distinct (kind, filter, sorting):
//! a connector paging through 20,000 customers asks the same question for
//! every page, so each page is then only a slice of a cached index list.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use apollo_compiler::response::JsonValue;

use crate::data::{Dataset, Kind};
use crate::filter::Filter;
use crate::rng::Rng;
use crate::sorting::{parse_sorting, sort_rows};
use crate::time::{now_millis, Millis};

/// Enough for every stream of a few concurrent syncs; cleared when full.
const CACHE_LIMIT: usize = 256;

pub struct Store {
    pub data: Dataset,
    cache: Mutex<HashMap<String, Arc<Vec<u32>>>>,
    last_touch: Millis,
    touches: u64,
}

impl Store {
    pub fn new(data: Dataset) -> Self {
        Store {
            data,
            cache: Mutex::new(HashMap::new()),
            last_touch: 0,
            touches: 0,
        }
    }

    /// Row indices of `kind` matching `filter`, in `sorting` order.
    pub fn ordered(
        &self,
        kind: Kind,
        filter: &JsonValue,
        sorting: &JsonValue,
    ) -> Result<Arc<Vec<u32>>, String> {
        let key = format!("{kind:?}|{filter}|{sorting}");
        if let Some(hit) = self.cache_lock().get(&key) {
            return Ok(Arc::clone(hit));
        }
        let filter = Filter::parse(filter)?;
        let keys = parse_sorting(sorting)?;
        let rows = self.data.rows(kind);
        let mut indices: Vec<u32> = if filter.is_trivial() {
            (0..rows.len() as u32).collect()
        } else {
            (0..rows.len() as u32)
                .filter(|&i| filter.matches(&rows[i as usize]))
                .collect()
        };
        sort_rows(&self.data, kind, &mut indices, &keys);
        let indices = Arc::new(indices);
        let mut cache = self.cache_lock();
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(key, Arc::clone(&indices));
        Ok(indices)
    }

    /// Sets `n` customers' updatedAt to now, each a distinct millisecond
    /// later than any earlier touch; returns their indices.
    pub fn touch_customers(&mut self, n: usize) -> Vec<u32> {
        self.touches += 1;
        let chosen = self.pick_customers(n);
        let mut at = now_millis().max(self.last_touch + 1);
        let rows = self.data.rows_mut(Kind::Customer);
        for &index in &chosen {
            rows[index as usize].updated_at = at;
            at += 1;
        }
        self.last_touch = at - 1;
        self.cache_lock().clear();
        chosen
    }

    /// Distinct customers, deterministic for a seed and touch number.
    fn pick_customers(&self, n: usize) -> Vec<u32> {
        let total = self.data.rows(Kind::Customer).len();
        if n >= total {
            return (0..total as u32).collect();
        }
        let mut rng = Rng::new(self.data.seed ^ self.touches.wrapping_mul(0x9e37_79b9));
        let mut seen = HashSet::with_capacity(n);
        let mut chosen = Vec::with_capacity(n);
        while chosen.len() < n {
            let index = rng.below(total as u64) as u32;
            if seen.insert(index) {
                chosen.push(index);
            }
        }
        chosen
    }

    fn cache_lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Vec<u32>>>> {
        // A panic elsewhere cannot leave the cache inconsistent: use it anyway.
        self.cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
