//! JSON text as a JavaScript server writes it: Stigg's API runs on Node.js,
//! where `JSON.stringify(2.0)` is `2`, so integral Floats carry no `.0`.

use std::fmt::Write as _;

use apollo_compiler::response::JsonValue;

pub fn to_js_json(value: &JsonValue) -> String {
    let mut out = String::with_capacity(256);
    write_value(&mut out, value);
    out
}

fn write_value(out: &mut String, value: &JsonValue) {
    match value {
        JsonValue::Null => out.push_str("null"),
        JsonValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        JsonValue::Number(n) => write_number(out, n),
        JsonValue::String(s) => write_string(out, s.as_str()),
        JsonValue::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        JsonValue::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, key.as_str());
                out.push(':');
                write_value(out, item);
            }
            out.push('}');
        }
    }
}

fn write_number(out: &mut String, n: &serde_json::Number) {
    match n.as_f64() {
        Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 1e15 => {
            let _ = write!(out, "{}", f as i64);
        }
        _ => {
            let _ = write!(out, "{n}");
        }
    }
}

fn write_string(out: &mut String, s: &str) {
    // serde_json's escaping is the standard one; a &str always serializes.
    out.push_str(&serde_json::to_string(s).unwrap_or_else(|_| String::from("\"\"")));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integral_floats_have_no_fraction() {
        let v = JsonValue::from(
            serde_json::json!({"a": 2.0, "b": 2.5, "c": -0.0, "d": 7, "e": "x\"y", "f": [true, null]}),
        );
        assert_eq!(
            to_js_json(&v),
            r#"{"a":2,"b":2.5,"c":0,"d":7,"e":"x\"y","f":[true,null]}"#
        );
    }
}
