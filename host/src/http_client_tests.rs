//! Tests of the HTTP capability against one-shot servers on 127.0.0.1.

use super::*;
use crate::allowlist::Origin;
use crate::transport::{Network, Transport};
use connector_io::Method;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// A one-connection-per-response server on 127.0.0.1. Each canned
/// response is served to one connection; the request heads it saw are
/// sent back on the channel.
struct Server {
    origin: Origin,
    requests: mpsc::Receiver<String>,
}

impl Server {
    fn start(responses: Vec<Reply>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for reply in responses {
                let Ok((mut stream, _)) = listener.accept() else {
                    return;
                };
                let head = read_request(&mut stream);
                let _ = tx.send(head);
                reply.write(&mut stream);
            }
        });
        Self {
            origin: Origin::parse(&format!("http://127.0.0.1:{port}")).expect("origin"),
            requests: rx,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.origin.port())
    }

    fn client(&self, limits: &Limits) -> HttpClient {
        local_client(self.origin.clone(), limits)
    }
}

enum Reply {
    Raw(Vec<u8>),
    /// Accepts, then says nothing for this long.
    Stall(Duration),
}

impl Reply {
    fn ok(body: &[u8], extra_headers: &str) -> Self {
        let mut raw = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n{extra_headers}\r\n",
            body.len()
        )
        .into_bytes();
        raw.extend_from_slice(body);
        Self::Raw(raw)
    }

    fn write(self, stream: &mut TcpStream) {
        match self {
            Self::Raw(bytes) => {
                let _ = stream.write_all(&bytes);
            }
            Self::Stall(d) => thread::sleep(d),
        }
    }
}

/// Reads the request head and a content-length body, if any.
fn read_request(stream: &mut TcpStream) -> String {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let head_end = data.windows(4).position(|w| w == b"\r\n\r\n");
        if let Some(end) = head_end {
            let head = String::from_utf8_lossy(&data[..end]).to_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if data.len() >= end + 4 + len {
                return String::from_utf8_lossy(&data).into_owned();
            }
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return String::from_utf8_lossy(&data).into_owned(),
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    }
}

/// A client for servers on 127.0.0.1: loopback allowed.
fn local_client(origin: Origin, limits: &Limits) -> HttpClient {
    HttpClient::new(AllowList::new([origin]), limits, NetworkPolicy::PERMISSIVE)
}

fn limits(timeout_ms: u64, max_response_bytes: u64) -> Limits {
    Limits {
        request_timeout: Duration::from_millis(timeout_ms),
        max_response_bytes,
        ..Limits::default()
    }
}

fn get(url: String) -> Request {
    Request {
        method: Method::Get,
        url,
        headers: vec![("x-api-key".into(), "SECRET-KEY".into())],
        body: String::new(),
    }
}

#[test]
fn returns_status_headers_and_body() {
    let server = Server::start(vec![Reply::ok(b"hello", "X-Custom-Thing: Yes\r\n")]);
    let response = server
        .client(&limits(5_000, 1024))
        .send(&get(server.url("/path?q=1")))
        .expect("response");
    assert_eq!(response.status, 200);
    assert_eq!(response.body, "hello");
    assert!(response
        .headers
        .contains(&("x-custom-thing".to_string(), "Yes".to_string())));
    let head = server.requests.recv().expect("request");
    assert!(head.starts_with("GET /path?q=1 HTTP/1.1"), "{head}");
    assert!(head.contains("x-api-key: SECRET-KEY"), "{head}");
}

#[test]
fn post_sends_the_body() {
    let server = Server::start(vec![Reply::ok(b"{}", "")]);
    let request = Request {
        method: Method::Post,
        url: server.url("/graphql"),
        headers: vec![("content-type".into(), "application/json".into())],
        body: r#"{"query":"{x}"}"#.to_owned(),
    };
    let response = server
        .client(&limits(5_000, 1024))
        .send(&request)
        .expect("response");
    assert_eq!(response.status, 200);
    let head = server.requests.recv().expect("request");
    assert!(head.starts_with("POST /graphql HTTP/1.1"), "{head}");
    assert!(head.ends_with(r#"{"query":"{x}"}"#), "{head}");
}

#[test]
fn error_statuses_come_back_as_responses() {
    let server = Server::start(vec![Reply::Raw(
        b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 2\r\nContent-Length: 4\r\nConnection: close\r\n\r\nslow"
            .to_vec(),
    )]);
    let response = server
        .client(&limits(5_000, 1024))
        .send(&get(server.url("/")))
        .expect("response");
    assert_eq!(response.status, 429);
    assert_eq!(response.body, "slow");
    assert!(response
        .headers
        .contains(&("retry-after".to_string(), "2".to_string())));
}

#[test]
fn redirect_is_returned_not_followed() {
    let server = Server::start(vec![
        Reply::Raw(
            b"HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                .to_vec(),
        ),
        Reply::ok(b"followed", ""),
    ]);
    let response = server
        .client(&limits(5_000, 1024))
        .send(&get(server.url("/start")))
        .expect("response");
    assert_eq!(response.status, 302);
    assert!(response
        .headers
        .contains(&("location".to_string(), "/elsewhere".to_string())));
    assert!(server.requests.recv().is_ok());
    assert!(
        server
            .requests
            .recv_timeout(Duration::from_millis(300))
            .is_err(),
        "the redirect was followed"
    );
}

#[test]
fn body_over_the_cap_is_too_large() {
    let server = Server::start(vec![
        Reply::ok(&[b'a'; 2000], ""),
        Reply::ok(&[b'a'; 1000], ""),
    ]);
    let client = server.client(&limits(5_000, 1000));
    assert_eq!(
        client.send(&get(server.url("/big"))),
        Err(HttpError::TooLarge(1000))
    );
    // Exactly at the cap is fine.
    let response = client.send(&get(server.url("/exact"))).expect("response");
    assert_eq!(response.body.len(), 1000);
}

#[test]
fn a_body_that_is_not_utf8_is_named_as_such() {
    let server = Server::start(vec![Reply::ok(b"ok \xff\xfe", "")]);
    match server
        .client(&limits(5_000, 1024))
        .send(&get(server.url("/bin")))
    {
        Err(HttpError::NotUtf8(message)) => {
            assert!(message.contains("invalid byte at offset 3"), "{message}")
        }
        other => panic!("expected not-utf8, got {other:?}"),
    }
}

#[test]
fn chunked_body_over_the_cap_is_too_large() {
    let mut raw =
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".to_vec();
    for _ in 0..4 {
        raw.extend_from_slice(b"100\r\n");
        raw.extend_from_slice(&[b'z'; 256]);
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"0\r\n\r\n");
    let server = Server::start(vec![Reply::Raw(raw)]);
    assert_eq!(
        server
            .client(&limits(5_000, 1000))
            .send(&get(server.url("/"))),
        Err(HttpError::TooLarge(1000))
    );
}

#[test]
fn slow_server_times_out() {
    let server = Server::start(vec![Reply::Stall(Duration::from_secs(3))]);
    let started = std::time::Instant::now();
    let result = server
        .client(&limits(300, 1024))
        .send(&get(server.url("/slow")));
    assert!(matches!(result, Err(HttpError::Timeout(_))), "{result:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn denied_origin_never_connects() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let port = listener.local_addr().expect("addr").port();
    let other = Origin::parse("http://127.0.0.1:1").expect("origin");
    let client = HttpClient::new(
        AllowList::new([other]),
        &limits(1_000, 1024),
        NetworkPolicy::PERMISSIVE,
    );
    let url = format!("http://127.0.0.1:{port}/x");

    let result = client.send(&get(url.clone()));
    assert!(matches!(result, Err(HttpError::Denied(_))), "{result:?}");
    let result = client.send(&get(format!("http://user:pw@127.0.0.1:{port}/x")));
    assert!(matches!(result, Err(HttpError::Denied(_))), "{result:?}");
    assert!(
        matches!(listener.accept(), Err(e) if e.kind() == io::ErrorKind::WouldBlock),
        "a denied request connected"
    );
}

/// A listener on 127.0.0.1 that nobody should reach.
fn untouched_listener() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let port = listener.local_addr().expect("addr").port();
    (listener, port)
}

fn assert_refused_by_policy(result: Result<Response, HttpError>, what: &str) {
    match result {
        Err(HttpError::Denied(message)) => {
            assert!(message.contains("network policy"), "{what}: {message}");
            assert!(!message.contains("SECRET-KEY"), "{what}: {message}");
        }
        other => panic!("{what}: expected a refusal, got {other:?}"),
    }
}

#[test]
fn loopback_is_refused_by_default_even_by_name() {
    let (listener, port) = untouched_listener();
    for host in ["127.0.0.1", "localhost", "127.1"] {
        let origin = Origin::parse(&format!("http://{host}:{port}")).expect("origin");
        let client = HttpClient::new(
            AllowList::new([origin]),
            &limits(1_000, 1024),
            NetworkPolicy::default(),
        );
        let result = client.send(&get(format!("http://{host}:{port}/x")));
        assert_refused_by_policy(result, host);
    }
    assert!(
        matches!(listener.accept(), Err(e) if e.kind() == io::ErrorKind::WouldBlock),
        "a refused request connected"
    );
}

#[test]
fn private_and_plain_http_destinations_are_refused_before_connecting() {
    // None of these is reachable from here: a refusal that comes back at
    // once, naming the policy, shows no connection was tried.
    for url in [
        "http://169.254.169.254/latest/meta-data/",
        "https://10.0.0.1/graphql",
        "https://[fe80::1]/graphql",
        "https://[::1]:1/graphql",
        "http://8.8.8.8/graphql",
    ] {
        let origin = Origin::of_url(&url::Url::parse(url).expect("url")).expect("origin");
        let client = HttpClient::new(
            AllowList::new([origin]),
            &limits(5_000, 1024),
            NetworkPolicy::default(),
        );
        let started = std::time::Instant::now();
        assert_refused_by_policy(client.send(&get(url.into())), url);
        assert!(started.elapsed() < Duration::from_secs(2), "{url}");
    }
}

#[test]
fn the_operator_may_allow_loopback() {
    let server = Server::start(vec![Reply::ok(b"local", "")]);
    let policy = NetworkPolicy {
        allow_private: true,
        allow_plain_http: false,
    };
    let client = HttpClient::new(
        AllowList::new([server.origin.clone()]),
        &limits(5_000, 64),
        policy,
    );
    let response = client.send(&get(server.url("/"))).expect("response");
    assert_eq!(response.body, "local");
}

#[test]
fn host_header_is_denied_before_connecting() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let port = listener.local_addr().expect("addr").port();
    let origin = Origin::parse(&format!("http://127.0.0.1:{port}")).expect("origin");
    let client = local_client(origin, &limits(1_000, 1024));
    let mut request = get(format!("http://127.0.0.1:{port}/x"));
    request.headers.push(("Host".into(), "evil.com".into()));

    let result = client.send(&request);
    assert!(matches!(result, Err(HttpError::Denied(_))), "{result:?}");
    assert!(matches!(listener.accept(), Err(e) if e.kind() == io::ErrorKind::WouldBlock));
}

#[test]
fn refused_connection_is_transport_and_hides_headers() {
    // Bind then drop, so the port is (very likely) closed.
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("addr")
        .port();
    let origin = Origin::parse(&format!("http://127.0.0.1:{port}")).expect("origin");
    let client = local_client(origin, &limits(2_000, 1024));
    match client.send(&get(format!("http://127.0.0.1:{port}/x"))) {
        Err(HttpError::Transport(message)) => {
            assert!(
                message.contains(&format!("127.0.0.1:{port}/x")),
                "{message}"
            );
            assert!(!message.contains("SECRET-KEY"), "{message}");
        }
        other => panic!("expected a transport error, got {other:?}"),
    }
}

#[test]
fn invalid_header_is_denied_without_echoing_it() {
    let server = Server::start(vec![]);
    let mut request = get(server.url("/"));
    request
        .headers
        .push(("x-bad".into(), "SECRET\r\nInjected: 1".into()));
    match server.client(&limits(1_000, 1024)).send(&request) {
        Err(HttpError::Denied(message)) => assert!(!message.contains("SECRET"), "{message}"),
        other => panic!("expected denied, got {other:?}"),
    }
}

/// A server that answers every connection after `delay`, with the request
/// path as the body, and records the most connections it served at once.
fn slow_echo_server(delay: Duration) -> (Origin, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (now, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let seen = Arc::clone(&most);
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let (now, most) = (Arc::clone(&now), Arc::clone(&most));
            thread::spawn(move || {
                let inside = now.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(inside, Ordering::SeqCst);
                let head = read_request(&mut stream);
                let path = head.split_whitespace().nth(1).unwrap_or("").to_owned();
                thread::sleep(delay);
                now.fetch_sub(1, Ordering::SeqCst);
                Reply::ok(path.as_bytes(), "").write(&mut stream);
            });
        }
    });
    let origin = Origin::parse(&format!("http://127.0.0.1:{port}")).expect("origin");
    (origin, seen)
}

#[test]
fn send_all_answers_in_order_within_the_bound_in_flight() {
    for bound in [1, 2, 3] {
        let (origin, most) = slow_echo_server(Duration::from_millis(50));
        let client = local_client(origin.clone(), &limits(5_000, 1024))
            .with_max_in_flight(NonZeroUsize::new(bound).expect("non-zero"));
        let paths: Vec<String> = (0..7).map(|i| format!("/r{i}")).collect();
        let requests: Vec<Request> = paths
            .iter()
            .map(|p| get(format!("http://127.0.0.1:{}{p}", origin.port())))
            .collect();
        // A clone shares the bound: its batch runs at the same time.
        let other = client.clone();
        let (mine, theirs) = thread::scope(|scope| {
            let theirs = scope.spawn(|| other.send_all(&requests));
            (client.send_all(&requests), theirs.join().expect("join"))
        });
        for results in [mine, theirs] {
            let bodies: Vec<String> = results
                .into_iter()
                .map(|r| r.expect("response").body)
                .collect();
            assert_eq!(bodies, paths, "bound {bound}");
        }
        assert_eq!(most.load(Ordering::SeqCst), bound, "most in flight");
    }
}

#[test]
fn send_all_reports_each_failure_in_its_place() {
    let (origin, _) = slow_echo_server(Duration::ZERO);
    let client = local_client(origin.clone(), &limits(5_000, 1024))
        .with_max_in_flight(NonZeroUsize::new(4).expect("non-zero"));
    let results = client.send_all(&[
        get(format!("http://127.0.0.1:{}/a", origin.port())),
        get("http://elsewhere.example/b".into()),
        get(format!("http://127.0.0.1:{}/c", origin.port())),
    ]);
    assert!(matches!(&results[0], Ok(r) if r.body == "/a"));
    assert!(matches!(&results[1], Err(HttpError::Denied(_))));
    assert!(matches!(&results[2], Ok(r) if r.body == "/c"));
    assert!(client.send_all(&[]).is_empty());
}

/// An embedder's transport: notes each request it is given, then sends it.
struct Recording {
    seen: Arc<std::sync::Mutex<Vec<String>>>,
    inner: Network,
}

impl Transport for Recording {
    fn send(&self, request: &Request) -> Result<Response, HttpError> {
        self.seen.lock().expect("lock").push(request.url.clone());
        self.inner.send(request)
    }
}

#[test]
fn an_embedders_transport_sits_under_the_allow_list() {
    let server = Server::start(vec![Reply::ok(b"hi", "")]);
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let recording = Recording {
        seen: Arc::clone(&seen),
        inner: Network::new(&limits(2000, 1024), NetworkPolicy::PERMISSIVE),
    };
    let client = HttpClient::over(AllowList::new([server.origin.clone()]), recording);
    let answer = client.send(&get(server.url("/ok"))).expect("an answer");
    assert_eq!(answer.body, "hi");
    let denied = client.send(&get("http://example.com/x".into()));
    assert!(matches!(denied, Err(HttpError::Denied(_))), "{denied:?}");
    // The denied request never reached the embedder's transport.
    assert_eq!(*seen.lock().expect("lock"), [server.url("/ok")]);
}
