//! Stigg coupons (`Query.coupons`, type `Coupon`).

use super::shapes::MONEY;
use super::{opt, req, Connection, Incremental, IncrementalPaging, Order, Read, StreamDef, Ty::*};

pub const COUPONS: StreamDef = StreamDef {
    name: "coupons",
    root_field: "coupons",
    read: Read::Connection(Connection {
        filter_type: "CouponFilter",
        sort_type: "CouponSort",
        total_count: true,
        full_refresh_order: Order {
            created: "createdAt",
            ties: &["id"],
        },
        incremental: Some(Incremental {
            cursor: "updatedAt",
            tie_break: "id",
            paging: IncrementalPaging::Keyset,
            deletes: None,
        }),
    }),
    primary_key: &["id"],
    fields: &[
        req("id", String),
        req("refId", String),
        req("name", String),
        opt("description", String),
        req("type", Enum),
        req("status", Enum),
        req("source", Enum),
        req("discountValue", Float),
        opt("percentOff", Float),
        opt("amountsOff", List(&Object(MONEY))),
        opt("durationInMonths", Float),
        opt("billingId", String),
        opt("billingLinkUrl", String),
        req("environmentId", String),
        req("createdAt", DateTime),
        req("updatedAt", DateTime),
        opt("additionalMetaData", Json),
    ],
};
