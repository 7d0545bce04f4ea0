//! The generic read loop: one stream at a time, a round of pages at a time
//! (one per partition, sent at once), checkpointing after each round.

use std::collections::HashMap;

use serde_json::Value;

use crate::catalog::{Selected, SyncMode};
use crate::error::{Error, FailureType, Result};
use crate::graphql::{self, Page};
use crate::io::{Http, Sink};
use crate::messages::{self, Status};
use crate::position::Position;
use crate::redact::Redactor;
use crate::retry::{self, RetryPolicy, Wait};
use crate::settings::Settings;
use crate::state::StreamState;
use crate::stream::StreamDef;
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
        let page_size = self.settings.page_size;
        let mut position = match (selection.mode, &stream.incremental) {
            (SyncMode::Incremental, Some(keys)) => {
                Position::incremental(keys, saved, self.settings.start_date.as_deref())
            }
            _ => {
                let (position, note) = Position::full_refresh(stream, saved, page_size);
                if let Some(note) = note {
                    self.log("INFO", &format!("{name}: {note}"));
                }
                position
            }
        };
        let query = stream.query();
        let mut line = String::new();
        let (mut pages, mut total) = (0u64, 0u64);
        for round in 0.. {
            let requests = position.requests(page_size);
            let fetched = self
                .fetch_round(stream, &query, &requests)
                .map_err(|e| e.context(format_args!("{name}, after {total} records")))?;
            if round == 0 {
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
