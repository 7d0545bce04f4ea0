//! Keeps the API key out of everything the connector says.
//!
//! Error messages quote what servers answered, and a server may echo the key:
//! as typed, JSON-escaped (once, or twice when a JSON text is quoted inside
//! JSON), percent-encoded, or base64-encoded inside a longer token. The
//! [`Redactor`] masks every one of those forms, then bounds the text; texts
//! from outside are first cut with [`clip`], which keeps enough past the bound
//! that no form of the key can straddle it.

use connector_io::secret::forms_of;

use crate::settings::Settings;

/// The most characters of one text (a message, an internal message) that
/// leave the connector.
pub const SHOWN_CHARS: usize = 1_000;

/// More than the longest form of the longest key accepted (see
/// `config::MAX_API_KEY_CHARS`): a key character takes at most 14 characters
/// when JSON-escaped twice with `\u` escapes.
pub const MARGIN_CHARS: usize = 4_096;

const MASK: &str = "***";

/// The start of an outside text that the redactor needs to see: what it
/// shows, plus the margin.
pub fn clip(text: &str) -> &str {
    match text.char_indices().nth(SHOWN_CHARS + MARGIN_CHARS) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

/// Masks the API key, in every form it can take, out of outgoing text.
pub struct Redactor {
    /// The forms of the key, longest first; empty for a key too short to mask.
    forms: Vec<String>,
}

impl Redactor {
    /// Keys shorter than this are not real API keys; masking them would
    /// garble every message that happens to contain those letters.
    pub const MIN_KEY_CHARS: usize = 8;

    pub fn new(settings: &Settings) -> Self {
        Self::for_key(settings.api_key.expose())
    }

    pub fn for_key(key: &str) -> Self {
        if key.chars().count() < Self::MIN_KEY_CHARS {
            return Self { forms: Vec::new() };
        }
        let mut forms = forms_of(key);
        forms.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        forms.dedup();
        Self { forms }
    }

    /// The text with every form of the key masked, cut at [`SHOWN_CHARS`].
    pub fn text(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len().min(SHOWN_CHARS * 4));
        let mut rest = text;
        let mut shown = 0;
        while shown < SHOWN_CHARS {
            if let Some(form) = self
                .forms
                .iter()
                .find(|form| rest.starts_with(form.as_str()))
            {
                out.push_str(MASK);
                rest = &rest[form.len()..];
                shown += MASK.len();
                continue;
            }
            let Some(c) = rest.chars().next() else {
                return out;
            };
            out.push(c);
            rest = &rest[c.len_utf8()..];
            shown += 1;
        }
        if !rest.is_empty() {
            out.push('…');
        }
        out
    }

    pub fn error(&self, error: &crate::error::Error) -> crate::error::Error {
        crate::error::Error {
            message: self.text(&error.message),
            internal: error.internal.as_deref().map(|i| self.text(i)),
            ..error.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use connector_io::secret::base64;

    const KEY: &str = "srv-key\"with\\odd/é✓";

    fn masked(text: &str) -> String {
        Redactor::for_key(KEY).text(text)
    }

    #[test]
    fn masks_the_key_as_typed_and_escaped() {
        let once = serde_json::to_string(KEY).expect("json");
        let once = &once[1..once.len() - 1];
        let twice = serde_json::to_string(once).expect("json");
        let twice = &twice[1..twice.len() - 1];
        for form in [KEY, once, twice] {
            assert_eq!(masked(&format!("<{form}>")), "<***>", "{form}");
        }
        // Python's json.dumps: non-ASCII as \u escapes.
        let ascii = "srv-key\\\"with\\\\odd/\\u00e9\\u2713";
        assert_eq!(masked(&format!("a {ascii} b")), "a *** b");
        assert_eq!(masked(&ascii.replace('/', "\\/")), "***");
    }

    #[test]
    fn masks_percent_and_base64_forms() {
        let upper = "srv-key%22with%5Codd%2F%C3%A9%E2%9C%93";
        assert_eq!(masked(&format!("?k={upper}&x")), "?k=***&x");
        assert_eq!(masked(&upper.to_lowercase()), "***");
        for prefix in ["", "a", "ab"] {
            let encoded = base64(format!("{prefix}{KEY}!!").as_bytes());
            let text = masked(&encoded);
            assert!(text.contains(MASK), "{prefix:?}: {encoded} -> {text}");
            assert!(text.len() < encoded.len() - 16, "{text}");
        }
    }

    #[test]
    fn short_keys_are_not_masked_but_text_is_still_bounded() {
        let redactor = Redactor::for_key("abc");
        assert_eq!(redactor.text("abc abc"), "abc abc");
        let long = "x".repeat(SHOWN_CHARS + 10);
        let shown = redactor.text(&long);
        assert_eq!(shown.chars().count(), SHOWN_CHARS + 1);
        assert!(shown.ends_with('…'));
    }

    #[test]
    fn no_part_of_a_key_survives_the_cut() {
        // A key that starts just before the cut is masked whole, not cut in two.
        let key = "K".repeat(64);
        let redactor = Redactor::for_key(&key);
        for offset in [SHOWN_CHARS - 70, SHOWN_CHARS - 10, SHOWN_CHARS - 1] {
            let text = format!("{}{key}{}", "x".repeat(offset), "y".repeat(50));
            let shown = redactor.text(clip(&text));
            assert!(!shown.contains("KKKKKKKK"), "offset {offset}: {shown}");
        }
    }

    #[test]
    fn the_margin_covers_the_longest_form_of_the_longest_key() {
        let worst = "😀".repeat(crate::settings::MAX_API_KEY_CHARS);
        let longest = forms_of(&worst)
            .iter()
            .map(|f| f.chars().count())
            .max()
            .unwrap_or(0);
        assert!(longest <= MARGIN_CHARS, "{longest}");
    }

    #[test]
    fn clip_keeps_shown_plus_margin() {
        let text = "é".repeat(SHOWN_CHARS + MARGIN_CHARS + 5);
        assert_eq!(clip(&text).chars().count(), SHOWN_CHARS + MARGIN_CHARS);
        assert_eq!(clip("short"), "short");
    }
}
