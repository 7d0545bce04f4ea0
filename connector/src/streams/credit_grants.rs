//! Stigg credit grants (`Query.creditGrants`, type `CreditGrant`): credits
//! granted to each customer, with what was consumed. Stigg answers them one
//! customer at a time (`input: {customerId}`), so a sync sends a request or
//! more per customer, within `creditGrants`' 500 calls a minute.

use super::event_logs::EVENT_LOGS;
use super::shapes::MONEY;
use super::{by, opt, req, Answer, KeyForm, LogEntries, ParentActivity, PerParentDef, Ty::*};
use crate::streams::customers::CUSTOMERS;

/// Incremental: only the customers with credit activity since the last sync
/// are read again. CREDIT entries of the activity log name the customer in
/// `parentEntityId` (its `id`, as Stigg names entities by their Stigg id);
/// a log where none of the named ids is a customer's fails the read.
pub const CREDIT_ACTIVITY: ParentActivity = ParentActivity {
    cursor: "updatedAt",
    entries: LogEntries {
        log: &EVENT_LOGS,
        filter: r#"{"entityType": {"eq": "CREDIT"}}"#,
        field: "parentEntityId",
        form: KeyForm::Uuid,
    },
    parent_key: "id",
};

pub const CREDIT_GRANTS: PerParentDef = PerParentDef {
    name: "credit_grants",
    root_field: "creditGrants",
    argument: "input",
    answer: Answer::Connection,
    input_type: "GetCreditGrantsInput",
    parent: &CUSTOMERS,
    naming: &by("customerId"),
    primary_key: &["id"],
    key_column: None,
    parent_column: None,
    incremental: Some(CREDIT_ACTIVITY),
    fields: &[
        req("id", String),
        req("grantId", String),
        req("customerId", String),
        opt("resourceId", String),
        req("currencyId", String),
        req("displayName", String),
        req("grantType", Enum),
        req("status", Enum),
        opt("sourceType", Enum),
        req("amount", Float),
        req("consumedAmount", Float),
        req("cost", Object(MONEY)),
        req("priority", Float),
        req("paymentCollection", Enum),
        req("effectiveAt", DateTime),
        opt("expireAt", DateTime),
        opt("voidedAt", DateTime),
        opt("comment", String),
        opt("invoiceId", String),
        opt("additionalMetaData", Json),
        req("createdAt", DateTime),
        req("updatedAt", DateTime),
    ],
};
