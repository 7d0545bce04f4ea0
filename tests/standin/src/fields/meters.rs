//! `Feature.meter` and `Feature.unitTransformation`.
//!
//! A metered feature (a NUMBER feature whose meter type is Incremental or
//! Fluctuating) has a meter; no other feature does. The meter's `id` is
//! the `meterId` of the feature's entitlements (`entitlements(query)`),
//! its times the feature's. Every fourth metered feature (by feature
//! order, starting with the second) shows its usage in larger units.
//! Values are drawn from the feature's bits with salts of their own, so no
//! other field changes.

use super::catalog::{feature_is_metered, feature_type};
use super::tree::{Obj, Tree};
use super::{opt_str, scalar, slug, Node, Val};
use crate::data::{Dataset, Kind};
use crate::rng::derive_uuid;

fn is_metered(feature: u32) -> bool {
    feature_is_metered(feature as usize) && feature_type(feature as usize) == "NUMBER"
}

/// The id of feature row `feature`'s meter (`Feature.meter.id`, and the
/// `meterId` of its entitlements); `None` for a feature without a meter.
pub(super) fn meter_id(ds: &Dataset, feature: u32) -> Option<u128> {
    let row = ds.row(Kind::Feature, feature)?;
    is_metered(feature).then(|| derive_uuid(row.id, 88))
}

pub(super) fn meter(n: &Node) -> Option<Obj> {
    let id = meter_id(n.ds, n.index)?;
    Some(
        Obj::new("Meter")
            .with("aggregation", aggregation(n))
            .with("createdAt", Val::Time(n.row.created_at))
            .with("environmentId", n.environment_id())
            .with("filters", filters(n))
            .with("id", Val::Uuid(id))
            .with("updatedAt", Val::Time(n.row.updated_at)),
    )
}

/// COUNT of events, or SUM, MAX or UNIQUE over one of their fields.
fn aggregation(n: &Node) -> Obj {
    let (function, field) = match n.roll(1220) % 4 {
        0 => ("COUNT", None),
        1 => (
            "SUM",
            Some(n.choose(1221, &["tokens", "quantity", "bytes", "duration_ms"])),
        ),
        2 => (
            "MAX",
            Some(n.choose(1221, &["tokens", "quantity", "bytes", "duration_ms"])),
        ),
        _ => (
            "UNIQUE",
            Some(n.choose(1222, &["user_id", "session_id", "project_id", "device_id"])),
        ),
    };
    Obj::new("Aggregation")
        .with("field", field.map_or(Val::Null, |f| Val::Str(f.into())))
        .with("function", Val::Enum(function))
}

/// What a meter's conditions test: (field, operation, values), EQUALS
/// with one value, IN with several.
fn conditions(n: &Node) -> [(&'static str, &'static str, Vec<String>); 5] {
    // The usage event the feature is reported with: "api_calls", ...
    let name = match scalar(n.ds, Kind::Feature, n.index, "displayName") {
        Some(Val::Str(name)) => name,
        _ => "usage".to_string(),
    };
    let event = slug(&name).replace('-', "_");
    let texts = |items: &[&str]| items.iter().map(|s| s.to_string()).collect();
    [
        ("eventName", "EQUALS", vec![event]),
        ("environment", "EQUALS", vec!["production".into()]),
        ("region", "IN", texts(&["us-east-1", "eu-west-1"])),
        ("plan", "IN", texts(&["pro", "business", "enterprise"])),
        ("source", "EQUALS", vec!["api".into()]),
    ]
}

/// 0 to 2 filter definitions of 1 or 2 conditions (no field twice).
fn filters(n: &Node) -> Tree {
    let all = conditions(n);
    let definitions = (0..n.roll(1223) % 3)
        .map(|k| {
            // The second definition starts after the first one's conditions.
            let first = (n.roll(1224) + 2 * k) as usize;
            let count = 1 + (n.roll(1226 + k) % 2) as usize;
            let conditions: Vec<Obj> = (0..count)
                .map(|j| condition(&all[(first + j) % all.len()]))
                .collect();
            Obj::new("MeterFilterDefinition").with("conditions", conditions)
        })
        .collect::<Vec<Obj>>();
    definitions.into()
}

fn condition((field, operation, values): &(&'static str, &'static str, Vec<String>)) -> Obj {
    let (value, values) = match *operation {
        "EQUALS" => (Val::Str(values[0].clone()), Val::Null),
        _ => (
            Val::Null,
            Val::List(values.iter().map(|v| Val::Str(v.clone())).collect()),
        ),
    };
    Obj::new("MeterCondition")
        .with("field", Val::Str(field.to_string()))
        .with("operation", Val::Enum(operation))
        .with("value", value)
        .with("values", values)
}

/// Every fourth metered feature (the 2nd, 6th, 10th, ...) shows usage in
/// hundreds, thousands or millions of its units; null for the others.
pub(super) fn unit_transformation(n: &Node) -> Option<Obj> {
    let rank = (0..n.index).filter(|&f| is_metered(f)).count();
    if !is_metered(n.index) || rank % 4 != 1 {
        return None;
    }
    let (divide, word) = n.choose(
        1230,
        &[
            (1000.0, "thousand"),
            (1000.0, "thousand"),
            (1_000_000.0, "million"),
            (100.0, "hundred"),
        ],
    );
    let units = match scalar(n.ds, Kind::Feature, n.index, "featureUnitsPlural") {
        Some(Val::Str(units)) => units,
        _ => "units".to_string(),
    };
    let named = !n.chance(1231, 20);
    Some(
        Obj::new("UnitTransformation")
            .with("divide", Val::Float(divide))
            .with("featureUnits", opt_str(named, || format!("{word} {units}")))
            .with(
                "featureUnitsPlural",
                opt_str(named, || format!("{word}s of {units}")),
            )
            .with(
                "round",
                Val::Enum(if n.chance(1232, 75) { "UP" } else { "DOWN" }),
            ),
    )
}
