//! Nested fields of plans and add-ons: price books (see `money`),
//! entitlements, trial configuration and links to other add-ons.
//!
//! A plan entitles to every feature it prices plus a few more (more for
//! higher tiers); add-ons add to one or two features (behavior Increment).

use super::catalog::{name_index, pricing_for_tier, row_is_latest, tier, TIER_COUNT};
use super::money::{self, PriceSpec};
use super::tree::{Obj, Tree};
use super::{opt_str, Node, Val};
use crate::data::{Dataset, Kind};
use crate::rng::{derive_uuid, format_uuid};
use crate::words::{ENUM_VALUES, FEATURES};

/// A nested field of a plan or add-on; `None` when the type has none such.
pub(super) fn package_nested(n: &Node, kind: Kind, field: &str) -> Option<Tree> {
    let tree = match (kind, field) {
        (_, "prices") => price_list(n.ds, &money::prices(n, kind)),
        (_, "overagePrices") => price_list(n.ds, &money::overage_prices(n, kind)),
        (_, "packageEntitlements") => Tree::List(entitlements(n, kind)),
        (Kind::Plan, "minimumSpend") => money::minimum_spend(n),
        (Kind::Plan, "defaultTrialConfig") => default_trial(n).into(),
        (Kind::Plan, "compatibleAddons") => Tree::List(
            compatible_addons(n.ds, n.index)
                .into_iter()
                .map(|a| Tree::Row(Kind::Addon, a))
                .collect(),
        ),
        (Kind::Addon, "dependencies") => Tree::List(
            dependency(n)
                .map(|a| Tree::Row(Kind::Addon, a))
                .into_iter()
                .collect(),
        ),
        _ => return None,
    };
    Some(tree)
}

pub fn price_list(ds: &Dataset, specs: &[PriceSpec]) -> Tree {
    Tree::from(
        specs
            .iter()
            .map(|s| money::price_obj(ds, s))
            .collect::<Vec<_>>(),
    )
}

/// Latest add-ons of the plan's product, for paid plans.
pub fn compatible_addons(ds: &Dataset, plan: u32) -> Vec<u32> {
    let Some(row) = ds.row(Kind::Plan, plan) else {
        return Vec::new();
    };
    let n = Node {
        ds,
        row,
        index: plan,
    };
    if pricing_for_tier(tier(&n)) != "PAID" {
        return Vec::new();
    }
    ds.rows(Kind::Addon)
        .iter()
        .enumerate()
        .filter(|(_, a)| a.refs[0] == row.refs[0] && row_is_latest(a))
        .map(|(i, _)| i as u32)
        .collect()
}

/// Some add-ons require another one.
fn dependency(n: &Node) -> Option<u32> {
    let count = n.ds.rows(Kind::Addon).len() as u64;
    if count < 2 || !n.chance(650, 25) {
        return None;
    }
    Some(((u64::from(n.index) + 1 + n.roll(651) % (count - 1)) % count) as u32)
}

/// The package's rank for limits: the plan tier, or 1..3 for add-ons.
fn rank(n: &Node, kind: Kind) -> usize {
    match kind {
        Kind::Plan => name_index(n) % TIER_COUNT,
        _ => 1 + name_index(n) % 3,
    }
}

/// Features a package entitles to, each once: priced ones first.
fn entitled_features(n: &Node, kind: Kind) -> Vec<u32> {
    let mut features: Vec<u32> = Vec::new();
    let specs = money::prices(n, kind)
        .into_iter()
        .chain(money::overage_prices(n, kind));
    for f in specs.filter_map(|s| s.feature) {
        if !features.contains(&f) {
            features.push(f);
        }
    }
    let count = n.ds.rows(Kind::Feature).len() as u64;
    let wanted = match kind {
        Kind::Plan => 3 + rank(n, kind),
        _ => 1 + (n.roll(600) % 2) as usize,
    }
    .min(count as usize);
    let mut salt = 601;
    while features.len() < wanted && salt < 700 {
        let f = (n.roll(salt) % count.max(1)) as u32;
        if !features.contains(&f) {
            features.push(f);
        }
        salt += 1;
    }
    features
}

/// A package's feature entitlements (`PackageFeatureEntitlement`s), each
/// with its feature row, as `packageEntitlements` lists them.
pub(super) fn feature_entitlements(n: &Node, kind: Kind) -> Vec<(u32, Obj)> {
    entitled_features(n, kind)
        .into_iter()
        .enumerate()
        .map(|(j, f)| (f, feature_entitlement(n, kind, j as u64, f)))
        .collect()
}

fn entitlements(n: &Node, kind: Kind) -> Vec<Tree> {
    let mut out: Vec<Tree> = feature_entitlements(n, kind)
        .into_iter()
        .map(|(_, e)| Tree::Obj(e))
        .collect();
    let credits = match kind {
        Kind::Plan => matches!(rank(n, kind), 2..=5) && n.chance(630, 30),
        _ => n.chance(631, 15),
    };
    if credits {
        out.push(Tree::Obj(credit_entitlement(n, kind, out.len() as u64)));
    }
    out
}

/// The fields both entitlement types share, in the connector's order.
fn common(n: &Node, kind: Kind, type_name: &'static str, j: u64) -> Obj {
    let behavior = match kind {
        Kind::Plan => "Override",
        _ => "Increment",
    };
    Obj::new(type_name)
        .with("id", Val::Uuid(derive_uuid(n.row.id, 5000 + j)))
        .with("packageId", Val::Str(format_uuid(n.row.id)))
        .with("behavior", Val::Enum(behavior))
}

fn tail(n: &Node, obj: Obj, j: u64, soft: Val) -> Obj {
    obj.with("hasSoftLimit", soft)
        .with(
            "isCustom",
            if n.chance(610 + j, 30) {
                Val::Null
            } else {
                Val::Bool(false)
            },
        )
        .with("isGranted", Val::Bool(true))
        .with(
            "description",
            opt_str(n.chance(620 + j, 20), || "Included in the package".into()),
        )
        .with(
            "displayNameOverride",
            opt_str(n.chance(640 + j, 10), || "Custom limit".into()),
        )
        .with(
            "order",
            if n.chance(660 + j, 20) {
                Val::Null
            } else {
                Val::Float((j + 1) as f64)
            },
        )
        .with("environmentId", n.environment_id())
        .with("createdAt", Val::Time(n.row.created_at))
        .with("updatedAt", Val::Time(n.row.updated_at))
}

fn feature_entitlement(n: &Node, kind: Kind, j: u64, feature: u32) -> Obj {
    let (_, ty, meter) = FEATURES[feature as usize % FEATURES.len()];
    let numeric = ty == "NUMBER";
    let unlimited =
        numeric && (tier(n) == "Enterprise" && kind == Kind::Plan || n.chance(680 + j, 8));
    let soft = if numeric {
        Val::Bool(n.chance(690 + j, 15))
    } else {
        Val::Null
    };
    let limit = {
        const BASE: [f64; 6] = [5.0, 10.0, 25.0, 50.0, 100.0, 500.0];
        let scale = if meter == "Incremental" { 1000.0 } else { 1.0 };
        BASE[rank(n, kind) % BASE.len()] * scale
    };
    let feature_id =
        n.ds.row(Kind::Feature, feature)
            .map_or(Val::Null, |r| Val::Str(format_uuid(r.id)));
    let obj = common(n, kind, "PackageFeatureEntitlement", j);
    tail(n, obj, j, soft)
        .with("featureId", feature_id)
        .with("feature", Tree::Row(Kind::Feature, feature))
        .with(
            "usageLimit",
            if numeric && !unlimited {
                Val::Float(limit)
            } else {
                Val::Null
            },
        )
        .with(
            "hasUnlimitedUsage",
            if numeric {
                Val::Bool(unlimited)
            } else {
                Val::Null
            },
        )
        .with(
            "resetPeriod",
            if meter == "Incremental" {
                Val::Enum(if n.chance(700 + j, 20) {
                    "YEAR"
                } else {
                    "MONTH"
                })
            } else {
                Val::Null
            },
        )
        .with(
            "enumValues",
            if ty == "ENUM" {
                let take = 1 + (n.roll(710 + j) % 2) as usize;
                Val::List(
                    ENUM_VALUES
                        .iter()
                        .take(take)
                        .map(|v| Val::Str(v.to_string()))
                        .collect(),
                )
            } else {
                Val::Null
            },
        )
}

/// The environment's one custom currency ("credits").
pub fn credit_currency_id(ds: &Dataset) -> String {
    format_uuid(derive_uuid(ds.environment_id, 77))
}

fn credit_entitlement(n: &Node, kind: Kind, j: u64) -> Obj {
    let obj = common(n, kind, "PackageCreditEntitlement", j);
    tail(n, obj, j, Val::Null)
        .with("amount", Val::Float(1000.0 * rank(n, kind) as f64))
        .with(
            "cadence",
            Val::Enum(if n.chance(720, 25) { "YEAR" } else { "MONTH" }),
        )
        .with("customCurrencyId", Val::Str(credit_currency_id(n.ds)))
}

/// `Plan.defaultTrialConfig`: about half the paid plans offer a trial.
pub fn default_trial(n: &Node) -> Option<Obj> {
    if pricing_for_tier(tier(n)) != "PAID" || !n.chance(730, 50) {
        return None;
    }
    let (duration, units) = n.choose(731, &[(14.0, "DAY"), (30.0, "DAY"), (1.0, "MONTH")]);
    let budget = n.chance(733, 30).then(|| {
        Obj::new("BudgetConfiguration")
            .with("hasSoftLimit", Val::Bool(n.chance(734, 50)))
            .with("limit", Val::Float(n.choose(735, &[50.0, 100.0, 500.0])))
    });
    Some(
        Obj::new("DefaultTrialConfig")
            .with("duration", Val::Float(duration))
            .with("units", Val::Enum(units))
            .with(
                "trialEndBehavior",
                match n.roll(732) % 10 {
                    0 => Val::Null,
                    1 | 2 => Val::Enum("CANCEL_SUBSCRIPTION"),
                    _ => Val::Enum("CONVERT_TO_PAID"),
                },
            )
            .with("budget", budget),
    )
}
