//! Text shown to people: endpoint output quoted in messages is cut to a length, a message
//! stays on one line, and what is not text is shown escaped, the same way everywhere.

use std::fmt::Write;

/// Whether qmpspec never shows `c` raw: control characters (C0, DEL, C1) and the
/// noncharacters U+FFFE and U+FFFF.
fn hidden(c: char) -> bool {
    c.is_control() || matches!(c, '\u{fffe}' | '\u{ffff}')
}

/// `s` with every character that is not text (a control character, U+FFFE, U+FFFF) but
/// those in `keep` written out as `\u{..}` (ESC is `\u{1b}`): what an endpoint sent stays
/// visible, and can neither drive a terminal nor break a report's format. The console and
/// every report show such characters this way.
pub fn escape_controls(s: &str, keep: &[char]) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if hidden(c) && !keep.contains(&c) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

/// `s`, cut to at most `max_chars` characters; a cut text ends in `...`.
pub fn clip(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        None => s.to_string(),
        Some(_) => {
            let keep = max_chars.saturating_sub(3);
            let end = s.char_indices().nth(keep).map_or(s.len(), |(i, _)| i);
            format!("{}...", &s[..end])
        }
    }
}

/// Longest message a check reports.
const MESSAGE_CHARS: usize = 500;

/// `s` on one line (CR and LF become spaces), cut to [`MESSAGE_CHARS`] characters.
pub fn one_line(s: &str) -> String {
    clip(&s.replace(['\r', '\n'], " "), MESSAGE_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipped_to_the_character() {
        assert_eq!(clip("abcdef", 6), "abcdef");
        assert_eq!(clip("abcdefg", 6), "abc...");
        assert_eq!(clip("ééééééé", 6), "ééé...");
        assert_eq!(one_line("a\r\nb"), "a  b");
        assert_eq!(one_line(&"x".repeat(600)).chars().count(), MESSAGE_CHARS);
    }

    #[test]
    fn controls_are_escaped_but_those_kept() {
        assert_eq!(
            escape_controls("a\u{1b}[31m\t\n\u{0}\u{7f}\u{85}\u{fffe}é", &[]),
            "a\\u{1b}[31m\\u{9}\\u{a}\\u{0}\\u{7f}\\u{85}\\u{fffe}é"
        );
        assert_eq!(escape_controls("a\tb\nc\r", &['\t', '\n']), "a\tb\nc\\u{d}");
    }
}
