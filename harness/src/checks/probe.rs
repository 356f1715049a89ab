//! [`Probe`]: how a check talks to the endpoint. It opens fresh connections, bounds every wait,
//! keeps every transcript, and turns stalls and session violations into outcomes.

use super::{Ctx, Outcome, Status, TranscriptEntry};
use crate::endpoint::{Client, Stall};
use crate::message::{Command, Event, Greeting, Reply};
use crate::session::{Phase, Violation};
use serde_json::Value;
use std::time::{Duration, Instant};

/// A message received (its text and the bytes after it), or a framing error.
pub type FrameSeen = Result<(Vec<u8>, Vec<u8>), String>;

/// A step of a check: `Err` ends the check with that outcome.
pub type Step<T> = Result<T, Outcome>;

/// How many replies raw input of unknown effect may draw (a nesting error can draw a burst).
const OPEN_ENDED: usize = 1 << 16;

/// Large input is written in chunks of this size, each with its own budget.
const CHUNK: usize = 64 * 1024;

/// Time allowed per KiB of large input on top of the timeout (QEMU 7.2 reads a 1 MiB string
/// in about 3 s on an idle machine, i.e. 3 ms a KiB; tokens cost more).
pub const PER_KIB: Duration = Duration::from_millis(20);

/// The byte sent to return a server's JSON parser to a known-good state (`parser.reset`).
pub const RESET: u8 = 0x01;

/// A check's view of the endpoint: one connection at a time, all of them recorded.
pub struct Probe<'a> {
    pub ctx: &'a Ctx,
    client: Option<Client>,
    started: Instant,
    conn_offset: Duration,
    done: Vec<TranscriptEntry>,
    violations: Vec<Violation>,
    next_id: u64,
    /// Ids carried by raw input sent so far (to tell their replies from the probe's).
    raw_ids: Vec<Value>,
}

impl<'a> Probe<'a> {
    /// A probe with no connection yet.
    pub fn new(ctx: &'a Ctx) -> Probe<'a> {
        Probe {
            ctx,
            client: None,
            started: Instant::now(),
            conn_offset: Duration::ZERO,
            done: Vec::new(),
            violations: Vec::new(),
            next_id: 0,
            raw_ids: Vec::new(),
        }
    }

    /// A probe with a fresh connection open.
    pub fn open(ctx: &'a Ctx) -> Step<Probe<'a>> {
        let mut p = Probe::new(ctx);
        p.connect()?;
        Ok(p)
    }

    /// Close the current connection (if any) and open a fresh one.
    pub fn connect(&mut self) -> Step<()> {
        self.archive();
        self.conn_offset = self.started.elapsed();
        match Client::connect(&self.ctx.target) {
            Ok(c) => {
                self.client = Some(c);
                Ok(())
            }
            Err(e) => Err(Outcome::error(format!("cannot connect: {e}"))),
        }
    }

    /// Close the current connection, keeping its transcript.
    pub fn disconnect(&mut self) {
        self.archive();
    }

    fn archive(&mut self) {
        if let Some(c) = self.client.take() {
            let off = self.conn_offset;
            self.done.extend(
                c.transcript()
                    .coalesced()
                    .into_iter()
                    .map(|e| TranscriptEntry {
                        dir: e.dir,
                        at: off + e.at,
                        bytes: e.bytes,
                    }),
            );
            self.violations.extend(c.violations);
        }
    }

    /// The open connection's client.
    pub fn client(&mut self) -> &mut Client {
        self.client
            .as_mut()
            .expect("a check uses its probe only while connected")
    }

    /// The default budget of one wait.
    pub fn t(&self) -> Duration {
        self.ctx.timeout
    }

    /// A fresh id, unique within this check.
    pub fn fresh_id(&mut self) -> Value {
        self.next_id += 1;
        Value::String(format!("qmpspec-{}", self.next_id))
    }

    /// Every violation seen so far, on every connection.
    pub fn violations(&self) -> Vec<Violation> {
        let mut v = self.violations.clone();
        if let Some(c) = &self.client {
            v.extend(c.violations.iter().cloned());
        }
        v
    }

    /// Violations of one clause seen so far.
    pub fn violations_of(&self, clause: &str) -> Vec<Violation> {
        self.violations()
            .into_iter()
            .filter(|v| v.clause == clause)
            .collect()
    }

    /// The outcome for a wait that did not deliver.
    pub fn stalled(&mut self, clause: &str, what: &str, s: Stall) -> Outcome {
        let why = match &s {
            Stall::Timeout(d) => format!("no answer within {} ms", d.as_millis()),
            Stall::Closed => {
                let diag = self
                    .client
                    .as_ref()
                    .map(|c| c.conn.diagnostics())
                    .unwrap_or_default();
                let first = diag.lines().find(|l| !l.trim().is_empty());
                match first {
                    Some(l) => format!("the endpoint closed the connection (stderr: {l})"),
                    None => "the endpoint closed the connection".to_string(),
                }
            }
            other => other.to_string(),
        };
        Outcome::fail_after(clause, format!("{what}: {why}"))
    }

    /// Wait for the greeting.
    pub fn greeting(&mut self) -> Step<Greeting> {
        let t = self.t();
        // Stop at the greeting, or at the first message when that is something else.
        let waited = self.client().wait_until(t, |c| {
            c.greeting_seen().is_some() || c.session.phase() != Phase::AwaitingGreeting
        });
        if let Err(s) = waited {
            return Err(self.stalled("greeting.first", "waiting for the greeting", s));
        }
        if let Some(g) = self.client().greeting_seen() {
            return Ok(g.clone());
        }
        if self.client().session.phase() == Phase::Closed && self.violations().is_empty() {
            return Err(self.stalled("greeting.first", "waiting for the greeting", Stall::Closed));
        }
        Err(match self.violations().first() {
            Some(v) => Outcome::fail(v.clause, format!("no usable greeting: {}", v.message)),
            None => Outcome::fail("greeting.first", "the first message is not a greeting"),
        })
    }

    /// Greeting, then `qmp_capabilities` (enabling `enable`), which must succeed.
    pub fn negotiate_with(&mut self, enable: &[&str]) -> Step<Greeting> {
        let g = self.greeting()?;
        let mut cmd = Command::new("qmp_capabilities");
        if !enable.is_empty() {
            cmd = cmd.arg("enable", enable.to_vec());
        }
        let r = self.exec_in("neg.enter-command-mode", cmd)?;
        if let Some(e) = r.error() {
            return Err(Outcome::fail(
                "neg.enter-command-mode",
                format!("qmp_capabilities was refused: {e}"),
            ));
        }
        Ok(g)
    }

    /// Greeting and plain `qmp_capabilities`.
    pub fn negotiate(&mut self) -> Step<Greeting> {
        self.negotiate_with(&[])
    }

    /// Send a command and wait for its reply; a stall fails `reply.one-per-command`.
    pub fn exec(&mut self, cmd: Command) -> Step<Reply> {
        self.exec_in("reply.one-per-command", cmd)
    }

    /// Send a command and wait for its reply; a stall fails `clause`.
    pub fn exec_in(&mut self, clause: &str, cmd: Command) -> Step<Reply> {
        let t = self.t();
        self.exec_budget(clause, cmd, t)
    }

    /// [`Probe::exec_in`] with an explicit budget.
    pub fn exec_budget(&mut self, clause: &str, cmd: Command, budget: Duration) -> Step<Reply> {
        let what = format!("waiting for the reply to {}", describe(&cmd));
        match self.client().execute(cmd, budget) {
            Ok(r) => Ok(r),
            Err(s) => Err(self.stalled(clause, &what, s)),
        }
    }

    /// Run a command that must succeed; an error reply fails `clause`.
    pub fn ok(&mut self, clause: &str, cmd: Command) -> Step<Value> {
        let what = describe(&cmd);
        let r = self.exec_in(clause, cmd)?;
        match r.error() {
            Some(e) => Err(Outcome::fail(clause, format!("{what} failed: {e}"))),
            None => Ok(r.return_value().unwrap_or(Value::Null)),
        }
    }

    /// Send raw bytes that draw `replies` replies, or any number when `None`.
    pub fn send_raw(&mut self, bytes: &[u8], replies: Option<usize>) -> Step<()> {
        let t = self.ctx.budget_for(bytes.len(), Duration::from_millis(5));
        let n = replies.unwrap_or(OPEN_ENDED);
        let mut f = crate::wire::Framer::default();
        f.push(bytes);
        while let Some(fr) = f.next_frame() {
            if let Ok(fr) = fr {
                if let Ok(Value::Object(o)) = crate::wire::parse_value(fr.text, fr.dialect) {
                    self.raw_ids.extend(o.get("id").cloned());
                }
            }
        }
        if bytes.len() <= CHUNK {
            return match self.client().send_raw(bytes, n, t) {
                Ok(()) => Ok(()),
                Err(s) => Err(self.stalled("reply.one-per-command", "sending input", s)),
            };
        }
        // Large input goes in chunks, each with its own budget: a server that reads slowly but
        // steadily is given the time, one that stops reading is caught.
        self.client().session.send_raw(n);
        let mut sent = 0;
        for chunk in bytes.chunks(CHUNK) {
            let t = self.ctx.budget_for(chunk.len(), PER_KIB);
            if let Err(s) = self.client().conn.send(chunk, t) {
                let what = format!(
                    "sending input: the endpoint stopped reading after {sent} of {} bytes",
                    bytes.len()
                );
                return Err(self.stalled("reply.one-per-command", &what, s));
            }
            sent += chunk.len();
        }
        Ok(())
    }

    /// After raw input: optionally reset the parser, then run `query-version` with a fresh id
    /// and wait (up to `budget`) for its reply, which must be a success. Returns the replies
    /// that came before it (what the raw input drew). A stall fails `clause`.
    pub fn recover(&mut self, clause: &str, reset: bool, budget: Duration) -> Step<Vec<Reply>> {
        let t = self.t();
        if reset {
            self.send_raw(&[RESET, b'\n'], None)?;
        }
        let id = self.fresh_id();
        let cmd = Command::new("query-version").id(id.clone());
        if let Err(s) = self.client().send(cmd, t) {
            return Err(self.stalled(clause, "sending query-version after the input", s));
        }
        let is_probe = |r: &Reply| r.id.as_ref() == Some(&id) && r.error().is_none();
        let waited = self.client().wait_until(budget, |c| {
            c.pending_replies()
                .iter()
                .any(|(_, r)| r.id.as_ref() == Some(&id))
        });
        if let Err(s) = waited {
            // The likeliest cause: the probe was answered, but under another id.
            let last = self
                .client()
                .pending_replies()
                .last()
                .map(|(_, r)| r.clone());
            if let Some(r) = last {
                let looks_like_probe = r
                    .return_value()
                    .is_some_and(|v| v.get("qemu").is_some_and(Value::is_object))
                    && !r.id.as_ref().is_some_and(|id| self.raw_ids.contains(id));
                if looks_like_probe {
                    return Err(Outcome::fail(
                        "cmd.id-echo",
                        format!(
                            "query-version with id {id} was answered (it seems) with id {}",
                            r.id.as_ref()
                                .map_or("none".into(), |v| short(&v.to_string()))
                        ),
                    ));
                }
            }
            let what = if reset {
                "after the input and a parser reset, query-version got no reply"
            } else {
                "after the input, query-version got no reply"
            };
            return Err(self.stalled(clause, what, s));
        }
        let mut before = Vec::new();
        let mut probe = None;
        for (_, r) in self.client().take_replies() {
            if probe.is_none() && r.id.as_ref() == Some(&id) {
                probe = Some(r);
            } else if probe.is_none() {
                before.push(r);
            }
        }
        self.client().session.forget_in_flight();
        let probe = probe.expect("waited for it");
        if !is_probe(&probe) {
            return Err(Outcome::fail(
                clause,
                format!(
                    "after the input, query-version failed: {}",
                    probe.error().map(|e| e.to_string()).unwrap_or_default()
                ),
            ));
        }
        Ok(before)
    }

    /// Send raw bytes drawing any number of replies, then [`Probe::recover`].
    pub fn raw_then_recover(
        &mut self,
        clause: &str,
        bytes: &[u8],
        reset: bool,
        budget: Duration,
    ) -> Step<Vec<Reply>> {
        self.send_raw(bytes, None)?;
        self.recover(clause, reset, budget)
    }

    /// Wait up to `timeout` for `done` (e.g. an event); `Ok(false)` when time ran out.
    pub fn wait_for(&mut self, timeout: Duration, done: impl FnMut(&Client) -> bool) -> Step<bool> {
        match self.client().wait_until(timeout, done) {
            Ok(()) => Ok(true),
            Err(Stall::Timeout(_)) => Ok(false),
            Err(s) => Err(self.stalled("reply.one-per-command", "waiting", s)),
        }
    }

    /// Every byte received on the current connection.
    pub fn received(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        for e in &self.client().transcript().entries {
            if e.dir == crate::endpoint::Dir::Recv {
                out.extend_from_slice(&e.bytes);
            }
        }
        out
    }

    /// The messages received on the current connection, each with the bytes that follow it
    /// up to the next message (its terminator); framing errors as text.
    pub fn frames(&mut self) -> Vec<FrameSeen> {
        let bytes = self.received();
        let mut f = crate::wire::Framer::default();
        f.push(&bytes);
        let mut out: Vec<FrameSeen> = Vec::new();
        while let Some(r) = f.next_frame() {
            match r {
                Ok(fr) => {
                    let sep = fr.separator.to_vec();
                    if let Some(Ok((_, term))) = out.last_mut() {
                        *term = sep;
                    }
                    out.push(Ok((fr.text.to_vec(), Vec::new())));
                }
                Err(e) => out.push(Err(e.to_string())),
            }
        }
        let tail = f.trailing_separator().to_vec();
        if let Some(Ok((_, term))) = out.last_mut() {
            *term = tail;
        }
        out
    }

    /// Events received on the current connection.
    pub fn events(&mut self) -> &[Event] {
        &self.client().events
    }

    /// The session's phase on the current connection.
    pub fn phase(&mut self) -> Phase {
        self.client().session.phase()
    }

    /// Finish the check: attach every transcript, and fail it if the session saw a rule
    /// broken that the check itself did not already report.
    pub fn finish(mut self, o: Outcome) -> Outcome {
        self.archive();
        let mut o = o;
        if o.status == Status::Fail && o.consequential {
            if let Some(v) = self.violations.first() {
                let then = o.message.clone();
                o = Outcome::fail(v.clause, format!("{} (then: {then})", v.message));
            }
        }
        if matches!(o.status, Status::Pass | Status::Warn | Status::Skip) {
            if let Some(v) = self.violations.first() {
                let more = self.violations.len() - 1;
                let mut msg = v.message.clone();
                if more > 0 {
                    msg.push_str(&format!(" (and {more} more violation(s))"));
                }
                o = Outcome::fail(v.clause, msg);
            }
        }
        o.transcript = std::mem::take(&mut self.done);
        o
    }

    /// Finish with the outcome of a step sequence.
    pub fn conclude(self, r: Step<Outcome>) -> Outcome {
        match r {
            Ok(o) | Err(o) => self.finish(o),
        }
    }
}

/// `name` with its id, for messages.
pub fn describe(cmd: &Command) -> String {
    let kind = if cmd.oob { "exec-oob" } else { "execute" };
    match &cmd.id {
        Some(id) => format!("{kind} {} (id {})", cmd.name, short(&id.to_string())),
        None => format!("{kind} {}", cmd.name),
    }
}

/// At most 80 characters of `s`.
pub fn short(s: &str) -> String {
    if s.chars().count() > 80 {
        let t: String = s.chars().take(77).collect();
        format!("{t}...")
    } else {
        s.to_string()
    }
}

/// Run a check body with a probe opened on a fresh connection.
pub fn with_probe(ctx: &Ctx, body: impl FnOnce(&mut Probe) -> Step<Outcome>) -> Outcome {
    let mut p = match Probe::open(ctx) {
        Ok(p) => p,
        Err(o) => return o,
    };
    let r = body(&mut p);
    p.conclude(r)
}

/// Two JSON values equal as QMP ids: numbers compare by value (`1.5e3` is `1500`, a huge
/// integer may come back as the nearest double), everything else structurally.
pub fn same_id(sent: &Value, got: &Value) -> bool {
    match (sent, got) {
        (Value::Number(a), Value::Number(b)) => {
            if a == b {
                return true;
            }
            match (
                a.to_string().parse::<f64>().ok(),
                b.to_string().parse::<f64>().ok(),
            ) {
                (Some(x), Some(y)) => x == y,
                _ => false,
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same_id(x, y))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(k, v)| b.get(k).is_some_and(|w| same_id(v, w)))
        }
        _ => sent == got,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_compare_like_qemu_echoes_them() {
        let big: Value = serde_json::from_str("123456789012345678901234567890").unwrap();
        let qemu: Value = serde_json::from_str("1.2345678901234568e+29").unwrap();
        assert!(same_id(&big, &qemu));
        let a: Value = serde_json::from_str("1.5e3").unwrap();
        assert!(same_id(&a, &json!(1500)));
        assert!(same_id(&json!({"a": [1, "x"]}), &json!({"a": [1, "x"]})));
        assert!(!same_id(&json!({"a": [1, "x"]}), &json!({"a": [1, "y"]})));
        assert!(!same_id(&json!(1), &json!("1")));
        assert!(!same_id(&json!(null), &json!(false)));
    }
}
