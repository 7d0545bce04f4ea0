//! Field values of records, derived from each row's stored bits.
//!
//! `scalar` answers the scalar and enum fields of the node types in the
//! subset schema, `object` the links to other records (`plan`, `product`),
//! `nested` the nested values (prices, entitlements, invoices: see `tree`),
//! and `sort_value` what the `*SortFields` enums sort by.

mod activity;
mod billing;
mod catalog;
mod commerce;
mod credits;
mod customer;
mod customer_entitlements;
mod entitlements;
mod groups;
mod meters;
mod money;
mod overrides;
mod schedule;
mod subscription;
mod tree;

use std::cmp::Ordering;

use apollo_compiler::response::JsonValue;

use crate::data::{Dataset, Kind, Row};
use crate::rng::{format_uuid, pick};
use crate::time::{format_iso, Millis};

pub use billing::Memo;
pub use catalog::{feature_is_metered, package_bits};
pub use commerce::promotion_status;
pub use credits::{
    currency_is_archived, grant_dates, grant_priority, ledger, metered_features, remaining,
    Consumption, GrantEnd, CURRENCIES,
};
pub use customer::customer_index;
pub use customer_entitlements::{customer_entitlements, customers_over};
pub use groups::{EXPERIMENTS, FEATURE_GROUPS, OFFERS, PACKAGE_GROUPS};
pub use overrides::{override_candidates, subscription_entitlements_json};
pub use subscription::counts_as_active;
pub use tree::{Obj, Tree};

/// One field's value before it becomes JSON.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Null,
    Str(String),
    Enum(&'static str),
    Int(i64),
    Float(f64),
    Bool(bool),
    Time(Millis),
    Uuid(u128),
    Json(JsonValue),
    List(Vec<Val>),
}

impl Val {
    pub fn is_null(&self) -> bool {
        matches!(self, Val::Null)
    }

    pub fn to_json(&self) -> JsonValue {
        match self {
            Val::Null => JsonValue::Null,
            Val::Str(s) => JsonValue::from(s.as_str()),
            Val::Enum(s) => JsonValue::from(*s),
            Val::Int(i) => JsonValue::from(*i),
            Val::Float(f) => JsonValue::from(*f),
            Val::Bool(b) => JsonValue::from(*b),
            Val::Time(t) => JsonValue::from(format_iso(*t)),
            Val::Uuid(u) => JsonValue::from(format_uuid(*u)),
            Val::Json(j) => j.clone(),
            Val::List(items) => JsonValue::Array(items.iter().map(Val::to_json).collect()),
        }
    }

    fn as_text(&self) -> Option<&str> {
        match self {
            Val::Str(s) => Some(s),
            Val::Enum(s) => Some(s),
            _ => None,
        }
    }

    /// Orders two non-null values of one field like Postgres would.
    pub fn compare(&self, other: &Val) -> Ordering {
        match (self, other) {
            (Val::Int(a), Val::Int(b)) => a.cmp(b),
            (Val::Float(a), Val::Float(b)) => a.total_cmp(b),
            (Val::Bool(a), Val::Bool(b)) => a.cmp(b),
            (Val::Time(a), Val::Time(b)) => a.cmp(b),
            (Val::Uuid(a), Val::Uuid(b)) => a.cmp(b),
            _ => match (self.as_text(), other.as_text()) {
                (Some(a), Some(b)) => a.cmp(b),
                _ => Ordering::Equal,
            },
        }
    }
}

/// A scalar or enum field; `None` when the node type has no such field.
pub fn scalar(ds: &Dataset, kind: Kind, index: u32, field: &str) -> Option<Val> {
    if kind == Kind::EventLog {
        return activity::scalar_field(ds, index, field);
    }
    let row = ds.row(kind, index)?;
    let node = Node { ds, row, index };
    match kind {
        Kind::Customer => customer::scalar(&node, field),
        Kind::Subscription => subscription::scalar(&node, field),
        Kind::Plan => catalog::plan(&node, field),
        Kind::Addon => catalog::addon(&node, field),
        Kind::Feature => catalog::feature(&node, field),
        Kind::Product => catalog::product(&node, field),
        Kind::Coupon => commerce::coupon(&node, field),
        Kind::PromotionalEntitlement => commerce::promotional_entitlement(&node, field),
        Kind::UsageMeasurement => commerce::usage_measurement(&node, field),
        Kind::CustomerResource => groups::resource(&node, field),
        Kind::Experiment => groups::experiment(&node, field),
        Kind::FeatureGroup => groups::feature_group(&node, field),
        Kind::PackageGroup => groups::package_group(&node, field),
        Kind::Offer => groups::offer(&node, field),
        Kind::CustomCurrency => credits::currency(&node, field),
        Kind::CreditGrant => credits::grant(&node, field),
        Kind::SubscriptionEntitlement => overrides::subscription_entitlement(&node, field),
        Kind::EventLog => None,
    }
}

/// An object-typed field: `Some(None)` is a null object, `None` no such field.
pub fn object(ds: &Dataset, kind: Kind, index: u32, field: &str) -> Option<Option<(Kind, u32)>> {
    let row = ds.row(kind, index)?;
    match (kind, field) {
        (Kind::Subscription, "plan") => Some(Some((Kind::Plan, row.refs[1]))),
        (Kind::Subscription, "customer") => Some(Some((Kind::Customer, row.refs[0]))),
        (Kind::Subscription, "payingCustomer") => {
            let node = Node { ds, row, index };
            Some(subscription::paying_customer_index(&node).map(|i| (Kind::Customer, i)))
        }
        (Kind::Plan | Kind::Addon, "product") => {
            let product = row.refs[0];
            Some(
                ds.row(Kind::Product, product)
                    .map(|_| (Kind::Product, product)),
            )
        }
        // Plans in this data set are all base plans.
        (Kind::Plan, "basePlan") => Some(None),
        (Kind::Customer, "coupon") => {
            let node = Node { ds, row, index };
            Some(customer::coupon(&node).map(|i| (Kind::Coupon, i)))
        }
        (Kind::PromotionalEntitlement, "customer") => Some(Some((Kind::Customer, row.refs[0]))),
        (Kind::PromotionalEntitlement, "feature") => Some(Some((Kind::Feature, row.refs[1]))),
        (Kind::CustomerResource, "customer") => Some(Some((Kind::Customer, row.refs[0]))),
        (Kind::SubscriptionEntitlement, "feature") => Some(Some((Kind::Feature, row.refs[1]))),
        (Kind::Experiment, "product") => Some(
            ds.row(Kind::Product, row.refs[1])
                .map(|_| (Kind::Product, row.refs[1])),
        ),
        (Kind::PackageGroup, "product") => {
            let node = Node { ds, row, index };
            Some(Some((Kind::Product, groups::group_product(&node))))
        }
        _ => None,
    }
}

/// A nested (non-record) field; `None` when the node type has no such field.
pub fn nested(ds: &Dataset, kind: Kind, index: u32, field: &str, memo: &Memo) -> Option<Tree> {
    if kind == Kind::EventLog {
        return activity::nested(ds, index, field);
    }
    let node = Node::of(ds, kind, index)?;
    match (kind, field) {
        (Kind::Subscription, _) => {
            billing::nested(&node, field, memo).or_else(|| schedule::nested(&node, field, memo))
        }
        (Kind::Plan | Kind::Addon, _) => entitlements::package_nested(&node, kind, field),
        (Kind::FeatureGroup, "features") => Some(groups::group_features(&node)),
        (Kind::PackageGroup, "addons") => Some(groups::group_addons(&node)),
        (Kind::CreditGrant, "cost") => Some(credits::cost(&node).into()),
        (Kind::CustomCurrency, "units") => Some(credits::units(&node).into()),
        (Kind::Coupon, "amountsOff") => Some(commerce::amounts_off(&node)),
        (Kind::Customer, "experimentInfo") => Some(customer::experiment_info(&node).into()),
        (Kind::Feature, "meter") => Some(meters::meter(&node).into()),
        (Kind::Feature, "unitTransformation") => Some(meters::unit_transformation(&node).into()),
        (Kind::PromotionalEntitlement, "resetPeriodConfiguration") => {
            Some(commerce::promotion_reset_configuration(&node).into())
        }
        (Kind::SubscriptionEntitlement, _) => overrides::nested(&node, field),
        _ => None,
    }
}

/// A subscription's `totalPrice`, `prices` (MINIMUM_SPEND included) and
/// `addons` with every field; `None` for an unknown id.
pub fn subscription_money(ds: &Dataset, id: u128) -> Option<serde_json::Value> {
    let index = ds
        .rows(Kind::Subscription)
        .iter()
        .position(|r| r.id == id)?;
    let node = Node::of(ds, Kind::Subscription, index as u32)?;
    let b = billing::Billing::of(&node);
    let prices: Vec<Obj> = b.prices.iter().map(|p| billing::price(&node, p)).collect();
    let addons: Vec<Obj> = b.addons.iter().map(|a| billing::addon(&node, a)).collect();
    Some(serde_json::json!({
        "totalPrice": Tree::from(billing::total_price(&node, &b)).to_json(ds),
        "prices": Tree::from(prices).to_json(ds),
        "addons": Tree::from(addons).to_json(ds),
    }))
}

/// A field's value by path: `name`, or `relation.name` of a linked row
/// (what nested relation filters compare).
pub fn path_value(ds: &Dataset, kind: Kind, index: u32, path: &str) -> Val {
    let value = match path.split_once('.') {
        None => scalar(ds, kind, index, path),
        Some((relation, rest)) => object(ds, kind, index, relation)
            .flatten()
            .map(|(k, i)| path_value(ds, k, i, rest)),
    };
    value.unwrap_or(Val::Null)
}

/// What a sort field sorts by: mostly the field itself.
pub fn sort_value(ds: &Dataset, kind: Kind, index: u32, field: &str) -> Val {
    let value = match (kind, field) {
        (Kind::Subscription, "productId") => object(ds, kind, index, "plan")
            .flatten()
            .and_then(|(k, i)| scalar(ds, k, i, "productId")),
        _ => scalar(ds, kind, index, field),
    };
    value.unwrap_or(Val::Null)
}

/// A row with what its fields are derived from.
pub(crate) struct Node<'a> {
    pub ds: &'a Dataset,
    pub row: &'a Row,
    pub index: u32,
}

impl<'a> Node<'a> {
    pub fn of(ds: &'a Dataset, kind: Kind, index: u32) -> Option<Node<'a>> {
        Some(Node {
            ds,
            row: ds.row(kind, index)?,
            index,
        })
    }

    /// Field-specific randomness.
    pub fn roll(&self, salt: u64) -> u64 {
        pick(self.row.bits, salt)
    }

    /// True for `percent` out of 100 rows, independently per salt.
    pub fn chance(&self, salt: u64, percent: u64) -> bool {
        self.roll(salt) % 100 < percent
    }

    pub fn choose<T: Copy>(&self, salt: u64, items: &[T]) -> T {
        items[(self.roll(salt) % items.len() as u64) as usize]
    }

    pub fn environment_id(&self) -> Val {
        Val::Uuid(self.ds.environment_id)
    }

    pub fn seed32(&self) -> u32 {
        self.ds.seed as u32
    }
}

pub(crate) fn opt_str(present: bool, make: impl FnOnce() -> String) -> Val {
    if present {
        Val::Str(make())
    } else {
        Val::Null
    }
}

pub(crate) fn opt_time(value: Option<Millis>) -> Val {
    value.map_or(Val::Null, Val::Time)
}

/// `len` characters of [0-9A-Za-z], like Stripe-style ids.
pub(crate) fn base62(mut bits: u64, len: usize) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut out = String::with_capacity(len);
    for i in 0..len {
        if i % 10 == 9 {
            bits = crate::rng::mix(bits);
        }
        out.push(ALPHABET[(bits % 62) as usize] as char);
        bits /= 62;
    }
    out
}

/// Lower-case, ascii-only, hyphenated form of a display name.
pub(crate) fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

pub(crate) fn json(value: serde_json::Value) -> Val {
    Val::Json(JsonValue::from(value))
}

pub(crate) const DAY: Millis = 86_400_000;
