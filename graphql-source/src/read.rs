//! The generic read loop: one stream at a time, a round of pages at a time
//! (one per partition, sent at once), checkpointing after each round.

use std::collections::HashMap;

use serde_json::Value;

use crate::catalog::{Selected, SyncMode};
use crate::error::{Error, FailureType, Result, Retry};
use crate::graphql::{self, Page};
use crate::io::{Http, Sink};
use crate::messages::{self, Status};
use crate::position::Position;
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

impl Reader<'_> {
    /// Reads every selected stream. A stream that fails is reported (TRACE ERROR,
    /// INCOMPLETE) and the others still run, except after a config error, which
    /// every later stream would hit too.
    pub fn read_all(
        &mut self,
        selected: &[Selected],
        states: &HashMap<String, StreamState>,
    ) -> Result<()> {
        let mut failed = Vec::new();
        for selection in selected {
            let name = selection.stream.name;
            if let Err(error) = self.read_stream(selection, states.get(name)) {
                self.sink
                    .emit(&messages::stream_status(name, Status::Incomplete));
                self.sink
                    .emit(&messages::error(&self.redactor.error(&error), Some(name)));
                failed.push(name);
                if error.failure_type == FailureType::Config {
                    return Err(error);
                }
            }
        }
        match failed.as_slice() {
            [] => Ok(()),
            names => Err(Error::system(format!(
                "streams failed: {}",
                names.join(", ")
            ))),
        }
    }

    fn read_stream(&mut self, selection: &Selected, saved: Option<&StreamState>) -> Result<()> {
        let stream = selection.stream;
        let name = stream.name;
        self.sink
            .emit(&messages::stream_status(name, Status::Started));
        if selection.downgraded {
            self.log(
                "WARN",
                &format!("{name}: supports full refresh only; reading it in full"),
            );
        }
        let mut page_size = self.settings.page_size;
        let mut position = match (selection.mode, &stream.incremental) {
            (SyncMode::Incremental, Some(keys)) => {
                Position::incremental(keys, saved, self.settings.start_date.as_deref())
            }
            _ => {
                let (position, note) = Position::full_refresh(stream, saved, page_size.rows());
                if let Some(note) = note {
                    self.log("INFO", &format!("{name}: {note}"));
                }
                position
            }
        };
        let (first_query, next_query) = (
            stream.query(TotalCount::Ask),
            stream.query(TotalCount::Skip),
        );
        let mut line = String::new();
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
                self.sink
                    .emit(&messages::stream_status(name, Status::Running));
                if let Some(rows) = fetched.iter().map(|p| p.total_count).sum() {
                    self.sink.emit(&messages::estimate(name, rows));
                }
            }
            let with_rows = position.advance(&fetched)?;
            let emitted_at = now_ms();
            let mut count = 0;
            for page in &fetched[..with_rows] {
                for node in page.nodes() {
                    line.clear();
                    messages::record(&mut line, name, node, emitted_at);
                    self.sink.emit(&line);
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
            let state = position.state().to_value();
            self.sink.emit(&messages::stream_state(name, &state, count));
            if position.done() {
                break;
            }
        }
        self.sink
            .emit(&messages::stream_status(name, Status::Complete));
        self.log(
            "INFO",
            &format!("{name}: done, {total} records in {pages} pages"),
        );
        Ok(())
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
        let firsts = graphql::fetch_pages(http, settings, query, requests, stream.root_field);
        firsts
            .into_iter()
            .zip(requests)
            .map(|(first, variables)| {
                retry::run_after(
                    &policy,
                    first,
                    || graphql::fetch_page(http, settings, query, variables, stream.root_field),
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
