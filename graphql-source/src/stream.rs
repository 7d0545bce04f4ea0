//! Streams as data: each stream is a small declarative definition (its GraphQL
//! connection, fields, key, order and cursor); the read loop does the rest.

use serde_json::{json, Map, Value};

/// One Airbyte stream read from one GraphQL connection.
#[derive(Debug)]
pub struct StreamDef {
    /// The Airbyte stream name.
    pub name: &'static str,
    /// The `Query` field that returns the connection, e.g. `customers`.
    pub root_field: &'static str,
    /// GraphQL input types of the field's `filter` and `sorting` arguments.
    pub filter_type: &'static str,
    pub sort_type: &'static str,
    /// Full refresh pages in this order, ascending: the first key is the creation
    /// time (new rows land at the end, so offset cursors stay valid), the rest
    /// break its ties.
    pub full_refresh_order: &'static [&'static str],
    /// Set when the stream can be read incrementally.
    pub incremental: Option<Incremental>,
    pub primary_key: &'static str,
    pub fields: &'static [Field],
}

/// Whether a page asks for the connection's `totalCount`: nestjs-query counts
/// with a query of its own, so only a stream's first round asks (for the
/// estimate and the partition plan).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TotalCount {
    Ask,
    Skip,
}

/// Incremental reads filter on `cursor >= state` and page by (cursor, tie_break) keyset.
#[derive(Debug)]
pub struct Incremental {
    /// A non-null timestamp that changes whenever the row does (`updatedAt`).
    pub cursor: &'static str,
    /// A unique, sortable, filterable field that orders rows with equal cursors.
    pub tie_break: &'static str,
}

/// A selected field, typed as the API's schema types it.
#[derive(Debug)]
pub struct Field {
    pub name: &'static str,
    pub ty: Ty,
    /// Whether the schema allows null here.
    pub nullable: bool,
}

#[derive(Debug)]
pub enum Ty {
    String,
    /// A GraphQL enum: a string on the wire.
    Enum,
    DateTime,
    Int,
    Float,
    Boolean,
    /// A `JSON` scalar holding key-value data: typed as an object, so
    /// warehouses give it a JSON column, not text.
    Json,
    /// A list of strings (`[String!]`).
    StringList,
    /// A nested object and the fields selected from it.
    Object(&'static [Field]),
}

/// A field that is never null.
pub const fn req(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        ty,
        nullable: false,
    }
}

/// A field that may be null.
pub const fn opt(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        ty,
        nullable: true,
    }
}

impl StreamDef {
    /// The one GraphQL document this stream sends: paging, order and filter come as variables.
    pub fn query(&self, total: TotalCount) -> String {
        let mut selection = String::new();
        select(self.fields, &mut selection);
        format!(
            "query {name}Page($paging: CursorPaging!, $sorting: [{sort}!], $filter: {filter}) \
             {{ {root}(paging: $paging, sorting: $sorting, filter: $filter) \
             {{ edges {{ node {{ {selection} }} }} pageInfo {{ hasNextPage endCursor }}{total} }} }}",
            name = upper_camel(self.name),
            sort = self.sort_type,
            filter = self.filter_type,
            root = self.root_field,
            total = match total {
                TotalCount::Ask => " totalCount",
                TotalCount::Skip => "",
            },
        )
    }

    /// The record's JSON Schema (draft-07).
    pub fn json_schema(&self) -> Value {
        let mut schema = object_schema(self.fields, false);
        if let Value::Object(map) = &mut schema {
            map.insert(
                "$schema".into(),
                json!("http://json-schema.org/draft-07/schema#"),
            );
        }
        schema
    }

    pub fn supports_incremental(&self) -> bool {
        self.incremental.is_some()
    }
}

fn select(fields: &[Field], out: &mut String) {
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(field.name);
        if let Ty::Object(inner) = field.ty {
            out.push_str(" { ");
            select(inner, out);
            out.push_str(" }");
        }
    }
}

fn object_schema(fields: &[Field], nullable: bool) -> Value {
    let properties: Map<String, Value> = fields
        .iter()
        .map(|f| (f.name.to_owned(), field_schema(f)))
        .collect();
    let required: Vec<&str> = fields
        .iter()
        .filter(|f| !f.nullable)
        .map(|f| f.name)
        .collect();
    json!({
        "type": types(&["object"], nullable),
        "additionalProperties": true,
        "required": required,
        "properties": properties,
    })
}

fn field_schema(field: &Field) -> Value {
    let n = field.nullable;
    match field.ty {
        Ty::String | Ty::Enum => json!({ "type": types(&["string"], n) }),
        Ty::DateTime => json!({
            "type": types(&["string"], n),
            "format": "date-time",
            "airbyte_type": "timestamp_with_timezone",
        }),
        Ty::Int => json!({ "type": types(&["integer"], n) }),
        Ty::Float => json!({ "type": types(&["number"], n) }),
        Ty::Boolean => json!({ "type": types(&["boolean"], n) }),
        Ty::Json => json!({ "type": types(&["object"], n) }),
        Ty::StringList => json!({ "type": types(&["array"], n), "items": { "type": "string" } }),
        Ty::Object(inner) => object_schema(inner, n),
    }
}

fn types(base: &[&str], nullable: bool) -> Value {
    let mut list: Vec<&str> = base.to_vec();
    if nullable {
        list.push("null");
    }
    match list.as_slice() {
        [one] => json!(one),
        _ => json!(list),
    }
}

fn upper_camel(snake: &str) -> String {
    snake
        .split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or(String::new(), |c| {
                c.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{CUSTOMERS, SUBSCRIPTIONS};

    #[test]
    fn query_selects_every_field_and_the_page_info() {
        let q = CUSTOMERS.query(TotalCount::Ask);
        assert!(q.starts_with("query CustomersPage($paging: CursorPaging!, $sorting: [CustomerSort!], $filter: CustomerFilter)"));
        assert!(q.contains("customers(paging: $paging, sorting: $sorting, filter: $filter)"));
        assert!(q.contains("node { id customerId "));
        assert!(q.contains("pageInfo { hasNextPage endCursor } totalCount } }"));
        let next = CUSTOMERS.query(TotalCount::Skip);
        assert!(
            next.ends_with("pageInfo { hasNextPage endCursor } } }"),
            "{next}"
        );
        assert!(SUBSCRIPTIONS
            .query(TotalCount::Skip)
            .contains(" plan { id refId } "));
    }

    #[test]
    fn schema_types_follow_nullability() {
        let s = CUSTOMERS.json_schema();
        let p = &s["properties"];
        assert_eq!(p["id"]["type"], json!("string"));
        assert_eq!(p["name"]["type"], json!(["string", "null"]));
        assert_eq!(p["totalActiveSubscription"]["type"], json!("number"));
        assert_eq!(p["updatedAt"]["format"], json!("date-time"));
        assert!(s["required"].as_array().unwrap().contains(&json!("id")));
    }
}
