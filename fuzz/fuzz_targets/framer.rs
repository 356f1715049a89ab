//! Fuzz the framer: arbitrary bytes delivered in arbitrary reads, with small limits so the
//! limit paths are reached; see [`split_reads`] for what is checked. (Parsing the texts is the
//! `message` and `differential` targets' job; `framer_stream` checks the same property on raw
//! streams such as recorded transcripts.)
#![no_main]

mod split_reads;

use libfuzzer_sys::{fuzz_target, Corpus};
use qmpspec::wire::Limits;
use std::cell::RefCell;

/// The input, decoded into buffers that are reused from one input to the next.
#[derive(Default)]
struct Input {
    bytes: Vec<u8>,
    /// Read boundaries: bit `k` set when a read ends at offset `k` of `bytes` (a set rather
    /// than a sorted list: no sort per input, and duplicates merge by themselves).
    cuts: Vec<u64>,
    small_limits: bool,
}

impl Input {
    /// Decode `data` exactly as `#[derive(Arbitrary)]` decoded the struct
    /// `{ bytes: Vec<u8>, cuts: Vec<u16>, small_limits: bool }` (arbitrary 1.x), so corpora
    /// grown by earlier versions of this target keep their meaning: each element of a list is
    /// preceded by a byte whose low bit says whether one follows, integers are little-endian,
    /// and missing bytes read as zero. Cuts become offsets (modulo the length).
    fn decode(&mut self, data: &[u8]) {
        let mut rest = data;
        let mut byte = || match rest.split_first() {
            Some((&b, tail)) => {
                rest = tail;
                b
            }
            None => 0,
        };
        self.bytes.clear();
        while byte() & 1 == 1 {
            self.bytes.push(byte());
        }
        let len = self.bytes.len();
        self.cuts.clear();
        self.cuts.resize(len / 64 + 1, 0);
        while byte() & 1 == 1 {
            let c = u16::from_le_bytes([byte(), byte()]);
            let at = if len == 0 { 0 } else { c as usize % len };
            self.cuts[at / 64] |= 1 << (at % 64);
        }
        self.small_limits = byte() & 1 == 1;
    }

    /// Where each read ends, in order: the cuts, then the end of the stream.
    fn read_ends(&self) -> impl Iterator<Item = usize> + '_ {
        let cuts = self.cuts.iter().enumerate().flat_map(|(w, &bits)| {
            let mut bits = bits;
            std::iter::from_fn(move || {
                (bits != 0).then(|| {
                    let k = bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    w * 64 + k
                })
            })
        });
        cuts.chain([self.bytes.len()])
    }
}

thread_local! {
    static INPUT: RefCell<Input> = RefCell::new(Input::default());
}

fuzz_target!(|data: &[u8]| -> Corpus {
    // The derived decoder needed at least one byte (for `small_limits`).
    if data.is_empty() {
        return Corpus::Reject;
    }
    INPUT.with_borrow_mut(|input| {
        input.decode(data);
        let limits = if input.small_limits {
            split_reads::SMALL
        } else {
            Limits::default()
        };
        split_reads::check(limits, &input.bytes, input.read_ends());
    });
    Corpus::Keep
});
