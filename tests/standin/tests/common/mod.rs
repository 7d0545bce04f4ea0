//! A minimal blocking HTTP/1.1 client over std, so tests see exactly what
//! went over the wire (including dropped connections and cut bodies).

#![allow(dead_code)]

pub mod nested;
pub mod pages;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use serde_json::Value;
use stigg_standin::{Standin, StandinConfig};

pub const KEY: &str = "test-key";

pub fn start(customers: usize) -> Standin {
    Standin::start(StandinConfig {
        api_key: KEY.into(),
        customers,
        ..Default::default()
    })
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// Sends one request; `Err` when the server closed without a response.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> std::io::Result<Reply> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    parse(&raw)
}

fn parse(raw: &[u8]) -> std::io::Result<Reply> {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no HTTP response"))?;
    let mut lines = head.lines();
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("bad status line"))?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Ok(Reply {
        status,
        headers,
        body: body.to_string(),
    })
}

pub fn post_graphql_with_key(standin: &Standin, key: &str, body: &Value) -> std::io::Result<Reply> {
    let headers = [("Content-Type", "application/json"), ("X-API-KEY", key)];
    request(
        standin.addr(),
        "POST",
        "/graphql",
        &headers,
        &body.to_string(),
    )
}

/// POSTs a query with the right key; panics if the connection fails.
pub fn gql(standin: &Standin, query: &str, variables: Value) -> Reply {
    let body = serde_json::json!({ "query": query, "variables": variables });
    post_graphql_with_key(standin, KEY, &body).expect("a response")
}

/// Like `gql`, expecting HTTP 200 and no errors; returns `data`.
pub fn data(standin: &Standin, query: &str, variables: Value) -> Value {
    let reply = gql(standin, query, variables);
    let json = reply.json();
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(json.get("errors").is_none(), "{}", reply.body);
    json["data"].clone()
}

/// Pages through a list query, returning the nodes' ids in order.
pub fn walk(
    standin: &Standin,
    root_field: &str,
    sort_type: &str,
    page_size: i64,
    sorting: Option<Value>,
    filter: Option<Value>,
) -> Vec<String> {
    let filter_type = format!("{}Filter", sort_type.trim_end_matches("Sort"));
    let query = format!(
        "query Walk($paging: CursorPaging, $sorting: [{sort_type}!], $filter: {filter_type}) {{
           {root_field}(paging: $paging, sorting: $sorting, filter: $filter) {{
             totalCount pageInfo {{ hasNextPage endCursor }} edges {{ cursor node {{ id }} }}
           }}
         }}"
    );
    let mut ids = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut variables = serde_json::json!({ "paging": { "first": page_size, "after": after } });
        // Omitted variables take the schema defaults; null would not.
        if let Some(s) = &sorting {
            variables["sorting"] = s.clone();
        }
        if let Some(f) = &filter {
            variables["filter"] = f.clone();
        }
        let data = data(standin, &query, variables);
        let connection = &data[root_field];
        for edge in connection["edges"].as_array().expect("edges") {
            ids.push(edge["node"]["id"].as_str().expect("id").to_string());
        }
        if connection["pageInfo"]["hasNextPage"] != Value::Bool(true) {
            assert_eq!(connection["totalCount"].as_u64(), Some(ids.len() as u64));
            return ids;
        }
        after = connection["pageInfo"]["endCursor"]
            .as_str()
            .map(str::to_string);
        assert!(after.is_some());
    }
}
