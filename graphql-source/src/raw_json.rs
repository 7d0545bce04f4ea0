//! Reading JSON objects without building trees: the named fields of a
//! record, or its members as raw text, borrowed from the page body.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

/// Reads the named string fields of a JSON object (`None`: absent or null),
/// skipping the rest without building it.
pub fn string_fields<const N: usize>(
    node: &str,
    names: [&str; N],
) -> serde_json::Result<[Option<String>; N]> {
    StringFields(names).deserialize(&mut serde_json::Deserializer::from_str(node))
}

struct StringFields<'n, const N: usize>([&'n str; N]);

impl<'de, const N: usize> DeserializeSeed<'de> for StringFields<'_, N> {
    type Value = [Option<String>; N];

    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        de.deserialize_map(self)
    }
}

impl<'de, const N: usize> Visitor<'de> for StringFields<'_, N> {
    type Value = [Option<String>; N];

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "an object with string fields {}", self.0.join(", "))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut values = std::array::from_fn(|_| None);
        while let Some(name) = map.next_key::<Cow<'de, str>>()? {
            match self.0.iter().position(|wanted| *wanted == name) {
                Some(i) => values[i] = map.next_value::<Option<String>>()?,
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(values)
    }
}

/// An object's members in order, each value as raw JSON text.
pub fn members(object: &str) -> serde_json::Result<Vec<(Cow<'_, str>, &RawValue)>> {
    serde_json::from_str(object).map(|Members(members)| members)
}

struct Members<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for Members<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members<'de>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut members = Vec::new();
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    members.push((key, map.next_value::<&'de RawValue>()?));
                }
                Ok(Members(members))
            }
        }
        de.deserialize_map(V)
    }
}

/// The JSON text at a dotted path of an object's members; `null` when absent.
pub fn value_at(object: &[(Cow<'_, str>, &RawValue)], path: &str) -> String {
    let (head, rest) = path.split_once('.').unwrap_or((path, ""));
    let Some((_, raw)) = object.iter().find(|(k, _)| k == head) else {
        return "null".into();
    };
    if rest.is_empty() {
        return raw.get().to_owned();
    }
    match members(raw.get()) {
        Ok(inner) => value_at(&inner, rest),
        Err(_) => "null".into(),
    }
}

/// Writes the object `members` keeps, in order.
pub fn write_object<'m>(members: impl IntoIterator<Item = (&'m str, &'m str)>, out: &mut String) {
    out.push('{');
    for (i, (key, value)) in members.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_string(key, out);
        out.push(':');
        out.push_str(value);
    }
    out.push('}');
}

/// `text` as a JSON string.
pub fn push_string(text: &str, out: &mut String) {
    match serde_json::to_string(text) {
        Ok(quoted) => out.push_str(&quoted),
        Err(_) => out.push_str("null"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_keep_order_and_raw_text() {
        let text = r#"{"b":[1, 2],"a":{"x":null},"c\"d":"e"}"#;
        let got: Vec<(String, String)> = members(text)
            .unwrap()
            .into_iter()
            .map(|(k, v)| (k.into_owned(), v.get().to_owned()))
            .collect();
        assert_eq!(
            got,
            [
                ("b".into(), "[1, 2]".into()),
                ("a".into(), r#"{"x":null}"#.into()),
                ("c\"d".into(), r#""e""#.into())
            ]
        );
        let mut out = String::new();
        write_object(got.iter().map(|(k, v)| (k.as_str(), v.as_str())), &mut out);
        assert_eq!(out, r#"{"b":[1, 2],"a":{"x":null},"c\"d":"e"}"#);
        assert!(members("[1]").is_err());
    }

    #[test]
    fn string_fields_skip_the_rest() {
        let [a, b] = string_fields(r#"{"a":"1","x":{"y":[1]},"b":null}"#, ["a", "b"]).unwrap();
        assert_eq!((a.as_deref(), b), (Some("1"), None));
    }
}
