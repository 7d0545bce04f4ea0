//! The generic read loop: one group of streams (a connection and the child
//! streams it feeds) at a time, a round of pages at a time (one per
//! partition, sent at once), checkpointing every stream after each round.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use crate::catalog::{Selected, SyncMode};
use crate::emit::Emitter;
use crate::error::{Error, FailureType, Result, Retry};
use crate::graphql::{self, Page, Root};
use crate::io::{Http, Sink};
use crate::messages::{self, Status};
use crate::plan::{self, Group};
use crate::position::Position;
use crate::query;
use crate::redact::Redactor;
use crate::retry::{self, RetryPolicy, Wait};
use crate::settings::{PageSize, Settings};
use crate::state::StreamState;
use crate::stream::{StreamDef, TotalCount};
use crate::time::now_ms;

pub struct Reader<'a> {
    pub http: &'a mut dyn Http,
    pub sink: &'a mut dyn Sink,
    pub settings: &'a Settings,
    pub redactor: &'a Redactor,
}

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
        let groups = plan::groups(selected);
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
        for group in &groups {
            let members = group.members();
            for name in &members {
                self.start(&mut progress, name);
            }
            let result = self.read_group(group, &mut progress);
            for name in members {
                let left = progress.left.entry(name).or_default();
                *left -= 1;
                let failed = progress.failed.contains(&name);
                if let Err(error) = &result {
                    if !failed {
                        self.sink
                            .emit(&messages::stream_status(name, Status::Incomplete));
                        self.sink
                            .emit(&messages::error(&self.redactor.error(error), Some(name)));
                        progress.failed.push(name);
                    }
                } else if *left == 0 && !failed {
                    self.sink
                        .emit(&messages::stream_status(name, Status::Complete));
                }
            }
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
        let saved = self.saved(group, progress).cloned();
        let mut page_size = self.settings.page_size;
        let mut position = match (group.mode, stream.incremental()) {
            (SyncMode::Incremental, Some(keys)) => {
                Position::incremental(keys, saved.as_ref(), self.settings.start_date.as_deref())
            }
            _ => {
                let (position, note) =
                    Position::full_refresh(stream, saved.as_ref(), page_size.rows());
                if let Some(note) = note {
                    self.log("INFO", &format!("{name}: {note}"));
                }
                position
            }
        };
        let (first_query, next_query) = (
            query::document(stream, &group.picks, TotalCount::Ask),
            query::document(stream, &group.picks, TotalCount::Skip),
        );
        let mut emitter = Emitter::new(group);
        let (mut pages, mut total, mut running) = (0u64, 0u64, false);
        loop {
            let requests = position.requests(page_size.rows());
            let query = if running { &next_query } else { &first_query };
            let fetched = match self.fetch_round(stream, query, &requests) {
                Ok(fetched) => fetched,
                Err(error) => {
                    let Retry::SmallerPage(max) = error.retry else {
                        return Err(error.context(format_args!("{name}, after {total} records")));
                    };
                    page_size = self.smaller(name, page_size, max, error)?;
                    continue;
                }
            };
            if !running {
                running = true;
                for member in group.members() {
                    self.sink
                        .emit(&messages::stream_status(member, Status::Running));
                }
                if let (Some(rows), Some(_)) = (
                    fetched.iter().map(|p| p.total_count).sum::<Option<u64>>(),
                    &group.parent,
                ) {
                    self.sink.emit(&messages::estimate(name, rows));
                }
            }
            let with_rows = position.advance(&fetched)?;
            let emitted_at = now_ms();
            let mut count = 0;
            for page in &fetched[..with_rows] {
                for node in page.nodes() {
                    emitter.node(&mut *self.sink, node, emitted_at)?;
                }
                count += page.nodes().len() as u64;
            }
            pages += with_rows as u64;
            total += count;
            let summary = match with_rows {
                0 if position.planning() => {
                    format!("{name}: large; asking for its newest row to split it by creation time")
                }
                0 => format!(
                    "{name}: reading {} partition(s) by creation time",
                    position.partitions()
                ),
                1 => format!("{name}: {count} records ({total} in all)"),
                n => format!("{name}: {n} pages at once, {count} records ({total} in all)"),
            };
            self.log("INFO", &summary);
            self.checkpoint(group, &position.state(), &mut emitter, progress);
            if position.done() {
                break;
            }
        }
        self.log(
            "INFO",
            &format!("{name}: done, {total} records in {pages} pages"),
        );
        Ok(())
    }

    /// A STATE per stream of the group, with the records it emitted since the last.
    fn checkpoint(
        &mut self,
        group: &Group,
        state: &StreamState,
        emitter: &mut Emitter,
        progress: &mut Progress,
    ) {
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
    }

    /// Sends a round's requests at once, then retries each that failed until it
    /// succeeds or its retries are spent.
    fn fetch_round(
        &mut self,
        stream: &StreamDef,
        query: &str,
        requests: &[Value],
    ) -> Result<Vec<Page>> {
        let policy = RetryPolicy::with_budget(self.settings.max_retry_seconds);
        let (http, sink, settings, redactor) = (
            &mut *self.http,
            &mut *self.sink,
            self.settings,
            self.redactor,
        );
        let root = Root {
            field: stream.root_field,
            list: stream.connection().is_none(),
        };
        let firsts = graphql::fetch_pages(http, settings, query, requests, root);
        firsts
            .into_iter()
            .zip(requests)
            .map(|(first, variables)| {
                retry::run_after(
                    &policy,
                    first,
                    || graphql::fetch_page(http, settings, query, variables, root),
                    |wait| report_wait(sink, redactor, stream.name, wait),
                )
            })
            .collect()
    }

    /// The page size after the server refused `page_size` (`max`: the most it
    /// said it accepts): the user's choice fails the stream with a config
    /// error; the engine's is lowered, with a LOG saying so.
    fn smaller(
        &mut self,
        stream: &str,
        page_size: PageSize,
        max: Option<u32>,
        error: Error,
    ) -> Result<PageSize> {
        let api = self.settings.api.name;
        let rows = page_size.rows();
        let next = max.filter(|max| *max < rows).unwrap_or(rows / 2);
        let refused = |why: String| {
            Err(Error::config(why).with_internal(match &error.internal {
                Some(internal) => format!("{}; {internal}", error.message),
                None => error.message.clone(),
            }))
        };
        match page_size {
            PageSize::Chosen(_) => refused(format!(
                "{api} refused pages of {rows} rows (`page_size`){}; lower `page_size`, or \
                 leave it empty so the connector finds what {api} accepts",
                max.map_or(String::new(), |max| format!(": it accepts at most {max}"))
            )),
            PageSize::Automatic(_) if next == 0 => {
                refused(format!("{api} refused pages of a single row"))
            }
            PageSize::Automatic(_) => {
                self.log(
                    "WARN",
                    &format!("{stream}: {api} refused pages of {rows} rows; asking for {next}"),
                );
                Ok(PageSize::Automatic(next))
            }
        }
    }

    fn log(&mut self, level: &str, message: &str) {
        self.sink.emit(&messages::log(level, message));
    }
}

/// Says why the read pauses, then sleeps through the pause.
fn report_wait(sink: &mut dyn Sink, redactor: &Redactor, stream: &str, wait: &Wait<'_>) {
    if wait.rate_limited {
        sink.emit(&messages::rate_limited(stream, now_ms() + wait.delay_ms));
    }
    let error = redactor.error(wait.error);
    let detail = error
        .internal
        .as_deref()
        .map_or(String::new(), |i| format!(" ({i})"));
    let message = format!(
        "{stream}: attempt {} failed: {}{detail}; retrying in {} ms",
        wait.attempt, error.message, wait.delay_ms
    );
    sink.emit(&messages::log("WARN", &message));
    std::thread::sleep(std::time::Duration::from_millis(wait.delay_ms));
}
