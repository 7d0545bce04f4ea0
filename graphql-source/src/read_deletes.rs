//! Deleted rows, read from the connection that logs deletions (an activity
//! log) after an incremental stream's changed rows: one record per
//! deletion, with the row's key, its cursor and `_ab_cdc_deleted_at` set to
//! the deletion time (Airbyte's convention: destinations deduplicating on
//! the key delete the row).

use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::fetch::Client;
use crate::messages;
use crate::page::Root;
use crate::position::Keyset;
use crate::query::{self, Pick};
use crate::raw_json::string_fields;
use crate::state::StreamState;
use crate::stream::{Deletes, KeyForm, StreamDef, TotalCount};
use crate::time::now_ms;

/// The column Airbyte destinations read deletions from.
pub const DELETED_AT: &str = "_ab_cdc_deleted_at";

impl Client<'_> {
    /// Emits a record for each deletion of `stream`'s rows logged at or
    /// after `from`; returns how many.
    pub(crate) fn read_deletes(
        &mut self,
        stream: &'static StreamDef,
        deletes: &'static Deletes,
        from: &str,
    ) -> Result<u64> {
        let log = deletes.log;
        let (Some(order), Some(row_cursor), Some(key)) = (
            log.incremental(),
            stream.incremental().map(|i| i.cursor),
            stream.primary_key.first(),
        ) else {
            return Err(Error::system(format!(
                "{}: deletes are declared but {} is not incremental",
                stream.name, log.name
            )));
        };
        let extra: Value = serde_json::from_str(deletes.filter).map_err(|e| {
            Error::system(format!(
                "{}: the deletes filter is not JSON ({e})",
                stream.name
            ))
        })?;
        let saved = StreamState::Incremental {
            cursor_field: order.cursor.into(),
            cursor: Some(from.into()),
            deletes_from: None,
        };
        let mut keyset = Keyset::new(order, Some(&saved), None);
        let picks: Vec<Pick> = [deletes.key_field, order.cursor, order.tie_break]
            .iter()
            .filter_map(|name| log.field(name))
            .map(Pick::whole)
            .collect();
        let query = query::document(log, &picks, TotalCount::Skip);
        let root = Root {
            field: log.root_field,
            list: false,
        };
        let label = format!("{} (deletes from {})", stream.name, log.name);
        let (mut line, mut count) = (String::new(), 0u64);
        while !keyset.done() {
            let mut variables = keyset.request(self.settings.page_size.rows());
            if let (Some(filter), Value::Object(extra)) =
                (variables["filter"].as_object_mut(), &extra)
            {
                filter.extend(extra.clone());
            }
            let pages = self.round(&label, root, &query, &[variables])?;
            keyset.advance(&pages)?;
            let emitted_at = now_ms();
            for node in pages.iter().flat_map(|p| p.nodes()) {
                let record = deletion(node, deletes, order.cursor, key, row_cursor)?;
                line.clear();
                messages::record(&mut line, stream.name, &record.to_string(), emitted_at);
                self.sink.emit(&line);
                count += 1;
            }
        }
        Ok(count)
    }
}

/// The record that deletes the row a log entry names.
fn deletion(
    node: &str,
    deletes: &Deletes,
    time_field: &str,
    key: &str,
    row_cursor: &str,
) -> Result<Value> {
    let [id, at] = string_fields(node, [deletes.key_field, time_field])
        .map_err(|e| Error::system(format!("a {} entry is unusable ({e})", deletes.log.name)))?;
    let (Some(id), Some(at)) = (id, at) else {
        return Err(Error::system(format!(
            "a {} entry of a deletion has no `{}` or `{time_field}`",
            deletes.log.name, deletes.key_field
        )));
    };
    if deletes.key_form == KeyForm::Uuid && !is_uuid(&id) {
        return Err(Error::system(format!(
            "a {} entry names a deleted row by `{}` = {id:?}, which is not an id of the \
             stream's rows (a UUID): the log names rows some other way than this connector \
             assumes; no deletion was emitted from it",
            deletes.log.name, deletes.key_field
        )));
    }
    Ok(json!({ key: id, row_cursor: at, DELETED_AT: at }))
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
    use crate::fixtures::CUSTOMERS;

    #[test]
    fn a_deletion_keeps_the_key_and_stamps_the_time() {
        let deletes = CUSTOMERS.incremental().unwrap().deletes.as_ref().unwrap();
        let node = r#"{"entityId":"6c0f3ea3-2f63-4a4b-9b0e-111111111111","createdAt":"2024-05-01T00:00:00.000Z","id":"ev1"}"#;
        assert_eq!(
            deletion(node, deletes, "createdAt", "id", "updatedAt").unwrap(),
            json!({"id": "6c0f3ea3-2f63-4a4b-9b0e-111111111111",
                   "updatedAt": "2024-05-01T00:00:00.000Z",
                   "_ab_cdc_deleted_at": "2024-05-01T00:00:00.000Z"})
        );
        for bad in [
            r#"{"entityId":"cust-42","createdAt":"2024-05-01T00:00:00.000Z"}"#,
            r#"{"entityId":null,"createdAt":"2024-05-01T00:00:00.000Z"}"#,
            r#"{"createdAt":"2024-05-01T00:00:00.000Z"}"#,
        ] {
            assert!(
                deletion(bad, deletes, "createdAt", "id", "updatedAt").is_err(),
                "{bad}"
            );
        }
        assert!(is_uuid("6C0F3EA3-2f63-4a4b-9b0e-111111111111"));
        assert!(!is_uuid("6c0f3ea3-2f63-4a4b-9b0e-11111111111g"));
    }
}
