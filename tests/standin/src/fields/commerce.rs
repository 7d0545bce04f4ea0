//! Coupon, PromotionalEntitlement and UsageMeasurement fields.

use serde_json::json;

use super::money::money;
use super::overrides::reset_configuration_for;
use super::tree::{Obj, Tree};
use super::{base62, catalog, json, opt_str, opt_time, slug, Node, Val, DAY};
use crate::data::Kind;
use crate::words::{COUPONS, ENUM_VALUES};

/// Whether a coupon takes a percentage off (else a fixed amount).
fn percent(n: &Node) -> bool {
    n.chance(300, 70)
}

/// A fixed coupon's amount off, in US dollars; null for a percentage.
pub(super) fn amounts_off(n: &Node) -> Tree {
    match percent(n) {
        true => Tree::null(),
        false => Tree::from(vec![money(amount_off(n), "USD")]),
    }
}

pub(super) fn coupon(n: &Node, field: &str) -> Option<Val> {
    let name = COUPONS[n.index as usize % COUPONS.len()];
    let percent = percent(n);
    let value = match field {
        "id" => Val::Uuid(n.row.id),
        "refId" => Val::Str(format!("coupon-{}", slug(name))),
        "name" => Val::Str(name.to_string()),
        "description" => opt_str(!n.chance(301, 40), || format!("{name} discount")),
        "createdAt" => Val::Time(n.row.created_at),
        "updatedAt" => Val::Time(n.row.updated_at),
        "environmentId" => n.environment_id(),
        "type" => Val::Enum(if percent { "PERCENTAGE" } else { "FIXED" }),
        "percentOff" => {
            if percent {
                Val::Float(percent_off(n))
            } else {
                Val::Null
            }
        }
        "discountValue" => Val::Float(if percent {
            percent_off(n)
        } else {
            amount_off(n)
        }),
        "durationInMonths" => match n.roll(302) % 5 {
            0 | 1 => Val::Null,
            2 => Val::Float(1.0),
            3 => Val::Float(3.0),
            _ => Val::Float(12.0),
        },
        "source" => Val::Enum(match n.roll(303) % 10 {
            0..=6 => "STIGG",
            7 | 8 => "STRIPE",
            _ => "STIGG_ADHOC",
        }),
        "status" => Val::Enum(if n.chance(304, 15) {
            "ARCHIVED"
        } else {
            "ACTIVE"
        }),
        "billingId" => opt_str(n.chance(305, 75), || base62(n.roll(306), 8)),
        "billingLinkUrl" => opt_str(n.chance(305, 75), || {
            format!(
                "https://dashboard.stripe.com/coupons/{}",
                base62(n.roll(306), 8)
            )
        }),
        "additionalMetaData" => match n.roll(307) % 3 {
            0 => json(json!({ "campaign": slug(name) })),
            _ => Val::Null,
        },
        _ => return None,
    };
    Some(value)
}

fn percent_off(n: &Node) -> f64 {
    n.choose(308, &[10.0, 15.0, 20.0, 25.0, 33.3, 50.0])
}

fn amount_off(n: &Node) -> f64 {
    n.choose(309, &[5.0, 10.0, 25.0, 49.99, 100.0])
}

const PERIODS: [(&str, i64); 6] = [
    ("ONE_WEEK", 7),
    ("ONE_MONTH", 30),
    ("SIX_MONTH", 182),
    ("ONE_YEAR", 365),
    ("LIFETIME", 0),
    ("CUSTOM", 45),
];

/// The status of a promotional entitlement row, from its bits.
pub fn promotion_status(bits: u64) -> &'static str {
    match crate::rng::pick(bits, 310) % 10 {
        0..=5 => "Active",
        6..=8 => "Expired",
        _ => "Paused",
    }
}

pub(super) fn promotional_entitlement(n: &Node, field: &str) -> Option<Val> {
    let feature = n.row.refs[1] as usize;
    let numeric = catalog::feature_type(feature) == "NUMBER";
    let (period, days) = n.choose(311, &PERIODS);
    let value = match field {
        "id" => Val::Uuid(n.row.id),
        "createdAt" => Val::Time(n.row.created_at),
        "updatedAt" => Val::Time(n.row.updated_at),
        "environmentId" => n.environment_id(),
        "featureId" => row_id(n, Kind::Feature, n.row.refs[1]),
        "description" => opt_str(n.chance(312, 40), || {
            "Granted by customer success".to_string()
        }),
        "period" => Val::Enum(period),
        "startDate" => Val::Time(n.row.created_at),
        "endDate" => opt_time((days > 0).then(|| n.row.created_at + days * DAY)),
        "status" => Val::Enum(promotion_status(n.row.bits)),
        "isVisible" => Val::Bool(!n.chance(313, 10)),
        "usageLimit" => {
            if numeric && !unlimited(n) {
                Val::Float((10 * (1 + n.roll(314) % 100)) as f64)
            } else {
                Val::Null
            }
        }
        "hasUnlimitedUsage" | "unlimited" => {
            if numeric {
                Val::Bool(unlimited(n))
            } else {
                Val::Null
            }
        }
        "hasSoftLimit" => {
            if numeric {
                Val::Bool(n.chance(315, 20))
            } else {
                Val::Null
            }
        }
        "resetPeriod" => promotion_reset_period(n).map_or(Val::Null, Val::Enum),
        "enumValues" => {
            if catalog::feature_type(feature) == "ENUM" {
                Val::List(vec![Val::Str(n.choose(317, ENUM_VALUES).to_string())])
            } else {
                Val::Null
            }
        }
        "featureGroupIds" => {
            if n.chance(318, 70) {
                Val::Null
            } else {
                Val::List(Vec::new())
            }
        }
        _ => return None,
    };
    Some(value)
}

/// The reset period of a promotion of a metered NUMBER feature.
fn promotion_reset_period(n: &Node) -> Option<&'static str> {
    let feature = n.row.refs[1] as usize;
    (catalog::feature_is_metered(feature) && catalog::feature_type(feature) == "NUMBER")
        .then(|| n.choose(316, &["MONTH", "MONTH", "WEEK", "DAY", "YEAR", "HOUR"]))
}

/// `PromotionalEntitlement.resetPeriodConfiguration`: the member matching
/// a MONTH, WEEK or YEAR reset period, always set for those (drawn with
/// salts of its own, so no other field changes); null otherwise.
pub(super) fn promotion_reset_configuration(n: &Node) -> Option<Obj> {
    reset_configuration_for(n, promotion_reset_period(n)?, [1240, 1241])
}

fn unlimited(n: &Node) -> bool {
    n.chance(319, 15)
}

pub(super) fn usage_measurement(n: &Node, field: &str) -> Option<Val> {
    let value = match field {
        "id" => Val::Uuid(n.row.id),
        "createdAt" => Val::Time(n.row.created_at),
        "environmentId" => n.environment_id(),
        "customerId" => row_id(n, Kind::Customer, n.row.refs[0]),
        "featureId" => row_id(n, Kind::Feature, n.row.refs[1]),
        "value" => Val::Float(match n.roll(320) % 4 {
            0 => (n.roll(321) % 10_000) as f64 / 4.0,
            _ => (1 + n.roll(321) % 500) as f64,
        }),
        _ => return None,
    };
    Some(value)
}

fn row_id(n: &Node, kind: Kind, index: u32) -> Val {
    n.ds.row(kind, index).map_or(Val::Null, |r| Val::Uuid(r.id))
}
