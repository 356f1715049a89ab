//! QEMU's value model (QObject) and its JSON writer, reproduced byte for byte.
//!
//! QEMU keeps numbers as `int64`, `uint64` or `double` (`QNum`), and objects in a hash table
//! (`QDict`, 512 buckets, gdbm's `tdb_hash`) whose iteration order is the order members are
//! written: by bucket, and within a bucket newest first. That is why QEMU writes
//! `{"return": ..., "id": ...}` but `{"id": ..., "error": ...}`. [`QObj::write`] reproduces this
//! order, QEMU's string escapes (`\uXXXX` upper-case, U+FFFD for invalid input) and `%.17g`
//! for doubles, so the emulated monitor's bytes can be compared with QEMU's.

use crate::wire::{format_g17, push_u};
use serde_json::{Map, Number, Value};

/// One QEMU value.
#[derive(Debug, Clone, PartialEq)]
pub enum QObj {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Double(f64),
    Str(String),
    List(Vec<QObj>),
    /// Members in insertion order (the writer applies QDict's order).
    Dict(Vec<(String, QObj)>),
}

/// QEMU's `tdb_hash` (qobject/qdict.c).
pub fn tdb_hash(name: &str) -> u32 {
    let b = name.as_bytes();
    let mut value: u32 = 0x238F_13AFu32.wrapping_mul(b.len() as u32);
    for (i, &c) in b.iter().enumerate() {
        value = value.wrapping_add((c as u32) << ((i as u32 * 5) % 24));
    }
    1_103_515_243u32.wrapping_mul(value).wrapping_add(12345)
}

/// The QDict bucket of a key.
pub fn qdict_bucket(name: &str) -> u32 {
    tdb_hash(name) % 512
}

/// Indices of `members` in the order QEMU iterates a QDict built by inserting them in order.
pub fn qdict_order<K: AsRef<str>>(keys: &[K]) -> Vec<usize> {
    let mut idx: Vec<(u32, usize)> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| (qdict_bucket(k.as_ref()), i))
        .collect();
    sort_qdict_order(&mut idx);
    idx.into_iter().map(|(_, i)| i).collect()
}

/// Sort `(bucket, insertion index)` pairs into QDict iteration order: by bucket ascending;
/// within a bucket the newest entry is at the head of the list.
fn sort_qdict_order(idx: &mut [(u32, usize)]) {
    idx.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
}

impl QObj {
    /// A dict from members in insertion order.
    pub fn dict<I: IntoIterator<Item = (&'static str, QObj)>>(members: I) -> QObj {
        QObj::Dict(
            members
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        )
    }

    /// A string.
    pub fn str(s: impl Into<String>) -> QObj {
        QObj::Str(s.into())
    }

    /// Member `key` of a dict.
    pub fn get(&self, key: &str) -> Option<&QObj> {
        match self {
            QObj::Dict(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Put `key` (replacing the value in place if present, like `qdict_put_obj`).
    pub fn put(&mut self, key: &str, v: QObj) {
        if let QObj::Dict(m) = self {
            if let Some(slot) = m.iter_mut().find(|(k, _)| k == key) {
                slot.1 = v;
            } else {
                m.push((key.to_string(), v));
            }
        }
    }

    /// Remove `key` from a dict.
    pub fn remove(&mut self, key: &str) -> Option<QObj> {
        if let QObj::Dict(m) = self {
            let pos = m.iter().position(|(k, _)| k == key)?;
            return Some(m.remove(pos).1);
        }
        None
    }

    /// Convert from serde_json (as produced by schema code): integers stay integers.
    pub fn from_value(v: &Value) -> QObj {
        match v {
            Value::Null => QObj::Null,
            Value::Bool(b) => QObj::Bool(*b),
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    QObj::Int(i)
                } else if let Some(u) = n.as_u64() {
                    QObj::UInt(u)
                } else {
                    QObj::Double(n.as_f64().unwrap_or(0.0))
                }
            }
            Value::String(s) => QObj::Str(s.clone()),
            Value::Array(a) => QObj::List(a.iter().map(QObj::from_value).collect()),
            Value::Object(m) => QObj::Dict(
                m.iter()
                    .map(|(k, v)| (k.clone(), QObj::from_value(v)))
                    .collect(),
            ),
        }
    }

    /// Convert a value as QEMU wrote it on the wire back to what QEMU held: QEMU writes a
    /// QDict bucket by bucket, newest entry first within a bucket, so reversing each
    /// object's members gives an insertion order that [`QObj::write`] turns back into the
    /// very same bytes.
    pub fn from_qemu_output(v: &Value) -> QObj {
        match QObj::from_value(v) {
            QObj::Dict(_) | QObj::List(_) => {}
            other => return other,
        }
        fn rev(o: QObj) -> QObj {
            match o {
                QObj::Dict(m) => {
                    QObj::Dict(m.into_iter().rev().map(|(k, v)| (k, rev(v))).collect())
                }
                QObj::List(l) => QObj::List(l.into_iter().map(rev).collect()),
                other => other,
            }
        }
        rev(QObj::from_value(v))
    }

    /// Convert to serde_json (for argument checking). A non-finite double becomes `null`.
    pub fn to_value(&self) -> Value {
        match self {
            QObj::Null => Value::Null,
            QObj::Bool(b) => Value::Bool(*b),
            QObj::Int(i) => Value::from(*i),
            QObj::UInt(u) => Value::from(*u),
            QObj::Double(f) => Number::from_f64(*f).map_or(Value::Null, Value::Number),
            QObj::Str(s) => Value::String(s.clone()),
            QObj::List(l) => Value::Array(l.iter().map(QObj::to_value).collect()),
            QObj::Dict(m) => {
                let mut out = Map::new();
                for (k, v) in m {
                    out.insert(k.clone(), v.to_value());
                }
                Value::Object(out)
            }
        }
    }

    /// Write as QEMU does (compact QMP style: `", "` and `": "`). `ascii` false writes
    /// non-ASCII characters raw (a fault knob); QEMU always escapes.
    pub fn write(&self, out: &mut Vec<u8>, ascii: bool) {
        match self {
            QObj::Null => out.extend_from_slice(b"null"),
            QObj::Bool(true) => out.extend_from_slice(b"true"),
            QObj::Bool(false) => out.extend_from_slice(b"false"),
            QObj::Int(i) => {
                if *i < 0 {
                    out.push(b'-');
                }
                push_decimal(out, i.unsigned_abs());
            }
            QObj::UInt(u) => push_decimal(out, *u),
            QObj::Double(f) => out.extend_from_slice(format_g17(*f).as_bytes()),
            QObj::Str(s) => quoted_str(s.as_bytes(), out, ascii),
            QObj::List(l) => {
                out.push(b'[');
                for (i, x) in l.iter().enumerate() {
                    if i > 0 {
                        out.extend_from_slice(b", ");
                    }
                    x.write(out, ascii);
                }
                out.push(b']');
            }
            QObj::Dict(m) => {
                out.push(b'{');
                let mut member = |n: usize, (k, v): &(String, QObj)| {
                    if n > 0 {
                        out.extend_from_slice(b", ");
                    }
                    quoted_str(k.as_bytes(), out, ascii);
                    out.extend_from_slice(b": ");
                    v.write(out, ascii);
                };
                // Replies are small dicts: order them on the stack.
                const SMALL: usize = 8;
                if m.len() <= SMALL {
                    let mut order = [(0u32, 0usize); SMALL];
                    for (i, (k, _)) in m.iter().enumerate() {
                        order[i] = (qdict_bucket(k), i);
                    }
                    let order = &mut order[..m.len()];
                    sort_qdict_order(order);
                    for (n, &(_, i)) in order.iter().enumerate() {
                        member(n, &m[i]);
                    }
                } else {
                    let keys: Vec<&str> = m.iter().map(|(k, _)| k.as_str()).collect();
                    for (n, i) in qdict_order(&keys).into_iter().enumerate() {
                        member(n, &m[i]);
                    }
                }
                out.push(b'}');
            }
        }
    }

    /// The bytes QEMU would write for this value, without terminator.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write(&mut out, true);
        out
    }
}

/// QEMU's `mod_utf8_codepoint` (util/unicode.c): decode one character of modified UTF-8 from
/// `s` (at least one byte). Returns the code point (or -1 when invalid) and the bytes used.
pub fn mod_utf8_codepoint(s: &[u8]) -> (i32, usize) {
    const MIN_CP: [i32; 5] = [0x80, 0x800, 0x10000, 0x20_0000, 0x400_0000];
    let Some(&first) = s.first() else {
        return (-1, 0);
    };
    if first == 0 {
        return (-1, 0);
    }
    let byte = first as u32;
    if byte < 0x80 {
        return (byte as i32, 1);
    }
    if byte >= 0xFE || byte & 0x40 == 0 {
        return (-1, 1); // impossible byte, or unexpected continuation byte
    }
    let mut len = 0usize;
    let mut mask = 0x80u32;
    while byte & mask != 0 {
        len += 1;
        mask >>= 1;
    }
    let mut cp = (byte & (mask - 1)) as i64;
    let mut used = 1;
    for i in 1..len {
        let b = if i < 6 {
            s.get(i).copied().unwrap_or(0)
        } else {
            0
        } as i64;
        if b & 0xC0 != 0x80 {
            return (-1, used); // continuation byte missing
        }
        used += 1;
        cp = (cp << 6) | (b & 0x3F);
    }
    let invalid = cp > 0x10FFFF
        || (0xFDD0..=0xFDEF).contains(&cp)
        || cp & 0xFFFE == 0xFFFE
        || (0xD800..=0xDFFF).contains(&cp)
        || (cp < MIN_CP[len - 2] as i64 && !(cp == 0 && len == 2));
    if invalid {
        (-1, used)
    } else {
        (cp as i32, used)
    }
}

/// Bytes (possibly invalid UTF-8) to text the way QEMU's writer reads them: every invalid
/// sequence becomes one U+FFFD; the text stops at a NUL byte (C strings).
pub fn qemu_lossy(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() && bytes[i] != 0 {
        let (cp, used) = mod_utf8_codepoint(&bytes[i..]);
        out.push(if cp < 0 {
            '\u{FFFD}'
        } else {
            char::from_u32(cp as u32).unwrap_or('\u{FFFD}')
        });
        i += used.max(1);
    }
    out
}

/// `n` in decimal, without allocating.
fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// QEMU's `quoted_str` (qobject/json-writer.c) for valid UTF-8 input.
fn quoted_str(s: &[u8], out: &mut Vec<u8>, ascii: bool) {
    // Most strings are plain printable ASCII: copy them whole.
    if s.iter()
        .all(|&b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
    {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s);
        out.push(b'"');
        return;
    }
    out.push(b'"');
    let text = std::str::from_utf8(s).unwrap_or("");
    let mut run = 0;
    for (i, c) in text.char_indices() {
        let plain = (' '..'\u{7F}').contains(&c) && c != '"' && c != '\\';
        if plain || (!ascii && c as u32 >= 0x80) {
            continue;
        }
        out.extend_from_slice(&s[run..i]);
        run = i + c.len_utf8();
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\u{8}' => out.extend_from_slice(b"\\b"),
            '\u{C}' => out.extend_from_slice(b"\\f"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            _ => {
                let cp = c as u32;
                if cp > 0xFFFF {
                    push_u(out, 0xD800 + ((cp - 0x10000) >> 10));
                    push_u(out, 0xDC00 + ((cp - 0x10000) & 0x3FF));
                } else {
                    push_u(out, cp);
                }
            }
        }
    }
    out.extend_from_slice(&s[run..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qdict_order_matches_qemu() {
        // Seen on QEMU 7.2: {"return": .., "id": ..}, {"id": .., "error": ..},
        // {"micro", "minor", "major"}, {"status", "singlestep", "running"}.
        assert_eq!(qdict_order(&["return", "id"]), vec![0, 1]);
        assert_eq!(qdict_order(&["error", "id"]), vec![1, 0]);
        assert_eq!(qdict_order(&["major", "minor", "micro"]), vec![2, 1, 0]);
        assert_eq!(
            qdict_order(&["running", "singlestep", "status"]),
            vec![2, 1, 0]
        );
        assert_eq!(qdict_order(&["event", "timestamp", "data"]), vec![1, 0, 2]);
    }

    #[test]
    fn qemu_output_order_round_trips() {
        // "micro" and "minor" share a bucket: QEMU wrote micro (newer) first.
        let wire = r#"{"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "x"}"#;
        let v: Value = serde_json::from_str(wire).unwrap();
        assert_eq!(QObj::from_qemu_output(&v).to_bytes(), wire.as_bytes());
    }

    #[test]
    fn writes_like_qemu() {
        let v = QObj::dict([
            ("b", QObj::Int(1)),
            ("a", QObj::Int(2)),
            (
                "c",
                QObj::List(vec![QObj::dict([("z", QObj::Int(1)), ("y", QObj::Int(2))])]),
            ),
        ]);
        assert_eq!(
            v.to_bytes(),
            br#"{"a": 2, "b": 1, "c": [{"y": 2, "z": 1}]}"#.to_vec()
        );
        let s = QObj::str("a/b\u{8}\u{c}\n\r\t\"\\\u{7f}\u{0}é😀");
        assert_eq!(
            s.to_bytes(),
            br#""a/b\b\f\n\r\t\"\\\u007F\u0000\u00E9\uD83D\uDE00""#.to_vec()
        );
        assert_eq!(QObj::Double(1500.0).to_bytes(), b"1500");
        assert_eq!(QObj::Double(f64::INFINITY).to_bytes(), b"inf");
        assert_eq!(QObj::UInt(u64::MAX).to_bytes(), b"18446744073709551615");
    }

    #[test]
    fn modified_utf8() {
        assert_eq!(mod_utf8_codepoint(b"\xc0\x80"), (0, 2));
        assert_eq!(mod_utf8_codepoint(b"\xc0\xaf"), (-1, 2));
        assert_eq!(mod_utf8_codepoint(b"\xef\xbf\xbe"), (-1, 3));
        assert_eq!(mod_utf8_codepoint(b"\xed\xa0\x80"), (-1, 3));
        assert_eq!(mod_utf8_codepoint(b"\xc3'"), (-1, 1));
        assert_eq!(mod_utf8_codepoint(b"\xff"), (-1, 1));
        assert_eq!(mod_utf8_codepoint("é".as_bytes()), (0xE9, 2));
        assert_eq!(mod_utf8_codepoint(b"\xf8\x88\x80\x80\x80"), (-1, 5));
        assert_eq!(qemu_lossy(b"\"\xff"), "\"\u{FFFD}");
        assert_eq!(qemu_lossy(b"a\0b"), "a");
    }
}
