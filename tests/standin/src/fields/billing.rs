//! What a subscription pays: its prices (its plan's prices for its billing
//! period, in one currency), add-ons, coupons, total and latest invoice.
//!
//! Totals are consistent by construction:
//! - `subTotal` = FLAT_FEE amounts + PER_UNIT amount × `usageLimit` (the
//!   units bought); USAGE_BASED (billed in arrears) and MINIMUM_SPEND are not in it;
//! - `addonsTotal` = Σ add-on price amount × quantity;
//! - `total` = subTotal + addonsTotal − the ACTIVE coupons' discounts
//!   (percentOff % of subTotal + addonsTotal each, FIXED the amountsOff in the
//!   subscription's currency), never below 0; every sum is rounded to cents.
//!
//! Free and custom subscriptions have no prices, no add-ons and a null totalPrice.

use std::cell::RefCell;
use std::rc::Rc;

use super::entitlements::compatible_addons;
use super::money::{self, cents, money, PriceSpec, LOCALES};
use super::subscription::{
    billing_period, current_period, payment_collection, payment_collection_method, pricing_type,
    start_date, status, WORLD_NOW,
};
use super::tree::{Obj, Tree};
use super::{base62, scalar, Node, Val, DAY};
use crate::data::Kind;
use crate::rng::{derive_uuid, format_uuid};
use crate::time::Millis;

pub struct SubPrice {
    pub id: u128,
    pub spec: PriceSpec,
    /// PER_UNIT: the units bought (`usageLimit`).
    pub units: Option<f64>,
}

pub struct SubAddon {
    pub id: u128,
    pub addon: u32,
    pub quantity: f64,
    pub spec: PriceSpec,
}

pub struct SubCoupon {
    pub coupon: u32,
    pub start: Millis,
    pub expiration: Option<Millis>,
    pub status: &'static str,
}

/// Everything money about one subscription.
pub struct Billing {
    pub currency: &'static str,
    pub prices: Vec<SubPrice>,
    pub addons: Vec<SubAddon>,
    pub coupons: Vec<SubCoupon>,
}

impl Billing {
    pub fn of(s: &Node) -> Billing {
        let mut billing = Billing {
            currency: "USD",
            prices: Vec::new(),
            addons: Vec::new(),
            coupons: Vec::new(),
        };
        if pricing_type(s) != "PAID" {
            return billing;
        }
        let plan = s.row.refs[1];
        let Some(plan_node) = Node::of(s.ds, Kind::Plan, plan) else {
            return billing;
        };
        let period = billing_period(s);
        let specs = money::prices(&plan_node, Kind::Plan);
        billing.currency = currency(s, &specs);
        let currency = billing.currency;
        let mine = |p: &PriceSpec| p.period == period && p.currency == currency;
        for (k, spec) in specs.into_iter().filter(mine).enumerate() {
            let units = (spec.model == "PER_UNIT").then(|| units(s, k as u64, &spec));
            billing.prices.push(SubPrice {
                id: derive_uuid(s.row.id, 1 + k as u64),
                spec,
                units,
            });
        }
        for (i, addon) in compatible_addons(s.ds, plan).into_iter().enumerate() {
            let Some(addon_node) = Node::of(s.ds, Kind::Addon, addon) else {
                continue;
            };
            if !s.chance(810 + i as u64, 30) {
                continue;
            }
            let Some(spec) = money::prices(&addon_node, Kind::Addon)
                .into_iter()
                .find(mine)
            else {
                continue;
            };
            let max = match scalar(s.ds, Kind::Addon, addon, "maxQuantity") {
                Some(Val::Float(m)) => m,
                _ => 10.0,
            };
            let quantity = (1 + s.roll(830 + i as u64) % 10) as f64;
            billing.addons.push(SubAddon {
                id: derive_uuid(s.row.id, 100 + i as u64),
                addon,
                quantity: quantity.min(max).max(1.0),
                spec,
            });
        }
        billing.coupons = coupons(s);
        billing
    }

    pub fn sub_total(&self) -> f64 {
        cents(
            self.prices
                .iter()
                .map(|p| match p.spec.model {
                    "FLAT_FEE" => p.spec.amount.unwrap_or(0.0),
                    "PER_UNIT" => p.spec.amount.unwrap_or(0.0) * p.units.unwrap_or(0.0),
                    _ => 0.0,
                })
                .sum(),
        )
    }

    pub fn addons_total(&self) -> f64 {
        cents(
            self.addons
                .iter()
                .map(|a| a.spec.amount.unwrap_or(0.0) * a.quantity)
                .sum(),
        )
    }

    /// subTotal + addonsTotal − active discounts, at least 0.
    pub fn total(&self, s: &Node) -> f64 {
        let gross = cents(self.sub_total() + self.addons_total());
        let mut discount = 0.0;
        for c in self.coupons.iter().filter(|c| c.status == "ACTIVE") {
            let field = |name| scalar(s.ds, Kind::Coupon, c.coupon, name).unwrap_or(Val::Null);
            discount += match (field("percentOff"), field("discountValue")) {
                (Val::Float(pct), _) => cents(gross * pct / 100.0),
                (_, Val::Float(off)) => fixed_off(off, self.currency),
                _ => 0.0,
            };
        }
        cents((gross - discount).max(0.0))
    }
}

/// The customer's billing currency when the plan is priced in it, else USD.
fn currency(s: &Node, specs: &[PriceSpec]) -> &'static str {
    match scalar(s.ds, Kind::Customer, s.row.refs[0], "billingCurrency") {
        Some(Val::Enum(c)) if specs.iter().any(|p| p.currency == c) => c,
        _ => "USD",
    }
}

/// Units bought of a PER_UNIT price, within its bounds and block size.
fn units(s: &Node, k: u64, spec: &PriceSpec) -> f64 {
    let mut units = (1 + s.roll(800 + k) % 40) as f64;
    if let Some(block) = spec.block_size {
        units = (units / block).ceil() * block;
    }
    if let Some(max) = spec.max_units {
        units = units.min(max);
    }
    units.max(spec.min_units.unwrap_or(1.0))
}

/// A FIXED coupon's amount in a currency (its value is in dollars).
fn fixed_off(value: f64, currency: &str) -> f64 {
    let factor = LOCALES
        .iter()
        .find(|l| l.1 == currency)
        .map_or(1.0, |l| l.2);
    cents(value * factor)
}

fn coupons(s: &Node) -> Vec<SubCoupon> {
    let count = s.ds.rows(Kind::Coupon).len() as u64;
    if count == 0 || !s.chance(820, 15) {
        return Vec::new();
    }
    let first = (s.roll(821) % count) as u32;
    let mut picks = vec![first];
    if count > 1 && s.chance(822, 20) {
        picks.push(((u64::from(first) + 1 + s.roll(823) % (count - 1)) % count) as u32);
    }
    picks
        .into_iter()
        .enumerate()
        .map(|(k, coupon)| {
            let k = k as u64;
            let start = (start_date(s) + (s.roll(824 + k) % 60) as i64 * DAY).min(WORLD_NOW);
            let months = match scalar(s.ds, Kind::Coupon, coupon, "durationInMonths") {
                Some(Val::Float(m)) => Some(m as i64),
                _ => None,
            };
            let expiration = months.map(|m| start + m * 30 * DAY);
            let status = if s.chance(826 + k, 10) {
                "REMOVED"
            } else if expiration.is_some_and(|e| e <= WORLD_NOW) {
                "EXPIRED"
            } else {
                "ACTIVE"
            };
            SubCoupon {
                coupon,
                start,
                expiration,
                status,
            }
        })
        .collect()
}

/// The last subscription's `Billing`: the nested fields of one node are
/// resolved one after the other, and each needs the same computation.
#[derive(Default)]
pub struct Memo(RefCell<Option<(u128, Rc<Billing>)>>);

impl Memo {
    pub fn billing(&self, s: &Node) -> Rc<Billing> {
        let mut slot = self.0.borrow_mut();
        match &*slot {
            Some((id, b)) if *id == s.row.id => Rc::clone(b),
            _ => {
                let b = Rc::new(Billing::of(s));
                *slot = Some((s.row.id, Rc::clone(&b)));
                b
            }
        }
    }
}

/// A nested money field of a subscription; `None` for other fields.
pub(super) fn nested(s: &Node, field: &str, memo: &Memo) -> Option<Tree> {
    let billing = || memo.billing(s);
    let tree = match field {
        "totalPrice" => total_price(s, &billing()).into(),
        "prices" => Tree::from(
            billing()
                .prices
                .iter()
                .map(|p| price(s, p))
                .collect::<Vec<_>>(),
        ),
        "addons" => Tree::from(
            billing()
                .addons
                .iter()
                .map(|a| addon(s, a))
                .collect::<Vec<_>>(),
        ),
        "coupons" => {
            let b = billing();
            Tree::from(b.coupons.iter().map(|c| coupon(s, c)).collect::<Vec<_>>())
        }
        "latestInvoice" => invoice(s, &billing()).into(),
        _ => return None,
    };
    Some(tree)
}

pub fn total_price(s: &Node, b: &Billing) -> Option<Obj> {
    if pricing_type(s) != "PAID" {
        return None;
    }
    Some(
        Obj::new("CustomerSubscriptionTotalPrice")
            .with("subTotal", money(b.sub_total(), b.currency))
            .with("addonsTotal", money(b.addons_total(), b.currency))
            .with("total", money(b.total(s), b.currency)),
    )
}

pub fn price(s: &Node, p: &SubPrice) -> Obj {
    let price = money::price_obj(s.ds, &p.spec);
    Obj::new("SubscriptionPrice")
        .with("id", Val::Uuid(p.id))
        .with("billingModel", Val::Enum(p.spec.model))
        .with("featureId", price.leaf("featureId"))
        .with("usageLimit", p.units.map_or(Val::Null, Val::Float))
        .with(
            "hasSoftLimit",
            if p.units.is_some() {
                Val::Bool(false)
            } else {
                Val::Null
            },
        )
        .with("creditsQuantity", Val::Null)
        .with("creditGrantCadence", Val::Null)
        .with("nextGrantDate", Val::Null)
        .with("createdAt", Val::Time(s.row.created_at))
        .with("updatedAt", Val::Time(s.row.created_at))
        .with("price", price)
}

pub fn addon(s: &Node, a: &SubAddon) -> Obj {
    let addon_id =
        s.ds.row(Kind::Addon, a.addon)
            .map_or(String::new(), |r| format_uuid(r.id));
    Obj::new("SubscriptionAddon")
        .with("id", Val::Uuid(a.id))
        .with("addonId", Val::Str(addon_id))
        .with("addon", Tree::Row(Kind::Addon, a.addon))
        .with("quantity", Val::Float(a.quantity))
        .with("price", money::price_obj(s.ds, &a.spec))
        .with("createdAt", Val::Time(s.row.created_at))
        .with("updatedAt", Val::Time(s.row.created_at))
}

fn coupon(s: &Node, c: &SubCoupon) -> Obj {
    let field = |name| scalar(s.ds, Kind::Coupon, c.coupon, name).unwrap_or(Val::Null);
    let amounts_off = match (field("type"), field("discountValue")) {
        (Val::Enum("FIXED"), Val::Float(value)) => Tree::from(
            LOCALES
                .iter()
                .map(|l| money(fixed_off(value, l.1), l.1))
                .collect::<Vec<_>>(),
        ),
        _ => Tree::null(),
    };
    Obj::new("SubscriptionCoupon")
        .with("id", field("id"))
        .with("refId", field("refId"))
        .with("name", field("name"))
        .with("type", field("type"))
        .with("status", Val::Enum(c.status))
        .with("discountValue", field("discountValue"))
        .with("percentOff", field("percentOff"))
        .with("amountsOff", amounts_off)
        .with("durationInMonths", field("durationInMonths"))
        .with("startDate", Val::Time(c.start))
        .with("expirationDate", c.expiration.map_or(Val::Null, Val::Time))
        .with("environmentId", s.environment_id())
}

/// The last invoice of a paid subscription that has been billed.
fn invoice(s: &Node, b: &Billing) -> Option<Obj> {
    let status = status(s.row.bits);
    let billed = matches!(
        status,
        "ACTIVE" | "PAYMENT_PENDING" | "CANCELED" | "EXPIRED"
    );
    if pricing_type(s) != "PAID" || !billed {
        return None;
    }
    let collection = payment_collection(s, status);
    let open = collection != "NOT_REQUIRED";
    let created = current_period(s).map_or(start_date(s), |p| p.0);
    let net = b.total(s);
    let tax = if b.currency == "USD" {
        0.0
    } else {
        cents(net * 0.2) // VAT
    };
    let gross = cents(b.sub_total() + b.addons_total());
    let by_invoice = payment_collection_method(s, true) == Val::Enum("INVOICE");
    let mut lines = Vec::new();
    let plan_name = scalar(s.ds, Kind::Plan, s.row.refs[1], "displayName")
        .and_then(|v| v.to_json().as_str().map(str::to_string))
        .unwrap_or_default();
    for p in &b.prices {
        let (quantity, amount) = match p.spec.model {
            "FLAT_FEE" => (1.0, p.spec.amount.unwrap_or(0.0)),
            "PER_UNIT" => {
                let units = p.units.unwrap_or(0.0);
                (units, p.spec.amount.unwrap_or(0.0) * units)
            }
            _ => continue,
        };
        let period = p.spec.period.to_lowercase();
        lines.push(line(
            cents(amount),
            b.currency,
            format!("{plan_name} ({period})"),
            quantity,
        ));
    }
    for a in &b.addons {
        let name = scalar(s.ds, Kind::Addon, a.addon, "displayName")
            .and_then(|v| v.to_json().as_str().map(str::to_string))
            .unwrap_or_default();
        let amount = cents(a.spec.amount.unwrap_or(0.0) * a.quantity);
        lines.push(line(amount, b.currency, name, a.quantity));
    }
    let float = Val::Float;
    Some(
        Obj::new("SubscriptionInvoice")
            .with(
                "billingId",
                Val::Str(format!("in_{}", base62(s.roll(840), 24))),
            )
            .with("status", Val::Enum(if open { "OPEN" } else { "PAID" }))
            .with(
                "billingReason",
                Val::Enum(if created == start_date(s) {
                    "SUBSCRIPTION_CREATION"
                } else {
                    "BILLING_CYCLE"
                }),
            )
            .with("currency", Val::Str(b.currency.to_string()))
            .with("subTotal", float(gross))
            .with("subTotalExcludingTax", float(gross))
            .with("tax", float(tax))
            .with("total", float(cents(net + tax)))
            .with("totalExcludingTax", float(net))
            .with("amountDue", float(cents(net + tax)))
            .with("appliedBalance", float(0.0))
            .with("startingBalance", float(0.0))
            .with("endingBalance", if open { Val::Null } else { float(0.0) })
            .with(
                "attemptCount",
                float((1 + u64::from(open) * (s.roll(841) % 3)) as f64),
            )
            .with("requiresAction", Val::Bool(collection == "ACTION_REQUIRED"))
            .with(
                "errorMessage",
                if collection == "FAILED" {
                    Val::Str("Your card was declined.".into())
                } else {
                    Val::Null
                },
            )
            .with(
                "pdfUrl",
                Val::Str(format!(
                    "https://pay.stripe.com/invoice/acct_1Nv0qLH8Jb4X2mQa/live_{}/pdf",
                    base62(s.roll(842), 32)
                )),
            )
            .with(
                "dueDate",
                if by_invoice {
                    Val::Time(created + 30 * DAY)
                } else {
                    Val::Null
                },
            )
            .with("createdAt", Val::Time(created))
            .with("updatedAt", Val::Time(created + 3_600_000))
            .with("lines", lines),
    )
}

fn line(amount: f64, currency: &'static str, description: String, quantity: f64) -> Obj {
    Obj::new("InvoiceLine")
        .with("amount", Val::Float(amount))
        .with("currency", Val::Str(currency.to_string()))
        .with("description", Val::Str(description))
        .with("proration", Val::Bool(false))
        .with("quantity", Val::Int(quantity as i64))
}
