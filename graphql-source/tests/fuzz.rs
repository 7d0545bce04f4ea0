//! Property tests over everything that parses outside input: whatever the bytes,
//! no panic, and a result that holds together. CI runs the default number of
//! cases; for a long run: `PROPTEST_CASES=200000 cargo test -p graphql-source --test fuzz --release`.

use graphql_source::catalog::parse_configured;
use graphql_source::fixtures::API;
use graphql_source::messages;
use graphql_source::page::Page;
use graphql_source::settings::Settings;
use graphql_source::state::parse_input;
use graphql_source::time::{format_rfc3339_ms, parse_rfc3339_ms, retry_after_ms};
use proptest::prelude::*;
use serde_json::{json, Value};

/// Arbitrary JSON values, nested a few levels.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map("[a-z_]{0,10}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// JSON texts that look like what each parser expects, with random parts.
fn config_like() -> impl Strategy<Value = String> {
    (json_value(), json_value(), json_value(), json_value()).prop_map(|(key, url, size, date)| {
        json!({ "api_key": key, "base_url": url, "page_size": size, "start_date": date })
            .to_string()
    })
}

fn page_like() -> impl Strategy<Value = String> {
    (json_value(), json_value(), json_value(), prop::collection::vec(json_value(), 0..4)).prop_map(
        |(next, cursor, total, nodes)| {
            let edges: Vec<Value> = nodes.into_iter().map(|n| json!({ "node": n })).collect();
            json!({ "data": { "customers": {
                "edges": edges, "pageInfo": { "hasNextPage": next, "endCursor": cursor }, "totalCount": total,
            }}})
            .to_string()
        },
    )
}

proptest! {
    #[test]
    fn config_parsing_never_panics(text in prop_oneof![".*", config_like()]) {
        if let Ok(config) = Settings::parse(&text, &API) {
            prop_assert!((1..=1000).contains(&config.page_size.rows()));
            prop_assert!(config.endpoint.origin.starts_with("http"));
        }
    }

    #[test]
    fn catalog_and_state_parsing_never_panic(text in ".*", value in json_value()) {
        let _ = parse_configured(&text, &API);
        let _ = parse_configured(&json!({ "streams": [value.clone()] }).to_string(), &API);
        let _ = parse_input(Some(&text));
        let _ = parse_input(Some(&json!([value]).to_string()));
    }

    #[test]
    fn page_parsing_never_panics_and_nodes_are_json(body in prop_oneof![".*", page_like()], cut in any::<prop::sample::Index>()) {
        let mut end = cut.index(body.len() + 1);
        while !body.is_char_boundary(end) {
            end -= 1;
        }
        for text in [body.clone(), body[..end].to_owned()] {
            if let Ok(page) = Page::parse(text, "customers") {
                for node in page.nodes() {
                    prop_assert!(serde_json::from_str::<Value>(node).is_ok());
                    let mut line = String::new();
                    messages::record(&mut line, "customers", node, 1);
                    prop_assert!(!line.contains('\n'));
                    prop_assert!(serde_json::from_str::<Value>(&line).is_ok());
                }
            }
        }
    }

    #[test]
    fn timestamps_round_trip_and_garbage_is_refused(ms in -62_135_596_800_000i64..253_402_300_799_999, text in ".*") {
        prop_assert_eq!(parse_rfc3339_ms(&format_rfc3339_ms(ms)), Some(ms));
        let _ = parse_rfc3339_ms(&text);
        let _ = retry_after_ms(&text);
    }
}
