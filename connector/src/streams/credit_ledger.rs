//! Stigg's credit ledger (`Query.creditsLedger`, type `CreditLedgerEvent`):
//! every grant, consumption, expiry and void of credits, one customer at a
//! time (`input: {customerId}`; 500 calls a minute).
//!
//! A ledger entry has no id. Its key, `entry_key`, joins the grant, the
//! event type, the timestamp and the usage event's id (empty for entries
//! not caused by usage): an entry never changes once written, so these
//! values never change, and two entries differ in at least one of them (a
//! consumption names its usage event; other events happen once per grant
//! and instant).

use super::credit_grants::CREDIT_ACTIVITY;
use super::{by, opt, req, Answer, KeyColumn, ParentActivity, PerParentDef, Ty::*};
use crate::streams::customers::CUSTOMERS;

pub const CREDIT_LEDGER: PerParentDef = PerParentDef {
    name: "credit_ledger",
    root_field: "creditsLedger",
    argument: "input",
    answer: Answer::Connection,
    input_type: "CreditLedgerInput",
    parent: &CUSTOMERS,
    naming: &by("customerId"),
    primary_key: &["entry_key"],
    key_column: Some(KeyColumn {
        name: "entry_key",
        from: &["creditGrantId", "eventType", "timestamp", "eventId"],
    }),
    parent_column: None,
    incremental: Some(ParentActivity {
        cursor: "timestamp",
        ..CREDIT_ACTIVITY
    }),
    fields: &[
        req("customerId", String),
        req("creditGrantId", String),
        req("creditCurrencyId", String),
        req("eventType", Enum),
        opt("eventId", String),
        req("amount", Float),
        opt("featureId", String),
        opt("resourceId", String),
        req("timestamp", String),
    ],
};
