//! Fuzz the framer: arbitrary bytes delivered in arbitrary reads, with small limits so the
//! limit paths are reached. Framing must not depend on the read boundaries, every text must
//! respect the limits, and the buffer must stay bounded.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use qmpspec::wire::{parse_value, Framer, Limits};

#[derive(Arbitrary, Debug)]
struct Input {
    bytes: Vec<u8>,
    cuts: Vec<u16>,
    small_limits: bool,
}

fn frames(limits: Limits, chunks: &[&[u8]]) -> Vec<Result<Vec<u8>, String>> {
    let mut f = Framer::new(limits);
    let mut out = Vec::new();
    for c in chunks {
        f.push(c);
        while let Some(r) = f.next_frame() {
            out.push(r.map(|fr| fr.text.to_vec()).map_err(|e| e.to_string()));
        }
        assert!(f.pending().len() <= limits.max_message_bytes + c.len() + 66);
    }
    while let Some(r) = f.finish() {
        out.push(r.map(|fr| fr.text.to_vec()).map_err(|e| e.to_string()));
    }
    out
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

    let whole = frames(limits, &[bytes]);
    let split = frames(limits, &chunks);
    assert_eq!(whole, split, "framing depends on read boundaries");
    for text in whole.iter().flatten() {
        assert!(text.len() <= limits.max_message_bytes);
        let _ = parse_value(text, true);
    }
});
