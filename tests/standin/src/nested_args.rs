//! `filter` and `sorting` of nested list fields (`SubscriptionQuery.prices`,
//! `SubscriptionQuery.addons`, `Addon.prices`, `Plan.compatibleAddons`),
//! with their schema defaults already applied by apollo-compiler: without an
//! explicit filter, `SubscriptionQuery.prices` hides MINIMUM_SPEND prices,
//! as Stigg does. Same semantics as the list queries (nestjs-query): fields
//! ANDed, several comparisons on one field ORed.

use apollo_compiler::response::{JsonMap, JsonValue};

use crate::data::{Dataset, Kind};
use crate::fields::{scalar, Obj, Tree, Val};
use crate::filter::Filter;
use crate::sorting::{compare_values, parse_sorting, sort_rows, SortKey};

/// Applies the arguments of `kind.field` to its unfiltered value.
pub fn apply(
    ds: &Dataset,
    kind: Kind,
    field: &str,
    tree: Tree,
    args: &JsonMap,
) -> Result<Tree, String> {
    let arg = |name: &str| args.get(name).cloned().unwrap_or(JsonValue::Null);
    let Tree::List(items) = tree else {
        return Ok(tree);
    };
    if args.is_empty() {
        return Ok(Tree::List(items));
    }
    let keys = parse_sorting(&arg("sorting"))?;
    match (kind, field) {
        (Kind::Plan, "compatibleAddons") | (Kind::PackageGroup, "addons") => {
            let filter = Filter::parse(&arg("filter"))?;
            let mut rows: Vec<u32> = items
                .iter()
                .filter_map(|t| match t {
                    Tree::Row(Kind::Addon, i) => Some(*i),
                    _ => None,
                })
                .filter(|&i| {
                    let field = |name: &str| scalar(ds, Kind::Addon, i, name).unwrap_or(Val::Null);
                    ds.row(Kind::Addon, i)
                        .is_some_and(|r| filter.matches(r, &field))
                })
                .collect();
            sort_rows(ds, Kind::Addon, &mut rows, &keys);
            Ok(Tree::List(
                rows.into_iter()
                    .map(|i| Tree::Row(Kind::Addon, i))
                    .collect(),
            ))
        }
        _ => {
            let filter = ObjFilter::parse(&arg("filter"))?;
            let mut objs: Vec<Obj> = items
                .into_iter()
                .filter_map(|t| match t {
                    Tree::Obj(o) => Some(o),
                    _ => None,
                })
                .filter(|o| filter.matches(o))
                .collect();
            sort_objs(&mut objs, &keys);
            Ok(Tree::from(objs))
        }
    }
}

/// A stable sort on leaf fields, nulls placed as in the list queries.
fn sort_objs(objs: &mut [Obj], keys: &[SortKey]) {
    objs.sort_by(|a, b| {
        keys.iter()
            .map(|k| compare_values(&a.leaf(&k.field), &b.leaf(&k.field), k))
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    });
}

/// A filter on the leaf fields of nested objects (enum comparisons).
#[derive(Debug, Clone, PartialEq)]
enum ObjFilter {
    All(Vec<ObjFilter>),
    Any(Vec<ObjFilter>),
    Compare {
        field: String,
        op: Op,
        operand: JsonValue,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Eq,
    Neq,
    In,
    NotIn,
    Is,
    IsNot,
}

impl ObjFilter {
    fn parse(value: &JsonValue) -> Result<ObjFilter, String> {
        let map = match value {
            JsonValue::Null => return Ok(ObjFilter::All(Vec::new())),
            JsonValue::Object(map) => map,
            other => return Err(format!("filter must be an object, got {other}")),
        };
        let mut parts = Vec::new();
        for (key, value) in map {
            match key.as_str() {
                "and" => parts.push(ObjFilter::All(parse_list(value)?)),
                "or" => parts.push(ObjFilter::Any(parse_list(value)?)),
                field => parts.push(parse_field(field, value)?),
            }
        }
        Ok(ObjFilter::All(parts))
    }

    fn matches(&self, obj: &Obj) -> bool {
        match self {
            ObjFilter::All(parts) => parts.iter().all(|f| f.matches(obj)),
            ObjFilter::Any(parts) => parts.is_empty() || parts.iter().any(|f| f.matches(obj)),
            ObjFilter::Compare { field, op, operand } => {
                let value = obj.leaf(field).to_json();
                let present = !value.is_null();
                let is = match operand {
                    JsonValue::Null => !present,
                    other => value == *other,
                };
                let listed = || operand.as_array().is_some_and(|a| a.contains(&value));
                match op {
                    Op::Eq => present && value == *operand,
                    // SQL: a comparison with NULL is never true.
                    Op::Neq => present && value != *operand,
                    Op::In => present && listed(),
                    Op::NotIn => present && !listed(),
                    Op::Is => is,
                    Op::IsNot => !is,
                }
            }
        }
    }
}

fn parse_list(value: &JsonValue) -> Result<Vec<ObjFilter>, String> {
    match value {
        JsonValue::Null => Ok(Vec::new()),
        JsonValue::Array(items) => items.iter().map(ObjFilter::parse).collect(),
        other => Ok(vec![ObjFilter::parse(other)?]),
    }
}

fn parse_field(field: &str, value: &JsonValue) -> Result<ObjFilter, String> {
    let JsonValue::Object(ops) = value else {
        return Ok(ObjFilter::All(Vec::new()));
    };
    let mut comparisons = Vec::new();
    for (op, operand) in ops {
        let op = match op.as_str() {
            "eq" => Op::Eq,
            "neq" => Op::Neq,
            "in" => Op::In,
            "notIn" => Op::NotIn,
            "is" => Op::Is,
            "isNot" => Op::IsNot,
            other => return Err(format!("unsupported comparison {other}")),
        };
        comparisons.push(ObjFilter::Compare {
            field: field.to_string(),
            op,
            operand: operand.clone(),
        });
    }
    Ok(match comparisons.len() {
        0 => ObjFilter::All(Vec::new()),
        _ => ObjFilter::Any(comparisons),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::Val;

    fn price(model: &'static str) -> Obj {
        Obj::new("SubscriptionPrice").with("billingModel", Val::Enum(model))
    }

    fn filter(json: serde_json::Value) -> ObjFilter {
        let value: JsonValue = serde_json::from_value(json).expect("json");
        ObjFilter::parse(&value).expect("filter")
    }

    #[test]
    fn enum_comparisons_and_null_semantics() {
        let min = price("MINIMUM_SPEND");
        let flat = price("FLAT_FEE");
        let none = Obj::new("SubscriptionPrice").with("billingModel", Val::Null);
        let neq = filter(serde_json::json!({"billingModel": {"neq": "MINIMUM_SPEND"}}));
        assert!(!neq.matches(&min) && neq.matches(&flat) && !neq.matches(&none));
        let any = filter(serde_json::json!({"billingModel": {"eq": "FLAT_FEE", "is": null}}));
        assert!(any.matches(&flat) && any.matches(&none) && !any.matches(&min));
        let listed =
            filter(serde_json::json!({"or": [{"billingModel": {"in": ["MINIMUM_SPEND"]}}]}));
        assert!(listed.matches(&min) && !listed.matches(&flat));
        assert!(filter(serde_json::json!({})).matches(&none));
    }
}
