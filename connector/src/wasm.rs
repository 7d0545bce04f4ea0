//! The thin layer between the WIT world and the core: converts types, nothing else.

wit_bindgen::generate!({
    world: "connector",
    path: "../wit",
});

use airbyte::connector::{http as wit_http, sink as wit_sink};
use exports::airbyte::connector::source::Guest;

use crate::io::{self, HttpError, Method, Request, Response};

struct Component;

impl Guest for Component {
    fn spec() -> Result<(), String> {
        crate::spec(&mut WitSink)
    }

    fn allowed_origins(config: String) -> Result<Vec<String>, String> {
        crate::allowed_origins(&config)
    }

    fn check(config: String) -> Result<(), String> {
        crate::check(&mut WitHttp, &mut WitSink, &config)
    }

    fn discover(config: String) -> Result<(), String> {
        crate::discover(&mut WitSink, &config)
    }

    fn read(config: String, catalog: String, state: Option<String>) -> Result<(), String> {
        crate::read(
            &mut WitHttp,
            &mut WitSink,
            &config,
            &catalog,
            state.as_deref(),
        )
    }
}

export!(Component);

struct WitSink;

impl io::Sink for WitSink {
    fn emit(&mut self, message: &str) {
        wit_sink::emit(message);
    }
}

struct WitHttp;

impl io::Http for WitHttp {
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
