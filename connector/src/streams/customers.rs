//! Stigg customers (`Query.customers`, type `Customer`).
//!
//! Archived (deleted) customers are no longer returned by Stigg's API: an
//! incremental sync learns of them from the activity log (`CUSTOMER_DELETED`,
//! whose `entityId` is the customer's `id`, a UUID, as in Stigg's
//! `customer.deleted` webhook) and emits a deletion record for each. An
//! entry whose `entityId` is not a UUID fails the stream rather than emit a
//! deletion for the wrong row (`track_deletes: false` turns deletions off).

use super::event_logs::EVENT_LOGS;
use super::shapes::{EXPERIMENT_INFO, REF};
use super::{
    opt, req, Connection, Incremental, IncrementalPaging, KeyForm, LogEntries, Order, Read,
    StreamDef, Ty::*,
};

pub const CUSTOMERS: StreamDef = StreamDef {
    name: "customers",
    root_field: "customers",
    read: Read::Connection(Connection {
        filter_type: "CustomerFilter",
        sort_type: "CustomerSort",
        total_count: true,
        full_refresh_order: Order {
            created: "createdAt",
            ties: &["id"],
        },
        incremental: Some(Incremental {
            cursor: "updatedAt",
            tie_break: "id",
            paging: IncrementalPaging::Keyset,
            deletes: Some(LogEntries {
                log: &EVENT_LOGS,
                filter: r#"{"eventLogType": {"in": ["CUSTOMER_DELETED"]}}"#,
                field: "entityId",
                form: KeyForm::Uuid,
            }),
        }),
    }),
    primary_key: &["id"],
    fields: &[
        req("id", String),
        req("customerId", String),
        req("refId", String),
        req("environmentId", String),
        opt("name", String),
        opt("email", String),
        opt("billingId", String),
        opt("billingLinkUrl", String),
        opt("billingCurrency", Enum),
        opt("crmId", String),
        opt("crmHubspotCompanyId", String),
        opt("crmHubspotCompanyUrl", String),
        opt("salesforceId", String),
        opt("awsMarketplaceCustomerId", String),
        opt("excludeFromExperiment", Boolean),
        opt("createdAt", DateTime),
        req("updatedAt", DateTime),
        opt("deletedAt", DateTime),
        opt("additionalMetaData", Json),
        opt("defaultPaymentExpirationMonth", Int),
        opt("defaultPaymentExpirationYear", Int),
        opt("defaultPaymentMethodLast4Digits", String),
        opt("defaultPaymentMethodType", Enum),
        opt("defaultPaymentMethodCardBrand", String),
        req("hasPaymentMethod", Boolean),
        req("hasActiveSubscription", Boolean),
        req("hasActiveResource", Boolean),
        req("totalActiveSubscription", Float),
        req("totalActivePromotionalEntitlements", Float),
        opt("coupon", Object(REF)),
        opt("experimentInfo", Object(EXPERIMENT_INFO)),
    ],
};
