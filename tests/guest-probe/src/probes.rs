//! The WIT binding and the probes themselves.

use serde_json::{json, Value};

wit_bindgen::generate!({
    world: "connector",
    path: "../../wit",
});

use airbyte::connector::{http, sink};
use exports::airbyte::connector::source::Guest;

struct Probe;

impl Guest for Probe {
    fn spec() -> Result<(), String> {
        emit(&json!({
            "type": "SPEC",
            "spec": { "connectionSpecification": { "type": "object" } }
        }));
        Ok(())
    }

    fn allowed_origins(config: String) -> Result<Vec<String>, String> {
        let config = parse(&config)?;
        Ok(config["origins"]
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(|o| o.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default())
    }

    fn check(_config: String) -> Result<(), String> {
        emit(&json!({
            "type": "CONNECTION_STATUS",
            "connectionStatus": { "status": "SUCCEEDED" }
        }));
        Ok(())
    }

    fn discover(_config: String) -> Result<(), String> {
        emit(&json!({ "type": "CATALOG", "catalog": { "streams": [] } }));
        Ok(())
    }

    /// One catalog per stream, other keys kept: every stream apart.
    fn split_catalog(catalog: String) -> Vec<String> {
        let Ok(Value::Object(object)) = serde_json::from_str::<Value>(&catalog) else {
            return vec![catalog];
        };
        let entries = match object.get("streams") {
            Some(Value::Array(entries)) if entries.len() > 1 => entries.clone(),
            _ => return vec![catalog],
        };
        entries
            .into_iter()
            .map(|entry| {
                let mut part = object.clone();
                part.insert("streams".into(), Value::Array(vec![entry]));
                Value::Object(part).to_string()
            })
            .collect()
    }

    fn read(config: String, _catalog: String, _state: Option<String>) -> Result<(), String> {
        let config = parse(&config)?;
        match config["probe"].as_str().unwrap_or("") {
            "alloc" => alloc(),
            "spin" => spin(),
            "sleep" => sleep(&config),
            "read-file" => read_file(&config),
            "env" => env(),
            "http" => send(&config),
            "emit" => emit_many(&config),
            "panic" => panic!("the probe panicked on purpose"),
            other => return Err(format!("unknown probe {other:?}")),
        }
        Ok(())
    }
}

export!(Probe);

fn parse(config: &str) -> Result<Value, String> {
    serde_json::from_str(config).map_err(|e| format!("config is not JSON: {e}"))
}

/// The probe emits SPEC, CATALOG and LOG messages only: none a host acts on.
fn emit(message: &Value) {
    sink::emit(&message.to_string(), sink::BatchEnd::Other);
}

/// A LOG message carrying a probe's result as JSON text.
fn report(result: Value) {
    emit(&json!({
        "type": "LOG",
        "log": { "level": "INFO", "message": result.to_string() }
    }));
}

/// Grows memory 1 MiB at a time and never frees it; plain allocation, so
/// running out aborts the guest as any Rust program would.
fn alloc() {
    let mut mib = 0u64;
    loop {
        let block = std::hint::black_box(vec![1u8; 1 << 20]);
        std::mem::forget(block);
        mib += 1;
        if mib.is_multiple_of(64) {
            report(json!({ "probe": "alloc", "allocated_mib": mib }));
        }
    }
}

fn spin() {
    let mut n = 0u64;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

/// Blocks (in a WASI poll, i.e. in the host) without using CPU.
fn sleep(config: &Value) {
    let ms = config["ms"].as_u64().unwrap_or(1000);
    std::thread::sleep(std::time::Duration::from_millis(ms));
    report(json!({ "probe": "sleep", "slept_ms": ms }));
}

fn read_file(config: &Value) {
    let path = config["path"].as_str().unwrap_or("/etc/passwd");
    let result = match std::fs::read(path) {
        Ok(bytes) => json!({ "probe": "read-file", "ok": true, "bytes": bytes.len() }),
        Err(e) => json!({
            "probe": "read-file",
            "ok": false,
            "kind": format!("{:?}", e.kind()),
            "error": e.to_string(),
        }),
    };
    report(result);
}

fn env() {
    let vars: Vec<String> = std::env::vars_os()
        .map(|(k, _)| k.to_string_lossy().into_owned())
        .collect();
    let args: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let cwd = std::env::current_dir()
        .map(|d| d.display().to_string())
        .ok();
    report(json!({ "probe": "env", "vars": vars, "args": args, "cwd": cwd }));
}

/// Sends `{"url", "method"?, "headers"?: [[name, value]], "body"?}`.
fn send(config: &Value) {
    let headers = config["headers"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|pair| {
                    Some((
                        pair.get(0)?.as_str()?.to_string(),
                        pair.get(1)?.as_str()?.to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    let request = http::Request {
        method: match config["method"].as_str() {
            Some("POST") | Some("post") => http::Method::Post,
            _ => http::Method::Get,
        },
        url: config["url"].as_str().unwrap_or_default().to_string(),
        headers,
        body: config["body"].as_str().unwrap_or_default().to_owned(),
    };
    let result = match http::send(&request) {
        Ok(response) => json!({
            "probe": "http",
            "status": response.status,
            "headers": response.headers,
            "body": response.body,
        }),
        Err(error) => {
            let (kind, detail) = match error {
                http::Error::Denied(m) => ("denied", json!(m)),
                http::Error::Timeout(m) => ("timeout", json!(m)),
                http::Error::Transport(m) => ("transport", json!(m)),
                http::Error::TooLarge(cap) => ("too-large", json!(cap)),
                http::Error::NotUtf8(m) => ("not-utf8", json!(m)),
            };
            json!({ "probe": "http", "error": kind, "detail": detail })
        }
    };
    report(result);
}

fn emit_many(config: &Value) {
    let count = config["count"].as_u64().unwrap_or(10);
    for i in 0..count {
        report(json!({ "probe": "emit", "index": i }));
    }
}
