//! Incremental by an activity log, for streams with no cursor: the rows the
//! log names as changed since the last sync are read again by id, and every
//! N-th sync (or when none was done yet) the stream is read in full. The
//! state says which, and from when the log is still to read.

use crate::error::{Error, Result};
use crate::fetch::Reader;
use crate::position::{ByIds, ByLog, Form, Since};
use crate::read_log::{log_from, LogQuery};
use crate::state::{ActivityAt, Nested, PartitionsLeft, StreamState};
use crate::stream::Activity;

/// What a read by activity reads.
pub enum ByActivity<'s> {
    /// The rows changed, by id.
    Changed(Box<ByIds>),
    /// Every row, resuming a full refresh under way where there is one.
    All(Option<&'s PartitionsLeft>),
}

impl Reader<'_> {
    /// Where a read by activity starts, and what the log adds to it.
    pub(crate) fn activity_position<'s>(
        &mut self,
        activity: &'static Activity,
        saved: Option<&'s StreamState>,
        started_ms: u64,
    ) -> Result<(ByActivity<'s>, ByLog)> {
        let stream = activity.stream;
        let name = stream.name;
        let next = log_from(started_ms);
        let every = self.settings.activity_full_refresh_every;
        let saved = match saved {
            Some(StreamState::Activity(at)) => Some(at),
            _ => None,
        };
        let full = |from: String| ByLog {
            since: Since::Full { from },
            form: Form::Activity { syncs: 0 },
        };
        let (resumed, by_log) = match saved {
            Some(ActivityAt {
                from,
                full_refresh: Some(Nested::FullRefresh(left)),
                ..
            }) => (Some(left), full(from.clone())),
            Some(ActivityAt { from, syncs, .. }) if syncs + 1 < every => {
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
                let by_log = ByLog {
                    since: Since::Changes {
                        from: from.clone(),
                        next,
                    },
                    form: Form::Activity { syncs: *syncs },
                };
                let ids = ByIds::new(activity.filter_path, order, by)
                    .expecting(activity.row_key, changed);
                return Ok((ByActivity::Changed(Box::new(ids)), by_log));
            }
            Some(_) => {
                self.log(
                    "INFO",
                    &format!("{name}: a full refresh, as every {every} syncs"),
                );
                (None, full(next))
            }
            None => (None, full(next)),
        };
        Ok((ByActivity::All(resumed), by_log))
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
