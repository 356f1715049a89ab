//! The sans-IO client session: greeting, negotiation, command mode, out-of-band commands,
//! id matching, events in between.
//!
//! Bytes go in with [`ClientSession::receive`]; what they mean comes out of
//! [`ClientSession::poll`] as [`SessionEvent`]s. Commands go out through
//! [`ClientSession::send`], which returns the bytes to write and remembers the command so its
//! reply can be matched. Every protocol rule the session can see being broken becomes a
//! [`Violation`] tied to a clause id of QMP-NOTES; nothing the server sends makes it panic.

use crate::message::{Command, Event, Greeting, Reply, ServerMessage};
use crate::spec::Clause;
use crate::wire::{FrameError, Framer, Limits};
use serde_json::Value;
use std::collections::VecDeque;
use std::fmt;

/// Where the session is in the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Connected; the greeting has not arrived.
    AwaitingGreeting,
    /// Greeting seen; only `qmp_capabilities` may run.
    Negotiation,
    /// Capabilities negotiated; every command may run and events flow.
    CommandMode,
    /// The server closed the stream.
    Closed,
}

/// A protocol rule the server was seen to break.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    /// Clause id from QMP-NOTES (`specs/clauses.json`), e.g. `cmd.id-echo`.
    pub clause: Clause,
    /// What was seen, in one line.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "[{}] {}", self.clause, self.message)
    }
}

/// One message the server sent, as the framer cut it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedFrame {
    /// The JSON text, from its first to its last byte.
    pub text: Vec<u8>,
    /// The bytes that followed it up to the next message (its terminator; CRLF in QMP).
    pub terminator: Vec<u8>,
}

/// A command that was sent and has not been answered.
#[derive(Debug, Clone, PartialEq)]
pub struct InFlight {
    /// The command, or `None` for raw bytes sent with [`ClientSession::send_raw`].
    pub command: Option<Command>,
    /// The phase the session was in when it was sent (for diagnostics: the server may
    /// have changed phase before running it).
    pub sent_in: Phase,
}

impl InFlight {
    fn id(&self) -> Option<&Value> {
        self.command.as_ref().and_then(|c| c.id.as_ref())
    }
    fn oob(&self) -> bool {
        self.command.as_ref().is_some_and(|c| c.oob)
    }
    fn name(&self) -> &str {
        self.command
            .as_ref()
            .map_or("(raw input)", |c| c.name.as_str())
    }
}

/// What the session made of the server's bytes.
#[allow(clippy::large_enum_variant)] // events are moved once each; boxing buys nothing
#[derive(Debug, Clone)]
pub enum SessionEvent {
    /// The greeting (also delivered when it came late).
    Greeting(Greeting),
    /// A reply, with the command it answers when it could be matched.
    Reply {
        command: Option<InFlight>,
        reply: Reply,
    },
    /// An asynchronous event.
    Event(Event),
    /// A rule the server broke. The session carries on where it can.
    Violation(Violation),
    /// The stream ended; lists commands that never got a reply.
    Closed { unanswered: Vec<InFlight> },
}

/// The client session state machine.
///
/// ```
/// use qmpspec::session::{ClientSession, Phase, SessionEvent};
/// use qmpspec::message::Command;
/// let mut s = ClientSession::new();
/// s.receive(b"{\"QMP\": {\"version\": {\"qemu\": {\"major\": 7, \"minor\": 2, \"micro\": 0}, \"package\": \"\"}, \"capabilities\": []}}\r\n");
/// assert!(matches!(s.poll(), Some(SessionEvent::Greeting(_))));
/// let bytes = s.send(Command::new("qmp_capabilities").id(1));
/// assert_eq!(bytes, b"{\"execute\":\"qmp_capabilities\",\"id\":1}\n");
/// s.receive(b"{\"return\": {}, \"id\": 1}\r\n");
/// assert!(matches!(s.poll(), Some(SessionEvent::Reply { .. })));
/// assert_eq!(s.phase(), Phase::CommandMode);
/// ```
#[derive(Debug)]
pub struct ClientSession {
    framer: Framer,
    phase: Phase,
    greeting: Option<Greeting>,
    oob_enabled: bool,
    in_flight: VecDeque<InFlight>,
    out: VecDeque<SessionEvent>,
    frames_seen: usize,
    /// Every message cut so far (or why bytes were discarded), in order.
    cut: Vec<Result<ReceivedFrame, FrameError>>,
    crlf_reported: bool,
    ascii_reported: bool,
}

impl Default for ClientSession {
    fn default() -> Self {
        Self::new()
    }
}

impl ClientSession {
    /// A fresh session, waiting for the greeting, with QEMU's framing limits.
    pub fn new() -> Self {
        Self::with_limits(Limits::default())
    }

    /// A fresh session with explicit framing limits for what the server sends.
    pub fn with_limits(limits: Limits) -> Self {
        ClientSession {
            framer: Framer::new(limits),
            phase: Phase::AwaitingGreeting,
            greeting: None,
            oob_enabled: false,
            in_flight: VecDeque::new(),
            out: VecDeque::new(),
            frames_seen: 0,
            cut: Vec::new(),
            crlf_reported: false,
            ascii_reported: false,
        }
    }

    /// The current phase.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The greeting, once received.
    pub fn greeting(&self) -> Option<&Greeting> {
        self.greeting.as_ref()
    }

    /// True once `oob` was enabled by a successful `qmp_capabilities`.
    pub fn oob_enabled(&self) -> bool {
        self.oob_enabled
    }

    /// Commands sent and not yet answered, oldest first.
    pub fn in_flight(&self) -> impl Iterator<Item = &InFlight> {
        self.in_flight.iter()
    }

    /// True when nothing sent is waiting for a reply.
    pub fn idle(&self) -> bool {
        self.in_flight.is_empty()
    }

    /// Record `cmd` as sent and return its bytes.
    pub fn send(&mut self, cmd: Command) -> Vec<u8> {
        let bytes = cmd.encode();
        self.in_flight.push_back(InFlight {
            command: Some(cmd),
            sent_in: self.phase,
        });
        bytes
    }

    /// Record that raw bytes were sent which should draw `replies` replies of any shape
    /// (e.g. malformed input, which draws an error without id).
    pub fn send_raw(&mut self, replies: usize) {
        for _ in 0..replies {
            self.in_flight.push_back(InFlight {
                command: None,
                sent_in: self.phase,
            });
        }
    }

    /// Forget commands whose replies are no longer expected (e.g. after deliberately
    /// truncated input).
    pub fn forget_in_flight(&mut self) -> Vec<InFlight> {
        self.in_flight.drain(..).collect()
    }

    /// Everything the server sent so far as the framer cut it: each message with its
    /// terminator (for the last one, the bytes after it so far), or why bytes were discarded.
    pub fn frames(&self) -> Vec<Result<ReceivedFrame, FrameError>> {
        let mut v = self.cut.clone();
        if let Some(Ok(last)) = v.last_mut() {
            last.terminator = self.framer.trailing_separator().to_vec();
        }
        v
    }

    /// Record a message the framer cut; the whitespace before it ends the previous one.
    fn record_frame(&mut self, text: &[u8], separator: &[u8]) {
        if let Some(Ok(prev)) = self.cut.last_mut() {
            prev.terminator = separator.to_vec();
        }
        self.cut.push(Ok(ReceivedFrame {
            text: text.to_vec(),
            terminator: Vec::new(),
        }));
    }

    /// Feed bytes received from the server.
    pub fn receive(&mut self, bytes: &[u8]) {
        self.framer.push(bytes);
        self.drain_frames();
    }

    /// The server closed its end: flush, check the last terminator, report what is unanswered.
    pub fn close(&mut self) {
        if self.phase == Phase::Closed {
            return;
        }
        self.drain_frames();
        while let Some(r) = self.framer.finish() {
            match r {
                Ok(f) => {
                    let text = f.text.to_vec();
                    let separator = f.separator.to_vec();
                    self.record_frame(&text, &separator);
                    self.violation(
                        Clause::FrameCrlf,
                        format!(
                            "message not terminated at end of stream: {}",
                            String::from_utf8_lossy(&text)
                        ),
                    );
                    self.on_text(&text);
                }
                Err(e) => self.frame_error(e),
            }
        }
        if self.frames_seen > 0 && !self.crlf_reported {
            let t = self.framer.trailing_separator();
            if !t.starts_with(b"\r\n") {
                let msg = format!("last message terminated by {:?}, not CRLF", show_ws(t));
                self.crlf_reported = true;
                self.violation(Clause::FrameCrlf, msg);
            }
        }
        self.phase = Phase::Closed;
        let unanswered = self.in_flight.drain(..).collect();
        self.out.push_back(SessionEvent::Closed { unanswered });
    }

    /// The next event, if any.
    pub fn poll(&mut self) -> Option<SessionEvent> {
        self.out.pop_front()
    }

    fn violation(&mut self, clause: Clause, message: String) {
        self.out
            .push_back(SessionEvent::Violation(Violation { clause, message }));
    }

    fn frame_error(&mut self, e: FrameError) {
        self.cut.push(Err(e.clone()));
        self.violation(
            Clause::FrameObjectsOnly,
            format!("server output is not valid JSON: {e}"),
        );
    }

    fn drain_frames(&mut self) {
        loop {
            let (text, sep_ok, sep) = match self.framer.next_frame() {
                None => break,
                Some(Err(e)) => {
                    self.frame_error(e);
                    continue;
                }
                Some(Ok(f)) => {
                    // The first message has nothing before it to be terminated by.
                    let ok = self.frames_seen == 0 || f.separator == b"\r\n";
                    let (text, separator) = (f.text.to_vec(), f.separator.to_vec());
                    self.record_frame(&text, &separator);
                    (text, ok, separator)
                }
            };
            self.frames_seen += 1;
            if !sep_ok && !self.crlf_reported {
                self.crlf_reported = true;
                self.violation(
                    Clause::FrameCrlf,
                    format!("message terminated by {:?}, not CRLF", show_ws(&sep)),
                );
            }
            if !self.ascii_reported && !text.is_ascii() {
                self.ascii_reported = true;
                self.violation(
                    Clause::EncOutputAscii,
                    "server output contains non-ASCII bytes".to_string(),
                );
            }
            self.on_text(&text);
        }
    }

    fn on_text(&mut self, text: &[u8]) {
        let msg = match ServerMessage::classify(text) {
            Ok(m) => m,
            Err(e) => {
                let first = self.phase == Phase::AwaitingGreeting;
                self.violation(e.clause(), format!("{e}: {}", snippet(text)));
                if first {
                    // Whatever came first, it was not a usable greeting.
                    self.violation(
                        Clause::GreetingFirst,
                        "first message is not a greeting".into(),
                    );
                    self.phase = Phase::Negotiation;
                }
                if looks_like_reply(text) {
                    self.consume_broken_reply(text);
                }
                return;
            }
        };
        match msg {
            ServerMessage::Greeting(g) => {
                if self.phase != Phase::AwaitingGreeting {
                    self.violation(
                        Clause::GreetingFirst,
                        "a second greeting arrived after the session started".into(),
                    );
                } else {
                    self.phase = Phase::Negotiation;
                    self.greeting = Some(g.clone());
                }
                self.out.push_back(SessionEvent::Greeting(g));
            }
            ServerMessage::Event(e) => {
                match self.phase {
                    Phase::AwaitingGreeting => {
                        self.violation(
                            Clause::GreetingFirst,
                            format!("event {} arrived before the greeting", e.name),
                        );
                        self.phase = Phase::Negotiation;
                    }
                    Phase::Negotiation => self.violation(
                        Clause::NegMode,
                        format!("event {} delivered before capabilities negotiation", e.name),
                    ),
                    _ => {}
                }
                self.out.push_back(SessionEvent::Event(e));
            }
            ServerMessage::Reply(r) => self.on_reply(r),
        }
    }

    /// A malformed reply still answers a command: the one whose id it carries when its id can
    /// be read, else the oldest command it could answer without an id. A command sent with an
    /// id is never taken by a reply whose id cannot be read: its real reply may still come.
    fn consume_broken_reply(&mut self, text: &[u8]) {
        let id = crate::wire::parse_value(text, false)
            .ok()
            .and_then(|v| v.get("id").cloned());
        let pos = match id {
            Some(id) => self.in_flight.iter().position(|c| c.id() == Some(&id)),
            None => self
                .in_flight
                .iter()
                .position(|c| !c.oob())
                .filter(|&p| self.in_flight[p].id().is_none()),
        };
        if let Some(p) = pos {
            self.in_flight.remove(p);
        }
    }

    fn on_reply(&mut self, reply: Reply) {
        if self.phase == Phase::AwaitingGreeting {
            self.violation(
                Clause::GreetingFirst,
                "a reply arrived before the greeting".into(),
            );
            self.phase = Phase::Negotiation;
        }
        let matched = self.match_reply(&reply);
        if let Some(cmd) = &matched {
            self.check_phase_rules(cmd, &reply);
        }
        self.out.push_back(SessionEvent::Reply {
            command: matched,
            reply,
        });
    }

    /// Find and remove the in-flight entry `reply` answers; report id and order violations.
    fn match_reply(&mut self, reply: &Reply) -> Option<InFlight> {
        if self.in_flight.is_empty() {
            self.violation(
                Clause::ReplyOnePerCommand,
                format!(
                    "reply with no command in flight (id {})",
                    show_id(&reply.id)
                ),
            );
            return None;
        }
        let pos = match &reply.id {
            Some(id) => {
                let found = self.in_flight.iter().position(|c| c.id() == Some(id));
                match found {
                    Some(p) => Some(p),
                    None => {
                        // A raw input may draw a reply with any id; otherwise this is an
                        // id nobody sent.
                        let raw = self.in_flight.iter().position(|c| c.command.is_none());
                        if raw.is_none() {
                            self.violation(
                                Clause::CmdIdEcho,
                                format!(
                                    "reply carries id {} that no command in flight has",
                                    show_id(&reply.id)
                                ),
                            );
                        }
                        raw
                    }
                }
            }
            None => {
                // Prefer the oldest command that carried no id; else the oldest in-band one.
                let p = self
                    .in_flight
                    .iter()
                    .position(|c| c.id().is_none())
                    .or_else(|| self.in_flight.iter().position(|c| !c.oob()));
                if let Some(p) = p {
                    if let Some(id) = self.in_flight[p].id() {
                        if reply.error().is_none() {
                            let msg = format!(
                                "reply to {} lacks the id {} it was sent with",
                                self.in_flight[p].name(),
                                id
                            );
                            self.violation(Clause::CmdIdEcho, msg);
                        }
                        // An error without id is allowed (cmd.id-early-error).
                    }
                }
                p
            }
        };
        let pos = pos?;
        let entry = self.in_flight.remove(pos)?;
        if !entry.oob() {
            let overtaken = self
                .in_flight
                .iter()
                .take(pos)
                .any(|c| !c.oob() && c.command.is_some());
            if overtaken {
                self.violation(
                    Clause::ReplyInOrder,
                    format!(
                        "reply to in-band {} overtook an earlier in-band command",
                        entry.name()
                    ),
                );
            }
        }
        Some(entry)
    }

    /// Negotiation-mode rules. In-band commands run in the order sent and are answered in
    /// that order, so the phase when a reply arrives is the phase the server was in when it
    /// ran the command, even for commands pipelined before negotiation finished.
    fn check_phase_rules(&mut self, cmd: &InFlight, reply: &Reply) {
        let Some(c) = &cmd.command else { return };
        if self.phase != Phase::Negotiation || c.oob {
            return;
        }
        if c.name == "qmp_capabilities" {
            if reply.error().is_none() {
                self.phase = Phase::CommandMode;
                self.oob_enabled = c
                    .arguments
                    .as_ref()
                    .and_then(|a| a.get("enable"))
                    .and_then(Value::as_array)
                    .is_some_and(|caps| caps.iter().any(|x| x == "oob"));
            }
            return;
        }
        match reply.error() {
            None => self.violation(
                Clause::NegMode,
                format!("{} succeeded before capabilities negotiation", c.name),
            ),
            Some(e) if e.class != "CommandNotFound" => self.violation(
                Clause::NegMode,
                format!(
                    "{} before negotiation was refused with class {}, not CommandNotFound",
                    c.name, e.class
                ),
            ),
            _ => {}
        }
    }
}

fn looks_like_reply(text: &[u8]) -> bool {
    let t = String::from_utf8_lossy(text);
    t.contains("\"return\"") || t.contains("\"error\"")
}

fn show_id(id: &Option<Value>) -> String {
    id.as_ref().map_or("none".into(), |v| v.to_string())
}

fn show_ws(ws: &[u8]) -> String {
    String::from_utf8_lossy(ws).into_owned()
}

fn snippet(text: &[u8]) -> String {
    crate::text::clip(&String::from_utf8_lossy(text), 200)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const GREETING: &[u8] = b"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, \"package\": \"\"}, \"capabilities\": [\"oob\"]}}\r\n";

    fn events(s: &mut ClientSession) -> Vec<SessionEvent> {
        std::iter::from_fn(|| s.poll()).collect()
    }

    fn violations(s: &mut ClientSession) -> Vec<Clause> {
        events(s)
            .into_iter()
            .filter_map(|e| match e {
                SessionEvent::Violation(v) => Some(v.clause),
                _ => None,
            })
            .collect()
    }

    fn negotiated(oob: bool) -> ClientSession {
        let mut s = ClientSession::new();
        s.receive(GREETING);
        let mut c = Command::new("qmp_capabilities");
        if oob {
            c = c.arg("enable", json!(["oob"]));
        }
        s.send(c);
        s.receive(b"{\"return\": {}}\r\n");
        assert!(violations(&mut s).is_empty());
        assert_eq!(s.phase(), Phase::CommandMode);
        s
    }

    #[test]
    fn happy_path_with_event_between() {
        let mut s = negotiated(true);
        assert!(s.oob_enabled());
        s.send(Command::new("stop").id("a"));
        s.receive(b"{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"STOP\"}\r\n{\"return\": {}, \"id\": \"a\"}\r\n");
        let ev = events(&mut s);
        assert!(matches!(ev[0], SessionEvent::Event(_)));
        assert!(matches!(
            ev[1],
            SessionEvent::Reply {
                command: Some(_),
                ..
            }
        ));
        assert!(s.idle());
    }

    #[test]
    fn missing_greeting() {
        let mut s = ClientSession::new();
        s.send(Command::new("qmp_capabilities"));
        s.receive(b"{\"return\": {}}\r\n");
        assert_eq!(violations(&mut s), vec![Clause::GreetingFirst]);
    }

    #[test]
    fn lf_only_is_reported_once() {
        let mut s = ClientSession::new();
        s.send_raw(2);
        s.receive(b"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 0, \"major\": 0}, \"package\": \"\"}, \"capabilities\": []}}\n{\"return\": {}}\n{\"return\": {}}\n");
        assert_eq!(violations(&mut s), vec![Clause::FrameCrlf]);
    }

    #[test]
    fn wrong_or_missing_id() {
        let mut s = negotiated(false);
        s.send(Command::new("query-name").id(5));
        s.receive(b"{\"return\": {}, \"id\": 6}\r\n");
        assert_eq!(violations(&mut s), vec![Clause::CmdIdEcho]);
        let mut s = negotiated(false);
        s.send(Command::new("query-name").id(5));
        s.receive(b"{\"return\": {}}\r\n");
        assert_eq!(violations(&mut s), vec![Clause::CmdIdEcho]);
        // An error without id is allowed.
        let mut s = negotiated(false);
        s.send(Command::new("query-name").id(5));
        s.receive(b"{\"error\": {\"class\": \"GenericError\", \"desc\": \"x\"}}\r\n");
        assert!(violations(&mut s).is_empty());
    }

    #[test]
    fn in_band_order_and_oob_overtaking() {
        let mut s = negotiated(true);
        s.send(Command::new("a").id(1));
        s.send(Command::new("b").id(2));
        s.receive(b"{\"return\": {}, \"id\": 2}\r\n{\"return\": {}, \"id\": 1}\r\n");
        assert_eq!(violations(&mut s), vec![Clause::ReplyInOrder]);
        let mut s = negotiated(true);
        s.send(Command::new("a").id(1));
        s.send(Command::new("x").id(2).out_of_band());
        s.receive(b"{\"return\": {}, \"id\": 2}\r\n{\"return\": {}, \"id\": 1}\r\n");
        assert!(violations(&mut s).is_empty());
    }

    #[test]
    fn negotiation_mode_rules() {
        let mut s = ClientSession::new();
        s.receive(GREETING);
        s.send(Command::new("query-version").id(1));
        s.receive(b"{\"return\": {}, \"id\": 1}\r\n");
        assert_eq!(violations(&mut s), vec![Clause::NegMode]);
        let mut s = ClientSession::new();
        s.receive(GREETING);
        s.receive(
            b"{\"event\": \"STOP\", \"timestamp\": {\"seconds\": 1, \"microseconds\": 1}}\r\n",
        );
        assert_eq!(violations(&mut s), vec![Clause::NegMode]);
    }

    #[test]
    fn commands_pipelined_before_greeting_and_negotiation() {
        let mut s = ClientSession::new();
        s.send(Command::new("qmp_capabilities"));
        s.send(Command::new("query-status").id(1));
        s.receive(GREETING);
        s.receive(b"{\"return\": {}}\r\n{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"STOP\"}\r\n{\"return\": {}, \"id\": 1}\r\n");
        assert!(violations(&mut s).is_empty());
        assert_eq!(s.phase(), Phase::CommandMode);
    }

    #[test]
    fn unreadable_reply_does_not_steal_a_later_commands_id() {
        // QEMU 7.2 echoes an id of 3e890 as `inf` (invalid JSON); the probe sent after it
        // must still be matched to its own reply (found by `qmpspec fuzz --qemu`).
        let mut s = negotiated(false);
        s.send(Command::new("query-version").id("probe"));
        s.receive(b"{\"id\": inf, \"error\": {\"class\": \"GenericError\", \"desc\": \"x\"}}\r\n{\"return\": {}, \"id\": \"probe\"}\r\n");
        let ev = events(&mut s);
        assert!(ev.iter().any(
            |e| matches!(e, SessionEvent::Violation(v) if v.clause == Clause::FrameObjectsOnly)
        ));
        assert!(ev.iter().any(|e| matches!(e, SessionEvent::Reply { command: Some(c), .. } if c.id() == Some(&json!("probe")))));
        assert!(s.idle());
    }

    #[test]
    fn unsolicited_reply_and_close() {
        let mut s = negotiated(false);
        s.receive(b"{\"return\": {}}\r\n");
        assert_eq!(violations(&mut s), vec![Clause::ReplyOnePerCommand]);
        s.send(Command::new("quit"));
        s.close();
        let ev = events(&mut s);
        assert!(matches!(&ev[0], SessionEvent::Closed { unanswered } if unanswered.len() == 1));
    }

    #[test]
    fn frames_are_kept_with_their_terminators() {
        let mut s = ClientSession::new();
        s.receive(GREETING);
        s.receive(b"{\"return\": {}}\n\x01{\"return\": {}}");
        let f = s.frames();
        assert_eq!(f.len(), 4, "{f:?}");
        assert_eq!(f[0].as_ref().unwrap().terminator, b"\r\n");
        // What follows a message up to a framing error is not known to the framer.
        assert_eq!(f[1].as_ref().unwrap().text, b"{\"return\": {}}");
        assert!(f[2].is_err());
        assert_eq!(f[3].as_ref().unwrap().terminator, b"");
        s.receive(b"\r\n");
        assert_eq!(s.frames()[3].as_ref().unwrap().terminator, b"\r\n");
    }

    #[test]
    fn garbage_is_a_violation_not_a_panic() {
        let mut s = ClientSession::new();
        s.receive(b"\x01\xff}{\"QMP\": 1}\r\n[1]\r\n");
        let v = violations(&mut s);
        assert!(v.contains(&Clause::FrameObjectsOnly));
        assert!(v.contains(&Clause::GreetingShape));
    }
}
