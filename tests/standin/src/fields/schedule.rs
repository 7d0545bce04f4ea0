//! The other nested fields of a subscription: scheduled updates, trial,
//! minimum spend, budget, free items, experiment and resource.

use super::billing::{Billing, Memo};
use super::catalog::{name_index, row_is_latest, TIER_COUNT};
use super::entitlements::{compatible_addons, default_trial};
use super::money::money;
use super::subscription::{billing_period, current_period, pricing_type, status, WORLD_NOW};
use super::tree::{Obj, Tree};
use super::{base62, scalar, Node, Val, DAY};
use crate::data::Kind;

pub(super) fn nested(s: &Node, field: &str, memo: &Memo) -> Option<Tree> {
    let tree = match field {
        "resource" => resource(s),
        "trialConfiguration" => trial(s).into(),
        "minimumSpend" => minimum_spend(s, &memo.billing(s)).into(),
        "budget" => budget(s, &memo.billing(s)).into(),
        "freeItems" => free_items(s),
        "scheduledUpdates" => scheduled_updates(s, &memo.billing(s)),
        "experimentInfo" => experiment(s).into(),
        _ => return None,
    };
    Some(tree)
}

/// The customer resource row with the subscription's resourceId.
fn resource(s: &Node) -> Tree {
    match super::groups::resource_of(s.ds, s.index) {
        Some(index) => Tree::Row(Kind::CustomerResource, index),
        None => Tree::null(),
    }
}

/// Trials end as the plan's default trial says, else convert to paid.
fn trial(s: &Node) -> Option<Obj> {
    if status(s.row.bits) != "IN_TRIAL" {
        return None;
    }
    let behavior = Node::of(s.ds, Kind::Plan, s.row.refs[1])
        .and_then(|plan| default_trial(&plan))
        .map(|t| t.leaf("trialEndBehavior"))
        .filter(|b| !b.is_null())
        .unwrap_or(Val::Enum("CONVERT_TO_PAID"));
    Some(Obj::new("TrialConfiguration").with("trialEndBehavior", behavior))
}

/// The plan's MINIMUM_SPEND price for the subscription's period and currency.
fn minimum_spend(s: &Node, b: &Billing) -> Option<Obj> {
    let p = b.prices.iter().find(|p| p.spec.model == "MINIMUM_SPEND")?;
    Some(
        Obj::new("SubscriptionMinimumSpend")
            .with(
                "isOverride",
                if s.chance(850, 30) {
                    Val::Null
                } else {
                    Val::Bool(false)
                },
            )
            .with("minimum", money(p.spec.amount.unwrap_or(0.0), b.currency)),
    )
}

/// Some subscriptions with usage-based prices cap their spend.
fn budget(s: &Node, b: &Billing) -> Option<Obj> {
    if !b.prices.iter().any(|p| p.spec.model == "USAGE_BASED") || !s.chance(851, 40) {
        return None;
    }
    Some(
        Obj::new("BudgetConfiguration")
            .with("hasSoftLimit", Val::Bool(s.chance(852, 50)))
            .with("limit", Val::Float(s.choose(853, &[100.0, 250.0, 1000.0]))),
    )
}

/// A few paid subscriptions get an add-on free (by the add-on's refId).
fn free_items(s: &Node) -> Tree {
    let addons = compatible_addons(s.ds, s.row.refs[1]);
    if addons.is_empty() || !s.chance(854, 10) {
        return Tree::null();
    }
    let addon = addons[(s.roll(855) % addons.len() as u64) as usize];
    let ref_id = scalar(s.ds, Kind::Addon, addon, "refId").unwrap_or(Val::Null);
    Tree::from(vec![Obj::new("FreeSubscriptionItem")
        .with("addonId", ref_id)
        .with("quantity", Val::Float((1 + s.roll(856) % 3) as f64))])
}

/// Pending changes of live paid subscriptions, due at the period's end:
/// downgrades to the next lower tier, billing-period switches and add-on
/// quantity changes.
fn scheduled_updates(s: &Node, b: &Billing) -> Tree {
    let Some((_, period_end)) = current_period(s) else {
        return Tree::List(Vec::new());
    };
    let mut updates = Vec::new();
    let plan = s.row.refs[1];
    let created = (period_end - (1 + s.roll(860) % 20) as i64 * DAY).min(WORLD_NOW);
    let update = |ty: &'static str, target: Tree, vars: Obj| {
        Obj::new("SubscriptionScheduledUpdate")
            .with("subscriptionScheduleType", Val::Enum(ty))
            .with(
                "scheduleStatus",
                Val::Enum(if s.chance(861, 10) {
                    "PendingPayment"
                } else {
                    "Scheduled"
                }),
            )
            .with("scheduledExecutionTime", Val::Time(period_end))
            .with("createdAt", Val::Time(created))
            .with(
                "billingId",
                if s.chance(862, 70) {
                    Val::Str(format!("sub_sched_{}", base62(s.roll(863), 24)))
                } else {
                    Val::Null
                },
            )
            .with("targetPackage", target)
            .with("scheduleVariables", vars)
    };
    if s.chance(864, 15) {
        if let Some(lower) = lower_tier(s, plan) {
            let ref_id = scalar(s.ds, Kind::Plan, lower, "refId").unwrap_or(Val::Null);
            let vars = Obj::new("DowngradeChangeVariables")
                .with("billingPeriod", Val::Enum(billing_period(s)))
                .with("downgradePlanRefId", ref_id);
            updates.push(update("Downgrade", package_dto(s, Kind::Plan, lower), vars));
        }
    }
    if billing_period(s) == "MONTHLY" && s.chance(865, 6) {
        let vars =
            Obj::new("BillingPeriodChangeVariables").with("billingPeriod", Val::Enum("ANNUALLY"));
        updates.push(update(
            "BillingPeriod",
            package_dto(s, Kind::Plan, plan),
            vars,
        ));
    }
    if s.chance(866, 25) {
        if let Some(a) = b.addons.first() {
            let ref_id = scalar(s.ds, Kind::Addon, a.addon, "refId").unwrap_or(Val::Null);
            let vars = Obj::new("AddonChangeVariables")
                .with("addonRefId", ref_id)
                .with("newQuantity", Val::Float(a.quantity + 1.0));
            updates.push(update("Addon", package_dto(s, Kind::Addon, a.addon), vars));
        }
    }
    if pricing_type(s) != "PAID" {
        updates.clear();
    }
    Tree::from(updates)
}

/// The latest plan of the same product one tier lower, if any.
fn lower_tier(s: &Node, plan: u32) -> Option<u32> {
    let row = s.ds.row(Kind::Plan, plan)?;
    let rank = (row.bits & 0xff) as usize % TIER_COUNT;
    let plans = s.ds.rows(Kind::Plan);
    (0..plans.len() as u32).find(|&i| {
        let other = &plans[i as usize];
        let node = Node {
            ds: s.ds,
            row: other,
            index: i,
        };
        other.refs[0] == row.refs[0]
            && row_is_latest(other)
            && rank >= 2
            && name_index(&node) % TIER_COUNT == rank - 1
    })
}

fn package_dto(s: &Node, kind: Kind, index: u32) -> Tree {
    let field = |name| scalar(s.ds, kind, index, name).unwrap_or(Val::Null);
    Tree::Obj(
        Obj::new("PackageDTO")
            .with("id", field("id"))
            .with("refId", field("refId"))
            .with("type", field("type")),
    )
}

fn experiment(s: &Node) -> Option<Obj> {
    if !s.chance(870, 6) {
        return None;
    }
    // Only experiments that ran (not the DRAFT one).
    let (id, name, state) = s.choose(871, &super::groups::EXPERIMENTS[..3]);
    let variant = s.chance(872, 50);
    Some(
        Obj::new("experimentInfo")
            .with("id", Val::Str(id.into()))
            .with("name", Val::Str(name.into()))
            .with(
                "groupName",
                Val::Str(if variant { "Variant" } else { "Control" }.into()),
            )
            .with(
                "groupType",
                Val::Enum(if variant { "VARIANT" } else { "CONTROL" }),
            )
            .with("status", Val::Enum(state)),
    )
}
