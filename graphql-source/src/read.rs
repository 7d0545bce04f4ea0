//! The generic read loop: one group of streams (a connection and the child
//! streams it feeds) at a time, a round of pages at a time (one per
//! partition, sent at once), checkpointing every stream after each round.

use std::collections::{BTreeMap, HashMap};

use crate::catalog::{Selected, SyncMode};
use crate::emit::Emitter;
use crate::error::{Error, FailureType, Result};
use crate::fetch::Reader;
use crate::group::{self, Group};
use crate::messages::{self, Status};
use crate::page::{Page, Root};
use crate::position::{ByLog, Keyset, Pager, Position};
use crate::query;
use crate::read_activity::ByActivity;
use crate::read_log::log_from;
use crate::read_per_parent;
use crate::retrieve::{Checkpoint, Queries, Round, Rows};
use crate::state::{CursorAt, PartitionsLeft, StreamState};
use crate::stream::{StreamDef, TotalCount};
use crate::time::now_ms;

/// Where each selected stream stands across the groups that feed it.
struct Progress<'s> {
    selected: &'s [Selected],
    saved: &'s HashMap<String, StreamState>,
    /// Groups still to read per stream: COMPLETE after its last.
    left: HashMap<&'static str, usize>,
    started: Vec<&'static str>,
    failed: Vec<&'static str>,
    /// Child streams' states, one entry per parent.
    by_parent: HashMap<&'static str, BTreeMap<String, StreamState>>,
}

impl Reader<'_> {
    /// Reads every selected stream, a group (one connection and the streams
    /// it feeds) at a time. A stream that fails is reported (TRACE ERROR,
    /// INCOMPLETE) and the others still run, except after a config error,
    /// which every later stream would hit too.
    pub fn read_all(
        &mut self,
        selected: &[Selected],
        states: &HashMap<String, StreamState>,
    ) -> Result<()> {
        let groups = group::groups(selected);
        let mut progress = Progress {
            selected,
            saved: states,
            left: HashMap::new(),
            started: Vec::new(),
            failed: Vec::new(),
            by_parent: HashMap::new(),
        };
        for name in groups.iter().flat_map(Group::members) {
            *progress.left.entry(name).or_default() += 1;
            if let Some(StreamState::ByParent { parents }) = states.get(name) {
                progress.by_parent.insert(name, parents.clone());
            }
        }
        self.read_groups(&groups, &mut progress)?;
        for selection in selected {
            let Some(stream) = read_per_parent::per_parent(selection.stream) else {
                continue;
            };
            self.start(&mut progress, stream.name);
            let result = self.read_per_parent(stream, selection.mode, states.get(stream.name));
            self.finish(&mut progress, stream.name, &result);
            if let Err(error) = result {
                if error.failure_type == FailureType::Config {
                    return Err(error);
                }
            }
        }
        match progress.failed.as_slice() {
            [] => Ok(()),
            names => Err(Error::system(format!(
                "streams failed: {}",
                names.join(", ")
            ))),
        }
    }

    /// Reads the groups; stops at a config error, which every later group
    /// would hit too.
    fn read_groups(&mut self, groups: &[Group], progress: &mut Progress) -> Result<()> {
        for group in groups {
            let members = group.members();
            for name in &members {
                self.start(progress, name);
            }
            let result = self.read_group(group, progress);
            for name in members {
                self.finish(progress, name, &result);
            }
            if let Err(error) = result {
                if error.failure_type == FailureType::Config {
                    return Err(error);
                }
            }
        }
        Ok(())
    }

    /// After one read feeding `name`: INCOMPLETE and the error once if it
    /// failed, COMPLETE after its last read otherwise.
    fn finish(&mut self, progress: &mut Progress, name: &'static str, result: &Result<()>) {
        let left = progress.left.entry(name).or_insert(1);
        *left = left.saturating_sub(1);
        let left = *left;
        let failed = progress.failed.contains(&name);
        match result {
            Err(error) if !failed => {
                self.sink
                    .emit(&messages::stream_status(name, Status::Incomplete));
                self.sink
                    .emit(&messages::error(&self.redactor.error(error), Some(name)));
                progress.failed.push(name);
            }
            Ok(()) if left == 0 && !failed => {
                self.sink
                    .emit(&messages::stream_status(name, Status::Complete));
            }
            _ => {}
        }
    }

    /// STARTED, once per stream, and why a stream is read in full.
    fn start(&mut self, progress: &mut Progress, name: &'static str) {
        if progress.started.contains(&name) {
            return;
        }
        progress.started.push(name);
        self.sink
            .emit(&messages::stream_status(name, Status::Started));
        let downgraded = progress
            .selected
            .iter()
            .any(|s| s.stream.name() == name && s.downgraded);
        if downgraded {
            self.log(
                "WARN",
                &format!("{name}: supports full refresh only; reading it in full"),
            );
        }
    }

    /// Where the group resumes: the state its streams saved, when they all
    /// saved the same; otherwise (a stream added since, or a parent read
    /// alone) from the start, which loses nothing.
    fn saved<'p>(&mut self, group: &Group, progress: &'p Progress) -> Option<&'p StreamState> {
        let parent = group
            .parent
            .as_ref()
            .map(|_| progress.saved.get(group.stream.name));
        let children = group.children.iter().map(|c| {
            progress
                .by_parent
                .get(c.child.name)
                .and_then(|parents| parents.get(group.stream.name))
        });
        let saved: Vec<Option<&StreamState>> = parent.into_iter().chain(children).collect();
        if saved.windows(2).all(|pair| pair[0] == pair[1]) {
            return saved.first().copied().flatten();
        }
        self.log(
            "INFO",
            &format!(
                "{}: {} saved different positions; reading them from the start",
                group.stream.name,
                group.members().join(", ")
            ),
        );
        None
    }

    fn read_group(&mut self, group: &Group, progress: &mut Progress) -> Result<()> {
        let stream = group.stream;
        let name = stream.name;
        let started_ms = now_ms();
        let saved = self.saved(group, progress).cloned();
        let (mut position, by_log) = self.position(group, saved.as_ref(), started_ms)?;
        let absent = self.absent.paths(stream.root_field);
        let (first, next) = (
            query::document(stream, &group.picks, TotalCount::Ask, absent),
            query::document(stream, &group.picks, TotalCount::Skip, absent),
        );
        let queries = Queries {
            label: name,
            stream: group.parent.as_ref().map(|_| name),
            root: Root {
                field: stream.root_field,
                list: stream.connection().is_none(),
            },
            first: &first,
            next: &next,
        };
        let mut rows = GroupRows {
            group,
            emitter: Emitter::new(group, absent),
            by_parent: &mut progress.by_parent,
        };
        let mut logged = None;
        let pager = ByLog::over(by_log, &mut position, &mut logged);
        let read = self.retrieve(&queries, pager, &mut rows)?;
        self.log(
            "INFO",
            &format!(
                "{name}: done, {} records in {} pages",
                read.rows, read.pages
            ),
        );
        match (position, saved) {
            (Position::Incremental(keyset), Some(StreamState::Incremental(saved))) => {
                self.deletes(group, keyset, saved.deletes_from.as_deref(), started_ms)
            }
            _ => Ok(()),
        }
    }

    /// Where the group's read starts, and what the log adds to it: keyset
    /// for incremental streams with a cursor (tracking deletions from this
    /// sync on, when it is their first), the activity log for those read by
    /// it, a full refresh otherwise.
    fn position(
        &mut self,
        group: &Group,
        saved: Option<&StreamState>,
        started_ms: u64,
    ) -> Result<(Position, Option<ByLog>)> {
        let stream = group.stream;
        let name = stream.name;
        let by_activity = self
            .settings
            .api
            .activity
            .iter()
            .find(|a| a.stream.name == name && self.settings.activity_streams.contains(&name));
        let chosen = match (group.mode, stream.incremental(), by_activity) {
            (SyncMode::Incremental, Some(keys), _) => {
                let saved = match saved {
                    Some(StreamState::Incremental(at)) => Some(at),
                    _ => None,
                };
                let start = self.settings.start_date.as_deref();
                let mut keyset = Keyset::new(keys, saved, start);
                if self.tracks_deletes(group) && keyset.deletes_from().is_none() {
                    self.log(
                        "INFO",
                        &format!("{name}: deletions are tracked from this sync on"),
                    );
                    keyset.set_deletes_from(log_from(started_ms));
                }
                (Position::Incremental(keyset), None)
            }
            (SyncMode::Incremental, None, Some(activity)) => {
                match self.activity_position(activity, saved, started_ms)? {
                    (ByActivity::Changed(ids), by_log) => (Position::ByIds(*ids), Some(by_log)),
                    (ByActivity::All(resumed), by_log) => {
                        (self.full_refresh(stream, resumed), Some(by_log))
                    }
                }
            }
            _ => {
                let saved = match saved {
                    Some(StreamState::FullRefresh(left)) => Some(left),
                    _ => None,
                };
                (self.full_refresh(stream, saved), None)
            }
        };
        Ok(chosen)
    }

    /// A full refresh of `stream`, resumed from `saved` where it can be.
    fn full_refresh(
        &mut self,
        stream: &'static StreamDef,
        saved: Option<&PartitionsLeft>,
    ) -> Position {
        let (position, note) = Position::full_refresh(stream, saved, self.rows());
        if let Some(note) = note {
            self.log("INFO", &format!("{}: {note}", stream.name));
        }
        position
    }

    /// Whether an incremental read of the group's stream is followed by
    /// the deletions logged since the last sync.
    fn tracks_deletes(&self, group: &Group) -> bool {
        let logged = group
            .stream
            .incremental()
            .is_some_and(|i| i.deletes.is_some());
        logged && group.parent.is_some() && self.settings.track_deletes
    }

    /// After an incremental read of a stream with deletes: the deletions
    /// logged from the last sync's start on (`from`, when one tracked
    /// them), then a STATE that tracks them from this sync's start on.
    fn deletes(
        &mut self,
        group: &Group,
        keyset: Keyset,
        from: Option<&str>,
        started_ms: u64,
    ) -> Result<()> {
        let stream = group.stream;
        let (Some(deletes), Some(from), true) = (
            stream.incremental().and_then(|i| i.deletes.as_ref()),
            from,
            self.tracks_deletes(group),
        ) else {
            return Ok(());
        };
        let after = CursorAt {
            deletes_from: Some(log_from(started_ms)),
            ..keyset.cursor_at()
        };
        let count = self.read_deletes(stream, deletes, from, after)?;
        self.log(
            "INFO",
            &format!("{}: {count} deleted rows since {from}", stream.name),
        );
        Ok(())
    }
}

/// What a group's read does with its rows: each stream's records, and a
/// STATE per stream of the group (a child's holding each parent's).
struct GroupRows<'g> {
    group: &'g Group,
    emitter: Emitter<'g>,
    by_parent: &'g mut HashMap<&'static str, BTreeMap<String, StreamState>>,
}

impl Rows for GroupRows<'_> {
    fn streams(&self) -> Vec<&'static str> {
        self.group.members()
    }

    fn emit(&mut self, reader: &mut Reader, round: &Round) -> Result<()> {
        let emitted_at = now_ms();
        for node in round.pages.iter().flat_map(Page::nodes) {
            self.emitter.node(&mut *reader.sink, node, emitted_at)?;
        }
        reader.log("INFO", &summary(self.group.stream.name, round));
        Ok(())
    }

    fn checkpoints(&mut self, pager: &dyn Pager) -> Vec<Checkpoint> {
        let (group, state) = (self.group, pager.state());
        let counts = self.emitter.take_counts();
        let mut checkpoints = Vec::new();
        if group.parent.is_some() {
            checkpoints.push(Checkpoint {
                stream: group.stream.name,
                state: state.clone(),
                records: counts[0],
                whole: true,
            });
        }
        for (out, records) in group.children.iter().zip(&counts[1..]) {
            let child = out.child;
            let parents = self.by_parent.entry(child.name).or_default();
            parents.insert(group.stream.name.to_owned(), state.clone());
            checkpoints.push(Checkpoint {
                stream: child.name,
                state: StreamState::ByParent {
                    parents: parents.clone(),
                },
                records: *records,
                whole: (child.sources.iter()).all(|s| s.parent.name == group.stream.name),
            });
        }
        checkpoints
    }
}

/// The LOG line after a round.
fn summary(name: &str, round: &Round) -> String {
    let (count, total) = (round.rows, round.total);
    match round.pages.len() {
        0 if round.pager.planning() => {
            format!("{name}: large; asking for its newest row to split it by creation time")
        }
        0 => format!(
            "{name}: reading {} partition(s) by creation time",
            round.pager.partitions()
        ),
        1 => format!("{name}: {count} records ({total} in all)"),
        n => format!("{name}: {n} pages at once, {count} records ({total} in all)"),
    }
}
