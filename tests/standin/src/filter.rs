//! The `filter` argument, with nestjs-query's semantics: the fields of one
//! filter object are ANDed, `and`/`or` combine sub-filters, and — easy to
//! miss — several comparisons on one field are ORed together
//! (`{updatedAt: {gte: a, lt: b}}` means `>= a OR < b`).
//!
//! `id`, `createdAt` and `updatedAt` are read straight from rows (except
//! the activity log's text ids and subscription entitlements' nullable
//! updatedAt); any other field (`status`, `isLatest`, `eventLogType`, ...)
//! is compared with the value the API would answer for it.

use std::cmp::Ordering;

use apollo_compiler::response::{JsonMap, JsonValue};

use crate::data::{Kind, Row};
use crate::fields::Val;
use crate::rng::parse_uuid;
use crate::time::parse_iso;

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    All(Vec<Filter>),
    Any(Vec<Filter>),
    Compare(Column, Comparison),
    /// Another field: its name, the operator and the operand as sent.
    Field(String, String, JsonValue),
}

/// The filterable columns of the subset; all are non-null in the data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Column {
    Id,
    CreatedAt,
    UpdatedAt,
}

/// Column values as one ordered key: times shifted to unsigned, UUIDs as-is.
type Key = u128;

#[derive(Debug, Clone, PartialEq)]
pub enum Comparison {
    Eq(Key),
    Neq(Key),
    Gt(Key),
    Gte(Key),
    Lt(Key),
    Lte(Key),
    In(Vec<Key>),
    NotIn(Vec<Key>),
    Between(Key, Key),
    NotBetween(Key, Key),
    /// `is: null` / `isNot: null` (or a boolean, which matches no date or id).
    Is(Option<bool>),
    IsNot(Option<bool>),
    Like {
        pattern: String,
        case_insensitive: bool,
        negated: bool,
    },
}

impl Filter {
    /// Parses a coerced `filter` argument (already validated against the schema).
    pub fn parse(value: &JsonValue) -> Result<Filter, String> {
        Filter::parse_for(None, value)
    }

    /// As `parse`, for a list query of `kind`: the activity log's `id` is a
    /// String, compared as text rather than parsed as a UUID.
    pub fn parse_for(kind: Option<Kind>, value: &JsonValue) -> Result<Filter, String> {
        match value {
            JsonValue::Null => Ok(Filter::All(Vec::new())),
            JsonValue::Object(map) => parse_object(kind, map),
            other => Err(format!("filter must be an object, got {other}")),
        }
    }

    /// Whether `row` passes; `field` answers the other fields' values.
    pub fn matches(&self, row: &Row, field: &dyn Fn(&str) -> Val) -> bool {
        match self {
            Filter::All(parts) => parts.iter().all(|f| f.matches(row, field)),
            // An empty `or` constrains nothing, like an empty `and`.
            Filter::Any(parts) => parts.is_empty() || parts.iter().any(|f| f.matches(row, field)),
            Filter::Compare(column, cmp) => cmp.matches(column.key(row), column),
            Filter::Field(name, op, operand) => field_matches(&field(name), op, operand),
        }
    }

    pub fn is_trivial(&self) -> bool {
        matches!(self, Filter::All(parts) if parts.iter().all(Filter::is_trivial))
    }
}

fn parse_object(kind: Option<Kind>, map: &JsonMap) -> Result<Filter, String> {
    let mut parts = Vec::new();
    for (key, value) in map {
        match key.as_str() {
            "and" => parts.push(Filter::All(parse_list(kind, value)?)),
            "or" => parts.push(Filter::Any(parse_list(kind, value)?)),
            "id" if kind == Some(Kind::EventLog) => parts.push(parse_other("id", value)),
            // A subscription entitlement's updatedAt may be null: compare the
            // value answered (after checking the operands as for any date).
            "updatedAt" if kind == Some(Kind::SubscriptionEntitlement) => {
                parse_field(Column::UpdatedAt, value)?;
                parts.push(parse_other("updatedAt", value));
            }
            field => match Column::named(field) {
                Some(column) => parts.push(parse_field(column, value)?),
                None => parts.push(parse_other(field, value)),
            },
        }
    }
    Ok(Filter::All(parts))
}

fn parse_list(kind: Option<Kind>, value: &JsonValue) -> Result<Vec<Filter>, String> {
    match value {
        JsonValue::Null => Ok(Vec::new()),
        JsonValue::Array(items) => items.iter().map(|v| Filter::parse_for(kind, v)).collect(),
        other => Ok(vec![Filter::parse_for(kind, other)?]),
    }
}

const OPERATORS: &[&str] = &[
    "eq",
    "neq",
    "gt",
    "gte",
    "lt",
    "lte",
    "in",
    "notIn",
    "is",
    "isNot",
    "like",
    "notLike",
    "iLike",
    "notILike",
    "between",
    "notBetween",
];

/// A field other than id/createdAt/updatedAt: its comparisons, ORed; or a
/// relation's filter (`customer: {id: {in: [...]}}`), its fields named by
/// path (`customer.id`) and ANDed.
fn parse_other(field: &str, value: &JsonValue) -> Filter {
    let JsonValue::Object(ops) = value else {
        return Filter::All(Vec::new());
    };
    if ops.keys().any(|key| !OPERATORS.contains(&key.as_str())) {
        let parts = ops
            .iter()
            .map(|(sub, inner)| parse_other(&format!("{field}.{}", sub.as_str()), inner))
            .collect();
        return Filter::All(parts);
    }
    let comparisons: Vec<Filter> = ops
        .iter()
        .map(|(op, operand)| {
            Filter::Field(field.to_string(), op.as_str().to_string(), operand.clone())
        })
        .collect();
    match comparisons.len() {
        // `{isLatest: {}}` (featureGroups' default) constrains nothing.
        0 => Filter::All(Vec::new()),
        _ => Filter::Any(comparisons),
    }
}

/// One comparison of a field's value, as Postgres would make it: a null
/// value passes only `is: null` and `isNot` of a non-null operand.
fn field_matches(value: &Val, op: &str, operand: &JsonValue) -> bool {
    let cmp = |operand: &JsonValue| -> Option<Ordering> {
        let other = operand_like(value, operand)?;
        Some(value.compare(&other))
    };
    match op {
        "is" => match operand.as_bool() {
            None => value.is_null(),
            Some(b) => *value == Val::Bool(b),
        },
        "isNot" => match operand.as_bool() {
            None => !value.is_null(),
            Some(b) => *value != Val::Bool(b),
        },
        _ if value.is_null() => false,
        "eq" => cmp(operand) == Some(Ordering::Equal),
        "neq" => cmp(operand).is_some_and(|o| o != Ordering::Equal),
        "gt" => cmp(operand) == Some(Ordering::Greater),
        "gte" => cmp(operand).is_some_and(|o| o != Ordering::Less),
        "lt" => cmp(operand) == Some(Ordering::Less),
        "lte" => cmp(operand).is_some_and(|o| o != Ordering::Greater),
        "in" | "notIn" => {
            let items = operand.as_array().map(Vec::as_slice).unwrap_or_default();
            let found = items.iter().any(|v| cmp(v) == Some(Ordering::Equal));
            found == (op == "in")
        }
        "between" | "notBetween" => {
            let bound = |name: &str| operand.as_object().and_then(|o| o.get(name)).and_then(cmp);
            let inside = bound("lower").is_some_and(|o| o != Ordering::Less)
                && bound("upper").is_some_and(|o| o != Ordering::Greater);
            inside == (op == "between")
        }
        "like" | "iLike" | "notLike" | "notILike" => {
            let text = value.to_json();
            let text = text
                .as_str()
                .map_or_else(|| text.to_string(), str::to_string);
            let pattern = operand.as_str().unwrap_or_default();
            like(&text, pattern, op.contains("ILike") || op == "iLike") != op.starts_with("not")
        }
        _ => false,
    }
}

/// The operand as a value of the field's type, to compare with it.
fn operand_like(value: &Val, operand: &JsonValue) -> Option<Val> {
    Some(match value {
        Val::Time(_) => Val::Time(parse_iso(operand.as_str()?)?),
        Val::Uuid(_) => Val::Uuid(parse_uuid(operand.as_str()?)?),
        Val::Int(_) => Val::Int(operand.as_i64()?),
        Val::Float(_) => Val::Float(operand.as_f64()?),
        Val::Bool(_) => Val::Bool(operand.as_bool()?),
        _ => Val::Str(operand.as_str()?.to_string()),
    })
}

/// One field's comparisons, ORed (see the module comment).
fn parse_field(column: Column, value: &JsonValue) -> Result<Filter, String> {
    let JsonValue::Object(ops) = value else {
        return Ok(Filter::All(Vec::new()));
    };
    let comparisons = ops
        .iter()
        .map(|(op, operand)| {
            Ok(Filter::Compare(
                column,
                parse_comparison(column, op.as_str(), operand)?,
            ))
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(match comparisons.len() {
        0 => Filter::All(Vec::new()),
        _ => Filter::Any(comparisons),
    })
}

fn parse_comparison(column: Column, op: &str, operand: &JsonValue) -> Result<Comparison, String> {
    let one = || column.parse_key(operand);
    let many = || column.parse_keys(operand);
    Ok(match op {
        "eq" => Comparison::Eq(one()?),
        "neq" => Comparison::Neq(one()?),
        "gt" => Comparison::Gt(one()?),
        "gte" => Comparison::Gte(one()?),
        "lt" => Comparison::Lt(one()?),
        "lte" => Comparison::Lte(one()?),
        "in" => Comparison::In(many()?),
        "notIn" => Comparison::NotIn(many()?),
        "between" | "notBetween" => {
            let (lower, upper) = column.parse_range(operand)?;
            match op {
                "between" => Comparison::Between(lower, upper),
                _ => Comparison::NotBetween(lower, upper),
            }
        }
        "is" => Comparison::Is(operand.as_bool()),
        "isNot" => Comparison::IsNot(operand.as_bool()),
        "like" | "iLike" | "notLike" | "notILike" => Comparison::Like {
            pattern: operand.as_str().unwrap_or_default().to_string(),
            case_insensitive: op.contains("ILike") || op == "iLike",
            negated: op.starts_with("not"),
        },
        other => return Err(format!("unsupported comparison {other}")),
    })
}

impl Column {
    fn named(field: &str) -> Option<Column> {
        match field {
            "id" => Some(Column::Id),
            "createdAt" => Some(Column::CreatedAt),
            "updatedAt" => Some(Column::UpdatedAt),
            _ => None,
        }
    }

    fn key(self, row: &Row) -> Key {
        match self {
            Column::Id => row.id,
            Column::CreatedAt => time_key(row.created_at),
            Column::UpdatedAt => time_key(row.updated_at),
        }
    }

    fn parse_key(self, value: &JsonValue) -> Result<Key, String> {
        let text = value
            .as_str()
            .ok_or_else(|| format!("expected a string, got {value}"))?;
        match self {
            Column::Id => parse_uuid(text).ok_or_else(|| format!("invalid UUID: {text:?}")),
            _ => parse_iso(text)
                .map(time_key)
                .ok_or_else(|| format!("invalid DateTime: {text:?}")),
        }
    }

    fn parse_keys(self, value: &JsonValue) -> Result<Vec<Key>, String> {
        match value {
            JsonValue::Array(items) => items.iter().map(|v| self.parse_key(v)).collect(),
            JsonValue::Null => Ok(Vec::new()),
            single => Ok(vec![self.parse_key(single)?]),
        }
    }

    fn parse_range(self, value: &JsonValue) -> Result<(Key, Key), String> {
        let bound = |name: &str| {
            let v = value
                .as_object()
                .and_then(|o| o.get(name))
                .unwrap_or(&JsonValue::Null);
            self.parse_key(v)
        };
        Ok((bound("lower")?, bound("upper")?))
    }

    fn text(self, key: Key) -> String {
        match self {
            Column::Id => crate::rng::format_uuid(key),
            _ => crate::time::format_iso((key as u64 ^ (1 << 63)) as i64),
        }
    }
}

/// Order-preserving map of signed milliseconds onto unsigned keys.
fn time_key(ms: i64) -> Key {
    Key::from(ms as u64 ^ (1 << 63))
}

impl Comparison {
    fn matches(&self, key: Key, column: &Column) -> bool {
        match self {
            Comparison::Eq(v) => key == *v,
            Comparison::Neq(v) => key != *v,
            Comparison::Gt(v) => key > *v,
            Comparison::Gte(v) => key >= *v,
            Comparison::Lt(v) => key < *v,
            Comparison::Lte(v) => key <= *v,
            Comparison::In(vs) => vs.contains(&key),
            Comparison::NotIn(vs) => !vs.contains(&key),
            Comparison::Between(lo, hi) => (*lo..=*hi).contains(&key),
            Comparison::NotBetween(lo, hi) => !(*lo..=*hi).contains(&key),
            // These columns are never null, and IS TRUE/FALSE never holds for them.
            Comparison::Is(_) => false,
            Comparison::IsNot(_) => true,
            Comparison::Like {
                pattern,
                case_insensitive,
                negated,
            } => like(&column.text(key), pattern, *case_insensitive) != *negated,
        }
    }
}

/// SQL LIKE: `%` is any run of characters, `_` any one character.
fn like(text: &str, pattern: &str, case_insensitive: bool) -> bool {
    let fold = |s: &str| {
        if case_insensitive {
            s.to_lowercase()
        } else {
            s.to_string()
        }
    };
    let text: Vec<char> = fold(text).chars().collect();
    let pattern: Vec<char> = fold(pattern).chars().collect();
    like_from(&text, &pattern)
}

fn like_from(text: &[char], pattern: &[char]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some(('%', rest)) => (0..=text.len()).any(|skip| like_from(&text[skip..], rest)),
        Some((p, rest)) => match text.split_first() {
            Some((t, text_rest)) if *p == '_' || p == t => like_from(text_rest, rest),
            _ => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_iso;

    fn row(created: &str, updated: &str) -> Row {
        Row {
            id: 0x1234_5678_0000_4000_8000_0000_0000_0001,
            created_at: parse_iso(created).unwrap_or_default(),
            updated_at: parse_iso(updated).unwrap_or_default(),
            bits: 0,
            refs: [0, 0],
        }
    }

    fn filter(json: serde_json::Value) -> Filter {
        Filter::parse(&JsonValue::from(json)).expect("valid filter")
    }

    fn no_fields(_: &str) -> Val {
        Val::Null
    }

    #[test]
    fn a_relation_filter_compares_the_linked_row_s_fields() {
        let r = row("2023-01-01T00:00:00Z", "2023-06-01T00:00:00Z");
        let f = filter(serde_json::json!({"customer": {"id": {"in": ["a", "b"]}}}));
        let customer = |id: &'static str| {
            move |name: &str| match name {
                "customer.id" => Val::Str(id.into()),
                _ => Val::Null,
            }
        };
        assert!(f.matches(&r, &customer("b")));
        assert!(!f.matches(&r, &customer("c")));
    }

    #[test]
    fn comparisons_on_one_field_are_ored() {
        let r = row("2023-01-01T00:00:00Z", "2023-06-01T00:00:00Z");
        let f = filter(
            serde_json::json!({"updatedAt": {"gte": "2024-01-01T00:00:00Z", "lt": "2023-07-01T00:00:00Z"}}),
        );
        assert!(f.matches(&r, &no_fields), "lt holds, so the OR holds");
        let and = filter(serde_json::json!({"and": [
            {"updatedAt": {"gte": "2024-01-01T00:00:00Z"}},
            {"updatedAt": {"lt": "2023-07-01T00:00:00Z"}}
        ]}));
        assert!(!and.matches(&r, &no_fields));
    }

    #[test]
    fn fields_are_anded_and_or_lists_work() {
        let r = row("2023-01-01T00:00:00Z", "2023-06-01T00:00:00Z");
        let both = filter(serde_json::json!({
            "createdAt": {"eq": "2023-01-01T02:00:00+02:00"},
            "updatedAt": {"gt": "2023-06-01T00:00:00.000Z"}
        }));
        assert!(!both.matches(&r, &no_fields));
        let either = filter(serde_json::json!({"or": [
            {"createdAt": {"eq": "2023-01-01T00:00:00.000Z"}},
            {"updatedAt": {"gt": "2023-06-01T00:00:00.000Z"}}
        ]}));
        assert!(either.matches(&r, &no_fields));
        assert!(filter(serde_json::json!({})).matches(&r, &no_fields));
        assert!(filter(serde_json::json!({"or": []})).matches(&r, &no_fields));
    }

    #[test]
    fn ids_in_lists_null_checks_and_like() {
        let r = row("2023-01-01T00:00:00Z", "2023-01-01T00:00:00Z");
        let id = "12345678-0000-4000-8000-000000000001";
        assert!(
            filter(serde_json::json!({"id": {"in": [id.to_uppercase()]}})).matches(&r, &no_fields)
        );
        assert!(!filter(serde_json::json!({"id": {"neq": id}})).matches(&r, &no_fields));
        assert!(!filter(serde_json::json!({"createdAt": {"is": null}})).matches(&r, &no_fields));
        assert!(filter(serde_json::json!({"createdAt": {"isNot": null}})).matches(&r, &no_fields));
        assert!(filter(serde_json::json!({"id": {"like": "12345678-%"}})).matches(&r, &no_fields));
        assert!(!filter(serde_json::json!({"id": {"notILike": "%0001"}})).matches(&r, &no_fields));
    }

    #[test]
    fn other_fields_compare_their_values() {
        let r = row("2023-01-01T00:00:00Z", "2023-01-01T00:00:00Z");
        let fields = |name: &str| match name {
            "status" => Val::Enum("PUBLISHED"),
            "isLatest" => Val::Bool(true),
            "versionNumber" => Val::Int(2),
            _ => Val::Null,
        };
        let pass = |json: serde_json::Value| filter(json).matches(&r, &fields);
        assert!(pass(
            serde_json::json!({"status": {"eq": "PUBLISHED"}, "isLatest": {}})
        ));
        assert!(!pass(serde_json::json!({"status": {"in": ["ARCHIVED"]}})));
        assert!(pass(serde_json::json!({"isLatest": {"is": true}})));
        assert!(!pass(serde_json::json!({"isLatest": {"isNot": true}})));
        assert!(pass(
            serde_json::json!({"versionNumber": {"gt": 1, "eq": 7}})
        ));
        assert!(!pass(serde_json::json!({"description": {"eq": "x"}})));
        assert!(pass(serde_json::json!({"description": {"is": null}})));
    }

    #[test]
    fn bad_operands_are_errors() {
        let bad = Filter::parse(&JsonValue::from(
            serde_json::json!({"createdAt": {"gt": "soon"}}),
        ));
        assert!(bad.is_err());
        let bad = Filter::parse(&JsonValue::from(serde_json::json!({"id": {"eq": "42"}})));
        assert!(bad.is_err());
    }
}
