//! A node becomes a RECORD's `data`: it must be a JSON object, nested no
//! deeper than common JSON parsers downstream accept.

use crate::error::{Error, Result};

/// The deepest nesting a record may have: deeper JSON breaks common parsers
/// downstream (API types nest a few levels).
pub const MAX_RECORD_DEPTH: usize = 128;

/// A node becomes a RECORD's `data`: it must be a JSON object, and not nested
/// deeper than [`MAX_RECORD_DEPTH`].
pub fn check_record(node: &str, index: usize, root_field: &str) -> Result<()> {
    let problem = if !node.starts_with('{') {
        let kind = match node.as_bytes().first() {
            Some(b'[') => "an array",
            Some(b'"') => "a string",
            Some(b'n') => "null",
            Some(b't' | b'f') => "a boolean",
            _ => "a number",
        };
        format!("is {kind}, not a JSON object")
    } else if nesting_exceeds(node.as_bytes(), MAX_RECORD_DEPTH) {
        format!("is nested deeper than {MAX_RECORD_DEPTH} levels")
    } else {
        return Ok(());
    };
    Err(Error::system(format!(
        "the {root_field} page is not usable: its node at edge {index} {problem}"
    )))
}

/// Whether valid JSON text nests arrays and objects deeper than `limit`.
fn nesting_exceeds(json: &[u8], limit: usize) -> bool {
    // Most records open fewer brackets than the limit in all: one fast
    // count settles them without walking the strings.
    if memchr::memchr2_iter(b'{', b'[', json)
        .take(limit + 1)
        .count()
        <= limit
    {
        return false;
    }
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(&byte) = json.get(i) {
        i += 1;
        match byte {
            b'"' => loop {
                // Skip the string: to its closing quote, over escapes.
                let Some(at) = memchr::memchr2(b'"', b'\\', &json[i..]) else {
                    return false;
                };
                let escaped = json[i + at] == b'\\';
                i += at + if escaped { 2 } else { 1 };
                if !escaped {
                    break;
                }
            },
            b'{' | b'[' => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brackets_inside_strings_do_not_count() {
        let text = format!(
            r#"{{"a":"{}\"{}","b":[]}}"#,
            "[".repeat(500),
            "{".repeat(500)
        );
        assert!(!nesting_exceeds(text.as_bytes(), 2));
        assert!(nesting_exceeds(br#"{"a":[[1]]}"#, 2));
        assert!(!nesting_exceeds(br#"{"a":"\\\"[[[","b":[1]}"#, 2));
    }
}
