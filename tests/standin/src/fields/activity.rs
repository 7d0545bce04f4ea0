//! EventLog fields, derived from an event's type and source row.
//!
//! entityId is the entity's `id` (a UUID): the customer's, subscription's,
//! measurement's or credit grant's; parentEntityId the customer's `id` for
//! everything that belongs to a customer.

use serde_json::{json, Value};

use super::tree::{Obj, Tree};
use super::{scalar, Val};
use crate::data::{Dataset, Kind};
use crate::events::{Event, EventType};
use crate::rng::{derive_uuid, format_uuid, pick};

fn entity(ds: &Dataset, e: &Event) -> Option<(Kind, u32)> {
    match e.ty.source_kind() {
        Some(kind) => Some((kind, e.source)),
        None => Some((
            Kind::CreditGrant,
            ds.consumptions.get(e.source as usize)?.grant,
        )),
    }
}

fn entity_type(kind: Kind) -> &'static str {
    match kind {
        Kind::Customer => "CUSTOMER",
        Kind::Subscription => "SUBSCRIPTION",
        Kind::UsageMeasurement => "MEASUREMENT",
        _ => "CREDIT",
    }
}

/// The customer (row index) an entity belongs to.
fn parent(ds: &Dataset, kind: Kind, index: u32) -> Option<u32> {
    match kind {
        Kind::Customer => None,
        _ => ds.row(kind, index).map(|r| r.refs[0]),
    }
}

fn field(ds: &Dataset, kind: Kind, index: u32, name: &str) -> Value {
    let text =
        crate::json_text::to_js_json(&scalar(ds, kind, index, name).unwrap_or(Val::Null).to_json());
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// Whether a person, the API or Stigg itself caused the event.
fn actor_type(e: &Event) -> &'static str {
    match e.ty {
        EventType::CreditGrantExpired => "SYSTEM",
        EventType::CustomerDeleted | EventType::CreditGrantVoided => "USER",
        _ => match pick(e.at as u64, e.ty as u64) % 10 {
            0..=5 => "APP_SERVER",
            6..=7 => "USER",
            8 => "SCOPED_KEY",
            _ => "WORKFLOW",
        },
    }
}

pub fn scalar_field(ds: &Dataset, index: u32, name: &str) -> Option<Val> {
    let e = ds.log.get(ds, index)?;
    let (kind, source) = entity(ds, &e)?;
    let uuid_of = |k: Kind, i: u32| {
        ds.row(k, i)
            .map_or(Val::Null, |r| Val::Str(format_uuid(r.id)))
    };
    let value = match name {
        "id" => Val::Str(format_uuid(e.id(ds))),
        "accountId" => Val::Str(format!("account-{:08x}", ds.seed as u32)),
        "createdAt" => Val::Time(e.at),
        "entityId" => uuid_of(kind, source),
        "entityType" => Val::Enum(entity_type(kind)),
        "environmentId" => Val::Uuid(ds.environment_id),
        "eventLogType" => Val::Enum(e.ty.name()),
        "parentEntityId" => {
            parent(ds, kind, source).map_or(Val::Null, |c| uuid_of(Kind::Customer, c))
        }
        "traceId" => match actor_type(&e) {
            "SYSTEM" => Val::Null,
            _ => Val::Str(format!("{:032x}", derive_uuid(e.id(ds), 7))),
        },
        "payload" => Val::Json(payload(ds, &e, kind, source).into()),
        _ => return None,
    };
    Some(value)
}

pub fn nested(ds: &Dataset, index: u32, name: &str) -> Option<Tree> {
    let e = ds.log.get(ds, index)?;
    match name {
        "actor" => Some(actor(&e).into()),
        "webhooks" => Some(webhooks(ds, &e)),
        _ => None,
    }
}

fn actor(e: &Event) -> Obj {
    let ty = actor_type(e);
    let text = |present: bool, s: &str| match present {
        true => Val::Str(s.to_string()),
        false => Val::Null,
    };
    Obj::new("EventActorInfo")
        .with("email", text(ty == "USER", "ops@revvenu.example"))
        .with("ipAddress", text(ty == "USER", "203.0.113.24"))
        .with("name", text(ty == "USER", "Dana Ops"))
        .with("scopedKeyId", text(ty == "SCOPED_KEY", "sk-7d1c"))
        .with("scopedKeyName", text(ty == "SCOPED_KEY", "billing-sync"))
        .with("type", Val::Enum(ty))
        .with("workflowExecutionId", text(ty == "WORKFLOW", "wfx-1042"))
        .with("workflowExecutionTime", text(ty == "WORKFLOW", "2.4s"))
        .with("workflowId", text(ty == "WORKFLOW", "wf-onboarding"))
        .with("workflowName", text(ty == "WORKFLOW", "Onboarding"))
}

/// Most events reached no webhook; some reached one or two.
fn webhooks(ds: &Dataset, e: &Event) -> Tree {
    let count = pick(e.at as u64 ^ 0x5eb, e.ty as u64) % 8;
    let hooks = (0..count.saturating_sub(5)).map(|i| {
        Obj::new("EventWebhook")
            .with(
                "endpoint",
                Val::Str(format!("https://hooks.revvenu.example/stigg/{i}")),
            )
            .with(
                "id",
                Val::Str(format_uuid(derive_uuid(ds.environment_id, 900 + i))),
            )
    });
    Tree::from(hooks.collect::<Vec<_>>())
}

/// A JSON object naming the entity (its ids) and what the event says.
fn payload(ds: &Dataset, e: &Event, kind: Kind, index: u32) -> Value {
    let f = |name: &str| field(ds, kind, index, name);
    let customer = |name: &str| match parent(ds, kind, index) {
        Some(c) => field(ds, Kind::Customer, c, name),
        None => Value::Null,
    };
    match e.ty {
        EventType::CustomerCreated | EventType::CustomerUpdated | EventType::CustomerDeleted => {
            json!({
                "id": f("id"), "customerId": f("customerId"), "name": f("name"),
                "email": f("email"), "createdAt": f("createdAt"),
            })
        }
        EventType::SubscriptionCreated | EventType::SubscriptionUpdated => json!({
            "id": f("id"), "subscriptionId": f("subscriptionId"), "customerId": customer("customerId"),
            "planId": ds.row(kind, index).map_or(Value::Null, |s| field(ds, Kind::Plan, s.refs[1], "refId")),
            "status": f("status"), "startDate": f("startDate"),
        }),
        EventType::MeasurementReported => json!({
            "id": f("id"), "customerId": customer("customerId"), "featureId": f("featureId"),
            "value": f("value"), "createdAt": f("createdAt"),
        }),
        EventType::CreditGrantUpdated => {
            let c = ds.consumptions.get(e.source as usize);
            json!({
                "id": f("id"), "grantId": f("grantId"), "customerId": customer("customerId"),
                "consumed": c.map(|c| c.amount), "eventId": c.map(|c| format_uuid(c.event_id)),
                "consumedAmount": f("consumedAmount"),
            })
        }
        _ => json!({
            "id": f("id"), "grantId": f("grantId"), "customerId": customer("customerId"),
            "currencyId": f("currencyId"), "amount": f("amount"), "grantType": f("grantType"),
        }),
    }
}
