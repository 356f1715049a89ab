//! Fuzz the framer: arbitrary bytes delivered in arbitrary reads, with small limits so the
//! limit paths are reached. Framing must not depend on the read boundaries, every text must
//! respect the limits, and the buffer must stay bounded. (Parsing the texts is the `message`
//! and `differential` targets' job.)
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use qmpspec::wire::{FrameError, Framer, Limits};

#[derive(Arbitrary, Debug)]
struct Input {
    bytes: Vec<u8>,
    cuts: Vec<u16>,
    small_limits: bool,
}

/// What the framer made of the input: each text by length and hash (so runs compare without
/// copying texts), or the error.
fn frames(limits: Limits, chunks: &[&[u8]], texts_ok: &mut bool) -> Vec<Result<(usize, u64), FrameError>> {
    let mut f = Framer::new(limits);
    let mut out = Vec::new();
    let mut record = |r: Result<qmpspec::wire::Frame<'_>, FrameError>, out: &mut Vec<_>| {
        out.push(r.map(|fr| {
            *texts_ok &= fr.text.len() <= limits.max_message_bytes;
            (fr.text.len(), fnv(fr.text))
        }))
    };
    for c in chunks {
        f.push(c);
        while let Some(r) = f.next_frame() {
            record(r, &mut out);
        }
        assert!(f.pending().len() <= limits.max_message_bytes + c.len() + 66);
    }
    while let Some(r) = f.finish() {
        record(r, &mut out);
    }
    out
}

fn fnv(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &x| (h ^ x as u64).wrapping_mul(0x100_0000_01b3))
}

fuzz_target!(|input: Input| {
    let limits = if input.small_limits {
        Limits { max_message_bytes: 256, max_depth: 8, max_tokens: 32 }
    } else {
        Limits::default()
    };
    let bytes = &input.bytes;
    let mut points: Vec<usize> = input
        .cuts
        .iter()
        .map(|&c| if bytes.is_empty() { 0 } else { c as usize % bytes.len() })
        .collect();
    points.sort_unstable();
    points.dedup();
    let mut chunks = Vec::new();
    let mut last = 0;
    for p in points {
        chunks.push(&bytes[last..p]);
        last = p;
    }
    chunks.push(&bytes[last..]);

    let mut ok = true;
    let whole = frames(limits, &[bytes], &mut ok);
    let split = frames(limits, &chunks, &mut ok);
    assert_eq!(whole, split, "framing depends on read boundaries");
    assert!(ok, "a text exceeded the size limit");
});
