//! The user's config: parsed, checked, and typed so the rest never re-validates it.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::api::Api;
use crate::error::{Error, Result};
use crate::time::{format_rfc3339_ms, parse_rfc3339_ms};

/// Our bound on `first`, and where an unset `page_size` starts: the fewer
/// requests the better under per-minute rate limits, and a server that
/// refuses it says so (see [`PageSize::Automatic`]).
pub const MAX_PAGE_SIZE: u32 = 1000;
/// Rate limits are commonly per minute: a budget of minutes outlasts a window.
pub const DEFAULT_MAX_RETRY_SECONDS: u64 = 600;
pub const MAX_RETRY_SECONDS: u64 = 3600;
/// API keys are a few dozen characters; the bound keeps every form of the
/// key that `redact` masks shorter than its margin.
pub const MAX_API_KEY_CHARS: usize = 256;

/// A validated config, and the API it is for.
#[derive(Debug)]
pub struct Settings {
    pub api: &'static Api,
    pub api_key: ApiKey,
    pub endpoint: Endpoint,
    pub page_size: PageSize,
    /// How long one request's retries may wait in all.
    pub max_retry_seconds: u64,
    /// Earliest `updatedAt` an incremental stream reads on its first sync (RFC 3339, UTC).
    pub start_date: Option<String>,
    /// Whether incremental streams with deletes emit deletion records.
    pub track_deletes: bool,
    /// The share of each operation's rate limit a read may use.
    pub rate_limit_share: f64,
    /// Limits the user set, calls per window, by operation (`*`: every operation).
    pub rate_limits: HashMap<String, u32>,
    /// The rate-limit window the user set, seconds (the API's otherwise).
    pub rate_limit_window_seconds: Option<u32>,
    /// Streams the config reads by the activity log on incremental syncs.
    pub activity_streams: Vec<&'static str>,
    /// Every how many incremental syncs such a stream is read in full.
    pub activity_full_refresh_every: u32,
    /// How often a long read says how far it is (a LOG, and an ESTIMATE
    /// where the size can be told), in milliseconds.
    pub progress_every_ms: u64,
}

/// A long read says how far it is twice a minute.
pub const DEFAULT_PROGRESS_LOG_SECONDS: u64 = 30;

/// A week of daily syncs between full refreshes.
pub const DEFAULT_ACTIVITY_FULL_REFRESH_EVERY: u32 = 7;

/// The config key that turns on `stream`'s activity mode.
pub fn activity_key(stream: &str) -> String {
    format!("{stream}_incremental_via_activity_log")
}

/// Half of each limit stays for the key's other users (often the
/// customer's own product).
pub const DEFAULT_RATE_LIMIT_SHARE: f64 = 0.5;

/// Rows per request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageSize {
    /// The user's `page_size`: a server that refuses it is a config error.
    Chosen(u32),
    /// No `page_size`: the engine's, lowered to what the server accepts
    /// when it refuses a page as too large.
    Automatic(u32),
}

impl PageSize {
    pub fn rows(self) -> u32 {
        match self {
            Self::Chosen(rows) | Self::Automatic(rows) => rows,
        }
    }
}

/// The API key. Its `Debug` never shows it.
pub struct ApiKey(String);

impl ApiKey {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

/// The GraphQL endpoint: an `http(s)` URL without userinfo, and its origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub url: String,
    /// `scheme://host:port`, lower case, port explicit: what the host allow-lists.
    pub origin: String,
}

impl Settings {
    pub fn parse(text: &str, api: &'static Api) -> Result<Settings> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| Error::config(format!("the config is not valid JSON ({e})")))?;
        let Value::Object(fields) = value else {
            return Err(Error::config("the config must be a JSON object"));
        };
        Ok(Settings {
            api,
            api_key: api_key(&fields, api)?,
            endpoint: match optional_str(&fields, "base_url")? {
                Some(url) => Endpoint::parse(url)?,
                None => Endpoint::parse(api.default_base_url)?,
            },
            page_size: page_size(&fields)?,
            max_retry_seconds: integer(&fields, "max_retry_seconds", 0..=MAX_RETRY_SECONDS)?
                .unwrap_or(DEFAULT_MAX_RETRY_SECONDS),
            start_date: start_date(&fields)?,
            track_deletes: optional_bool(&fields, "track_deletes")?.unwrap_or(true),
            rate_limit_share: rate_limit_share(&fields)?,
            rate_limits: rate_limits(&fields)?,
            rate_limit_window_seconds: rate_limit_window_seconds(&fields)?,
            activity_streams: api
                .activity
                .iter()
                .map(|a| a.stream.name)
                .map(|name| Ok((name, optional_bool(&fields, &activity_key(name))?)))
                .filter_map(|on: Result<_>| match on {
                    Ok((name, Some(true))) => Some(Ok(name)),
                    Ok(_) => None,
                    Err(e) => Some(Err(e)),
                })
                .collect::<Result<_>>()?,
            activity_full_refresh_every: integer(&fields, "activity_full_refresh_every", 1..=1000)?
                .map_or(DEFAULT_ACTIVITY_FULL_REFRESH_EVERY, |n| n as u32),
            progress_every_ms: 1000
                * integer(&fields, "progress_log_seconds", 1..=3600)?
                    .unwrap_or(DEFAULT_PROGRESS_LOG_SECONDS),
        })
    }
}

fn api_key(fields: &Map<String, Value>, api: &Api) -> Result<ApiKey> {
    match fields.get("api_key") {
        None | Some(Value::Null) => Err(Error::config(format!(
            "the config has no `api_key`: add your {} API key",
            api.name
        ))),
        Some(Value::String(key)) if key.trim().is_empty() => {
            Err(Error::config("`api_key` is empty"))
        }
        Some(Value::String(key)) if key.chars().any(|c| c.is_control()) => Err(Error::config(
            "`api_key` contains control characters (a stray newline?)",
        )),
        Some(Value::String(key)) if key.trim().chars().count() > MAX_API_KEY_CHARS => {
            Err(Error::config(format!(
                "`api_key` is longer than {MAX_API_KEY_CHARS} characters: not an API key"
            )))
        }
        Some(Value::String(key)) => header_safe(key.trim()).map(|k| ApiKey(k.to_owned())),
        Some(other) => Err(Error::config(format!(
            "`api_key` must be a string, not {}",
            kind(other)
        ))),
    }
}

/// The key travels in an HTTP header, which carries visible ASCII only: a
/// key with anything else (a typographic quote, an inner space) would be
/// refused by every HTTP stack, or mangled by some, rather than sent.
fn header_safe(key: &str) -> Result<&str> {
    match key.chars().position(|c| !c.is_ascii_graphic()) {
        None => Ok(key),
        Some(at) => Err(Error::config(format!(
            "`api_key` holds a character an HTTP header cannot carry (character {} of the key): \
             a key is visible ASCII; was it pasted with a space or a typographic quote?",
            at + 1
        ))),
    }
}

fn rate_limit_window_seconds(fields: &Map<String, Value>) -> Result<Option<u32>> {
    match fields.get("rate_limit_window_seconds") {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_u64()
            .filter(|n| (1..=3600).contains(n))
            .map(|n| Some(n as u32))
            .ok_or_else(|| {
                Error::config(format!(
                    "`rate_limit_window_seconds` must be a whole number from 1 to 3600, not {}",
                    kind(value)
                ))
            }),
    }
}

fn rate_limit_share(fields: &Map<String, Value>) -> Result<f64> {
    let wrong = |what: String| {
        Error::config(format!(
            "`rate_limit_share` must be a number above 0 and at most 1, not {what}"
        ))
    };
    match fields.get("rate_limit_share") {
        None | Some(Value::Null) => Ok(DEFAULT_RATE_LIMIT_SHARE),
        Some(Value::Number(n)) => n
            .as_f64()
            .filter(|share| *share > 0.0 && *share <= 1.0)
            .ok_or_else(|| wrong(n.to_string())),
        Some(other) => Err(wrong(kind(other).to_owned())),
    }
}

/// `rate_limits`: a list of `{operation, calls_per_minute}` (what a form
/// renders), or the object of operation to calls that 0.4 configs hold.
fn rate_limits(fields: &Map<String, Value>) -> Result<HashMap<String, u32>> {
    let pairs: Vec<(String, &Value)> = match fields.get("rate_limits") {
        None | Some(Value::Null) => return Ok(HashMap::new()),
        Some(Value::Object(limits)) => limits.iter().map(|(k, v)| (k.clone(), v)).collect(),
        Some(Value::Array(entries)) => entries
            .iter()
            .enumerate()
            .map(|(i, entry)| rate_limit_entry(i, entry))
            .collect::<Result<_>>()?,
        Some(other) => {
            return Err(Error::config(format!(
                "`rate_limits` must be a list of {{\"operation\", \"calls_per_minute\"}}, not {}",
                kind(other)
            )))
        }
    };
    let mut limits = HashMap::new();
    for (operation, calls) in pairs {
        let calls = calls
            .as_u64()
            .filter(|n| (1..=u64::from(u32::MAX)).contains(n))
            .ok_or_else(|| {
                Error::config(format!(
                    "`rate_limits`: the calls a minute of `{operation}` must be a whole number, at least 1"
                ))
            })?;
        if limits.insert(operation.clone(), calls as u32).is_some() {
            return Err(Error::config(format!(
                "`rate_limits` names `{operation}` twice"
            )));
        }
    }
    Ok(limits)
}

fn rate_limit_entry(i: usize, entry: &Value) -> Result<(String, &Value)> {
    let wrong = || {
        Error::config(format!(
            "`rate_limits` entry #{} must be {{\"operation\": NAME, \"calls_per_minute\": N}}",
            i + 1
        ))
    };
    let operation = entry
        .get("operation")
        .and_then(Value::as_str)
        .ok_or_else(wrong)?;
    let calls = entry.get("calls_per_minute").ok_or_else(wrong)?;
    Ok((operation.trim().to_owned(), calls))
}

fn optional_bool(fields: &Map<String, Value>, name: &str) -> Result<Option<bool>> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(value)) => Ok(Some(*value)),
        Some(other) => Err(Error::config(format!(
            "`{name}` must be true or false, not {}",
            kind(other)
        ))),
    }
}

fn optional_str<'a>(fields: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(other) => Err(Error::config(format!(
            "`{name}` must be a string, not {}",
            kind(other)
        ))),
    }
}

fn page_size(fields: &Map<String, Value>) -> Result<PageSize> {
    let range = format!("an integer from 1 to {MAX_PAGE_SIZE}");
    match fields.get("page_size") {
        None | Some(Value::Null) => Ok(PageSize::Automatic(MAX_PAGE_SIZE)),
        Some(Value::Number(n)) => n
            .as_u64()
            .filter(|n| (1..=u64::from(MAX_PAGE_SIZE)).contains(n))
            .map(|n| PageSize::Chosen(n as u32))
            .ok_or_else(|| Error::config(format!("`page_size` must be {range}, not {n}"))),
        Some(other) => Err(Error::config(format!(
            "`page_size` must be {range}, not {}",
            kind(other)
        ))),
    }
}

/// An optional integer field within `range`.
fn integer(
    fields: &Map<String, Value>,
    name: &str,
    range: std::ops::RangeInclusive<u64>,
) -> Result<Option<u64>> {
    let within = format!("an integer from {} to {}", range.start(), range.end());
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .filter(|n| range.contains(n))
            .map(Some)
            .ok_or_else(|| Error::config(format!("`{name}` must be {within}, not {n}"))),
        Some(other) => Err(Error::config(format!(
            "`{name}` must be {within}, not {}",
            kind(other)
        ))),
    }
}

fn start_date(fields: &Map<String, Value>) -> Result<Option<String>> {
    let Some(text) = optional_str(fields, "start_date")? else {
        return Ok(None);
    };
    let ms = parse_rfc3339_ms(text).ok_or_else(|| {
        Error::config(format!(
            "`start_date` must be an ISO 8601 date or date-time such as 2024-01-31 or 2024-01-31T00:00:00Z, not {text:?}"
        ))
    })?;
    Ok(Some(format_rfc3339_ms(ms)))
}

/// A JSON value's kind, for error messages (never its content: it may be a secret).
pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl Endpoint {
    /// Accepts `http(s)://host[:port][/path][?query]`, strictly: no userinfo, no
    /// fragment, no whitespace, a plain DNS name or an IP literal as host.
    pub fn parse(url: &str) -> Result<Endpoint> {
        let bad = |why: &str| Error::config(format!("`base_url` {url:?} is not usable: {why}"));
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| bad("it must start with https:// or http://"))?;
        let scheme = scheme.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "https" => 443,
            "http" => 80,
            _ => return Err(bad("the scheme must be https or http")),
        };
        if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad("it contains whitespace"));
        }
        if url.contains('#') {
            return Err(bad("it has a #fragment"));
        }
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(authority_end);
        if authority.contains('@') {
            return Err(bad("it must not contain a user name or password"));
        }
        let (host, port) =
            split_host_port(authority).ok_or_else(|| bad("its host or port is malformed"))?;
        let port = port.unwrap_or(default_port);
        let host = host.to_ascii_lowercase();
        let path = if path.is_empty() { "/" } else { path };
        Ok(Endpoint {
            url: format!(
                "{scheme}://{host}{}{path}",
                explicit_port(port, default_port)
            ),
            origin: format!("{scheme}://{host}:{port}"),
        })
    }
}

fn explicit_port(port: u16, default_port: u16) -> String {
    if port == default_port {
        String::new()
    } else {
        format!(":{port}")
    }
}

/// Splits `host[:port]` or `[v6]:port`; checks the host's characters.
fn split_host_port(authority: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let close = v6.find(']')?;
        let host = &authority[..close + 2];
        let valid = v6[..close]
            .chars()
            .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.');
        (valid && close > 0).then_some(())?;
        let rest = &authority[close + 2..];
        let port = if rest.is_empty() {
            None
        } else {
            Some(rest.strip_prefix(':')?)
        };
        (host, port)
    } else {
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        };
        let valid = !host.is_empty()
            && host.split('.').all(|label| {
                !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        valid.then_some(())?;
        (host, port)
    };
    match port {
        None => Some((host, None)),
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .map(|p| (host, Some(p))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::API;

    fn config_error(text: &str) -> String {
        let err = Settings::parse(text, &API).unwrap_err();
        assert_eq!(err.failure_type, crate::error::FailureType::Config);
        err.message
    }

    #[test]
    fn defaults_fill_what_is_absent() {
        let c = Settings::parse(r#"{"api_key": " k "}"#, &API).unwrap();
        assert_eq!(c.api_key.expose(), "k");
        assert_eq!(c.endpoint.url, "https://api.example.com/graphql");
        assert_eq!(c.endpoint.origin, "https://api.example.com:443");
        assert_eq!(c.page_size, PageSize::Automatic(1000));
        assert_eq!(c.start_date, None);
    }

    #[test]
    fn normalises_endpoint_and_start_date() {
        let c = Settings::parse(
            r#"{"api_key":"k","base_url":"HTTP://127.0.0.1:8080/graphql","page_size":1000,"start_date":"2024-01-31"}"#,
            &API,
        )
        .unwrap();
        assert_eq!(c.page_size, PageSize::Chosen(1000));
        assert_eq!(c.endpoint.url, "http://127.0.0.1:8080/graphql");
        assert_eq!(c.endpoint.origin, "http://127.0.0.1:8080");
        assert_eq!(c.start_date.as_deref(), Some("2024-01-31T00:00:00.000Z"));
        let v6 = Endpoint::parse("http://[::1]:9/x").unwrap();
        assert_eq!(v6.origin, "http://[::1]:9");
    }

    #[test]
    fn rejects_bad_configs_with_the_field_named() {
        assert!(config_error("nope").contains("not valid JSON"));
        assert!(config_error("[]").contains("JSON object"));
        assert!(config_error("{}").contains("no `api_key`"));
        assert!(config_error(r#"{"api_key": 5}"#).contains("`api_key` must be a string"));
        assert!(config_error(r#"{"api_key": "  "}"#).contains("empty"));
        assert!(config_error(r#"{"api_key": "a\nb"}"#).contains("control"));
        for key in ["abc✓def", "abc def", "café-key", "“key”"] {
            let text = serde_json::json!({ "api_key": key }).to_string();
            assert!(
                config_error(&text).contains("cannot carry"),
                "{key}: {}",
                config_error(&text)
            );
        }
        let visible: String = ('!'..='~').collect();
        let all = format!(r#"{{"api_key": {}}}"#, serde_json::json!(visible));
        assert_eq!(
            Settings::parse(&all, &API).unwrap().api_key.expose(),
            visible
        );
        let long = format!(r#"{{"api_key": "{}"}}"#, "k".repeat(MAX_API_KEY_CHARS + 1));
        assert!(config_error(&long).contains("longer than 256 characters"));
        let longest = format!(r#"{{"api_key": "{}"}}"#, "k".repeat(MAX_API_KEY_CHARS));
        assert!(Settings::parse(&longest, &API).is_ok());
        assert!(config_error(r#"{"api_key":"k","page_size":0}"#).contains("`page_size`"));
        assert!(config_error(r#"{"api_key":"k","page_size":1001}"#).contains("1 to 1000"));
        assert!(config_error(r#"{"api_key":"k","page_size":"50"}"#).contains("a string"));
        assert!(
            config_error(r#"{"api_key":"k","start_date":"last week"}"#).contains("`start_date`")
        );
        assert!(config_error(r#"{"api_key":"k","track_deletes":"no"}"#)
            .contains("`track_deletes` must be true or false, not a string"));
        let off = Settings::parse(r#"{"api_key":"k","track_deletes":false}"#, &API).unwrap();
        assert!(!off.track_deletes);
        assert!(
            Settings::parse(r#"{"api_key":"k"}"#, &API)
                .unwrap()
                .track_deletes
        );
        for (share, ok) in [
            ("0", false),
            ("1.5", false),
            ("\"half\"", false),
            ("0.25", true),
        ] {
            let text = format!(r#"{{"api_key":"k","rate_limit_share":{share}}}"#);
            assert_eq!(Settings::parse(&text, &API).is_ok(), ok, "{share}");
        }
        assert!(
            config_error(r#"{"api_key":"k","rate_limit_share":2}"#).contains("at most 1, not 2")
        );
        assert!(
            config_error(r#"{"api_key":"k","rate_limits":{"customers":0}}"#)
                .contains("of `customers` must be a whole number")
        );
        assert!(config_error(r#"{"api_key":"k","rate_limits":"fast"}"#).contains("not a string"));
        let raised = Settings::parse(r#"{"api_key":"k","rate_limits":{"*":6000}}"#, &API).unwrap();
        assert_eq!(raised.rate_limits["*"], 6000);
        let listed = Settings::parse(
            r#"{"api_key":"k","rate_limits":[{"operation":"*","calls_per_minute":6000},
                {"operation":"subscriptions","calls_per_minute":3000}]}"#,
            &API,
        )
        .unwrap();
        assert_eq!(
            listed.rate_limits,
            raised
                .rate_limits
                .clone()
                .into_iter()
                .chain([("subscriptions".to_owned(), 3000)])
                .collect()
        );
        assert!(Settings::parse(r#"{"api_key":"k","rate_limits":[]}"#, &API)
            .unwrap()
            .rate_limits
            .is_empty());
        for (entries, expected) in [
            (r#"[{"operation":"plans"}]"#, "entry #1 must be"),
            (r#"[{"calls_per_minute":5}]"#, "entry #1 must be"),
            (r#"[7]"#, "entry #1 must be"),
            (
                r#"[{"operation":"plans","calls_per_minute":0}]"#,
                "of `plans` must be a whole number",
            ),
            (
                r#"[{"operation":"plans","calls_per_minute":5},{"operation":"plans","calls_per_minute":6}]"#,
                "names `plans` twice",
            ),
        ] {
            let text = format!(r#"{{"api_key":"k","rate_limits":{entries}}}"#);
            assert!(
                config_error(&text).contains(expected),
                "{entries}: {}",
                config_error(&text)
            );
        }
        for url in [
            "api.example.com/graphql",
            "ftp://api.example.com",
            "https://user:pw@api.example.com/graphql",
            "https://api.example.com@evil.example/graphql",
            "https://api.example.com:99999/",
            "https://api example.com/",
            "https://api.example.com/graphql#x",
            "https:///graphql",
            "https://exa_mple.com/",
            "http://[::1]x/",
        ] {
            let body = format!(r#"{{"api_key":"k","base_url":"{url}"}}"#);
            assert!(config_error(&body).contains("`base_url`"), "{url}");
        }
    }

    #[test]
    fn error_messages_never_echo_the_key() {
        let msg = config_error(r#"{"api_key":"secret-123","page_size":-1}"#);
        assert!(!msg.contains("secret-123"));
        assert!(!format!(
            "{:?}",
            Settings::parse(r#"{"api_key":"secret-123"}"#, &API).unwrap()
        )
        .contains("secret-123"));
    }
}
