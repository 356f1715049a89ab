//! Structure-aware fuzzing of the client session: a generated conversation (server
//! messages, client commands, chunk boundaries). In "conforming" mode the server side is
//! generated to obey the protocol and the session must report no violation at all; in
//! "chaos" mode anything goes and the session must only never panic (every violation names
//! a clause by type).
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use qmpspec::message::Command;
use qmpspec::session::{ClientSession, SessionEvent};
use qmpspec::wire::{encode, Style};
use serde_json::{json, Value};

#[derive(Arbitrary, Debug)]
enum Id {
    None,
    Int(i32),
    Str(String),
    Float(u16),
    Null,
    List(Vec<u8>),
}

impl Id {
    fn value(&self) -> Option<Value> {
        match self {
            Id::None => None,
            Id::Int(i) => Some(json!(i)),
            Id::Str(s) => Some(json!(s)),
            Id::Float(f) => Some(json!(*f as f64 + 0.5)),
            Id::Null => Some(Value::Null),
            Id::List(l) => Some(json!(l)),
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Step {
    /// The client sends a command; a conforming server answers it (now or later).
    Command { id: Id, fail: bool },
    /// The server sends an event.
    Event { name: String, with_data: bool },
    /// The server answers every outstanding command.
    AnswerAll,
    /// Raw bytes from the server (chaos mode only).
    Raw(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
struct Conversation {
    conforming: bool,
    caps: Vec<String>,
    steps: Vec<Step>,
    cuts: Vec<u16>,
}

fn greeting(caps: &[String]) -> Value {
    json!({"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": ""}, "capabilities": caps}})
}

fuzz_target!(|conv: Conversation| {
    let mut s = ClientSession::new();
    let mut server = encode(&greeting(&conv.caps), Style::Qemu);
    let mut outstanding: Vec<(Option<Value>, bool)> = Vec::new();
    // Negotiate first so events are legal.
    s.send(Command::new("qmp_capabilities"));
    server.extend(encode(&json!({"return": {}}), Style::Qemu));
    for step in &conv.steps {
        match step {
            Step::Command { id, fail } => {
                let mut c = Command::new("query-status");
                if let Some(v) = id.value() {
                    c = c.id(v.clone());
                }
                s.send(c);
                outstanding.push((id.value(), *fail));
            }
            Step::Event { name, with_data } => {
                let mut ev = json!({"event": name, "timestamp": {"seconds": 1, "microseconds": 2}});
                if *with_data {
                    ev["data"] = json!({"x": 1});
                }
                server.extend(encode(&ev, Style::Qemu));
            }
            Step::AnswerAll => {
                for (id, fail) in outstanding.drain(..) {
                    let mut r = if fail {
                        json!({"error": {"class": "GenericError", "desc": "no"}})
                    } else {
                        json!({"return": {}})
                    };
                    if let Some(id) = id {
                        r["id"] = id;
                    }
                    server.extend(encode(&r, Style::Qemu));
                }
            }
            Step::Raw(bytes) => {
                if !conv.conforming {
                    server.extend_from_slice(bytes);
                }
            }
        }
    }
    let mut points: Vec<usize> = conv
        .cuts
        .iter()
        .map(|&c| c as usize % (server.len() + 1))
        .collect();
    points.sort_unstable();
    let mut last = 0;
    for p in points.into_iter().chain([server.len()]) {
        s.receive(&server[last..p]);
        last = p;
    }
    s.close();
    while let Some(ev) = s.poll() {
        if let SessionEvent::Violation(v) = ev {
            assert!(!conv.conforming, "conforming conversation flagged: {v}");
        }
    }
});
