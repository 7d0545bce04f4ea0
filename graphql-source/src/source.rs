//! The Airbyte commands the engine runs for an [`Api`]: spec, check, discover, read.

use serde_json::{json, Value};

use crate::api::Api;
use crate::catalog::{self, Selected, SyncMode};
use crate::drift::{self, Absent, Finding};
use crate::error::{Error, FailureType};
use crate::fetch::{Reader, Requester};
use crate::graphql;
use crate::io::{Http, Sink};
use crate::messages::{self, Status};
use crate::pace::Pacer;
use crate::redact::Redactor;
use crate::retry::{self, RetryPolicy};
use crate::settings::{
    activity_key, Settings, DEFAULT_ACTIVITY_FULL_REFRESH_EVERY, DEFAULT_MAX_RETRY_SECONDS,
    DEFAULT_PROGRESS_LOG_SECONDS, DEFAULT_RATE_LIMIT_SHARE, MAX_PAGE_SIZE, MAX_RETRY_SECONDS,
};
use crate::state;

/// What a failed command reports to its caller: the TRACE ERROR is already emitted.
pub type Outcome = Result<(), String>;

impl Api {
    /// Emits the SPEC.
    pub fn spec(&self, sink: &mut dyn Sink) -> Outcome {
        sink.emit(&messages::spec(
            self.connection_specification(),
            self.documentation_url,
        ));
        Ok(())
    }

    fn connection_specification(&self) -> Value {
        let mut spec = self.base_specification();
        let properties = &mut spec["properties"];
        for (i, activity) in self.activity.iter().enumerate() {
            let name = activity.stream.name;
            properties[activity_key(name)] = json!({
                "type": "boolean",
                "title": format!("Incremental `{name}` from the activity log"),
                "description": format!("`{name}` has no cursor, so it is read in full. On: an incremental sync reads again only the {name} that {}'s activity log names as changed since the last sync, and every `activity_full_refresh_every` syncs all of them (which corrects what the log missed: {} does not document that it logs every change).", self.name, self.name),
                "default": false,
                "order": 10 + i,
            });
        }
        if !self.activity.is_empty() {
            properties["activity_full_refresh_every"] = json!({
                "type": "integer",
                "title": "Full refresh every N syncs",
                "description": "Streams read by the activity log are read in full on every N-th incremental sync.",
                "default": DEFAULT_ACTIVITY_FULL_REFRESH_EVERY,
                "minimum": 1,
                "maximum": 1000,
                "order": 10 + self.activity.len(),
            });
        }
        spec
    }

    fn base_specification(&self) -> Value {
        let mut properties = self.source_properties();
        for more in [self.pacing_properties(), self.read_properties()] {
            if let (Value::Object(all), Value::Object(more)) = (&mut properties, more) {
                all.extend(more);
            }
        }
        json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "title": format!("{} Source Spec", self.name),
            "type": "object",
            "required": ["api_key"],
            "additionalProperties": true,
            "properties": properties,
        })
    }

    /// The key, where reads start, the page size.
    fn source_properties(&self) -> Value {
        json!({
            "api_key": {
                "type": "string",
                "title": "API Key",
                "description": self.key_description,
                "airbyte_secret": true,
                "order": 0,
            },
            "start_date": {
                "type": "string",
                "title": "Start date",
                "description": "Incremental streams read rows updated at or after this time (UTC unless it says otherwise) on their first sync. Empty: all rows. A date alone (2024-01-31) means its midnight UTC.",
                "format": "date-time",
                "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2}))?$",
                "pattern_descriptor": "YYYY-MM-DDTHH:mm:ssZ",
                "examples": ["2024-01-31T00:00:00Z", "2024-01-31"],
                "order": 1,
            },
            "page_size": {
                "type": "integer",
                "title": "Page size",
                "description": format!("Rows per GraphQL request. Empty: as many as {} accepts, from {MAX_PAGE_SIZE} down (the connector lowers it when a page is refused as too large). A value set here that {} refuses fails the sync.", self.name, self.name),
                "minimum": 1,
                "maximum": MAX_PAGE_SIZE,
                "order": 2,
            },
        })
    }

    /// Retries and pacing.
    fn pacing_properties(&self) -> Value {
        json!({
            "max_retry_seconds": {
                "type": "integer",
                "title": "Retry budget (seconds)",
                "description": "How long one request may be retried in all (rate limits, server errors), the retried attempts counted, before the sync fails. 0 turns retries off; check stops at 60 s.",
                "default": DEFAULT_MAX_RETRY_SECONDS,
                "minimum": 0,
                "maximum": MAX_RETRY_SECONDS,
                "order": 3,
            },
            "rate_limit_share": {
                "type": "number",
                "title": "Share of the rate limits",
                "description": format!("The share of each of {}'s per-minute limits (per operation, per API key) a sync may use, so the key's other users keep the rest. The sync paces its requests to stay within it.", self.name),
                "default": DEFAULT_RATE_LIMIT_SHARE,
                "exclusiveMinimum": 0,
                "maximum": 1,
                "order": 6,
            },
            "rate_limits": {
                "type": "array",
                "title": "Rate limits",
                "description": format!("Override {}'s published limits, for accounts whose limits were raised: calls per window (a minute, unless `rate_limit_window_seconds` says otherwise) for an operation. (The object form of 0.4, operation to calls, is still read.)", self.name),
                "items": {
                    "type": "object",
                    "title": "Rate limit",
                    "required": ["operation", "calls_per_minute"],
                    "additionalProperties": false,
                    "properties": {
                        "operation": {
                            "type": "string",
                            "title": "Operation",
                            "description": "A GraphQL root field (e.g. `subscriptions`), or `*` for every operation.",
                            "examples": ["subscriptions", "*"],
                            "order": 0,
                        },
                        "calls_per_minute": {
                            "type": "integer",
                            "title": "Calls per minute",
                            "description": "Calls the API key may make in a window.",
                            "minimum": 1,
                            "examples": [3000],
                            "order": 1,
                        },
                    },
                },
                "order": 7,
            },
            "rate_limit_window_seconds": {
                "type": "integer",
                "title": "Rate-limit window (seconds)",
                "description": format!("The length of the window {}'s limits count calls in. Change it only for a proxy or a test server that limits differently.", self.name),
                "default": self.rate_limits.window_seconds,
                "minimum": 1,
                "maximum": 3600,
                "order": 8,
            },
        })
    }

    /// Progress, deletions and the endpoint.
    fn read_properties(&self) -> Value {
        json!({
            "progress_log_seconds": {
                "type": "integer",
                "title": "Progress every (seconds)",
                "description": "How often a long stream says how far it is: a LOG with the records and requests so far, the rate and the time left where it can be told, and an updated ESTIMATE.",
                "default": DEFAULT_PROGRESS_LOG_SECONDS,
                "minimum": 1,
                "maximum": 3600,
                "order": 9,
            },
            "track_deletes": {
                "type": "boolean",
                "title": "Emit deletions",
                "description": "Incremental streams whose deletions the API logs emit, for each row deleted since the last sync, a record with its key and `_ab_cdc_deleted_at` (append + dedup destinations then delete the row).",
                "default": true,
                "order": 5,
            },
            "base_url": {
                "type": "string",
                "title": "API URL",
                "description": format!("{}'s GraphQL endpoint. Change it only for a proxy or a test server.", self.name),
                "default": self.default_base_url,
                "format": "uri",
                "order": 4,
            }
        })
    }

    /// The origins the config needs to reach (for the host's allow-list).
    pub fn allowed_origins(&'static self, config: &str) -> Result<Vec<String>, String> {
        Settings::parse(config, self)
            .map(|s| vec![s.endpoint.origin])
            .map_err(|e| e.message)
    }

    /// Emits CONNECTION_STATUS: SUCCEEDED when the check query works, with
    /// what the server's schema no longer has of the declared queries.
    pub fn check(&'static self, http: &mut dyn Http, sink: &mut dyn Sink, config: &str) -> Outcome {
        let result = Settings::parse(config, self).and_then(|settings| {
            let redactor = Redactor::new(&settings);
            self.probe(http, &settings)
                .map_err(|e| redactor.error(&e))?;
            Ok(self.drift_note(http, sink, &settings, &redactor))
        });
        let message = result.as_ref().err().map(|e| match e.failure_type {
            FailureType::Config => e.message.clone(),
            _ => format!(
                "{} ({})",
                e.message,
                e.internal.as_deref().unwrap_or("no detail")
            ),
        });
        let note = result.ok().flatten();
        sink.emit(&messages::connection_status(match &message {
            Some(message) => Err(message),
            None => Ok(note.as_deref()),
        }));
        Ok(())
    }

    /// What `check` says of the schema's drift: `None` when there is none
    /// (or the server's schema cannot be read, which a LOG says).
    fn drift_note(
        &self,
        http: &mut dyn Http,
        sink: &mut dyn Sink,
        settings: &Settings,
        redactor: &Redactor,
    ) -> Option<String> {
        if !self.introspection {
            return None;
        }
        let fetch = || {
            graphql::fetch_body(http, settings, drift::QUERY, &json!({}))
                .and_then(|body| drift::Served::parse(&body))
        };
        let pause = |wait: &retry::Wait<'_>| {
            std::thread::sleep(std::time::Duration::from_millis(wait.delay_ms))
        };
        let policy = RetryPolicy::checking(settings.max_retry_seconds);
        let answer = retry::run(&policy, fetch, pause);
        let served = self.schema_or_warn(answer, sink, redactor)?;
        let found: Vec<String> = drift::findings(self, &served)
            .iter()
            .map(|f| match f.needed {
                true => format!("{} (its streams cannot be read)", f.describe()),
                false => format!("{} (left out: its column will be null)", f.describe()),
            })
            .collect();
        (!found.is_empty()).then(|| {
            format!(
                "{}'s schema has changed since this connector was released: {}; update the connector",
                self.name,
                found.join("; ")
            )
        })
    }

    /// The server's schema, or `None` when it did not answer the schema
    /// query (a WARN says why; a rejected key says nothing here: the next
    /// request reports it, as without this query).
    fn schema_or_warn(
        &self,
        answer: Result<drift::Served, Error>,
        sink: &mut dyn Sink,
        redactor: &Redactor,
    ) -> Option<drift::Served> {
        let error = match answer {
            Ok(served) => return Some(served),
            Err(e) if e.failure_type == FailureType::Config => return None,
            Err(e) => redactor.error(&e),
        };
        let detail = error
            .internal
            .as_deref()
            .map_or(String::new(), |i| format!(" ({i})"));
        sink.emit(&messages::log(
            "WARN",
            &format!(
                "{} did not answer the schema query: {}{detail}; reading without checking for \
                 fields it no longer has",
                self.name, error.message
            ),
        ));
        None
    }

    fn probe(&self, http: &mut dyn Http, settings: &Settings) -> Result<(), Error> {
        let fetch = || {
            graphql::fetch_page(
                http,
                settings,
                self.check_query,
                &json!({}),
                crate::page::Root {
                    field: self.check_root_field,
                    list: false,
                },
            )
        };
        let pause = |wait: &retry::Wait<'_>| {
            std::thread::sleep(std::time::Duration::from_millis(wait.delay_ms))
        };
        let policy = RetryPolicy::checking(settings.max_retry_seconds);
        retry::run(&policy, fetch, pause).map(|_| ())
    }

    /// Emits the CATALOG. The streams are fixed, so the config is only validated.
    pub fn discover(&'static self, sink: &mut dyn Sink, config: &str) -> Outcome {
        let settings = match Settings::parse(config, self) {
            Ok(settings) => settings,
            Err(e) => return fail(sink, &e),
        };
        let streams = self
            .all_streams()
            .map(|stream| {
                let by_activity = settings.activity_streams.contains(&stream.name());
                catalog::airbyte_stream(stream, by_activity)
            })
            .collect();
        sink.emit(&messages::catalog(streams));
        Ok(())
    }

    /// Reads the configured catalog's streams.
    pub fn read(
        &'static self,
        http: &mut dyn Http,
        sink: &mut dyn Sink,
        config: &str,
        configured: &str,
        state: Option<&str>,
    ) -> Outcome {
        let settings = match Settings::parse(config, self) {
            Ok(settings) => settings,
            Err(e) => return fail(sink, &e),
        };
        let redactor = Redactor::new(&settings);
        let inputs = catalog::parse_configured(configured, self)
            .map(|selected| catalog::by_activity(selected, &settings.activity_streams))
            .and_then(|selected| Ok((selected, state::parse_input(state)?)));
        let (selected, states) = match inputs {
            Ok(inputs) => inputs,
            Err(e) => return fail(sink, &redactor.error(&e)),
        };
        sink.emit(&messages::log("INFO", &self.pacing_note(&settings)));
        let mut pacer = Pacer::new(
            &self.rate_limits,
            settings.rate_limit_share,
            settings.rate_limits.clone(),
            settings.rate_limit_window_seconds,
        );
        let mut requester = Requester {
            http,
            settings: &settings,
            pacer: &mut pacer,
            page_size: settings.page_size,
        };
        let findings = self.drift(&mut requester, sink, &redactor, &selected);
        let (selected, unreadable) = self.unreadable(selected, &findings, sink);
        let absent = Absent::of(&findings);
        let mut reader = Reader {
            requester,
            sink,
            settings: &settings,
            redactor: &redactor,
            absent: &absent,
        };
        let read = reader.read_all(&selected, &states);
        let read = read.and_then(|()| match unreadable.as_slice() {
            [] => Ok(()),
            names => Err(Error::config(format!(
                "streams cannot be read: {}",
                names.join(", ")
            ))),
        });
        read.map_err(|e| redactor.error(&e).message)
    }

    /// What the server's schema no longer has of the selected streams'
    /// queries; each reported once (WARN, TRACE ANALYTICS) when a read can
    /// do without it. Nothing when introspection is off or refused (a LOG).
    fn drift(
        &self,
        requester: &mut Requester,
        sink: &mut dyn Sink,
        redactor: &Redactor,
        selected: &[Selected],
    ) -> Vec<Finding> {
        if !self.introspection || selected.is_empty() {
            return Vec::new();
        }
        let answer = requester.single(drift::ROOT, drift::QUERY, drift::Served::parse);
        let Some(served) = self.schema_or_warn(answer, sink, redactor) else {
            return Vec::new();
        };
        let roots: Vec<&str> = selected
            .iter()
            .flat_map(|s| self.operations(s.stream, s.mode == SyncMode::Incremental))
            .collect();
        let findings: Vec<Finding> = drift::findings(self, &served)
            .into_iter()
            .filter(|f| roots.contains(&f.root))
            .collect();
        for finding in findings.iter().filter(|f| !f.needed) {
            let what = finding.describe();
            sink.emit(&messages::log(
                "WARN",
                &format!(
                    "{what} in {}'s schema: left out of the query, so its column is null in \
                     this sync; update the connector to a release that follows the change",
                    self.name
                ),
            ));
            sink.emit(&messages::analytics("schema-drift", &what));
        }
        findings
    }

    /// The selected streams that can be read, and the names of those that
    /// cannot (reported: STARTED, INCOMPLETE, TRACE ERROR): the server's
    /// schema lost a field they are identified, ordered or resumed by.
    fn unreadable(
        &self,
        selected: Vec<Selected>,
        findings: &[Finding],
        sink: &mut dyn Sink,
    ) -> (Vec<Selected>, Vec<&'static str>) {
        let (mut readable, mut unreadable) = (Vec::new(), Vec::new());
        for selection in selected {
            let roots = self.operations(selection.stream, selection.mode == SyncMode::Incremental);
            let needed = findings
                .iter()
                .find(|f| f.needed && roots.contains(&f.root));
            let Some(finding) = needed else {
                readable.push(selection);
                continue;
            };
            let name = selection.stream.name();
            let error = Error::config(format!(
                "{} in {}'s schema, and {name} needs it to identify, order or resume its \
                 rows: deselect {name}, or update the connector to a release that follows \
                 the change",
                finding.describe(),
                self.name
            ));
            sink.emit(&messages::stream_status(name, Status::Started));
            sink.emit(&messages::stream_status(name, Status::Incomplete));
            sink.emit(&messages::stream_error(&error, name));
            unreadable.push(name);
        }
        (readable, unreadable)
    }
}

impl Api {
    /// What a read's pacing allows, for its first LOG.
    fn pacing_note(&self, settings: &Settings) -> String {
        let limits = &self.rate_limits;
        let listed: Vec<String> = limits
            .per_operation
            .iter()
            .map(|(op, limit)| format!("{op} {limit}"))
            .collect();
        let overrides = match settings.rate_limits.is_empty() {
            true => "",
            false => ", with the config's `rate_limits` over them",
        };
        format!(
            "pacing each operation to {}% of {}'s limit per {} s window ({} calls{}{}; {}){overrides}",
            settings.rate_limit_share * 100.0,
            self.name,
            settings.rate_limit_window_seconds.unwrap_or(limits.window_seconds),
            limits.default_limit,
            if listed.is_empty() { "" } else { " unless listed: " },
            listed.join(", "),
            limits.source,
        )
    }
}

/// Emits a TRACE ERROR and returns its message.
fn fail(sink: &mut dyn Sink, error: &Error) -> Outcome {
    sink.emit(&messages::error(error, None));
    Err(error.message.clone())
}
