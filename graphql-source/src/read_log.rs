//! Reading an activity log: the entries naming rows of a stream since a
//! time, and the deletions of a stream's rows as records.

use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::fetch::Reader;
use crate::messages;
use crate::page::{Page, Root};
use crate::position::{Keyset, Pager};
use crate::query::{self, Pick};
use crate::raw_json::members;
use crate::retrieve::{Checkpoint, Queries, Round, Rows};
use crate::state::{CursorAt, StreamState};
use crate::stream::{Incremental, KeyForm, LogEntries, StreamDef, TotalCount, DELETED_AT};
use crate::time::{format_rfc3339_ms, now_ms};

/// How far before a sync's start the next sync reads the log: more than any
/// plausible skew between this clock and the server's (an entry read twice
/// deletes or re-reads a row once more, nothing worse).
const LOG_MARGIN_MS: i64 = 10 * 60 * 1000;

/// Where a log is to be read from by the next sync: this one's start, less
/// the margin.
pub(crate) fn log_from(started_ms: u64) -> String {
    format_rfc3339_ms(started_ms as i64 - LOG_MARGIN_MS)
}

/// What to read from a log: the `entries` from `from` on, with their field
/// and the `also` fields, each value in the entries' form.
pub struct LogQuery<'a> {
    pub entries: &'a LogEntries,
    pub also: &'a [&'static str],
    pub from: &'a str,
}

impl LogQuery<'_> {
    /// The log's order: its time, then a tie-break.
    fn order(&self) -> Result<&'static Incremental> {
        let log = self.entries.log;
        log.incremental()
            .ok_or_else(|| Error::system(format!("{} is not incremental", log.name)))
    }

    /// The entries' field, then the others.
    fn fields(&self) -> Vec<&'static str> {
        std::iter::once(self.entries.field)
            .chain(self.also.iter().copied())
            .collect()
    }
}

impl Reader<'_> {
    /// Calls `each(values of the query's fields, time)` for every entry
    /// `query` selects, in log order. A value not in `key_form` fails the
    /// read: the log names rows some other way than the connector assumes.
    pub(crate) fn read_log(
        &mut self,
        label: &str,
        query: &LogQuery,
        each: &mut dyn FnMut(&[String], &str) -> Result<()>,
    ) -> Result<()> {
        let mut entries = |_: &mut Reader, round: &Round| -> Result<()> {
            for node in round.pages.iter().flat_map(Page::nodes) {
                let (values, at) = entry(node, query)?;
                each(&values, &at)?;
            }
            Ok(())
        };
        self.page_log(label, query, &mut entries)?;
        Ok(())
    }

    /// Emits a record for each deletion of `stream`'s rows logged at or
    /// after `from`, then the STATE `after`; returns how many.
    pub(crate) fn read_deletes(
        &mut self,
        stream: &'static StreamDef,
        deletes: &'static LogEntries,
        from: &str,
        after: CursorAt,
    ) -> Result<u64> {
        let Some(key) = stream.primary_key.first() else {
            return Err(Error::system(format!(
                "{}: deletes need a stream with a key",
                stream.name
            )));
        };
        let query = LogQuery {
            entries: deletes,
            also: &[],
            from,
        };
        let label = format!("{} (deletes from {})", stream.name, deletes.log.name);
        let mut rows = Deletions {
            stream,
            key,
            query: &query,
            after,
            line: String::new(),
            records: 0,
        };
        self.page_log(&label, &query, &mut rows)
    }

    /// Pages through the entries `query` selects; returns how many.
    fn page_log(&mut self, label: &str, query: &LogQuery, rows: &mut dyn Rows) -> Result<u64> {
        let log = query.entries.log;
        let order = query.order().map_err(|e| e.context(label))?;
        let extra: Value = serde_json::from_str(query.entries.filter)
            .map_err(|e| Error::system(format!("{label}: the log filter is not JSON ({e})")))?;
        let saved = CursorAt {
            cursor_field: order.cursor.into(),
            cursor: Some(query.from.into()),
            deletes_from: None,
        };
        let mut pager = LogPager {
            keyset: Keyset::new(order, Some(&saved), None),
            extra,
        };
        let fields = query.fields();
        let picks: Vec<Pick> = log
            .fields
            .iter()
            .filter(|f| {
                fields.contains(&f.name) || [order.cursor, order.tie_break].contains(&f.name)
            })
            .map(Pick::whole)
            .collect();
        let document = query::document(
            log,
            &picks,
            TotalCount::Skip,
            self.absent.paths(log.root_field),
        );
        let queries = Queries {
            label,
            stream: None,
            root: Root {
                field: log.root_field,
                list: false,
            },
            first: &document,
            next: &document,
        };
        Ok(self.retrieve(&queries, &mut pager, rows)?.rows)
    }
}

/// A read of deletions: a record per entry, with the row's key, its cursor
/// and `_ab_cdc_deleted_at` set to the deletion time (Airbyte's convention:
/// destinations deduplicating on the key delete the row); once every entry
/// is read, the STATE that moves the deletions' start on.
struct Deletions<'q> {
    stream: &'static StreamDef,
    key: &'static str,
    query: &'q LogQuery<'q>,
    after: CursorAt,
    line: String,
    /// Records since the last STATE.
    records: u64,
}

impl Rows for Deletions<'_> {
    fn emit(&mut self, reader: &mut Reader, round: &Round) -> Result<()> {
        let row_cursor = self.after.cursor_field.as_str();
        let emitted_at = now_ms();
        for node in round.pages.iter().flat_map(Page::nodes) {
            let (values, at) = entry(node, self.query)?;
            let record = json!({ self.key: values[0], row_cursor: at, DELETED_AT: at });
            self.line.clear();
            messages::record(
                &mut self.line,
                self.stream.name,
                &record.to_string(),
                emitted_at,
            );
            reader.sink.record(&self.line);
            self.records += 1;
        }
        Ok(())
    }

    fn checkpoints(&mut self, pager: &dyn Pager) -> Vec<Checkpoint> {
        if !pager.done() {
            return Vec::new();
        }
        vec![Checkpoint {
            stream: self.stream.name,
            state: StreamState::Incremental(self.after.clone()),
            records: std::mem::take(&mut self.records),
            whole: false,
        }]
    }
}

/// A log read: keyset paging over the log's cursor, with the filter members
/// that keep one kind of entry added to every request.
struct LogPager {
    keyset: Keyset,
    extra: Value,
}

impl Pager for LogPager {
    fn done(&self) -> bool {
        self.keyset.done()
    }

    fn requests(&mut self, page_size: u32) -> Vec<Value> {
        let mut variables = self.keyset.request(page_size);
        if let (Some(filter), Value::Object(extra)) =
            (variables["filter"].as_object_mut(), &self.extra)
        {
            filter.extend(extra.clone());
        }
        vec![variables]
    }

    fn advance(&mut self, pages: &[Page]) -> Result<usize> {
        self.keyset.advance(pages)
    }

    fn state(&self) -> StreamState {
        self.keyset.state()
    }
}

/// A log entry's values of the query's fields and its time, each value
/// checked for its form.
fn entry(node: &str, query: &LogQuery) -> Result<(Vec<String>, String)> {
    let log = query.entries.log.name;
    let time_field = query.order()?.cursor;
    let fields =
        members(node).map_err(|e| Error::system(format!("a {log} entry is unusable ({e})")))?;
    let get = |name: &str| -> Option<String> {
        let (_, raw) = fields.iter().find(|(k, _)| k == name)?;
        serde_json::from_str::<Option<String>>(raw.get())
            .ok()
            .flatten()
    };
    let at = get(time_field)
        .ok_or_else(|| Error::system(format!("a {log} entry has no `{time_field}`")))?;
    let values = query
        .fields()
        .iter()
        .map(|field| {
            let value = get(field)
                .ok_or_else(|| Error::system(format!("a {log} entry has no `{field}`")))?;
            if query.entries.form == KeyForm::Uuid && !is_uuid(&value) {
                return Err(Error::system(format!(
                    "a {log} entry names its row by `{field}` = {value:?}, which is not an id \
                     of the stream's rows (a UUID): the log names rows some other way than \
                     this connector assumes; nothing was emitted from it"
                )));
            }
            Ok(value)
        })
        .collect::<Result<_>>()?;
    Ok((values, at))
}

fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups
            .iter()
            .all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::EVENTS;

    #[test]
    fn an_entry_gives_its_row_id_and_time_in_the_expected_form() {
        let entries = LogEntries {
            log: &EVENTS,
            filter: "{}",
            field: "entityId",
            form: KeyForm::Uuid,
        };
        let query = LogQuery {
            entries: &entries,
            also: &[],
            from: "2024-01-01T00:00:00.000Z",
        };
        let node = r#"{"entityId":"6c0f3ea3-2f63-4a4b-9b0e-111111111111","createdAt":"2024-05-01T00:00:00.000Z","id":"ev1"}"#;
        assert_eq!(
            entry(node, &query).unwrap(),
            (
                vec!["6c0f3ea3-2f63-4a4b-9b0e-111111111111".to_owned()],
                "2024-05-01T00:00:00.000Z".to_owned()
            )
        );
        for bad in [
            r#"{"entityId":"cust-42","createdAt":"2024-05-01T00:00:00.000Z"}"#,
            r#"{"entityId":null,"createdAt":"2024-05-01T00:00:00.000Z"}"#,
            r#"{"createdAt":"2024-05-01T00:00:00.000Z"}"#,
        ] {
            assert!(entry(bad, &query).is_err(), "{bad}");
        }
        assert!(is_uuid("6C0F3EA3-2f63-4a4b-9b0e-111111111111"));
        assert!(!is_uuid("6c0f3ea3-2f63-4a4b-9b0e-11111111111g"));
    }
}
