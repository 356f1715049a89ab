//! The scenario server: the emulated monitor's sans-IO session, with a scenario's behaviour
//! wrapped around it. Sans-IO as the monitor is: client bytes and the current time go in,
//! pieces of output come out when they are due; everything seen goes into a [`ConnLog`].
//!
//! Client input is cut into single JSON texts with a copy of QEMU's parser (the same one the
//! monitor runs), and the monitor gets one text at a time, so every reply is known to belong
//! to one command. The scenario then reshapes, delays, splits or adds to what the monitor
//! wrote, message by message, never inside a message but where it means to cut one.

use super::observe::{envelope, is_reset, short_text, CommandSeen, ConnLog};
use super::scenario::Behaviour;
use crate::endpoint::Dir;
use crate::endpoint::Entry;
use crate::monitor::fault::reverse_members;
use crate::monitor::json::{Deviations, JsonStream, Parsed};
use crate::monitor::qobject::QObj;
use crate::monitor::{Chardev, Monitor, MonitorConfig};
use crate::wire::{encode, Style};
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Before a decoy (an event or a stray reply) the server waits this long, so that a client
/// that pipelines has long sent its next command when the decoy comes.
pub const BEFORE_DECOY: Duration = Duration::from_millis(150);
/// Between a decoy and the reply: a client that takes the decoy for its reply acts here.
pub const DECOY_GAP: Duration = Duration::from_millis(150);
/// In-band replies are held this long in `oob.out-of-order`.
pub const OOB_HOLD: Duration = Duration::from_millis(200);
/// Pause between the pieces of a split message.
pub const PIECE_PAUSE: Duration = Duration::from_millis(1);
/// After `quit`, the connection stays open this long unless the client hangs up first.
pub const QUIT_LINGER: Duration = crate::monitor::serve::QUIT_LINGER;

/// The capability the `greeting.unknown-capability` greeting makes up.
pub const MADE_UP_CAPABILITY: &str = "qmpspec-future";
/// The member name of every unknown member the scenarios add.
pub const EXTRA_MEMBER: &str = "qmpspec-future";
/// The event that carries tokens (its data is `{"device": TOKEN, "path": ".../TOKEN"}`).
pub const TOKEN_EVENT: &str = "DEVICE_DELETED";
/// Event names no QEMU sends: a future upstream one and a downstream one.
pub const UNKNOWN_EVENTS: [&str; 2] = ["QMPSPEC_FUTURE_EVENT", "__com.example_QMPSPEC_EVENT"];

/// What a message in the output queue is, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sent {
    Greeting,
    Reply(usize),
    Decoy(usize),
    /// The first half of a reply, after which the connection closes.
    Cut(usize),
    Other,
}

/// One message (or a few whole messages) waiting to be written.
#[derive(Debug)]
struct Outgoing {
    due: Instant,
    seq: u64,
    pieces: VecDeque<Vec<u8>>,
    pause: Duration,
    what: Sent,
}

/// One connection's server.
pub struct ScenarioServer {
    behaviour: Behaviour,
    epoch: Instant,
    mon: Monitor,
    /// A copy of the monitor's parser, fed the same bytes, to see where texts end.
    boundary: JsonStream,
    segment: Vec<u8>,
    /// Input that arrived before the greeting went out.
    held_input: Vec<u8>,
    greeting_out: bool,
    queue: Vec<Outgoing>,
    /// The message being written and when its next piece is due.
    current: Option<(Outgoing, Instant)>,
    seq: u64,
    /// The latest due time of anything in order (everything but overtaking OOB replies).
    last_due: Instant,
    /// Commands seen in command mode.
    in_command_mode: usize,
    tokens: usize,
    quit: bool,
    /// A reply is to be cut: input is no longer read.
    cutting: bool,
    close_after_cut: bool,
    closed: bool,
    last_write: Instant,
    log: ConnLog,
}

impl ScenarioServer {
    /// A new connection `index` (0: the scenario's own, else a plain reconnection), opened
    /// at `now`; `epoch` is when the scenario started.
    pub fn new(behaviour: Behaviour, index: usize, epoch: Instant, now: Instant) -> Self {
        let behaviour = if index == 0 {
            behaviour
        } else {
            Behaviour::Plain
        };
        let mut cfg = MonitorConfig::new(&[], None);
        cfg.chardev = Chardev::Socket {
            filename: "unix:qmpspec-check-client,server=on".into(),
        };
        cfg.offer_oob = behaviour != Behaviour::NoOob;
        let limits = cfg.limits;
        let mut mon = Monitor::new(Arc::new(cfg));
        let greeting = mon.take_output();
        let mut s = ScenarioServer {
            behaviour,
            epoch,
            mon,
            boundary: JsonStream::new(limits, Deviations::default()),
            segment: Vec::new(),
            held_input: Vec::new(),
            greeting_out: false,
            queue: Vec::new(),
            current: None,
            seq: 0,
            last_due: now,
            in_command_mode: 0,
            tokens: 0,
            quit: false,
            cutting: false,
            close_after_cut: false,
            closed: false,
            last_write: now,
            log: ConnLog::new(index, behaviour, now.saturating_duration_since(epoch)),
        };
        let due = match behaviour {
            Behaviour::SlowGreeting(d) => now + d,
            _ => now,
        };
        let greeting = s.reshape(greeting, Sent::Greeting);
        s.push(due, greeting, Sent::Greeting);
        s
    }

    fn since(&self, t: Instant) -> Duration {
        t.saturating_duration_since(self.epoch)
    }

    /// Bytes from the client.
    pub fn receive(&mut self, bytes: &[u8], now: Instant) {
        if self.closed || bytes.is_empty() {
            return;
        }
        self.log.transcript.push(Entry {
            dir: Dir::Recv,
            at: self.since(now),
            bytes: bytes.to_vec(),
        });
        if !self.greeting_out {
            self.log.before_greeting.extend_from_slice(bytes);
            self.held_input.extend_from_slice(bytes);
            return;
        }
        self.take_input(bytes, now);
    }

    /// The client closed its end.
    pub fn client_closed(&mut self, now: Instant) {
        if self.log.client_eof_at.is_some() {
            return;
        }
        self.log.client_eof_at = Some(self.since(now));
    }

    /// The connection broke while writing: nothing more is written.
    pub fn write_failed(&mut self, now: Instant) {
        self.close(now);
    }

    fn close(&mut self, now: Instant) {
        if !self.closed {
            self.closed = true;
            self.log.closed_at = Some(self.since(now));
            self.queue.clear();
            self.current = None;
        }
    }

    /// True once the connection should be closed (after `quit`, a cut reply, or when the
    /// client hung up and everything due has been written).
    pub fn should_close(&mut self, now: Instant) -> bool {
        if self.closed {
            return true;
        }
        let idle = self.current.is_none() && self.queue.is_empty();
        let done = self.close_after_cut
            || idle
                && (self.log.client_eof_at.is_some()
                    || (self.quit && now >= self.last_write + QUIT_LINGER));
        if done {
            self.close(now);
        }
        done
    }

    /// When something next falls due, if anything is waiting.
    pub fn next_wakeup(&self) -> Option<Instant> {
        if self.closed {
            return None;
        }
        match &self.current {
            Some((_, at)) => Some(*at),
            None => self
                .queue
                .first()
                .map(|o| o.due)
                .or(self.quit.then_some(self.last_write + QUIT_LINGER)),
        }
    }

    /// The next piece to write, if one is due. The caller writes it at once (or reports
    /// [`ScenarioServer::write_failed`]).
    pub fn poll_write(&mut self, now: Instant) -> Option<Vec<u8>> {
        if self.closed {
            return None;
        }
        if self.current.is_none() {
            if self.queue.first().is_none_or(|o| o.due > now) {
                return None;
            }
            let o = self.queue.remove(0);
            self.current = Some((o, now));
        }
        let (o, at) = self.current.as_mut().expect("just set");
        if *at > now {
            return None;
        }
        let piece = o.pieces.pop_front().unwrap_or_default();
        *at = now + o.pause;
        let finished = o.pieces.is_empty();
        let what = o.what;
        self.log.transcript.push(Entry {
            dir: Dir::Send,
            at: self.since(now),
            bytes: piece.clone(),
        });
        self.last_write = now;
        if finished {
            self.current = None;
            self.finished(what, now);
        }
        Some(piece)
    }

    fn finished(&mut self, what: Sent, now: Instant) {
        let at = Some(self.since(now));
        match what {
            Sent::Greeting => {
                self.greeting_out = true;
                self.log.greeting_at = at;
                let held = std::mem::take(&mut self.held_input);
                self.take_input(&held, now);
            }
            Sent::Reply(k) => self.log.commands[k].reply_at = at,
            Sent::Decoy(k) => self.log.commands[k].decoy_at = at,
            Sent::Cut(_) => self.close_after_cut = true,
            Sent::Other => {}
        }
    }

    /// What was observed (call once the connection is over).
    pub fn into_log(mut self) -> ConnLog {
        if self.log.client_eof_at.is_some() && !self.segment.trim_ascii().is_empty() {
            self.log.unfinished = Some(short_text(&self.segment));
        }
        self.log
    }

    /// Queue `pieces` as one message (or a few whole ones) due at `due`.
    fn push(&mut self, due: Instant, pieces: Vec<Vec<u8>>, what: Sent) {
        self.push_paced(due, pieces, self.pause(), what);
    }

    /// The pause between the pieces of a message the scenario splits.
    fn pause(&self) -> Duration {
        match self.behaviour {
            Behaviour::SplitMessages => PIECE_PAUSE * 2,
            _ => Duration::ZERO,
        }
    }

    fn push_paced(&mut self, due: Instant, pieces: Vec<Vec<u8>>, pause: Duration, what: Sent) {
        let pieces: VecDeque<Vec<u8>> = pieces.into_iter().filter(|p| !p.is_empty()).collect();
        if pieces.is_empty() {
            return;
        }
        self.seq += 1;
        let o = Outgoing {
            due,
            seq: self.seq,
            pieces,
            pause,
            what,
        };
        let pos = self
            .queue
            .iter()
            .position(|q| (q.due, q.seq) > (o.due, o.seq))
            .unwrap_or(self.queue.len());
        self.queue.insert(pos, o);
    }

    /// Push in order: never before anything queued earlier in order.
    fn push_in_order(&mut self, due: Instant, pieces: Vec<Vec<u8>>, what: Sent) -> Instant {
        let due = due.max(self.last_due);
        self.last_due = due;
        self.push(due, pieces, what);
        due
    }

    /// Cut client input into single texts; hand each to the monitor.
    fn take_input(&mut self, bytes: &[u8], now: Instant) {
        for &b in bytes {
            if self.closed || self.cutting {
                return;
            }
            self.segment.push(b);
            self.boundary.feed(b);
            if self.boundary.ready() > 0 {
                let mut items = Vec::new();
                while let Some(p) = self.boundary.pop() {
                    items.push(p);
                }
                let seg = std::mem::take(&mut self.segment);
                self.run_segment(seg, items, now);
            }
        }
    }

    /// One or more parsed items, ending with the last byte of `seg`.
    fn run_segment(&mut self, seg: Vec<u8>, items: Vec<Parsed>, now: Instant) {
        let at = self.since(now);
        let negotiated = self.mon.negotiated;
        let first = self.log.commands.len();
        for item in &items {
            let mut seen = CommandSeen {
                at,
                text: short_text(&seg),
                name: None,
                oob: false,
                id: None,
                problem: None,
                reset: false,
                before_negotiation: !negotiated,
                refused: None,
                reply_at: None,
                decoy_at: None,
                held: false,
            };
            match item {
                Parsed::Value { value, .. } => {
                    seen.id = value.get("id").cloned();
                    match envelope(value) {
                        Ok((name, oob)) => {
                            seen.name = Some(name);
                            seen.oob = oob;
                        }
                        Err(e) => seen.problem = Some(e),
                    }
                }
                Parsed::Error(e) => {
                    seen.reset = is_reset(&seg);
                    seen.problem = Some(format!("not valid JSON ({e})"));
                }
            }
            self.log.commands.push(seen);
        }
        let single = items.len() == 1 && self.log.commands[first].problem.is_none();
        let command_mode = single && negotiated;
        if command_mode {
            self.in_command_mode += 1;
        }
        let nth = self.in_command_mode.wrapping_sub(1);
        // A reply made up without running the command.
        if command_mode && nth == 0 && self.behaviour == Behaviour::ErrorReply {
            let mut rsp = vec![];
            if let Some(id) = self.log.commands[first].id.clone() {
                rsp.push(("id".to_string(), id));
            }
            rsp.push((
                "error".to_string(),
                QObj::dict([
                    ("class", QObj::str("GenericError")),
                    (
                        "desc",
                        QObj::str("qmpspec check-client: this command fails on purpose"),
                    ),
                ]),
            ));
            let mut bytes = Vec::new();
            QObj::Dict(rsp).write(&mut bytes, true);
            bytes.extend_from_slice(b"\r\n");
            self.log.commands[first].refused = Some("fails on purpose".into());
            self.push_in_order(now, vec![bytes], Sent::Reply(first));
            return;
        }
        let fed = match (&items[..], self.behaviour) {
            ([Parsed::Value { value, .. }], Behaviour::UnknownCapability) if !negotiated => {
                self.drop_made_up_capability(value).unwrap_or(seg)
            }
            _ => seg,
        };
        let out = self.mon.feed(&fed);
        if self.mon.closed().is_some() {
            self.quit = true;
        }
        if !negotiated && self.mon.negotiated {
            self.log.oob_enabled = self.mon.oob;
        }
        let messages: Vec<&[u8]> = out.split_inclusive(|&b| b == b'\n').collect();
        let mut replies = (first..first + items.len()).peekable();
        let mut ordered: Vec<(Vec<u8>, Sent)> = Vec::new();
        for m in messages {
            let v: Value = serde_json::from_slice(m).unwrap_or(Value::Null);
            let is_reply = v.get("return").is_some() || v.get("error").is_some();
            let what = match (is_reply, replies.peek()) {
                (true, Some(&k)) => {
                    replies.next();
                    if let Some(e) = v.get("error") {
                        self.log.commands[k].refused = Some(
                            e.get("desc")
                                .and_then(Value::as_str)
                                .unwrap_or("an error")
                                .to_string(),
                        );
                    }
                    Sent::Reply(k)
                }
                _ => Sent::Other,
            };
            ordered.push((m.to_vec(), what));
        }
        let enabled_now = !negotiated && self.mon.negotiated;
        self.schedule(ordered, command_mode.then_some(nth), enabled_now, now);
    }

    /// `greeting.unknown-capability`: a `qmp_capabilities` enabling the made-up capability
    /// is logged and passed on without it (the server offered it, so it must not fail).
    fn drop_made_up_capability(&mut self, value: &QObj) -> Option<Vec<u8>> {
        let args = value.get("arguments")?;
        let QObj::List(caps) = args.get("enable")? else {
            return None;
        };
        let keep: Vec<QObj> = caps
            .iter()
            .filter(|c| !matches!(c, QObj::Str(s) if s == MADE_UP_CAPABILITY))
            .cloned()
            .collect();
        if keep.len() == caps.len() {
            return None;
        }
        self.log.bad_enable.push(MADE_UP_CAPABILITY.into());
        let mut args = args.clone();
        args.put("enable", QObj::List(keep));
        let mut cmd = value.clone();
        cmd.put("arguments", args);
        Some(cmd.to_bytes())
    }

    /// Queue what the monitor wrote for one segment, the way the scenario wants it.
    /// `nth`: the command's number in command mode; `negotiated_now`: this segment ended
    /// negotiation.
    fn schedule(
        &mut self,
        messages: Vec<(Vec<u8>, Sent)>,
        nth: Option<usize>,
        negotiated_now: bool,
        now: Instant,
    ) {
        let reply_of = messages.iter().find_map(|(_, w)| match w {
            Sent::Reply(k) => Some(*k),
            _ => None,
        });
        if let Some(k) = reply_of {
            if self.log.commands[k].name.as_deref() == Some("qmp_capabilities")
                && self.log.commands[k].refused.is_some()
                && !self.mon.negotiated
            {
                self.note_refused_enable(k);
            }
        }
        let b = self.behaviour;
        // Delays and decoys for the reply.
        let mut due = now;
        let mut decoy: Option<Vec<u8>> = None;
        let mut trailing: Vec<Vec<u8>> = Vec::new();
        let decoy_scenario = matches!(b, Behaviour::EventBeforeReply | Behaviour::UnknownIdReply);
        if let Some(k) = reply_of {
            if decoy_scenario && (negotiated_now || nth.is_some()) {
                self.log.commands[k].held = true;
                let with_decoy = nth.is_some_and(|n| n % 2 == 0);
                if with_decoy {
                    due += BEFORE_DECOY;
                    decoy = Some(match b {
                        Behaviour::EventBeforeReply => self.token_event(),
                        _ => stray_reply(k),
                    });
                } else {
                    due += BEFORE_DECOY + DECOY_GAP;
                }
            }
            if matches!(b, Behaviour::EventsInterleaved | Behaviour::EventStorm(_)) && nth.is_some()
            {
                trailing.push(self.token_event());
            }
            if b == Behaviour::OobOutOfOrder && self.mon.oob && nth.is_some() {
                if self.log.commands[k].oob {
                    // Overtakes whatever is held: not in order.
                    for (m, w) in messages {
                        let m = self.reshape(m, w);
                        self.push(now, m, w);
                    }
                    return;
                }
                self.log.commands[k].held = true;
                due += OOB_HOLD;
            }
        }
        let mut first_reply = nth == Some(0);
        for (m, what) in messages {
            let is_reply = matches!(what, Sent::Reply(_));
            if is_reply {
                if let (Some(d), Sent::Reply(k)) = (decoy.take(), what) {
                    let at = self.push_in_order(due, vec![d], Sent::Decoy(k));
                    due = at + DECOY_GAP;
                }
                if first_reply {
                    first_reply = false;
                    match b {
                        Behaviour::EventStorm(n) => {
                            for chunk in 0..n.div_ceil(100) {
                                let events: Vec<u8> = (0..100.min(n - chunk * 100))
                                    .flat_map(|_| self.token_event())
                                    .collect();
                                self.push_in_order(due, vec![events], Sent::Other);
                            }
                        }
                        Behaviour::CloseMidReply => {
                            if let Sent::Reply(k) = what {
                                let body = m.len().saturating_sub(2).max(1);
                                let half = m[..body.div_ceil(2)].to_vec();
                                self.log.cut_reply_of = Some(k);
                                self.cutting = true;
                                self.push_in_order(due, vec![half], Sent::Cut(k));
                                return;
                            }
                        }
                        Behaviour::LargeSplitReply(size) => {
                            let pieces = split_large(pad(&m, size));
                            let due = due.max(self.last_due);
                            self.last_due = due;
                            self.push_paced(due, pieces, PIECE_PAUSE, what);
                            continue;
                        }
                        _ => {}
                    }
                }
                if nth.is_some() {
                    let ev = match b {
                        Behaviour::UnknownEvents => Some(self.unknown_event()),
                        Behaviour::EventsInterleaved => Some(self.token_event()),
                        _ => None,
                    };
                    if let Some(ev) = ev {
                        self.push_in_order(due, vec![ev], Sent::Other);
                    }
                }
            }
            let pieces = self.reshape(m, what);
            self.push_in_order(due, pieces, what);
        }
        for t in trailing {
            self.push_in_order(due, vec![t], Sent::Other);
        }
        if negotiated_now && b == Behaviour::EventsInterleaved {
            let ev = self.token_event();
            self.push_in_order(due, vec![ev], Sent::Other);
        }
    }

    /// A refused `qmp_capabilities` that named capabilities: which were not offered.
    fn note_refused_enable(&mut self, k: usize) {
        let desc = self.log.commands[k].refused.clone().unwrap_or_default();
        if let Some(list) = desc
            .strip_prefix("Capability ")
            .and_then(|r| r.strip_suffix(" not available"))
        {
            self.log
                .bad_enable
                .extend(list.split(", ").map(str::to_string));
        }
    }

    /// Apply the scenario's per-message rewriting (members, order, pieces).
    fn reshape(&self, msg: Vec<u8>, what: Sent) -> Vec<Vec<u8>> {
        let b = self.behaviour;
        let rewrite = match b {
            Behaviour::GreetingExtraMembers | Behaviour::UnknownCapability => {
                what == Sent::Greeting
            }
            Behaviour::ReplyExtraMembers => what != Sent::Greeting,
            Behaviour::ReversedMembers => true,
            _ => false,
        };
        let msg = if rewrite {
            match serde_json::from_slice::<Value>(&msg) {
                Ok(mut v) => {
                    match b {
                        Behaviour::GreetingExtraMembers => greeting_extras(&mut v),
                        Behaviour::UnknownCapability => made_up_capability(&mut v),
                        Behaviour::ReplyExtraMembers => message_extras(&mut v),
                        _ => v = reverse_members(v),
                    }
                    encode(&v, Style::Qemu)
                }
                Err(_) => msg,
            }
        } else {
            msg
        };
        if b == Behaviour::SplitMessages {
            split_awkwardly(&msg)
        } else {
            vec![msg]
        }
    }

    /// A known event carrying a fresh token.
    fn token_event(&mut self) -> Vec<u8> {
        self.tokens += 1;
        let token = format!("qmpspec-event-{:04}", self.tokens);
        let data = QObj::Dict(vec![
            ("device".into(), QObj::Str(token.clone())),
            (
                "path".into(),
                QObj::Str(format!("/machine/peripheral/{token}")),
            ),
        ]);
        self.mon.event(TOKEN_EVENT, Some(data));
        let ev = self.mon.take_output();
        if !ev.is_empty() {
            self.log.event_tokens.push(token);
        }
        self.reshape(ev, Sent::Other).concat()
    }

    /// An event no QEMU sends.
    fn unknown_event(&mut self) -> Vec<u8> {
        self.tokens += 1;
        let name = UNKNOWN_EVENTS[self.tokens % 2];
        let (seconds, microseconds) = (self.mon.cfg.clock)();
        let ev = json!({
            "timestamp": {"seconds": seconds, "microseconds": microseconds},
            "event": name,
            "data": {"qmpspec-token": format!("qmpspec-event-{:04}", self.tokens),
                     "nested": {"list": [1, "two", null]}},
        });
        encode(&ev, Style::Qemu)
    }
}

/// A reply to a command nobody sent (`replies.unknown-id`).
fn stray_reply(k: usize) -> Vec<u8> {
    encode(
        &json!({"return": {}, "id": format!("qmpspec-unknown-id-{k}")}),
        Style::Qemu,
    )
}

fn extra() -> Value {
    json!({"added-in": "a future QEMU", "list": [1, 2, 3]})
}

/// Unknown members at every level of the greeting.
fn greeting_extras(v: &mut Value) {
    if let Some(qmp) = v.get_mut("QMP").and_then(Value::as_object_mut) {
        if let Some(version) = qmp.get_mut("version").and_then(Value::as_object_mut) {
            if let Some(q) = version.get_mut("qemu").and_then(Value::as_object_mut) {
                q.insert(EXTRA_MEMBER.into(), json!(0));
            }
            version.insert(EXTRA_MEMBER.into(), extra());
        }
        qmp.insert(EXTRA_MEMBER.into(), extra());
    }
    if let Some(o) = v.as_object_mut() {
        o.insert(EXTRA_MEMBER.into(), extra());
    }
}

/// The made-up capability, first.
fn made_up_capability(v: &mut Value) {
    if let Some(caps) = v
        .pointer_mut("/QMP/capabilities")
        .and_then(Value::as_array_mut)
    {
        caps.insert(0, json!(MADE_UP_CAPABILITY));
    }
}

/// Unknown members in a reply (top level, return value, error) or an event (top level,
/// data).
fn message_extras(v: &mut Value) {
    let Some(o) = v.as_object_mut() else { return };
    for key in ["return", "error", "data"] {
        match o.get_mut(key) {
            Some(Value::Object(inner)) => {
                inner.insert(EXTRA_MEMBER.into(), extra());
            }
            Some(Value::Array(items)) => {
                for item in items.iter_mut().filter_map(Value::as_object_mut) {
                    item.insert(EXTRA_MEMBER.into(), json!(true));
                }
            }
            _ => {}
        }
    }
    o.insert(EXTRA_MEMBER.into(), extra());
}

/// Pad a reply to at least `size` bytes with an unknown member (in the return value when it
/// is an object).
fn pad(msg: &[u8], size: usize) -> Vec<u8> {
    if msg.len() >= size {
        return msg.to_vec();
    }
    let Ok(mut v) = serde_json::from_slice::<Value>(msg) else {
        return msg.to_vec();
    };
    let filler = Value::String("x".repeat(size - msg.len()));
    match v.get_mut("return") {
        Some(Value::Object(r)) => {
            r.insert(EXTRA_MEMBER.into(), filler);
        }
        _ => {
            if let Some(o) = v.as_object_mut() {
                o.insert(EXTRA_MEMBER.into(), filler);
            }
        }
    }
    encode(&v, Style::Qemu)
}

/// Sizes the pieces of a large message cycle through.
const PIECE_SIZES: [usize; 10] = [1, 7, 100, 8192, 3, 12288, 61, 4093, 2, 5000];

/// Cut a large message into pieces of varied sizes; CR and LF go in pieces of their own.
fn split_large(msg: Vec<u8>) -> Vec<Vec<u8>> {
    let body = msg.len().saturating_sub(2);
    let mut pieces = Vec::new();
    let mut at = 0;
    for size in PIECE_SIZES.iter().cycle() {
        if at >= body {
            break;
        }
        let end = (at + size).min(body);
        pieces.push(msg[at..end].to_vec());
        at = end;
    }
    pieces.extend(msg[body..].iter().map(|&b| vec![b]));
    pieces
}

/// Cut a message after its first byte, at a third, at two thirds, before CR and between CR
/// and LF.
fn split_awkwardly(msg: &[u8]) -> Vec<Vec<u8>> {
    let n = msg.len();
    if n < 6 {
        return vec![msg.to_vec()];
    }
    let mut cuts = vec![0, 1, n / 3, 2 * n / 3, n - 2, n - 1, n];
    cuts.dedup();
    cuts.windows(2)
        .map(|w| msg[w[0]..w[1]].to_vec())
        .filter(|p| !p.is_empty())
        .collect()
}

#[cfg(test)]
pub(crate) mod tests;
