//! Reading a per-parent stream: list its parents (their keys only, no
//! record emitted), then read a few parents at a time, checkpointing the
//! first unfinished one after each round.

use crate::catalog::{Stream, SyncMode};
use crate::emit;
use crate::error::{Error, Result};
use crate::fetch::Reader;
use crate::messages::{self, Status};
use crate::page::{Page, Root};
use crate::position::per_parent::{parent_order, Parent, Parents};
use crate::position::{ByIds, Position};
use crate::query::{self, Pick};
use crate::read_log::{LogQuery, LOG_MARGIN_MS};
use crate::retrieve::Queries;
use crate::state::StreamState;
use crate::stream::{top_level, Answer, ParentActivity, PerParentDef, TotalCount};
use crate::time::{format_rfc3339_ms, now_ms};

/// Parents read at once: one request each per round, sent together.
const PARENTS_AT_ONCE: usize = 8;

impl Reader<'_> {
    /// What reading `parents` costs: requests, and time at this read's pace.
    fn cost(&self, stream: &PerParentDef, parents: u64) -> String {
        let each = match stream.answer {
            Answer::Connection => "a request per page of each",
            Answer::List => "one request each",
        };
        let pacer = &self.requester.pacer;
        let time = pacer.time_for(stream.root_field, parents, now_ms()).map_or(
            String::new(),
            |ms| match ms {
                0..1000 => ", under a second at this read's pace".into(),
                1000..60_000 => format!(", {} s or more at this read's pace", ms / 1000),
                _ => format!(
                    ", {:.1} min or more at this read's pace",
                    ms as f64 / 60_000.0
                ),
            },
        );
        format!(
            "{}: {parents} {} to read, {each}: at least {parents} requests{time}",
            stream.name, stream.parent.name
        )
    }

    pub(crate) fn read_per_parent(
        &mut self,
        stream: &'static PerParentDef,
        mode: SyncMode,
        saved: Option<&StreamState>,
    ) -> Result<()> {
        let name = stream.name;
        let (listed, saved, plan) = self.parents_to_read(stream, mode, saved)?;
        let (mut parents, note) = Parents::new(stream, listed, saved, PARENTS_AT_ONCE);
        if let Some(note) = note {
            self.log("INFO", &format!("{name}: {note}"));
        }
        let cost = self.cost(stream, parents.left() as u64);
        self.log("INFO", &cost);
        self.sink
            .emit(&messages::stream_status(name, Status::Running));
        let query = query::per_parent_document(stream, self.absent.paths(stream.root_field));
        let queries = Queries {
            label: name,
            stream: Some(name),
            root: Root {
                field: stream.root_field,
                list: stream.answer == Answer::List,
            },
            first: &query,
            next: &query,
        };
        let absent = self.absent.paths(stream.root_field);
        let nulls: Vec<&str> = (stream.fields.iter().map(|f| f.name))
            .filter(|name| absent.iter().any(|a| a == name))
            .collect();
        let mut line = String::new();
        let read = self.retrieve(&queries, &mut parents, &mut |client, round| {
            let emitted_at = now_ms();
            for (page, request) in round.pages.iter().zip(round.requests) {
                let first = stream.naming.first().map_or("", |n| n.input);
                let parent = request[stream.argument][first].as_str().unwrap_or_default();
                for node in page.nodes() {
                    line.clear();
                    emit::keyed_record(&mut line, stream, node, (parent, &nulls), emitted_at)?;
                    client.sink.record(&line);
                }
            }
            let state = plan.state(round.pager.state()).to_value();
            client
                .sink
                .emit(&messages::stream_state(name, &state, round.rows));
            Ok(())
        })?;
        let total = read.rows;
        if total == 0 {
            let state = plan.state(StreamState::FullRefreshComplete).to_value();
            self.sink.emit(&messages::stream_state(name, &state, 0));
        }
        self.log("INFO", &format!("{name}: done, {total} records"));
        Ok(())
    }

    /// The parents this read goes through, the saved position among them to
    /// resume from, and what its states say besides: every parent (resumed
    /// from `saved`), or, for an incremental sync by the log, those it names.
    fn parents_to_read<'s>(
        &mut self,
        stream: &'static PerParentDef,
        mode: SyncMode,
        saved: Option<&'s StreamState>,
    ) -> Result<(Vec<Parent>, Option<&'s StreamState>, Plan)> {
        let next_from = format_rfc3339_ms(now_ms() as i64 - LOG_MARGIN_MS);
        let by_log = stream
            .incremental
            .as_ref()
            .filter(|_| mode == SyncMode::Incremental);
        let chosen = match (by_log, saved) {
            (Some(activity), Some(StreamState::PerParentLog { from })) => {
                let parents = self.parents_in_log(stream, activity, from)?;
                let plan = Plan::Changes {
                    from: from.clone(),
                    next_from,
                };
                (parents, None, plan)
            }
            (Some(_), Some(state @ StreamState::PerParent { activity_from, .. })) => {
                let from = activity_from.clone().unwrap_or(next_from);
                (
                    self.list_parents(stream, None)?,
                    Some(state),
                    Plan::Full(Some(from)),
                )
            }
            (Some(_), _) => (
                self.list_parents(stream, None)?,
                None,
                Plan::Full(Some(next_from)),
            ),
            (None, saved) => (self.list_parents(stream, None)?, saved, Plan::Full(None)),
        };
        Ok(chosen)
    }

    /// The parents the log names from `from` on, each read from the parent
    /// stream by its key. When the log names some and none is found, the log
    /// names parents some other way than assumed: the read fails.
    fn parents_in_log(
        &mut self,
        stream: &'static PerParentDef,
        activity: &'static ParentActivity,
        from: &str,
    ) -> Result<Vec<Parent>> {
        let query = LogQuery {
            entries: &activity.entries,
            also: &[],
            from,
        };
        let label = format!(
            "{} (changes from {})",
            stream.name, activity.entries.log.name
        );
        let mut named = Vec::new();
        self.read_log(&label, &query, &mut |values, _| {
            named.push(values[0].clone());
            Ok(())
        })?;
        let order = parent_order(stream)?;
        let keys = ByIds::new(
            std::slice::from_ref(&activity.parent_key),
            order,
            named.clone(),
        );
        let parents = self.list_parents(stream, Some(keys))?;
        if parents.is_empty() && !named.is_empty() {
            return Err(Error::system(format!(
                "{}: the activity log names {} {} by `{}` since {from}, but none is a {} `{}`: \
                 the log names them some other way than this connector assumes",
                stream.name,
                named.len(),
                stream.parent.name,
                activity.entries.field,
                stream.parent.name,
                activity.parent_key
            )));
        }
        self.log(
            "INFO",
            &format!(
                "{}: {} {} with activity since {from}",
                stream.name,
                parents.len(),
                stream.parent.name
            ),
        );
        Ok(parents)
    }

    /// The parents, read from the parent stream (every row, or those `by_ids`
    /// names) with its order fields and the field that names each only.
    fn list_parents(
        &mut self,
        stream: &'static PerParentDef,
        by_ids: Option<ByIds>,
    ) -> Result<Vec<Parent>> {
        let parent = stream.parent;
        let keys = parent.key_fields();
        let picks: Vec<Pick> = parent
            .fields
            .iter()
            .filter(|f| {
                keys.contains(&f.name) || stream.naming.iter().any(|n| top_level(n.field) == f.name)
            })
            .map(Pick::whole)
            .collect();
        let mut position = match by_ids {
            Some(ids) => Position::ByIds(ids),
            None => Position::full_refresh(parent, None, self.rows()).0,
        };
        let absent = self.absent.paths(parent.root_field);
        let first = query::document(parent, &picks, TotalCount::Ask, absent);
        let next = query::document(parent, &picks, TotalCount::Skip, absent);
        let label = format!("{} (listing {})", stream.name, parent.name);
        let queries = Queries {
            label: &label,
            stream: None,
            root: Root {
                field: parent.root_field,
                list: parent.connection().is_none(),
            },
            first: &first,
            next: &next,
        };
        let mut parents = Vec::new();
        self.retrieve(&queries, &mut position, &mut |_, round| {
            for node in round.pages.iter().flat_map(Page::nodes) {
                parents.push(Parent::from_node(node, stream)?);
            }
            Ok(())
        })?;
        Ok(parents)
    }
}

/// What the states of a per-parent read say besides where it stands.
enum Plan {
    /// Every parent; `Some(from)`: an incremental sync's, after which the
    /// log is to read from `from`.
    Full(Option<String>),
    /// The parents the log named from `from` on; then from `next_from`.
    Changes { from: String, next_from: String },
}

impl Plan {
    fn state(&self, parents: StreamState) -> StreamState {
        let done = parents == StreamState::FullRefreshComplete;
        match (self, parents) {
            (Plan::Full(None), parents) => parents,
            (Plan::Full(Some(from)), _) if done => StreamState::PerParentLog { from: from.clone() },
            (Plan::Full(Some(from)), StreamState::PerParent { parents_from, .. }) => {
                StreamState::PerParent {
                    parents_from,
                    activity_from: Some(from.clone()),
                }
            }
            (Plan::Full(Some(_)), parents) => parents,
            (Plan::Changes { next_from, .. }, _) if done => StreamState::PerParentLog {
                from: next_from.clone(),
            },
            // Interrupted: the same parents are read again next time.
            (Plan::Changes { from, .. }, _) => StreamState::PerParentLog { from: from.clone() },
        }
    }
}

/// Whether a selected stream is read one parent at a time.
pub fn per_parent(stream: Stream) -> Option<&'static PerParentDef> {
    match stream {
        Stream::PerParent(def) => Some(def),
        _ => None,
    }
}
