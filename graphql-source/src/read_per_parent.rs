//! Reading a per-parent stream: list its parents (their keys only, no
//! record emitted), then read a few parents at a time, checkpointing the
//! first unfinished one after each round.

use crate::catalog::Stream;
use crate::emit;
use crate::error::{Result, Retry};
use crate::fetch::Client;
use crate::messages::{self, Status};
use crate::page::Root;
use crate::position::per_parent::{Parent, Parents};
use crate::position::Position;
use crate::query::{self, Pick};
use crate::state::StreamState;
use crate::stream::{PerParentDef, TotalCount};
use crate::time::now_ms;

/// Parents read at once: one request each per round, sent together.
const PARENTS_AT_ONCE: usize = 8;

impl Client<'_> {
    pub(crate) fn read_per_parent(
        &mut self,
        stream: &'static PerParentDef,
        saved: Option<&StreamState>,
    ) -> Result<()> {
        let name = stream.name;
        let listed = self.list_parents(stream)?;
        let (mut parents, note) = Parents::new(stream, listed, saved, PARENTS_AT_ONCE);
        if let Some(note) = note {
            self.log("INFO", &format!("{name}: {note}"));
        }
        self.log(
            "INFO",
            &format!(
                "{name}: {} {} to read, one request or more each (at least {} requests)",
                parents.left(),
                stream.parent.name,
                parents.left()
            ),
        );
        self.sink
            .emit(&messages::stream_status(name, Status::Running));
        let query = query::per_parent_document(stream);
        let root = Root {
            field: stream.root_field,
            list: false,
        };
        let mut page_size = self.settings.page_size;
        let (mut line, mut total) = (String::new(), 0u64);
        while !parents.done() {
            let requests = parents.requests(page_size.rows());
            let fetched = match self.round(name, root, &query, &requests) {
                Ok(fetched) => fetched,
                Err(error) => match error.retry {
                    Retry::SmallerPage(max) => {
                        page_size = self.smaller(name, page_size, max, error)?;
                        continue;
                    }
                    _ => return Err(error.context(format_args!("{name}, after {total} records"))),
                },
            };
            parents.advance(&fetched)?;
            let emitted_at = now_ms();
            let mut count = 0;
            for node in fetched.iter().flat_map(|p| p.nodes()) {
                line.clear();
                emit::keyed_record(&mut line, stream, node, emitted_at)?;
                self.sink.emit(&line);
                count += 1;
            }
            total += count;
            let state = parents.state().to_value();
            self.sink.emit(&messages::stream_state(name, &state, count));
        }
        if total == 0 {
            let state = StreamState::FullRefreshComplete.to_value();
            self.sink.emit(&messages::stream_state(name, &state, 0));
        }
        self.log("INFO", &format!("{name}: done, {total} records"));
        Ok(())
    }

    /// Every parent, read from the parent stream with its order fields and
    /// the field that names it only.
    fn list_parents(&mut self, stream: &'static PerParentDef) -> Result<Vec<Parent>> {
        let parent = stream.parent;
        let keys = parent.key_fields();
        let picks: Vec<Pick> = parent
            .fields
            .iter()
            .filter(|f| keys.contains(&f.name) || f.name == stream.parent_field)
            .map(Pick::whole)
            .collect();
        let page_size = self.settings.page_size.rows();
        let (mut position, _) = Position::full_refresh(parent, None, page_size);
        let first = query::document(parent, &picks, TotalCount::Ask);
        let next = query::document(parent, &picks, TotalCount::Skip);
        let root = Root {
            field: parent.root_field,
            list: parent.connection().is_none(),
        };
        let label = format!("{} (listing {})", stream.name, parent.name);
        let mut parents = Vec::new();
        let mut query = &first;
        loop {
            let requests = position.requests(page_size);
            let fetched = self.round(&label, root, query, &requests)?;
            query = &next;
            let with_rows = position.advance(&fetched)?;
            for node in fetched[..with_rows].iter().flat_map(|p| p.nodes()) {
                parents.push(Parent::from_node(node, stream)?);
            }
            if position.done() {
                return Ok(parents);
            }
        }
    }
}

/// Whether a selected stream is read one parent at a time.
pub fn per_parent(stream: Stream) -> Option<&'static PerParentDef> {
    match stream {
        Stream::PerParent(def) => Some(def),
        _ => None,
    }
}
