//! spec, check and discover through the real host and component.

use serde_json::{json, Value};
use stigg_e2e::{config, record_validators, run, Inputs, API_KEY};
use stigg_standin::{BadKeyMode, Standin, StandinConfig};

fn standin(customers: usize) -> Standin {
    Standin::start(StandinConfig {
        api_key: API_KEY.into(),
        customers,
        ..Default::default()
    })
}

fn with_config(config: Value) -> Inputs {
    Inputs {
        config: Some(config),
        catalog: None,
        state: None,
    }
}

#[test]
fn spec_declares_the_config_with_the_key_secret() {
    let out = run(
        "spec",
        &Inputs {
            config: None,
            catalog: None,
            state: None,
        },
        &[],
    );
    assert_eq!(out.code, 0);
    let spec = &out.of_type("SPEC").next().expect("SPEC")["spec"];
    let props = &spec["connectionSpecification"]["properties"];
    assert_eq!(
        spec["connectionSpecification"]["required"],
        json!(["api_key"])
    );
    assert_eq!(props["api_key"]["airbyte_secret"], json!(true));
    // Every key the config accepts (README's config table) can be set from the spec.
    let mut keys: Vec<&String> = props.as_object().expect("properties").keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "activity_full_refresh_every",
            "api_key",
            "base_url",
            "max_retry_seconds",
            "page_size",
            "progress_log_seconds",
            "rate_limit_share",
            "rate_limit_window_seconds",
            "rate_limits",
            "start_date",
            "subscriptions_incremental_via_activity_log",
            "track_deletes"
        ]
    );
    assert_eq!(
        (
            props["max_retry_seconds"]["default"].clone(),
            props["max_retry_seconds"]["maximum"].clone()
        ),
        (json!(600), json!(3600))
    );
    assert_eq!(
        props["base_url"]["default"],
        json!("https://api.stigg.io/graphql")
    );
    // No default for `page_size`: a UI that filled one in would make it the
    // user's choice, which the connector may not lower.
    assert_eq!(
        (
            props["page_size"].get("default"),
            props["page_size"]["maximum"].clone()
        ),
        (None, json!(1000))
    );
    assert!(spec["documentationUrl"]
        .as_str()
        .unwrap()
        .starts_with("https://"));
}

/// What Airbyte's form needs of each field: a title, a description, its
/// place (`order`, each once); a date picker for `start_date`; and for
/// `rate_limits` an array of objects with fields of their own, which the
/// form renders (an object without `properties` renders no input).
#[test]
fn spec_is_a_form_airbytes_ui_renders() {
    let none = Inputs {
        config: None,
        catalog: None,
        state: None,
    };
    let out = run("spec", &none, &[]);
    let spec = &out.of_type("SPEC").next().expect("SPEC")["spec"];
    let props = spec["connectionSpecification"]["properties"]
        .as_object()
        .expect("properties");
    let mut orders: Vec<u64> = Vec::new();
    for (name, field) in props {
        for key in ["title", "description"] {
            assert!(
                field[key].as_str().is_some_and(|t| !t.is_empty()),
                "{name} has no {key}"
            );
        }
        orders.push(
            field["order"]
                .as_u64()
                .unwrap_or_else(|| panic!("{name} has no order")),
        );
    }
    orders.sort_unstable();
    orders.dedup();
    assert_eq!(orders.len(), props.len(), "two fields share an order");
    let start = &props["start_date"];
    assert_eq!(start["format"], "date-time");
    assert!(start["examples"][0]
        .as_str()
        .is_some_and(|e| e.contains('T')));
    let limits = &props["rate_limits"];
    assert_eq!(limits["type"], "array");
    let entry = &limits["items"];
    assert_eq!(entry["type"], "object");
    for field in ["operation", "calls_per_minute"] {
        assert!(entry["properties"][field]["title"].is_string(), "{field}");
        assert!(entry["required"]
            .as_array()
            .expect("required")
            .contains(&json!(field)));
    }
}

#[test]
fn check_succeeds_with_a_good_key() {
    let server = standin(3);
    let out = run("check", &with_config(config(&server.url())), &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.connection_status()["status"], "SUCCEEDED");
    assert!(server.invalid_queries().is_empty());
    out.assert_no_leak(API_KEY);
}

#[test]
fn check_fails_clearly_with_a_bad_key_either_way_stigg_says_it() {
    for mode in [BadKeyMode::Http401, BadKeyMode::GraphqlError200] {
        let server = Standin::start(StandinConfig {
            api_key: API_KEY.into(),
            bad_key_mode: mode,
            ..Default::default()
        });
        let bad = json!({ "api_key": "wrong-key-123", "base_url": server.url() });
        let out = run("check", &with_config(bad), &[]);
        assert_eq!(out.code, 0, "check reports, it does not fail");
        let status = out.connection_status();
        assert_eq!(status["status"], "FAILED");
        let message = status["message"].as_str().unwrap();
        assert!(message.contains("rejected the API key"), "{message}");
        out.assert_no_leak("wrong-key-123");
        assert_eq!(server.request_count(), 1, "a bad key is not retried");
    }
}

#[test]
fn check_fails_when_stigg_is_unreachable() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut config = config(&format!("http://127.0.0.1:{port}/graphql"));
    config["max_retry_seconds"] = json!(2);
    let started = std::time::Instant::now();
    let out = run("check", &with_config(config), &[]);
    assert_eq!(out.code, 0);
    let status = out.connection_status();
    assert_eq!(status["status"], "FAILED");
    let message = status["message"].as_str().unwrap_or_default();
    assert!(message.contains("could not reach Stigg"), "{status}");
    // The check retried within the config's budget, then gave up.
    assert!(message.contains("(retry budget 2 s)"), "{status}");
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}

#[test]
fn check_reports_a_bad_config_as_failed() {
    for (config, expected) in [
        (json!({}), "no `api_key`"),
        (json!({ "api_key": "k", "page_size": 0 }), "`page_size`"),
        (
            json!({ "api_key": "k", "base_url": "ftp://x" }),
            "`base_url`",
        ),
    ] {
        let out = run("check", &with_config(config), &[]);
        assert_eq!(out.code, 0);
        let status = out.connection_status();
        assert_eq!(status["status"], "FAILED");
        assert!(
            status["message"].as_str().unwrap().contains(expected),
            "{status}"
        );
    }
}

#[test]
fn discover_lists_every_stream_with_keys_and_modes() {
    let server = standin(1);
    let out = run("discover", &with_config(config(&server.url())), &[]);
    assert_eq!(out.code, 0);
    let streams = out.of_type("CATALOG").next().expect("CATALOG")["catalog"]["streams"].clone();
    let names: Vec<&str> = streams
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "customers",
            "subscriptions",
            "plans",
            "addons",
            "features",
            "products",
            "coupons",
            "promotional_entitlements",
            "subscription_entitlements",
            "customer_resources",
            "experiments",
            "feature_groups",
            "package_groups",
            "offers",
            "custom_currencies",
            "usage_measurements",
            "event_logs",
            "subscription_prices",
            "subscription_addons",
            "subscription_coupons",
            "package_prices",
            "package_entitlements",
            "credit_grants",
            "credit_ledger",
            "customer_entitlements",
            "customer_resource_entitlements",
        ]
    );
    let keys = |name: &str| match name {
        "customer_resources" => json!([["resourceId"], ["customer_id"]]),
        "package_groups" => json!([["packageGroupId"], ["versionNumber"]]),
        "subscription_coupons" => json!([["subscription_id"], ["id"]]),
        "credit_ledger" => json!([["entry_key"]]),
        "customer_entitlements" | "customer_resource_entitlements" => {
            json!([["entitlement_key"]])
        }
        _ => json!([["id"]]),
    };
    for stream in streams.as_array().unwrap() {
        let name = stream["name"].as_str().unwrap();
        assert_eq!(stream["source_defined_primary_key"], keys(name), "{name}");
        assert_eq!(stream["is_resumable"], json!(true));
        let incremental = stream["supported_sync_modes"]
            .as_array()
            .unwrap()
            .contains(&json!("incremental"));
        let cursor = match name {
            "usage_measurements" | "event_logs" => "createdAt",
            "credit_ledger" => "timestamp",
            _ => "updatedAt",
        };
        assert_eq!(
            incremental,
            stream["default_cursor_field"] == json!([cursor]),
            "{name}"
        );
    }
    let customers = &streams[0]["json_schema"]["properties"];
    assert_eq!(
        customers["totalActiveSubscription"]["type"],
        json!("number")
    );
    assert_eq!(customers["email"]["type"], json!(["string", "null"]));
    assert!(customers["additionalMetaData"]["type"]
        .as_array()
        .unwrap()
        .contains(&json!("object")));
    assert_eq!(
        record_validators(&config(&server.url())).len(),
        names.len(),
        "every schema compiles"
    );
}

#[test]
fn discover_with_a_bad_config_is_a_config_error() {
    let out = run("discover", &with_config(json!({ "api_key": 42 })), &[]);
    assert_eq!(out.code, 1);
    let errors = out.errors();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["failure_type"], "config_error");
    assert!(errors[0]["message"]
        .as_str()
        .unwrap()
        .contains("`api_key` must be a string"));
}
