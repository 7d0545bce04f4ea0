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
use crate::position::Keyset;
use crate::position::{Pager, Position};
use crate::query;
use crate::read_activity::Wrap;
use crate::read_log::LOG_MARGIN_MS;
use crate::read_per_parent;
use crate::retrieve::{Queries, Round};
use crate::state::StreamState;
use crate::stream::{StreamDef, TotalCount};
use crate::time::{format_rfc3339_ms, now_ms};

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
        let (mut position, wrap) = self.position(group, saved.as_ref(), started_ms)?;
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
        let mut emitter = Emitter::new(group, absent);
        // Child streams are estimated from their parent's count, once rows came.
        let (mut parents, mut children_estimated) = (None, group.children.is_empty());
        let read = self.retrieve(&queries, &mut position, &mut |client, round| {
            if round.first {
                client.running(group, round.counted);
                parents = round.counted;
            }
            let emitted_at = now_ms();
            for node in round.pages.iter().flat_map(Page::nodes) {
                emitter.node(&mut *client.sink, node, emitted_at)?;
            }
            client.log("INFO", &summary(name, round));
            let state = wrap.apply(round.pager.state(), round.pager.done());
            let counts = client.checkpoint(group, &state, &mut emitter, progress);
            if let (false, Some(parents), 1..) = (children_estimated, parents, round.rows) {
                children_estimated = true;
                client.child_estimates(group, parents, round.rows, &counts);
            }
            Ok(())
        })?;
        if read.rounds == 0 {
            // Nothing to read (no change logged): the state still moves on.
            self.running(group, None);
            let state = wrap.apply(position.state(), true);
            self.checkpoint(group, &state, &mut emitter, progress);
        }
        self.log(
            "INFO",
            &format!(
                "{name}: done, {} records in {} pages",
                read.rows, read.pages
            ),
        );
        self.deletes_after(group, &mut position, started_ms)
    }

    /// After an incremental read of a stream whose deletions are logged:
    /// the deletions since the last sync (unless `track_deletes` is off).
    fn deletes_after(
        &mut self,
        group: &Group,
        position: &mut Position,
        started_ms: u64,
    ) -> Result<()> {
        let track = self.settings.track_deletes;
        match (position, &group.parent, track) {
            (Position::Incremental(keyset), Some(_), true) => {
                self.deletes(group.stream, keyset, started_ms)
            }
            _ => Ok(()),
        }
    }

    /// Where the group's read starts, and how its states are written: keyset
    /// for incremental streams with a cursor, the activity log for those
    /// read by it, a full refresh otherwise.
    fn position(
        &mut self,
        group: &Group,
        saved: Option<&StreamState>,
        started_ms: u64,
    ) -> Result<(Position, Wrap)> {
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
                let start = self.settings.start_date.as_deref();
                (Position::incremental(keys, saved, start), Wrap::Plain)
            }
            (SyncMode::Incremental, None, Some(activity)) => {
                self.activity_position(activity, saved, started_ms)?
            }
            _ => {
                let (position, note) = Position::full_refresh(stream, saved, self.rows());
                if let Some(note) = note {
                    self.log("INFO", &format!("{name}: {note}"));
                }
                (position, Wrap::Plain)
            }
        };
        Ok(chosen)
    }

    /// RUNNING for every stream of the group, and the estimate a parent's
    /// count gives.
    fn running(&mut self, group: &Group, counted: Option<u64>) {
        for member in group.members() {
            self.sink
                .emit(&messages::stream_status(member, Status::Running));
        }
        if let (Some(rows), Some(_)) = (counted, &group.parent) {
            self.sink.emit(&messages::estimate(group.stream.name, rows));
        }
    }

    /// After an incremental read of a stream with deletes: the deletions
    /// logged since the last sync's start, then a STATE that tracks them from
    /// this sync's start on (less a margin for clock skew: a deletion read
    /// twice deletes nothing more).
    fn deletes(
        &mut self,
        stream: &'static StreamDef,
        keyset: &mut Keyset,
        started_ms: u64,
    ) -> Result<()> {
        let Some(deletes) = stream.incremental().and_then(|i| i.deletes.as_ref()) else {
            return Ok(());
        };
        let name = stream.name;
        match keyset.deletes_from().map(str::to_owned) {
            Some(from) => {
                let count = self.read_deletes(stream, deletes, &from)?;
                self.log(
                    "INFO",
                    &format!("{name}: {count} deleted rows since {from}"),
                );
            }
            None => self.log(
                "INFO",
                &format!("{name}: deletions are tracked from this sync on"),
            ),
        }
        let from = started_ms as i64 - LOG_MARGIN_MS;
        keyset.set_deletes_from(format_rfc3339_ms(from));
        let state = keyset.state().to_value();
        self.sink.emit(&messages::stream_state(name, &state, 0));
        Ok(())
    }

    /// An ESTIMATE for each child stream read from this parent alone: its
    /// rows per parent row so far, times the parent's count. (A child read
    /// from several parents, whose estimates would each count one, gets none.)
    fn child_estimates(&mut self, group: &Group, parents: u64, parent_rows: u64, counts: &[u64]) {
        for (out, rows) in group.children.iter().zip(&counts[1..]) {
            let one_parent = (out.child.sources.iter()).all(|s| s.parent.name == group.stream.name);
            if one_parent {
                let estimate = rows * parents / parent_rows;
                self.sink
                    .emit(&messages::estimate(out.child.name, estimate));
            }
        }
    }

    /// A STATE per stream of the group, with the records it emitted since
    /// the last; those counts (the parent's first).
    fn checkpoint(
        &mut self,
        group: &Group,
        state: &StreamState,
        emitter: &mut Emitter,
        progress: &mut Progress,
    ) -> Vec<u64> {
        let counts = emitter.take_counts();
        if group.parent.is_some() {
            self.sink.emit(&messages::stream_state(
                group.stream.name,
                &state.to_value(),
                counts[0],
            ));
        }
        for (child, count) in group.children.iter().zip(&counts[1..]) {
            let name = child.child.name;
            let parents = progress.by_parent.entry(name).or_default();
            parents.insert(group.stream.name.to_owned(), state.clone());
            let state = StreamState::ByParent {
                parents: parents.clone(),
            };
            self.sink
                .emit(&messages::stream_state(name, &state.to_value(), *count));
        }
        counts
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
