//! Nested shapes several Stigg streams select: money, prices, entitlements
//! and links to other records, typed as Stigg's schema types them.

use super::{opt, req, Field, Member, Ty::*};

/// `Money`: an amount in a currency (`Currency` enum: ISO 4217 codes).
pub const MONEY: &[Field] = &[req("amount", Float), req("currency", Enum)];

/// A link to a record with a `refId` (`Plan`, `Addon`, `Feature`, `Product`).
pub const REF: &[Field] = &[req("id", String), req("refId", String)];

/// A link to a `Customer`.
pub const CUSTOMER_REF: &[Field] = &[req("id", String), req("customerId", String)];

/// `Meter`: how a metered feature's usage events are counted.
pub const METER: &[Field] = &[
    req("id", String),
    req(
        "aggregation",
        Object(&[req("function", Enum), opt("field", String)]),
    ),
    req(
        "filters",
        List(&Object(&[req(
            "conditions",
            List(&Object(&[
                req("field", String),
                req("operation", Enum),
                opt("value", String),
                opt("values", List(&String)),
            ])),
        )])),
    ),
    req("createdAt", DateTime),
    req("updatedAt", DateTime),
];

/// `experimentInfo`: the experiment and group a customer or subscription is in.
pub const EXPERIMENT_INFO: &[Field] = &[
    req("id", String),
    req("name", String),
    req("groupName", String),
    req("groupType", Enum),
    req("status", Enum),
];

/// `BudgetConfiguration`.
pub const BUDGET: &[Field] = &[req("hasSoftLimit", Boolean), req("limit", Float)];

/// `PriceTier`: up to `upTo` units, a unit price and/or a flat price.
const TIER: &[Field] = &[
    opt("upTo", Float),
    opt("unitPrice", Object(MONEY)),
    opt("flatPrice", Object(MONEY)),
];

/// `CreditRate`: what one unit costs in credits.
const CREDIT_RATE: &[Field] = &[
    req("amount", Float),
    req("currencyId", String),
    opt("customCurrencyId", String),
    opt("costFormula", String),
];

/// `Price`: one line of a package's price book.
pub const PRICE: &[Field] = &[
    req("id", String),
    req("billingModel", Enum),
    req("billingPeriod", Enum),
    req("billingCadence", Enum),
    opt("price", Object(MONEY)),
    opt("tiersMode", Enum),
    opt("tiers", List(&Object(TIER))),
    opt("featureId", String),
    opt("feature", Object(REF)),
    opt("blockSize", Float),
    opt("minUnitQuantity", Float),
    opt("maxUnitQuantity", Float),
    opt("billingCountryCode", String),
    opt("billingId", String),
    opt("resetPeriod", Enum),
    opt("creditGrantCadence", Enum),
    opt("creditRate", Object(CREDIT_RATE)),
    opt("topUpCustomCurrencyId", String),
    req("isOverridePrice", Boolean),
    opt("packageId", String),
    opt("createdAt", DateTime),
];

/// Fields both kinds of package entitlement have.
macro_rules! entitlement_fields {
    ($($extra:expr),* $(,)?) => {
        &[
            req("id", String),
            req("packageId", String),
            req("behavior", Enum),
            opt("hasSoftLimit", Boolean),
            opt("isCustom", Boolean),
            req("isGranted", Boolean),
            opt("description", String),
            opt("displayNameOverride", String),
            opt("order", Float),
            req("environmentId", String),
            opt("createdAt", DateTime),
            opt("updatedAt", DateTime),
            $($extra),*
        ]
    };
}

/// `PackageEntitlementUnion`: a feature entitlement or a credit grant.
pub const PACKAGE_ENTITLEMENT: &[Member] = &[
    Member {
        type_name: "PackageFeatureEntitlement",
        fields: entitlement_fields![
            req("featureId", String),
            req("feature", Object(REF)),
            opt("usageLimit", Float),
            opt("hasUnlimitedUsage", Boolean),
            opt("resetPeriod", Enum),
            opt("enumValues", List(&String)),
        ],
    },
    Member {
        type_name: "PackageCreditEntitlement",
        fields: entitlement_fields![
            opt("amount", Float),
            req("cadence", Enum),
            req("customCurrencyId", String),
        ],
    },
];

/// `ResetPeriodConfiguration`: which day a period resets on.
pub const RESET_PERIOD_CONFIGURATION: &[Member] = &[
    Member {
        type_name: "MonthlyResetPeriodConfig",
        fields: &[opt("monthlyAccordingTo", Enum)],
    },
    Member {
        type_name: "WeeklyResetPeriodConfig",
        fields: &[opt("weeklyAccordingTo", Enum)],
    },
    Member {
        type_name: "YearlyResetPeriodConfig",
        fields: &[opt("yearlyAccordingTo", Enum)],
    },
];
