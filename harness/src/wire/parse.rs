//! Parsing one complete JSON text (as cut by the [`super::Framer`]) into a value.
//!
//! Standard JSON goes straight to serde_json. QEMU's input dialect (`'single-quoted'` strings,
//! the `\'` escape in either string form) is first rewritten to standard JSON. Unlike plain
//! serde_json, a repeated key in an object is an error, as it is in QEMU.

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::fmt;
use thiserror::Error;

/// Why a complete text is not acceptable JSON. The variants follow QEMU's parser messages
/// (`JSON parse error, ...`), which [`ParseError::qemu_text`] reproduces.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseError {
    #[error("expecting value")]
    ExpectingValue,
    #[error("key is not a string in object")]
    KeyNotString,
    #[error("missing : in object pair")]
    MissingColon,
    #[error("expected separator in dict")]
    DictSeparator,
    #[error("expected separator in array")]
    ArraySeparator,
    #[error("duplicate key")]
    DuplicateKey(String),
    #[error("invalid escape sequence in string")]
    InvalidEscape,
    #[error("invalid UTF-8 sequence in string")]
    InvalidUtf8,
    #[error("invalid number")]
    InvalidNumber,
    #[error("premature EOI")]
    PrematureEnd,
    #[error("control character in string")]
    ControlCharacter,
}

impl ParseError {
    /// The `desc` QEMU 7.2 gives for this error.
    pub fn qemu_text(&self) -> String {
        match self {
            ParseError::InvalidNumber | ParseError::ControlCharacter => {
                "JSON parse error, expecting value".to_string()
            }
            e => format!("JSON parse error, {e}"),
        }
    }
}

/// Parse one complete JSON text. `dialect` says the text may use QEMU's single quotes.
pub fn parse_value(text: &[u8], dialect: bool) -> Result<Value, ParseError> {
    let text: Cow<[u8]> = if dialect {
        Cow::Owned(normalize_dialect(text)?)
    } else {
        Cow::Borrowed(text)
    };
    let mut de = serde_json::Deserializer::from_slice(&text);
    de.disable_recursion_limit();
    let parsed = deserialize_deep(&mut de).and_then(|v| de.end().map(|()| v));
    // serde_json decides; on the failure path the text is scanned again to say why.
    parsed.map_err(|_| super::syntax::first_error(&text))
}

/// Build a value however deep the framer allowed it to be: the stack grows on demand
/// (serde_stacker) instead of overflowing at a thousand levels.
fn deserialize_deep<'de, R: serde_json::de::Read<'de>>(
    de: &mut serde_json::Deserializer<R>,
) -> Result<Value, serde_json::Error> {
    let stacked = serde_stacker::Deserializer {
        de,
        red_zone: 64 * 1024,
        stack_size: 2 << 20,
    };
    StrictValue.deserialize(stacked)
}

/// Rewrite QEMU's dialect to standard JSON: single-quoted strings become double-quoted
/// (escaping any `"` inside), and `\'` becomes `'`.
pub fn normalize_dialect(text: &[u8]) -> Result<Vec<u8>, ParseError> {
    let mut out = Vec::with_capacity(text.len() + 8);
    let mut i = 0;
    let mut quote: Option<u8> = None;
    while i < text.len() {
        let b = text[i];
        match quote {
            None => {
                if b == b'"' || b == b'\'' {
                    quote = Some(b);
                    out.push(b'"');
                } else {
                    out.push(b);
                }
            }
            Some(q) => {
                if b == b'\\' {
                    let next = *text.get(i + 1).ok_or(ParseError::PrematureEnd)?;
                    if next == b'\'' {
                        out.push(b'\'');
                    } else {
                        out.push(b'\\');
                        out.push(next);
                    }
                    i += 2;
                    continue;
                } else if b == q {
                    quote = None;
                    out.push(b'"');
                } else if b == b'"' {
                    out.extend_from_slice(b"\\\"");
                } else {
                    out.push(b);
                }
            }
        }
        i += 1;
    }
    Ok(out)
}

/// A `DeserializeSeed` for `serde_json::Value` that rejects repeated keys.
pub(crate) struct StrictValue;

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut v = Vec::new();
        while let Some(x) = seq.next_element_seed(StrictValue)? {
            v.push(x);
        }
        Ok(Value::Array(v))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut m = Map::new();
        while let Some(k) = map.next_key::<String>()? {
            let v = map.next_value_seed(StrictValue)?;
            if m.contains_key(&k) {
                return Err(de::Error::custom(format_args!("duplicate key `{k}`")));
            }
            m.insert(k, v);
        }
        Ok(Value::Object(m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dialect_single_quotes() {
        let v = parse_value(b"{'execute':'a\"b\\'c'}", true).unwrap();
        assert_eq!(v, json!({"execute": "a\"b'c"}));
        let v = parse_value(b"{\"x\":\"it\\'s\"}", true).unwrap();
        assert_eq!(v, json!({"x": "it's"}));
    }

    /// Regression (differential fuzz target): serde_json's own `Value` reads an object keyed
    /// by its private raw-value marker as the number inside; it is an ordinary object.
    #[test]
    fn serde_private_marker_is_just_a_key() {
        let v = parse_value(br#"{"$serde_json::private::RawValue": "12"}"#, false).unwrap();
        assert_eq!(v, json!({"$serde_json::private::RawValue": "12"}));
    }

    #[test]
    fn duplicate_keys_rejected() {
        let e = parse_value(b"{\"a\":1,\"a\":2}", false).unwrap_err();
        assert_eq!(e, ParseError::DuplicateKey("a".into()));
        assert_eq!(e.qemu_text(), "JSON parse error, duplicate key");
    }

    #[test]
    fn qemu_error_texts() {
        let cases: &[(&[u8], &str)] = &[
            (b"{\"a\" 1}", "JSON parse error, missing : in object pair"),
            (
                b"{\"a\":1 \"b\":2}",
                "JSON parse error, expected separator in dict",
            ),
            (b"{1:2}", "JSON parse error, key is not a string in object"),
            (b"{\"a\":}", "JSON parse error, expecting value"),
            (
                b"{\"a\":\"\\q\"}",
                "JSON parse error, invalid escape sequence in string",
            ),
            (
                b"{\"a\":\"\xff\"}",
                "JSON parse error, invalid UTF-8 sequence in string",
            ),
        ];
        for (input, want) in cases {
            let e = parse_value(input, false).unwrap_err();
            assert_eq!(&e.qemu_text(), want, "{}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn numbers_keep_their_value() {
        let v = parse_value(
            b"[1.5e3, -0.25, 2.5, 123456789012345678901234567890, 7]",
            false,
        )
        .unwrap();
        let a = v.as_array().unwrap();
        assert_eq!(a[0].as_f64(), Some(1500.0));
        assert_eq!(a[1].as_f64(), Some(-0.25));
        assert_eq!(a[2].as_f64(), Some(2.5));
        assert!(a[3].is_number());
        assert_eq!(a[4].as_u64(), Some(7));
        assert_eq!(
            parse_value(b"{\"id\": 2.5}", false).unwrap(),
            serde_json::json!({"id": 2.5})
        );
    }

    #[test]
    fn deep_nesting_within_limits_parses() {
        let mut s = "[".repeat(1024);
        s.push_str(&"]".repeat(1024));
        assert!(parse_value(s.as_bytes(), false).is_ok());
    }
}
