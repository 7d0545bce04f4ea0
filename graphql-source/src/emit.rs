//! A group's nodes as RECORD messages: the parent's record as the server
//! sent it (or without the columns read only for child streams), and each
//! child stream's rows.

use crate::child;
use crate::error::{Error, Result};
use crate::io::Sink;
use crate::messages;
use crate::plan::Group;
use crate::raw_json::{members, write_object};

pub struct Emitter<'g> {
    group: &'g Group,
    line: String,
    row: String,
    /// Records since the last checkpoint: the parent's, then each child's.
    counts: Vec<u64>,
}

impl<'g> Emitter<'g> {
    pub fn new(group: &'g Group) -> Self {
        Emitter {
            group,
            line: String::new(),
            row: String::new(),
            counts: vec![0; 1 + group.children.len()],
        }
    }

    /// The counts since the last call (the parent's first).
    pub fn take_counts(&mut self) -> Vec<u64> {
        std::mem::replace(&mut self.counts, vec![0; 1 + self.group.children.len()])
    }

    /// Emits what one node holds for the group's streams.
    pub fn node(&mut self, sink: &mut dyn Sink, node: &str, emitted_at: u64) -> Result<()> {
        let group = self.group;
        let stream = group.stream;
        let parsed = match (group.children.is_empty(), &group.parent) {
            (true, Some(parent)) if parent.strip.is_none() => None,
            _ => Some(members(node).map_err(|e| {
                Error::system(format!(
                    "a {} record is not a JSON object ({e})",
                    stream.name
                ))
            })?),
        };
        if let Some(parent) = &group.parent {
            let record = match (&parent.strip, &parsed) {
                (Some(keep), Some(parsed)) => {
                    self.row.clear();
                    let kept = parsed
                        .iter()
                        .filter(|(k, _)| keep.contains(&k.as_ref()))
                        .map(|(k, v)| (k.as_ref(), v.get()));
                    write_object(kept, &mut self.row);
                    self.row.as_str()
                }
                _ => node,
            };
            self.line.clear();
            messages::record(&mut self.line, stream.name, record, emitted_at);
            sink.emit(&self.line);
            self.counts[0] += 1;
        }
        let Some(parsed) = parsed else {
            return Ok(());
        };
        for (i, out) in group.children.iter().enumerate() {
            let line = &mut self.line;
            let mut emit = |row: &str| {
                line.clear();
                messages::record(line, out.child.name, row, emitted_at);
                sink.emit(line);
            };
            for source in &out.sources {
                self.counts[1 + i] += child::rows(
                    &parsed,
                    stream.primary_key.first().copied().unwrap_or("id"),
                    out.child,
                    source,
                    out.keep.as_deref(),
                    &mut emit,
                )?;
            }
        }
        Ok(())
    }
}
