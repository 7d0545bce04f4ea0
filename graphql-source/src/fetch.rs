//! The requester a read talks through: a round of requests sent at once and
//! retried, paced, with a page size the server refused lowered for every
//! later request of the read. It sends nothing but requests: what a reader
//! should tell (a pause and why, a smaller page) comes back as a [`Notice`],
//! and [`Reader`] (the requester and the sink) turns it into messages.

use std::cell::{Cell, RefCell};

use serde_json::Value;

use crate::drift::Absent;
use crate::error::{Error, Result, Retry};
use crate::graphql;
use crate::io::{Http, Sink};
use crate::messages;
use crate::pace::Pacer;
use crate::page::{Page, Root};
use crate::redact::Redactor;
use crate::retry::{self, RetryPolicy, Wait};
use crate::settings::{PageSize, Settings};
use crate::time::now_ms;

/// Sends, paces, retries, and adapts the page size.
pub struct Requester<'a> {
    pub http: &'a mut dyn Http,
    pub settings: &'a Settings,
    pub pacer: &'a mut Pacer,
    /// Rows per request: the config's, or what the server accepts.
    pub page_size: PageSize,
}

/// What the requester did that a reader should say.
pub enum Notice<'n> {
    /// A request failed; it is retried after `wait.delay_ms`.
    Waiting(&'n Wait<'n>),
    /// The server refused pages of `from` rows: asking for `to` from now on.
    SmallerPages { from: u32, to: u32 },
}

/// A round as sent: the variables of each request, and its page.
pub struct Sent {
    pub variables: Vec<Value>,
    pub pages: Vec<Page>,
}

/// A read's requester and where its messages go.
pub struct Reader<'a> {
    pub requester: Requester<'a>,
    pub sink: &'a mut dyn Sink,
    pub settings: &'a Settings,
    pub redactor: &'a Redactor,
    /// The fields the server's schema no longer has, left out of queries.
    pub absent: &'a Absent,
}

impl Reader<'_> {
    /// Sends the round `requests(rows per page)` makes (see
    /// [`Requester::round`]), saying why it pauses or asks for less.
    pub fn round(
        &mut self,
        stream: &str,
        root: Root,
        query: &str,
        requests: &mut dyn FnMut(u32) -> Vec<Value>,
    ) -> Result<Sent> {
        let (sink, redactor, api) = (&mut *self.sink, self.redactor, self.settings.api.name);
        let mut notice = |notice: Notice| match notice {
            Notice::Waiting(wait) => report_wait(sink, redactor, stream, wait),
            Notice::SmallerPages { from, to } => sink.emit(&messages::log(
                "WARN",
                &format!("{stream}: {api} refused pages of {from} rows; asking for {to}"),
            )),
        };
        self.requester.round(root, query, requests, &mut notice)
    }

    /// Rows per request now.
    pub fn rows(&self) -> u32 {
        self.requester.page_size.rows()
    }

    pub fn log(&mut self, level: &str, message: &str) {
        self.sink.emit(&messages::log(level, message));
    }
}

impl Requester<'_> {
    /// Sends the round `requests(rows per page)` makes; a page size the
    /// server refuses is lowered (see [`Requester::smaller`]) and the round
    /// made again.
    pub fn round(
        &mut self,
        root: Root,
        query: &str,
        requests: &mut dyn FnMut(u32) -> Vec<Value>,
        notice: &mut dyn FnMut(Notice),
    ) -> Result<Sent> {
        loop {
            let variables = requests(self.page_size.rows());
            match self.send_round(root, query, &variables, notice) {
                Err(error) => match error.retry {
                    Retry::SmallerPage(max) => self.smaller(max, error, notice)?,
                    _ => return Err(error),
                },
                Ok(pages) => return Ok(Sent { variables, pages }),
            }
        }
    }

    /// Sends one query that is not a page (no variables), paced as
    /// `operation` and retried like a page, and parses its body.
    pub fn single<T>(
        &mut self,
        operation: &str,
        query: &str,
        parse: impl Fn(&str) -> Result<T>,
    ) -> Result<T> {
        let policy = RetryPolicy::with_budget(self.settings.max_retry_seconds);
        let (http, settings, pacer) = (&mut *self.http, self.settings, &mut *self.pacer);
        let no_variables = Value::Object(Default::default());
        let result = retry::run(
            &policy,
            || {
                sleep_ms(pacer.reserve(operation, 1, now_ms()));
                parse(&graphql::fetch_body(http, settings, query, &no_variables)?)
            },
            |wait| sleep_ms(wait.delay_ms),
        );
        self.pacer.finished(operation, now_ms());
        result
    }

    /// Sends a round's requests at once, when the operation's pace allows,
    /// then retries each that failed until it succeeds or its retries are
    /// spent. A round that met a 429 slows the operation down (once).
    fn send_round(
        &mut self,
        root: Root,
        query: &str,
        requests: &[Value],
        notice: &mut dyn FnMut(Notice),
    ) -> Result<Vec<Page>> {
        let policy = RetryPolicy::with_budget(self.settings.max_retry_seconds);
        let (http, settings) = (&mut *self.http, self.settings);
        let pacer = RefCell::new(&mut *self.pacer);
        let pace = |n: usize| {
            sleep_ms(pacer.borrow_mut().reserve(root.field, n, now_ms()));
        };
        pace(requests.len());
        let limited = Cell::new(false);
        let firsts = graphql::fetch_pages(http, settings, query, requests, root);
        let pages = firsts
            .into_iter()
            .zip(requests)
            .map(|(first, variables)| {
                retry::run_after(
                    &policy,
                    first,
                    || {
                        pace(1);
                        graphql::fetch_page(http, settings, query, variables, root)
                    },
                    |wait| {
                        limited.set(limited.get() || wait.rate_limited);
                        notice(Notice::Waiting(wait));
                        sleep_ms(wait.delay_ms);
                    },
                )
            })
            .collect();
        let mut pacer = pacer.borrow_mut();
        pacer.finished(root.field, now_ms());
        if limited.get() {
            pacer.slow_down(root.field, now_ms());
        }
        pages
    }

    /// Lowers the page size after the server refused it (`max`: the most it
    /// said it accepts): the user's choice fails the stream with a config
    /// error; the engine's is lowered, with a LOG saying so.
    fn smaller(
        &mut self,
        max: Option<u32>,
        error: Error,
        notice: &mut dyn FnMut(Notice),
    ) -> Result<()> {
        let api = self.settings.api.name;
        let page_size = self.page_size;
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
                notice(Notice::SmallerPages {
                    from: rows,
                    to: next,
                });
                self.page_size = PageSize::Automatic(next);
                Ok(())
            }
        }
    }
}

fn sleep_ms(ms: u64) {
    if ms > 0 {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}

/// Says why the read pauses.
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
}
