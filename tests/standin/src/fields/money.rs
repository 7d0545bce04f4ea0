//! Price books of plans and add-ons, derived from the package row's bits.
//!
//! Every paid package is priced for both billing periods in US dollars,
//! and often also in euros (billingCountryCode DE) and pounds (GB); add-ons
//! always in all three, so any subscription's currency can buy them. Plans
//! combine a FLAT_FEE base, sometimes PER_UNIT seats, USAGE_BASED usage
//! (often tiered) and a MINIMUM_SPEND; free and custom plans have no prices.

use super::catalog::{name_index, pricing_for_tier, tier};
use super::tree::{Obj, Tree};
use super::{base62, Node, Val};
use crate::data::{Dataset, Kind};
use crate::rng::{derive_uuid, format_uuid};
use crate::time::Millis;
use crate::words::FEATURES;

pub const PERIODS: [&str; 2] = ["MONTHLY", "ANNUALLY"];

/// (billingCountryCode, currency, factor from the dollar price).
pub const LOCALES: [(Option<&str>, &str, f64); 3] = [
    (None, "USD", 1.0),
    (Some("DE"), "EUR", 1.0),
    (Some("GB"), "GBP", 0.8),
];

#[derive(Debug, Clone, PartialEq)]
pub struct Tier {
    pub up_to: Option<f64>,
    pub unit: Option<f64>,
    pub flat: Option<f64>,
}

/// One `Price` of a package, before it becomes a tree.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceSpec {
    pub id: u128,
    pub model: &'static str,
    pub period: &'static str,
    pub currency: &'static str,
    pub country: Option<&'static str>,
    /// `price.amount`; `None` for tiered prices.
    pub amount: Option<f64>,
    pub tiers: Option<(&'static str, Vec<Tier>)>,
    pub feature: Option<u32>,
    pub block_size: Option<f64>,
    pub min_units: Option<f64>,
    pub max_units: Option<f64>,
    pub reset_period: Option<&'static str>,
    /// Bits of the Stripe price id (formatted only when rendered).
    pub billing_id: Option<u64>,
    pub package_id: u128,
    pub created_at: Millis,
}

/// What one price line looks like before localization.
struct Line {
    model: &'static str,
    /// Monthly dollar amount (per unit for PER_UNIT and USAGE_BASED).
    monthly: Option<f64>,
    tiers: Option<(&'static str, Vec<Tier>)>,
    feature: Option<u32>,
    block_size: Option<f64>,
    min_units: Option<f64>,
    max_units: Option<f64>,
    /// Usage is priced per unit whatever the period.
    per_period: bool,
}

impl Line {
    fn new(model: &'static str, monthly: Option<f64>) -> Line {
        Line {
            model,
            monthly,
            tiers: None,
            feature: None,
            block_size: None,
            min_units: None,
            max_units: None,
            per_period: true,
        }
    }
}

/// Whether the package row is paid at all.
fn is_paid(n: &Node, kind: Kind) -> bool {
    kind == Kind::Addon || pricing_for_tier(tier(n)) == "PAID"
}

/// `overageBillingPeriod`: set exactly when the package has overage prices.
pub fn overage_billing_period(n: &Node, kind: Kind) -> Val {
    if !is_paid(n, kind) {
        return Val::Null;
    }
    match n.roll(202) % 4 {
        2 => Val::Enum("MONTHLY"),
        3 => Val::Enum("ON_SUBSCRIPTION_RENEWAL"),
        _ => Val::Null,
    }
}

/// The currencies a package is priced in (indices into LOCALES).
fn locales(n: &Node, kind: Kind) -> Vec<usize> {
    let mut out = vec![0];
    if kind == Kind::Addon || n.chance(240, 50) {
        out.push(1);
    }
    if kind == Kind::Addon || n.chance(241, 35) {
        out.push(2);
    }
    out
}

/// The first NUMBER feature with the given meter type, from a rolled start.
pub fn pick_feature(n: &Node, salt: u64, meter: &str) -> Option<u32> {
    let count = n.ds.rows(Kind::Feature).len();
    let start = (n.roll(salt) % count.max(1) as u64) as usize;
    (0..count)
        .map(|i| (start + i) % count)
        .find(|&f| {
            let (_, ty, m) = FEATURES[f % FEATURES.len()];
            ty == "NUMBER" && m == meter
        })
        .map(|f| f as u32)
}

fn plan_lines(n: &Node) -> Vec<Line> {
    const BASE: [[f64; 3]; 4] = [
        [9.0, 15.0, 19.0],
        [29.0, 39.0, 49.0],
        [79.0, 99.0, 149.0],
        [249.0, 299.0, 499.0],
    ];
    let rank = name_index(n) % super::catalog::TIER_COUNT;
    if !(1..=4).contains(&rank) {
        return Vec::new();
    }
    let base = BASE[rank - 1][(n.roll(250) % 3) as usize];
    let mut lines = vec![Line::new("FLAT_FEE", Some(base))];
    if n.chance(251, 40) {
        if let Some(feature) = pick_feature(n, 252, "Fluctuating") {
            let mut seats = Line::new("PER_UNIT", Some([5.0, 8.0, 10.0, 12.0][rank - 1]));
            seats.feature = Some(feature);
            seats.min_units = Some(1.0);
            seats.max_units = n.chance(253, 50).then_some(100.0 * rank as f64);
            seats.block_size = n.chance(254, 20).then_some(5.0);
            lines.push(seats);
        }
    }
    if n.chance(255, 45) {
        if let Some(feature) = pick_feature(n, 256, "Incremental") {
            lines.push(usage_line(n, feature, rank));
        }
    }
    if n.chance(257, 20) {
        lines.push(Line::new("MINIMUM_SPEND", Some(base * 3.0)));
    }
    lines
}

fn usage_line(n: &Node, feature: u32, rank: usize) -> Line {
    let mut usage = Line::new("USAGE_BASED", None);
    usage.feature = Some(feature);
    usage.per_period = false;
    let step = 1000.0 * rank as f64;
    if n.chance(258, 60) {
        let mode = if n.chance(259, 50) {
            "GRADUATED"
        } else {
            "VOLUME"
        };
        let flat = n.chance(260, 30).then_some(10.0);
        usage.tiers = Some((
            mode,
            vec![
                Tier {
                    up_to: Some(step),
                    unit: Some(0.0),
                    flat,
                },
                Tier {
                    up_to: Some(step * 10.0),
                    unit: Some(0.01),
                    flat: None,
                },
                Tier {
                    up_to: None,
                    unit: Some(0.005),
                    flat: None,
                },
            ],
        ));
    } else {
        usage.monthly = Some(n.choose(261, &[0.002, 0.01, 0.05]));
        usage.block_size = n.chance(262, 30).then_some(100.0);
    }
    usage
}

fn addon_lines(n: &Node) -> Vec<Line> {
    if n.chance(270, 30) {
        if let Some(feature) = pick_feature(n, 271, "Fluctuating") {
            let mut units = Line::new("PER_UNIT", Some(n.choose(272, &[2.0, 3.0, 5.0, 8.0])));
            units.feature = Some(feature);
            units.min_units = Some(1.0);
            return vec![units];
        }
    }
    let amount = n.choose(273, &[5.0, 10.0, 15.0, 20.0, 25.0, 49.0, 99.0]);
    vec![Line::new("FLAT_FEE", Some(amount))]
}

fn overage_lines(n: &Node, kind: Kind) -> Vec<Line> {
    if overage_billing_period(n, kind).is_null() {
        return Vec::new();
    }
    let Some(feature) = pick_feature(n, 280, "Incremental") else {
        return Vec::new();
    };
    let mut line = Line::new("USAGE_BASED", Some(n.choose(281, &[0.01, 0.02, 0.05, 0.1])));
    line.feature = Some(feature);
    line.per_period = false;
    line.block_size = n.chance(282, 40).then_some(1000.0);
    vec![line]
}

/// A package's base prices (`prices`).
pub fn prices(n: &Node, kind: Kind) -> Vec<PriceSpec> {
    if !is_paid(n, kind) {
        return Vec::new();
    }
    let lines = match kind {
        Kind::Plan => plan_lines(n),
        _ => addon_lines(n),
    };
    localize(n, kind, &lines, 0)
}

/// A package's overage prices (`overagePrices`).
pub fn overage_prices(n: &Node, kind: Kind) -> Vec<PriceSpec> {
    localize(n, kind, &overage_lines(n, kind), 1000)
}

/// Lines × periods × currencies, with ids unique per (package, slot).
fn localize(n: &Node, kind: Kind, lines: &[Line], group: u64) -> Vec<PriceSpec> {
    let has_billing = match kind {
        Kind::Plan => true,
        _ => n.chance(215, 80),
    };
    let mut out = Vec::new();
    for (l, line) in lines.iter().enumerate() {
        for (p, &period) in PERIODS.iter().enumerate() {
            for locale in locales(n, kind) {
                let (country, currency, factor) = LOCALES[locale];
                let slot = group + 100 * l as u64 + 10 * p as u64 + locale as u64;
                let months = if period == "ANNUALLY" && line.per_period {
                    10.0 // two months free
                } else {
                    1.0
                };
                out.push(PriceSpec {
                    id: derive_uuid(n.row.id, slot),
                    model: line.model,
                    period,
                    currency,
                    country,
                    amount: line.monthly.map(|a| local(a * months, factor)),
                    tiers: line.tiers.as_ref().map(|(mode, tiers)| {
                        let tiers = tiers
                            .iter()
                            .map(|t| Tier {
                                up_to: t.up_to,
                                unit: t.unit.map(|a| local(a, factor)),
                                flat: t.flat.map(|a| local(a, factor)),
                            })
                            .collect();
                        (*mode, tiers)
                    }),
                    feature: line.feature,
                    block_size: line.block_size,
                    min_units: line.min_units,
                    max_units: line.max_units,
                    reset_period: (line.model == "USAGE_BASED").then_some("MONTH"),
                    billing_id: has_billing.then(|| n.roll(10_000 + slot)),
                    package_id: n.row.id,
                    created_at: n.row.created_at,
                });
            }
        }
    }
    out
}

/// A dollar amount in another currency: whole prices stay whole.
fn local(amount: f64, factor: f64) -> f64 {
    if factor == 1.0 {
        amount
    } else if amount >= 5.0 {
        (amount * factor).round()
    } else {
        round_to(amount * factor, 4)
    }
}

pub fn round_to(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

pub fn cents(value: f64) -> f64 {
    round_to(value, 2)
}

pub fn money(amount: f64, currency: &'static str) -> Obj {
    Obj::new("Money")
        .with("amount", Val::Float(amount))
        .with("currency", Val::Enum(currency))
}

fn opt_float(v: Option<f64>) -> Val {
    v.map_or(Val::Null, Val::Float)
}

/// The `Price` object of a spec.
pub fn price_obj(ds: &Dataset, spec: &PriceSpec) -> Obj {
    let tiers = spec.tiers.as_ref().map_or(Tree::null(), |(_, tiers)| {
        Tree::List(
            tiers
                .iter()
                .map(|t| {
                    Tree::Obj(
                        Obj::new("PriceTier")
                            .with("upTo", opt_float(t.up_to))
                            .with("unitPrice", t.unit.map(|a| money(a, spec.currency)))
                            .with("flatPrice", t.flat.map(|a| money(a, spec.currency))),
                    )
                })
                .collect(),
        )
    });
    let feature_row = spec
        .feature
        .and_then(|f| Some((f, ds.row(Kind::Feature, f)?)));
    let feature_id = feature_row.map_or(Val::Null, |(_, r)| Val::Str(format_uuid(r.id)));
    let feature = feature_row.map_or(Tree::null(), |(f, _)| Tree::Row(Kind::Feature, f));
    Obj::new("Price")
        .with("id", Val::Uuid(spec.id))
        .with("billingModel", Val::Enum(spec.model))
        .with("billingPeriod", Val::Enum(spec.period))
        .with("billingCadence", Val::Enum("RECURRING"))
        .with("price", spec.amount.map(|a| money(a, spec.currency)))
        .with(
            "tiersMode",
            spec.tiers.as_ref().map_or(Val::Null, |t| Val::Enum(t.0)),
        )
        .with("tiers", tiers)
        .with("featureId", feature_id)
        .with("feature", feature)
        .with("blockSize", opt_float(spec.block_size))
        .with("minUnitQuantity", opt_float(spec.min_units))
        .with("maxUnitQuantity", opt_float(spec.max_units))
        .with(
            "billingCountryCode",
            spec.country.map_or(Val::Null, |c| Val::Str(c.to_string())),
        )
        .with(
            "billingId",
            spec.billing_id
                .map_or(Val::Null, |b| Val::Str(format!("price_{}", base62(b, 24)))),
        )
        .with(
            "resetPeriod",
            spec.reset_period.map_or(Val::Null, Val::Enum),
        )
        .with("creditGrantCadence", Val::Null)
        .with("creditRate", Val::Null)
        .with("topUpCustomCurrencyId", Val::Null)
        .with("isOverridePrice", Val::Bool(false))
        .with("packageId", Val::Str(format_uuid(spec.package_id)))
        .with("createdAt", Val::Time(spec.created_at))
}

/// `Plan.minimumSpend`: one entry per MINIMUM_SPEND price.
pub fn minimum_spend(n: &Node) -> Tree {
    Tree::from(
        prices(n, Kind::Plan)
            .iter()
            .filter(|p| p.model == "MINIMUM_SPEND")
            .map(|p| {
                Obj::new("MinimumSpend")
                    .with("billingPeriod", Val::Enum(p.period))
                    .with("minimum", money(p.amount.unwrap_or(0.0), p.currency))
            })
            .collect::<Vec<_>>(),
    )
}
