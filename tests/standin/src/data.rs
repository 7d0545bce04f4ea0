//! The stand-in's records: one compact `Row` per record, grouped by kind.
//!
//! A row keeps only what sorting, filtering and references need; every other
//! field is derived from its `bits` when rendered (see `fields`), so 200,000
//! customers cost a few megabytes.

use crate::time::Millis;

/// One list query of the API and the records behind it. `EventLog` has no
/// rows of its own: its events are derived (see `events`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Customer,
    Subscription,
    Plan,
    Addon,
    Feature,
    Product,
    Coupon,
    PromotionalEntitlement,
    UsageMeasurement,
    CustomerResource,
    Experiment,
    FeatureGroup,
    PackageGroup,
    Offer,
    CustomCurrency,
    CreditGrant,
    SubscriptionEntitlement,
    EventLog,
}

/// Root field, node type and (for connections) connection and edge types.
const NAMES: [(&str, &str, &str, &str); KINDS] = [
    (
        "customers",
        "Customer",
        "CustomerConnection",
        "CustomerEdge",
    ),
    (
        "subscriptions",
        "SubscriptionQuery",
        "SubscriptionQueryConnection",
        "SubscriptionQueryEdge",
    ),
    ("plans", "Plan", "PlanConnection", "PlanEdge"),
    ("addons", "Addon", "AddonConnection", "AddonEdge"),
    ("features", "Feature", "FeatureConnection", "FeatureEdge"),
    ("products", "Product", "ProductConnection", "ProductEdge"),
    ("coupons", "Coupon", "CouponConnection", "CouponEdge"),
    (
        "promotionalEntitlements",
        "PromotionalEntitlement",
        "PromotionalEntitlementConnection",
        "PromotionalEntitlementEdge",
    ),
    (
        "usageMeasurements",
        "UsageMeasurement",
        "UsageMeasurementConnection",
        "UsageMeasurementEdge",
    ),
    (
        "customerResources",
        "CustomerResource",
        "CustomerResourceConnection",
        "CustomerResourceEdge",
    ),
    (
        "experiments",
        "Experiment",
        "ExperimentConnection",
        "ExperimentEdge",
    ),
    (
        "featureGroups",
        "FeatureGroup",
        "FeatureGroupConnection",
        "FeatureGroupEdge",
    ),
    (
        "packageGroups",
        "PackageGroup",
        "PackageGroupConnection",
        "PackageGroupEdge",
    ),
    ("offers", "Offer", "OfferConnection", "OfferEdge"),
    ("customCurrencies", "CustomCurrency", "", ""),
    (
        "creditGrants",
        "CreditGrant",
        "CreditGrantConnection",
        "CreditGrantEdge",
    ),
    (
        "subscriptionEntitlements",
        "SubscriptionEntitlement",
        "SubscriptionEntitlementConnection",
        "SubscriptionEntitlementEdge",
    ),
    (
        "eventLogs",
        "EventLog",
        "EventLogConnection",
        "EventLogEdge",
    ),
];

const KINDS: usize = 18;

impl Kind {
    pub const ALL: [Kind; KINDS] = [
        Kind::Customer,
        Kind::Subscription,
        Kind::Plan,
        Kind::Addon,
        Kind::Feature,
        Kind::Product,
        Kind::Coupon,
        Kind::PromotionalEntitlement,
        Kind::UsageMeasurement,
        Kind::CustomerResource,
        Kind::Experiment,
        Kind::FeatureGroup,
        Kind::PackageGroup,
        Kind::Offer,
        Kind::CustomCurrency,
        Kind::CreditGrant,
        Kind::SubscriptionEntitlement,
        Kind::EventLog,
    ];

    /// The `Query` field that lists this kind.
    pub fn root_field(self) -> &'static str {
        NAMES[self.index()].0
    }

    pub fn from_root_field(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.root_field() == name)
    }

    /// Kinds listed by a `(filter, paging, sorting)` connection; the others
    /// (custom currencies, credit grants) have their own `input`.
    pub fn is_filtered_list(self) -> bool {
        !matches!(self, Kind::CustomCurrency | Kind::CreditGrant)
    }

    /// The GraphQL object type of a node.
    pub fn node_type(self) -> &'static str {
        NAMES[self.index()].1
    }

    pub fn connection_type(self) -> &'static str {
        NAMES[self.index()].2
    }

    pub fn edge_type(self) -> &'static str {
        NAMES[self.index()].3
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// One record. What `refs` point at depends on the kind:
/// - Customer: [active subscriptions, active promotional entitlements]
/// - Subscription: [customer, plan]
/// - Plan, Addon: [product, version number]
/// - PromotionalEntitlement, UsageMeasurement: [customer, feature]
/// - CustomerResource: [customer, subscription]
/// - FeatureGroup, PackageGroup, Offer: [group number, version number]
/// - CreditGrant: [customer, custom currency]
/// - SubscriptionEntitlement: [subscription, feature]
/// - others: unused
#[derive(Debug, Clone, Copy, Default)]
pub struct Row {
    pub id: u128,
    pub created_at: Millis,
    /// Equal to `created_at` for kinds without `updatedAt`.
    pub updated_at: Millis,
    /// Randomness every derived field is computed from.
    pub bits: u64,
    pub refs: [u32; 2],
}

#[derive(Debug, Clone)]
pub struct Dataset {
    pub seed: u64,
    pub environment_id: u128,
    tables: [Vec<Row>; KINDS],
    /// Customers deleted by `Standin::delete_customers`: their rows stay (so
    /// indices and events keep pointing at them) but no query lists them.
    pub deleted: std::collections::HashSet<u32>,
    /// The activity log (see `events`).
    pub log: crate::events::Log,
    /// Credit consumptions reported through `Standin::consume_credits`.
    pub consumptions: Vec<crate::fields::Consumption>,
    /// Each customer's credit grants (row indices, in creation order).
    pub grants_by_customer: std::collections::HashMap<u32, Vec<u32>>,
}

impl Dataset {
    pub fn new(seed: u64, environment_id: u128) -> Self {
        Dataset {
            seed,
            environment_id,
            tables: Default::default(),
            deleted: Default::default(),
            log: Default::default(),
            consumptions: Vec::new(),
            grants_by_customer: Default::default(),
        }
    }

    pub fn rows(&self, kind: Kind) -> &[Row] {
        &self.tables[kind.index()]
    }

    pub fn rows_mut(&mut self, kind: Kind) -> &mut Vec<Row> {
        &mut self.tables[kind.index()]
    }

    pub fn row(&self, kind: Kind, index: u32) -> Option<&Row> {
        self.rows(kind).get(index as usize)
    }

    /// Whether a row is listed: not a deleted customer.
    pub fn is_live(&self, kind: Kind, index: u32) -> bool {
        kind != Kind::Customer || !self.deleted.contains(&index)
    }

    /// Whether a list query shows the row: neither a deleted customer nor
    /// one of its resources.
    pub fn is_listed(&self, kind: Kind, index: u32) -> bool {
        match kind {
            Kind::Customer => !self.deleted.contains(&index),
            Kind::CustomerResource => self
                .row(kind, index)
                .is_some_and(|r| !self.deleted.contains(&r.refs[0])),
            _ => true,
        }
    }

    /// How many records of a kind exist (deleted customers included).
    pub fn count(&self, kind: Kind) -> usize {
        match kind {
            Kind::EventLog => self.log.len(self),
            _ => self.rows(kind).len(),
        }
    }

    /// What filters read of a record: its row, or an event's time.
    pub fn filter_row(&self, kind: Kind, index: u32) -> Row {
        match kind {
            Kind::EventLog => self
                .log
                .get(self, index)
                .map_or_else(Row::default, |e| e.row()),
            _ => self.row(kind, index).copied().unwrap_or_default(),
        }
    }

    /// The index of the live customer whose `customerId` is `customer_id`.
    pub fn customer_by_external_id(&self, customer_id: &str) -> Option<u32> {
        let index = crate::fields::customer_index(self, customer_id)?;
        (self.row(Kind::Customer, index).is_some() && self.is_live(Kind::Customer, index))
            .then_some(index)
    }
}
