//! Fuzz the emulated monitor's whole input path (sans-IO, no sockets): arbitrary client bytes
//! in arbitrary reads, after a normal handshake. Every byte it answers must be valid QMP as
//! the client session judges it (CRLF-terminated objects, ASCII, well-formed replies and
//! events), and afterwards the monitor must still answer a well-formed command.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use qmpspec::message::Command;
use qmpspec::monitor::server::{Monitor, MonitorConfig};
use qmpspec::session::{ClientSession, SessionEvent};
use qmpspec::spec::Clause;
use std::sync::{Arc, OnceLock};

#[derive(Arbitrary, Debug)]
struct Input {
    oob: bool,
    chunks: Vec<Vec<u8>>,
}

/// Reply matching is ambiguous after raw input (it may draw any number of replies), so only
/// these clauses are judged; they hold for every message whatever the input.
const JUDGED: &[Clause] = &[
    Clause::FrameCrlf,
    Clause::FrameObjectsOnly,
    Clause::EncOutputAscii,
    Clause::GreetingFirst,
    Clause::GreetingShape,
    Clause::GreetingCapabilities,
    Clause::ReplyReturn,
    Clause::ReplyError,
    Clause::EventShape,
];

fn config() -> Arc<MonitorConfig> {
    static CFG: OnceLock<Arc<MonitorConfig>> = OnceLock::new();
    Arc::clone(CFG.get_or_init(|| Arc::new(MonitorConfig::new(&[], None))))
}

fn check(s: &mut ClientSession) {
    while let Some(ev) = s.poll() {
        if let SessionEvent::Violation(v) = ev {
            assert!(!JUDGED.contains(&v.clause), "monitor broke {v}");
        }
    }
}

fuzz_target!(|input: Input| {
    let mut m = Monitor::new(config());
    let mut s = ClientSession::new();
    s.receive(&m.take_output());
    let mut caps = Command::new("qmp_capabilities").id("neg");
    if input.oob {
        caps = caps.arg("enable", vec!["oob"]);
    }
    let out = m.feed(&s.send(caps));
    s.receive(&out);
    check(&mut s);
    for chunk in &input.chunks {
        let out = m.feed(chunk);
        s.receive(&out);
        check(&mut s);
        if m.closed().is_some() {
            return; // e.g. the input ran `quit`
        }
    }
    // Reset the parser (the input may have left an object open), then probe.
    s.receive(&m.feed(b"\x01\n"));
    s.forget_in_flight();
    let out = m.feed(&s.send(Command::new("query-version").id("probe")));
    if m.closed().is_some() {
        return;
    }
    s.receive(&out);
    let mut answered = false;
    while let Some(ev) = s.poll() {
        match ev {
            SessionEvent::Violation(v) => assert!(!JUDGED.contains(&v.clause), "monitor broke {v}"),
            SessionEvent::Reply { reply, .. } => {
                answered |= reply.id == Some(serde_json::json!("probe")) && reply.error().is_none()
            }
            _ => {}
        }
    }
    assert!(answered, "the monitor no longer answers query-version");
});
