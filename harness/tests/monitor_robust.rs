//! The monitor never panics and never grows without bound, whatever the input.

use proptest::prelude::*;
use qmpspec::monitor::server::OUTPUT_HIGH_WATER;
use qmpspec::monitor::{Fault, Monitor, MonitorConfig};
use qmpspec::wire::Limits;
use std::sync::Arc;

/// A monitor with a fixed clock, so that two runs over the same input (whole and byte by
/// byte) write the same event timestamps.
fn monitor(faults: &[Fault]) -> Monitor {
    let cfg = MonitorConfig::new(faults, None).with_clock(Arc::new(|| (1_700_000_000, 123_456)));
    Monitor::new(Arc::new(cfg))
}

const FRAGMENTS: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b":",
    b",",
    b" ",
    b"\n",
    b"\r\n",
    b"\t",
    b"\"execute\"",
    b"\"exec-oob\"",
    b"\"arguments\"",
    b"\"id\"",
    b"\"qmp_capabilities\"",
    b"\"query-status\"",
    b"\"stop\"",
    b"\"cont\"",
    b"\"quit\"",
    b"\"enable\"",
    b"[\"oob\"]",
    b"\"query-yank\"",
    b"'single'",
    b"\"\\u00e9\"",
    b"\"\\ud800\"",
    b"1",
    b"-0",
    b"1.5e3",
    b"1e999",
    b"true",
    b"null",
    b"nul",
    b"\x01",
    b"\xff",
    b"\xc3",
    b"\"\xc3(\"",
    b"\x00",
    b"\"\\'\"",
    b"\\",
    b"{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[\"oob\"]}}",
    b"{\"execute\":\"query-status\",\"id\":1}",
    b"{\"exec-oob\":\"query-yank\",\"id\":2}",
];

fn check_output(out: &[u8], clean: bool) {
    if clean {
        assert!(out.is_ascii());
        assert!(out.is_empty() || out.ends_with(b"\r\n"));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2000),
                                split in 1usize..64) {
        for faults in [&[][..], Fault::ALL] {
            let mut m = monitor(faults);
            let mut out = m.take_output();
            for chunk in bytes.chunks(split) {
                out.extend(m.feed(chunk));
            }
            check_output(&out, faults.is_empty());
        }
    }

    #[test]
    fn protocol_fragments_never_panic(picks in proptest::collection::vec(0..FRAGMENTS.len(), 0..300)) {
        let input: Vec<u8> = picks.iter().flat_map(|&i| FRAGMENTS[i].to_vec()).collect();
        for faults in [&[][..], Fault::ALL, &[Fault::NoReset, Fault::Reorder, Fault::OobBlocked][..]] {
            let mut m = monitor(faults);
            let mut out = m.take_output();
            out.extend(m.feed(&input));
            check_output(&out, faults.is_empty());
            // Byte by byte gives the same result when no fault depends on timing.
            if faults.is_empty() {
                let mut m2 = monitor(faults);
                let mut out2 = m2.take_output();
                for b in &input {
                    out2.extend(m2.feed(std::slice::from_ref(b)));
                }
                // With oob negotiated, exec-oob may overtake queued in-band commands only
                // when input arrives together; compare as multisets.
                let mut a: Vec<&[u8]> = out.split(|&b| b == b'\n').collect();
                let mut b: Vec<&[u8]> = out2.split(|&b| b == b'\n').collect();
                a.sort();
                b.sort();
                prop_assert_eq!(a, b);
            }
        }
    }
}

#[test]
fn nesting_bomb_stays_bounded() {
    let mut m = monitor(&[]);
    m.take_output();
    let chunk = vec![b'['; 64 * 1024];
    let mut errors = 0;
    for _ in 0..80 {
        m.receive(&chunk);
        m.process();
        assert!(m.buffered_bytes() < 1 << 20, "{}", m.buffered_bytes());
        let out = m.take_output();
        errors += out
            .windows(33)
            .filter(|w| w == b"JSON nesting depth limit exceeded")
            .count();
    }
    // 5 MiB of '[': one error every 1025 brackets.
    assert_eq!(errors, 80 * 64 * 1024 / 1025);
}

#[test]
fn huge_string_hits_the_token_size_limit_and_recovers() {
    let mut cfg = MonitorConfig::new(&[], None);
    cfg.limits = Limits {
        max_message_bytes: 1 << 20,
        ..Limits::QEMU
    };
    let mut m = Monitor::new(Arc::new(cfg));
    m.take_output();
    m.feed(b"{\"execute\":\"qmp_capabilities\"}\n");
    m.receive(b"{\"execute\":\"query-name\",\"id\":\"");
    let chunk = vec![b'x'; 64 * 1024];
    let mut out = Vec::new();
    for _ in 0..64 {
        m.receive(&chunk);
        m.process();
        assert!(m.buffered_bytes() < 2 << 20);
        out.extend(m.take_output());
    }
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("JSON token size limit exceeded"), "{text}");
    out = m.feed(b"\"}\n\x01{\"execute\":\"query-name\",\"id\":7}\n");
    assert!(String::from_utf8_lossy(&out).contains("\"id\": 7"));
}

#[test]
fn output_stops_at_the_high_water_mark_until_drained() {
    let mut m = monitor(&[]);
    m.take_output();
    m.feed(b"{\"execute\":\"qmp_capabilities\"}\n");
    let req = b"{\"execute\":\"query-qmp-schema\"}\n".repeat(40);
    m.receive(&req);
    m.process();
    let schema_reply = 200 * 1024;
    assert!(m.output().len() < OUTPUT_HIGH_WATER + 2 * schema_reply);
    assert!(m.has_work(), "processing paused, not finished");
    let mut replies = 0;
    loop {
        let out = m.take_output();
        replies += out.windows(2).filter(|w| w == b"\r\n").count();
        if !m.has_work() {
            break;
        }
        m.process();
        assert!(m.output().len() < OUTPUT_HIGH_WATER + 2 * schema_reply);
    }
    assert_eq!(replies, 40);
}

#[test]
fn quit_ends_the_session_and_ignores_the_rest() {
    let mut m = monitor(&[]);
    m.take_output();
    let out = m.feed(b"{\"execute\":\"qmp_capabilities\"}\n{\"execute\":\"quit\",\"id\":1}\n{\"execute\":\"query-name\",\"id\":2}\n");
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("\"event\": \"SHUTDOWN\""));
    assert!(text.ends_with("{\"return\": {}, \"id\": 1}\r\n"), "{text}");
    assert!(m.closed().is_some());
    assert!(m.feed(b"{\"execute\":\"query-name\"}\n").is_empty());
}
