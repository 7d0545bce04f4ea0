//! The `sorting` argument: a list of (field, direction, nulls) keys applied
//! in order. Ties keep the records' stored order (a stable sort), so paging
//! over tied values is deterministic.

use std::cmp::Ordering;

use apollo_compiler::response::JsonValue;

use crate::data::{Dataset, Kind};
use crate::fields::{sort_value, Val};

#[derive(Debug, Clone, PartialEq)]
pub struct SortKey {
    pub field: String,
    pub descending: bool,
    pub nulls_first: bool,
}

/// Parses a coerced `sorting` argument.
pub fn parse_sorting(value: &JsonValue) -> Result<Vec<SortKey>, String> {
    let items = match value {
        JsonValue::Null => return Ok(Vec::new()),
        JsonValue::Array(items) => items.as_slice(),
        single => std::slice::from_ref(single),
    };
    items.iter().map(parse_key).collect()
}

fn parse_key(item: &JsonValue) -> Result<SortKey, String> {
    let text = |name: &str| {
        item.as_object()
            .and_then(|o| o.get(name))
            .and_then(JsonValue::as_str)
    };
    let field = text("field").ok_or("a sort key needs a field")?.to_string();
    let descending = text("direction") == Some("DESC");
    // Postgres's default: NULLS LAST ascending, NULLS FIRST descending.
    let nulls_first = match text("nulls") {
        Some("NULLS_FIRST") => true,
        Some("NULLS_LAST") => false,
        _ => descending,
    };
    Ok(SortKey {
        field,
        descending,
        nulls_first,
    })
}

/// Sorts `rows` (indices into the kind's table) by `keys`.
pub fn sort_rows(ds: &Dataset, kind: Kind, rows: &mut [u32], keys: &[SortKey]) {
    if keys.is_empty() {
        return;
    }
    // Extract each key once per row: the comparator then never allocates.
    let columns: Vec<Vec<Val>> = keys
        .iter()
        .map(|key| {
            rows.iter()
                .map(|&i| key_value(ds, kind, i, &key.field))
                .collect()
        })
        .collect();
    let mut positions: Vec<u32> = (0..rows.len() as u32).collect();
    positions.sort_by(|&a, &b| compare_positions(&columns, keys, a as usize, b as usize));
    let sorted: Vec<u32> = positions.iter().map(|&p| rows[p as usize]).collect();
    rows.copy_from_slice(&sorted);
}

fn key_value(ds: &Dataset, kind: Kind, index: u32, field: &str) -> Val {
    match (field, ds.row(kind, index)) {
        // The common keys, read straight from the row.
        ("createdAt", Some(row)) => Val::Time(row.created_at),
        ("updatedAt", Some(row)) if kind_has_updated_at(kind) => Val::Time(row.updated_at),
        ("id", Some(row)) => Val::Uuid(row.id),
        _ => sort_value(ds, kind, index, field),
    }
}

/// Whether the row's updatedAt is the field's value: not for kinds without
/// one, nor for subscription entitlements, whose updatedAt may be null.
fn kind_has_updated_at(kind: Kind) -> bool {
    !matches!(
        kind,
        Kind::Subscription | Kind::UsageMeasurement | Kind::SubscriptionEntitlement
    )
}

fn compare_positions(columns: &[Vec<Val>], keys: &[SortKey], a: usize, b: usize) -> Ordering {
    for (column, key) in columns.iter().zip(keys) {
        let ordering = compare_values(&column[a], &column[b], key);
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    Ordering::Equal
}

pub(crate) fn compare_values(a: &Val, b: &Val, key: &SortKey) -> Ordering {
    match (a.is_null(), b.is_null()) {
        (true, true) => Ordering::Equal,
        (true, false) => {
            if key.nulls_first {
                Ordering::Less
            } else {
                Ordering::Greater
            }
        }
        (false, true) => {
            if key.nulls_first {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
        (false, false) => {
            let ordering = a.compare(b);
            if key.descending {
                ordering.reverse()
            } else {
                ordering
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_nulls_follow_postgres() {
        let asc = parse_sorting(&JsonValue::from(
            serde_json::json!([{"field": "name", "direction": "ASC"}]),
        ));
        let desc = parse_sorting(&JsonValue::from(
            serde_json::json!({"field": "name", "direction": "DESC"}),
        ));
        assert_eq!(asc.map(|k| k[0].nulls_first), Ok(false));
        assert_eq!(desc.map(|k| k[0].nulls_first), Ok(true));
        let explicit = parse_sorting(&JsonValue::from(
            serde_json::json!([{"field": "name", "direction": "DESC", "nulls": "NULLS_LAST"}]),
        ));
        assert_eq!(explicit.map(|k| k[0].nulls_first), Ok(false));
    }

    #[test]
    fn nulls_and_direction() {
        let key = SortKey {
            field: "x".into(),
            descending: true,
            nulls_first: false,
        };
        assert_eq!(
            compare_values(&Val::Int(1), &Val::Int(2), &key),
            Ordering::Greater
        );
        assert_eq!(
            compare_values(&Val::Null, &Val::Int(2), &key),
            Ordering::Greater
        );
        assert_eq!(
            compare_values(&Val::Null, &Val::Null, &key),
            Ordering::Equal
        );
    }
}
