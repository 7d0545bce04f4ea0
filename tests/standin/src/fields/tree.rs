//! Nested values that are not rows (prices, money, entitlements, invoices):
//! built on demand from a row's bits, then resolved field by field like
//! rows, so a response carries only the selected fields.

use serde_json::Value;

use super::{scalar, Val};
use crate::data::{Dataset, Kind};

/// One nested value.
#[derive(Debug, Clone, PartialEq)]
pub enum Tree {
    /// A scalar, an enum or null (also a null object or list).
    Leaf(Val),
    Obj(Obj),
    List(Vec<Tree>),
    /// A link to a stored record, resolved like a list query's node.
    Row(Kind, u32),
}

/// An object of a schema type, with its fields in schema order.
#[derive(Debug, Clone, PartialEq)]
pub struct Obj {
    pub type_name: &'static str,
    pub fields: Vec<(&'static str, Tree)>,
}

impl Obj {
    pub fn new(type_name: &'static str) -> Obj {
        Obj {
            type_name,
            fields: Vec::new(),
        }
    }

    pub fn with(mut self, name: &'static str, value: impl Into<Tree>) -> Obj {
        self.fields.push((name, value.into()));
        self
    }

    pub fn get(&self, name: &str) -> Option<&Tree> {
        self.fields.iter().find(|(n, _)| *n == name).map(|(_, t)| t)
    }

    /// A leaf field's value; `Val::Null` when absent or not a leaf.
    pub fn leaf(&self, name: &str) -> Val {
        match self.get(name) {
            Some(Tree::Leaf(v)) => v.clone(),
            _ => Val::Null,
        }
    }
}

impl From<Val> for Tree {
    fn from(v: Val) -> Tree {
        Tree::Leaf(v)
    }
}

impl From<Obj> for Tree {
    fn from(o: Obj) -> Tree {
        Tree::Obj(o)
    }
}

impl From<Option<Obj>> for Tree {
    fn from(o: Option<Obj>) -> Tree {
        o.map_or(Tree::Leaf(Val::Null), Tree::Obj)
    }
}

impl From<Vec<Obj>> for Tree {
    fn from(items: Vec<Obj>) -> Tree {
        Tree::List(items.into_iter().map(Tree::Obj).collect())
    }
}

impl Tree {
    pub fn null() -> Tree {
        Tree::Leaf(Val::Null)
    }

    /// The value with every field, as the API's JSON text reads back:
    /// rows become the links the connector selects (`{id, refId}`, or
    /// `{id, customerId}` for customers).
    pub fn to_json(&self, ds: &Dataset) -> Value {
        let text = crate::json_text::to_js_json(&self.to_api_json(ds));
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    fn to_api_json(&self, ds: &Dataset) -> apollo_compiler::response::JsonValue {
        use apollo_compiler::response::{JsonMap, JsonValue};
        match self {
            Tree::Leaf(v) => v.to_json(),
            Tree::List(items) => {
                JsonValue::Array(items.iter().map(|t| t.to_api_json(ds)).collect())
            }
            Tree::Obj(o) => {
                let mut map = JsonMap::new();
                for (name, value) in &o.fields {
                    map.insert(*name, value.to_api_json(ds));
                }
                JsonValue::Object(map)
            }
            Tree::Row(kind, index) => {
                let key = match kind {
                    Kind::Customer => "customerId",
                    _ => "refId",
                };
                let mut map = JsonMap::new();
                for name in ["id", key] {
                    let value = scalar(ds, *kind, *index, name).unwrap_or(Val::Null);
                    map.insert(name, value.to_json());
                }
                JsonValue::Object(map)
            }
        }
    }
}
