//! `SubscriptionEntitlement`: a subscription's override of one of its
//! plan's NUMBER feature entitlements (`subscriptionEntitlements`).
//!
//! Rows are stored in subscription order (refs: [subscription, feature]).
//! An override's limit is derived from the plan's entitlement of the
//! feature: its limit × 1.5, 2 or 3 (rounded), or unlimited; a finite cap
//! when the plan's is unlimited. Only Incremental features reset (MONTH,
//! YEAR or WEEK), usually with the matching `resetPeriodConfiguration`.
//! `featureId` is the feature's `id`, as in `PackageFeatureEntitlement`;
//! `subscriptionId` the subscription's `subscriptionId`.

use chrono::{DateTime, Datelike, NaiveDate};

use super::catalog::{feature_is_metered, feature_type};
use super::entitlements::feature_entitlements;
use super::tree::{Obj, Tree};
use super::{opt_str, scalar, Node, Val, DAY};
use crate::data::{Dataset, Kind};
use crate::rng::format_uuid;
use crate::time::Millis;
use crate::words::FEATURES;

const KIND: Kind = Kind::SubscriptionEntitlement;

/// The features a subscription on `plan` may override: the plan's NUMBER
/// feature entitlements, each with whether it is metered.
pub fn override_candidates(ds: &Dataset, plan: u32) -> Vec<(u32, bool)> {
    let Some(n) = Node::of(ds, Kind::Plan, plan) else {
        return Vec::new();
    };
    feature_entitlements(&n, Kind::Plan)
        .into_iter()
        .map(|(f, _)| f)
        .filter(|&f| feature_type(f as usize) == "NUMBER")
        .map(|f| (f, feature_is_metered(f as usize)))
        .collect()
}

/// The override rows of subscription row `subscription` (stored in
/// subscription order, so one run of rows).
pub(super) fn overrides_of(ds: &Dataset, subscription: u32) -> std::ops::Range<u32> {
    let rows = ds.rows(KIND);
    let start = rows.partition_point(|r| r.refs[0] < subscription);
    let end = rows.partition_point(|r| r.refs[0] <= subscription);
    start as u32..end as u32
}

/// Stigg's weekly reset days: from the subscription's start, or a weekday
/// (Monday first).
const WEEKLY: [&str; 8] = [
    "SubscriptionStart",
    "EveryMonday",
    "EveryTuesday",
    "EveryWednesday",
    "EveryThursday",
    "EveryFriday",
    "EverySaturday",
    "EverySunday",
];

fn subscription(n: &Node) -> u32 {
    n.row.refs[0]
}

fn feature(n: &Node) -> u32 {
    n.row.refs[1]
}

fn meter(n: &Node) -> &'static str {
    FEATURES[feature(n) as usize % FEATURES.len()].2
}

/// (usageLimit, hasUnlimitedUsage).
fn limits(n: &Node) -> (Option<f64>, bool) {
    let plan =
        n.ds.row(Kind::Subscription, subscription(n))
            .and_then(|s| Node::of(n.ds, Kind::Plan, s.refs[1]));
    let plan_limit = plan
        .map(|p| feature_entitlements(&p, Kind::Plan))
        .and_then(|es| es.into_iter().find(|(f, _)| *f == feature(n)))
        .map_or(Val::Null, |(_, e)| e.leaf("usageLimit"));
    let scale = if meter(n) == "Incremental" {
        1000.0
    } else {
        1.0
    };
    match plan_limit {
        Val::Float(_) if n.chance(1100, 20) => (None, true),
        Val::Float(limit) => (
            Some((limit * n.choose(1101, &[1.5, 2.0, 3.0])).round()),
            false,
        ),
        // The plan's is unlimited: the override caps it.
        _ => (Some(n.choose(1102, &[100.0, 250.0, 1000.0]) * scale), false),
    }
}

fn reset_period(n: &Node) -> Option<&'static str> {
    (meter(n) == "Incremental")
        .then(|| n.choose(1103, &["MONTH", "MONTH", "MONTH", "YEAR", "WEEK"]))
}

/// The `ResetPeriodConfiguration` member matching the reset period; null
/// for some rows and for those that do not reset.
fn reset_configuration(n: &Node) -> Option<Obj> {
    if n.chance(1104, 25) {
        return None;
    }
    reset_configuration_for(n, reset_period(n)?, [1105, 1106])
}

/// The `ResetPeriodConfiguration` member of a MONTH, WEEK or YEAR reset
/// period (null for others), its value drawn from the row's bits with
/// `salts` (monthly, weekly).
pub(super) fn reset_configuration_for(n: &Node, period: &str, salts: [u64; 2]) -> Option<Obj> {
    let (type_name, field, value) = match period {
        "MONTH" => (
            "MonthlyResetPeriodConfig",
            "monthlyAccordingTo",
            n.choose(salts[0], &["SubscriptionStart", "StartOfTheMonth"]),
        ),
        "WEEK" => (
            "WeeklyResetPeriodConfig",
            "weeklyAccordingTo",
            n.choose(salts[1], &WEEKLY),
        ),
        "YEAR" => (
            "YearlyResetPeriodConfig",
            "yearlyAccordingTo",
            "SubscriptionStart",
        ),
        _ => return None,
    };
    Some(Obj::new(type_name).with(field, Val::Enum(value)))
}

/// Where the usage periods of override row `index` count from, given the
/// subscription's start (see `configured_anchor`).
pub(super) fn override_anchor(ds: &Dataset, index: u32, start: Millis) -> Millis {
    let config = Node::of(ds, KIND, index).and_then(|n| reset_configuration(&n));
    configured_anchor(config.as_ref(), start)
}

/// Where usage periods count from under a `ResetPeriodConfiguration`,
/// given the start of what grants them: the start itself
/// (`SubscriptionStart` or no configuration), the first of its month
/// (`StartOfTheMonth`) or the last such weekday at midnight UTC
/// (`EveryMonday`, ...).
pub(super) fn configured_anchor(config: Option<&Obj>, start: Millis) -> Millis {
    let config = config.and_then(|c| match c.fields.first() {
        Some((_, Tree::Leaf(Val::Enum(value)))) => Some(*value),
        _ => None,
    });
    let day = start.div_euclid(DAY);
    match config {
        Some("StartOfTheMonth") => DateTime::from_timestamp_millis(start)
            .and_then(|t| NaiveDate::from_ymd_opt(t.year(), t.month(), 1))
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map_or(start, |t| t.and_utc().timestamp_millis()),
        Some(every) if every.starts_with("Every") => {
            let wanted = WEEKLY[1..].iter().position(|d| *d == every).unwrap_or(0) as i64;
            // 1970-01-01 was a Thursday (Monday = 0).
            let weekday = (day + 3).rem_euclid(7);
            (day - (weekday - wanted).rem_euclid(7)) * DAY
        }
        _ => start,
    }
}

pub(super) fn subscription_entitlement(n: &Node, field: &str) -> Option<Val> {
    let value = match field {
        "id" => Val::Uuid(n.row.id),
        "createdAt" => Val::Time(n.row.created_at),
        // The schema allows a null updatedAt: a few rows have none.
        "updatedAt" => {
            if n.chance(1107, 8) {
                Val::Null
            } else {
                Val::Time(n.row.updated_at)
            }
        }
        "environmentId" => n.environment_id(),
        "subscriptionId" => {
            scalar(n.ds, Kind::Subscription, subscription(n), "subscriptionId").unwrap_or(Val::Null)
        }
        "featureId" => {
            n.ds.row(Kind::Feature, feature(n))
                .map_or(Val::Null, |r| Val::Str(format_uuid(r.id)))
        }
        "description" => opt_str(n.chance(1108, 40), || {
            n.choose(
                1109,
                &[
                    "Negotiated in the contract",
                    "Temporary increase",
                    "Approved by sales",
                ],
            )
            .to_string()
        }),
        "usageLimit" => limits(n).0.map_or(Val::Null, Val::Float),
        "hasUnlimitedUsage" => Val::Bool(limits(n).1),
        "hasSoftLimit" => Val::Bool(n.chance(1110, 25)),
        "resetPeriod" => reset_period(n).map_or(Val::Null, Val::Enum),
        _ => return None,
    };
    Some(value)
}

/// `SubscriptionEntitlement.subscription`: a `CustomerSubscription` with
/// the fields the subset gives it, valued as `subscriptions` answers them.
fn customer_subscription(ds: &Dataset, index: u32, fields: &[&'static str]) -> Obj {
    fields
        .iter()
        .fold(Obj::new("CustomerSubscription"), |obj, &name| {
            obj.with(
                name,
                scalar(ds, Kind::Subscription, index, name).unwrap_or(Val::Null),
            )
        })
}

const SUBSCRIPTION_FIELDS: [&str; 8] = [
    "createdAt",
    "environmentId",
    "id",
    "pricingType",
    "refId",
    "startDate",
    "status",
    "subscriptionId",
];

pub(super) fn nested(n: &Node, field: &str) -> Option<Tree> {
    match field {
        "resetPeriodConfiguration" => Some(reset_configuration(n).into()),
        "subscription" => {
            Some(customer_subscription(n.ds, subscription(n), &SUBSCRIPTION_FIELDS).into())
        }
        _ => None,
    }
}

/// Every override row as the connector selects it (`feature { id refId }`,
/// `subscription { id subscriptionId }`, `resetPeriodConfiguration` with
/// its `__typename`), in stored order, as parsed from the response text.
pub fn subscription_entitlements_json(ds: &Dataset) -> Vec<serde_json::Value> {
    (0..ds.rows(KIND).len() as u32)
        .filter_map(|i| Node::of(ds, KIND, i))
        .map(|n| {
            let value =
                |name: &'static str| subscription_entitlement(&n, name).unwrap_or(Val::Null);
            let configuration = reset_configuration(&n).map(|c| {
                let mut typed =
                    Obj::new(c.type_name).with("__typename", Val::Str(c.type_name.into()));
                typed.fields.extend(c.fields);
                typed
            });
            let obj = Obj::new("SubscriptionEntitlement")
                .with("id", value("id"))
                .with("subscriptionId", value("subscriptionId"))
                .with("featureId", value("featureId"))
                .with("feature", Tree::Row(Kind::Feature, feature(&n)))
                .with(
                    "subscription",
                    customer_subscription(ds, subscription(&n), &["id", "subscriptionId"]),
                )
                .with("description", value("description"))
                .with("usageLimit", value("usageLimit"))
                .with("hasUnlimitedUsage", value("hasUnlimitedUsage"))
                .with("hasSoftLimit", value("hasSoftLimit"))
                .with("resetPeriod", value("resetPeriod"))
                .with("resetPeriodConfiguration", configuration)
                .with("environmentId", value("environmentId"))
                .with("createdAt", value("createdAt"))
                .with("updatedAt", value("updatedAt"));
            Tree::Obj(obj).to_json(ds)
        })
        .collect()
}
