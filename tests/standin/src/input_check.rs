//! Checks of custom scalar inputs that Stigg's scalars reject before any
//! resolver runs: a `filter` with a DateTime or UUID that does not parse is
//! a 400, as graphql-js reports a failed `parseLiteral`/`parseValue`.

use apollo_compiler::ast::Value;
use apollo_compiler::executable::Operation;
use apollo_compiler::response::{JsonMap, JsonValue};
use apollo_compiler::ExecutableDocument;

use crate::data::Kind;
use crate::filter::Filter;

/// A rejected input: the message, and whether it came through a variable
/// (BAD_USER_INPUT) or a literal (GRAPHQL_VALIDATION_FAILED).
pub struct BadInput {
    pub message: String,
    pub from_variable: bool,
}

pub fn check_filters(
    document: &ExecutableDocument,
    operation: &Operation,
    variables: &JsonMap,
) -> Result<(), BadInput> {
    for field in operation.root_fields(document) {
        let Some(filter) = field.specified_argument_by_name("filter") else {
            continue;
        };
        let kind = Kind::from_root_field(field.name.as_str());
        if let Err(message) = Filter::parse_for(kind, &to_json(filter, variables)) {
            return Err(BadInput {
                message,
                from_variable: uses_variable(filter),
            });
        }
    }
    Ok(())
}

/// An argument's value with variables substituted.
fn to_json(value: &Value, variables: &JsonMap) -> JsonValue {
    match value {
        Value::Null => JsonValue::Null,
        Value::Enum(name) => JsonValue::from(name.as_str()),
        Value::Variable(name) => variables
            .get(name.as_str())
            .cloned()
            .unwrap_or(JsonValue::Null),
        Value::String(s) => JsonValue::from(s.as_str()),
        Value::Float(f) => f.try_to_f64().map_or(JsonValue::Null, JsonValue::from),
        Value::Int(i) => i.try_to_i32().map_or(JsonValue::Null, JsonValue::from),
        Value::Boolean(b) => JsonValue::from(*b),
        Value::List(items) => {
            JsonValue::Array(items.iter().map(|v| to_json(v, variables)).collect())
        }
        Value::Object(fields) => {
            let map = fields
                .iter()
                .map(|(k, v)| (k.as_str().into(), to_json(v, variables)))
                .collect();
            JsonValue::Object(map)
        }
    }
}

fn uses_variable(value: &Value) -> bool {
    match value {
        Value::Variable(_) => true,
        Value::List(items) => items.iter().any(|v| uses_variable(v)),
        Value::Object(fields) => fields.iter().any(|(_, v)| uses_variable(v)),
        _ => false,
    }
}
