//! The framer's fast path for large texts: 64 bytes at a time become bit masks (bit `k` for
//! byte `k`), so the inside of a big reply such as `query-qmp-schema` is scanned without a
//! branch per token. The byte loop in [`super::framer`] stays the reference: a block that holds
//! anything unusual (an escape, a single quote, a byte that is an error, a possible end of the
//! text or a limit) is left to it, so both paths frame every input identically.
//!
//! x86_64 only, with SSE2 (part of every x86_64 CPU); elsewhere [`skip_blocks`] does nothing.

use super::framer::Limits;

/// Bytes per block: one bit each in a `u64`.
pub(crate) const BLOCK: usize = 64;

/// The counters of a text in progress inside a container, as the byte loop keeps them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Progress {
    /// Scanning position.
    pub pos: usize,
    /// Inside a double-quoted string (after its opening quote).
    pub in_string: bool,
    pub braces: usize,
    pub brackets: usize,
    pub tokens: usize,
}

/// Why [`skip_blocks`] stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// Fewer than [`BLOCK`] bytes are left before `end`.
    Short,
    /// The block at `pos` needs the byte loop.
    ByteLoop,
}

/// Advance over whole blocks in `buf[..end]` while nothing in them can end the text, break a
/// limit or be an error. `p.braces + p.brackets` must be at least 1.
#[inline]
pub(crate) fn skip_blocks(buf: &[u8], end: usize, limits: &Limits, p: &mut Progress) -> Stop {
    while p.pos + BLOCK <= end {
        let Some(m) = classify(&buf[p.pos..p.pos + BLOCK]) else {
            return Stop::ByteLoop;
        };
        if m.escape_or_single_quote != 0 {
            return Stop::ByteLoop;
        }
        // Inside a string: from its opening quote up to (not including) its closing quote.
        let carry = if p.in_string { !0 } else { 0 };
        let inside = prefix_xor(m.quote) ^ carry;
        let outside = !inside;
        if (m.bad_in_string & inside) | (m.bad_between_tokens & outside) != 0 {
            return Stop::ByteLoop;
        }
        let open_braces = (m.open_brace & outside).count_ones() as usize;
        let close_braces = (m.close_brace & outside).count_ones() as usize;
        let open_brackets = (m.open_bracket & outside).count_ones() as usize;
        let close_brackets = (m.close_bracket & outside).count_ones() as usize;
        let strings = (m.quote & inside).count_ones() as usize;
        let opens = open_braces + open_brackets;
        let closes = close_braces + close_brackets;
        if p.tokens + strings + opens + closes > limits.max_tokens {
            return Stop::ByteLoop;
        }
        let depth = p.braces + p.brackets;
        // Whatever the order inside the block: no closer without its opener, the depth never
        // reaches zero (the text cannot end here) nor passes the limit.
        let safe_in_any_order = p.braces >= close_braces
            && p.brackets >= close_brackets
            && depth > closes
            && depth + opens <= limits.max_depth;
        if safe_in_any_order {
            p.braces = p.braces + open_braces - close_braces;
            p.brackets = p.brackets + open_brackets - close_brackets;
        } else if !walk_brackets(&m, outside, limits, p) {
            return Stop::ByteLoop;
        }
        p.tokens += strings + opens + closes;
        p.in_string = inside >> 63 == 1;
        p.pos += BLOCK;
    }
    Stop::Short
}

/// Apply the block's brackets to `p` one by one, in order; false (and `p` untouched) when one
/// of them ends the text, closes what is not open or passes the depth limit.
#[inline(never)]
fn walk_brackets(m: &Masks, outside: u64, limits: &Limits, p: &mut Progress) -> bool {
    let (mut braces, mut brackets) = (p.braces, p.brackets);
    let mut rest = (m.open_brace | m.close_brace | m.open_bracket | m.close_bracket) & outside;
    while rest != 0 {
        let bit = rest & rest.wrapping_neg();
        rest ^= bit;
        if m.open_brace & bit != 0 {
            braces += 1;
        } else if m.open_bracket & bit != 0 {
            brackets += 1;
        } else {
            let count = if m.close_brace & bit != 0 {
                &mut braces
            } else {
                &mut brackets
            };
            if *count == 0 {
                return false;
            }
            *count -= 1;
        }
        let depth = braces + brackets;
        if depth == 0 || depth > limits.max_depth {
            return false;
        }
    }
    (p.braces, p.brackets) = (braces, brackets);
    true
}

/// Bit `k` set when an odd number of bits at or below `k` are set in `x`.
#[inline(always)]
fn prefix_xor(mut x: u64) -> u64 {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    x
}

/// One block, classified.
#[cfg_attr(
    not(all(target_arch = "x86_64", target_feature = "sse2")),
    allow(dead_code)
)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Masks {
    quote: u64,
    escape_or_single_quote: u64,
    open_brace: u64,
    close_brace: u64,
    open_bracket: u64,
    close_bracket: u64,
    /// Control characters, 0xFE and 0xFF: errors inside a string.
    bad_in_string: u64,
    /// Anything but whitespace, number and keyword characters, `:`, `,`, brackets and `"`.
    bad_between_tokens: u64,
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline(always)]
fn classify(block: &[u8]) -> Option<Masks> {
    let mut m = Masks::default();
    for (k, chunk) in block.chunks_exact(16).enumerate() {
        let c = sse2::classify16(chunk.try_into().ok()?);
        let shift = 16 * k;
        m.quote |= (c[0] as u64) << shift;
        m.escape_or_single_quote |= (c[1] as u64) << shift;
        m.open_brace |= (c[2] as u64) << shift;
        m.close_brace |= (c[3] as u64) << shift;
        m.open_bracket |= (c[4] as u64) << shift;
        m.close_bracket |= (c[5] as u64) << shift;
        m.bad_in_string |= (c[6] as u64) << shift;
        m.bad_between_tokens |= (c[7] as u64) << shift;
    }
    Some(m)
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
#[inline(always)]
fn classify(_block: &[u8]) -> Option<Masks> {
    None
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod sse2 {
    use std::arch::x86_64::*;

    // SAFETY (every `unsafe` below): these intrinsics need SSE2 and nothing else (no pointer
    // is read), and this module only exists when the build targets SSE2.

    #[inline(always)]
    fn eq(v: __m128i, b: u8) -> __m128i {
        unsafe { _mm_cmpeq_epi8(v, _mm_set1_epi8(b as i8)) }
    }

    #[inline(always)]
    fn or(a: __m128i, b: __m128i) -> __m128i {
        unsafe { _mm_or_si128(a, b) }
    }

    /// Bytes in `lo..=hi` (unsigned): shift the range to start at -128, compare signed.
    #[inline(always)]
    fn in_range(v: __m128i, lo: u8, hi: u8) -> __m128i {
        let bound = (i16::from(hi - lo) + 1 - 128) as i8;
        unsafe {
            let shifted = _mm_add_epi8(v, _mm_set1_epi8(128u8.wrapping_sub(lo) as i8));
            _mm_cmplt_epi8(shifted, _mm_set1_epi8(bound))
        }
    }

    #[inline(always)]
    fn bits(v: __m128i) -> u16 {
        unsafe { _mm_movemask_epi8(v) as u16 }
    }

    /// The eight masks of [`super::Masks`], in its field order, for 16 bytes.
    #[inline(always)]
    pub(super) fn classify16(bytes: &[u8; 16]) -> [u16; 8] {
        let lo = u64::from_le_bytes(bytes[..8].try_into().unwrap());
        let hi = u64::from_le_bytes(bytes[8..].try_into().unwrap());
        let (v, folded) = unsafe {
            let v = _mm_set_epi64x(hi as i64, lo as i64);
            (v, _mm_or_si128(v, _mm_set1_epi8(0x20))) // ASCII letters to lower case
        };
        let quote = eq(v, b'"');
        let open_brace = eq(v, b'{');
        let close_brace = eq(v, b'}');
        let open_bracket = eq(v, b'[');
        let close_bracket = eq(v, b']');
        let special = or(eq(v, b'\\'), eq(v, b'\''));
        let bad_in_string = or(in_range(v, 0x00, 0x1f), in_range(v, 0xfe, 0xff));
        // `a`..=`}` after folding: letters, `{`, `}`, `[`, `]`, and `|` / `\` (taken out).
        let letters_and_brackets =
            unsafe { _mm_andnot_si128(eq(folded, b'|'), in_range(folded, b'a', b'}')) };
        let allowed = [
            in_range(v, b'\t', b'\n'),
            eq(v, b'\r'),
            eq(v, b' '),
            quote,
            in_range(v, b'+', b'.'), // + , - .
            in_range(v, b'0', b':'), // digits and :
        ]
        .into_iter()
        .fold(letters_and_brackets, or);
        [
            bits(quote),
            bits(special),
            bits(open_brace),
            bits(close_brace),
            bits(open_bracket),
            bits(close_bracket),
            bits(bad_in_string),
            !bits(allowed),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    use crate::wire::framer::{string_special, INNER_SKIP};

    /// The masks computed one byte at a time from the byte loop's own classes, so that the two
    /// paths cannot drift apart.
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    fn reference(block: &[u8]) -> Masks {
        let mut m = Masks::default();
        for (k, &b) in block.iter().enumerate() {
            let bit = 1u64 << k;
            let set = |mask: &mut u64, yes: bool| {
                if yes {
                    *mask |= bit
                }
            };
            set(&mut m.quote, b == b'"');
            set(&mut m.escape_or_single_quote, b == b'\\' || b == b'\'');
            set(&mut m.open_brace, b == b'{');
            set(&mut m.close_brace, b == b'}');
            set(&mut m.open_bracket, b == b'[');
            set(&mut m.close_bracket, b == b']');
            // What ends a string's fast run, but for the quote and the escape.
            let bad_in_string = string_special(b, b'"') && !matches!(b, b'"' | b'\\');
            set(&mut m.bad_in_string, bad_in_string);
            // What the byte loop skips between tokens, plus what it handles without an error
            // (`'` opens a string there, but the fast path leaves it to the byte loop).
            let allowed = INNER_SKIP[b as usize] || matches!(b, b'{' | b'}' | b'[' | b']' | b'"');
            set(&mut m.bad_between_tokens, !allowed);
        }
        m
    }

    #[test]
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    fn every_byte_value_is_classified_like_the_byte_loop() {
        let all: Vec<u8> = (0..=255u8).collect();
        for block in all.chunks(BLOCK) {
            assert_eq!(classify(block), Some(reference(block)));
        }
    }

    #[test]
    fn prefix_xor_marks_the_inside_of_strings() {
        // Quotes at 1 and 4: bytes 1..=3 are inside.
        assert_eq!(prefix_xor(0b1_0010), 0b0_1110);
    }
}
