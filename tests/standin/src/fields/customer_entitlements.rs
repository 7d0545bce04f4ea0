//! `Query.entitlements`: what one customer is entitled to, as
//! `EntitlementWithSummary` objects, one per feature (in feature order).
//!
//! The sources: the package entitlements of the plans of the customer's
//! ACTIVE and IN_TRIAL subscriptions on the resource asked for (without
//! one: on no resource), raised by their add-ons (behavior Increment: the
//! add-on's limit × its quantity is added) and set by PER_UNIT prices (the
//! units bought are the limit); plus, without a resource, the customer's
//! Active promotional entitlements. When several sources grant a feature,
//! one row: the larger limit, unlimited winning (ENUM values add up).
//! A subscription's entitlement overrides (`subscriptionEntitlements`)
//! replace what it grants of their features (plan, units and add-ons
//! alike), and their `resetPeriodConfiguration` sets the usage periods.
//!
//! Metered features (meter Incremental or Fluctuating) have a usage derived
//! from the customer's bits (and the resource): `limit × (0..130)%`, so some
//! customers use little, some are near their limit and some over it. Over a
//! hard limit the entitlement is not granted (`RequestedUsageExceedingLimit`).
//! Usage periods are those holding the generated world's now (2025-06-30),
//! counted from the source's start (the subscription's or promotion's),
//! moved by the override's or promotion's `resetPeriodConfiguration`.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Months};

use super::billing::Billing;
use super::catalog::{feature_is_metered, feature_type};
use super::commerce::{promotion_reset_configuration, promotion_status};
use super::entitlements::feature_entitlements;
use super::meters::meter_id;
use super::overrides::{configured_anchor, override_anchor, overrides_of};
use super::subscription::{counts_as_active, start_date, WORLD_NOW};
use super::tree::{Obj, Tree};
use super::{scalar, Node, Val, DAY};
use crate::data::{Dataset, Kind};
use crate::rng::{format_uuid, pick};
use crate::time::Millis;

const HOUR: Millis = 3_600_000;

/// Usage is this many percent of the limit at most (exclusive).
const USAGE_PERCENT: u64 = 130;

/// What one source grants of one feature.
#[derive(Debug, Clone)]
struct Grant {
    feature: u32,
    /// The usage limit of a NUMBER feature; `None` for other features and
    /// for unlimited ones.
    limit: Option<f64>,
    unlimited: bool,
    soft: bool,
    reset: Option<&'static str>,
    /// ENUM features only.
    enum_values: Option<Vec<Val>>,
    display_name_override: Val,
    /// Where the usage periods are counted from.
    anchor: Millis,
    updated: Millis,
}

impl Grant {
    /// From an entitlement's fields: package and promotional entitlements
    /// name them alike.
    fn of(feature: u32, field: impl Fn(&str) -> Val, anchor: Millis, updated: Millis) -> Grant {
        let numeric = feature_type(feature as usize) == "NUMBER";
        let unlimited = numeric && field("hasUnlimitedUsage") == Val::Bool(true);
        let limit = match field("usageLimit") {
            Val::Float(limit) if numeric && !unlimited => Some(limit),
            _ => None,
        };
        let reset = match field("resetPeriod") {
            Val::Enum(period) => Some(period),
            _ => None,
        };
        let enum_values = match field("enumValues") {
            Val::List(values) => Some(values),
            _ => None,
        };
        Grant {
            feature,
            limit,
            unlimited,
            soft: field("hasSoftLimit") == Val::Bool(true),
            reset,
            enum_values,
            display_name_override: field("displayNameOverride"),
            anchor,
            updated,
        }
    }

    /// An add-on's increment.
    fn add(&mut self, more: &Grant) {
        self.unlimited |= more.unlimited;
        self.limit = match (self.limit, more.limit) {
            _ if self.unlimited => None,
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
        self.reset = self.reset.or(more.reset);
        self.updated = self.updated.max(more.updated);
        self.take_values(more);
    }

    /// Whether this grant gives more than `other`.
    fn beats(&self, other: &Grant) -> bool {
        let limit = |g: &Grant| g.limit.unwrap_or(f64::NEG_INFINITY);
        match (self.unlimited, other.unlimited) {
            (true, false) => true,
            (false, false) => limit(self) > limit(other),
            _ => false,
        }
    }

    fn take_values(&mut self, other: &Grant) {
        if let Some(more) = &other.enum_values {
            let values = self.enum_values.get_or_insert_with(Vec::new);
            for v in more {
                if !values.contains(v) {
                    values.push(v.clone());
                }
            }
        }
    }
}

/// A customer's subscriptions: they are stored in customer order (as
/// generated; no change adds any), so they are one run of rows.
fn subscriptions_of(ds: &Dataset, customer: u32) -> std::ops::Range<u32> {
    let rows = ds.rows(Kind::Subscription);
    let start = rows.partition_point(|r| r.refs[0] < customer);
    let end = rows.partition_point(|r| r.refs[0] <= customer);
    start as u32..end as u32
}

fn subscription_grants(ds: &Dataset, index: u32) -> Vec<Grant> {
    let (Some(s), Some(plan)) = (
        Node::of(ds, Kind::Subscription, index),
        ds.row(Kind::Subscription, index)
            .and_then(|r| Node::of(ds, Kind::Plan, r.refs[1])),
    ) else {
        return Vec::new();
    };
    let anchor = start_date(&s);
    let since = |updated: Millis| updated.max(s.row.created_at);
    let mut grants: Vec<Grant> = feature_entitlements(&plan, Kind::Plan)
        .into_iter()
        .map(|(f, e)| Grant::of(f, |name| e.leaf(name), anchor, since(plan.row.updated_at)))
        .collect();
    let billing = Billing::of(&s);
    for price in &billing.prices {
        let (Some(feature), Some(units)) = (price.spec.feature, price.units) else {
            continue;
        };
        if let Some(g) = grants
            .iter_mut()
            .find(|g| g.feature == feature && feature_type(feature as usize) == "NUMBER")
        {
            g.limit = Some(units);
            g.unlimited = false;
        }
    }
    for bought in &billing.addons {
        let Some(addon) = Node::of(ds, Kind::Addon, bought.addon) else {
            continue;
        };
        for (f, e) in feature_entitlements(&addon, Kind::Addon) {
            let mut more = Grant::of(f, |name| e.leaf(name), anchor, since(addon.row.updated_at));
            more.limit = more.limit.map(|l| l * bought.quantity);
            match grants.iter_mut().find(|g| g.feature == f) {
                Some(g) => g.add(&more),
                None => grants.push(more),
            }
        }
    }
    for o in overrides_of(ds, index) {
        let Some(row) = ds.row(Kind::SubscriptionEntitlement, o) else {
            continue;
        };
        let field =
            |name: &str| scalar(ds, Kind::SubscriptionEntitlement, o, name).unwrap_or(Val::Null);
        let updated = match field("updatedAt") {
            Val::Time(t) => t,
            _ => row.created_at,
        };
        let anchor = override_anchor(ds, o, anchor);
        let mut grant = Grant::of(row.refs[1], field, anchor, since(updated));
        match grants.iter_mut().find(|g| g.feature == grant.feature) {
            Some(g) => {
                grant.enum_values = g.enum_values.take();
                grant.display_name_override = g.display_name_override.clone();
                *g = grant;
            }
            None => grants.push(grant),
        }
    }
    grants
}

fn promotion_grants(ds: &Dataset, customer: u32) -> Vec<Grant> {
    let kind = Kind::PromotionalEntitlement;
    ds.rows(kind)
        .iter()
        .enumerate()
        .filter(|(_, r)| r.refs[0] == customer && promotion_status(r.bits) == "Active")
        .map(|(i, r)| {
            let field = |name: &str| scalar(ds, kind, i as u32, name).unwrap_or(Val::Null);
            // Its resetPeriodConfiguration moves the anchor as an override's
            // does, counting from the promotion's start (its startDate).
            let config =
                Node::of(ds, kind, i as u32).and_then(|n| promotion_reset_configuration(&n));
            let anchor = configured_anchor(config.as_ref(), r.created_at);
            Grant::of(r.refs[1], field, anchor, r.updated_at)
        })
        .collect()
}

/// One grant per feature, in feature order.
fn merge(grants: Vec<Grant>) -> Vec<Grant> {
    let mut by_feature: BTreeMap<u32, Grant> = BTreeMap::new();
    for grant in grants {
        match by_feature.get_mut(&grant.feature) {
            None => {
                by_feature.insert(grant.feature, grant);
            }
            Some(kept) if grant.beats(kept) => {
                let old = std::mem::replace(kept, grant);
                kept.take_values(&old);
            }
            Some(kept) => kept.take_values(&grant),
        }
    }
    by_feature.into_values().collect()
}

/// The entitlements of the customer row `customer` (deleted or not), on
/// `resource` or on none; empty for a row that does not exist.
pub fn customer_entitlements(ds: &Dataset, customer: u32, resource: Option<&str>) -> Vec<Obj> {
    let Some(c) = Node::of(ds, Kind::Customer, customer) else {
        return Vec::new();
    };
    let on_resource = |i: u32| match (scalar(ds, Kind::Subscription, i, "resourceId"), resource) {
        (Some(Val::Null), None) => true,
        (Some(Val::Str(on)), Some(wanted)) => on == wanted,
        _ => false,
    };
    let mut grants: Vec<Grant> = subscriptions_of(ds, customer)
        .filter(|&i| {
            ds.row(Kind::Subscription, i)
                .is_some_and(|r| counts_as_active(r.bits))
        })
        .filter(|&i| on_resource(i))
        .flat_map(|i| subscription_grants(ds, i))
        .collect();
    if resource.is_none() {
        grants.extend(promotion_grants(ds, customer));
    }
    let answer = Answer {
        c: &c,
        customer_id: scalar(ds, Kind::Customer, customer, "customerId").unwrap_or(Val::Null),
        resource: resource.map_or(Val::Null, |r| Val::Str(r.to_string())),
        salt: resource.map_or(0, text_hash),
    };
    merge(grants).iter().map(|g| answer.render(g)).collect()
}

/// The live customers (row indices) with a metered entitlement whose
/// usage is at least `share` of its (finite) limit, without a resource.
pub fn customers_over(ds: &Dataset, share: f64) -> Vec<u32> {
    (0..ds.rows(Kind::Customer).len() as u32)
        .filter(|&c| ds.is_live(Kind::Customer, c))
        .filter(|&c| {
            customer_entitlements(ds, c, None).iter().any(|e| {
                matches!(
                    (e.leaf("usageLimit"), e.leaf("currentUsage")),
                    (Val::Float(limit), Val::Float(usage)) if usage >= share * limit
                )
            })
        })
        .collect()
}

/// What every row of one answer shares.
struct Answer<'a> {
    c: &'a Node<'a>,
    customer_id: Val,
    resource: Val,
    salt: u64,
}

impl Answer<'_> {
    /// Per (customer, resource, feature) randomness.
    fn roll(&self, feature: u32, k: u64) -> u64 {
        pick(
            self.c.row.bits ^ self.salt,
            900 + 8 * u64::from(feature) + k,
        )
    }

    fn render(&self, g: &Grant) -> Obj {
        let ds = self.c.ds;
        let f = g.feature;
        let metered = feature_is_metered(f as usize) && feature_type(f as usize) == "NUMBER";
        let usage = metered.then(|| match g.limit {
            Some(limit) => (limit * (self.roll(f, 0) % USAGE_PERCENT) as f64 / 100.0).round(),
            None => (self.roll(f, 0) % 5000) as f64,
        });
        let over = !g.soft && matches!((usage, g.limit), (Some(u), Some(l)) if u >= l);
        let reset = g.reset.filter(|_| metered);
        let period = reset.and_then(|r| usage_period(g.anchor, r, WORLD_NOW));
        let usage_updated = usage.map(|_| {
            let since = period.map_or(g.anchor, |p| p.0);
            (WORLD_NOW - (self.roll(f, 1) % (3 * DAY) as u64) as Millis).max(since)
        });
        let feature_row = ds.row(Kind::Feature, f);
        // The feature's `meter.id`.
        let meter_id = meter_id(ds, f)
            .filter(|_| metered)
            .map_or(Val::Null, |id| Val::Str(format_uuid(id)));
        let time = |t: Option<Millis>| t.map_or(Val::Null, Val::Time);
        Obj::new("EntitlementWithSummary")
            .with(
                "accessDeniedReason",
                match over {
                    true => Val::Enum("RequestedUsageExceedingLimit"),
                    false => Val::Null,
                },
            )
            .with("currentUsage", usage.map_or(Val::Null, Val::Float))
            .with("customerId", self.customer_id.clone())
            .with("displayNameOverride", g.display_name_override.clone())
            .with("entitlementUpdatedAt", Val::Time(g.updated))
            .with(
                "enumValues",
                g.enum_values.clone().map_or(Val::Null, Val::List),
            )
            .with(
                "feature",
                feature_row.map_or(Tree::null(), |_| entitlement_feature(ds, f).into()),
            )
            .with("hasSoftLimit", Val::Bool(g.soft))
            .with("hasUnlimitedUsage", Val::Bool(g.unlimited))
            .with("hiddenFromWidgets", Val::Null)
            .with("isGranted", Val::Bool(!over))
            .with("meterId", meter_id)
            .with("nextResetDate", time(period.map(|p| p.1)))
            .with("requestedUsage", Val::Null)
            .with("requestedValues", Val::Null)
            .with("resetPeriod", reset.map_or(Val::Null, Val::Enum))
            .with("resourceId", self.resource.clone())
            .with("usageLimit", g.limit.map_or(Val::Null, Val::Float))
            .with("usagePeriodAnchor", time(period.map(|_| g.anchor)))
            .with("usagePeriodEnd", time(period.map(|p| p.1)))
            .with("usagePeriodStart", time(period.map(|p| p.0)))
            .with("usageUpdatedAt", time(usage_updated))
            .with("validUntil", Val::Null)
    }
}

/// `EntitlementWithSummary.feature`: the feature row's fields.
fn entitlement_feature(ds: &Dataset, feature: u32) -> Obj {
    const FIELDS: [&str; 10] = [
        "additionalMetaData",
        "description",
        "displayName",
        "featureStatus",
        "featureType",
        "featureUnits",
        "featureUnitsPlural",
        "id",
        "meterType",
        "refId",
    ];
    FIELDS
        .into_iter()
        .fold(Obj::new("EntitlementFeature"), |obj, name| {
            obj.with(
                name,
                scalar(ds, Kind::Feature, feature, name).unwrap_or(Val::Null),
            )
        })
}

/// The usage period of a `reset` period counted from `anchor` that holds
/// `now`: months and years by the calendar (a day missing from a month is
/// its last day), the others by their length.
fn usage_period(anchor: Millis, reset: &str, now: Millis) -> Option<(Millis, Millis)> {
    let length = match reset {
        "HOUR" => HOUR,
        "DAY" => DAY,
        "WEEK" => 7 * DAY,
        _ => 0,
    };
    if length > 0 {
        let start = anchor + (now - anchor).max(0) / length * length;
        return Some((start, start + length));
    }
    let months: u32 = match reset {
        "MONTH" => 1,
        "YEAR" => 12,
        _ => return None,
    };
    let from = DateTime::from_timestamp_millis(anchor)?;
    let to = DateTime::from_timestamp_millis(now)?;
    let nth = |k: u32| {
        from.checked_add_months(Months::new(k * months))
            .map(|t| t.timestamp_millis())
    };
    let elapsed = (to.year() - from.year()) * 12 + to.month() as i32 - from.month() as i32;
    let mut k = elapsed.max(0) as u32 / months;
    // The calendar count is one too many while the anchor's day is to come.
    while k > 0 && nth(k)? > now {
        k -= 1;
    }
    while nth(k + 1)? <= now {
        k += 1;
    }
    Some((nth(k)?, nth(k + 1)?))
}

/// FNV-1a: a resource's share of the usage randomness.
fn text_hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{generate, Sizes};
    use crate::time::{format_iso, parse_iso};

    fn at(text: &str) -> Millis {
        parse_iso(text).expect("a time")
    }

    fn period(anchor: &str, reset: &str, now: &str) -> (String, String) {
        let (start, end) = usage_period(at(anchor), reset, at(now)).expect("a period");
        (format_iso(start), format_iso(end))
    }

    #[test]
    fn periods_hold_now_and_follow_the_calendar() {
        let month = period(
            "2024-01-31T10:00:00.000Z",
            "MONTH",
            "2025-06-30T00:00:00.000Z",
        );
        assert_eq!(
            month,
            (
                "2025-05-31T10:00:00.000Z".into(),
                "2025-06-30T10:00:00.000Z".into()
            )
        );
        let year = period(
            "2023-07-01T00:00:00.000Z",
            "YEAR",
            "2025-06-30T00:00:00.000Z",
        );
        assert_eq!(
            year,
            (
                "2024-07-01T00:00:00.000Z".into(),
                "2025-07-01T00:00:00.000Z".into()
            )
        );
        let week = period(
            "2025-06-01T12:00:00.000Z",
            "WEEK",
            "2025-06-30T00:00:00.000Z",
        );
        assert_eq!(
            week,
            (
                "2025-06-29T12:00:00.000Z".into(),
                "2025-07-06T12:00:00.000Z".into()
            )
        );
        assert!(usage_period(0, "NEVER", 1).is_none());
    }

    #[test]
    fn subscriptions_are_stored_in_customer_order() {
        let ds = generate(
            3,
            Sizes {
                customers: 50,
                subscriptions_per_customer: 3,
            },
        );
        let rows = ds.rows(Kind::Subscription);
        assert!(rows.windows(2).all(|w| w[0].refs[0] <= w[1].refs[0]));
        for customer in 0..50 {
            let mine = subscriptions_of(&ds, customer);
            assert_eq!(mine.len(), 3);
            assert!(mine.clone().all(|i| rows[i as usize].refs[0] == customer));
        }
    }

    #[test]
    fn the_larger_grant_wins_and_unlimited_wins_all() {
        let grant = |limit: Option<f64>, unlimited| Grant {
            feature: 1,
            limit,
            unlimited,
            soft: false,
            reset: None,
            enum_values: None,
            display_name_override: Val::Null,
            anchor: 0,
            updated: 0,
        };
        let merged = merge(vec![grant(Some(10.0), false), grant(Some(50.0), false)]);
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0].limit, Some(50.0));
        let merged = merge(vec![
            grant(Some(10.0), false),
            grant(None, true),
            grant(Some(90.0), false),
        ]);
        assert!(merged[0].unlimited && merged[0].limit.is_none());
        let mut plan = grant(Some(10.0), false);
        plan.add(&grant(Some(5.0), false));
        assert_eq!(plan.limit, Some(15.0));
    }
}
