//! The activity log behind `eventLogs`, consistent with the data: one event
//! per customer created or updated, subscription created, measurement
//! reported and credit grant created, expired or voided, then whatever the
//! test mutations log (see `mutate`).
//!
//! An event is 16 bytes (time, source row, type); everything else (its id,
//! entity, payload) is derived when rendered. The generated part is built
//! on first use, in (createdAt, id) order; mutations append later times,
//! so the whole log stays in that order.

use std::sync::OnceLock;

use crate::data::{Dataset, Kind, Row};
use crate::fields::{grant_dates, GrantEnd};
use crate::rng::derive_uuid;
use crate::time::Millis;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    CustomerCreated,
    CustomerUpdated,
    CustomerDeleted,
    SubscriptionCreated,
    /// A change through `update_subscriptions`.
    SubscriptionUpdated,
    MeasurementReported,
    CreditGrantCreated,
    /// A consumption through `consume_credits`: the source is its index.
    CreditGrantUpdated,
    CreditGrantExpired,
    CreditGrantVoided,
}

impl EventType {
    pub fn name(self) -> &'static str {
        match self {
            EventType::CustomerCreated => "CUSTOMER_CREATED",
            EventType::CustomerUpdated => "CUSTOMER_UPDATED",
            EventType::CustomerDeleted => "CUSTOMER_DELETED",
            EventType::SubscriptionCreated => "SUBSCRIPTION_CREATED",
            EventType::SubscriptionUpdated => "SUBSCRIPTION_UPDATED",
            EventType::MeasurementReported => "MEASUREMENT_REPORTED",
            EventType::CreditGrantCreated => "CREDIT_GRANT_CREATED",
            EventType::CreditGrantUpdated => "CREDIT_GRANT_UPDATED",
            EventType::CreditGrantExpired => "CREDIT_GRANT_EXPIRED",
            EventType::CreditGrantVoided => "CREDIT_GRANT_VOIDED",
        }
    }

    /// The table `source` indexes (consumptions are not a kind: `None`).
    pub fn source_kind(self) -> Option<Kind> {
        Some(match self {
            EventType::CustomerCreated
            | EventType::CustomerUpdated
            | EventType::CustomerDeleted => Kind::Customer,
            EventType::SubscriptionCreated | EventType::SubscriptionUpdated => Kind::Subscription,
            EventType::MeasurementReported => Kind::UsageMeasurement,
            EventType::CreditGrantCreated
            | EventType::CreditGrantExpired
            | EventType::CreditGrantVoided => Kind::CreditGrant,
            EventType::CreditGrantUpdated => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    pub at: Millis,
    pub source: u32,
    pub ty: EventType,
}

impl Event {
    /// What filters on id/createdAt read (an event's id is text: see `filter`).
    pub fn row(&self) -> Row {
        Row {
            created_at: self.at,
            updated_at: self.at,
            ..Row::default()
        }
    }

    /// Stable and unique: derived from the source's id, the type and time.
    pub fn id(&self, ds: &Dataset) -> u128 {
        let base = match self.ty.source_kind() {
            Some(kind) => ds.row(kind, self.source).map_or(0, |r| r.id),
            None => ds
                .consumptions
                .get(self.source as usize)
                .map_or(0, |c| c.event_id),
        };
        derive_uuid(base, ((self.ty as u64 + 1) << 48) ^ self.at as u64)
    }
}

#[derive(Debug, Clone, Default)]
pub struct Log {
    generated: OnceLock<Vec<Event>>,
    appended: Vec<Event>,
}

impl Log {
    /// The generated events, built on first use from the generated data.
    /// Mutations call this before changing anything, so the build never
    /// sees their changes (they log their own events).
    pub fn generated(&self, ds: &Dataset) -> &[Event] {
        self.generated.get_or_init(|| build(ds))
    }

    pub fn len(&self, ds: &Dataset) -> usize {
        self.generated(ds).len() + self.appended.len()
    }

    pub fn get(&self, ds: &Dataset, index: u32) -> Option<Event> {
        let generated = self.generated(ds);
        let i = index as usize;
        match generated.get(i) {
            Some(e) => Some(*e),
            None => self.appended.get(i - generated.len()).copied(),
        }
    }

    /// Logs an event of a mutation (its time later than every other).
    pub fn append(&mut self, event: Event) {
        self.appended.push(event);
    }
}

fn build(ds: &Dataset) -> Vec<Event> {
    let mut events = Vec::new();
    let mut push = |at: Millis, source: usize, ty: EventType| {
        events.push(Event {
            at,
            source: source as u32,
            ty,
        })
    };
    for (i, c) in ds.rows(Kind::Customer).iter().enumerate() {
        push(c.created_at, i, EventType::CustomerCreated);
        if c.updated_at > c.created_at {
            push(c.updated_at, i, EventType::CustomerUpdated);
        }
    }
    for (i, s) in ds.rows(Kind::Subscription).iter().enumerate() {
        push(s.created_at, i, EventType::SubscriptionCreated);
    }
    for (i, m) in ds.rows(Kind::UsageMeasurement).iter().enumerate() {
        push(m.created_at, i, EventType::MeasurementReported);
    }
    for (i, g) in ds.rows(Kind::CreditGrant).iter().enumerate() {
        push(g.created_at, i, EventType::CreditGrantCreated);
        match grant_dates(ds, i as u32).and_then(|d| d.end) {
            Some(GrantEnd::Expired(at)) => push(at, i, EventType::CreditGrantExpired),
            Some(GrantEnd::Voided(at)) => push(at, i, EventType::CreditGrantVoided),
            None => {}
        }
    }
    // Ids break ties of time; computing them only for ties keeps this cheap.
    events.sort_unstable_by(|a, b| a.at.cmp(&b.at).then_with(|| a.id(ds).cmp(&b.id(ds))));
    events
}
