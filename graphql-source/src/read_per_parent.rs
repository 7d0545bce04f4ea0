//! Reading a per-parent stream: list its parents (their keys only, no
//! record emitted), then read a few parents at a time, checkpointing the
//! first unfinished one after each round.

use crate::catalog::{Stream, SyncMode};
use crate::emit;
use crate::error::{Error, Result};
use crate::fetch::Reader;
use crate::page::{Page, Root};
use crate::position::per_parent::{parent_order, Parent, Parents};
use crate::position::{ByIds, ByLog, Form, Pager, Position, Since};
use crate::query::{self, Pick};
use crate::read_log::{log_from, LogQuery};
use crate::retrieve::{Checkpoint, Queries, Round, Rows};
use crate::state::{ParentsFrom, StreamState};
use crate::stream::{top_level, Answer, ParentActivity, PerParentDef, TotalCount};
use crate::time::now_ms;

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
        let (listed, saved, by_log) = self.parents_to_read(stream, mode, saved)?;
        let (mut parents, note) = Parents::new(stream, listed, saved, PARENTS_AT_ONCE);
        if let Some(note) = note {
            self.log("INFO", &format!("{name}: {note}"));
        }
        let cost = self.cost(stream, parents.left() as u64);
        self.log("INFO", &cost);
        let absent = self.absent.paths(stream.root_field);
        let query = query::per_parent_document(stream, absent);
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
        let mut rows = ParentRows {
            stream,
            nulls: (stream.fields.iter().map(|f| f.name))
                .filter(|name| absent.iter().any(|a| a == name))
                .collect(),
            line: String::new(),
            records: 0,
        };
        let mut logged = None;
        let pager = ByLog::over(by_log, &mut parents, &mut logged);
        let read = self.retrieve(&queries, pager, &mut rows)?;
        self.log("INFO", &format!("{name}: done, {} records", read.rows));
        Ok(())
    }

    /// The parents this read goes through, the saved position among them to
    /// resume from, and what the log adds: every parent (resumed from
    /// `saved`), or, for an incremental sync by the log, those it names.
    fn parents_to_read<'s>(
        &mut self,
        stream: &'static PerParentDef,
        mode: SyncMode,
        saved: Option<&'s StreamState>,
    ) -> Result<(Vec<Parent>, Option<&'s ParentsFrom>, Option<ByLog>)> {
        let next = log_from(now_ms());
        let by_log = stream
            .incremental
            .as_ref()
            .filter(|_| mode == SyncMode::Incremental);
        let resumed = match saved {
            Some(StreamState::PerParent(at)) => Some(at),
            _ => None,
        };
        let full = |from: String| ByLog {
            since: Since::Full { from },
            form: Form::PerParent,
        };
        let chosen = match (by_log, saved) {
            (Some(activity), Some(StreamState::PerParentLog { from })) => {
                let parents = self.parents_in_log(stream, activity, from)?;
                let since = Since::Changes {
                    from: from.clone(),
                    next,
                };
                let by_log = ByLog {
                    since,
                    form: Form::PerParent,
                };
                (parents, None, Some(by_log))
            }
            (Some(_), _) => {
                let from = resumed.and_then(|at| at.activity_from.clone());
                let by_log = full(from.unwrap_or(next));
                (self.list_parents(stream, None)?, resumed, Some(by_log))
            }
            (None, _) => (self.list_parents(stream, None)?, resumed, None),
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
        self.retrieve(
            &queries,
            &mut position,
            &mut |_: &mut Reader, round: &Round| {
                for node in round.pages.iter().flat_map(Page::nodes) {
                    parents.push(Parent::from_node(node, stream)?);
                }
                Ok(())
            },
        )?;
        Ok(parents)
    }
}

/// What a per-parent read does with its rows: a record each, named by the
/// parent it was asked for; a STATE after every round.
struct ParentRows<'a> {
    stream: &'static PerParentDef,
    /// Columns the server's schema no longer has: written as null.
    nulls: Vec<&'a str>,
    line: String,
    records: u64,
}

impl Rows for ParentRows<'_> {
    fn streams(&self) -> Vec<&'static str> {
        vec![self.stream.name]
    }

    fn emit(&mut self, reader: &mut Reader, round: &Round) -> Result<()> {
        let (stream, emitted_at) = (self.stream, now_ms());
        let first = stream.naming.first().map_or("", |n| n.input);
        for (page, request) in round.pages.iter().zip(round.requests) {
            let parent = request[stream.argument][first].as_str().unwrap_or_default();
            for node in page.nodes() {
                self.line.clear();
                let parent = (parent, self.nulls.as_slice());
                emit::keyed_record(&mut self.line, stream, node, parent, emitted_at)?;
                reader.sink.record(&self.line);
            }
        }
        self.records += round.rows;
        Ok(())
    }

    fn checkpoints(&mut self, pager: &dyn Pager) -> Vec<Checkpoint> {
        vec![Checkpoint {
            stream: self.stream.name,
            state: pager.state(),
            records: std::mem::take(&mut self.records),
            whole: false,
        }]
    }
}

/// Whether a selected stream is read one parent at a time.
pub fn per_parent(stream: Stream) -> Option<&'static PerParentDef> {
    match stream {
        Stream::PerParent(def) => Some(def),
        _ => None,
    }
}
