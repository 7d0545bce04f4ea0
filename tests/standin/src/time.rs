//! Timestamps are milliseconds since the Unix epoch; on the wire they are
//! ISO 8601 in UTC with milliseconds and `Z`, like Stigg's DateTime.

use chrono::{DateTime, SecondsFormat, Utc};

pub type Millis = i64;

pub fn format_iso(ms: Millis) -> String {
    match DateTime::<Utc>::from_timestamp_millis(ms) {
        Some(t) => t.to_rfc3339_opts(SecondsFormat::Millis, true),
        None => String::from("1970-01-01T00:00:00.000Z"),
    }
}

/// Accepts RFC 3339 with any offset (compared as an instant), and also a
/// bare date, which JavaScript's Date (behind Stigg's scalar) accepts too.
pub fn parse_iso(text: &str) -> Option<Millis> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.timestamp_millis());
    }
    let date = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    Some(date.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis())
}

pub fn now_millis() -> Millis {
    Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_millis_and_z() {
        assert_eq!(format_iso(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_iso(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
    }

    #[test]
    fn parses_offsets_as_instants() {
        let z = parse_iso("2023-11-14T22:13:20.123Z");
        assert_eq!(z, Some(1_700_000_000_123));
        assert_eq!(parse_iso("2023-11-15T00:13:20.123+02:00"), z);
        assert_eq!(parse_iso("2023-11-14T22:13:20Z"), Some(1_700_000_000_000));
        assert_eq!(parse_iso("2023-11-14"), Some(1_699_920_000_000));
        assert_eq!(parse_iso("yesterday"), None);
    }
}
