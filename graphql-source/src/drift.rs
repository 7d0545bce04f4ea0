//! Schema drift: what the server's schema, asked by introspection, no longer
//! has of the fields the declared queries select. A field that is gone (or
//! typed otherwise) is left out of the queries and its column is null; one
//! that identifies, orders or resumes rows fails the streams that need it.

use std::collections::HashMap;

use serde::Deserialize;

use crate::api::Api;
use crate::error::Result;
use crate::page::root_value;
use crate::stream::{Answer, Field, PerParentDef, Read, StreamDef, Ty};

/// One request for every type's fields (about 0.5 MB for a schema of 1,200
/// types).
pub const QUERY: &str = "query SchemaDrift { __schema { queryType { name } types { name kind \
     fields(includeDeprecated: true) { name type { kind name ofType { kind name ofType { kind \
     name ofType { kind name } } } } } possibleTypes { name } } } }";

/// The root field [`QUERY`] reads (and paces as).
pub const ROOT: &str = "__schema";

/// The server's schema as introspection gives it.
#[derive(Debug, Deserialize)]
pub struct Served {
    #[serde(rename = "queryType")]
    query_type: Named,
    #[serde(deserialize_with = "by_name")]
    types: HashMap<String, TypeDef>,
}

#[derive(Debug, Deserialize)]
struct Named {
    name: String,
}

#[derive(Debug, Deserialize)]
struct TypeDef {
    name: String,
    kind: String,
    #[serde(default)]
    fields: Option<Vec<FieldDef>>,
    #[serde(default, rename = "possibleTypes")]
    possible_types: Option<Vec<Named>>,
}

#[derive(Debug, Deserialize)]
struct FieldDef {
    name: String,
    #[serde(rename = "type")]
    ty: TypeRef,
}

#[derive(Debug, Deserialize)]
struct TypeRef {
    kind: String,
    name: Option<String>,
    #[serde(rename = "ofType")]
    of_type: Option<Box<TypeRef>>,
}

impl Served {
    /// The schema in a 2xx answer to [`QUERY`].
    pub fn parse(body: &str) -> Result<Served> {
        root_value(body, ROOT)
    }
}

fn by_name<'de, D: serde::Deserializer<'de>>(d: D) -> Result<HashMap<String, TypeDef>, D::Error> {
    let types: Vec<TypeDef> = Vec::deserialize(d)?;
    Ok(types.into_iter().map(|t| (t.name.clone(), t)).collect())
}

/// A declared field the server's schema no longer serves as declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The query's root field, and the stream declaring it.
    pub root: &'static str,
    pub stream: &'static str,
    /// Dotted from the node (`plan.refId`; a union member's fields without
    /// the member); empty when the root field itself is gone.
    pub path: String,
    pub change: Change,
    /// Whether rows cannot be identified, ordered or resumed without it.
    pub needed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Missing,
    /// Typed otherwise: what the schema says now (`[Price!]!`).
    Retyped(String),
}

impl Finding {
    /// `customers.email no longer exists`, `plans.prices is now [Price!]`.
    pub fn describe(&self) -> String {
        let at = match self.path.as_str() {
            "" => format!("the query field `{}`", self.root),
            path => format!("`{}.{path}`", self.stream),
        };
        match &self.change {
            Change::Missing => format!("{at} no longer exists"),
            Change::Retyped(now) => format!("{at} is now of type {now}"),
        }
    }
}

/// The fields each query leaves out, by root field.
#[derive(Debug, Default)]
pub struct Absent(HashMap<&'static str, Vec<String>>);

impl Absent {
    /// The fields that are not needed: those a read can do without.
    pub fn of(findings: &[Finding]) -> Absent {
        let mut absent = Absent::default();
        for finding in findings.iter().filter(|f| !f.needed) {
            absent
                .0
                .entry(finding.root)
                .or_default()
                .push(finding.path.clone());
        }
        absent
    }

    /// The paths `root`'s query leaves out.
    pub fn paths(&self, root: &str) -> &[String] {
        self.0.get(root).map_or(&[], Vec::as_slice)
    }
}

/// Every declared query's drift from `served`, in declaration order.
pub fn findings(api: &Api, served: &Served) -> Vec<Finding> {
    let roots = api.streams.iter().map(|s| Declared {
        root: s.root_field,
        stream: s.name,
        list: matches!(s.read, Read::List { .. }),
        fields: s.fields,
        keys: stream_keys(api, s),
    });
    let per_parent = api.per_parent.iter().map(|s| Declared {
        root: s.root_field,
        stream: s.name,
        list: s.answer == Answer::List,
        fields: s.fields,
        keys: per_parent_keys(s),
    });
    roots
        .chain(per_parent)
        .flat_map(|declared| declared.drift(served))
        .collect()
}

/// A query as declared: its root field, what it selects, what it needs.
struct Declared {
    root: &'static str,
    stream: &'static str,
    /// A plain list rather than a connection.
    list: bool,
    fields: &'static [Field],
    keys: Vec<String>,
}

impl Declared {
    fn drift(&self, served: &Served) -> Vec<Finding> {
        let mut found = Vec::new();
        match served.node(self.root, self.list) {
            Ok(node) => self
                .fields
                .iter()
                .for_each(|f| served.field(node, f, "", &mut found)),
            Err(change) => found.push((String::new(), change)),
        }
        found
            .into_iter()
            .map(|(path, change)| Finding {
                root: self.root,
                stream: self.stream,
                needed: path.is_empty() || self.keys.iter().any(|k| within(k, &path)),
                path,
                change,
            })
            .collect()
    }
}

/// Whether `key` is `path` or lies inside it.
fn within(key: &str, path: &str) -> bool {
    key.strip_prefix(path)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
}

impl Served {
    fn get(&self, name: &str) -> Option<&TypeDef> {
        self.types.get(name)
    }

    /// The node type of a root field: a connection's `edges.node`, or a
    /// list's item.
    fn node(&self, root: &str, list: bool) -> Result<&TypeDef, Change> {
        let query = self.get(&self.query_type.name).ok_or(Change::Missing)?;
        let field = query.field(root).ok_or(Change::Missing)?;
        let retyped = || Change::Retyped(field.render());
        let (is_list, name) = field.shape();
        if list {
            return match is_list {
                true => name.and_then(|n| self.get(n)).ok_or_else(retyped),
                false => Err(retyped()),
            };
        }
        let connection = name.filter(|_| !is_list).and_then(|n| self.get(n));
        let edge = connection
            .and_then(|c| c.field("edges"))
            .and_then(|e| e.shape().1)
            .and_then(|n| self.get(n));
        edge.and_then(|e| e.field("node"))
            .and_then(|n| n.shape().1)
            .and_then(|n| self.get(n))
            .ok_or_else(retyped)
    }

    /// Adds to `out` what of `field` (and what it selects) `def` lacks.
    fn field(&self, def: &TypeDef, field: &Field, prefix: &str, out: &mut Vec<(String, Change)>) {
        if matches!(field.ty, Ty::From(_)) {
            return;
        }
        let path = join(prefix, field.name);
        match def.field(field.name) {
            None => out.push((path, Change::Missing)),
            Some(served) => self.ty(&field.ty, served, &path, out),
        }
    }

    fn ty(&self, ty: &Ty, served: &TypeRef, path: &str, out: &mut Vec<(String, Change)>) {
        let (is_list, name) = served.shape();
        let (item, wants_list) = match ty {
            Ty::List(item) => (*item, true),
            other => (other, false),
        };
        let def = name.and_then(|n| self.get(n));
        let Some(def) = def.filter(|d| is_list == wants_list && fits(item, d)) else {
            out.push((path.to_owned(), Change::Retyped(served.render())));
            return;
        };
        match item {
            Ty::Object(fields) => fields.iter().for_each(|f| self.field(def, f, path, out)),
            Ty::Union(members) => {
                let possible = def.possible_types.as_deref().unwrap_or_default();
                for member in members.iter() {
                    let served = possible
                        .iter()
                        .any(|p| p.name == member.type_name)
                        .then(|| self.get(member.type_name))
                        .flatten();
                    match served {
                        None => out.push((join(path, member.type_name), Change::Missing)),
                        Some(m) => member
                            .fields
                            .iter()
                            .for_each(|f| self.field(m, f, path, out)),
                    }
                }
            }
            _ => {}
        }
    }
}

/// Whether a served type can stand where `ty` is declared (lists unwrapped).
fn fits(ty: &Ty, def: &TypeDef) -> bool {
    let scalars: &[&str] = match ty {
        Ty::Object(_) => return matches!(def.kind.as_str(), "OBJECT" | "INTERFACE"),
        Ty::Union(_) => return matches!(def.kind.as_str(), "UNION" | "INTERFACE"),
        Ty::Enum => return def.kind == "ENUM",
        Ty::String => &["String", "ID", "UUID"],
        Ty::DateTime => &["DateTime"],
        Ty::Int => &["Int"],
        Ty::Float => &["Float"],
        Ty::Boolean => &["Boolean"],
        Ty::Json => &["JSON", "JSONObject"],
        Ty::List(_) | Ty::From(_) => return false,
    };
    def.kind == "SCALAR" && scalars.contains(&def.name.as_str())
}

impl TypeDef {
    fn field(&self, name: &str) -> Option<&TypeRef> {
        let fields = self.fields.as_deref().unwrap_or_default();
        fields.iter().find(|f| f.name == name).map(|f| &f.ty)
    }
}

impl TypeRef {
    fn non_null(&self) -> &TypeRef {
        match (self.kind.as_str(), &self.of_type) {
            ("NON_NULL", Some(inner)) => inner,
            _ => self,
        }
    }

    /// Whether it is a list, and the named type (of its items).
    fn shape(&self) -> (bool, Option<&str>) {
        let ty = self.non_null();
        match (ty.kind.as_str(), &ty.of_type) {
            ("LIST", Some(item)) => (true, item.non_null().name.as_deref()),
            _ => (false, ty.name.as_deref()),
        }
    }

    /// As GraphQL writes it: `[Price!]!`.
    fn render(&self) -> String {
        let inner = || self.of_type.as_deref().map_or("?".into(), TypeRef::render);
        match self.kind.as_str() {
            "NON_NULL" => format!("{}!", inner()),
            "LIST" => format!("[{}]", inner()),
            _ => self.name.clone().unwrap_or_else(|| "?".into()),
        }
    }
}

fn join(prefix: &str, name: &str) -> String {
    match prefix {
        "" => name.to_owned(),
        _ => format!("{prefix}.{name}"),
    }
}

/// The paths a root stream's reads cannot do without: its key, order and
/// cursor; what its child streams and per-parent streams key on; what the
/// logs that name its rows name them by.
fn stream_keys(api: &Api, stream: &StreamDef) -> Vec<String> {
    let mut keys: Vec<String> = stream.key_fields().iter().map(|k| k.to_string()).collect();
    keys.extend(stream.fields.iter().filter_map(|f| match f.ty {
        Ty::From(path) if stream.primary_key.contains(&f.name) => Some(path.to_owned()),
        _ => None,
    }));
    for child in api.children {
        let own = child.primary_key.iter().filter(|k| **k != child.parent_key);
        for source in child
            .sources
            .iter()
            .filter(|s| s.parent.name == stream.name)
        {
            keys.extend(own.clone().map(|k| join(source.list, k)));
        }
    }
    let per_parent = api
        .per_parent
        .iter()
        .filter(|p| p.parent.name == stream.name);
    keys.extend(per_parent.flat_map(|p| p.naming.iter().map(|n| n.field.to_owned())));
    let logs = api
        .streams
        .iter()
        .filter_map(|s| s.incremental()?.deletes.as_ref())
        .chain(api.activity.iter().map(|a| &a.entries))
        .chain(
            api.per_parent
                .iter()
                .filter_map(|p| Some(&p.incremental.as_ref()?.entries)),
        );
    keys.extend(
        logs.filter(|entries| entries.log.name == stream.name)
            .map(|entries| entries.field.to_owned()),
    );
    for activity in api.activity {
        if activity.entries.log.name == stream.name {
            keys.push(activity.by_field.to_owned());
        }
        if activity.stream.name == stream.name {
            keys.push(activity.row_key.to_owned());
        }
    }
    keys
}

fn per_parent_keys(stream: &PerParentDef) -> Vec<String> {
    let key_column = stream.key_column.iter().flat_map(|k| k.from.iter());
    let cursor = stream.incremental.iter().map(|i| &i.cursor);
    stream
        .primary_key
        .iter()
        .chain(key_column)
        .chain(cursor)
        .map(|k| k.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::API;
    use serde_json::{json, Value};

    /// `name: Type` as introspection types it: `[T!]` for a list.
    fn field(name: &str, ty: &str) -> Value {
        let named = |t: &str| {
            let kind = match t {
                "String" | "Float" | "DateTime" => "SCALAR",
                "Currency" => "ENUM",
                "Grant" => "UNION",
                _ => "OBJECT",
            };
            json!({"kind": kind, "name": t})
        };
        let ty = match ty.strip_prefix('[').and_then(|t| t.strip_suffix("!]")) {
            Some(item) => {
                json!({"kind": "LIST", "ofType": {"kind": "NON_NULL", "ofType": named(item)}})
            }
            None => named(ty),
        };
        json!({"name": name, "type": ty})
    }

    fn object(name: &str, fields: &[(&str, &str)]) -> Value {
        let fields: Vec<Value> = fields.iter().map(|(n, t)| field(n, t)).collect();
        json!({"name": name, "kind": "OBJECT", "fields": fields})
    }

    /// The fixtures' `plans` as a server serves it, `changed` by the test.
    fn plans(plan: &[(&str, &str)], grants: &[&str]) -> Served {
        let possible: Vec<Value> = grants.iter().map(|g| json!({"name": g})).collect();
        let scalar = |n: &str| json!({"name": n, "kind": "SCALAR"});
        let body = json!({"data": {"__schema": {"queryType": {"name": "Query"}, "types": [
            object("Query", &[("plans", "PlanConnection")]),
            object("PlanConnection", &[("edges", "[PlanEdge!]")]),
            object("PlanEdge", &[("node", "Plan")]),
            object("Plan", plan),
            object("Price", &[("id", "String"), ("amount", "Money")]),
            object("Money", &[("amount", "Float"), ("currency", "Currency")]),
            object("UnitGrant", &[("id", "String"), ("units", "Float")]),
            object("CreditGrant", &[("id", "String"), ("credits", "Float")]),
            {"name": "Grant", "kind": "UNION", "possibleTypes": possible},
            {"name": "Currency", "kind": "ENUM"},
            scalar("String"), scalar("Float"), scalar("DateTime"),
        ]}}});
        Served::parse(&body.to_string()).expect("an introspection answer")
    }

    const PLAN: &[(&str, &str)] = &[
        ("id", "String"),
        ("createdAt", "DateTime"),
        ("name", "String"),
        ("prices", "[Price!]"),
        ("overagePrices", "[Price!]"),
        ("grants", "[Grant!]"),
    ];

    fn found(served: &Served) -> Vec<(String, bool)> {
        findings(&API, served)
            .into_iter()
            .filter(|f| f.root == "plans")
            .map(|f| (f.path, f.needed))
            .collect()
    }

    #[test]
    fn a_schema_as_declared_has_no_drift() {
        assert_eq!(found(&plans(PLAN, &["UnitGrant", "CreditGrant"])), []);
    }

    #[test]
    fn lost_and_retyped_fields_are_found_and_keys_told_apart() {
        let mut plan: Vec<(&str, &str)> =
            PLAN.iter().copied().filter(|(n, _)| *n != "name").collect();
        plan.retain(|(n, _)| *n != "createdAt");
        plan.push(("createdAt", "String"));
        plan.retain(|(n, _)| *n != "overagePrices");
        plan.push(("overagePrices", "Price"));
        let served = plans(&plan, &["UnitGrant"]);
        assert_eq!(
            found(&served),
            [
                ("createdAt".to_owned(), true),
                ("name".to_owned(), false),
                // It holds the `plan_prices` child stream's key.
                ("overagePrices".to_owned(), true),
                ("grants.CreditGrant".to_owned(), false),
            ]
        );
        let absent = Absent::of(&findings(&API, &served));
        assert_eq!(absent.paths("plans"), ["name", "grants.CreditGrant"]);
        let retyped = findings(&API, &served)
            .into_iter()
            .find(|f| f.path == "overagePrices");
        assert_eq!(
            retyped.map(|f| f.describe()),
            Some("`plans.overagePrices` is now of type Price".to_owned())
        );
    }

    #[test]
    fn a_child_streams_key_inside_a_list_is_needed() {
        // The `prices` list's `id` keys the `plan_prices` child stream.
        let served = plans(PLAN, &["UnitGrant", "CreditGrant"]);
        let mut types = served.types;
        let price = types.get_mut("Price").expect("Price");
        price
            .fields
            .as_mut()
            .expect("fields")
            .retain(|f| f.name != "id");
        let served = Served { types, ..served };
        assert_eq!(
            found(&served),
            [
                ("prices.id".to_owned(), true),
                ("overagePrices.id".to_owned(), true)
            ]
        );
    }

    #[test]
    fn a_root_field_gone_fails_its_stream() {
        let mut served = plans(PLAN, &["UnitGrant", "CreditGrant"]);
        served.types.remove("Query");
        let found = found(&served);
        assert_eq!(found, [(String::new(), true)]);
    }
}
