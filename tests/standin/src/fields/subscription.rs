//! SubscriptionQuery fields. Dates follow the status: a canceled
//! subscription has a cancellation date, a trial has a trial end, and so on.

use serde_json::json;

use super::{base62, catalog, json, opt_str, opt_time, Node, Val, DAY};
use crate::data::Kind;
use crate::rng::{pick, scramble32};
use crate::time::Millis;

/// The "now" of the generated world: billing periods are current then.
pub(super) const WORLD_NOW: Millis = 1_751_241_600_000; // 2025-06-30

const STATUSES: [(&str, u64); 6] = [
    ("ACTIVE", 55),
    ("CANCELED", 15),
    ("IN_TRIAL", 10),
    ("EXPIRED", 10),
    ("NOT_STARTED", 5),
    ("PAYMENT_PENDING", 5),
];

/// The status of a subscription row, from its bits.
pub fn status(bits: u64) -> &'static str {
    let mut roll = pick(bits, 100) % 100;
    for (name, weight) in STATUSES {
        if roll < weight {
            return name;
        }
        roll -= weight;
    }
    "ACTIVE"
}

/// Whether a subscription counts in `Customer.totalActiveSubscription`.
pub fn counts_as_active(bits: u64) -> bool {
    matches!(status(bits), "ACTIVE" | "IN_TRIAL")
}

pub(super) fn scalar(s: &Node, field: &str) -> Option<Val> {
    let row = s.row;
    let status = status(row.bits);
    let paid = pricing_type(s) == "PAID";
    let value = match field {
        "id" => Val::Uuid(row.id),
        "subscriptionId" | "refId" => Val::Str(subscription_id(s)),
        "customerId" => customer_field(s, "customerId"),
        "createdAt" => Val::Time(row.created_at),
        "environmentId" => s.environment_id(),
        "status" => Val::Enum(status),
        "pricingType" => Val::Enum(pricing_type(s)),
        "startDate" => Val::Time(start_date(s)),
        "billingPeriod" => {
            if paid {
                Val::Enum(billing_period(s))
            } else {
                Val::Null
            }
        }
        "billingCycleAnchor" => opt_time(paid.then(|| start_date(s))),
        "currentBillingPeriodStart" => opt_time(current_period(s).map(|p| p.0)),
        "currentBillingPeriodEnd" => opt_time(current_period(s).map(|p| p.1)),
        "trialEndDate" => opt_time(had_trial(s).then(|| start_date(s) + 14 * DAY)),
        "wasInTrial" => {
            if s.chance(101, 20) {
                Val::Null
            } else {
                Val::Bool(had_trial(s))
            }
        }
        "cancellationDate" => opt_time((status == "CANCELED").then(|| end_date(s))),
        "endDate" | "effectiveEndDate" => {
            opt_time(matches!(status, "CANCELED" | "EXPIRED").then(|| end_date(s)))
        }
        "cancelReason" => cancel_reason(s, status),
        "billingId" => opt_str(paid, || billing_id(s)),
        "billingLinkUrl" => opt_str(paid, || {
            format!(
                "https://dashboard.stripe.com/subscriptions/{}",
                billing_id(s)
            )
        }),
        "oldBillingId" => opt_str(paid && s.chance(102, 3), || {
            format!("sub_{}", base62(s.roll(103), 24))
        }),
        "billingSyncError" => opt_str(paid && s.chance(104, 2), || {
            "Your card was declined.".to_string()
        }),
        "budgetExceeded" => {
            if s.chance(105, 80) {
                Val::Null
            } else {
                Val::Bool(s.chance(106, 10))
            }
        }
        "crmId" => opt_str(has_crm(s), || crm_id(s)),
        "crmLinkUrl" => opt_str(has_crm(s), || {
            format!(
                "https://app.hubspot.com/contacts/21452189/deal/{}",
                crm_id(s)
            )
        }),
        "salesforceId" => opt_str(s.chance(108, 10), || {
            format!("a0B{}", base62(s.roll(108), 15))
        }),
        "payingCustomerId" => paying_customer(s),
        "paymentCollection" => Val::Enum(payment_collection(s, status)),
        "paymentCollectionMethod" => payment_collection_method(s, paid),
        "resourceId" => opt_str(s.chance(111, 10), || {
            format!("site-{}", base62(s.roll(111), 8).to_lowercase())
        }),
        "additionalMetaData" => metadata(s),
        _ => return None,
    };
    Some(value)
}

/// Unique per row: a bijection of the row index.
fn subscription_id(s: &Node) -> String {
    format!(
        "subscription-{:08x}",
        scramble32(s.index ^ s.seed32() ^ 0x5ab5_c0de)
    )
}

fn customer_field(s: &Node, field: &str) -> Val {
    super::scalar(s.ds, Kind::Customer, s.row.refs[0], field).unwrap_or(Val::Null)
}

pub(super) fn pricing_type(s: &Node) -> &'static str {
    catalog::plan_pricing_type(s.ds, s.row.refs[1]).unwrap_or("PAID")
}

pub(super) fn start_date(s: &Node) -> Millis {
    match status(s.row.bits) {
        "NOT_STARTED" => s.row.created_at + (1 + (s.roll(112) % 30) as i64) * DAY,
        _ => s.row.created_at,
    }
}

pub(super) fn billing_period(s: &Node) -> &'static str {
    if s.chance(113, 70) {
        "MONTHLY"
    } else {
        "ANNUALLY"
    }
}

fn period_length(s: &Node) -> Millis {
    match billing_period(s) {
        "MONTHLY" => 30 * DAY,
        _ => 365 * DAY,
    }
}

/// The billing period containing WORLD_NOW, for live paid subscriptions.
pub(super) fn current_period(s: &Node) -> Option<(Millis, Millis)> {
    let live = matches!(
        status(s.row.bits),
        "ACTIVE" | "IN_TRIAL" | "PAYMENT_PENDING"
    );
    if !live || pricing_type(s) != "PAID" {
        return None;
    }
    let start = start_date(s);
    let length = period_length(s);
    let elapsed = (WORLD_NOW - start).max(0) / length;
    let period_start = start + elapsed * length;
    Some((period_start, period_start + length))
}

pub(super) fn had_trial(s: &Node) -> bool {
    status(s.row.bits) == "IN_TRIAL" || s.chance(114, 25)
}

pub(super) fn end_date(s: &Node) -> Millis {
    start_date(s) + (1 + (s.roll(115) % 300) as i64) * DAY + (s.roll(116) % DAY as u64) as i64
}

fn cancel_reason(s: &Node, status: &str) -> Val {
    const CANCELED: [&str; 5] = [
        "Immediate",
        "ScheduledCancellation",
        "UpgradeOrDowngrade",
        "CancelledByBilling",
        "CustomerArchived",
    ];
    match status {
        "CANCELED" => Val::Enum(s.choose(117, &CANCELED)),
        "EXPIRED" => Val::Enum(s.choose(117, &["Expired", "TrialEnded"])),
        _ => Val::Null,
    }
}

fn billing_id(s: &Node) -> String {
    format!("sub_{}", base62(s.roll(118), 24))
}

fn has_crm(s: &Node) -> bool {
    s.chance(107, 20)
}

fn crm_id(s: &Node) -> String {
    format!("{}", 9_000_000_000 + s.roll(107) % 900_000_000)
}

/// Occasionally another customer pays (a reseller or parent account).
pub(super) fn paying_customer_index(s: &Node) -> Option<u32> {
    let customers = s.ds.rows(Kind::Customer).len();
    if customers < 2 || !s.chance(109, 5) {
        return None;
    }
    Some(((s.row.refs[0] as usize + 1) % customers) as u32)
}

fn paying_customer(s: &Node) -> Val {
    paying_customer_index(s)
        .and_then(|i| s.ds.row(Kind::Customer, i))
        .map_or(Val::Null, |r| Val::Uuid(r.id))
}

pub(super) fn payment_collection(s: &Node, status: &str) -> &'static str {
    if status == "PAYMENT_PENDING" {
        return "ACTION_REQUIRED";
    }
    match s.roll(110) % 20 {
        0 => "FAILED",
        1 => "PROCESSING",
        _ => "NOT_REQUIRED",
    }
}

pub(super) fn payment_collection_method(s: &Node, paid: bool) -> Val {
    if !paid {
        return if s.chance(119, 50) {
            Val::Null
        } else {
            Val::Enum("NONE")
        };
    }
    Val::Enum(match s.roll(119) % 20 {
        0..=13 => "CHARGE",
        14..=18 => "INVOICE",
        _ => "NONE",
    })
}

fn metadata(s: &Node) -> Val {
    match s.roll(120) % 10 {
        0..=6 => Val::Null,
        7 => json(json!({ "source": "api" })),
        _ => json(
            json!({ "source": "checkout", "campaign": format!("q{}-promo", 1 + s.roll(121) % 4) }),
        ),
    }
}
