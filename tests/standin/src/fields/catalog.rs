//! Plan, Addon, Feature and Product fields.
//!
//! Packages (plans and addons) keep their name's index in the low byte of
//! their bits and whether they are the latest version in bit 8, so that
//! versions of one package share a refId.

use serde_json::json;

use super::{base62, json, money, opt_str, slug, Node, Val};
use crate::data::{Dataset, Kind, Row};
use crate::words::{ADDONS, ENUM_VALUES, FEATURES, PLAN_TIERS, PRODUCTS, UNITS};

const LATEST: u64 = 0x100;

pub(super) const TIER_COUNT: usize = PLAN_TIERS.len();

/// Bits for a package row: randomness plus its name index and latest flag.
pub fn package_bits(random: u64, name_index: usize, latest: bool) -> u64 {
    (random & !0x1ff) | (name_index as u64 & 0xff) | if latest { LATEST } else { 0 }
}

pub(super) fn name_index(n: &Node) -> usize {
    (n.row.bits & 0xff) as usize
}

pub(super) fn is_latest(n: &Node) -> bool {
    row_is_latest(n.row)
}

pub(super) fn row_is_latest(row: &Row) -> bool {
    row.bits & LATEST != 0
}

pub(super) fn tier(n: &Node) -> &'static str {
    PLAN_TIERS[name_index(n) % PLAN_TIERS.len()]
}

/// `Plan.pricingType` of a plan row, for subscriptions on it.
pub fn plan_pricing_type(ds: &Dataset, plan: u32) -> Option<&'static str> {
    let row = ds.row(Kind::Plan, plan)?;
    Some(pricing_for_tier(
        PLAN_TIERS[(row.bits & 0xff) as usize % PLAN_TIERS.len()],
    ))
}

pub(super) fn pricing_for_tier(tier: &str) -> &'static str {
    match tier {
        "Free" => "FREE",
        "Enterprise" => "CUSTOM",
        _ => "PAID",
    }
}

fn product_ref(n: &Node) -> Option<(&'static str, &'static str)> {
    n.ds.row(Kind::Product, n.row.refs[0])?;
    Some(PRODUCTS[n.row.refs[0] as usize % PRODUCTS.len()])
}

fn product_slug(n: &Node) -> &'static str {
    product_ref(n).map_or("product", |(ref_id, _)| {
        ref_id.trim_start_matches("product-")
    })
}

/// Fields plans and addons share.
fn package(n: &Node, field: &str) -> Option<Val> {
    let row = n.row;
    let value = match field {
        "id" => Val::Uuid(row.id),
        "createdAt" => Val::Time(row.created_at),
        "updatedAt" => Val::Time(row.updated_at),
        "environmentId" => n.environment_id(),
        "versionNumber" => Val::Int(i64::from(row.refs[1])),
        "isLatest" => {
            if n.chance(200, 10) {
                Val::Null
            } else {
                Val::Bool(is_latest(n))
            }
        }
        "status" => Val::Enum(if !is_latest(n) {
            "ARCHIVED"
        } else if n.chance(201, 5) {
            "DRAFT"
        } else {
            "PUBLISHED"
        }),
        "productId" => product_ref(n).map_or(Val::Null, |(ref_id, _)| Val::Str(ref_id.to_string())),
        "hiddenFromWidgets" => match n.roll(203) % 6 {
            0 | 1 => Val::Null,
            2 => Val::List(vec![Val::Enum("PAYWALL")]),
            3 => Val::List(vec![Val::Enum("CHECKOUT"), Val::Enum("CUSTOMER_PORTAL")]),
            _ => Val::List(Vec::new()),
        },
        "additionalMetaData" => match n.roll(204) % 5 {
            0 | 1 => Val::Null,
            2 => json(json!({ "badge": "Most popular", "highlight": true })),
            _ => json(json!({ "highlight": false, "order": n.roll(205) % 10 })),
        },
        _ => return None,
    };
    Some(value)
}

pub(super) fn plan(n: &Node, field: &str) -> Option<Val> {
    let tier = tier(n);
    let pricing = pricing_for_tier(tier);
    let value = match field {
        "refId" => Val::Str(format!("plan-{}-{}", product_slug(n), slug(tier))),
        "displayName" => Val::Str(tier.to_string()),
        "description" => opt_str(!n.chance(206, 30), || {
            format!(
                "The {tier} plan of {}",
                product_ref(n).map_or("the product", |p| p.1)
            )
        }),
        "type" => Val::Str("Plan".to_string()),
        "pricingType" => Val::Enum(pricing),
        "isParent" => Val::Bool(matches!(tier, "Starter" | "Basic") || n.chance(207, 10)),
        "billingId" => opt_str(pricing == "PAID", || {
            format!("prod_{}", base62(n.roll(208), 14))
        }),
        "billingLinkUrl" => opt_str(pricing == "PAID", || {
            format!(
                "https://dashboard.stripe.com/products/prod_{}",
                base62(n.roll(208), 14)
            )
        }),
        "overageBillingPeriod" => money::overage_billing_period(n, Kind::Plan),
        "awsMarketplacePlanDimension" => {
            opt_str(n.chance(209, 10), || format!("{}_tier", slug(tier)))
        }
        _ => return package(n, field),
    };
    Some(value)
}

pub(super) fn addon(n: &Node, field: &str) -> Option<Val> {
    let name = ADDONS[name_index(n) % ADDONS.len()];
    let value = match field {
        "refId" => Val::Str(format!("addon-{}", slug(name))),
        "displayName" => Val::Str(name.to_string()),
        "description" => opt_str(!n.chance(210, 40), || format!("{name} for your workspace")),
        "type" => Val::Str("Addon".to_string()),
        "pricingType" => {
            if n.chance(211, 10) {
                Val::Null
            } else {
                Val::Enum("PAID")
            }
        }
        "hasSubscriptions" => Val::Bool(n.chance(212, 70)),
        "overageBillingPeriod" => money::overage_billing_period(n, Kind::Addon),
        "maxQuantity" => {
            if n.chance(213, 60) {
                Val::Null
            } else {
                Val::Float((1 + n.roll(214) % 100) as f64)
            }
        }
        "billingId" => opt_str(n.chance(215, 80), || {
            format!("prod_{}", base62(n.roll(216), 14))
        }),
        "billingLinkUrl" => opt_str(n.chance(215, 80), || {
            format!(
                "https://dashboard.stripe.com/products/prod_{}",
                base62(n.roll(216), 14)
            )
        }),
        _ => return package(n, field),
    };
    Some(value)
}

fn feature_spec(n: &Node) -> (&'static str, &'static str, &'static str) {
    FEATURES[n.index as usize % FEATURES.len()]
}

/// Whether a feature row is metered (usage is reported for it).
pub fn feature_is_metered(index: usize) -> bool {
    matches!(
        FEATURES[index % FEATURES.len()].2,
        "Incremental" | "Fluctuating"
    )
}

/// The `FeatureType` of a feature row.
pub fn feature_type(index: usize) -> &'static str {
    FEATURES[index % FEATURES.len()].1
}

pub(super) fn feature(n: &Node, field: &str) -> Option<Val> {
    let (name, kind, meter) = feature_spec(n);
    let numeric = kind == "NUMBER";
    let round = n.index as usize / FEATURES.len();
    let value = match field {
        "id" => Val::Uuid(n.row.id),
        "refId" => Val::Str(match round {
            0 => format!("feature-{}", slug(name)),
            r => format!("feature-{}-{}", slug(name), r + 1),
        }),
        "displayName" => Val::Str(name.to_string()),
        "description" => opt_str(!n.chance(220, 35), || {
            format!("{name} available to the customer")
        }),
        "createdAt" => Val::Time(n.row.created_at),
        "updatedAt" => Val::Time(n.row.updated_at),
        "environmentId" => n.environment_id(),
        "featureType" => Val::Enum(kind),
        "featureStatus" => Val::Enum(match n.roll(221) % 20 {
            0..=15 => "ACTIVE",
            16..=18 => "NEW",
            _ => "SUSPENDED",
        }),
        "meterType" => {
            if numeric {
                Val::Enum(meter)
            } else {
                Val::Null
            }
        }
        "hasMeter" => {
            if n.chance(222, 10) {
                Val::Null
            } else {
                Val::Bool(meter != "None")
            }
        }
        "hasEntitlements" => {
            if n.chance(223, 10) {
                Val::Null
            } else {
                Val::Bool(!n.chance(224, 20))
            }
        }
        "featureUnits" => opt_str(numeric, || n.choose(225, UNITS).0.to_string()),
        "featureUnitsPlural" => opt_str(numeric, || n.choose(225, UNITS).1.to_string()),
        "usedEnumValues" => match kind {
            "ENUM" => Val::List(
                ENUM_VALUES
                    .iter()
                    .take(2 + (n.roll(226) % 3) as usize)
                    .map(|v| Val::Str(v.to_string()))
                    .collect(),
            ),
            _ => Val::Null,
        },
        "additionalMetaData" => match n.roll(227) % 3 {
            0 => Val::Null,
            1 => json(json!({})),
            _ => json(json!({ "category": if numeric { "limits" } else { "capabilities" } })),
        },
        _ => return None,
    };
    Some(value)
}

pub(super) fn product(n: &Node, field: &str) -> Option<Val> {
    let (ref_id, name) = PRODUCTS[n.index as usize % PRODUCTS.len()];
    let value = match field {
        "id" => Val::Uuid(n.row.id),
        "refId" => Val::Str(ref_id.to_string()),
        "displayName" => opt_str(!n.chance(230, 5), || name.to_string()),
        "description" => opt_str(!n.chance(231, 40), || format!("{name} by Revvenu Inc.")),
        "createdAt" => Val::Time(n.row.created_at),
        "updatedAt" => Val::Time(n.row.updated_at),
        "environmentId" => n.environment_id(),
        "status" => Val::Enum(if n.index == 4 {
            "ARCHIVED"
        } else {
            "PUBLISHED"
        }),
        "isDefaultProduct" => Val::Bool(n.index == 0),
        "multipleSubscriptions" => Val::Bool(n.chance(232, 30)),
        "hasSubscriptions" => Val::Bool(n.index != 4),
        "awsMarketplaceProductCode" => {
            opt_str(n.chance(233, 20), || base62(n.roll(233), 25).to_lowercase())
        }
        "awsMarketplaceProductId" => opt_str(n.chance(233, 20), || {
            format!("prod-{}", base62(n.roll(234), 13).to_lowercase())
        }),
        "additionalMetaData" => match n.roll(235) % 2 {
            0 => Val::Null,
            _ => json(json!({ "owner": "growth-team" })),
        },
        _ => return None,
    };
    Some(value)
}
