//! Incremental by an activity log, for streams with no cursor: the rows the
//! log names as changed since the last sync are read again by id, and every
//! N-th sync (or when none was done yet) the stream is read in full. The
//! state says which, and from when the log is still to read.

use crate::error::{Error, Result};
use crate::fetch::Reader;
use crate::position::{ByIds, Position};
use crate::read_log::{LogQuery, LOG_MARGIN_MS};
use crate::state::StreamState;
use crate::stream::Activity;
use crate::time::format_rfc3339_ms;

/// How the states of a read by activity are written.
#[derive(Debug)]
pub enum Wrap {
    /// Not a read by activity: states as the position writes them.
    Plain,
    /// A full refresh; the log is to read from `from` once it is done.
    Full { from: String },
    /// The changes logged since `from`, read by id; then from `next_from`.
    Changes {
        from: String,
        next_from: String,
        syncs: u32,
    },
}

impl Wrap {
    /// The state to checkpoint for the position's `state`.
    pub fn apply(&self, state: StreamState, done: bool) -> StreamState {
        match self {
            Wrap::Plain => state,
            Wrap::Full { from } => StreamState::Activity {
                from: from.clone(),
                syncs: 0,
                full_refresh: (!done).then(|| Box::new(state)),
            },
            Wrap::Changes {
                from,
                next_from,
                syncs,
            } => StreamState::Activity {
                from: if done { next_from } else { from }.clone(),
                syncs: if done { *syncs } else { syncs - 1 },
                full_refresh: None,
            },
        }
    }
}

impl Reader<'_> {
    /// Where a read by activity starts, and how its states are written.
    pub(crate) fn activity_position(
        &mut self,
        activity: &'static Activity,
        saved: Option<&StreamState>,
        started_ms: u64,
    ) -> Result<(Position, Wrap)> {
        let stream = activity.stream;
        let name = stream.name;
        let page_size = self.rows();
        let next_from = format_rfc3339_ms(started_ms as i64 - LOG_MARGIN_MS);
        let every = self.settings.activity_full_refresh_every;
        let (full, wrap) = match saved {
            Some(StreamState::Activity {
                from,
                full_refresh: Some(inner),
                ..
            }) => (Some(inner.as_ref()), Wrap::Full { from: from.clone() }),
            Some(StreamState::Activity { from, syncs, .. }) if syncs + 1 < every => {
                let order = stream.order().ok_or_else(|| {
                    Error::system(format!("{name}: a read by activity needs a connection"))
                })?;
                let (changed, by) = self.changed(activity, from)?;
                self.log(
                    "INFO",
                    &format!(
                        "{name}: {} changed since {from}, by the activity log",
                        changed.len()
                    ),
                );
                let wrap = Wrap::Changes {
                    from: from.clone(),
                    next_from,
                    syncs: syncs + 1,
                };
                let ids = ByIds::new(activity.filter_path, order, by)
                    .expecting(activity.row_key, changed);
                return Ok((Position::ByIds(ids), wrap));
            }
            Some(StreamState::Activity { .. }) => {
                self.log(
                    "INFO",
                    &format!("{name}: a full refresh, as every {every} syncs"),
                );
                (None, Wrap::Full { from: next_from })
            }
            _ => (None, Wrap::Full { from: next_from }),
        };
        let (position, note) = Position::full_refresh(stream, full, page_size);
        if let Some(note) = note {
            self.log("INFO", &format!("{name}: {note}"));
        }
        Ok((position, wrap))
    }

    /// The rows the log names as changed from `from` on, and the values
    /// to read them again by.
    fn changed(
        &mut self,
        activity: &'static Activity,
        from: &str,
    ) -> Result<(Vec<String>, Vec<String>)> {
        let query = LogQuery {
            entries: &activity.entries,
            also: &[activity.by_field],
            from,
        };
        let label = format!(
            "{} (changes from {})",
            activity.stream.name, activity.entries.log.name
        );
        let (mut changed, mut by) = (Vec::new(), Vec::new());
        self.read_log(&label, &query, &mut |values, _| {
            changed.push(values[0].clone());
            by.push(values[values.len() - 1].clone());
            Ok(())
        })?;
        Ok((changed, by))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_say_what_is_left_to_read() {
        let full = Wrap::Full { from: "T0".into() };
        let partial = StreamState::FullRefreshComplete;
        assert_eq!(
            full.apply(partial.clone(), false),
            StreamState::Activity {
                from: "T0".into(),
                syncs: 0,
                full_refresh: Some(Box::new(partial.clone()))
            }
        );
        assert_eq!(
            full.apply(partial.clone(), true),
            StreamState::Activity {
                from: "T0".into(),
                syncs: 0,
                full_refresh: None
            }
        );
        let changes = Wrap::Changes {
            from: "T1".into(),
            next_from: "T2".into(),
            syncs: 3,
        };
        assert_eq!(
            changes.apply(partial.clone(), false),
            StreamState::Activity {
                from: "T1".into(),
                syncs: 2,
                full_refresh: None
            }
        );
        assert_eq!(
            changes.apply(partial, true),
            StreamState::Activity {
                from: "T2".into(),
                syncs: 3,
                full_refresh: None
            }
        );
    }
}
