//! Reading connections the way the connector does: one document per
//! stream, `$paging`/`$sorting`/`$filter` as variables.

use serde_json::{json, Value};
use stigg_standin::Standin;

use super::data;

/// `[{field, direction: ASC}, ...]`
pub fn ascending(fields: &[&str]) -> Value {
    Value::Array(
        fields
            .iter()
            .map(|f| json!({ "field": f, "direction": "ASC" }))
            .collect(),
    )
}

/// The connector's page document for `root` (types named after `node`).
pub fn document(root: &str, node: &str, selection: &str, total: bool) -> String {
    format!(
        "query P($paging: CursorPaging!, $sorting: [{node}Sort!], $filter: {node}Filter) \
         {{ {root}(paging: $paging, sorting: $sorting, filter: $filter) \
         {{ edges {{ node {{ {selection} }} }} pageInfo {{ hasNextPage endCursor }}{} }} }}",
        if total { " totalCount" } else { "" }
    )
}

/// Every node of a connection, paging by `page_size`.
pub fn read_all(
    standin: &Standin,
    root: &str,
    node: &str,
    selection: &str,
    sorting: Value,
    filter: Option<Value>,
    page_size: u64,
) -> Vec<Value> {
    // These connections have no totalCount.
    let total = !matches!(root, "eventLogs" | "subscriptionEntitlements");
    let query = document(root, node, selection, total);
    let mut nodes = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut variables = json!({ "paging": { "first": page_size }, "sorting": sorting });
        if let Some(after) = &after {
            variables["paging"]["after"] = json!(after);
        }
        if let Some(filter) = &filter {
            variables["filter"] = filter.clone();
        }
        let data = data(standin, &query, variables);
        let connection = &data[root];
        for edge in connection["edges"].as_array().expect("edges") {
            nodes.push(edge["node"].clone());
        }
        if connection["pageInfo"]["hasNextPage"] != json!(true) {
            if total {
                assert_eq!(connection["totalCount"].as_u64(), Some(nodes.len() as u64));
            }
            return nodes;
        }
        after = connection["pageInfo"]["endCursor"]
            .as_str()
            .map(str::to_string);
    }
}

pub fn text<'a>(node: &'a Value, field: &str) -> &'a str {
    node[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} is not a string in {node}"))
}
