//! QEMU 7.2's JSON input pipeline for QMP, reproduced: lexer (qobject/json-lexer.c), message
//! streamer (json-streamer.c) and parser (json-parser.c), with the same error recovery and the
//! same error texts. Sans-IO: bytes go in one at a time, complete values or errors come out.
//!
//! The differences from [`crate::wire::Framer`] matter for byte-exact replies: after a lexical
//! error QEMU skips input until a structural character, control character or 0xFE/0xFF byte;
//! an unbalanced `}` is parsed as a message of its own ("expecting value"); a stray token's
//! error quotes the token's raw bytes. Every limit comes from [`Limits`] (QEMU's by default);
//! memory stays within the message-size limit.

use super::qobject::{mod_utf8_codepoint, qemu_lossy, QObj};
use crate::wire::Limits;
use std::collections::VecDeque;

/// Knobs that make the parser deviate from QEMU (fault injection).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Deviations {
    /// Control characters and 0xFE/0xFF are dropped instead of resetting the parser.
    pub no_reset: bool,
    /// `'single-quoted'` strings are a lexical error.
    pub no_single_quotes: bool,
    /// Invalid UTF-8 in strings becomes U+FFFD instead of an error.
    pub accept_bad_utf8: bool,
    /// A number beyond double range becomes infinity (QEMU 7.2's behaviour) instead of an
    /// error.
    pub inf_numbers: bool,
}

/// What the streamer produced.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    /// A complete value; `bytes` is the total size of its tokens.
    Value { value: QObj, bytes: usize },
    /// An error, with QEMU's text (`JSON parse error, ...` or a limit message).
    Error(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lex {
    Recovery,
    DqStr,
    DqEsc,
    SqStr,
    SqEsc,
    Zero,
    ExpDigits,
    ExpSign,
    ExpE,
    Mantissa,
    MantissaDigits,
    Digits,
    Sign,
    Keyword,
    Start,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    LCurly,
    RCurly,
    LSquare,
    RSquare,
    Colon,
    Comma,
    Integer,
    Float,
    Keyword,
    Str,
    /// A token cut because it grew past the size limit (QEMU passes the lexer state).
    Oversize,
}

#[derive(Debug, Clone, Copy)]
enum Next {
    State(Lex),
    Token(Tok),
    Error,
}

/// The lexer's transition for one byte: the next step and whether it needed lookahead
/// (the byte is then fed again from the start state).
/// True when `ch` is plain content of the string `state` is in: anything from 0x20 to 0xFD
/// but a backslash and the string's own quote.
#[inline(always)]
fn continues_string(state: Lex, ch: u8) -> bool {
    let quote = match state {
        Lex::DqStr => b'"',
        Lex::SqStr => b'\'',
        _ => return false,
    };
    (0x20..=0xFD).contains(&ch) && ch != b'\\' && ch != quote
}

fn next(state: Lex, ch: u8, dev: Deviations) -> (Next, bool) {
    use Lex::*;
    use Next::{Error as E, State as S, Token as T};
    let digit = ch.is_ascii_digit();
    match state {
        Recovery => match ch {
            0..=0x1F if ch != b'\t' => (S(Start), true),
            0xFE | 0xFF => (S(Start), true),
            b'[' | b']' | b'{' | b'}' | b':' | b',' => (S(Start), true),
            _ => (S(Recovery), false),
        },
        DqStr | SqStr => match ch {
            _ if continues_string(state, ch) => (S(state), false),
            b'\\' => (S(if state == DqStr { DqEsc } else { SqEsc }), false),
            b'"' | b'\'' => (T(Tok::Str), false), // only the string's own quote gets here
            _ => (E, false),
        },
        DqEsc | SqEsc => match ch {
            0x20..=0xFD => (S(if state == DqEsc { DqStr } else { SqStr }), false),
            _ => (E, false),
        },
        Zero => match ch {
            _ if digit => (E, false),
            b'.' => (S(Mantissa), false),
            _ => (T(Tok::Integer), true),
        },
        ExpDigits => {
            if digit {
                (S(ExpDigits), false)
            } else {
                (T(Tok::Float), true)
            }
        }
        ExpSign => {
            if digit {
                (S(ExpDigits), false)
            } else {
                (E, false)
            }
        }
        ExpE => match ch {
            b'-' | b'+' => (S(ExpSign), false),
            _ if digit => (S(ExpDigits), false),
            _ => (E, false),
        },
        MantissaDigits => match ch {
            _ if digit => (S(MantissaDigits), false),
            b'e' | b'E' => (S(ExpE), false),
            _ => (T(Tok::Float), true),
        },
        Mantissa => {
            if digit {
                (S(MantissaDigits), false)
            } else {
                (E, false)
            }
        }
        Digits => match ch {
            _ if digit => (S(Digits), false),
            b'e' | b'E' => (S(ExpE), false),
            b'.' => (S(Mantissa), false),
            _ => (T(Tok::Integer), true),
        },
        Sign => match ch {
            b'0' => (S(Zero), false),
            b'1'..=b'9' => (S(Digits), false),
            _ => (E, false),
        },
        Keyword => match ch {
            b'a'..=b'z' => (S(Keyword), false),
            _ => (T(Tok::Keyword), true),
        },
        Start => match ch {
            b'"' => (S(DqStr), false),
            b'\'' if !dev.no_single_quotes => (S(SqStr), false),
            b'0' => (S(Zero), false),
            b'1'..=b'9' => (S(Digits), false),
            b'-' => (S(Sign), false),
            b'{' => (T(Tok::LCurly), false),
            b'}' => (T(Tok::RCurly), false),
            b'[' => (T(Tok::LSquare), false),
            b']' => (T(Tok::RSquare), false),
            b',' => (T(Tok::Comma), false),
            b':' => (T(Tok::Colon), false),
            b'a'..=b'z' => (S(Keyword), false),
            b' ' | b'\t' | b'\r' | b'\n' => (S(Start), false),
            _ => (E, false),
        },
    }
}

/// QEMU's JSON message parser: feed bytes, collect [`Parsed`] items.
#[derive(Debug, Clone)]
pub struct JsonStream {
    limits: Limits,
    dev: Deviations,
    state: Lex,
    token: Vec<u8>,
    /// Queued tokens of the message in progress: kind and range in `text`.
    toks: Vec<(Tok, usize, usize)>,
    text: Vec<u8>,
    braces: i64,
    brackets: i64,
    out: VecDeque<Parsed>,
}

impl JsonStream {
    pub fn new(limits: Limits, dev: Deviations) -> Self {
        JsonStream {
            limits,
            dev,
            state: Lex::Start,
            token: Vec::new(),
            toks: Vec::new(),
            text: Vec::new(),
            braces: 0,
            brackets: 0,
            out: VecDeque::new(),
        }
    }

    /// Current nesting of the message in progress.
    pub fn depth(&self) -> i64 {
        self.braces.max(0) + self.brackets.max(0)
    }

    /// Bytes held for the message in progress.
    pub fn pending_bytes(&self) -> usize {
        self.text.len() + self.token.len()
    }

    /// True when nothing is in progress (between messages, lexer at its start state).
    pub fn at_boundary(&self) -> bool {
        self.toks.is_empty() && self.state == Lex::Start && self.token.is_empty()
    }

    /// Take the next parsed item.
    pub fn pop(&mut self) -> Option<Parsed> {
        self.out.pop_front()
    }

    /// Items waiting to be taken.
    pub fn ready(&self) -> usize {
        self.out.len()
    }

    /// Feed one byte (QEMU's `json_lexer_feed_char`).
    pub fn feed(&mut self, ch: u8) {
        if self.dev.no_reset && (ch < 0x20 && !matches!(ch, b'\t' | b'\r' | b'\n') || ch >= 0xFE) {
            return;
        }
        // Fast path for the bulk of the input, the inside of a string (`next` would stay put).
        if continues_string(self.state, ch) && self.token.len() < self.limits.max_message_bytes {
            self.token.push(ch);
            return;
        }
        let mut consumed = false;
        while !consumed {
            let (step, lookahead) = next(self.state, ch, self.dev);
            consumed = !lookahead;
            if consumed {
                self.token.push(ch);
            }
            match step {
                Next::Token(kind) => {
                    self.token_done(kind);
                    self.token.clear();
                    self.state = Lex::Start;
                }
                Next::State(Lex::Start) => {
                    self.token.clear();
                    self.state = Lex::Start;
                }
                Next::State(Lex::Recovery) => {
                    self.token.clear();
                    self.state = Lex::Recovery;
                }
                Next::State(s) => self.state = s,
                Next::Error => {
                    let text = qemu_lossy(&self.token);
                    self.emit_error(format!("JSON parse error, stray '{text}'"));
                    self.token.clear();
                    self.state = Lex::Recovery;
                }
            }
        }
        if self.token.len() > self.limits.max_message_bytes {
            self.token_done(Tok::Oversize);
            self.token.clear();
            self.state = Lex::Start;
        }
    }

    fn reset(&mut self) {
        self.braces = 0;
        self.brackets = 0;
        self.toks.clear();
        self.text.clear();
        if self.text.capacity() > 1 << 16 {
            self.text.shrink_to(1 << 12);
            self.toks.shrink_to(256);
        }
    }

    fn emit_error(&mut self, msg: String) {
        self.reset();
        self.out.push_back(Parsed::Error(msg));
    }

    /// QEMU's `json_message_process_token`.
    fn token_done(&mut self, kind: Tok) {
        match kind {
            Tok::LCurly => self.braces += 1,
            Tok::RCurly => self.braces -= 1,
            Tok::LSquare => self.brackets += 1,
            Tok::RSquare => self.brackets -= 1,
            _ => {}
        }
        let len = self.token.len();
        if self.text.len() + len + 1 > self.limits.max_message_bytes {
            return self.emit_error("JSON token size limit exceeded".into());
        }
        if self.toks.len() + 1 > self.limits.max_tokens {
            return self.emit_error("JSON token count limit exceeded".into());
        }
        if self.braces + self.brackets > self.limits.max_depth as i64 {
            return self.emit_error("JSON nesting depth limit exceeded".into());
        }
        let start = self.text.len();
        self.text.extend_from_slice(&self.token);
        self.toks.push((kind, start, start + len));
        if (self.braces > 0 || self.brackets > 0) && self.braces >= 0 && self.brackets >= 0 {
            return;
        }
        let bytes = self.text.len();
        let item = {
            let mut p = Parser {
                toks: &self.toks,
                text: &self.text,
                pos: 0,
                err: None,
                dev: self.dev,
            };
            let v = p.parse_value();
            match (v, p.err) {
                (_, Some(e)) => Parsed::Error(format!("JSON parse error, {e}")),
                (Some(value), None) => Parsed::Value { value, bytes },
                (None, None) => Parsed::Error("JSON parse error, expecting value".into()),
            }
        };
        self.reset();
        self.out.push_back(item);
    }
}

/// QEMU's recursive-descent parser over one message's tokens; the first error wins.
struct Parser<'a> {
    toks: &'a [(Tok, usize, usize)],
    text: &'a [u8],
    pos: usize,
    err: Option<String>,
    dev: Deviations,
}

impl Parser<'_> {
    fn error(&mut self, msg: impl Into<String>) {
        if self.err.is_none() {
            self.err = Some(msg.into());
        }
    }

    fn peek(&self) -> Option<Tok> {
        self.toks.get(self.pos).map(|t| t.0)
    }

    fn pop(&mut self) -> Option<(Tok, &[u8])> {
        let t = self.toks.get(self.pos)?;
        self.pos += 1;
        Some((t.0, &self.text[t.1..t.2]))
    }

    fn parse_value(&mut self) -> Option<QObj> {
        // Nesting is bounded by the streamer's depth limit; grow the stack rather than trust
        // the caller's thread to have room for a thousand levels.
        stacker::maybe_grow(32 * 1024, 1024 * 1024, || self.parse_value_inner())
    }

    fn parse_value_inner(&mut self) -> Option<QObj> {
        match self.peek() {
            None => {
                self.error("premature EOI");
                None
            }
            Some(Tok::LCurly) => self.parse_object(),
            Some(Tok::LSquare) => self.parse_array(),
            Some(Tok::Integer | Tok::Float | Tok::Str) => self.parse_literal(),
            Some(Tok::Keyword) => {
                let (_, s) = self.pop()?;
                match s {
                    b"true" => Some(QObj::Bool(true)),
                    b"false" => Some(QObj::Bool(false)),
                    b"null" => Some(QObj::Null),
                    other => {
                        let k = String::from_utf8_lossy(other).into_owned();
                        self.error(format!("invalid keyword '{k}'"));
                        None
                    }
                }
            }
            Some(_) => {
                self.error("expecting value");
                None
            }
        }
    }

    fn parse_object(&mut self) -> Option<QObj> {
        self.pop();
        let mut members: Vec<(String, QObj)> = Vec::new();
        match self.peek() {
            None => {
                self.error("premature EOI");
                return None;
            }
            Some(Tok::RCurly) => {
                self.pop();
                return Some(QObj::Dict(members));
            }
            Some(_) => {}
        }
        self.parse_pair(&mut members)?;
        loop {
            let Some((t, _)) = self.pop() else {
                self.error("premature EOI");
                return None;
            };
            match t {
                Tok::RCurly => return Some(QObj::Dict(members)),
                Tok::Comma => self.parse_pair(&mut members)?,
                _ => {
                    self.error("expected separator in dict");
                    return None;
                }
            }
        }
    }

    fn parse_pair(&mut self, members: &mut Vec<(String, QObj)>) -> Option<()> {
        if self.peek().is_none() {
            self.error("premature EOI");
            return None;
        }
        let key = match self.parse_value() {
            Some(QObj::Str(k)) => k,
            _ => {
                self.error("key is not a string in object");
                return None;
            }
        };
        match self.pop() {
            None => {
                self.error("premature EOI");
                return None;
            }
            Some((Tok::Colon, _)) => {}
            Some(_) => {
                self.error("missing : in object pair");
                return None;
            }
        }
        let Some(value) = self.parse_value() else {
            self.error("Missing value in dict");
            return None;
        };
        if members.iter().any(|(k, _)| *k == key) {
            self.error("duplicate key");
            return None;
        }
        members.push((key, value));
        Some(())
    }

    fn parse_array(&mut self) -> Option<QObj> {
        self.pop();
        let mut items = Vec::new();
        match self.peek() {
            None => {
                self.error("premature EOI");
                return None;
            }
            Some(Tok::RSquare) => {
                self.pop();
                return Some(QObj::List(items));
            }
            Some(_) => {}
        }
        let Some(v) = self.parse_value() else {
            self.error("expecting value");
            return None;
        };
        items.push(v);
        loop {
            let Some((t, _)) = self.pop() else {
                self.error("premature EOI");
                return None;
            };
            match t {
                Tok::RSquare => return Some(QObj::List(items)),
                Tok::Comma => {
                    let Some(v) = self.parse_value() else {
                        self.error("expecting value");
                        return None;
                    };
                    items.push(v);
                }
                _ => {
                    self.error("expected separator in list");
                    return None;
                }
            }
        }
    }

    fn parse_literal(&mut self) -> Option<QObj> {
        let dev = self.dev;
        let (t, s) = self.pop()?;
        match t {
            Tok::Str => match parse_string(s, dev.accept_bad_utf8) {
                Ok(v) => Some(QObj::Str(v)),
                Err(e) => {
                    self.error(e);
                    None
                }
            },
            Tok::Integer | Tok::Float => {
                let s = std::str::from_utf8(s).unwrap_or("0");
                if t == Tok::Integer {
                    if let Ok(i) = s.parse::<i64>() {
                        return Some(QObj::Int(i));
                    }
                    if !s.starts_with('-') {
                        if let Ok(u) = s.parse::<u64>() {
                            return Some(QObj::UInt(u));
                        }
                    }
                }
                // strtod: underflow gives 0. Overflow gives +-inf in QEMU 7.2, which then
                // writes the bare word `inf` (an id of 1e999 comes back as `"id": inf`,
                // invalid JSON: frame.objects-only). This is the one place the emulated
                // monitor departs from QEMU on purpose: such a number is a parse error, as
                // RFC 8259 allows ("an implementation may set limits on the range").
                let f = s.parse::<f64>().unwrap_or(0.0);
                if f.is_infinite() && !dev.inf_numbers {
                    self.error("number out of range");
                    return None;
                }
                Some(QObj::Double(f))
            }
            _ => None,
        }
    }
}

fn cvt4hex(s: &[u8]) -> i32 {
    let mut cp = 0i32;
    for i in 0..4 {
        let Some(d) = s.get(i).and_then(|&c| (c as char).to_digit(16)) else {
            return -1;
        };
        cp = (cp << 4) | d as i32;
    }
    cp
}

fn valid_codepoint(cp: i32) -> bool {
    !(cp > 0x10FFFF
        || (0xFDD0..=0xFDEF).contains(&cp)
        || cp & 0xFFFE == 0xFFFE
        || (0xD800..=0xDFFF).contains(&cp))
}

/// QEMU's `parse_string`: the token with its quotes, to the string's value.
fn parse_string(tok: &[u8], accept_bad_utf8: bool) -> Result<String, String> {
    let quote = tok[0];
    let body = &tok[1..];
    let mut out = String::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() && body[i] != quote {
        let beg = i;
        if body[i] == b'\\' {
            i += 1;
            let c = body.get(i).copied().unwrap_or(0);
            i += 1;
            match c {
                b'"' => out.push('"'),
                b'\'' => out.push('\''),
                b'\\' => out.push('\\'),
                b'/' => out.push('/'),
                b'b' => out.push('\u{8}'),
                b'f' => out.push('\u{C}'),
                b'n' => out.push('\n'),
                b'r' => out.push('\r'),
                b't' => out.push('\t'),
                b'u' => {
                    let mut cp = cvt4hex(&body[i..]);
                    i += 4;
                    if (0xD800..=0xDBFF).contains(&cp)
                        && body.get(i) == Some(&b'\\')
                        && body.get(i + 1) == Some(&b'u')
                    {
                        cp = 0x10000 + ((cp & 0x3FF) << 10);
                        let trailing = cvt4hex(body.get(i + 2..).unwrap_or(&[]));
                        if (0xDC00..=0xDFFF).contains(&trailing) {
                            cp |= trailing & 0x3FF;
                            i += 6;
                        } else {
                            cp = -1;
                        }
                    }
                    match (valid_codepoint(cp), char::from_u32(cp as u32)) {
                        (true, Some(ch)) => out.push(ch),
                        _ => {
                            // QEMU prints the escape with %.*s: it stops at the token's end.
                            let end = i.min(body.len());
                            let esc = String::from_utf8_lossy(&body[beg..end]);
                            return Err(format!("{esc} is not a valid Unicode character"));
                        }
                    }
                }
                _ => return Err("invalid escape sequence in string".into()),
            }
        } else {
            let (cp, used) = mod_utf8_codepoint(&body[i..]);
            let used = used.max(1);
            if cp < 0 {
                if !accept_bad_utf8 {
                    return Err("invalid UTF-8 sequence in string".into());
                }
                out.push('\u{FFFD}');
            } else {
                out.push(char::from_u32(cp as u32).unwrap_or('\u{FFFD}'));
            }
            i += used;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: &[u8]) -> Vec<String> {
        let mut s = JsonStream::new(Limits::QEMU, Deviations::default());
        let mut out = Vec::new();
        for &b in input {
            s.feed(b);
            while let Some(p) = s.pop() {
                out.push(match p {
                    Parsed::Value { value, .. } => String::from_utf8(value.to_bytes()).unwrap(),
                    Parsed::Error(e) => format!("ERR {e}"),
                });
            }
        }
        out
    }

    #[test]
    fn qemu_error_recovery() {
        assert_eq!(
            run(b"{\"a\":\"\xff\"}\n\xff\n"),
            vec![
                "ERR JSON parse error, stray '\"\u{FFFD}'",
                "ERR JSON parse error, expecting value",
                "ERR JSON parse error, stray '\u{FFFD}'",
            ]
        );
        assert_eq!(
            run(b"{\"execute\":\"q\"\n\x01{\"a\":1}"),
            vec!["ERR JSON parse error, stray '\u{1}'", "{\"a\": 1}"]
        );
        assert_eq!(
            run(b"\x01\xff{}"),
            vec![
                "ERR JSON parse error, stray '\u{1}'",
                "ERR JSON parse error, stray '\u{FFFD}'",
                "{}"
            ]
        );
        assert_eq!(
            run(b"{\"id\":01}\n"),
            vec![
                "ERR JSON parse error, stray '01'",
                "ERR JSON parse error, expecting value"
            ]
        );
        assert_eq!(run(b"\x00 "), vec!["ERR JSON parse error, stray ''"]);
    }

    #[test]
    fn parser_texts() {
        let cases: &[(&[u8], &str)] = &[
            (b"{\"a\" 1}", "missing : in object pair"),
            (b"{\"a\":1 \"b\":2}", "expected separator in dict"),
            (b"[1 2]", "expected separator in list"),
            (b"{1:2}", "key is not a string in object"),
            (b"{\"a\":1,}", "expecting value"),
            (b"{\"a\":1,\"a\":2}", "duplicate key"),
            (b"{\"a\":\"\\q\"}", "invalid escape sequence in string"),
            (
                b"{\"a\":\"\\ud800\"}",
                "\\ud800 is not a valid Unicode character",
            ),
            (
                b"{\"a\":\"\\u12g4\"}",
                "\\u12g4 is not a valid Unicode character",
            ),
            (
                b"{\"a\":\"\\u1\"}",
                "\\u1\" is not a valid Unicode character",
            ),
            (
                b"{\"a\":\"\xef\xbf\xbe\"}",
                "invalid UTF-8 sequence in string",
            ),
            (b"abc ", "invalid keyword 'abc'"),
            (b"}", "expecting value"),
        ];
        for (input, want) in cases {
            let got = run(input);
            assert_eq!(
                got,
                vec![format!("ERR JSON parse error, {want}")],
                "{input:?}"
            );
        }
    }

    #[test]
    fn numbers_like_qemu() {
        assert_eq!(
            run(b"[1.5e3, 123456789012345678901234567890, 18446744073709551615, -9223372036854775809, 1e-999, -0, 0.1]"),
            vec!["[1500, 1.2345678901234568e+29, 18446744073709551615, -9.2233720368547758e+18, 0, 0, 0.10000000000000001]"]
        );
    }

    /// Regression (found by `qmpspec fuzz --emulated`): QEMU 7.2 echoes an id of 3e890 as
    /// `inf`, which is not JSON. The emulated monitor rejects the number instead.
    #[test]
    fn out_of_range_numbers_are_rejected_not_written_as_inf() {
        for input in [
            &b"{\"id\":3e890}"[..],
            b"[-1e999]",
            b"{\"execute\":\"x\",\"id\":1E400}",
        ] {
            assert_eq!(
                run(input),
                vec!["ERR JSON parse error, number out of range".to_string()],
                "{input:?}"
            );
        }
    }

    #[test]
    fn strings_and_escapes() {
        assert_eq!(
            run(b"['it\\'s', \"\\ud83d\\ude00\", \"\xc0\x80\"]"),
            vec!["[\"it's\", \"\\uD83D\\uDE00\", \"\\u0000\"]"]
        );
    }

    #[test]
    fn limits_and_recovery_burst() {
        let limits = Limits {
            max_depth: 4,
            ..Limits::QEMU
        };
        let mut s = JsonStream::new(limits, Deviations::default());
        for &b in b"[[[[[[]]]]]]" {
            s.feed(b);
        }
        let mut got = Vec::new();
        while let Some(p) = s.pop() {
            got.push(p);
        }
        assert_eq!(
            got[0],
            Parsed::Error("JSON nesting depth limit exceeded".into())
        );
        // The rest is re-read: "[]" parses, then 5 lone ']' are errors of their own.
        assert_eq!(got.len(), 1 + 1 + 5);
    }

    #[test]
    fn token_size_limit() {
        let limits = Limits {
            max_message_bytes: 16,
            ..Limits::QEMU
        };
        let mut s = JsonStream::new(limits, Deviations::default());
        for &b in b"{\"a\":\"0123456789012345678901\"}" {
            s.feed(b);
        }
        assert_eq!(
            s.pop(),
            Some(Parsed::Error("JSON token size limit exceeded".into()))
        );
        assert!(s.pending_bytes() <= 17);
    }
}
