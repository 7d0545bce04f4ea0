//! Credit grants, custom currencies and the credit ledger.
//!
//! A generated grant's dates, status and consumptions all follow from its
//! row; the ledger is derived from the grants (granted, consumed, expired
//! or voided) plus the consumptions `Standin::consume_credits` recorded.
//! Ledger amounts are signed: what a grant adds is positive, what it loses
//! negative, so a grant's entries sum to its balance.

use serde_json::json;

use super::money::money;
use super::subscription::WORLD_NOW;
use super::tree::Obj;
use super::{base62, catalog, json, opt_str, opt_time, scalar, Node, Val, DAY};
use crate::data::{Dataset, Kind};
use crate::rng::{derive_uuid, format_uuid};
use crate::time::{format_iso, Millis};

/// (currencyId, displayName, symbol, singular, plural, archived)
pub const CURRENCIES: [(&str, &str, &str, &str, &str, bool); 6] = [
    ("credits", "Credits", "cr", "credit", "credits", false),
    ("ai-tokens", "AI tokens", "tk", "token", "tokens", false),
    (
        "compute-units",
        "Compute units",
        "cu",
        "unit",
        "units",
        false,
    ),
    ("gems", "Gems", "💎", "gem", "gems", false),
    (
        "legacy-points",
        "Legacy points",
        "pt",
        "point",
        "points",
        true,
    ),
    ("beta-coins", "Beta coins", "bc", "coin", "coins", true),
];

/// A consumption recorded by `Standin::consume_credits`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Consumption {
    pub grant: u32,
    pub at: Millis,
    pub amount: f64,
    /// The usage event's id (`CreditLedgerEvent.eventId`).
    pub event_id: u128,
    pub feature: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantEnd {
    Expired(Millis),
    Voided(Millis),
}

#[derive(Debug, Clone, Copy)]
pub struct GrantDates {
    pub effective: Millis,
    pub expire: Option<Millis>,
    pub end: Option<GrantEnd>,
}

/// Grants made by `grant_credits` are later than the generated world:
/// their amount is stored in `bits`, and they neither expire nor vary.
fn is_granted_live(created_at: Millis) -> bool {
    created_at > WORLD_NOW
}

pub fn grant_dates(ds: &Dataset, index: u32) -> Option<GrantDates> {
    let g = Node::of(ds, Kind::CreditGrant, index)?;
    let created = g.row.created_at;
    if is_granted_live(created) {
        return Some(GrantDates {
            effective: created,
            expire: None,
            end: None,
        });
    }
    let effective = match g.chance(500, 10) {
        true => created + (g.roll(501) % 60) as i64 * DAY,
        false => created,
    };
    let expire = g
        .chance(502, 50)
        .then(|| effective + g.choose(503, &[90, 180, 365]) * DAY);
    let end = match expire {
        _ if g.chance(504, 6) && effective < WORLD_NOW => {
            let until = expire.unwrap_or(WORLD_NOW).min(WORLD_NOW);
            Some(GrantEnd::Voided(effective + (until - effective) / 2))
        }
        Some(at) if at <= WORLD_NOW => Some(GrantEnd::Expired(at)),
        _ => None,
    };
    Some(GrantDates {
        effective,
        expire,
        end,
    })
}

fn grant_type(g: &Node) -> &'static str {
    if is_granted_live(g.row.created_at) {
        return "PROMOTIONAL";
    }
    match g.roll(505) % 20 {
        0..=7 => "PAID",
        8..=13 => "PROMOTIONAL",
        14..=18 => "RECURRING",
        _ => "OVERDRAFT",
    }
}

fn amount(g: &Node) -> f64 {
    match is_granted_live(g.row.created_at) {
        true => f64::from_bits(g.row.bits),
        false => g.choose(506, &[100.0, 500.0, 1000.0, 2500.0, 10000.0]),
    }
}

fn status(g: &Node, dates: &GrantDates) -> &'static str {
    match dates.end {
        Some(GrantEnd::Voided(_)) => "VOIDED",
        Some(GrantEnd::Expired(_)) => "EXPIRED",
        None if dates.effective > WORLD_NOW.max(g.row.created_at) => "SCHEDULED",
        None if grant_type(g) == "PAID" && g.chance(507, 8) => "PAYMENT_PENDING",
        None => "ACTIVE",
    }
}

/// The generated consumptions of a grant: (time, amount, salt), amounts
/// positive; none before the grant is effective and paid for.
fn generated_consumptions(g: &Node, dates: &GrantDates) -> Vec<(Millis, f64, u64)> {
    if is_granted_live(g.row.created_at)
        || matches!(status(g, dates), "SCHEDULED" | "PAYMENT_PENDING")
    {
        return Vec::new();
    }
    let count = g.roll(508) % 4;
    if count == 0 {
        return Vec::new();
    }
    let until = match dates.end {
        Some(GrantEnd::Expired(at) | GrantEnd::Voided(at)) => at,
        None => WORLD_NOW,
    };
    let total = (amount(g) * (g.roll(509) % 101) as f64 / 100.0).floor();
    let part = (total / count as f64).floor();
    let span = (until - dates.effective).max(count as i64 + 1);
    (0..count)
        .map(|i| {
            let amount = match i + 1 == count {
                true => total - part * (count - 1) as f64,
                false => part,
            };
            let at = dates.effective + span * (i as i64 + 1) / (count as i64 + 1);
            (at, amount, 1000 + i)
        })
        .filter(|c| c.1 > 0.0)
        .collect()
}

/// What a grant has had consumed, generated and recorded.
pub fn consumed(ds: &Dataset, index: u32) -> f64 {
    let Some(g) = Node::of(ds, Kind::CreditGrant, index) else {
        return 0.0;
    };
    let Some(dates) = grant_dates(ds, index) else {
        return 0.0;
    };
    let generated: f64 = generated_consumptions(&g, &dates).iter().map(|c| c.1).sum();
    let recorded: f64 = ds
        .consumptions
        .iter()
        .filter(|c| c.grant == index)
        .map(|c| c.amount)
        .sum();
    generated + recorded
}

/// What is left to consume of an ACTIVE grant (0 for any other status).
pub fn remaining(ds: &Dataset, index: u32) -> f64 {
    let (Some(g), Some(dates)) = (
        Node::of(ds, Kind::CreditGrant, index),
        grant_dates(ds, index),
    ) else {
        return 0.0;
    };
    match status(&g, &dates) {
        "ACTIVE" => (amount(&g) - consumed(ds, index)).max(0.0),
        _ => 0.0,
    }
}

/// The order `consume_credits` draws from a customer's grants.
pub fn grant_priority(ds: &Dataset, index: u32) -> f64 {
    Node::of(ds, Kind::CreditGrant, index).map_or(0.0, |g| priority(&g))
}

fn priority(g: &Node) -> f64 {
    match grant_type(g) {
        "PROMOTIONAL" => 1.0,
        "RECURRING" => 2.0,
        "PAID" => 3.0,
        _ => 10.0,
    }
}

fn customer_text(g: &Node) -> Val {
    scalar(g.ds, Kind::Customer, g.row.refs[0], "customerId").unwrap_or(Val::Null)
}

fn currency_id(ds: &Dataset, currency: u32) -> Val {
    let index = currency as usize % CURRENCIES.len();
    match ds.row(Kind::CustomCurrency, currency) {
        Some(_) => Val::Str(CURRENCIES[index].0.to_string()),
        None => Val::Null,
    }
}

pub(super) fn grant(g: &Node, field: &str) -> Option<Val> {
    let dates = grant_dates(g.ds, g.index)?;
    let status = status(g, &dates);
    let paid = grant_type(g) == "PAID";
    let value = match field {
        "id" => Val::Uuid(g.row.id),
        "grantId" => Val::Str(format!("grant-{}", base62(g.roll(510), 12))),
        "customerId" => customer_text(g),
        "resourceId" | "automaticRechargeConfigurationId" => Val::Null,
        "currencyId" => currency_id(g.ds, g.row.refs[1]),
        "displayName" => Val::Str(
            match grant_type(g) {
                "PAID" => "Credit top-up",
                "PROMOTIONAL" => "Welcome credits",
                "RECURRING" => "Monthly credits",
                _ => "Overdraft",
            }
            .to_string(),
        ),
        "grantType" => Val::Enum(grant_type(g)),
        "status" => Val::Enum(status),
        "sourceType" => match grant_type(g) {
            "RECURRING" => Val::Enum(if g.chance(511, 30) {
                "ADDON_ENTITLEMENT"
            } else {
                "PLAN_ENTITLEMENT"
            }),
            "PAID" => Val::Enum("PRICE"),
            _ => Val::Null,
        },
        "amount" => Val::Float(amount(g)),
        "consumedAmount" => Val::Float(consumed(g.ds, g.index)),
        "priority" => Val::Float(priority(g)),
        "paymentCollection" => Val::Enum(match status {
            "PAYMENT_PENDING" => "PROCESSING",
            _ => "NOT_REQUIRED",
        }),
        "effectiveAt" => Val::Time(dates.effective),
        "expireAt" => opt_time(dates.expire),
        "voidedAt" => opt_time(match dates.end {
            Some(GrantEnd::Voided(at)) => Some(at),
            _ => None,
        }),
        "comment" => opt_str(g.chance(512, 25), || "Granted by customer success".into()),
        "invoiceId" => opt_str(paid, || format!("in_{}", base62(g.roll(513), 24))),
        "additionalMetaData" => match g.roll(514) % 3 {
            0 => json(json!({ "campaign": "spring-launch" })),
            _ => Val::Null,
        },
        "createdAt" => Val::Time(g.row.created_at),
        "updatedAt" => Val::Time(g.row.updated_at),
        _ => return None,
    };
    Some(value)
}

/// `CreditGrant.cost`: a paid grant costs a cent per credit.
pub(super) fn cost(g: &Node) -> Obj {
    let price = match grant_type(g) {
        "PAID" => amount(g) / 100.0,
        _ => 0.0,
    };
    money(price, "USD")
}

pub(super) fn currency(c: &Node, field: &str) -> Option<Val> {
    let (id, name, symbol, _, _, archived) = CURRENCIES[c.index as usize % CURRENCIES.len()];
    let value = match field {
        "id" => Val::Uuid(c.row.id),
        "currencyId" => Val::Str(id.to_string()),
        "displayName" => Val::Str(name.to_string()),
        "description" => opt_str(!c.chance(640, 40), || {
            format!("{name} for usage-based features")
        }),
        "symbol" => opt_str(c.index != 2, || symbol.to_string()),
        "additionalMetaData" => match c.index {
            0 => json(json!({ "rate": "1 credit = $0.01" })),
            _ => Val::Null,
        },
        "archivedAt" => opt_time(archived.then_some(c.row.updated_at)),
        "createdAt" => Val::Time(c.row.created_at),
        "updatedAt" => Val::Time(c.row.updated_at),
        _ => return None,
    };
    Some(value)
}

pub fn currency_is_archived(index: u32) -> bool {
    CURRENCIES[index as usize % CURRENCIES.len()].5
}

pub(super) fn units(c: &Node) -> Obj {
    let (_, _, _, singular, plural, _) = CURRENCIES[c.index as usize % CURRENCIES.len()];
    Obj::new("Units")
        .with("plural", Val::Str(plural.to_string()))
        .with("singular", Val::Str(singular.to_string()))
}

/// A customer's ledger, oldest first (ties in grant order, then as listed
/// below), as `CreditLedgerEvent` objects.
pub fn ledger(ds: &Dataset, customer: u32) -> Vec<Obj> {
    let grants = ds
        .grants_by_customer
        .get(&customer)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut entries: Vec<(Millis, usize, Obj)> = Vec::new();
    for (order, &index) in grants.iter().enumerate() {
        let (Some(g), Some(dates)) = (
            Node::of(ds, Kind::CreditGrant, index),
            grant_dates(ds, index),
        ) else {
            continue;
        };
        let entry = |ty: &'static str, at: Millis, amount: f64| {
            Obj::new("CreditLedgerEvent")
                .with("amount", Val::Float(amount))
                .with("creditCurrencyId", currency_id(ds, g.row.refs[1]))
                .with("creditGrantId", Val::Str(format_uuid(g.row.id)))
                .with("customerId", customer_text(&g))
                .with("eventId", Val::Null)
                .with("eventType", Val::Enum(ty))
                .with("featureId", Val::Null)
                .with("resourceId", Val::Null)
                .with("timestamp", Val::Str(format_iso(at)))
        };
        if status(&g, &dates) == "SCHEDULED" {
            continue;
        }
        entries.push((
            dates.effective,
            order,
            entry("CREDITS_GRANTED", dates.effective, amount(&g)),
        ));
        let features = metered_features(ds);
        let mut consumed = 0.0;
        for (at, amount, salt) in generated_consumptions(&g, &dates) {
            consumed += amount;
            let feature = features.get((g.roll(salt) % features.len().max(1) as u64) as usize);
            entries.push((
                at,
                order,
                usage(
                    entry("CREDITS_CONSUMED", at, -amount),
                    derive_uuid(g.row.id, salt),
                    ds,
                    feature.copied(),
                ),
            ));
        }
        for c in ds.consumptions.iter().filter(|c| c.grant == index) {
            consumed += c.amount;
            entries.push((
                c.at,
                order,
                usage(
                    entry("CREDITS_CONSUMED", c.at, -c.amount),
                    c.event_id,
                    ds,
                    Some(c.feature),
                ),
            ));
        }
        let left = amount(&g) - consumed;
        match dates.end {
            Some(GrantEnd::Expired(at)) if left > 0.0 => {
                entries.push((at, order, entry("CREDITS_EXPIRED", at, -left)))
            }
            Some(GrantEnd::Voided(at)) if left > 0.0 => {
                entries.push((at, order, entry("CREDITS_VOIDED", at, -left)))
            }
            _ => {}
        }
    }
    // Stable: equal times keep grant order, then the order pushed above.
    entries.sort_by_key(|e| (e.0, e.1));
    entries.into_iter().map(|e| e.2).collect()
}

/// A consumption names its usage event and the feature used (its refId).
fn usage(entry: Obj, event_id: u128, ds: &Dataset, feature: Option<u32>) -> Obj {
    let feature = feature
        .and_then(|f| scalar(ds, Kind::Feature, f, "refId"))
        .unwrap_or(Val::Null);
    let mut entry = entry;
    for (name, value) in &mut entry.fields {
        match *name {
            "eventId" => *value = Val::Str(format_uuid(event_id)).into(),
            "featureId" => *value = feature.clone().into(),
            _ => {}
        }
    }
    entry
}

pub fn metered_features(ds: &Dataset) -> Vec<u32> {
    (0..ds.rows(Kind::Feature).len() as u32)
        .filter(|&f| catalog::feature_is_metered(f as usize))
        .collect()
}
