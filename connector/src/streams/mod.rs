//! Stigg's streams, one declaration each: its GraphQL connection, fields
//! (typed as Stigg's schema types them), key, order and cursor. The
//! `graphql-source` engine reads them.

mod addons;
mod coupons;
mod customers;
mod features;
mod plans;
mod products;
mod promotional_entitlements;
mod subscriptions;

pub use graphql_source::stream::{opt, req, Field, Incremental, StreamDef, Ty};

/// Every stream, in discover order.
pub const ALL: &[&StreamDef] = &[
    &customers::CUSTOMERS,
    &subscriptions::SUBSCRIPTIONS,
    &plans::PLANS,
    &addons::ADDONS,
    &features::FEATURES,
    &products::PRODUCTS,
    &coupons::COUPONS,
    &promotional_entitlements::PROMOTIONAL_ENTITLEMENTS,
];

pub fn find(name: &str) -> Option<&'static StreamDef> {
    ALL.iter().copied().find(|s| s.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_keys_are_selected() {
        for (i, stream) in ALL.iter().enumerate() {
            assert!(ALL[..i].iter().all(|s| s.name != stream.name));
            let selected = |name: &str| stream.fields.iter().any(|f| f.name == name && !f.nullable);
            assert!(
                selected(stream.primary_key),
                "{}: primary key not selected",
                stream.name
            );
            if let Some(inc) = &stream.incremental {
                assert!(
                    selected(inc.cursor) && selected(inc.tie_break),
                    "{}",
                    stream.name
                );
            }
        }
    }

    #[test]
    fn subscriptions_select_the_plan_link() {
        assert!(subscriptions::SUBSCRIPTIONS
            .query(graphql_source::stream::TotalCount::Skip)
            .contains(" plan { id refId } "));
    }
}
