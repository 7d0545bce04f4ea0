//! Stigg subscriptions (`Query.subscriptions`, type `SubscriptionQuery`).
//!
//! No cursor: the type has no `updatedAt`, and none of its other timestamps
//! is bound to move on every change. Read in full, or (opt-in) incrementally
//! by the activity log: SUBSCRIPTION entries name the changed subscription
//! (`entityId`, its `id`) and its customer (`parentEntityId`, the customer's
//! `id`), as Stigg's webhooks name entities by their Stigg id.
//! `SubscriptionQueryFilter` has no `id`, so the subscriptions of those
//! customers are read again, and each named subscription must be among them
//! (else the read fails: the log would name rows some other way).

use super::event_logs::EVENT_LOGS;
use super::shapes::{BUDGET, CUSTOMER_REF, EXPERIMENT_INFO, MONEY, PRICE, REF};
use super::{
    opt, req, Activity, Connection, Field, KeyForm, LogEntries, Order, Read, StreamDef, Ty::*,
};

pub const BY_ACTIVITY: Activity = Activity {
    stream: &SUBSCRIPTIONS,
    entries: LogEntries {
        log: &EVENT_LOGS,
        filter: r#"{"entityType": {"eq": "SUBSCRIPTION"}}"#,
        field: "entityId",
        form: KeyForm::Uuid,
    },
    by_field: "parentEntityId",
    filter_path: &["customer", "id"],
    row_key: "id",
};

/// `SubscriptionPrice`: a price the subscription pays, with its usage limit.
pub const SUBSCRIPTION_PRICE: &[Field] = &[
    req("id", String),
    opt("billingModel", Enum),
    opt("featureId", String),
    opt("usageLimit", Float),
    opt("hasSoftLimit", Boolean),
    opt("creditsQuantity", Float),
    opt("creditGrantCadence", Enum),
    opt("nextGrantDate", DateTime),
    opt("createdAt", DateTime),
    req("updatedAt", DateTime),
    opt("price", Object(PRICE)),
];

/// `SubscriptionAddon`: an add-on on the subscription, with its quantity.
pub const SUBSCRIPTION_ADDON: &[Field] = &[
    req("id", String),
    req("addonId", String),
    req("addon", Object(REF)),
    req("quantity", Float),
    opt("price", Object(PRICE)),
    opt("createdAt", DateTime),
    req("updatedAt", DateTime),
];

/// `SubscriptionCoupon`: a discount applied to the subscription.
pub const SUBSCRIPTION_COUPON: &[Field] = &[
    req("id", String),
    req("refId", String),
    req("name", String),
    req("type", Enum),
    req("status", Enum),
    req("discountValue", Float),
    opt("percentOff", Float),
    opt("amountsOff", List(&Object(MONEY))),
    opt("durationInMonths", Float),
    opt("startDate", DateTime),
    opt("expirationDate", DateTime),
    req("environmentId", String),
];

/// `SubscriptionInvoice` without its payment secret and payment page URL.
const INVOICE: &[Field] = &[
    req("billingId", String),
    req("status", Enum),
    opt("billingReason", Enum),
    opt("currency", String),
    opt("subTotal", Float),
    opt("subTotalExcludingTax", Float),
    opt("tax", Float),
    opt("total", Float),
    opt("totalExcludingTax", Float),
    opt("amountDue", Float),
    opt("appliedBalance", Float),
    opt("startingBalance", Float),
    opt("endingBalance", Float),
    opt("attemptCount", Float),
    req("requiresAction", Boolean),
    opt("errorMessage", String),
    opt("pdfUrl", String),
    opt("dueDate", DateTime),
    req("createdAt", DateTime),
    req("updatedAt", DateTime),
    opt(
        "lines",
        List(&Object(&[
            req("amount", Float),
            req("currency", String),
            opt("description", String),
            req("proration", Boolean),
            opt("quantity", Int),
        ])),
    ),
];

/// `SubscriptionScheduledUpdate`: a change due later (e.g. a downgrade at
/// period end). Only the kind of its variables is selected (see docs).
const SCHEDULED_UPDATE: &[Field] = &[
    req("subscriptionScheduleType", Enum),
    req("scheduleStatus", Enum),
    req("scheduledExecutionTime", DateTime),
    opt("createdAt", DateTime),
    opt("billingId", String),
    opt(
        "targetPackage",
        Object(&[req("id", String), req("refId", String), req("type", String)]),
    ),
    opt("scheduleVariables", Union(&[])),
];

pub const SUBSCRIPTIONS: StreamDef = StreamDef {
    name: "subscriptions",
    root_field: "subscriptions",
    read: Read::Connection(Connection {
        filter_type: "SubscriptionQueryFilter",
        sort_type: "SubscriptionQuerySort",
        total_count: true,
        full_refresh_order: Order {
            created: "createdAt",
            ties: &["subscriptionId"],
        },
        incremental: None,
    }),
    primary_key: &["id"],
    fields: &[
        req("id", String),
        req("subscriptionId", String),
        req("refId", String),
        req("environmentId", String),
        req("status", Enum),
        req("pricingType", Enum),
        req("paymentCollection", Enum),
        opt("billingPeriod", Enum),
        opt("cancelReason", Enum),
        req("startDate", DateTime),
        opt("endDate", DateTime),
        opt("createdAt", DateTime),
        opt("cancellationDate", DateTime),
        opt("trialEndDate", DateTime),
        opt("effectiveEndDate", DateTime),
        opt("billingCycleAnchor", DateTime),
        opt("currentBillingPeriodStart", DateTime),
        opt("currentBillingPeriodEnd", DateTime),
        opt("billingId", String),
        opt("billingLinkUrl", String),
        opt("crmId", String),
        opt("crmLinkUrl", String),
        opt("salesforceId", String),
        opt("customerId", String),
        opt("payingCustomerId", String),
        opt("resourceId", String),
        opt("wasInTrial", Boolean),
        opt("budgetExceeded", Boolean),
        opt("additionalMetaData", Json),
        opt("paymentCollectionMethod", Enum),
        opt("billingSyncError", String),
        req("plan", Object(REF)),
        req("customer", Object(CUSTOMER_REF)),
        opt("payingCustomer", Object(CUSTOMER_REF)),
        opt("resource", Object(&[req("resourceId", String)])),
        opt(
            "totalPrice",
            Object(&[
                req("subTotal", Object(MONEY)),
                req("addonsTotal", Object(MONEY)),
                req("total", Object(MONEY)),
            ]),
        ),
        // An explicit filter: the default one hides MINIMUM_SPEND prices.
        opt("prices", List(&Object(SUBSCRIPTION_PRICE))).with_args("(filter: {})"),
        opt("addons", List(&Object(SUBSCRIPTION_ADDON))),
        opt("coupons", List(&Object(SUBSCRIPTION_COUPON))),
        opt(
            "trialConfiguration",
            Object(&[req("trialEndBehavior", Enum)]),
        ),
        opt(
            "minimumSpend",
            Object(&[opt("isOverride", Boolean), opt("minimum", Object(MONEY))]),
        ),
        opt("budget", Object(BUDGET)),
        opt(
            "freeItems",
            List(&Object(&[req("addonId", String), req("quantity", Float)])),
        ),
        opt("latestInvoice", Object(INVOICE)),
        opt("scheduledUpdates", List(&Object(SCHEDULED_UPDATE))),
        opt("experimentInfo", Object(EXPERIMENT_INFO)),
    ],
};
