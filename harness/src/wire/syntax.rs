//! Why a JSON text is not acceptable, in QEMU's terms ([`ParseError`]): a scan of the text
//! that stops at the first error, the way serde_json reads it (the first error in the text;
//! a repeated key once its member's value is read). It runs only on texts serde_json has
//! refused, to say why without reading serde_json's messages.

use super::ParseError;
use std::collections::HashSet;

/// The first error in `text` (standard JSON). A text with none, which serde_json would not
/// have refused, is reported as [`ParseError::ExpectingValue`].
pub(super) fn first_error(text: &[u8]) -> ParseError {
    Scanner { text, pos: 0 }
        .scan()
        .err()
        .unwrap_or(ParseError::ExpectingValue)
}

/// An open container and what it expects next.
enum Open {
    /// An object: the keys read so far, and a repeated key whose value is being read.
    Object {
        keys: HashSet<String>,
        repeated: Option<String>,
    },
    Array,
}

struct Scanner<'a> {
    text: &'a [u8],
    pos: usize,
}

impl Scanner<'_> {
    fn scan(&mut self) -> Result<(), ParseError> {
        let mut stack: Vec<Open> = Vec::new();
        self.value(&mut stack)?;
        loop {
            // A value just ended: close containers, or go on to their next member.
            let Some(top) = stack.last_mut() else {
                self.skip_ws();
                return match self.peek() {
                    None => Ok(()),
                    Some(_) => Err(ParseError::ExpectingValue), // trailing characters
                };
            };
            if let Open::Object { repeated, .. } = top {
                if let Some(key) = repeated.take() {
                    return Err(ParseError::DuplicateKey(key));
                }
            }
            self.skip_ws();
            let is_object = matches!(top, Open::Object { .. });
            match (self.bump(), is_object) {
                (None, _) => return Err(ParseError::PrematureEnd),
                (Some(b'}'), true) | (Some(b']'), false) => {
                    stack.pop();
                }
                (Some(b','), true) => {
                    self.skip_ws();
                    match self.peek() {
                        None => return Err(ParseError::PrematureEnd),
                        Some(b'}') => return Err(ParseError::ExpectingValue), // trailing comma
                        Some(b'"') => {}
                        Some(_) => return Err(ParseError::KeyNotString),
                    }
                    self.member(&mut stack)?;
                }
                (Some(b','), false) => {
                    self.skip_ws();
                    match self.peek() {
                        None => return Err(ParseError::PrematureEnd),
                        Some(b']') => return Err(ParseError::ExpectingValue), // trailing comma
                        Some(_) => self.value(&mut stack)?,
                    }
                }
                (Some(_), true) => return Err(ParseError::DictSeparator),
                (Some(_), false) => return Err(ParseError::ArraySeparator),
            }
        }
    }

    /// A key, a colon, then the start of its value (in `stack`'s innermost object).
    fn member(&mut self, stack: &mut Vec<Open>) -> Result<(), ParseError> {
        let key = self.string()?;
        if let Some(Open::Object { keys, repeated }) = stack.last_mut() {
            if !keys.insert(key.clone()) {
                *repeated = Some(key);
            }
        }
        self.skip_ws();
        match self.bump() {
            None => return Err(ParseError::PrematureEnd),
            Some(b':') => {}
            Some(_) => return Err(ParseError::MissingColon),
        }
        self.value(stack)
    }

    /// A value: a scalar is read whole; a container is opened (and its first member started).
    fn value(&mut self, stack: &mut Vec<Open>) -> Result<(), ParseError> {
        self.skip_ws();
        match self.peek() {
            None => Err(ParseError::PrematureEnd),
            Some(b'{') => {
                self.pos += 1;
                stack.push(Open::Object {
                    keys: HashSet::new(),
                    repeated: None,
                });
                self.skip_ws();
                match self.peek() {
                    None => Err(ParseError::PrematureEnd),
                    Some(b'}') => Ok(()), // closed by `scan`
                    Some(b'"') => self.member(stack),
                    Some(_) => Err(ParseError::KeyNotString),
                }
            }
            Some(b'[') => {
                self.pos += 1;
                stack.push(Open::Array);
                self.skip_ws();
                match self.peek() {
                    None => Err(ParseError::PrematureEnd),
                    Some(b']') => Ok(()), // closed by `scan`
                    Some(_) => self.value(stack),
                }
            }
            Some(b'"') => self.string().map(drop),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => self.literal(),
        }
    }

    fn literal(&mut self) -> Result<(), ParseError> {
        for word in [&b"true"[..], b"false", b"null"] {
            let rest = &self.text[self.pos..];
            if rest.first() == word.first() {
                for (i, &w) in word.iter().enumerate() {
                    match rest.get(i) {
                        None => return Err(ParseError::PrematureEnd),
                        Some(&b) if b == w => {}
                        Some(_) => return Err(ParseError::ExpectingValue),
                    }
                }
                self.pos += word.len();
                return Ok(());
            }
        }
        Err(ParseError::ExpectingValue)
    }

    /// A number as RFC 8259 writes it, whose value is finite as a double.
    fn number(&mut self) -> Result<(), ParseError> {
        let start = self.pos;
        let digits = |s: &mut Self| {
            let from = s.pos;
            while matches!(s.peek(), Some(b'0'..=b'9')) {
                s.pos += 1;
            }
            s.pos - from
        };
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => {
                // One leading zero only.
                self.pos += 1;
                if matches!(self.peek(), Some(b'0'..=b'9')) {
                    return Err(ParseError::InvalidNumber);
                }
            }
            Some(b'1'..=b'9') => {
                digits(self);
            }
            _ => return Err(ParseError::InvalidNumber),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if digits(self) == 0 {
                return Err(ParseError::InvalidNumber);
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if digits(self) == 0 {
                return Err(ParseError::InvalidNumber);
            }
        }
        let text = std::str::from_utf8(&self.text[start..self.pos]).unwrap_or("0");
        match text.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(()),
            _ => Err(ParseError::InvalidNumber),
        }
    }

    /// A string (the scanner is at its opening quote): escapes and UTF-8 checked.
    fn string(&mut self) -> Result<String, ParseError> {
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            match self.bump() {
                None => return Err(ParseError::PrematureEnd),
                Some(b'"') => break,
                Some(b'\\') => match self.bump() {
                    None => return Err(ParseError::PrematureEnd),
                    Some(b'u') => {
                        let c = self.unicode_escape()?;
                        out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                    }
                    Some(e @ (b'"' | b'\\' | b'/')) => out.push(e),
                    Some(b'b') => out.push(8),
                    Some(b'f') => out.push(12),
                    Some(b'n') => out.push(b'\n'),
                    Some(b'r') => out.push(b'\r'),
                    Some(b't') => out.push(b'\t'),
                    Some(_) => return Err(ParseError::InvalidEscape),
                },
                Some(b) if b < 0x20 => return Err(ParseError::ControlCharacter),
                Some(b) => out.push(b),
            }
        }
        String::from_utf8(out).map_err(|_| ParseError::InvalidUtf8)
    }

    /// After `\u`: four hex digits, a surrogate pair being two such escapes.
    fn unicode_escape(&mut self) -> Result<char, ParseError> {
        let first = self.hex4()?;
        let code = match first {
            0xD800..=0xDBFF => {
                if self.bump() != Some(b'\\') || self.bump() != Some(b'u') {
                    return Err(self.escape_error());
                }
                let second = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&second) {
                    return Err(ParseError::InvalidEscape);
                }
                0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
            }
            0xDC00..=0xDFFF => return Err(ParseError::InvalidEscape),
            c => c,
        };
        char::from_u32(code).ok_or(ParseError::InvalidEscape)
    }

    fn hex4(&mut self) -> Result<u32, ParseError> {
        let mut v = 0;
        for _ in 0..4 {
            let Some(b) = self.bump() else {
                return Err(ParseError::PrematureEnd);
            };
            let d = (b as char).to_digit(16).ok_or(ParseError::InvalidEscape)?;
            v = v * 16 + d;
        }
        Ok(v)
    }

    /// A leading surrogate not followed by a second escape: cut short, or invalid.
    fn escape_error(&self) -> ParseError {
        if self.pos > self.text.len() {
            ParseError::PrematureEnd
        } else {
            ParseError::InvalidEscape
        }
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let b = self.peek();
        self.pos += 1;
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn scan(text: &[u8]) -> Result<(), ParseError> {
        Scanner { text, pos: 0 }.scan()
    }

    #[test]
    fn errors_in_qemus_terms() {
        let cases: &[(&[u8], ParseError)] = &[
            (b"", ParseError::PrematureEnd),
            (b"{\"a\" 1}", ParseError::MissingColon),
            (b"{\"a\":1 \"b\":2}", ParseError::DictSeparator),
            (b"[1 2]", ParseError::ArraySeparator),
            (b"{1:2}", ParseError::KeyNotString),
            (b"{\"a\":}", ParseError::ExpectingValue),
            (b"{\"a\":1,}", ParseError::ExpectingValue),
            (b"{\"a\":1}x", ParseError::ExpectingValue),
            (b"tru", ParseError::PrematureEnd),
            (b"[\"\\q\"]", ParseError::InvalidEscape),
            (b"\"\\ud800x\"", ParseError::InvalidEscape),
            (b"\"\xff\"", ParseError::InvalidUtf8),
            (b"\"a\x01\"", ParseError::ControlCharacter),
            (b"1e400", ParseError::InvalidNumber),
            (b"01", ParseError::InvalidNumber),
            (b"[1.]", ParseError::InvalidNumber),
            (b"{\"a\":1,\"a\":[2]}", ParseError::DuplicateKey("a".into())),
            (
                b"{\"a\":{\"b\":1,\"b\":2}}",
                ParseError::DuplicateKey("b".into()),
            ),
            (b"{\"a\":1", ParseError::PrematureEnd),
        ];
        for (text, want) in cases {
            assert_eq!(
                scan(text).err().as_ref(),
                Some(want),
                "{}",
                String::from_utf8_lossy(text)
            );
        }
        assert_eq!(
            scan(br#"{"a": [1, -2.5e3, "\u00e9\ud83d\ude00", true, null, {}]}"#),
            Ok(())
        );
    }

    proptest! {
        /// The scan finds an error exactly where serde_json (with the strict key check)
        /// refuses the text.
        #[test]
        fn agrees_with_serde_json_on_what_is_refused(
            parts in proptest::collection::vec(
                prop_oneof![
                    Just(&b"{"[..]), Just(&b"}"[..]), Just(&b"["[..]), Just(&b"]"[..]),
                    Just(&b":"[..]), Just(&b","[..]), Just(&b" "[..]), Just(&b"\"a\""[..]),
                    Just(&b"\"b\""[..]), Just(&b"1"[..]), Just(&b"-0.5e3"[..]), Just(&b"1e400"[..]),
                    Just(&b"true"[..]), Just(&b"nul"[..]), Just(&b"\"\\u00e9\""[..]),
                    Just(&b"\"\\ud800\""[..]), Just(&b"\"\\x\""[..]), Just(&b"\"\xc3\""[..]),
                ],
                0..12,
            )
        ) {
            let text = parts.concat();
            let refused = super::super::parse_value(&text, false).is_err();
            prop_assert_eq!(scan(&text).is_err(), refused, "{}", String::from_utf8_lossy(&text));
        }
    }
}
