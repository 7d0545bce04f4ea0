//! CustomerResource, Experiment, FeatureGroup, PackageGroup and Offer
//! fields. Versioned rows (groups, offers) keep `[number, version]` in
//! `refs` and whether they are the latest version in bit 0 of `bits`.

use serde_json::json;

use super::catalog::row_is_latest;
use super::tree::Tree;
use super::{json, opt_str, opt_time, scalar, slug, Node, Val, DAY};
use crate::data::{Dataset, Kind};

/// (refId, name, status): the experiments subscriptions and customers name
/// in `experimentInfo` (by refId).
pub const EXPERIMENTS: [(&str, &str, &str); 4] = [
    ("exp-3f9a2c", "Annual discount on paywall", "IN_PROGRESS"),
    ("exp-81d0e7", "Seat-based Pro plan", "COMPLETED"),
    ("exp-c45b19", "Longer trial", "IN_PROGRESS"),
    ("exp-77e0aa", "Usage-based Starter", "DRAFT"),
];

/// (name, archived): archived groups are ARCHIVED in every version.
pub const FEATURE_GROUPS: [(&str, bool); 8] = [
    ("Analytics suite", false),
    ("Collaboration", false),
    ("Security and compliance", false),
    ("Developer tools", false),
    ("Legacy reporting", true),
    ("AI assistant", false),
    ("Beta lab", true),
    ("Integrations", false),
];

pub const PACKAGE_GROUPS: [&str; 5] = [
    "Storage add-ons",
    "Support tiers",
    "Seat packs",
    "AI add-ons",
    "Compliance add-ons",
];

/// (name, status of the latest version)
pub const OFFERS: [(&str, &str); 6] = [
    ("Startup program", "PUBLISHED"),
    ("Black Friday", "ARCHIVED"),
    ("Nonprofit", "PUBLISHED"),
    ("Annual prepay", "PUBLISHED"),
    ("Partner offer", "DRAFT"),
    ("Education", "PUBLISHED"),
];

fn latest(n: &Node) -> bool {
    n.row.bits & 1 == 1
}

fn number(n: &Node) -> usize {
    n.row.refs[0] as usize
}

fn version(n: &Node) -> Val {
    Val::Int(i64::from(n.row.refs[1]))
}

/// Fields every record here has.
fn common(n: &Node, field: &str) -> Option<Val> {
    Some(match field {
        "id" => Val::Uuid(n.row.id),
        "environmentId" => n.environment_id(),
        "createdAt" => Val::Time(n.row.created_at),
        "updatedAt" => Val::Time(n.row.updated_at),
        _ => return None,
    })
}

pub(super) fn resource(n: &Node, field: &str) -> Option<Val> {
    match field {
        // The resource of subscription `refs[1]`, with the same resourceId.
        "resourceId" => scalar(n.ds, Kind::Subscription, n.row.refs[1], "resourceId"),
        "id" | "updatedAt" => None,
        _ => common(n, field),
    }
}

/// The resource row of a subscription (resources are in subscription order).
pub fn resource_of(ds: &Dataset, subscription: u32) -> Option<u32> {
    let rows = ds.rows(Kind::CustomerResource);
    let at = rows.partition_point(|r| r.refs[1] < subscription);
    (rows.get(at)?.refs[1] == subscription).then_some(at as u32)
}

fn product_ref_id(ds: &Dataset, product: u32) -> Val {
    scalar(ds, Kind::Product, product, "refId").unwrap_or(Val::Null)
}

pub(super) fn experiment(n: &Node, field: &str) -> Option<Val> {
    let (ref_id, name, status) = EXPERIMENTS[number(n) % EXPERIMENTS.len()];
    let started = (status != "DRAFT").then(|| n.row.created_at + 2 * DAY);
    let value = match field {
        "refId" => Val::Str(ref_id.to_string()),
        "name" => Val::Str(name.to_string()),
        "description" => opt_str(!n.chance(600, 30), || {
            format!("Does \"{name}\" convert better?")
        }),
        "status" => Val::Enum(status),
        "productId" => product_ref_id(n.ds, n.row.refs[1]),
        "controlGroupName" => Val::Str("Control".into()),
        "variantGroupName" => Val::Str("Variant".into()),
        "variantPercentage" => Val::Float(n.choose(601, &[50.0, 20.0, 10.0])),
        "startedAt" => opt_time(started),
        "stoppedAt" => opt_time((status == "COMPLETED").then(|| n.row.created_at + 60 * DAY)),
        _ => return common(n, field),
    };
    Some(value)
}

pub(super) fn feature_group(n: &Node, field: &str) -> Option<Val> {
    let (name, archived) = FEATURE_GROUPS[number(n) % FEATURE_GROUPS.len()];
    let value = match field {
        "featureGroupId" => Val::Str(format!("fg-{}", slug(name))),
        "displayName" => Val::Str(name.to_string()),
        "description" => opt_str(!n.chance(610, 40), || format!("Everything in {name}")),
        // Older versions stay PUBLISHED (not latest); archiving archives all.
        "status" => Val::Enum(if archived { "ARCHIVED" } else { "PUBLISHED" }),
        "isLatest" => Val::Bool(latest(n)),
        "versionNumber" => version(n),
        _ => return common(n, field),
    };
    Some(value)
}

/// 2 to 5 features; a later version adds one.
pub(super) fn group_features(n: &Node) -> Tree {
    let features = n.ds.rows(Kind::Feature).len() as u32;
    let count = (2 + n.roll(611) % 3 + u64::from(n.row.refs[1])) as u32;
    let start = (number(n) as u32 * 3) % features.max(1);
    Tree::List(
        (0..count.min(features))
            .map(|i| Tree::Row(Kind::Feature, (start + i) % features))
            .collect(),
    )
}

pub(super) fn package_group(n: &Node, field: &str) -> Option<Val> {
    let name = PACKAGE_GROUPS[number(n) % PACKAGE_GROUPS.len()];
    let value = match field {
        "packageGroupId" => Val::Str(format!("pg-{}", slug(name))),
        "displayName" => Val::Str(name.to_string()),
        "description" => opt_str(!n.chance(620, 40), || format!("{name}, sold together")),
        "status" => Val::Enum(match (latest(n), number(n)) {
            (false, _) => "ARCHIVED",
            (true, 3) => "DRAFT",
            (true, _) => "PUBLISHED",
        }),
        "isLatest" => Val::Bool(latest(n)),
        "versionNumber" => version(n),
        "productId" => product_ref_id(n.ds, group_product(n)),
        _ => return common(n, field),
    };
    Some(value)
}

pub(super) fn group_product(n: &Node) -> u32 {
    number(n) as u32 % n.ds.rows(Kind::Product).len().max(1) as u32
}

/// Latest add-ons, 2 to 4 of them.
pub(super) fn group_addons(n: &Node) -> Tree {
    let latest: Vec<u32> = (0..n.ds.rows(Kind::Addon).len() as u32)
        .filter(|&a| n.ds.row(Kind::Addon, a).is_some_and(row_is_latest))
        .collect();
    let count = (2 + n.roll(621) % 3) as usize;
    let start = number(n) * 2;
    Tree::List(
        (0..count.min(latest.len()))
            .map(|i| Tree::Row(Kind::Addon, latest[(start + i) % latest.len()]))
            .collect(),
    )
}

pub(super) fn offer(n: &Node, field: &str) -> Option<Val> {
    let (name, status) = OFFERS[number(n) % OFFERS.len()];
    let value = match field {
        "offerId" => Val::Str(format!("offer-{}", slug(name))),
        "accountId" => Val::Str(format!("account-{:08x}", n.seed32())),
        "name" => Val::Str(name.to_string()),
        "description" => opt_str(!n.chance(630, 50), || format!("{name} pricing")),
        "status" => Val::Enum(if latest(n) { status } else { "ARCHIVED" }),
        "isDefault" => Val::Bool(number(n) == 0 && latest(n)),
        "isLatest" => Val::Bool(latest(n)),
        "version" => version(n),
        "metadata" => match n.roll(631) % 3 {
            0 => Val::Null,
            1 => json(json!({})),
            _ => json(json!({ "segment": "startup", "discountPercent": 20 })),
        },
        _ => return common(n, field),
    };
    Some(value)
}
