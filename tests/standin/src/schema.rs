//! The subset of Stigg's schema that the stand-in serves and validates
//! every query against, and the changes a test makes to it (a field Stigg
//! removed, introspection turned off), as a server's next release would.

use std::sync::{Arc, OnceLock};

use apollo_compiler::schema::ExtendedType;
use apollo_compiler::validation::Valid;
use apollo_compiler::Schema;
use serde::Deserialize;

/// The SDL of `schema/stigg-subset.graphql`.
pub const SUBSET_SDL: &str = include_str!("../schema/stigg-subset.graphql");

pub fn subset() -> &'static Valid<Schema> {
    static SCHEMA: OnceLock<Valid<Schema>> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        // The file ships with the crate and a unit test validates it.
        Schema::parse_and_validate(SUBSET_SDL, "stigg-subset.graphql")
            .unwrap_or_else(|e| panic!("schema/stigg-subset.graphql is invalid:\n{}", e.errors))
    })
}

/// A change to the served schema, e.g. `{"removeFields": ["Customer.email"]}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemaChange {
    /// `Type.field` of object types: gone from the schema, so queries that
    /// select them fail validation, and introspection no longer lists them.
    #[serde(default)]
    pub remove_fields: Vec<String>,
    /// Off: introspection queries are refused, as Apollo Server does in
    /// production unless it is turned on.
    #[serde(default = "yes")]
    pub introspection: bool,
}

fn yes() -> bool {
    true
}

/// What the stand-in serves now.
#[derive(Debug)]
pub struct Served {
    pub schema: Arc<Valid<Schema>>,
    pub introspection: bool,
}

impl Default for Served {
    fn default() -> Self {
        Served {
            schema: Arc::new(subset().clone()),
            introspection: true,
        }
    }
}

impl Served {
    /// The subset with `change` made; an error names what cannot be removed.
    pub fn changed(change: &SchemaChange) -> Result<Served, String> {
        let mut schema = subset().clone().into_inner();
        for path in &change.remove_fields {
            let (ty, field) = path
                .split_once('.')
                .ok_or_else(|| format!("{path}: not Type.field"))?;
            let removed = match schema.types.get_mut(ty) {
                Some(ExtendedType::Object(object)) => {
                    object.make_mut().fields.shift_remove(field).is_some()
                }
                _ => false,
            };
            if !removed {
                return Err(format!("{path}: no such field of an object type"));
            }
        }
        let schema = schema.validate().map_err(|e| e.errors.to_string())?;
        Ok(Served {
            schema: Arc::new(schema),
            introspection: change.introspection,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subset_is_a_valid_schema() {
        let schema = super::subset();
        assert!(schema.get_object("Customer").is_some());
        assert!(schema
            .get_object("Query")
            .is_some_and(|q| q.fields.len() == 20));
    }

    #[test]
    fn a_removed_field_is_gone_and_an_unknown_one_is_refused() {
        let change = SchemaChange {
            remove_fields: vec!["Customer.email".into()],
            introspection: true,
        };
        let served = Served::changed(&change).unwrap();
        let customer = served.schema.get_object("Customer").unwrap();
        assert!(!customer.fields.contains_key("email"));
        assert!(customer.fields.contains_key("name"));
        let unknown = SchemaChange {
            remove_fields: vec!["Customer.nope".into()],
            introspection: true,
        };
        assert!(Served::changed(&unknown)
            .unwrap_err()
            .contains("Customer.nope"));
    }
}
