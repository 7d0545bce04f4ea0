//! The coupons applied to each subscription (`SubscriptionQuery.coupons`),
//! read from the `subscriptions` pages.
//!
//! Key (`subscription_id`, `id`): a `SubscriptionCoupon`'s `id` may name the
//! coupon, which many subscriptions share, so it alone is not a row's key.

use super::subscriptions::SUBSCRIPTIONS;
use super::{ChildDef, ChildSource};

pub const SUBSCRIPTION_COUPONS: ChildDef = ChildDef {
    name: "subscription_coupons",
    parent_key: "subscription_id",
    primary_key: &["subscription_id", "id"],
    sources: &[ChildSource {
        parent: &SUBSCRIPTIONS,
        list: "coupons",
        tags: &[],
    }],
};
