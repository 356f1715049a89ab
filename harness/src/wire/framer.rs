//! Streaming framer: a byte stream in, complete JSON texts out.
//!
//! The framer mirrors what QEMU's JSON lexer and streamer do (`qobject/json-lexer.c`,
//! `json-streamer.c`): it tracks strings (double- and single-quoted, with escapes) and counts
//! braces and brackets; a text is complete when both counts return to zero, or when a scalar
//! at the top level ends. It does not build values: [`super::parse`] does that.
//!
//! A lexical error (a control character, a byte that can never start a token, an unbalanced
//! closer) discards the partial text and returns the framer to a known-good state, exactly
//! like QMP's `parser.reset` clause. Every limit is explicit ([`Limits`]) and produces a typed
//! [`FrameError`]; the buffer never grows past the message-size limit plus one pushed chunk.

use super::blocks::{skip_blocks, Progress, Stop, BLOCK};
use thiserror::Error;

/// Explicit bounds on what one JSON text may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest complete text, in bytes.
    pub max_message_bytes: usize,
    /// Deepest nesting of objects and arrays together.
    pub max_depth: usize,
    /// Most tokens in one text. Counted: strings, braces and brackets, and a top-level
    /// scalar; numbers and keywords inside a container are bounded by the size limit.
    pub max_tokens: usize,
}

impl Limits {
    /// QEMU 7.2's own limits: 64 MiB, nesting 1024, 2 Mi tokens.
    pub const QEMU: Limits = Limits {
        max_message_bytes: 64 << 20,
        max_depth: 1024,
        max_tokens: 2 << 20,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::QEMU
    }
}

/// Why the framer discarded input. After any of these it is back at the top level.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FrameError {
    /// A byte that is not allowed where it appeared (QEMU: `stray '...'`).
    #[error("stray byte 0x{byte:02x}")]
    Stray { byte: u8 },
    /// A `}` or `]` with nothing open.
    #[error("unbalanced '{}'", *.byte as char)]
    Unbalanced { byte: u8 },
    /// The text grew past [`Limits::max_message_bytes`].
    #[error("message longer than {limit} bytes")]
    TooLarge { limit: usize },
    /// Nesting went past [`Limits::max_depth`].
    #[error("nesting deeper than {limit}")]
    TooDeep { limit: usize },
    /// More tokens than [`Limits::max_tokens`].
    #[error("more than {limit} tokens in one message")]
    TooManyTokens { limit: usize },
    /// The stream ended inside a text.
    #[error("stream ended inside a message ({pending} bytes pending)")]
    Truncated { pending: usize },
}

/// How much of the whitespace between texts the framer keeps (for the separator checks): a
/// long run must not pin memory, so only its last bytes are kept.
const KEEP_WS: usize = 64;

/// One complete JSON text, borrowed from the framer's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The text itself, from its first to its last byte.
    pub text: &'a [u8],
    /// The whitespace between the previous text (or error) and this one: its last 64 bytes
    /// at most, whatever reads it came in.
    pub separator: &'a [u8],
    /// True when the text uses QEMU's dialect (`'single quotes'` or the `\'` escape).
    pub dialect: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between tokens.
    Outside,
    /// Inside a run of number or keyword characters.
    Scalar,
    /// Inside a string; `quote` is `"` or `'`.
    Str { quote: u8 },
    /// Just after a backslash inside a string.
    Escape { quote: u8 },
}

// Byte classes outside strings.
const C_BAD: u8 = 0;
const C_WS: u8 = 1;
const C_OPEN: u8 = 2;
const C_CLOSE: u8 = 3;
const C_DQ: u8 = 4;
const C_SQ: u8 = 5;
const C_SCALAR: u8 = 6;
const C_PUNCT: u8 = 7; // ':' and ','

const fn outside_classes() -> [u8; 256] {
    let mut t = [C_BAD; 256];
    t[b' ' as usize] = C_WS;
    t[b'\t' as usize] = C_WS;
    t[b'\r' as usize] = C_WS;
    t[b'\n' as usize] = C_WS;
    t[b'{' as usize] = C_OPEN;
    t[b'[' as usize] = C_OPEN;
    t[b'}' as usize] = C_CLOSE;
    t[b']' as usize] = C_CLOSE;
    t[b'"' as usize] = C_DQ;
    t[b'\'' as usize] = C_SQ;
    t[b':' as usize] = C_PUNCT;
    t[b',' as usize] = C_PUNCT;
    let mut c = b'0';
    while c <= b'9' {
        t[c as usize] = C_SCALAR;
        c += 1;
    }
    let mut c = b'a';
    while c <= b'z' {
        t[c as usize] = C_SCALAR;
        t[(c - b'a' + b'A') as usize] = C_SCALAR;
        c += 1;
    }
    t[b'+' as usize] = C_SCALAR;
    t[b'-' as usize] = C_SCALAR;
    t[b'.' as usize] = C_SCALAR;
    t
}

static OUTSIDE: [u8; 256] = outside_classes();

/// Bytes that need no attention inside a container: whitespace, separators and the
/// characters of numbers and keywords (the parser validates those).
const fn inner_skip() -> [bool; 256] {
    let classes = outside_classes();
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = matches!(classes[i], C_WS | C_SCALAR | C_PUNCT);
        i += 1;
    }
    t
}

pub(super) static INNER_SKIP: [bool; 256] = inner_skip();

/// One byte class outside strings as a set. The byte loops test these rather than compare
/// classes: a `bool` load is no integer comparison, so it costs no callback under the
/// fuzzers' comparison tracing, and nothing otherwise.
const fn class_set(class: u8) -> [bool; 256] {
    let classes = outside_classes();
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = classes[i] == class;
        i += 1;
    }
    t
}

static WHITESPACE: [bool; 256] = class_set(C_WS);
static SCALAR: [bool; 256] = class_set(C_SCALAR);

/// True for bytes that end the fast run inside a string: quotes, backslash, control
/// characters and the two bytes that never occur in UTF-8 (0xFE, 0xFF).
#[inline(always)]
pub(super) fn string_special(b: u8, quote: u8) -> bool {
    b == quote || b == b'\\' || !(0x20..0xFE).contains(&b)
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

#[inline(always)]
fn has_byte(w: u64, b: u8) -> u64 {
    let x = w ^ (LO * b as u64);
    x.wrapping_sub(LO) & !x & HI
}

/// Offset of the first string-special byte in `s` (SWAR, eight bytes a step).
#[inline]
fn find_string_special(s: &[u8], quote: u8) -> usize {
    let mut i = 0;
    while i + 8 <= s.len() {
        let w = u64::from_le_bytes(s[i..i + 8].try_into().unwrap());
        // Bytes < 0x20: (w - 0x20..) & !w & HI catches them exactly when the high bit is clear.
        let lt20 = w.wrapping_sub(LO * 0x20) & !w & HI;
        // Non-ASCII bytes (which include 0xFE and 0xFF) are confirmed one by one.
        let high = w & HI;
        let m = lt20 | has_byte(w, quote) | has_byte(w, b'\\') | high;
        if m != 0 {
            // The lowest flagged byte is a true hit unless it is a non-ASCII byte other
            // than 0xFE/0xFF (the SWAR tests only misfire above a true hit).
            let first = i + (m.trailing_zeros() / 8) as usize;
            if string_special(s[first], quote) {
                return first;
            }
            for (j, &b) in s.iter().enumerate().take(i + 8).skip(first + 1) {
                if string_special(b, quote) {
                    return j;
                }
            }
        }
        i += 8;
    }
    while i < s.len() {
        if string_special(s[i], quote) {
            return i;
        }
        i += 1;
    }
    s.len()
}

/// The framer. Feed it with [`Framer::push`], drain it with [`Framer::next_frame`].
///
/// ```
/// use qmpspec::wire::Framer;
/// let mut f = Framer::default();
/// f.push(b"{\"return\": {}}\r\n{\"ev");
/// assert_eq!(f.next_frame().unwrap().unwrap().text, b"{\"return\": {}}");
/// assert!(f.next_frame().is_none());
/// f.push(b"ent\": \"STOP\"}\r\n");
/// assert_eq!(f.next_frame().unwrap().unwrap().separator, b"\r\n");
/// ```
#[derive(Debug, Clone)]
pub struct Framer {
    limits: Limits,
    buf: Vec<u8>,
    /// Next byte to scan.
    pos: usize,
    /// Start of the text in progress (valid when `depth > 0` or not `Outside`).
    start: usize,
    /// Start of the whitespace before the next text.
    sep_start: usize,
    /// Everything before this has been handed out and may be dropped.
    consumed: usize,
    state: State,
    braces: usize,
    brackets: usize,
    tokens: usize,
    dialect: bool,
}

impl Default for Framer {
    fn default() -> Self {
        Framer::new(Limits::default())
    }
}

/// What one scanning step found.
enum Step {
    NeedMore,
    Frame(usize, usize),
    Error(FrameError),
}

impl Framer {
    /// A framer with the given limits.
    pub fn new(limits: Limits) -> Self {
        Framer {
            limits,
            buf: Vec::new(),
            pos: 0,
            start: 0,
            sep_start: 0,
            consumed: 0,
            state: State::Outside,
            braces: 0,
            brackets: 0,
            tokens: 0,
            dialect: false,
        }
    }

    /// Start over as `Framer::new(limits)` would, but keep the buffer's allocation (for
    /// callers that frame many independent streams, like the fuzz targets).
    pub fn reset(&mut self, limits: Limits) {
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        *self = Framer {
            buf,
            ..Framer::new(limits)
        };
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Append received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        self.compact();
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes held but not yet part of a returned frame (the text in progress, whitespace).
    pub fn pending(&self) -> &[u8] {
        &self.buf[self.consumed..]
    }

    /// True when no text is in progress: the framer sits between messages.
    pub fn at_boundary(&self) -> bool {
        self.state == State::Outside && self.braces == 0 && self.brackets == 0
    }

    /// Whitespace received after the last text (e.g. its `\r\n` terminator).
    pub fn trailing_separator(&self) -> &[u8] {
        if self.at_boundary() {
            &self.buf[self.separator_start(self.pos)..self.pos]
        } else {
            &[]
        }
    }

    /// Where the separator before `end` (a text's first byte, or the end of input) starts:
    /// after the previous text, and at most [`KEEP_WS`] bytes before `end`.
    fn separator_start(&self, end: usize) -> usize {
        self.sep_start
            .max(self.consumed)
            .max(end.saturating_sub(KEEP_WS))
    }

    fn compact(&mut self) {
        // Only the last KEEP_WS bytes of whitespace are kept: before the next text, or before
        // the text in progress (its separator), which may have come in the same read.
        let ws_end = if self.at_boundary_state() {
            self.pos
        } else {
            self.start
        };
        if ws_end > self.sep_start + KEEP_WS {
            self.sep_start = ws_end - KEEP_WS;
            self.consumed = self.consumed.max(self.sep_start);
        }
        let keep_from = self.consumed.min(self.sep_start);
        if keep_from > 0 && (keep_from >= 4096 && keep_from * 2 >= self.buf.len()) {
            self.buf.drain(..keep_from);
            self.pos -= keep_from;
            self.start = self.start.saturating_sub(keep_from);
            self.sep_start -= keep_from;
            self.consumed -= keep_from;
        } else if keep_from == self.buf.len() && keep_from > 0 {
            self.buf.clear();
            self.pos = 0;
            self.start = 0;
            self.sep_start = 0;
            self.consumed = 0;
        }
    }

    /// The next complete text or error, or `None` when more input is needed.
    #[allow(clippy::should_implement_trait)]
    pub fn next_frame(&mut self) -> Option<Result<Frame<'_>, FrameError>> {
        match self.scan() {
            Step::NeedMore => None,
            Step::Error(e) => Some(Err(e)),
            Step::Frame(s, e) => Some(Ok(self.take_frame(s, e))),
        }
    }

    fn take_frame(&mut self, s: usize, e: usize) -> Frame<'_> {
        let sep = self.separator_start(s);
        let dialect = self.dialect;
        self.dialect = false;
        self.consumed = e;
        self.sep_start = e;
        Frame {
            text: &self.buf[s..e],
            separator: &self.buf[sep.min(s)..s],
            dialect,
        }
    }

    /// Signal the end of the stream: returns what was left in progress, if anything.
    /// A top-level scalar waiting for its terminator completes; an open text is an error.
    pub fn finish(&mut self) -> Option<Result<Frame<'_>, FrameError>> {
        // Drain whatever is complete first.
        match self.scan() {
            Step::Frame(s, e) => return Some(Ok(self.take_frame(s, e))),
            Step::Error(e) => return Some(Err(e)),
            Step::NeedMore => {}
        }
        if self.state == State::Scalar && self.braces == 0 && self.brackets == 0 {
            self.state = State::Outside;
            let (s, e) = (self.start, self.pos);
            return Some(Ok(self.take_frame(s, e)));
        }
        if !self.at_boundary() {
            let pending = self.pos - self.start;
            self.reset_after_error(self.pos);
            return Some(Err(FrameError::Truncated { pending }));
        }
        None
    }

    fn reset_after_error(&mut self, resume: usize) {
        self.state = State::Outside;
        self.braces = 0;
        self.brackets = 0;
        self.tokens = 0;
        self.dialect = false;
        self.pos = resume;
        self.consumed = resume;
        self.sep_start = resume;
    }

    #[inline]
    fn error_at(&mut self, resume: usize, err: FrameError) -> Step {
        self.reset_after_error(resume);
        Step::Error(err)
    }

    /// A text ends at `end`: hand it out unless it is over the size limit.
    #[inline]
    fn complete(&mut self, end: usize) -> Step {
        let limit = self.limits.max_message_bytes;
        if end - self.start > limit {
            return self.error_at(end, FrameError::TooLarge { limit });
        }
        Step::Frame(self.start, end)
    }

    fn scan(&mut self) -> Step {
        // The hot loops work on locals (so the compiler knows `buf` does not alias the
        // counters) and write them back once.
        let limits = self.limits;
        let buf: &[u8] = &self.buf;
        let len = buf.len();
        let mut i = self.pos;
        let mut state = self.state;
        let mut braces = self.braces;
        let mut brackets = self.brackets;
        let mut tokens = self.tokens;
        let mut start = self.start;
        let mut dialect = self.dialect;
        let in_progress = !(state == State::Outside && braces == 0 && brackets == 0);
        // Last index the text in progress may reach.
        let mut limit_at = if in_progress {
            start.saturating_add(limits.max_message_bytes)
        } else {
            usize::MAX
        };
        let too_many_tokens = FrameError::TooManyTokens {
            limit: limits.max_tokens,
        };
        let too_deep = FrameError::TooDeep {
            limit: limits.max_depth,
        };
        // Whole blocks before this position are left to the byte loop (see `blocks`).
        let mut fast_from = 0;
        let outcome: Result<Option<usize>, (usize, FrameError)> = 'scan: loop {
            if i > limit_at {
                break Err((
                    i,
                    FrameError::TooLarge {
                        limit: limits.max_message_bytes,
                    },
                ));
            }
            match state {
                State::Str { quote } => {
                    let window = &buf[i..len.min(limit_at.saturating_add(1))];
                    let k = find_string_special(window, quote);
                    i += k;
                    if k == window.len() {
                        if i < len {
                            continue; // over the size limit: reported at the top
                        }
                        break Ok(None);
                    }
                    let b = buf[i];
                    i += 1;
                    if b == quote {
                        state = State::Outside;
                        if braces + brackets == 0 {
                            break Ok(Some(i));
                        }
                    } else if b == b'\\' {
                        state = State::Escape { quote };
                    } else {
                        break Err((i, FrameError::Stray { byte: b }));
                    }
                }
                State::Escape { quote } => {
                    if i >= len {
                        break Ok(None);
                    }
                    let b = buf[i];
                    i += 1;
                    if !(0x20..0xFE).contains(&b) {
                        break Err((i, FrameError::Stray { byte: b }));
                    }
                    dialect |= b == b'\'';
                    state = State::Str { quote };
                }
                State::Scalar => {
                    let end = len.min(limit_at.saturating_add(1));
                    while i < end && SCALAR[buf[i] as usize] {
                        i += 1;
                    }
                    if i >= len {
                        break Ok(None);
                    }
                    if i == end {
                        continue; // over the size limit: reported at the top
                    }
                    state = State::Outside;
                    if braces + brackets == 0 {
                        break Ok(Some(i));
                    }
                }
                State::Outside if braces + brackets > 0 => loop {
                    // Inside a container only strings and brackets need attention. The skip
                    // stops at the size limit, so an oversized text is cut at the same byte
                    // however the input was split into reads.
                    let end = len.min(limit_at.saturating_add(1));
                    if i >= fast_from {
                        let mut p = Progress {
                            pos: i,
                            in_string: false,
                            braces,
                            brackets,
                            tokens,
                        };
                        fast_from = match skip_blocks(buf, end, &limits, &mut p) {
                            // No whole block fits before `len` again in this call (a new
                            // text's size limit may allow one: the byte loop is exact anyway).
                            Stop::Short => usize::MAX,
                            Stop::ByteLoop => p.pos + BLOCK,
                        };
                        (i, braces, brackets, tokens) = (p.pos, p.braces, p.brackets, p.tokens);
                        if p.in_string {
                            state = State::Str { quote: b'"' };
                            break;
                        }
                    }
                    while i < end && INNER_SKIP[buf[i] as usize] {
                        i += 1;
                    }
                    if i > limit_at {
                        continue 'scan; // over the size limit: reported at the top
                    }
                    if i >= len {
                        break 'scan Ok(None);
                    }
                    let b = buf[i];
                    i += 1;
                    tokens += 1;
                    if tokens > limits.max_tokens {
                        break 'scan Err((i, too_many_tokens));
                    }
                    match b {
                        b'"' | b'\'' => {
                            dialect |= b == b'\'';
                            // Most strings hold no escape and end in this read: finish them
                            // here without leaving the loop.
                            let window = &buf[i..len.min(limit_at.saturating_add(1)).max(i)];
                            let k = find_string_special(window, b);
                            if k < window.len() && window[k] == b {
                                i += k + 1;
                            } else {
                                state = State::Str { quote: b };
                                break;
                            }
                        }
                        b'{' | b'[' => {
                            if b == b'{' {
                                braces += 1;
                            } else {
                                brackets += 1;
                            }
                            if braces + brackets > limits.max_depth {
                                break 'scan Err((i, too_deep));
                            }
                        }
                        b'}' | b']' => {
                            // Counts by value, not through a `&mut`: a local whose address
                            // is taken costs a stack frame per call under AddressSanitizer.
                            let count = if b == b'}' { braces } else { brackets };
                            if count == 0 {
                                break 'scan Err((i, FrameError::Unbalanced { byte: b }));
                            }
                            if b == b'}' {
                                braces -= 1;
                            } else {
                                brackets -= 1;
                            }
                            if braces + brackets == 0 {
                                break 'scan Ok(Some(i));
                            }
                        }
                        _ => break 'scan Err((i, FrameError::Stray { byte: b })),
                    }
                },
                State::Outside => {
                    // Between texts: whitespace, then the first byte of the next text.
                    while i < len && WHITESPACE[buf[i] as usize] {
                        i += 1;
                    }
                    if i >= len {
                        break Ok(None);
                    }
                    let b = buf[i];
                    start = i;
                    tokens = 1;
                    limit_at = start.saturating_add(limits.max_message_bytes);
                    i += 1;
                    match OUTSIDE[b as usize] {
                        C_OPEN => {
                            if b == b'{' {
                                braces = 1;
                            } else {
                                brackets = 1;
                            }
                            if limits.max_depth == 0 {
                                break Err((i, too_deep));
                            }
                        }
                        C_CLOSE => break Err((i, FrameError::Unbalanced { byte: b })),
                        C_DQ | C_SQ => {
                            dialect |= b == b'\'';
                            state = State::Str { quote: b };
                        }
                        C_SCALAR => state = State::Scalar,
                        _ => break Err((i, FrameError::Stray { byte: b })),
                    }
                    if tokens > limits.max_tokens {
                        break Err((i, too_many_tokens));
                    }
                }
            }
        };
        self.pos = i;
        self.state = state;
        self.braces = braces;
        self.brackets = brackets;
        self.tokens = tokens;
        self.start = start;
        self.dialect = dialect;
        match outcome {
            Ok(None) => Step::NeedMore,
            Ok(Some(end)) => self.complete(end),
            Err((resume, e)) => self.error_at(resume, e),
        }
    }

    #[inline]
    fn at_boundary_state(&self) -> bool {
        self.state == State::Outside && self.braces == 0 && self.brackets == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Push `input` into `f` and take every text (or error), the end of the stream included.
    fn drain(f: &mut Framer, input: &[u8]) -> Vec<Result<Vec<u8>, FrameError>> {
        f.push(input);
        let mut out = Vec::new();
        while let Some(r) = f.next_frame() {
            out.push(r.map(|fr| fr.text.to_vec()));
        }
        while let Some(r) = f.finish() {
            out.push(r.map(|fr| fr.text.to_vec()));
        }
        out
    }

    fn all(input: &[u8]) -> Vec<Result<Vec<u8>, FrameError>> {
        drain(&mut Framer::default(), input)
    }

    #[test]
    fn swar_finds_every_special_byte() {
        for b in 0..=255u8 {
            for pos in 0..20 {
                let mut s = vec![b'a'; 20];
                s[pos] = b;
                let want = if string_special(b, b'"') { pos } else { 20 };
                assert_eq!(find_string_special(&s, b'"'), want, "byte {b:#x} at {pos}");
            }
        }
    }

    #[test]
    fn several_messages_in_one_read() {
        let r = all(b"{\"a\":1}\r\n{\"b\":[1,2]}\n  {}");
        assert_eq!(
            r,
            vec![
                Ok(b"{\"a\":1}".to_vec()),
                Ok(b"{\"b\":[1,2]}".to_vec()),
                Ok(b"{}".to_vec())
            ]
        );
    }

    #[test]
    fn top_level_scalars_are_texts() {
        let r = all(b"1 \"x\" null []");
        assert_eq!(r.len(), 4);
        assert_eq!(r[0], Ok(b"1".to_vec()));
        assert_eq!(r[1], Ok(b"\"x\"".to_vec()));
        assert_eq!(r[2], Ok(b"null".to_vec()));
    }

    #[test]
    fn braces_inside_strings_do_not_count() {
        let r = all(b"{\"a\":\"}{][\\\"\"}{'x}':'\\''}");
        assert_eq!(r.len(), 2, "{r:?}");
        assert!(r.iter().all(|x| x.is_ok()));
    }

    #[test]
    fn control_character_resets() {
        let r = all(b"{\"execute\":\"query-name\"\n\x01{\"execute\":\"x\"}");
        assert_eq!(r[0], Err(FrameError::Stray { byte: 1 }));
        assert_eq!(r[1], Ok(b"{\"execute\":\"x\"}".to_vec()));
    }

    #[test]
    fn unbalanced_closer_is_an_error() {
        let r = all(b"}{}");
        assert_eq!(r[0], Err(FrameError::Unbalanced { byte: b'}' }));
        assert_eq!(r[1], Ok(b"{}".to_vec()));
    }

    /// The first thing a framer with `limits` makes of `reads`: an error.
    fn first_error(limits: Limits, reads: &[&[u8]]) -> FrameError {
        let mut f = Framer::new(limits);
        for r in reads {
            f.push(r);
        }
        f.next_frame().expect("a frame").expect_err("an error")
    }

    #[test]
    fn depth_limit() {
        let limits = Limits {
            max_depth: 3,
            ..Limits::default()
        };
        assert_eq!(
            first_error(limits, &[b"[[[[1]]]]{}"]),
            FrameError::TooDeep { limit: 3 }
        );
    }

    #[test]
    fn size_limit_in_long_string() {
        let limits = Limits {
            max_message_bytes: 16,
            ..Limits::default()
        };
        assert_eq!(
            first_error(limits, &[b"{\"a\":\"", &[b'x'; 100]]),
            FrameError::TooLarge { limit: 16 }
        );
    }

    #[test]
    fn token_limit() {
        let limits = Limits {
            max_tokens: 5,
            ..Limits::default()
        };
        assert_eq!(
            first_error(limits, &[b"[\"a\",\"b\",\"c\",\"d\",\"e\"]"]),
            FrameError::TooManyTokens { limit: 5 }
        );
    }

    #[test]
    fn truncated_at_end() {
        let mut f = Framer::default();
        f.push(b"{\"a\":");
        assert!(f.next_frame().is_none());
        assert_eq!(
            f.finish().unwrap().unwrap_err(),
            FrameError::Truncated { pending: 5 }
        );
    }

    #[test]
    fn separator_and_trailing() {
        let mut f = Framer::default();
        f.push(b"{}\r\n{}\n");
        assert_eq!(f.next_frame().unwrap().unwrap().separator, b"");
        assert_eq!(f.next_frame().unwrap().unwrap().separator, b"\r\n");
        assert!(f.next_frame().is_none());
        assert_eq!(f.trailing_separator(), b"\n");
    }

    #[test]
    fn dialect_is_flagged() {
        let mut f = Framer::default();
        f.push(b"{'a':1}{\"b\":\"\\'\"}{\"c\":1}");
        assert!(f.next_frame().unwrap().unwrap().dialect);
        assert!(f.next_frame().unwrap().unwrap().dialect);
        assert!(!f.next_frame().unwrap().unwrap().dialect);
    }

    /// Found by fuzzing: whitespace that came in the same read as the start of a text was
    /// kept whole while the text grew, so the buffer outgrew the message limit plus a read.
    #[test]
    fn whitespace_before_a_text_in_progress_is_bounded() {
        let limits = Limits {
            max_message_bytes: 256,
            ..Limits::default()
        };
        let mut f = Framer::new(limits);
        let mut first = vec![b'\t'; 200];
        first.extend_from_slice(b"[\"");
        f.push(&first);
        assert!(f.next_frame().is_none());
        for _ in 0..28 {
            f.push(b"xxxxxxxxx");
            assert!(f.next_frame().is_none());
            let pending = f.pending().len();
            assert!(
                pending <= limits.max_message_bytes + 9 + KEEP_WS + 2,
                "{pending}"
            );
        }
    }

    #[test]
    fn long_separators_keep_their_last_bytes_whatever_the_reads() {
        let mut input = b"{}".to_vec();
        input.extend(std::iter::repeat_n(b' ', 100));
        input.extend_from_slice(b"\r\n{}");
        input.extend(std::iter::repeat_n(b'\n', 90));
        let separators = |chunk: usize| {
            let mut f = Framer::default();
            let mut seps = Vec::new();
            for c in input.chunks(chunk) {
                f.push(c);
                while let Some(fr) = f.next_frame() {
                    seps.push(fr.unwrap().separator.to_vec());
                }
            }
            (seps, f.trailing_separator().to_vec())
        };
        let (seps, trailing) = separators(input.len());
        assert_eq!(seps[1].len(), KEEP_WS);
        assert!(seps[1].ends_with(b" \r\n"));
        assert_eq!(trailing, vec![b'\n'; KEEP_WS]);
        for chunk in [1, 3, 64, 65] {
            assert_eq!(
                separators(chunk),
                (seps.clone(), trailing.clone()),
                "reads of {chunk}"
            );
        }
    }

    #[test]
    fn reset_is_a_fresh_framer_with_new_limits() {
        let mut f = Framer::default();
        f.push(b"{\"a\": [1, 'x\\'");
        assert!(f.next_frame().is_none());
        let small = Limits {
            max_message_bytes: 8,
            ..Limits::default()
        };
        f.reset(small);
        assert_eq!(f.limits(), small);
        assert!(f.at_boundary() && f.pending().is_empty());
        let input = b"{}\n[1,2,3,4,5] 'a'";
        let got = drain(&mut f, input);
        assert_eq!(got, drain(&mut Framer::new(small), input));
        assert_eq!(got[0], Ok(b"{}".to_vec()));
        assert_eq!(got[1], Err(FrameError::TooLarge { limit: 8 }));
    }
}
