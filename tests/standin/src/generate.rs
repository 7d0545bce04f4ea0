//! Deterministic generation of a dataset from a seed.
//!
//! Timestamps spread over a few years, with some exact duplicates on purpose:
//! sorting and paging must stay correct when createdAt/updatedAt tie.

use crate::data::{Dataset, Kind, Row};
use crate::fields::{counts_as_active, feature_is_metered, package_bits, promotion_status};
use crate::rng::Rng;
use crate::time::Millis;
use crate::words::{ADDONS, COUPONS, FEATURES, PLAN_TIERS, PRODUCTS};

pub(crate) const DAY: Millis = 86_400_000;
pub(crate) const CATALOG_START: Millis = 1_630_454_400_000; // 2021-09-01
pub(crate) const CUSTOMERS_START: Millis = 1_641_168_000_000; // 2022-01-03
const CUSTOMERS_END: Millis = 1_735_603_200_000; // 2024-12-31
/// Nothing generated is later than this, so `touch_customers` (now) is
/// always the newest update.
pub(crate) const DATA_END: Millis = 1_751_241_600_000; // 2025-06-30

const ADDON_COUNT: usize = 18;
const PROMOTION_COUNT: usize = 40;
const USAGE_COUNT: usize = 60;

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    pub customers: usize,
    pub subscriptions_per_customer: usize,
}

pub fn generate(seed: u64, sizes: Sizes) -> Dataset {
    let mut rng = Rng::new(seed);
    let mut ds = Dataset::new(seed, rng.uuid());
    generate_catalog(&mut ds, &mut rng);
    generate_customers(&mut ds, &mut rng, sizes.customers);
    generate_subscriptions(&mut ds, &mut rng, sizes.subscriptions_per_customer);
    generate_promotions(&mut ds, &mut rng);
    generate_usage(&mut ds, &mut rng);
    count_active(&mut ds);
    crate::generate_more::generate_more(&mut ds);
    ds
}

/// Creation times starting at `start`, about `step` apart, where each one
/// repeats the previous with probability `tie_percent`.
pub(crate) fn timeline(
    rng: &mut Rng,
    start: Millis,
    end: Millis,
    count: usize,
    tie_percent: u64,
) -> Vec<Millis> {
    let step = ((end - start) / count.max(1) as i64).max(1) as u64;
    let mut t = start;
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        if i == 0 || !rng.chance(tie_percent) {
            t = (t + rng.below(2 * step) as i64).min(end);
        }
        out.push(t);
    }
    out
}

/// An update time at or after `created`: often equal, sometimes equal to the
/// previous row's (a bulk update), otherwise any time up to DATA_END.
fn updated_after(rng: &mut Rng, created: Millis, previous: Option<Millis>) -> Millis {
    match rng.below(100) {
        0..=29 => created,
        30..=33 => previous.filter(|p| *p >= created).unwrap_or(created),
        _ => created + rng.below((DATA_END - created).max(1) as u64) as i64,
    }
}

pub(crate) fn push_rows(
    ds: &mut Dataset,
    rng: &mut Rng,
    kind: Kind,
    created: &[Millis],
    make: impl Fn(&mut Rng, usize) -> ([u32; 2], u64),
) {
    let mut previous = None;
    for (i, &created_at) in created.iter().enumerate() {
        let updated_at = updated_after(rng, created_at, previous);
        let (refs, bits) = make(rng, i);
        let row = Row {
            id: rng.uuid(),
            created_at,
            updated_at,
            bits,
            refs,
        };
        ds.rows_mut(kind).push(row);
        previous = Some(updated_at);
    }
}

fn generate_catalog(ds: &mut Dataset, rng: &mut Rng) {
    let products = timeline(
        rng,
        CATALOG_START,
        CATALOG_START + 120 * DAY,
        PRODUCTS.len(),
        0,
    );
    push_rows(ds, rng, Kind::Product, &products, |rng, _| {
        ([0, 0], rng.next_u64())
    });

    let features = timeline(rng, CATALOG_START, CUSTOMERS_START, FEATURES.len(), 20);
    push_rows(ds, rng, Kind::Feature, &features, |rng, _| {
        ([0, 0], rng.next_u64())
    });

    generate_plans(ds, rng);
    generate_addons(ds, rng);

    let coupons = timeline(rng, CUSTOMERS_START, CUSTOMERS_END, COUPONS.len(), 10);
    push_rows(ds, rng, Kind::Coupon, &coupons, |rng, _| {
        ([0, 0], rng.next_u64())
    });
}

/// Each product gets a run of tiers; some tiers have a second version.
/// Plans of one product are often published together (same createdAt).
fn generate_plans(ds: &mut Dataset, rng: &mut Rng) {
    let product_times: Vec<Millis> = ds
        .rows(Kind::Product)
        .iter()
        .map(|r| r.created_at)
        .collect();
    let mut created = Vec::new();
    let mut specs = Vec::new();
    for (product, &product_created) in product_times.iter().enumerate() {
        let first_tier = rng.below(2) as usize;
        let tiers = 4 + rng.below(2) as usize;
        let batch = product_created + rng.below(10 * DAY as u64) as i64;
        for tier in first_tier..(first_tier + tiers).min(PLAN_TIERS.len()) {
            let v1 = if rng.chance(50) {
                batch
            } else {
                batch + rng.below(60 * DAY as u64) as i64
            };
            let versions = if rng.chance(25) { 2 } else { 1 };
            for version in 1..=versions {
                let at = if version == 1 {
                    v1
                } else {
                    v1 + rng.below(400 * DAY as u64) as i64
                };
                created.push(at);
                specs.push((product as u32, version, tier, version == versions));
            }
        }
    }
    push_rows(ds, rng, Kind::Plan, &created, |rng, i| {
        let (product, version, tier, latest) = specs[i];
        (
            [product, version],
            package_bits(rng.next_u64(), tier, latest),
        )
    });
}

fn generate_addons(ds: &mut Dataset, rng: &mut Rng) {
    let products = ds.rows(Kind::Product).len() as u64;
    let mut specs = Vec::new();
    for i in 0..ADDON_COUNT {
        let name = i % ADDONS.len();
        let second = i >= ADDONS.len();
        // An addon without a product is rare but allowed (Addon.product is nullable).
        let product = if rng.chance(10) {
            u32::MAX
        } else {
            rng.below(products) as u32
        };
        specs.push((product, if second { 2 } else { 1 }, name));
    }
    // The second version of an addon is its latest; versions 1 of those are not.
    let latest: Vec<bool> = specs
        .iter()
        .map(|&(_, v, name)| v == 2 || !specs.iter().any(|s| s.2 == name && s.1 == 2))
        .collect();
    let created = timeline(
        rng,
        CATALOG_START + 30 * DAY,
        CUSTOMERS_END,
        ADDON_COUNT,
        15,
    );
    push_rows(ds, rng, Kind::Addon, &created, |rng, i| {
        let (product, version, name) = specs[i];
        (
            [product, version],
            package_bits(rng.next_u64(), name, latest[i]),
        )
    });
}

fn generate_customers(ds: &mut Dataset, rng: &mut Rng, count: usize) {
    let created = timeline(rng, CUSTOMERS_START, CUSTOMERS_END, count, 4);
    ds.rows_mut(Kind::Customer).reserve_exact(count);
    push_rows(ds, rng, Kind::Customer, &created, |rng, _| {
        ([0, 0], rng.next_u64())
    });
}

/// A customer's first subscription starts with the customer (often in the
/// same millisecond); later ones follow, sometimes several at once.
fn generate_subscriptions(ds: &mut Dataset, rng: &mut Rng, per_customer: usize) {
    let plans = ds.rows(Kind::Plan).len() as u64;
    let customers: Vec<Millis> = ds
        .rows(Kind::Customer)
        .iter()
        .map(|r| r.created_at)
        .collect();
    let mut rows = Vec::with_capacity(customers.len() * per_customer);
    for (customer, &customer_created) in customers.iter().enumerate() {
        let mut previous = customer_created;
        for j in 0..per_customer {
            let created_at = match j {
                0 if rng.chance(30) => customer_created,
                0 => customer_created + rng.below(2 * DAY as u64) as i64,
                _ if rng.chance(10) => previous,
                _ => previous + rng.below(400 * DAY as u64) as i64,
            }
            .min(DATA_END);
            previous = created_at;
            let refs = [customer as u32, rng.below(plans) as u32];
            rows.push(Row {
                id: rng.uuid(),
                created_at,
                updated_at: created_at,
                bits: rng.next_u64(),
                refs,
            });
        }
    }
    *ds.rows_mut(Kind::Subscription) = rows;
}

fn generate_promotions(ds: &mut Dataset, rng: &mut Rng) {
    let customers = ds.rows(Kind::Customer).to_vec_created();
    if customers.is_empty() {
        return;
    }
    let features = ds.rows(Kind::Feature).len() as u64;
    let mut picks: Vec<(u32, Millis)> = (0..PROMOTION_COUNT)
        .map(|_| {
            let customer = rng.below(customers.len() as u64) as usize;
            (
                customer as u32,
                customers[customer] + rng.below(90 * DAY as u64) as i64,
            )
        })
        .collect();
    picks.sort_by_key(|p| p.1);
    let created: Vec<Millis> = picks.iter().map(|p| p.1.min(DATA_END)).collect();
    push_rows(ds, rng, Kind::PromotionalEntitlement, &created, |rng, i| {
        ([picks[i].0, rng.below(features) as u32], rng.next_u64())
    });
}

fn generate_usage(ds: &mut Dataset, rng: &mut Rng) {
    let customers = ds.rows(Kind::Customer).to_vec_created();
    let metered: Vec<u32> = (0..ds.rows(Kind::Feature).len())
        .filter(|&f| feature_is_metered(f))
        .map(|f| f as u32)
        .collect();
    if customers.is_empty() || metered.is_empty() {
        return;
    }
    let mut rows = Vec::with_capacity(USAGE_COUNT);
    for _ in 0..USAGE_COUNT {
        let customer = rng.below(customers.len() as u64) as usize;
        let created_at = (customers[customer] + rng.below(200 * DAY as u64) as i64).min(DATA_END);
        let feature = metered[rng.below(metered.len() as u64) as usize];
        rows.push(Row {
            id: rng.uuid(),
            created_at,
            updated_at: created_at,
            bits: rng.next_u64(),
            refs: [customer as u32, feature],
        });
    }
    // Reports of one batch arrive in the same millisecond.
    for i in 1..rows.len() {
        if rng.chance(10) {
            rows[i].created_at = rows[i - 1].created_at;
            rows[i].updated_at = rows[i].created_at;
        }
    }
    *ds.rows_mut(Kind::UsageMeasurement) = rows;
}

/// Fills the customers' active subscription and promotion counts.
fn count_active(ds: &mut Dataset) {
    let mut counts = vec![[0u32; 2]; ds.rows(Kind::Customer).len()];
    for sub in ds.rows(Kind::Subscription) {
        if counts_as_active(sub.bits) {
            counts[sub.refs[0] as usize][0] += 1;
        }
    }
    for promo in ds.rows(Kind::PromotionalEntitlement) {
        if promotion_status(promo.bits) == "Active" {
            counts[promo.refs[0] as usize][1] += 1;
        }
    }
    for (row, count) in ds.rows_mut(Kind::Customer).iter_mut().zip(counts) {
        row.refs = count;
    }
}

trait CreatedTimes {
    fn to_vec_created(&self) -> Vec<Millis>;
}

impl CreatedTimes for [Row] {
    fn to_vec_created(&self) -> Vec<Millis> {
        self.iter().map(|r| r.created_at).collect()
    }
}
