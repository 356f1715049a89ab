//! The emulated monitor answers scripted sessions byte for byte like QEMU 7.2 did (recorded
//! in tests/common/scripts.rs by ci/record-qemu-golden.py; timestamps and package redacted):
//! valid commands, invalid envelopes, malformed JSON, control-character resets, non-ASCII
//! and float/huge ids, out-of-band commands — however the input is split.

mod common;

use common::scripts::SCRIPTS;
use common::{assert_same, lines, monitor, redact};

#[test]
fn replies_like_qemu_when_input_arrives_as_recorded() {
    for s in SCRIPTS {
        let mut m = monitor();
        let mut out = m.take_output();
        for chunk in s.input {
            out.extend(m.feed(chunk));
        }
        assert_same(s.name, s.qemu_output, &out);
        assert!(
            m.closed().is_some(),
            "{}: quit must close the session",
            s.name
        );
    }
}

#[test]
fn replies_like_qemu_when_input_arrives_in_one_piece() {
    for s in SCRIPTS {
        let mut m = monitor();
        let mut out = m.take_output();
        out.extend(m.feed(&s.input.concat()));
        // These two scripts enable oob, then pipeline exec-oob after in-band commands.
        if matches!(s.name, "negotiation" | "oob") {
            // With oob on, pipelined exec-oob commands run at once and their replies overtake
            // queued in-band ones (oob.overtake): same replies, not the same order.
            let mut want = lines(&redact(s.qemu_output));
            let mut got = lines(&redact(&out));
            if s.name == "negotiation" {
                // exec-oob query-version (id 3) follows three queued in-band commands.
                assert!(want != got, "{}: nothing overtook", s.name);
            }
            want.sort();
            got.sort();
            assert!(want == got, "{}: replies differ", s.name);
        } else {
            assert_same(s.name, s.qemu_output, &out);
        }
    }
}

#[test]
fn replies_like_qemu_when_input_arrives_byte_by_byte() {
    for s in SCRIPTS {
        let mut m = monitor();
        let mut out = m.take_output();
        for b in s.input.concat() {
            out.extend(m.feed(&[b]));
        }
        assert_same(s.name, s.qemu_output, &out);
    }
}

#[test]
fn output_is_ascii_crlf_framed_objects() {
    for s in SCRIPTS {
        let mut m = monitor();
        let mut out = m.take_output();
        out.extend(m.feed(&s.input.concat()));
        assert!(out.is_ascii(), "{}", s.name);
        assert!(out.ends_with(b"\r\n"));
        for line in out.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            assert!(line.ends_with(b"\r"), "{}: LF without CR", s.name);
            let v: serde_json::Value = serde_json::from_slice(&line[..line.len() - 1])
                .unwrap_or_else(|e| {
                    // QEMU itself writes `inf` for an id of 1e999; that is the one exception.
                    assert!(line.windows(3).any(|w| w == b"inf"), "{}: {e}", s.name);
                    serde_json::json!({})
                });
            assert!(v.is_object(), "{}: non-object {v}", s.name);
        }
    }
}

#[test]
fn the_scripts_cover_what_they_claim() {
    let all: Vec<u8> = SCRIPTS
        .iter()
        .flat_map(|s| s.qemu_output.to_vec())
        .collect();
    let text = String::from_utf8_lossy(&all);
    for needle in [
        "Expecting capabilities negotiation with 'qmp_capabilities'",
        "Capabilities negotiation is already complete, command ignored",
        "JSON parse error, stray '\\u0001'",
        "QMP input member 'execute' clashes with 'exec-oob'",
        "\"id\": \"\\u00E9\\u20AC\"",
        "\"id\": 1.2345678901234568e+29",
        "\"id\": 1500",
        "\"event\": \"STOP\"",
        "\"event\": \"RESUME\"",
        "\"reason\": \"host-qmp-quit\"",
        "does not support OOB",
        "Parameter 'x' is unexpected",
    ] {
        assert!(text.contains(needle), "no script covers {needle}");
    }
}
