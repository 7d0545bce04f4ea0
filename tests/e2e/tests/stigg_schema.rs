//! Every query the connector can send, with every shape of variables it sends,
//! is valid against Stigg's full schema (from the stigg-api-client package,
//! fetched by tests/tools/stigg-full-schema.sh), not only the stand-in's subset.

use std::path::PathBuf;

use apollo_compiler::executable::{Selection, SelectionSet};
use apollo_compiler::request::coerce_variable_values;
use apollo_compiler::response::JsonMap;
use apollo_compiler::validation::Valid;
use apollo_compiler::{ExecutableDocument, Schema};
use graphql_source::catalog::parse_configured;
use graphql_source::drift;
use graphql_source::group;
use graphql_source::page::Page;
use graphql_source::position::{Pager, Position};
use graphql_source::query::{all_fields, document, per_parent_document};
use graphql_source::stream::TotalCount;
use serde_json::{json, Value};
use stigg::streams::{ALL, CHILDREN, PER_PARENT};

fn full_schema() -> Option<Valid<Schema>> {
    let path = std::env::var_os("STIGG_FULL_SCHEMA").map_or_else(
        || {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../target/stigg-full.graphql"
            ))
        },
        PathBuf::from,
    );
    let Ok(sdl) = std::fs::read_to_string(&path) else {
        assert!(
            std::env::var_os("STIGG_REQUIRE_FULL_SCHEMA").is_none(),
            "no full schema at {}: run tests/tools/stigg-full-schema.sh",
            path.display()
        );
        eprintln!("skipped: no full schema at {}", path.display());
        return None;
    };
    Some(Schema::parse_and_validate(sdl, "stigg-full.graphql").expect("Stigg's schema is valid"))
}

fn assert_valid(schema: &Valid<Schema>, query: &str, variables: &Value) {
    let document = ExecutableDocument::parse_and_validate(schema, query, "query.graphql")
        .unwrap_or_else(|e| panic!("invalid against Stigg's schema:\n{query}\n{}", e.errors));
    let operation = document.operations.get(None).expect("one operation");
    let variables: JsonMap = serde_json::from_value(variables.clone()).expect("variables object");
    coerce_variable_values(schema, operation, &variables)
        .unwrap_or_else(|e| panic!("variables rejected by Stigg's schema for\n{query}\n{e:?}"));
}

#[test]
fn every_query_and_variable_shape_is_valid_against_stiggs_full_schema() {
    let Some(schema) = full_schema() else { return };
    assert_valid(&schema, stigg::CHECK_QUERY, &json!({}));
    for stream in ALL {
        // The first round asks for totalCount; later rounds do not.
        let queries = [
            document(stream, &all_fields(stream), TotalCount::Ask, &[]),
            document(stream, &all_fields(stream), TotalCount::Skip, &[]),
        ];
        if stream.connection().is_none() {
            // A plain list: one query, no variables.
            queries
                .iter()
                .for_each(|q| assert_valid(&schema, q, &json!({})));
            continue;
        }
        // A full refresh: the first page and the newest row (planning), the
        // partitions it plans (ranges, null), and their later pages.
        let counted = stream.connection().is_some_and(|c| c.total_count);
        let (mut full, _) = Position::full_refresh(stream, None, 50);
        let mut round = Vec::new();
        for r in 0..4 {
            let requests = full.requests(50);
            for variables in &requests {
                queries
                    .iter()
                    .for_each(|q| assert_valid(&schema, q, variables));
            }
            round.push(requests.len());
            // Planning reads the creation times of the oldest and newest rows.
            let created = format!(r#"{{"createdAt":"2024-0{}-01T00:00:00.000Z"}}"#, r + 1);
            let nodes: &[&str] = if r < 2 { &[&created] } else { &[] };
            let pages: Vec<Page> = (0..requests.len())
                .map(|i| {
                    let mut page = Page::from_nodes(nodes, true, Some(&format!("YXJy{r}{i}")));
                    page.total_count = counted.then_some(100_000);
                    page
                })
                .collect();
            full.advance(&pages).unwrap();
        }
        if counted {
            assert_eq!(
                round[..2],
                [1, 1],
                "{}: first page, newest row",
                stream.name
            );
            assert!(round[2] > 2, "{}: no partitions: {round:?}", stream.name);
        } else {
            assert_eq!(round, [1, 1, 1, 1], "{}: never split", stream.name);
        }
        if let Some(keys) = stream.incremental() {
            let mut keyset = Position::incremental(keys, None, Some("2024-01-01T00:00:00.000Z"));
            let variables = &keyset.requests(50)[0];
            queries
                .iter()
                .for_each(|q| assert_valid(&schema, q, variables));
            let node = format!(
                r#"{{"{}":"2024-02-01T00:00:00.000Z","{}":"6c0f3ea3-2f63-4a4b-9b0e-111111111111"}}"#,
                keys.cursor, keys.tie_break
            );
            keyset
                .advance(&[Page::from_nodes(&[&node], true, Some("YQ=="))])
                .unwrap();
            let variables = &keyset.requests(50)[0];
            queries
                .iter()
                .for_each(|q| assert_valid(&schema, q, variables));
        }
    }
}

/// Every query a read can send: each stream alone (all columns), each
/// child stream alone (its parents asked only for keys and its lists).
fn every_query() -> Vec<String> {
    let mut queries: Vec<String> = ALL
        .iter()
        .map(|s| document(s, &all_fields(s), TotalCount::Ask, &[]))
        .collect();
    for child in CHILDREN {
        let catalog =
            json!({"streams": [{"stream": {"name": child.name}, "sync_mode": "full_refresh"}]});
        let selected = parse_configured(&catalog.to_string(), &stigg::STIGG).expect("a catalog");
        for group in group::groups(&selected) {
            queries.push(document(group.stream, &group.picks, TotalCount::Ask, &[]));
        }
    }
    queries.extend(PER_PARENT.iter().map(|s| per_parent_document(s, &[])));
    queries.push(stigg::CHECK_QUERY.to_owned());
    queries
}

#[test]
fn child_and_per_parent_queries_are_valid_against_stiggs_full_schema() {
    let Some(schema) = full_schema() else { return };
    for query in every_query() {
        let variables = if query.contains("$paging") {
            json!({"paging": {"first": 10}})
        } else if query.contains("$input") {
            json!({"input": {"customerId": "c-1", "paging": {"first": 10, "after": "YQ=="}}})
        } else if query.contains("$query") {
            json!({"query": {"customerId": "c-1"}})
        } else {
            json!({})
        };
        assert_valid(&schema, &query, &variables);
    }
}

/// Words that mark a credential in a field's name or type.
const SECRET_WORDS: &[&str] = &[
    "credential",
    "password",
    "secret",
    "token",
    "apikey",
    "api_key",
    "privatekey",
    "signingkey",
];

fn looks_secret(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    SECRET_WORDS.iter().any(|w| lower.contains(w))
}

/// Every selected field as `Type.field: FieldType`, walking into fragments.
fn selected_fields(set: &SelectionSet, out: &mut Vec<(String, String, String)>) {
    for selection in &set.selections {
        match selection {
            Selection::Field(field) => {
                out.push((
                    set.ty.to_string(),
                    field.name.to_string(),
                    field.definition.ty.inner_named_type().to_string(),
                ));
                selected_fields(&field.selection_set, out);
            }
            Selection::InlineFragment(fragment) => selected_fields(&fragment.selection_set, out),
            Selection::FragmentSpread(_) => panic!("the connector sends no named fragments"),
        }
    }
}

#[test]
fn no_query_selects_a_secret() {
    let Some(schema) = full_schema() else { return };
    assert!(looks_secret("paymentSecret") && looks_secret("StripeCredentials"));
    assert!(!looks_secret("billingId"));
    let mut checked = 0;
    for query in every_query() {
        let doc = ExecutableDocument::parse_and_validate(&schema, &query, "q.graphql")
            .expect("a valid query");
        let operation = doc.operations.get(None).expect("one operation");
        let mut fields = Vec::new();
        selected_fields(&operation.selection_set, &mut fields);
        for (parent, name, ty) in &fields {
            assert!(
                !looks_secret(name) && !looks_secret(ty),
                "a query selects {parent}.{name}: {ty}, which looks like a secret:\n{query}"
            );
        }
        checked += fields.len();
    }
    assert!(checked > 300, "only {checked} fields checked");
}

/// The activity log's queries (deletions, changed subscriptions) and the
/// read again by id are valid, variables included.
#[test]
fn activity_log_queries_are_valid_against_stiggs_full_schema() {
    use graphql_source::position::ByIds;
    use graphql_source::query::Pick;
    let Some(schema) = full_schema() else { return };
    let deletes = stigg::streams::find("customers")
        .and_then(|s| s.incremental())
        .and_then(|i| i.deletes.as_ref())
        .expect("customers have deletes");
    let mut filters = vec![deletes.filter];
    filters.extend(stigg::streams::ACTIVITY.iter().map(|a| a.entries.filter));
    filters.extend(
        stigg::streams::PER_PARENT
            .iter()
            .filter_map(|s| s.incremental.as_ref())
            .map(|a| a.entries.filter),
    );
    let log = deletes.log;
    let picks: Vec<Pick> = log.fields.iter().map(Pick::whole).collect();
    let query = document(log, &picks, TotalCount::Skip, &[]);
    for extra in filters {
        let Value::Object(extra) = serde_json::from_str::<Value>(extra).expect("JSON") else {
            panic!("a filter object");
        };
        let mut filter = json!({"createdAt": {"gte": "2024-01-01T00:00:00.000Z"}});
        filter.as_object_mut().unwrap().extend(extra);
        let variables = json!({"paging": {"first": 50, "after": "YQ=="},
            "sorting": [{"field": "createdAt", "direction": "ASC"}, {"field": "id", "direction": "ASC"}],
            "filter": filter});
        assert_valid(&schema, &query, &variables);
    }
    for activity in stigg::streams::ACTIVITY {
        let stream = activity.stream;
        let order = stream.order().expect("a connection");
        let ids = vec!["6c0f3ea3-2f63-4a4b-9b0e-111111111111".to_owned()];
        let variables = &ByIds::new(activity.filter_path, order, ids).request(50)[0];
        let query = document(stream, &all_fields(stream), TotalCount::Skip, &[]);
        assert_valid(&schema, &query, variables);
    }
}

/// What introspection with the connector's schema query answers on `schema`.
fn introspected(schema: &Valid<Schema>) -> String {
    use apollo_compiler::introspection::partial_execute;
    let document = ExecutableDocument::parse_and_validate(schema, drift::QUERY, "drift.graphql")
        .unwrap_or_else(|e| panic!("the schema query is invalid: {}", e.errors));
    let operation = document.operations.get(None).expect("one operation");
    let variables =
        coerce_variable_values(schema, operation, &JsonMap::new()).expect("no variables");
    let implementers = schema.implementers_map();
    let response = partial_execute(schema, &implementers, &document, operation, &variables)
        .unwrap_or_else(|e| panic!("introspection failed: {}", e.message()));
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    serde_json::to_string(&response).expect("JSON")
}

#[test]
fn stiggs_full_schema_and_the_standins_have_every_field_the_connector_reads() {
    let standin = Schema::parse_and_validate(stigg_standin::SUBSET_SDL, "subset.graphql")
        .expect("the stand-in's schema");
    let schemas =
        std::iter::once(("the stand-in's", standin)).chain(full_schema().map(|s| ("Stigg's", s)));
    for (whose, schema) in schemas {
        let served = drift::Served::parse(&introspected(&schema)).expect("an introspection answer");
        let findings = drift::findings(&stigg::STIGG, &served);
        assert!(findings.is_empty(), "{whose} schema lacks: {findings:#?}");
    }
}

#[test]
fn a_field_gone_from_stiggs_schema_is_found_and_told_apart_from_a_key() {
    let Some(schema) = full_schema() else { return };
    let mut schema = schema.into_inner();
    for (ty, field) in [
        ("Customer", "email"),
        ("Customer", "updatedAt"),
        ("Price", "billingModel"),
    ] {
        let Some(apollo_compiler::schema::ExtendedType::Object(object)) = schema.types.get_mut(ty)
        else {
            panic!("no type {ty}");
        };
        object
            .make_mut()
            .fields
            .shift_remove(field)
            .expect("the field");
    }
    let schema = schema.validate().expect("still valid");
    let served = drift::Served::parse(&introspected(&schema)).expect("an introspection answer");
    let found: Vec<(String, bool)> = drift::findings(&stigg::STIGG, &served)
        .iter()
        .map(|f| (format!("{}.{}", f.stream, f.path), f.needed))
        .collect();
    assert!(
        found.contains(&("customers.email".into(), false)),
        "{found:?}"
    );
    assert!(
        found.contains(&("customers.updatedAt".into(), true)),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|(path, needed)| path.ends_with(".billingModel") && !needed),
        "{found:?}"
    );
}
