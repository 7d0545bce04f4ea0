//! The WIT world (`wit/connector.wit`) for a connector built to
//! wasm32-wasip2: [`export_source!`] exports an [`Api`](crate::Api) as the
//! component's `source`, and the imports serve as its [`Http`] and [`Sink`].
//! Types are converted here, nothing else.

#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "connector",
        path: "../wit",
        pub_export_macro: true,
        export_macro_name: "export_world",
        default_bindings_module: "graphql_source::wasm::bindings",
    });
}

use bindings::airbyte::connector::{http as wit_http, sink as wit_sink};

use crate::io::{
    FailureType, Http, HttpError, Kind, Lines, Method, Request, Response, Sink, BATCH_BYTES,
};

/// Exports `$api` (a `static` [`Api`](crate::Api)) as the component's
/// `airbyte:connector/source`. Use it once, in the connector crate's root.
#[macro_export]
macro_rules! export_source {
    ($api:path) => {
        struct __Source;

        impl $crate::wasm::bindings::exports::airbyte::connector::source::Guest for __Source {
            fn spec() -> Result<(), String> {
                $crate::wasm::with_sink(|sink| $api.spec(sink))
            }

            fn allowed_origins(config: String) -> Result<Vec<String>, String> {
                $api.allowed_origins(&config)
            }

            fn check(config: String) -> Result<(), String> {
                $crate::wasm::with_sink(|sink| {
                    $api.check(&mut $crate::wasm::WitHttp, sink, &config)
                })
            }

            fn discover(config: String) -> Result<(), String> {
                $crate::wasm::with_sink(|sink| $api.discover(sink, &config))
            }

            fn read(
                config: String,
                catalog: String,
                state: Option<String>,
            ) -> Result<(), String> {
                $crate::wasm::with_sink(|sink| {
                    $api.read(
                        &mut $crate::wasm::WitHttp,
                        sink,
                        &config,
                        &catalog,
                        state.as_deref(),
                    )
                })
            }

            fn split_catalog(catalog: String) -> Vec<String> {
                $api.split_catalog(&catalog)
            }
        }

        $crate::wasm::bindings::export_world!(__Source with_types_in $crate::wasm::bindings);
    };
}

/// Runs a command with the `sink` import as its [`Sink`]: messages as lines,
/// records in batches of about a page; what is left goes before it returns.
pub fn with_sink<T>(command: impl FnOnce(&mut dyn Sink) -> T) -> T {
    let mut sink = Lines::new(BATCH_BYTES, |lines: &str, end: Kind| {
        wit_sink::emit(lines, batch_end(end))
    });
    let outcome = command(&mut sink);
    sink.flush();
    outcome
}

fn batch_end(kind: Kind) -> wit_sink::BatchEnd {
    use wit_sink::{BatchEnd, FailureType as Wit};
    match kind {
        Kind::Record => BatchEnd::Records,
        Kind::State => BatchEnd::State,
        Kind::Error(failure) => BatchEnd::Error(match failure {
            FailureType::Config => Wit::ConfigError,
            FailureType::Transient => Wit::TransientError,
            FailureType::System => Wit::SystemError,
        }),
        Kind::Other => BatchEnd::Other,
    }
}

/// The `http` import.
pub struct WitHttp;

impl Http for WitHttp {
    fn send(&mut self, request: &Request) -> Result<Response, HttpError> {
        from_wit(wit_http::send(&to_wit(request)))
    }

    fn send_all(&mut self, requests: &[Request]) -> Vec<Result<Response, HttpError>> {
        let requests: Vec<wit_http::Request> = requests.iter().map(to_wit).collect();
        wit_http::send_all(&requests)
            .into_iter()
            .map(from_wit)
            .collect()
    }
}

fn to_wit(request: &Request) -> wit_http::Request {
    wit_http::Request {
        method: match request.method {
            Method::Get => wit_http::Method::Get,
            Method::Post => wit_http::Method::Post,
        },
        url: request.url.clone(),
        headers: request.headers.clone(),
        body: request.body.clone(),
    }
}

fn from_wit(result: Result<wit_http::Response, wit_http::Error>) -> Result<Response, HttpError> {
    match result {
        Ok(r) => Ok(Response {
            status: r.status,
            headers: r.headers,
            body: r.body,
        }),
        Err(wit_http::Error::Denied(m)) => Err(HttpError::Denied(m)),
        Err(wit_http::Error::Timeout(m)) => Err(HttpError::Timeout(m)),
        Err(wit_http::Error::Transport(m)) => Err(HttpError::Transport(m)),
        Err(wit_http::Error::TooLarge(cap)) => Err(HttpError::TooLarge(cap)),
        Err(wit_http::Error::NotUtf8(m)) => Err(HttpError::NotUtf8(m)),
    }
}
