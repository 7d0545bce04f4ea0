//! The hand-written subset must agree with Stigg's real schema: every type,
//! field, argument and enum value in it exists there with the same type.
//! The real schema is read from $STIGG_FULL_SCHEMA or target/stigg-full.graphql
//! (written by tests/tools/stigg-full-schema.sh); without it the test only says
//! so, unless STIGG_REQUIRE_FULL_SCHEMA is set (as `just test` does).

use std::path::PathBuf;

use apollo_compiler::schema::{ExtendedType, InputValueDefinition};
use apollo_compiler::{Node, Schema};
use stigg_standin::SUBSET_SDL;

fn full_schema_path() -> PathBuf {
    std::env::var_os("STIGG_FULL_SCHEMA").map_or_else(
        || {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../target/stigg-full.graphql"
            ))
        },
        PathBuf::from,
    )
}

fn parse(sdl: &str, name: &str) -> Schema {
    // Only the definitions matter here, not whether the whole file validates.
    Schema::parse(sdl, name).unwrap_or_else(|partial| partial.partial)
}

#[test]
fn subset_matches_the_real_schema() {
    let path = full_schema_path();
    let Ok(full_sdl) = std::fs::read_to_string(&path) else {
        assert!(
            std::env::var_os("STIGG_REQUIRE_FULL_SCHEMA").is_none(),
            "no real schema at {}: run tests/tools/stigg-full-schema.sh",
            path.display()
        );
        eprintln!(
            "skipped: no real schema at {} (set STIGG_FULL_SCHEMA)",
            path.display()
        );
        return;
    };
    let full = parse(&full_sdl, "stigg-full.graphql");
    let problems = disagreements(&full, SUBSET_SDL);
    assert!(
        problems.is_empty(),
        "the subset disagrees with {}:\n{}",
        path.display(),
        problems.join("\n")
    );
}

#[test]
fn the_check_catches_mistakes() {
    let Ok(full_sdl) = std::fs::read_to_string(full_schema_path()) else {
        eprintln!("skipped: no real schema");
        return;
    };
    let full = parse(&full_sdl, "stigg-full.graphql");
    let wrong = "type Query { customers(paging: Int, sorting: [CustomerSort!] = [{direction: ASC, field: createdAt}]): CustomerConnection }
                 type Customer { name: String! made: Int }
                 type Invented { x: Int }
                 enum SortDirection { ASC }
                 input CustomerSort { direction: SortDirection! field: String }
                 union PackageEntitlementUnion = PackageFeatureEntitlement | Customer";
    let problems = disagreements(&full, wrong).join("\n");
    for expected in [
        "Query.customers is",
        "Query.customers(paging)",
        "Query.customers(sorting) defaults",
        "Customer.name",
        "Customer.made",
        "Invented",
        "enum SortDirection",
        "CustomerSort.field",
        "union PackageEntitlementUnion has no member Customer",
    ] {
        assert!(
            problems.contains(expected),
            "{expected:?} not reported in:\n{problems}"
        );
    }
}

/// What in `subset_sdl` does not match `full`.
fn disagreements(full: &Schema, subset_sdl: &str) -> Vec<String> {
    let subset = parse(subset_sdl, "subset.graphql");
    let mut problems = Vec::new();
    for (name, ty) in &subset.types {
        if ty.is_built_in() {
            continue;
        }
        match full.types.get(name) {
            None => problems.push(format!("type {name} does not exist")),
            Some(real) => compare_type(name, ty, real, &mut problems),
        }
    }
    problems
}

fn compare_type(name: &str, ours: &ExtendedType, real: &ExtendedType, problems: &mut Vec<String>) {
    match (ours, real) {
        (ExtendedType::Scalar(_), ExtendedType::Scalar(_)) => {}
        (ExtendedType::Object(ours), ExtendedType::Object(real)) => {
            for (field, def) in &ours.fields {
                let Some(real_def) = real.fields.get(field) else {
                    problems.push(format!("{name}.{field} does not exist"));
                    continue;
                };
                if def.ty != real_def.ty {
                    problems.push(format!(
                        "{name}.{field} is {} in the real schema, not {}",
                        real_def.ty, def.ty
                    ));
                }
                compare_arguments(
                    &format!("{name}.{field}"),
                    &def.arguments,
                    &real_def.arguments,
                    problems,
                );
            }
        }
        (ExtendedType::InputObject(ours), ExtendedType::InputObject(real)) => {
            for (field, def) in &ours.fields {
                match real.fields.get(field) {
                    None => problems.push(format!("{name}.{field} does not exist")),
                    Some(real_def) => {
                        compare_input_value(&format!("{name}.{field}"), def, real_def, problems)
                    }
                }
            }
        }
        (ExtendedType::Union(ours), ExtendedType::Union(real)) => {
            // A subset may serve only some members, never an invented one.
            for member in &ours.members {
                if !real.members.contains(member) {
                    problems.push(format!("union {name} has no member {member}"));
                }
            }
        }
        (ExtendedType::Enum(ours), ExtendedType::Enum(real)) => {
            let ours: Vec<_> = ours.values.keys().collect();
            let real: Vec<_> = real.values.keys().collect();
            let (mut a, mut b) = (ours.clone(), real.clone());
            a.sort();
            b.sort();
            if a != b {
                problems.push(format!(
                    "enum {name} has values {b:?} in the real schema, not {a:?}"
                ));
            }
        }
        _ => problems.push(format!(
            "{name} is a different kind of type in the real schema"
        )),
    }
}

fn compare_arguments(
    owner: &str,
    ours: &[Node<InputValueDefinition>],
    real: &[Node<InputValueDefinition>],
    problems: &mut Vec<String>,
) {
    for arg in ours {
        match real.iter().find(|r| r.name == arg.name) {
            None => problems.push(format!("{owner}({}) does not exist", arg.name)),
            Some(real_arg) => {
                compare_input_value(&format!("{owner}({})", arg.name), arg, real_arg, problems)
            }
        }
    }
    for real_arg in real {
        let required = real_arg.ty.is_non_null() && real_arg.default_value.is_none();
        if required && !ours.iter().any(|a| a.name == real_arg.name) {
            problems.push(format!(
                "{owner} lacks the required argument {}",
                real_arg.name
            ));
        }
    }
}

fn compare_input_value(
    owner: &str,
    ours: &InputValueDefinition,
    real: &InputValueDefinition,
    problems: &mut Vec<String>,
) {
    if ours.ty != real.ty {
        problems.push(format!(
            "{owner} is {} in the real schema, not {}",
            real.ty, ours.ty
        ));
    }
    let text = |d: &InputValueDefinition| d.default_value.as_ref().map(|v| v.to_string());
    if text(ours) != text(real) {
        problems.push(format!(
            "{owner} defaults to {:?} in the real schema, not {:?}",
            text(real),
            text(ours)
        ));
    }
}

#[test]
fn every_node_type_has_all_real_scalar_fields() {
    let Ok(full_sdl) = std::fs::read_to_string(full_schema_path()) else {
        eprintln!("skipped: no real schema");
        return;
    };
    let full = parse(&full_sdl, "stigg-full.graphql");
    let subset = parse(SUBSET_SDL, "stigg-subset.graphql");
    let leaf = |schema: &Schema, ty: &str| {
        matches!(
            schema.types.get(ty),
            Some(ExtendedType::Scalar(_) | ExtendedType::Enum(_))
        )
    };
    let mut missing = Vec::new();
    for node in [
        "Customer",
        "SubscriptionQuery",
        "Plan",
        "Addon",
        "Feature",
        "Product",
        "Coupon",
        "PromotionalEntitlement",
        "UsageMeasurement",
        "CustomerResource",
        "Experiment",
        "FeatureGroup",
        "PackageGroup",
        "Offer",
        "CustomCurrency",
        "CreditGrant",
        "CreditLedgerEvent",
        "EventLog",
        "EventActorInfo",
        "EntitlementWithSummary",
        "EntitlementFeature",
        "SubscriptionEntitlement",
    ] {
        let (Some(ExtendedType::Object(real)), Some(ExtendedType::Object(ours))) =
            (full.types.get(node), subset.types.get(node))
        else {
            missing.push(format!("{node} is not an object type in both"));
            continue;
        };
        for (field, def) in &real.fields {
            if leaf(&full, def.ty.inner_named_type()) && !ours.fields.contains_key(field) {
                missing.push(format!("{node}.{field}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "scalar/enum fields missing from the subset: {missing:?}"
    );
}
