//! The forms a secret (an API key) takes in text a server or a recording may
//! hold: as typed, JSON-escaped (once, or twice when a JSON text is quoted
//! inside JSON), percent-encoded, or base64-encoded inside a longer token.
//! Connectors mask them out of what they say; hosts out of what they record.

/// Every form of `key` a server might send back.
pub fn forms_of(key: &str) -> Vec<String> {
    let mut forms = vec![key.to_owned()];
    for once in json_escapes(key) {
        forms.extend(json_escapes(&once));
        forms.push(once);
    }
    forms.extend(percent_encodings(key));
    forms.extend(base64_cores(key.as_bytes()));
    forms
}

/// The key inside a JSON string, as common encoders write it: non-ASCII raw
/// or as `\u` escapes (either hex case), `/` raw or as `\/`.
fn json_escapes(text: &str) -> Vec<String> {
    let forms = [
        json_escape(text, |_| false, false),
        json_escape(text, |c| !c.is_ascii(), false),
        json_escape(text, |c| !c.is_ascii(), true),
    ];
    let slashed = forms
        .iter()
        .map(|form| form.replace('/', "\\/"))
        .collect::<Vec<_>>();
    forms.into_iter().chain(slashed).collect()
}

fn json_escape(text: &str, as_unicode: impl Fn(char) -> bool, upper: bool) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || as_unicode(c) => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    if upper {
                        out.push_str(&format!("\\u{unit:04X}"));
                    } else {
                        out.push_str(&format!("\\u{unit:04x}"));
                    }
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// Every byte but RFC 3986's unreserved ones as `%XX` (either hex case),
/// and the form encoding (space as `+`).
fn percent_encodings(key: &str) -> Vec<String> {
    let encode = |upper: bool, plus: bool| {
        let mut out = String::with_capacity(key.len() * 3);
        for &b in key.as_bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    out.push(b as char)
                }
                b' ' if plus => out.push('+'),
                b if upper => out.push_str(&format!("%{b:02X}")),
                b => out.push_str(&format!("%{b:02x}")),
            }
        }
        out
    };
    vec![
        encode(true, false),
        encode(false, false),
        encode(true, true),
        encode(false, true),
    ]
}

/// The part of the key's base64 (standard and URL-safe alphabets) that does
/// not depend on its neighbours, at each of the three byte alignments it can
/// have inside a longer encoded text: whole 3-byte groups of key bytes only.
fn base64_cores(key: &[u8]) -> Vec<String> {
    let mut forms = Vec::new();
    for skip in 0..3.min(key.len()) {
        let whole = (key.len() - skip) / 3 * 3;
        if whole == 0 {
            continue;
        }
        let core = &key[skip..skip + whole];
        let standard = base64(core);
        forms.push(standard.replace('+', "-").replace('/', "_"));
        forms.push(standard);
    }
    forms
}

/// Standard base64, padded.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let n = group
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..=group.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
        for _ in group.len()..3 {
            out.push('=');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_standard() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64(&[0xfb, 0xff]), "+/8=");
    }
}
