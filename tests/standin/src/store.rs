//! The dataset plus a cache of ordered result sets.
//!
//! Filtering and sorting happen once per distinct (kind, filter, sorting):
//! a connector paging through 20,000 customers asks the same question for
//! every page, so each page is then only a slice of a cached index list.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use apollo_compiler::response::JsonValue;

use crate::data::{Dataset, Kind};
use crate::fields::path_value;
use crate::filter::Filter;
use crate::sorting::{parse_sorting, sort_rows, SortKey};
use crate::time::Millis;

/// Enough for every stream of a few concurrent syncs; cleared when full.
const CACHE_LIMIT: usize = 256;

pub struct Store {
    pub data: Dataset,
    cache: Mutex<HashMap<String, Arc<Vec<u32>>>>,
    /// The time of the latest mutation: each one takes a later millisecond.
    pub(crate) last_change: Millis,
    /// Mutations so far: seeds the choice of rows they change.
    pub(crate) changes: u64,
}

impl Store {
    pub fn new(data: Dataset) -> Self {
        Store {
            data,
            cache: Mutex::new(HashMap::new()),
            last_change: 0,
            changes: 0,
        }
    }

    /// Row indices of `kind` matching `filter`, in `sorting` order.
    /// Deleted customers are never listed.
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
        let filter = Filter::parse_for(Some(kind), filter)?;
        let keys = parse_sorting(sorting)?;
        let ds = &self.data;
        let count = ds.count(kind) as u32;
        let mut indices: Vec<u32> = (0..count)
            .filter(|&i| ds.is_listed(kind, i))
            .filter(|&i| {
                filter.is_trivial() || {
                    let field = |name: &str| path_value(ds, kind, i, name);
                    filter.matches(&ds.filter_row(kind, i), &field)
                }
            })
            .collect();
        match natural_order(kind, &keys) {
            Some(false) => {}
            Some(true) => indices.reverse(),
            None => sort_rows(ds, kind, &mut indices, &keys),
        }
        let indices = Arc::new(indices);
        let mut cache = self.cache_lock();
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(key, Arc::clone(&indices));
        Ok(indices)
    }

    pub fn clear_cache(&self) {
        self.cache_lock().clear();
    }

    pub(crate) fn cache_lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Vec<u32>>>> {
        // A panic elsewhere cannot leave the cache inconsistent: use it anyway.
        self.cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The activity log is kept in (createdAt, id) order: sorting by a prefix
/// of that is free (`Some(false)`), by createdAt descending a reversal
/// (`Some(true)`), and anything else a sort (`None`).
fn natural_order(kind: Kind, keys: &[SortKey]) -> Option<bool> {
    if kind != Kind::EventLog {
        return None;
    }
    // Neither is ever null, so `nulls` does not matter.
    let plain = |k: &SortKey, field: &str| k.field == field;
    match keys {
        [] => Some(false),
        [c] if plain(c, "createdAt") => Some(c.descending),
        [c, i] if plain(c, "createdAt") && plain(i, "id") && !c.descending && !i.descending => {
            Some(false)
        }
        _ => None,
    }
}
