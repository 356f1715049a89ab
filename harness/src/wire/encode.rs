//! Encoder: values to bytes on the wire, in either direction.
//!
//! [`Style::Qemu`] writes exactly what QEMU 7.2 writes: `", "` and `": "` separators, ASCII
//! only (`\u00E9`, upper-case hex), floats as C's `%.17g`, and a `\r\n` terminator.
//! [`Style::Compact`] is what a client typically sends: no spaces, `\n` terminator.

use serde_json::{Number, Value};

/// How to lay out a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// QEMU's server output format, terminated by CRLF.
    Qemu,
    /// Compact JSON (as clients send it), terminated by LF.
    Compact,
}

/// Encode one message, terminator included.
///
/// ```
/// use qmpspec::wire::{encode, Style};
/// let v = serde_json::json!({"return": {}, "id": "é"});
/// assert_eq!(encode(&v, Style::Qemu), b"{\"return\": {}, \"id\": \"\\u00E9\"}\r\n");
/// ```
pub fn encode(v: &Value, style: Style) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    encode_into(v, style, &mut out);
    out.extend_from_slice(match style {
        Style::Qemu => b"\r\n",
        Style::Compact => b"\n",
    });
    out
}

/// Encode one value without a terminator, appending to `out`.
pub fn encode_into(v: &Value, style: Style, out: &mut Vec<u8>) {
    let (comma, colon): (&[u8], &[u8]) = match style {
        Style::Qemu => (b", ", b": "),
        Style::Compact => (b",", b":"),
    };
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => write_number(n, style, out),
        Value::String(s) => write_string(s, style == Style::Qemu, out),
        Value::Array(a) => {
            out.push(b'[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(comma);
                }
                encode_into(x, style, out);
            }
            out.push(b']');
        }
        Value::Object(m) => {
            out.push(b'{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(comma);
                }
                write_string(k, style == Style::Qemu, out);
                out.extend_from_slice(colon);
                encode_into(x, style, out);
            }
            out.push(b'}');
        }
    }
}

fn write_number(n: &Number, style: Style, out: &mut Vec<u8>) {
    if n.is_f64() && style == Style::Qemu {
        out.extend_from_slice(format_g17(n.as_f64().unwrap_or(0.0)).as_bytes());
    } else {
        out.extend_from_slice(n.to_string().as_bytes());
    }
}

/// C's `printf("%.17g", f)`, which QEMU uses for every float it writes.
pub fn format_g17(f: f64) -> String {
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    if !f.is_finite() {
        return if f.is_nan() {
            "nan"
        } else if f > 0.0 {
            "inf"
        } else {
            "-inf"
        }
        .to_string();
    }
    let sci = format!("{:.16e}", f); // d.dddddddddddddddde[-]x
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..17).contains(&exp) {
        let mant = strip_zeros(mant);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mant}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (16 - exp).max(0) as usize;
        strip_zeros(&format!("{:.*}", decimals, f)).to_string()
    }
}

fn strip_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

fn write_string(s: &str, ascii: bool, out: &mut Vec<u8>) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let needs = b < 0x20 || b == b'"' || b == b'\\' || (ascii && b >= 0x7F);
        if !needs {
            continue;
        }
        out.extend_from_slice(&bytes[run..i]);
        run = i + 1;
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0C => out.extend_from_slice(b"\\f"),
            b if b < 0x80 => push_u(out, b as u32),
            _ => {
                // Start of a multi-byte character: escape the whole code point (continuation
                // bytes are skipped by checking for a char boundary).
                if !s.is_char_boundary(i) {
                    continue;
                }
                let c = s[i..].chars().next().unwrap_or('\u{FFFD}');
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    push_u(out, *u as u32);
                }
            }
        }
    }
    out.extend_from_slice(&bytes[run..]);
    out.push(b'"');
}

/// Append `\uXXXX` (upper-case hex, as QEMU writes it).
pub(crate) fn push_u(out: &mut Vec<u8>, u: u32) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.extend_from_slice(b"\\u");
    for shift in [12, 8, 4, 0] {
        out.push(HEX[((u >> shift) & 0xF) as usize]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn qemu_style() {
        let v = json!({"id": 7, "error": {"class": "GenericError", "desc": "x"}});
        assert_eq!(
            encode(&v, Style::Qemu),
            b"{\"id\": 7, \"error\": {\"class\": \"GenericError\", \"desc\": \"x\"}}\r\n"
        );
    }

    #[test]
    fn non_ascii_escaped() {
        let v = json!("é€😀\u{7f}");
        let mut out = Vec::new();
        encode_into(&v, Style::Qemu, &mut out);
        assert_eq!(out, b"\"\\u00E9\\u20AC\\uD83D\\uDE00\\u007F\"");
    }

    #[test]
    fn floats_like_printf_g17() {
        assert_eq!(format_g17(1500.0), "1500");
        assert_eq!(format_g17(1.2345678901234568e29), "1.2345678901234568e+29");
        assert_eq!(format_g17(0.1), "0.10000000000000001");
        assert_eq!(format_g17(1e-5), "1.0000000000000001e-05");
        assert_eq!(format_g17(-2.5), "-2.5");
    }
}
