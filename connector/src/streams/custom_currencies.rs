//! Stigg custom currencies (`Query.customCurrencies`, type `CustomCurrency`):
//! the credit currencies of credit-based pricing.
//!
//! A plain list, not a connection: one request reads it all, archived
//! currencies asked for explicitly (`status: [ACTIVE, ARCHIVED]`).

use super::{opt, req, Read, StreamDef, Ty::*};

pub const CUSTOM_CURRENCIES: StreamDef = StreamDef {
    name: "custom_currencies",
    root_field: "customCurrencies",
    read: Read::List {
        args: "(input: {status: [ACTIVE, ARCHIVED]})",
    },
    primary_key: &["id"],
    fields: &[
        req("id", String),
        req("currencyId", String),
        req("displayName", String),
        opt("description", String),
        opt("symbol", String),
        opt(
            "units",
            Object(&[opt("singular", String), opt("plural", String)]),
        ),
        opt("additionalMetaData", Json),
        opt("archivedAt", DateTime),
        req("createdAt", DateTime),
        req("updatedAt", DateTime),
    ],
};
