//! JSON Schemas (draft-07) of records, typed as the API's schema types each
//! field: nullable exactly where it allows null.

use serde_json::{json, Map, Value};

use crate::stream::{ChildDef, Field, Member, PerParentDef, StreamDef, Ty, DELETED_AT};

/// The JSON Schema of a stream's records. A stream with deletes also has
/// `_ab_cdc_deleted_at`, and requires only its key: a deletion record holds
/// the key, the cursor and the deletion time.
pub fn of_stream(stream: &StreamDef) -> Value {
    let mut schema = object_schema(stream.fields, false);
    let deletes = stream.incremental().is_some_and(|i| i.deletes.is_some());
    if let (true, Value::Object(map)) = (deletes, &mut schema) {
        if let Some(Value::Object(props)) = map.get_mut("properties") {
            props.insert(
                DELETED_AT.into(),
                json!({
                    "type": ["string", "null"],
                    "format": "date-time",
                    "airbyte_type": "timestamp_with_timezone",
                }),
            );
        }
        map.insert("required".into(), json!(stream.primary_key));
    }
    document(schema)
}

/// The JSON Schema of a child stream's records: the element's fields, the
/// parent's key and the tag columns.
pub fn of_child(child: &ChildDef) -> Value {
    let mut schema = ty_schema(child.element(), false);
    let key_type = child
        .sources
        .first()
        .and_then(|s| s.parent.field(s.parent.primary_key.first()?))
        .map_or(json!({ "type": "string" }), |f| {
            ty_schema(&f.ty, f.nullable)
        });
    let mut extra = vec![(child.parent_key, key_type)];
    if let Some(source) = child.sources.first() {
        for (tag, _) in source.tags {
            extra.push((tag, json!({ "type": "string" })));
        }
    }
    if let Value::Object(map) = &mut schema {
        for (name, column) in extra.into_iter().rev() {
            if let Some(Value::Object(props)) = map.get_mut("properties") {
                props.insert(name.into(), column);
            }
            if let Some(Value::Array(required)) = map.get_mut("required") {
                required.insert(0, json!(name));
            }
        }
    }
    document(schema)
}

/// The JSON Schema of a per-parent stream's records, with its key column
/// and its parent column (required strings).
pub fn of_per_parent(stream: &PerParentDef) -> Value {
    let mut schema = object_schema(stream.fields, false);
    let key = stream.key_column.as_ref().map(|k| k.name);
    for column in key.into_iter().chain(stream.parent_column).rev() {
        if let Some(Value::Object(props)) = schema.get_mut("properties") {
            props.insert(column.into(), json!({ "type": "string" }));
        }
        if let Some(Value::Array(required)) = schema.get_mut("required") {
            required.insert(0, json!(column));
        }
    }
    document(schema)
}

fn document(mut schema: Value) -> Value {
    if let Value::Object(map) = &mut schema {
        map.insert(
            "$schema".into(),
            json!("http://json-schema.org/draft-07/schema#"),
        );
    }
    schema
}

fn object_schema(fields: &[Field], nullable: bool) -> Value {
    let properties: Map<String, Value> = fields
        .iter()
        .map(|f| (f.name.to_owned(), ty_schema(&f.ty, f.nullable)))
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

/// A union's members merged into one object: `__typename` says which member
/// a row is, and every other field may be absent or null.
fn union_schema(members: &[Member], nullable: bool) -> Value {
    let mut properties = Map::new();
    properties.insert("__typename".into(), json!({ "type": "string" }));
    for field in members.iter().flat_map(|m| m.fields) {
        properties
            .entry(field.name)
            .or_insert_with(|| ty_schema(&field.ty, true));
    }
    json!({
        "type": types(&["object"], nullable),
        "additionalProperties": true,
        "required": ["__typename"],
        "properties": properties,
    })
}

fn ty_schema(ty: &Ty, n: bool) -> Value {
    match *ty {
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
        Ty::List(item) => json!({ "type": types(&["array"], n), "items": ty_schema(item, false) }),
        Ty::Object(inner) => object_schema(inner, n),
        Ty::Union(members) => union_schema(members, n),
        Ty::From(_) => json!({ "type": types(&["string"], n) }),
    }
}

fn types(base: &[&str], nullable: bool) -> Value {
    match nullable {
        true => json!([base[0], "null"]),
        false => json!(base[0]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{CUSTOMERS, PLANS, PRICES};

    #[test]
    fn schema_types_follow_nullability() {
        let s = of_stream(&CUSTOMERS);
        let p = &s["properties"];
        assert_eq!(p["id"]["type"], json!("string"));
        assert_eq!(p["name"]["type"], json!(["string", "null"]));
        assert_eq!(p["totalActiveSubscription"]["type"], json!("number"));
        assert_eq!(p["updatedAt"]["format"], json!("date-time"));
        assert!(s["required"].as_array().unwrap().contains(&json!("id")));
    }

    #[test]
    fn a_stream_with_deletes_requires_only_its_key() {
        let s = of_stream(&CUSTOMERS);
        assert_eq!(s["required"], json!(["id"]));
        assert_eq!(
            s["properties"]["_ab_cdc_deleted_at"]["type"],
            json!(["string", "null"])
        );
        let plans = of_stream(&PLANS);
        assert!(plans["properties"].get("_ab_cdc_deleted_at").is_none());
    }

    #[test]
    fn lists_and_unions_are_typed() {
        let p = &of_stream(&PLANS)["properties"];
        assert_eq!(p["prices"]["type"], json!(["array", "null"]));
        let price = &p["prices"]["items"];
        assert_eq!(price["type"], json!("object"));
        assert_eq!(
            price["properties"]["amount"]["properties"]["amount"]["type"],
            json!("number")
        );
        let grant = &p["grants"]["items"];
        assert_eq!(grant["required"], json!(["__typename"]));
        assert_eq!(
            grant["properties"]["units"]["type"],
            json!(["number", "null"])
        );
        assert_eq!(
            grant["properties"]["credits"]["type"],
            json!(["number", "null"])
        );
    }

    #[test]
    fn a_key_column_is_a_required_string() {
        let s = of_per_parent(&crate::fixtures::LEDGER);
        assert_eq!(s["properties"]["entry_key"]["type"], json!("string"));
        assert_eq!(s["required"][0], json!("entry_key"));
        assert_eq!(
            s["properties"]["eventId"]["type"],
            json!(["string", "null"])
        );
    }

    #[test]
    fn child_schema_leads_with_the_parent_key_and_tags() {
        let s = of_child(&PRICES);
        assert_eq!(s["properties"]["plan_id"]["type"], json!("string"));
        assert_eq!(s["properties"]["price_group"]["type"], json!("string"));
        assert_eq!(s["properties"]["amount"]["type"], json!(["object", "null"]));
        let required = s["required"].as_array().unwrap();
        assert_eq!(
            required[..3],
            [json!("plan_id"), json!("price_group"), json!("id")]
        );
    }
}
