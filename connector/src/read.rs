//! The generic read loop: one stream at a time, page by page, checkpointing after each.

use std::collections::HashMap;

use crate::catalog::{Selected, SyncMode};
use crate::config::Config;
use crate::error::{Error, FailureType, Result};
use crate::graphql;
use crate::io::{Http, Sink};
use crate::messages::{self, Status};
use crate::position::Position;
use crate::retry::{self, RetryPolicy, Wait};
use crate::state::StreamState;
use crate::time::now_ms;
use crate::Redactor;

pub struct Reader<'a> {
    pub http: &'a mut dyn Http,
    pub sink: &'a mut dyn Sink,
    pub config: &'a Config,
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
        let mut position = match (selection.mode, &stream.incremental) {
            (SyncMode::Incremental, Some(keys)) => {
                Position::incremental(keys, saved, self.config.start_date.as_deref())
            }
            _ => {
                let (position, note) = Position::full_refresh(stream, saved);
                if let Some(note) = note {
                    self.log("INFO", &format!("{name}: {note}"));
                }
                position
            }
        };
        let query = stream.query();
        let policy = RetryPolicy::reading(self.config.max_retry_seconds);
        let mut line = String::new();
        let (mut pages, mut total) = (0u64, 0u64);
        loop {
            let variables = position.variables(self.config.page_size);
            let (http, sink, config, redactor) =
                (&mut *self.http, &mut *self.sink, self.config, self.redactor);
            let page = retry::run(
                &policy,
                || graphql::fetch_page(http, config, &query, &variables, stream.root_field),
                |wait| report_wait(sink, redactor, name, wait),
            )?;
            if pages == 0 {
                self.sink
                    .emit(&messages::stream_status(name, Status::Running));
                if let Some(rows) = page.total_count {
                    self.sink.emit(&messages::estimate(name, rows));
                }
            }
            let more = position.advance(&page)?;
            let emitted_at = now_ms();
            for node in page.nodes() {
                line.clear();
                messages::record(&mut line, name, node, emitted_at);
                self.sink.emit(&line);
            }
            let count = page.nodes().len() as u64;
            pages += 1;
            total += count;
            self.log(
                "INFO",
                &format!("{name}: page {pages}, {count} records ({total} in all)"),
            );
            let state = position.state(!more).to_value();
            self.sink.emit(&messages::stream_state(name, &state, count));
            if !more {
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
