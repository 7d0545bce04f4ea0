//! Splitting a configured catalog for instances that read at once: streams
//! that share requests (a parent and the child streams read from its
//! records, across all their parents) stay in one catalog.

use serde_json::Value;

use crate::api::Api;
use crate::catalog::parse_configured;
use crate::plan;

impl Api {
    /// The catalogs separate instances may read at once; `[catalog]` when it
    /// cannot be split (malformed: `read` reports why; or one unit).
    pub fn split_catalog(&'static self, catalog: &str) -> Vec<String> {
        let whole = || vec![catalog.to_owned()];
        let (Ok(selected), Ok(Value::Object(object))) = (
            parse_configured(catalog, self),
            serde_json::from_str::<Value>(catalog),
        ) else {
            return whole();
        };
        let Some(Value::Array(entries)) = object.get("streams") else {
            return whole();
        };
        let names: Vec<&str> = selected.iter().map(|s| s.stream.name()).collect();
        let mut unit: Vec<usize> = (0..names.len()).collect();
        let index = |name: &str| names.iter().position(|n| *n == name);
        for group in plan::groups(&selected) {
            let members: Vec<usize> = group.members().iter().filter_map(|m| index(m)).collect();
            let Some(first) = members.first().map(|m| find(&mut unit, *m)) else {
                continue;
            };
            for member in &members[1..] {
                let root = find(&mut unit, *member);
                unit[root] = first;
            }
        }
        let mut units: Vec<Vec<usize>> = Vec::new();
        let mut roots: Vec<usize> = Vec::new();
        for stream in 0..names.len() {
            let root = find(&mut unit, stream);
            match roots.iter().position(|r| *r == root) {
                Some(at) => units[at].push(stream),
                None => {
                    roots.push(root);
                    units.push(vec![stream]);
                }
            }
        }
        if units.len() < 2 {
            return whole();
        }
        units
            .into_iter()
            .map(|members| {
                let mut part = object.clone();
                let chosen = members.iter().map(|i| entries[*i].clone()).collect();
                part.insert("streams".into(), Value::Array(chosen));
                Value::Object(part).to_string()
            })
            .collect()
    }
}

/// The representative of `i`'s unit (union-find with path halving).
fn find(unit: &mut [usize], mut i: usize) -> usize {
    while unit[i] != i {
        unit[i] = unit[unit[i]];
        i = unit[i];
    }
    i
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::fixtures::API;

    fn names(catalogs: &[String]) -> Vec<Vec<String>> {
        catalogs
            .iter()
            .map(|c| {
                let v: serde_json::Value = serde_json::from_str(c).unwrap();
                v["streams"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| e["stream"]["name"].as_str().unwrap().to_owned())
                    .collect()
            })
            .collect()
    }

    fn entry(name: &str, mode: &str) -> serde_json::Value {
        json!({"stream": {"name": name}, "sync_mode": mode, "destination_sync_mode": "append"})
    }

    #[test]
    fn a_parent_and_its_children_stay_together_the_rest_apart() {
        let catalog = json!({"streams": [
            entry("customers", "incremental"),
            entry("plan_prices", "full_refresh"),
            entry("grants", "full_refresh"),
            entry("plans", "full_refresh"),
        ], "extra": 1})
        .to_string();
        let parts = API.split_catalog(&catalog);
        assert_eq!(
            names(&parts),
            [
                vec!["customers"],
                vec!["plan_prices", "plans"],
                vec!["grants"]
            ]
        );
        let first: serde_json::Value = serde_json::from_str(&parts[0]).unwrap();
        assert_eq!(first["extra"], 1, "other keys are kept");
        assert_eq!(
            first["streams"][0],
            entry("customers", "incremental"),
            "entries verbatim"
        );
    }

    #[test]
    fn catalogs_that_cannot_be_split_come_back_whole() {
        for catalog in [
            "{".to_owned(),
            json!({"streams": [entry("customers", "incremental")]}).to_string(),
            json!({"streams": [entry("plans", "full_refresh"), entry("plan_prices", "full_refresh")]})
                .to_string(),
            json!({"streams": [entry("nope", "full_refresh"), entry("plans", "full_refresh")]})
                .to_string(),
        ] {
            assert_eq!(API.split_catalog(&catalog), std::slice::from_ref(&catalog), "{catalog}");
        }
    }
}
