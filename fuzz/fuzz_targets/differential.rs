//! Differential fuzzing of the wire layer against serde_json on standard JSON: whenever
//! serde_json accepts the input as one JSON value, the framer must cut exactly that one text
//! and the parser must build the same value (except for repeated keys, which QMP rejects
//! and serde_json silently merges).
#![no_main]

use libfuzzer_sys::fuzz_target;
use qmpspec::wire::{parse_value, Framer, ParseError};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    // serde_json with its `raw_value` feature reads an object whose key is its private
    // marker `$serde_json::private::RawValue` as the raw value inside it (a quirk: plain JSON
    // says it is an object); such inputs say nothing about our framer or parser.
    const MARKER: &[u8] = b"$serde_json::private";
    if data.windows(MARKER.len()).any(|w| w == MARKER) {
        return;
    }
    let Ok(theirs) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let mut f = Framer::default();
    f.push(data);
    let mut texts = Vec::new();
    while let Some(r) = f.next_frame() {
        texts.push(
            r.expect("framer rejected JSON serde_json accepts")
                .text
                .to_vec(),
        );
    }
    while let Some(r) = f.finish() {
        texts.push(
            r.expect("framer rejected JSON serde_json accepts")
                .text
                .to_vec(),
        );
    }
    assert_eq!(texts.len(), 1, "one JSON value must be one text: {texts:?}");
    let trimmed = data.trim_ascii();
    assert_eq!(texts[0], trimmed);
    match parse_value(&texts[0], false) {
        Ok(ours) => assert_eq!(ours, theirs),
        Err(ParseError::DuplicateKey(_)) => {}
        Err(e) => panic!("parser rejected JSON serde_json accepts: {e}"),
    }
});
