//! What each plan and add-on version grants (`packageEntitlements`): feature
//! entitlements with their limits and reset periods, and credit grants;
//! `__typename` says which. Read from the `plans` and `addons` pages.

use super::addons::ADDONS;
use super::plans::PLANS;
use super::{ChildDef, ChildSource};

pub const PACKAGE_ENTITLEMENTS: ChildDef = ChildDef {
    name: "package_entitlements",
    parent_key: "package_id",
    primary_key: &["id"],
    sources: &[
        ChildSource {
            parent: &PLANS,
            list: "packageEntitlements",
            tags: &[("package_type", "PLAN")],
        },
        ChildSource {
            parent: &ADDONS,
            list: "packageEntitlements",
            tags: &[("package_type", "ADDON")],
        },
    ],
};
