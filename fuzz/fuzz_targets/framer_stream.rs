//! Fuzz the framer on a raw byte stream cut into reads; see [`split_reads`] for what is
//! checked. Unlike `framer`, whose input is a structure that frames a few dozen bytes, this
//! target frames (nearly) its whole input, so recorded transcripts are seeds as they are and
//! long texts, long whitespace and the framer's 64-byte block path are reached.
//!
//! Input layout, read from the end: the last byte `t` says whether the limits are small
//! (`t & 1`) and how many read lengths precede it (`t >> 1`, one byte each, see [`read_len`]);
//! everything before them is the stream, read in those reads and then the rest in one more.
#![no_main]

mod split_reads;

use libfuzzer_sys::fuzz_target;
use qmpspec::wire::Limits;

/// The length of one read from its byte: 0..=127 exactly, then 32..=4096 in steps of 32 (a
/// read can hold a whole block of the framer's fast path, or a whole message).
fn read_len(b: u8) -> usize {
    if b < 128 {
        b as usize
    } else {
        (b as usize - 127) * 32
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&t, rest)) = data.split_last() else {
        return;
    };
    let limits = if t & 1 == 1 {
        split_reads::SMALL
    } else {
        Limits::default()
    };
    let plan_len = ((t >> 1) as usize).min(rest.len());
    let (bytes, plan) = rest.split_at(rest.len() - plan_len);
    let mut end = 0;
    let reads = plan.iter().map(move |&b| {
        end = (end + read_len(b)).min(bytes.len());
        end
    });
    split_reads::check(limits, bytes, reads.chain([bytes.len()]));
});
