//! The prices each subscription pays (`SubscriptionQuery.prices`, minimum
//! spend included), one row per `SubscriptionPrice`, read from the
//! `subscriptions` pages.

use super::subscriptions::SUBSCRIPTIONS;
use super::{ChildDef, ChildSource};

pub const SUBSCRIPTION_PRICES: ChildDef = ChildDef {
    name: "subscription_prices",
    parent_key: "subscription_id",
    primary_key: &["id"],
    sources: &[ChildSource {
        parent: &SUBSCRIPTIONS,
        list: "prices",
        tags: &[],
    }],
};
