//! A small scripted QMP server for the checks' own tests: it behaves like QEMU 7.2 where the
//! checks look, and each named fault breaks one rule. It runs on a thread over a
//! `UnixStream::pair`, one per connection.

use crate::endpoint::{Target, Transport};
use crate::message::Command;
use crate::wire::{encode, parse_value, FrameError, Framer, Style};
use serde_json::{json, Map, Value};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

/// A target served by the fake with these faults.
///
/// Faults beyond the monitor's names, for checks no monitor fault reaches: order-sensitive,
/// line-based, caps-twice, accept-unknown-cap, unknown-generic, invent-id, reject-empty-args,
/// bad-query-commands, lenient-envelope, event-in-reply, silent-parse-error, read-is-message,
/// wedge-on-disconnect, bad-schema, bad-downstream-name.
pub fn target(faults: &[&'static str]) -> Target {
    let faults: Arc<Vec<&'static str>> = Arc::new(faults.to_vec());
    let wedged = Arc::new(AtomicBool::new(false));
    Target::InProcess {
        description: format!("fake{faults:?}"),
        connect: Arc::new(move || {
            let (client, server) = UnixStream::pair()?;
            let f = Arc::clone(&faults);
            let w = Arc::clone(&wedged);
            thread::spawn(move || Fake::new(server, f, w).serve());
            Ok(Box::new(client) as Box<dyn Transport>)
        }),
    }
}

struct Fake {
    s: UnixStream,
    faults: Arc<Vec<&'static str>>,
    wedged: Arc<AtomicBool>,
    negotiated: bool,
    oob: bool,
}

const VERSION: &str = r#"{"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "fake"}"#;

impl Fake {
    fn new(s: UnixStream, faults: Arc<Vec<&'static str>>, wedged: Arc<AtomicBool>) -> Fake {
        Fake {
            s,
            faults,
            wedged,
            negotiated: false,
            oob: false,
        }
    }

    fn has(&self, f: &str) -> bool {
        self.faults.contains(&f)
    }

    fn write_value(&mut self, v: &Value) {
        if self.has("event-in-reply") && v.get("return").is_some() && self.negotiated {
            // Splice an event into the middle of the reply's bytes.
            let bytes = encode(v, Style::Qemu);
            let (a, b) = bytes.split_at(bytes.len() / 2);
            let _ = Write::write_all(&mut self.s, a);
            self.event("SPLICED", None);
            let _ = Write::write_all(&mut self.s, b);
            return;
        }
        // Variations the specification allows (the checks must not fail them).
        let mut owned = v.clone();
        if self.has("benign-extra-members") {
            if let Value::Object(m) = &mut owned {
                m.insert("x-qmpspec-extra".into(), json!({"a": [1, "two"]}));
                for inner in ["QMP", "error", "timestamp"] {
                    if let Some(Value::Object(o)) = m.get_mut(inner) {
                        o.insert("x-more".into(), json!(true));
                    }
                }
            }
        }
        if self.has("benign-reversed") {
            owned = reversed(&owned);
        }
        let v = &owned;
        if self.has("benign-pretty") {
            let text = serde_json::to_string_pretty(v)
                .expect("serializable")
                .replace('\n', "\r\n");
            let text: String = text
                .chars()
                .map(|c| {
                    if c.is_ascii() {
                        c.to_string()
                    } else {
                        let mut buf = [0u16; 2];
                        c.encode_utf16(&mut buf)
                            .iter()
                            .map(|u| format!("\\u{u:04X}"))
                            .collect()
                    }
                })
                .collect();
            let _ = Write::write_all(&mut self.s, format!("{text}\r\n").as_bytes());
            return;
        }
        let mut bytes = if self.has("non-ascii") {
            let mut b = serde_json::to_vec(v).expect("serializable");
            b.extend_from_slice(b"\r\n");
            b
        } else {
            encode(v, Style::Qemu)
        };
        if self.has("lf-only") {
            bytes.truncate(bytes.len() - 2);
            bytes.push(b'\n');
        }
        let _ = Write::write_all(&mut self.s, &bytes);
    }

    fn serve(mut self) {
        if self.wedged.load(Ordering::SeqCst) {
            // A wedged server accepts the connection and says nothing.
            let mut buf = [0u8; 4096];
            while matches!(Read::read(&mut self.s, &mut buf), Ok(n) if n > 0) {}
            return;
        }
        if !self.has("no-greeting") {
            let g = if self.has("bad-greeting") {
                json!({"QMP": {"version": "7.2.0", "capabilities": []}})
            } else if self.has("caps-not-strings") {
                json!({"QMP": {"version": serde_json::from_str::<Value>(VERSION).unwrap(), "capabilities": [1]}})
            } else if self.has("benign-unknown-cap") {
                json!({"QMP": {"version": serde_json::from_str::<Value>(VERSION).unwrap(), "capabilities": ["x-future", "oob"]}})
            } else {
                json!({"QMP": {"version": serde_json::from_str::<Value>(VERSION).unwrap(), "capabilities": ["oob"]}})
            };
            self.write_value(&g);
        }
        if self.has("early-events") {
            self.event("RESET", None);
        }
        if self.has("non-object") {
            let _ = Write::write_all(&mut self.s, b"\"hello\"\r\n");
        }
        let mut framer = Framer::default();
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0usize;
        let mut line: Vec<u8> = Vec::new();
        loop {
            let n = match Read::read(&mut self.s, &mut buf) {
                Ok(0) | Err(_) => {
                    if self.has("wedge-on-disconnect") && !framer.at_boundary() {
                        self.wedged.store(true, Ordering::SeqCst);
                    }
                    return;
                }
                Ok(n) => n,
            };
            if self.has("line-based") || self.has("read-is-message") {
                // Naive servers: one JSON text per line, or per read.
                line.extend_from_slice(&buf[..n]);
                let mut texts = Vec::new();
                if self.has("read-is-message") {
                    texts.push(std::mem::take(&mut line));
                } else {
                    while let Some(i) = line.iter().position(|b| *b == b'\n') {
                        let t: Vec<u8> = line.drain(..=i).collect();
                        texts.push(t);
                    }
                }
                for t in texts {
                    let (_, out) = self.handle(&t, false);
                    for v in out {
                        self.write_value(&v);
                    }
                }
                continue;
            }
            total += n;
            if self.has("stall-on-large") && total > 128 * 1024 {
                // Keep the connection open, answer nothing.
                while matches!(Read::read(&mut self.s, &mut buf), Ok(n) if n > 0) {}
                return;
            }
            let chunk: Vec<u8> = if self.has("no-reset") {
                buf[..n]
                    .iter()
                    .copied()
                    .filter(|b| *b >= 0x20 || matches!(b, b'\t' | b'\n' | b'\r'))
                    .collect()
            } else {
                buf[..n].to_vec()
            };
            framer.push(&chunk);
            // Everything complete in this read, then oob first unless blocked.
            let mut inputs: Vec<Result<(Vec<u8>, bool), FrameError>> = Vec::new();
            while let Some(f) = framer.next_frame() {
                inputs.push(f.map(|f| (f.text.to_vec(), f.dialect)));
            }
            let mut replies: Vec<Vec<Value>> = Vec::new();
            let mut oob_replies: Vec<Vec<Value>> = Vec::new();
            for i in inputs {
                match i {
                    Err(FrameError::TooDeep { .. }) if self.has("crash-on-deep") => return,
                    Err(e) => replies.push(vec![self.error(
                        None,
                        "GenericError",
                        &format!("JSON parse error, {e}"),
                    )]),
                    // QEMU 7.2's behaviour: a number beyond double range is read as
                    // infinity and written back as the bare word `inf`.
                    Ok((text, _))
                        if self.has("inf-numbers")
                            && text.windows(5).any(|w| w.eq_ignore_ascii_case(b"1e400")) =>
                    {
                        let _ = Write::write_all(&mut self.s, b"{\"return\": {}, \"id\": inf}\r\n");
                    }
                    Ok((text, dialect)) => {
                        let (oob, out) = self.handle(&text, dialect);
                        if oob && !self.has("oob-blocked") {
                            oob_replies.push(out);
                        } else {
                            replies.push(out);
                        }
                    }
                }
            }
            if self.has("reorder") {
                replies.reverse();
            }
            for group in oob_replies.into_iter().chain(replies) {
                for v in group {
                    self.write_value(&v);
                    if self.has("double-reply") && (v.get("return").is_some()) {
                        self.write_value(&v);
                    }
                }
            }
        }
    }

    fn event(&mut self, name: &str, data: Option<Value>) {
        let mut m = Map::new();
        m.insert("event".into(), json!(name));
        if let Some(d) = data {
            m.insert("data".into(), d);
        }
        if !self.has("bad-event") {
            m.insert(
                "timestamp".into(),
                json!({"seconds": 1_700_000_000, "microseconds": 123}),
            );
        }
        self.write_value(&Value::Object(m));
    }

    fn with_id(&self, mut m: Map<String, Value>, id: Option<Value>) -> Value {
        if self.has("drop-id") {
            return Value::Object(m);
        }
        let id = if self.has("invent-id") {
            Some(id.unwrap_or(json!("invented")))
        } else {
            id
        };
        if let Some(id) = id {
            let id = if self.has("wrong-id") {
                json!("qmpspec-fake-wrong")
            } else {
                id
            };
            m.insert("id".into(), id);
        }
        Value::Object(m)
    }

    fn error(&self, id: Option<Value>, class: &str, desc: &str) -> Value {
        let mut e = Map::new();
        let class = if self.has("invented-class") && class == "GenericError" {
            "ProtocolError"
        } else {
            class
        };
        e.insert("class".into(), json!(class));
        if !self.has("bad-error") {
            e.insert("desc".into(), json!(desc));
        }
        let mut m = Map::new();
        m.insert("error".into(), Value::Object(e));
        self.with_id(m, id)
    }

    fn ok(&self, id: Option<Value>, ret: Value) -> Value {
        let mut m = Map::new();
        if self.has("bad-return") {
            m.insert("retrun".into(), ret);
        } else {
            m.insert("return".into(), ret);
        }
        self.with_id(m, id)
    }

    /// Handle one complete JSON text; returns (was exec-oob, replies).
    fn handle(&mut self, text: &[u8], dialect: bool) -> (bool, Vec<Value>) {
        let parsed = if dialect && self.has("no-single-quotes") {
            Err("JSON parse error, stray '''".to_string())
        } else {
            match parse_value(text, dialect) {
                Ok(v) => Ok(v),
                Err(crate::wire::ParseError::InvalidUtf8) if self.has("accept-bad-utf8") => {
                    parse_value(String::from_utf8_lossy(text).as_bytes(), dialect)
                        .map_err(|e| e.qemu_text())
                }
                Err(e) => Err(e.qemu_text()),
            }
        };
        let v = match parsed {
            Ok(v) => v,
            Err(_) if self.has("silent-parse-error") => return (false, vec![]),
            Err(desc) => return (false, vec![self.error(None, "GenericError", &desc)]),
        };
        if self.has("order-sensitive")
            && v.as_object()
                .and_then(|o| o.keys().next())
                .is_some_and(|k| k != "execute")
        {
            return (
                false,
                vec![self.error(None, "GenericError", "execute must come first")],
            );
        }
        let cmd = match Command::from_input(v, self.oob || self.has("oob-any")) {
            Ok(c) => c,
            Err(_) if self.has("lenient-envelope") => {
                return (false, vec![self.ok(None, json!({}))])
            }
            Err((e, id)) => return (false, vec![self.error(id, "GenericError", &e.to_string())]),
        };
        let oob = cmd.oob;
        if self.has("no-reply") && cmd.name != "qmp_capabilities" {
            return (oob, vec![]);
        }
        (oob, self.dispatch(cmd))
    }

    fn dispatch(&mut self, cmd: Command) -> Vec<Value> {
        let id = cmd.id.clone();
        let args = cmd.arguments.clone().unwrap_or_default();
        let name = cmd.name.as_str();
        if !self.negotiated && name != "qmp_capabilities" && !self.has("no-negotiation") {
            return vec![self.error(
                id,
                "CommandNotFound",
                "Expecting capabilities negotiation with 'qmp_capabilities'",
            )];
        }
        if cmd.oob && !["migrate-pause", "query-yank"].contains(&name) && !self.has("oob-any") {
            return vec![self.error(
                id,
                "GenericError",
                &format!("The command {name} does not support OOB"),
            )];
        }
        let no_args = |s: &Fake, id: Option<Value>| -> Option<Value> {
            if s.has("no-arg-check") {
                return None;
            }
            args.keys().next().map(|k| {
                s.error(
                    id,
                    "GenericError",
                    &format!("Parameter '{k}' is unexpected"),
                )
            })
        };
        match name {
            "qmp_capabilities" => {
                if self.negotiated && self.has("caps-twice") {
                    return vec![self.ok(id, json!({}))];
                }
                if self.negotiated {
                    return vec![self.error(
                        id,
                        "CommandNotFound",
                        "Capabilities negotiation is already complete, command ignored",
                    )];
                }
                if !self.has("no-arg-check") {
                    if let Some(k) = args.keys().find(|k| *k != "enable") {
                        return vec![self.error(
                            id,
                            "GenericError",
                            &format!("Parameter '{k}' is unexpected"),
                        )];
                    }
                }
                let mut oob = false;
                match args.get("enable") {
                    None => {}
                    Some(Value::Array(caps)) => {
                        if self.has("reject-enable") {
                            return vec![self.error(id, "GenericError", "enable is not supported")];
                        }
                        for c in caps {
                            match c.as_str() {
                                Some("oob") => oob = true,
                                Some("x-future") if self.has("benign-unknown-cap") => {}
                                Some(_) if self.has("accept-unknown-cap") => {}
                                _ => {
                                    return vec![self.error(
                                        id,
                                        "GenericError",
                                        &format!("Parameter 'null' does not accept value '{c}'"),
                                    )]
                                }
                            }
                        }
                    }
                    Some(_) if self.has("no-arg-check") => {}
                    Some(_) => {
                        return vec![self.error(
                            id,
                            "GenericError",
                            "Invalid parameter type for 'enable', expected: array",
                        )]
                    }
                }
                self.negotiated = true;
                self.oob = oob;
                vec![self.ok(id, json!({}))]
            }
            "query-version" => {
                if self.has("reject-empty-args") && cmd.arguments.is_some() {
                    return vec![self.error(id, "GenericError", "no arguments expected")];
                }
                if let Some(e) = no_args(self, id.clone()) {
                    return vec![e];
                }
                if self.has("wrong-return-type") {
                    return vec![self.ok(id, json!("7.2.22"))];
                }
                vec![self.ok(id, serde_json::from_str(VERSION).unwrap())]
            }
            "query-commands" => {
                let names = [
                    "qmp_capabilities",
                    "query-version",
                    "query-commands",
                    "query-qmp-schema",
                    "stop",
                    "cont",
                    "qom-list",
                    "migrate-pause",
                ];
                if self.has("bad-query-commands") {
                    return vec![self.ok(id, json!(names))];
                }
                let mut list: Vec<Value> = names.iter().map(|n| json!({"name": n})).collect();
                if self.has("bad-downstream-name") {
                    list.push(json!({"name": "__drive-mirror"}));
                }
                vec![self.ok(id, Value::Array(list))]
            }
            "query-qmp-schema" if self.has("bad-schema") => vec![self.ok(
                id,
                json!([{"name": "query-version", "meta-type": "command", "arg-type": "1", "ret-type": "2"}]),
            )],
            "query-qmp-schema" => vec![self.ok(
                id,
                json!([
                    {"name": "qmp_capabilities", "meta-type": "command", "arg-type": "0", "ret-type": "1"},
                    {"name": "query-version", "meta-type": "command", "arg-type": "1", "ret-type": "2"},
                    {"name": "query-commands", "meta-type": "command", "arg-type": "1", "ret-type": "3"},
                    {"name": "query-qmp-schema", "meta-type": "command", "arg-type": "1", "ret-type": "3"},
                    {"name": "stop", "meta-type": "command", "arg-type": "1", "ret-type": "1"},
                    {"name": "cont", "meta-type": "command", "arg-type": "1", "ret-type": "1"},
                    {"name": "qom-list", "meta-type": "command", "arg-type": "4", "ret-type": "3"},
                    {"name": "migrate-pause", "meta-type": "command", "arg-type": "1", "ret-type": "1", "allow-oob": true},
                    {"name": "0", "meta-type": "object", "members": [{"name": "enable", "type": "[str]", "default": null}]},
                    {"name": "1", "meta-type": "object", "members": []},
                    {"name": "2", "meta-type": "object", "members": []},
                    {"name": "3", "meta-type": "array", "element-type": "1"},
                    {"name": "4", "meta-type": "object", "members": [{"name": "path", "type": "str"}]},
                    {"name": "STOP", "meta-type": "event", "arg-type": "1"}
                ]),
            )],
            "stop" | "cont" => {
                if let Some(e) = no_args(self, id.clone()) {
                    return vec![e];
                }
                self.event(if name == "stop" { "STOP" } else { "RESUME" }, None);
                vec![self.ok(id, json!({}))]
            }
            "qom-list" => match args.get("path") {
                Some(Value::String(_)) => vec![self.ok(id, json!([]))],
                _ if self.has("no-arg-check") => vec![self.ok(id, json!([]))],
                Some(_) => vec![self.error(
                    id,
                    "GenericError",
                    "Invalid parameter type for 'path', expected: string",
                )],
                None => vec![self.error(id, "GenericError", "Parameter 'path' is missing")],
            },
            "migrate-pause" => vec![self.error(
                id,
                "GenericError",
                "migrate-pause is currently only supported during postcopy-active state",
            )],
            other if self.has("unknown-generic") => vec![self.error(
                id,
                "GenericError",
                &format!("no command {other}"),
            )],
            other => vec![self.error(
                id,
                "CommandNotFound",
                &format!("The command {other} has not been found"),
            )],
        }
    }
}

/// `v` with the members of every object in reverse order.
fn reversed(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .rev()
                .map(|(k, x)| (k.clone(), reversed(x)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(reversed).collect()),
        other => other.clone(),
    }
}

/// Run one check against the fake with `faults`.
pub fn run(id: &str, faults: &[&'static str]) -> super::Outcome {
    let check = super::by_id(id).unwrap_or_else(|| panic!("no check {id}"));
    let ctx = super::Ctx::new(target(faults), Duration::from_millis(700));
    (check.run)(&ctx)
}
