//! Customer fields.

use serde_json::json;

use super::tree::Obj;
use super::{base62, json, opt_str, scalar as field_of, slug, Node, Val};
use crate::data::{Dataset, Kind};
use crate::rng::{scramble32, unscramble32};
use crate::words::{
    CARD_BRANDS, COMPANIES, CURRENCIES, FIRST_NAMES, LAST_NAMES, REGIONS, SEGMENTS, SOURCES, TLDS,
};

pub(super) fn scalar(c: &Node, field: &str) -> Option<Val> {
    let row = c.row;
    let value = match field {
        "id" => Val::Uuid(row.id),
        "customerId" | "refId" => Val::Str(customer_id(c)),
        "name" => opt_str(!c.chance(4, 5), || format!("{} {}", first(c), last(c))),
        "email" => opt_str(!c.chance(5, 8), || email(c)),
        "createdAt" => Val::Time(row.created_at),
        "updatedAt" => Val::Time(row.updated_at),
        "deletedAt" => {
            if c.chance(18, 1) {
                Val::Time(row.updated_at)
            } else {
                Val::Null
            }
        }
        "environmentId" => c.environment_id(),
        "billingId" => opt_str(has_billing(c), || billing_id(c)),
        "billingLinkUrl" => opt_str(has_billing(c), || {
            format!("https://dashboard.stripe.com/customers/{}", billing_id(c))
        }),
        "billingCurrency" => {
            if c.chance(8, 20) {
                Val::Null
            } else {
                Val::Enum(c.choose(8, CURRENCIES))
            }
        }
        "crmId" | "crmHubspotCompanyId" => opt_str(has_crm(c), || crm_id(c)),
        "crmHubspotCompanyUrl" => opt_str(has_crm(c), || {
            format!(
                "https://app.hubspot.com/contacts/21452189/company/{}",
                crm_id(c)
            )
        }),
        "salesforceId" => opt_str(c.chance(11, 15), || {
            format!("001{}", base62(c.roll(12), 15))
        }),
        "awsMarketplaceCustomerId" => opt_str(c.chance(13, 3), || base62(c.roll(13), 11)),
        "hasPaymentMethod" => Val::Bool(has_payment_method(c)),
        "hasActiveResource" => Val::Bool(c.chance(20, 5)),
        "hasActiveSubscription" => Val::Bool(row.refs[0] > 0),
        "totalActiveSubscription" => Val::Float(f64::from(row.refs[0])),
        "totalActivePromotionalEntitlements" => Val::Float(f64::from(row.refs[1])),
        "excludeFromExperiment" => exclude_from_experiment(c).map_or(Val::Null, Val::Bool),
        "additionalMetaData" => metadata(c),
        _ => return payment_method(c, field),
    };
    Some(value)
}

fn exclude_from_experiment(c: &Node) -> Option<bool> {
    match c.roll(19) % 10 {
        0..=4 => None,
        5 => Some(true),
        _ => Some(false),
    }
}

/// `Customer.coupon`: a coupon row (any status) for about 1 customer in 6.
pub(super) fn coupon(c: &Node) -> Option<u32> {
    let coupons = c.ds.rows(Kind::Coupon).len() as u64;
    (coupons > 0 && c.roll(1200).is_multiple_of(6)).then(|| (c.roll(1201) % coupons) as u32)
}

/// `Customer.experimentInfo`: about 1 customer in 8, never one excluded
/// from experiments, is in an experiment that ran (an `experiments` row
/// not in DRAFT): `id` is the experiment's `refId` (as in
/// `SubscriptionQuery.experimentInfo`; the type's `id` is a String, not
/// a UUID), the group VARIANT for its variantPercentage of customers.
pub(super) fn experiment_info(c: &Node) -> Option<Obj> {
    if exclude_from_experiment(c) == Some(true) || !c.roll(1210).is_multiple_of(7) {
        return None;
    }
    let ds = c.ds;
    let experiment =
        |i: u32, name: &str| field_of(ds, Kind::Experiment, i, name).unwrap_or(Val::Null);
    let ran: Vec<u32> = (0..ds.rows(Kind::Experiment).len() as u32)
        .filter(|&i| experiment(i, "status") != Val::Enum("DRAFT"))
        .collect();
    if ran.is_empty() {
        return None;
    }
    let e = ran[(c.roll(1211) % ran.len() as u64) as usize];
    let variant_percent = match experiment(e, "variantPercentage") {
        Val::Float(p) => p,
        _ => 50.0,
    };
    let variant = ((c.roll(1212) % 100) as f64) < variant_percent;
    let (group, group_type) = match variant {
        true => ("variantGroupName", "VARIANT"),
        false => ("controlGroupName", "CONTROL"),
    };
    Some(
        Obj::new("experimentInfo")
            .with("groupName", experiment(e, group))
            .with("groupType", Val::Enum(group_type))
            .with("id", experiment(e, "refId"))
            .with("name", experiment(e, "name"))
            .with("status", experiment(e, "status")),
    )
}

/// Unique per row: a bijection of the row index.
fn customer_id(c: &Node) -> String {
    format!("customer-{:08x}", scramble32(c.index ^ c.seed32()))
}

/// The row index a `customerId` names (whether or not that row exists).
pub fn customer_index(ds: &Dataset, customer_id: &str) -> Option<u32> {
    let hex = customer_id.strip_prefix("customer-")?;
    let scrambled = u32::from_str_radix(hex, 16).ok()?;
    // Only the exact spelling names a customer ("+0000001" parses too).
    (format!("{scrambled:08x}") == hex).then(|| unscramble32(scrambled) ^ ds.seed as u32)
}

fn first(c: &Node) -> &'static str {
    c.choose(1, FIRST_NAMES)
}

fn last(c: &Node) -> &'static str {
    c.choose(2, LAST_NAMES)
}

fn email(c: &Node) -> String {
    let domain = format!("{}.{}", c.choose(3, COMPANIES), c.choose(3, TLDS));
    let local = format!("{}.{}", slug(first(c)), slug(last(c)));
    match c.roll(22) % 4 {
        0 => format!("{local}{}@{domain}", c.index % 100),
        _ => format!("{local}@{domain}"),
    }
}

fn has_billing(c: &Node) -> bool {
    c.chance(6, 70)
}

fn billing_id(c: &Node) -> String {
    format!("cus_{}", base62(c.roll(7), 14))
}

fn has_crm(c: &Node) -> bool {
    c.chance(9, 30)
}

fn crm_id(c: &Node) -> String {
    format!("{}", 5_000_000_000 + c.roll(10) % 4_000_000_000)
}

fn has_payment_method(c: &Node) -> bool {
    c.chance(14, 60)
}

fn payment_method_type(c: &Node) -> Option<&'static str> {
    if !has_payment_method(c) {
        return None;
    }
    Some(match c.roll(15) % 20 {
        0..=16 => "CARD",
        17 | 18 => "BANK",
        _ => "CASH_APP",
    })
}

fn payment_method(c: &Node, field: &str) -> Option<Val> {
    let kind = payment_method_type(c);
    let card = kind == Some("CARD");
    let value = match field {
        "defaultPaymentMethodType" => kind.map_or(Val::Null, Val::Enum),
        "defaultPaymentMethodId" => {
            opt_str(kind.is_some(), || format!("pm_{}", base62(c.roll(16), 24)))
        }
        "defaultPaymentMethodCardBrand" => opt_str(card, || c.choose(17, CARD_BRANDS).to_string()),
        "defaultPaymentMethodLast4Digits" => {
            opt_str(kind.is_some(), || format!("{:04}", c.roll(18) % 10_000))
        }
        "defaultPaymentExpirationMonth" => int_if(card, 1 + c.roll(19) % 12),
        "defaultPaymentExpirationYear" => int_if(card, 2025 + c.roll(20) % 7),
        "defaultPaymentMethodWalletType" => opt_str(card && c.chance(21, 15), || {
            c.choose(21, &["apple_pay", "google_pay"]).to_string()
        }),
        _ => return None,
    };
    Some(value)
}

fn int_if(present: bool, value: u64) -> Val {
    if present {
        Val::Int(value as i64)
    } else {
        Val::Null
    }
}

fn metadata(c: &Node) -> Val {
    match c.roll(23) % 10 {
        0..=3 => Val::Null,
        4 => json(json!({})),
        5 => json(
            json!({ "hubspot": { "lifecycleStage": "customer", "ownerId": c.roll(24) % 1000 } }),
        ),
        _ => json(json!({
            "segment": c.choose(25, SEGMENTS),
            "region": c.choose(26, REGIONS),
            "seats": 1 + c.roll(27) % 250,
            "signupSource": c.choose(28, SOURCES),
        })),
    }
}
