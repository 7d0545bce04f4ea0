//! The price book: every price of every plan and add-on version, overage
//! prices included (`Plan.prices`, `Plan.overagePrices`, and the same on
//! `Addon`), read from the `plans` and `addons` pages. `package_type` says
//! which kind of package, `price_group` whether a price is BASE or OVERAGE.

use super::addons::ADDONS;
use super::plans::PLANS;
use super::{ChildDef, ChildSource};

pub const PACKAGE_PRICES: ChildDef = ChildDef {
    name: "package_prices",
    parent_key: "package_id",
    primary_key: &["id"],
    sources: &[
        ChildSource {
            parent: &PLANS,
            list: "prices",
            tags: &[("package_type", "PLAN"), ("price_group", "BASE")],
        },
        ChildSource {
            parent: &PLANS,
            list: "overagePrices",
            tags: &[("package_type", "PLAN"), ("price_group", "OVERAGE")],
        },
        ChildSource {
            parent: &ADDONS,
            list: "prices",
            tags: &[("package_type", "ADDON"), ("price_group", "BASE")],
        },
        ChildSource {
            parent: &ADDONS,
            list: "overagePrices",
            tags: &[("package_type", "ADDON"), ("price_group", "OVERAGE")],
        },
    ],
};
