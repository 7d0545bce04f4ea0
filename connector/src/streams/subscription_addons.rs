//! The add-ons on each subscription with their quantities
//! (`SubscriptionQuery.addons`), read from the `subscriptions` pages.

use super::subscriptions::SUBSCRIPTIONS;
use super::{ChildDef, ChildSource};

pub const SUBSCRIPTION_ADDONS: ChildDef = ChildDef {
    name: "subscription_addons",
    parent_key: "subscription_id",
    primary_key: &["id"],
    sources: &[ChildSource {
        parent: &SUBSCRIPTIONS,
        list: "addons",
        tags: &[],
    }],
};
