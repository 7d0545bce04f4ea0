//! The subset of Stigg's schema that the stand-in serves and validates
//! every query against.

use std::sync::OnceLock;

use apollo_compiler::validation::Valid;
use apollo_compiler::Schema;

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

#[cfg(test)]
mod tests {
    #[test]
    fn subset_is_a_valid_schema() {
        let schema = super::subset();
        assert!(schema.get_object("Customer").is_some());
        assert!(schema
            .get_object("Query")
            .is_some_and(|q| q.fields.len() == 18));
    }
}
