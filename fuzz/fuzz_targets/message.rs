//! Fuzz message classification: any text a server might send is either a typed message or
//! a precise `Malformed` naming a clause; never a panic. Typed results keep their invariants.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qmpspec::message::{Command, ServerMessage};
use qmpspec::wire::{parse_value, ParseError};

fuzz_target!(|data: &[u8]| {
    match ServerMessage::classify(data) {
        Ok(ServerMessage::Reply(r)) => {
            // A success payload is valid JSON: building it fails only on what classification
            // leaves to the tree (a repeated key deeper down, a number beyond double range, a
            // \u escape of a lone surrogate, which the grammar allows but no string holds).
            if let Some(Err(e)) = r.try_return_value() {
                assert!(
                    matches!(
                        e,
                        ParseError::DuplicateKey(_)
                            | ParseError::InvalidNumber
                            | ParseError::InvalidEscape
                    ),
                    "classified reply whose payload fails with {e:?}"
                );
            }
        }
        Ok(ServerMessage::Event(e)) => {
            if e.data.is_some() {
                assert!(e.data_value().is_some_and(|d| d.is_object()));
            }
        }
        Ok(ServerMessage::Greeting(_)) => {}
        Err(e) => {
            let _ = e.clause(); // typed: always a clause of specs/clauses.json
            let _ = e.to_string();
        }
    }
    // The same bytes as client input: the envelope check never panics either.
    if let Ok(v) = parse_value(data, true) {
        let _ = Command::from_input(v.clone(), true);
        let _ = Command::from_input(v, false);
    }
});
