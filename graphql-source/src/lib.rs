//! The engine of an Airbyte source over a GraphQL API whose lists are cursor
//! connections (`edges { node }`, `pageInfo`, nestjs-query filters and
//! sorting). A connector declares an [`Api`] (its name, endpoint, auth header,
//! check query) and its streams as data ([`stream::StreamDef`]); the engine
//! does the rest: spec, check, discover, the read loop, paging, partitions,
//! retries, state, messages, key masking, and the WebAssembly component glue
//! ([`export_source!`]).
//!
//! It runs over two capabilities ([`io::Http`], [`io::Sink`]), so the same
//! code runs as a component, natively, and in unit tests.

pub mod api;
pub mod catalog;
pub mod child;
pub mod drift;
pub mod emit;
pub mod error;
pub mod fetch;
#[doc(hidden)]
pub mod fixtures;
pub mod graphql;
pub mod group;
pub mod messages;
pub mod pace;
pub mod page;
pub mod partition;
pub mod position;
pub mod query;
pub mod raw_json;
pub mod read;
pub mod read_activity;
pub mod read_log;
pub mod read_per_parent;
pub mod record_check;
pub mod redact;
pub mod retrieve;
pub mod retry;
pub mod schema;
pub mod settings;
pub mod source;
pub mod split;
pub mod state;
pub mod stream;
pub mod time;

#[cfg(target_family = "wasm")]
pub mod wasm;

pub use api::Api;
pub use connector_io as io;
pub use source::Outcome;
