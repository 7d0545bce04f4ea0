//! Offset paging as nestjs-query does it behind Stigg's `CursorPaging`:
//! a cursor is base64 of `arrayconnection:<offset>`, `after` starts the page
//! right behind that offset, `before`/`last` page backwards.

use apollo_compiler::response::JsonValue;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

const PREFIX: &str = "arrayconnection:";
const DEFAULT_PAGE_SIZE: usize = 10;

pub fn encode_cursor(offset: usize) -> String {
    STANDARD.encode(format!("{PREFIX}{offset}"))
}

pub fn decode_cursor(cursor: &str) -> Result<usize, String> {
    let invalid = || format!("Invalid cursor: {cursor:?}");
    let bytes = STANDARD.decode(cursor).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    text.strip_prefix(PREFIX)
        .and_then(|n| n.parse().ok())
        .ok_or_else(invalid)
}

/// The `paging` argument.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PageRequest {
    pub first: Option<i64>,
    pub last: Option<i64>,
    pub after: Option<String>,
    pub before: Option<String>,
}

impl PageRequest {
    pub fn parse(value: &JsonValue) -> PageRequest {
        let Some(map) = value.as_object() else {
            return PageRequest::default();
        };
        let int = |name: &str| map.get(name).and_then(JsonValue::as_i64);
        let text = |name: &str| {
            map.get(name)
                .and_then(JsonValue::as_str)
                .map(str::to_string)
        };
        PageRequest {
            first: int("first"),
            last: int("last"),
            after: text("after"),
            before: text("before"),
        }
    }
}

/// Which slice of the ordered records a page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: usize,
    pub end: usize,
    pub has_next_page: bool,
    pub has_previous_page: bool,
}

/// Picks the window of `total` ordered records that `request` asks for.
pub fn window(total: usize, request: &PageRequest, max_page_size: usize) -> Result<Window, String> {
    let first = checked_size("first", request.first, max_page_size)?;
    let last = checked_size("last", request.last, max_page_size)?;
    let after = request.after.as_deref().map(decode_cursor).transpose()?;
    let before = request.before.as_deref().map(decode_cursor).transpose()?;
    if last.is_some() || (before.is_some() && first.is_none()) {
        let end = before.unwrap_or(total).min(total);
        let start = end.saturating_sub(last.unwrap_or(DEFAULT_PAGE_SIZE));
        return Ok(Window {
            start,
            end,
            has_next_page: end < total,
            has_previous_page: start > 0,
        });
    }
    let start = after.map_or(0, |a| a.saturating_add(1)).min(total);
    let end = start
        .saturating_add(first.unwrap_or(DEFAULT_PAGE_SIZE))
        .min(total);
    Ok(Window {
        start,
        end,
        has_next_page: end < total,
        has_previous_page: start > 0,
    })
}

fn checked_size(name: &str, value: Option<i64>, max: usize) -> Result<Option<usize>, String> {
    match value {
        None => Ok(None),
        Some(n) if n < 0 => Err(format!("Field paging.{name} min allowed value is `0`.")),
        Some(n) if n as u64 > max as u64 => {
            Err(format!("Field paging.{name} max allowed value is `{max}`."))
        }
        Some(n) => Ok(Some(n as usize)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forward(first: i64, after: Option<usize>) -> PageRequest {
        PageRequest {
            first: Some(first),
            after: after.map(encode_cursor),
            ..Default::default()
        }
    }

    #[test]
    fn cursors_round_trip_and_look_like_nestjs_query() {
        assert_eq!(encode_cursor(0), "YXJyYXljb25uZWN0aW9uOjA=");
        assert_eq!(decode_cursor(&encode_cursor(12345)), Ok(12345));
        assert!(decode_cursor("bm9wZQ==").is_err());
        assert!(decode_cursor("%%%").is_err());
    }

    #[test]
    fn forward_pages() {
        let w = window(25, &forward(10, None), 1000);
        assert_eq!(
            w,
            Ok(Window {
                start: 0,
                end: 10,
                has_next_page: true,
                has_previous_page: false
            })
        );
        let w = window(25, &forward(10, Some(19)), 1000);
        assert_eq!(
            w,
            Ok(Window {
                start: 20,
                end: 25,
                has_next_page: false,
                has_previous_page: true
            })
        );
        let w = window(25, &forward(10, Some(24)), 1000);
        assert_eq!(
            w,
            Ok(Window {
                start: 25,
                end: 25,
                has_next_page: false,
                has_previous_page: true
            })
        );
        let w = window(25, &PageRequest::default(), 1000);
        assert_eq!(w.map(|w| w.end), Ok(10));
    }

    #[test]
    fn backward_pages() {
        let request = PageRequest {
            last: Some(5),
            before: Some(encode_cursor(20)),
            ..Default::default()
        };
        let w = window(25, &request, 1000);
        assert_eq!(
            w,
            Ok(Window {
                start: 15,
                end: 20,
                has_next_page: true,
                has_previous_page: true
            })
        );
    }

    #[test]
    fn limits() {
        assert!(window(25, &forward(1001, None), 1000).is_err());
        assert!(window(25, &forward(-1, None), 1000).is_err());
        assert_eq!(
            window(25, &forward(1000, None), 1000).map(|w| w.end),
            Ok(25)
        );
        assert_eq!(window(25, &forward(0, None), 1000).map(|w| w.end), Ok(0));
    }
}
