//! Stigg's streams, one declaration each: its GraphQL connection, fields
//! (typed as Stigg's schema types them), key, order and cursor. The
//! `graphql-source` engine reads them.

mod addons;
mod coupons;
mod credit_grants;
mod credit_ledger;
mod custom_currencies;
mod customer_entitlements;
mod customer_resources;
mod customers;
mod event_logs;
mod experiments;
mod feature_groups;
mod features;
mod offers;
mod package_entitlements;
mod package_groups;
mod package_prices;
mod plans;
mod products;
mod promotional_entitlements;
mod shapes;
mod subscription_addons;
mod subscription_coupons;
mod subscription_entitlements;
mod subscription_prices;
mod subscriptions;
mod usage_measurements;

pub use graphql_source::stream::{
    by, opt, req, Activity, Answer, ChildDef, ChildSource, Connection, Field, Incremental,
    IncrementalPaging, KeyColumn, KeyForm, LogEntries, Member, Naming, Order, ParentActivity,
    PerParentDef, Read, StreamDef, Ty,
};

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
    &subscription_entitlements::SUBSCRIPTION_ENTITLEMENTS,
    &customer_resources::CUSTOMER_RESOURCES,
    &experiments::EXPERIMENTS,
    &feature_groups::FEATURE_GROUPS,
    &package_groups::PACKAGE_GROUPS,
    &offers::OFFERS,
    &custom_currencies::CUSTOM_CURRENCIES,
    &usage_measurements::USAGE_MEASUREMENTS,
    &event_logs::EVENT_LOGS,
];

/// Streams read from lists inside other streams' records (no request of
/// their own), in discover order after [`ALL`].
pub const CHILDREN: &[&ChildDef] = &[
    &subscription_prices::SUBSCRIPTION_PRICES,
    &subscription_addons::SUBSCRIPTION_ADDONS,
    &subscription_coupons::SUBSCRIPTION_COUPONS,
    &package_prices::PACKAGE_PRICES,
    &package_entitlements::PACKAGE_ENTITLEMENTS,
];

/// Streams an incremental sync may read by the activity log, when the
/// config turns it on.
pub const ACTIVITY: &[Activity] = &[subscriptions::BY_ACTIVITY];

/// Streams Stigg answers one customer at a time (a request or more per
/// customer), discovered last.
pub const PER_PARENT: &[&PerParentDef] = &[
    &credit_grants::CREDIT_GRANTS,
    &credit_ledger::CREDIT_LEDGER,
    &customer_entitlements::CUSTOMER_ENTITLEMENTS,
    &customer_entitlements::CUSTOMER_RESOURCE_ENTITLEMENTS,
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
            assert!(!stream.primary_key.is_empty(), "{}: no key", stream.name);
            for key in stream.primary_key {
                // Runners such as PyAirbyte take only top-level keys.
                assert!(!key.contains('.'), "{}: nested key {key}", stream.name);
                assert!(selected(key), "{}: key {key} not selected", stream.name);
            }
            if let Some(inc) = stream.incremental() {
                assert!(
                    selected(inc.cursor) && selected(inc.tie_break),
                    "{}",
                    stream.name
                );
            }
        }
    }

    #[test]
    fn streams_read_by_activity_are_read_again_in_their_order() {
        for activity in ACTIVITY {
            let order = activity.stream.order().expect("a connection");
            assert!(activity.stream.field(order.created).is_some());
            assert!(ALL.iter().any(|s| s.name == activity.stream.name));
        }
    }

    #[test]
    fn per_parent_keys_are_fields_or_their_key_column() {
        for stream in PER_PARENT {
            let names: Vec<&str> = ALL.iter().map(|s| s.name).collect();
            assert!(!names.contains(&stream.name));
            let field = |name: &str| stream.fields.iter().any(|f| f.name == name);
            let column = stream.key_column.as_ref().map(|k| k.name);
            for key in stream.primary_key {
                assert!(field(key) || column == Some(*key), "{}: {key}", stream.name);
            }
            // A key part is a field, a field of an object field, or the parent column.
            let part_of = |path: &str| {
                let (top, rest) = path.split_once('.').unwrap_or((path, ""));
                stream.parent_column == Some(path)
                    || stream.fields.iter().any(|f| {
                        f.name == top
                            && match (f.ty, rest) {
                                (_, "") => true,
                                (Ty::Object(inner), rest) => inner.iter().any(|i| i.name == rest),
                                _ => false,
                            }
                    })
            };
            for part in stream.key_column.iter().flat_map(|k| k.from) {
                assert!(part_of(part), "{}: {part}", stream.name);
            }
            for naming in stream.naming {
                let top = naming.field.split('.').next().unwrap_or_default();
                assert!(stream.parent.field(top).is_some_and(|f| !f.nullable));
            }
            // Parents are listed, resumed and read again by id in its order.
            assert!(stream.parent.order().is_some(), "{}", stream.name);
        }
    }

    #[test]
    fn child_sources_agree_and_columns_do_not_collide() {
        for (i, child) in CHILDREN.iter().enumerate() {
            assert!(ALL.iter().all(|s| s.name != child.name));
            assert!(CHILDREN[..i].iter().all(|c| c.name != child.name));
            for source in child.sources {
                assert_eq!(
                    source.parent.primary_key,
                    ["id"],
                    "{}: a parent is keyed by its id",
                    child.name
                );
            }
            let element = child.element();
            let names = |ty: &Ty| -> Vec<&str> {
                match ty {
                    Ty::Object(fields) => fields.iter().map(|f| f.name).collect(),
                    Ty::Union(members) => members
                        .iter()
                        .flat_map(|m| m.fields.iter().map(|f| f.name))
                        .collect(),
                    _ => Vec::new(),
                }
            };
            let tags: Vec<&str> = child.sources[0].tags.iter().map(|t| t.0).collect();
            for source in child.sources {
                let ty = source.element().unwrap_or_else(|| {
                    panic!("{}: {} is not a list of objects", child.name, source.list)
                });
                assert_eq!(names(ty), names(element), "{}", child.name);
                let these: Vec<&str> = source.tags.iter().map(|t| t.0).collect();
                assert_eq!(these, tags, "{}", child.name);
            }
            let element_names = names(element);
            for column in tags.iter().chain([&child.parent_key]) {
                assert!(!element_names.contains(column), "{}: {column}", child.name);
            }
            for key in child.primary_key {
                assert!(
                    element_names.contains(key) || *key == child.parent_key,
                    "{}: key {key}",
                    child.name
                );
            }
        }
    }
}
