//! The stand-in's records: one compact `Row` per record, grouped by kind.
//!
//! A row keeps only what sorting, filtering and references need; every other
//! field is derived from its `bits` when rendered (see `fields`), so 200,000
//! customers cost a few megabytes.

use crate::time::Millis;

/// One list query of the API and the records behind it.
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
}

impl Kind {
    pub const ALL: [Kind; 9] = [
        Kind::Customer,
        Kind::Subscription,
        Kind::Plan,
        Kind::Addon,
        Kind::Feature,
        Kind::Product,
        Kind::Coupon,
        Kind::PromotionalEntitlement,
        Kind::UsageMeasurement,
    ];

    /// The `Query` field that lists this kind.
    pub fn root_field(self) -> &'static str {
        match self {
            Kind::Customer => "customers",
            Kind::Subscription => "subscriptions",
            Kind::Plan => "plans",
            Kind::Addon => "addons",
            Kind::Feature => "features",
            Kind::Product => "products",
            Kind::Coupon => "coupons",
            Kind::PromotionalEntitlement => "promotionalEntitlements",
            Kind::UsageMeasurement => "usageMeasurements",
        }
    }

    pub fn from_root_field(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.root_field() == name)
    }

    /// The GraphQL object type of a node.
    pub fn node_type(self) -> &'static str {
        match self {
            Kind::Customer => "Customer",
            Kind::Subscription => "SubscriptionQuery",
            Kind::Plan => "Plan",
            Kind::Addon => "Addon",
            Kind::Feature => "Feature",
            Kind::Product => "Product",
            Kind::Coupon => "Coupon",
            Kind::PromotionalEntitlement => "PromotionalEntitlement",
            Kind::UsageMeasurement => "UsageMeasurement",
        }
    }

    pub fn connection_type(self) -> &'static str {
        match self {
            Kind::Customer => "CustomerConnection",
            Kind::Subscription => "SubscriptionQueryConnection",
            Kind::Plan => "PlanConnection",
            Kind::Addon => "AddonConnection",
            Kind::Feature => "FeatureConnection",
            Kind::Product => "ProductConnection",
            Kind::Coupon => "CouponConnection",
            Kind::PromotionalEntitlement => "PromotionalEntitlementConnection",
            Kind::UsageMeasurement => "UsageMeasurementConnection",
        }
    }

    pub fn edge_type(self) -> &'static str {
        match self {
            Kind::Customer => "CustomerEdge",
            Kind::Subscription => "SubscriptionQueryEdge",
            Kind::Plan => "PlanEdge",
            Kind::Addon => "AddonEdge",
            Kind::Feature => "FeatureEdge",
            Kind::Product => "ProductEdge",
            Kind::Coupon => "CouponEdge",
            Kind::PromotionalEntitlement => "PromotionalEntitlementEdge",
            Kind::UsageMeasurement => "UsageMeasurementEdge",
        }
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
/// - others: unused
#[derive(Debug, Clone, Copy)]
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
    tables: [Vec<Row>; 9],
}

impl Dataset {
    pub fn new(seed: u64, environment_id: u128) -> Self {
        Dataset {
            seed,
            environment_id,
            tables: Default::default(),
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
}
