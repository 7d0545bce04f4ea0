//! The capabilities the core runs over: see the `connector-io` crate.

pub use connector_io::{Http, HttpError, Method, Request, Response, Sink};
