//! Generation of the records added after the first nine list queries:
//! customer resources, experiments, feature and package groups, offers,
//! custom currencies, credit grants and subscription entitlements. They
//! draw from their own random streams, so the older records stay what they
//! were for a seed.

use crate::data::{Dataset, Kind, Row};
use crate::fields::{
    override_candidates, scalar, Val, CURRENCIES, EXPERIMENTS, FEATURE_GROUPS, OFFERS,
    PACKAGE_GROUPS,
};
use crate::generate::{push_rows, timeline, CATALOG_START, CUSTOMERS_START, DATA_END, DAY};
use crate::rng::Rng;
use crate::time::Millis;

/// Percent of customers with credits.
const CREDIT_CUSTOMERS: u64 = 20;

/// Percent of subscriptions with entitlement overrides.
const OVERRIDE_SUBSCRIPTIONS: u64 = 25;

pub fn generate_more(ds: &mut Dataset) {
    let mut rng = Rng::new(ds.seed ^ 0x6d6f_7265_6461_7461);
    generate_resources(ds, &mut rng);
    generate_experiments(ds, &mut rng);
    versioned(ds, &mut rng, Kind::FeatureGroup, FEATURE_GROUPS.len(), 3);
    versioned(ds, &mut rng, Kind::PackageGroup, PACKAGE_GROUPS.len(), 2);
    versioned(ds, &mut rng, Kind::Offer, OFFERS.len(), 3);
    let currencies = timeline(
        &mut rng,
        CATALOG_START,
        CUSTOMERS_START,
        CURRENCIES.len(),
        0,
    );
    push_rows(ds, &mut rng, Kind::CustomCurrency, &currencies, |rng, _| {
        ([0, 0], rng.next_u64())
    });
    generate_grants(ds, &mut rng);
    let mut override_rng = Rng::new(ds.seed ^ 0x6f76_6572_7269_6465);
    generate_overrides(ds, &mut override_rng);
}

/// One resource per subscription with a resourceId, created with it.
fn generate_resources(ds: &mut Dataset, rng: &mut Rng) {
    let mut rows = Vec::new();
    for (i, sub) in ds.rows(Kind::Subscription).iter().enumerate() {
        if let Some(Val::Str(_)) = scalar(ds, Kind::Subscription, i as u32, "resourceId") {
            rows.push(Row {
                id: rng.uuid(),
                created_at: sub.created_at,
                updated_at: sub.created_at,
                bits: rng.next_u64(),
                refs: [sub.refs[0], i as u32],
            });
        }
    }
    *ds.rows_mut(Kind::CustomerResource) = rows;
}

fn generate_experiments(ds: &mut Dataset, rng: &mut Rng) {
    let products = ds.rows(Kind::Product).len().max(1) as u64;
    let created = timeline(
        rng,
        CUSTOMERS_START,
        DATA_END - 90 * DAY,
        EXPERIMENTS.len(),
        0,
    );
    push_rows(ds, rng, Kind::Experiment, &created, |rng, i| {
        ([i as u32, rng.below(products) as u32], rng.next_u64())
    });
}

/// `count` numbered records of 1 to `max_versions` versions each; the last
/// version of each is the latest (bit 0 of `bits`). Versions of several
/// records interleave in time, and some are created in the same millisecond.
fn versioned(ds: &mut Dataset, rng: &mut Rng, kind: Kind, count: usize, max_versions: u64) {
    let mut specs: Vec<(Millis, u32, u32, bool)> = Vec::new();
    for number in 0..count as u32 {
        let versions = 1 + rng.below(max_versions) as u32;
        let mut at = CATALOG_START + rng.below(300) as i64 * DAY;
        for version in 1..=versions {
            specs.push((at, number, version, version == versions));
            at += (1 + rng.below(200)) as i64 * DAY;
        }
    }
    // A batch publish: two records share a creation time.
    if specs.len() > 2 {
        specs[1].0 = specs[0].0;
    }
    specs.sort_by_key(|s| s.0);
    let created: Vec<Millis> = specs.iter().map(|s| s.0.min(DATA_END)).collect();
    push_rows(ds, rng, kind, &created, |rng, i| {
        let (_, number, version, latest) = specs[i];
        ([number, version], (rng.next_u64() & !1) | u64::from(latest))
    });
}

/// Some customers get 1 to 4 grants in an active currency, in customer
/// order; each customer's grants are indexed for `creditGrants`.
fn generate_grants(ds: &mut Dataset, rng: &mut Rng) {
    let active: Vec<u32> = (0..CURRENCIES.len() as u32)
        .filter(|&c| !CURRENCIES[c as usize].5)
        .collect();
    let customers: Vec<Millis> = ds
        .rows(Kind::Customer)
        .iter()
        .map(|r| r.created_at)
        .collect();
    let mut rows = Vec::new();
    for (customer, &created) in customers.iter().enumerate() {
        if !rng.chance(CREDIT_CUSTOMERS) {
            continue;
        }
        let currency = active[rng.below(active.len() as u64) as usize];
        let mut at = created;
        for _ in 0..1 + rng.below(4) {
            at = (at + rng.below(120 * DAY as u64) as i64).min(DATA_END);
            let updated = (at + rng.below(30 * DAY as u64) as i64).min(DATA_END);
            let index = rows.len() as u32;
            rows.push(Row {
                id: rng.uuid(),
                created_at: at,
                updated_at: updated,
                bits: rng.next_u64(),
                refs: [customer as u32, currency],
            });
            ds.grants_by_customer
                .entry(customer as u32)
                .or_default()
                .push(index);
        }
    }
    *ds.rows_mut(Kind::CreditGrant) = rows;
}

/// Some subscriptions override 1 to 3 of their plan's NUMBER feature
/// entitlements (metered features first), in subscription order. Overrides
/// come at least 31 days after the subscription was created (so after its
/// start, whatever its status), often several in one millisecond.
fn generate_overrides(ds: &mut Dataset, rng: &mut Rng) {
    let candidates: Vec<Vec<(u32, bool)>> = (0..ds.rows(Kind::Plan).len() as u32)
        .map(|plan| override_candidates(ds, plan))
        .collect();
    let mut rows = Vec::new();
    for (i, sub) in ds.rows(Kind::Subscription).iter().enumerate() {
        if !rng.chance(OVERRIDE_SUBSCRIPTIONS) {
            continue;
        }
        let earliest = sub.created_at + 31 * DAY;
        let Some(features) = candidates.get(sub.refs[1] as usize) else {
            continue;
        };
        if features.is_empty() || earliest >= DATA_END {
            continue;
        }
        // Metered features first, each group in a random order.
        let mut order: Vec<(bool, u64, u32)> = features
            .iter()
            .map(|&(f, metered)| (!metered, rng.next_u64(), f))
            .collect();
        order.sort_unstable();
        let count = (1 + rng.below(3) as usize).min(order.len());
        let mut at = (earliest + rng.below(150 * DAY as u64) as i64).min(DATA_END);
        for (j, &(_, _, feature)) in order.iter().take(count).enumerate() {
            if j > 0 && rng.chance(50) {
                at = (at + rng.below(60 * DAY as u64) as i64).min(DATA_END);
            }
            let updated_at = match rng.below(10) {
                0..=3 => at,
                _ => at + rng.below((DATA_END - at).max(1) as u64) as i64,
            };
            rows.push(Row {
                id: rng.uuid(),
                created_at: at,
                updated_at,
                bits: rng.next_u64(),
                refs: [i as u32, feature],
            });
        }
    }
    *ds.rows_mut(Kind::SubscriptionEntitlement) = rows;
}
