//! Stigg customers (`Query.customers`, type `Customer`).

use super::{opt, req, Connection, Incremental, Read, StreamDef, Ty::*};

pub const CUSTOMERS: StreamDef = StreamDef {
    name: "customers",
    root_field: "customers",
    read: Read::Connection(Connection {
        filter_type: "CustomerFilter",
        sort_type: "CustomerSort",
        full_refresh_order: &["createdAt", "id"],
        incremental: Some(Incremental {
            cursor: "updatedAt",
            tie_break: "id",
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
    ],
};
