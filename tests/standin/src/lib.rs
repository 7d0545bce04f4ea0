//! A stand-in for Stigg's GraphQL API (https://api.stigg.io/graphql), close
//! enough that a connector which works against it works against Stigg:
//! the same schema (a subset), validation, offset-cursor paging, sorting
//! and filtering, on generated data, with scriptable faults.
//!
//! ```no_run
//! use stigg_standin::{Standin, StandinConfig};
//! let standin = Standin::start(StandinConfig { customers: 500, ..Default::default() });
//! println!("{} with key {}", standin.url(), standin.api_key());
//! ```

mod admin;
mod config;
mod data;
mod events;
mod execute;
mod execute_input;
mod faults;
mod fields;
mod filter;
mod generate;
mod generate_more;
mod graphql;
mod input_check;
mod json_text;
mod limits;
mod mutate;
mod nested_args;
mod paging;
mod rng;
mod schema;
mod server;
mod sorting;
mod spender;
mod standin;
mod state;
mod stats;
mod store;
mod time;
mod words;

pub use config::{BadKeyMode, StandinConfig};
pub use faults::{Fault, FaultRule, Trigger};
pub use limits::{RateLimitConfig, DEFAULT_LIMIT, RATE_LIMITED_BODY, STIGG_LIMITS};
pub use paging::{decode_cursor, encode_cursor};
pub use schema::{SchemaChange, SUBSET_SDL};
pub use spender::Spender;
pub use standin::Standin;
pub use stats::InvalidQuery;
