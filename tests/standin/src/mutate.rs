//! What tests change while the stand-in serves: each change happens now,
//! in its own millisecond later than every earlier one, and logs its
//! events in the activity log in that order.

use std::collections::HashSet;

use crate::data::{Kind, Row};
use crate::events::{Event, EventType};
use crate::fields::{grant_priority, metered_features, remaining, Consumption};
use crate::rng::Rng;
use crate::store::Store;
use crate::time::{now_millis, Millis};

impl Store {
    /// Every change starts here: the generated log is built from the data
    /// as generated (before this change), and cached orders are dropped.
    fn begin_change(&mut self) -> Rng {
        self.data.log.generated(&self.data);
        self.clear_cache();
        self.changes += 1;
        Rng::new(self.data.seed ^ self.changes.wrapping_mul(0x9e37_79b9))
    }

    fn next_time(&mut self) -> Millis {
        self.last_change = now_millis().max(self.last_change + 1);
        self.last_change
    }

    fn log(&mut self, at: Millis, source: u32, ty: EventType) {
        self.data.log.append(Event { at, source, ty });
    }

    /// Sets `n` live customers' updatedAt to now (CUSTOMER_UPDATED each).
    pub fn touch_customers(&mut self, n: usize) -> Vec<u32> {
        let mut rng = self.begin_change();
        let chosen = self.pick_customers(&mut rng, n);
        for &index in &chosen {
            let at = self.next_time();
            self.data.rows_mut(Kind::Customer)[index as usize].updated_at = at;
            self.log(at, index, EventType::CustomerUpdated);
        }
        chosen
    }

    /// Changes `n` subscriptions of live customers (their fields are drawn
    /// again: status, dates, prices...) (SUBSCRIPTION_UPDATED each).
    pub fn update_subscriptions(&mut self, n: usize) -> Vec<u32> {
        let mut rng = self.begin_change();
        let live: Vec<u32> = (0..self.data.rows(Kind::Subscription).len() as u32)
            .filter(|&i| {
                self.data
                    .row(Kind::Subscription, i)
                    .is_some_and(|s| self.data.is_live(Kind::Customer, s.refs[0]))
            })
            .collect();
        let mut chosen: Vec<u32> = Vec::new();
        while chosen.len() < n.min(live.len()) {
            let index = live[rng.below(live.len() as u64) as usize];
            if !chosen.contains(&index) {
                chosen.push(index);
            }
        }
        for &index in &chosen {
            let at = self.next_time();
            self.data.rows_mut(Kind::Subscription)[index as usize].bits = rng.next_u64();
            self.log(at, index, EventType::SubscriptionUpdated);
        }
        chosen
    }

    /// Deletes `n` live customers (CUSTOMER_DELETED each).
    pub fn delete_customers(&mut self, n: usize) -> Vec<u32> {
        let mut rng = self.begin_change();
        let chosen = self.pick_customers(&mut rng, n);
        for &index in &chosen {
            let at = self.next_time();
            self.data.deleted.insert(index);
            self.log(at, index, EventType::CustomerDeleted);
        }
        chosen
    }

    /// Adds `n` customers created now (CUSTOMER_CREATED each).
    pub fn create_customers(&mut self, n: usize) -> Vec<u32> {
        let mut rng = self.begin_change();
        (0..n)
            .map(|_| {
                let at = self.next_time();
                let row = Row {
                    id: rng.uuid(),
                    created_at: at,
                    updated_at: at,
                    bits: rng.next_u64(),
                    refs: [0, 0],
                };
                let rows = self.data.rows_mut(Kind::Customer);
                rows.push(row);
                let index = rows.len() as u32 - 1;
                self.log(at, index, EventType::CustomerCreated);
                index
            })
            .collect()
    }

    /// Reports `n` measurements of metered features by live customers,
    /// created now (MEASUREMENT_REPORTED each); their row indices.
    pub fn report_usage(&mut self, n: usize) -> Vec<u32> {
        let mut rng = self.begin_change();
        let features = metered_features(&self.data);
        let customers = self.pick_customers(&mut rng, n.min(self.live_customers().len()));
        if features.is_empty() {
            return Vec::new();
        }
        let mut added = Vec::new();
        for i in 0..n {
            let Some(&customer) = customers.get(i % customers.len().max(1)) else {
                break;
            };
            let at = self.next_time();
            let feature = features[rng.below(features.len() as u64) as usize];
            let row = Row {
                id: rng.uuid(),
                created_at: at,
                updated_at: at,
                bits: rng.next_u64(),
                refs: [customer, feature],
            };
            let rows = self.data.rows_mut(Kind::UsageMeasurement);
            rows.push(row);
            let index = rows.len() as u32 - 1;
            self.log(at, index, EventType::MeasurementReported);
            added.push(index);
        }
        added
    }

    /// Grants `amount` promotional credits, active now and never expiring,
    /// in the customer's currency (the first one otherwise)
    /// (CREDIT_GRANT_CREATED); the grant's row index.
    pub fn grant_credits(&mut self, customer: u32, amount: f64) -> Option<u32> {
        if !self.data.is_live(Kind::Customer, customer)
            || self.data.row(Kind::Customer, customer).is_none()
        {
            return None;
        }
        let mut rng = self.begin_change();
        let at = self.next_time();
        let currency = self
            .data
            .grants_by_customer
            .get(&customer)
            .and_then(|grants| grants.first())
            .and_then(|&g| self.data.rows(Kind::CreditGrant).get(g as usize))
            .map_or(0, |g| g.refs[1]);
        let row = Row {
            id: rng.uuid(),
            created_at: at,
            updated_at: at,
            // A live grant keeps its amount here (see `fields::credits`).
            bits: amount.to_bits(),
            refs: [customer, currency],
        };
        let rows = self.data.rows_mut(Kind::CreditGrant);
        rows.push(row);
        let index = rows.len() as u32 - 1;
        self.data
            .grants_by_customer
            .entry(customer)
            .or_default()
            .push(index);
        self.log(at, index, EventType::CreditGrantCreated);
        Some(index)
    }

    /// Consumes up to `amount` credits of a customer's ACTIVE grants, lowest
    /// priority first, as one usage event (a CREDITS_CONSUMED ledger entry
    /// and a CREDIT_GRANT_UPDATED event per grant drawn from); the usage
    /// event's id, or `None` when the customer has no credits left.
    pub fn consume_credits(&mut self, customer: u32, amount: f64) -> Option<u128> {
        let mut grants: Vec<(f64, u32, f64)> = self
            .data
            .grants_by_customer
            .get(&customer)?
            .iter()
            .map(|&g| (grant_priority(&self.data, g), g, remaining(&self.data, g)))
            .filter(|g| g.2 > 0.0)
            .collect();
        if grants.is_empty() || !self.data.is_live(Kind::Customer, customer) {
            return None;
        }
        grants.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut rng = self.begin_change();
        let event_id = rng.uuid();
        let features = metered_features(&self.data);
        let feature = features
            .get(rng.below(features.len().max(1) as u64) as usize)
            .copied()
            .unwrap_or(0);
        let mut left = amount;
        for (_, grant, available) in grants {
            if left <= 0.0 {
                break;
            }
            let take = left.min(available);
            left -= take;
            let at = self.next_time();
            self.data.consumptions.push(Consumption {
                grant,
                at,
                amount: take,
                event_id,
                feature,
            });
            self.data.rows_mut(Kind::CreditGrant)[grant as usize].updated_at = at;
            let source = self.data.consumptions.len() as u32 - 1;
            self.log(at, source, EventType::CreditGrantUpdated);
        }
        Some(event_id)
    }

    fn live_customers(&self) -> Vec<u32> {
        (0..self.data.rows(Kind::Customer).len() as u32)
            .filter(|&i| self.data.is_live(Kind::Customer, i))
            .collect()
    }

    /// Distinct live customers, deterministic for a seed and change number.
    fn pick_customers(&self, rng: &mut Rng, n: usize) -> Vec<u32> {
        let live = self.live_customers();
        if n >= live.len() {
            return live;
        }
        let mut seen = HashSet::with_capacity(n);
        let mut chosen = Vec::with_capacity(n);
        while chosen.len() < n {
            let index = live[rng.below(live.len() as u64) as usize];
            if seen.insert(index) {
                chosen.push(index);
            }
        }
        chosen
    }
}
