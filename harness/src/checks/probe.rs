//! [`Probe`]: how a check talks to the endpoint. It opens fresh connections, bounds every wait,
//! keeps every transcript, and turns stalls and session violations into outcomes.

use super::{Ctx, Outcome, Status};
use crate::budget::Budget;
use crate::endpoint::{Client, Entry, Stall, Stalled};
use crate::message::{Command, Event, Greeting, QmpError, Reply};
use crate::session::{Phase, ReceivedFrame, Violation};
use crate::spec::Clause;
use crate::wire::FrameError;
use serde_json::Value;
use std::time::{Duration, Instant};

/// A step of a check: `Err` ends the check with that outcome.
pub type Step<T> = Result<T, Outcome>;

/// How many replies raw input of unknown effect may draw (a nesting error can draw a burst).
const OPEN_ENDED: usize = 1 << 16;

/// Large input is written in chunks of this size, each with its own budget.
const CHUNK: usize = 64 * 1024;

/// The byte sent to return a server's JSON parser to a known-good state (`parser.reset`).
pub const RESET: u8 = 0x01;

/// A check's view of the endpoint: one connection at a time, all of them recorded.
pub struct Probe<'a> {
    pub ctx: &'a Ctx,
    client: Option<Client>,
    started: Instant,
    conn_offset: Duration,
    done: Vec<Entry>,
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
            self.done
                .extend(c.transcript().coalesced().into_iter().map(|e| Entry {
                    dir: e.dir,
                    at: off + e.at,
                    bytes: e.bytes,
                }));
            self.violations.extend(c.violations().iter().cloned());
        }
    }

    /// The open connection's client.
    fn client(&mut self) -> &mut Client {
        self.client
            .as_mut()
            .expect("a check uses its probe only while connected")
    }

    /// What the check runs against.
    pub fn ctx(&self) -> &'a Ctx {
        self.ctx
    }

    /// The check's time budget.
    pub fn budget(&self) -> Budget {
        self.ctx.budget
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
            v.extend(c.violations().iter().cloned());
        }
        v
    }

    /// Violations of one clause seen so far.
    pub fn violations_of(&self, clause: Clause) -> Vec<Violation> {
        self.violations()
            .into_iter()
            .filter(|v| v.clause == clause)
            .collect()
    }

    /// The outcome for a wait that did not deliver.
    pub fn stalled(&mut self, clause: Clause, what: &str, s: Stall) -> Outcome {
        let why = self.client().stalled(s);
        Outcome::broken_after(clause, format!("{what}: {why}"))
    }

    /// Wait for the greeting.
    pub fn greeting(&mut self) -> Step<Greeting> {
        let t = self.budget().reply();
        // Stop at the greeting, or at the first message when that is something else.
        let waited = self.client().wait_until(t, |c| {
            c.greeting_seen().is_some() || c.session().phase() != Phase::AwaitingGreeting
        });
        if let Err(s) = waited {
            return Err(self.stalled(Clause::GreetingFirst, "waiting for the greeting", s));
        }
        if let Some(g) = self.client().greeting_seen() {
            return Ok(g.clone());
        }
        if self.phase() == Phase::Closed && self.violations().is_empty() {
            return Err(self.stalled(
                Clause::GreetingFirst,
                "waiting for the greeting",
                Stall::Closed,
            ));
        }
        Err(match self.violations().first() {
            Some(v) => Outcome::broken(v.clause, format!("no usable greeting: {}", v.message)),
            None => Outcome::broken(Clause::GreetingFirst, "the first message is not a greeting"),
        })
    }

    /// Greeting, then `qmp_capabilities` (enabling `enable`), which must succeed.
    pub fn negotiate_with(&mut self, enable: &[&str]) -> Step<Greeting> {
        let g = self.greeting()?;
        let mut cmd = Command::new("qmp_capabilities");
        if !enable.is_empty() {
            cmd = cmd.arg("enable", enable.to_vec());
        }
        let r = self.exec_in(Clause::NegEnterCommandMode, cmd)?;
        if let Some(e) = r.error() {
            return Err(Outcome::broken(
                Clause::NegEnterCommandMode,
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
        self.exec_in(Clause::ReplyOnePerCommand, cmd)
    }

    /// Send a command and wait for its reply; a stall fails `clause`.
    pub fn exec_in(&mut self, clause: Clause, cmd: Command) -> Step<Reply> {
        let what = format!("waiting for the reply to {}", describe(&cmd));
        let t = self.budget().reply();
        match self.client().execute(cmd, t) {
            Ok(r) => Ok(r),
            Err(s) => Err(self.stalled(clause, &what, s)),
        }
    }

    /// Send a command and wait for its reply; a wait that did not deliver comes back
    /// described (for checks that carry on after a stall, on a fresh connection).
    pub fn request(&mut self, cmd: Command) -> Result<Reply, Stalled> {
        let t = self.budget().reply();
        let c = self.client();
        c.execute(cmd, t).map_err(|s| c.stalled(s))
    }

    /// Run a command that must be refused (with any error); a success fails `clause`.
    pub fn expect_error(&mut self, clause: Clause, cmd: Command) -> Step<QmpError> {
        let what = describe(&cmd);
        let r = self.exec_in(clause, cmd)?;
        match r.error() {
            Some(e) => Ok(e.clone()),
            None => Err(Outcome::broken(clause, format!("{what} succeeded"))),
        }
    }

    /// Send `cmds` in one write (pipelined) and wait for a reply to each: the replies in the
    /// order they came. A stall fails `reply.one-per-command`.
    pub fn pipeline(&mut self, cmds: &[Command]) -> Step<Vec<Reply>> {
        let n = cmds.len();
        let t = self.budget().reply();
        if let Err(s) = self.client().send_all(cmds, t) {
            let what = format!("sending {n} pipelined commands");
            return Err(self.stalled(Clause::ReplyOnePerCommand, &what, s));
        }
        let budget = self.budget().pipeline(n);
        self.wait_replies(n, budget)
    }

    /// Wait (up to `budget`) until `n` replies are waiting, and take every reply received.
    /// A stall fails `reply.one-per-command`.
    pub fn wait_replies(&mut self, n: usize, budget: Duration) -> Step<Vec<Reply>> {
        if let Err(s) = self.client().wait_replies(n, budget) {
            let got = self.client().pending_replies().len();
            let what = format!("waiting for {n} replies, {got} came");
            return Err(self.stalled(Clause::ReplyOnePerCommand, &what, s));
        }
        Ok(self.take_replies())
    }

    /// Every reply received and not yet taken, oldest first.
    pub fn take_replies(&mut self) -> Vec<Reply> {
        self.client()
            .take_replies()
            .into_iter()
            .map(|(_, r)| r)
            .collect()
    }

    /// Watch for `linger` for replies nobody asked for (late duplicates), and take them.
    pub fn late_replies(&mut self, linger: Duration) -> Step<Vec<Reply>> {
        self.wait_for(linger, |c| !c.pending_replies().is_empty())?;
        Ok(self.take_replies())
    }

    /// Run a command that must succeed; an error reply fails `clause`.
    pub fn ok(&mut self, clause: Clause, cmd: Command) -> Step<Value> {
        let what = describe(&cmd);
        let r = self.exec_in(clause, cmd)?;
        match r.error() {
            Some(e) => Err(Outcome::broken(clause, format!("{what} failed: {e}"))),
            None => Ok(r.return_value().unwrap_or(Value::Null)),
        }
    }

    /// Run `query-version`, which must succeed: the endpoint still answers after what the
    /// check did to it. An error reply or a stall fails `clause`.
    pub fn still_answers(&mut self, clause: Clause) -> Step<()> {
        self.ok(clause, Command::new("query-version").id("after"))
            .map(drop)
    }

    /// Send raw bytes that draw `replies` replies, or any number when `None`.
    pub fn send_raw(&mut self, bytes: &[u8], replies: Option<usize>) -> Step<()> {
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
        self.client().expect_raw_replies(n);
        if bytes.len() <= CHUNK {
            return self.send_more(bytes);
        }
        // Large input goes in chunks, each with its own budget: a server that reads slowly but
        // steadily is given the time, one that stops reading is caught.
        let mut sent = 0;
        for chunk in bytes.chunks(CHUNK) {
            let t = self.budget().input(chunk.len());
            if let Err(s) = self.client().send_more(chunk, t) {
                let what = format!(
                    "sending input: the endpoint stopped reading after {sent} of {} bytes",
                    bytes.len()
                );
                return Err(self.stalled(Clause::ReplyOnePerCommand, &what, s));
            }
            sent += chunk.len();
        }
        Ok(())
    }

    /// Send bytes that continue earlier raw input (they draw no reply of their own).
    pub fn send_more(&mut self, bytes: &[u8]) -> Step<()> {
        let t = self.budget().input(bytes.len());
        match self.client().send_more(bytes, t) {
            Ok(()) => Ok(()),
            Err(s) => Err(self.stalled(Clause::ReplyOnePerCommand, "sending input", s)),
        }
    }

    /// Close the sending half of the connection (the endpoint sees end of input).
    pub fn shutdown_write(&mut self) {
        self.client().shutdown_write();
    }

    /// After raw input: optionally reset the parser, then run `query-version` with a fresh id
    /// and wait (up to `budget`) for its reply, which must be a success. Returns the replies
    /// that came before it (what the raw input drew). A stall fails `clause`.
    pub fn recover(&mut self, clause: Clause, reset: bool, budget: Duration) -> Step<Vec<Reply>> {
        let t = self.budget().reply();
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
                    return Err(Outcome::broken(
                        Clause::CmdIdEcho,
                        format!(
                            "query-version with id {id} was answered (it seems) with id {}",
                            show_id(r.id.as_ref())
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
        self.client().forget_in_flight();
        let probe = probe.expect("waited for it");
        if !is_probe(&probe) {
            return Err(Outcome::broken(
                clause,
                format!(
                    "after the input, query-version failed: {}",
                    probe.error().map(|e| e.to_string()).unwrap_or_default()
                ),
            ));
        }
        Ok(before)
    }

    /// Send raw bytes drawing any number of replies, then [`Probe::recover`] within the
    /// budget for that much input (large input may be read slowly).
    pub fn raw_then_recover(
        &mut self,
        clause: Clause,
        bytes: &[u8],
        reset: bool,
    ) -> Step<Vec<Reply>> {
        self.send_raw(bytes, None)?;
        let budget = self.budget().input(bytes.len());
        self.recover(clause, reset, budget)
    }

    /// Send `input`, one command carrying `id`, and recover: it must draw exactly one reply,
    /// a success carrying `id` (the same as a QMP id). An error means the command was not
    /// read as one (it breaks `clause`), another id breaks `cmd.id-echo`, several replies are
    /// judged by [`several`].
    pub fn expect_one_success(
        &mut self,
        clause: Clause,
        what: &str,
        input: &[u8],
        id: &Value,
    ) -> Step<Reply> {
        let before = self.raw_then_recover(Clause::ReplyOnePerCommand, input, false)?;
        match before.as_slice() {
            [r] if r.error().is_none() && r.id.as_ref().is_some_and(|b| same_id(id, b)) => {
                Ok(r.clone())
            }
            [r] => Err(match r.error() {
                Some(e) => Outcome::broken(clause, format!("{what} drew an error: {e}")),
                None => Outcome::broken(
                    Clause::CmdIdEcho,
                    format!("{what} came back with id {}", show_id(r.id.as_ref())),
                ),
            }),
            [] => Err(Outcome::broken_after(
                Clause::ReplyOnePerCommand,
                format!("{what} drew no reply"),
            )),
            many => Err(several(what, many)),
        }
    }

    /// Wait up to `timeout` for `done` (e.g. an event); `Ok(false)` when time ran out.
    pub fn wait_for(&mut self, timeout: Duration, done: impl FnMut(&Client) -> bool) -> Step<bool> {
        match self.client().wait_until(timeout, done) {
            Ok(()) => Ok(true),
            Err(Stall::Timeout(_)) => Ok(false),
            Err(s) => Err(self.stalled(Clause::ReplyOnePerCommand, "waiting", s)),
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

    /// The messages received on the current connection as the session cut them, each with
    /// its terminator, and framing errors.
    pub fn frames(&mut self) -> Vec<Result<ReceivedFrame, FrameError>> {
        self.client().frames()
    }

    /// Events received on the current connection.
    pub fn events(&mut self) -> &[Event] {
        self.client().events()
    }

    /// The session's phase on the current connection.
    pub fn phase(&mut self) -> Phase {
        self.client().session().phase()
    }

    /// Finish the check: attach every transcript, and fail it if the session saw a rule
    /// broken that the check itself did not already report.
    pub fn finish(mut self, o: Outcome) -> Outcome {
        self.archive();
        let mut o = o;
        if o.status == Status::Fail && o.consequential {
            if let Some(v) = self.violations.first() {
                let then = o.headline();
                o = Outcome::broken(v.clause, format!("{} (then: {then})", v.message));
            }
        }
        if matches!(o.status, Status::Pass | Status::Warn | Status::Skip) {
            if let Some(v) = self.violations.first() {
                let more = self.violations.len() - 1;
                let mut msg = v.message.clone();
                if more > 0 {
                    msg.push_str(&format!(" (and {more} more violation(s))"));
                }
                o = Outcome::broken(v.clause, msg);
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

/// The replies must carry `ids`, in that order; a reply out of place breaks `clause`.
pub fn expect_in_order(clause: Clause, replies: &[Reply], ids: &[Value]) -> Step<()> {
    let wrong = (0..replies.len().max(ids.len()))
        .find(|&i| replies.get(i).map(|r| r.id.as_ref()) != Some(ids.get(i)));
    let Some(i) = wrong else { return Ok(()) };
    let got: Vec<String> = replies.iter().map(|r| show_id(r.id.as_ref())).collect();
    Err(Outcome::broken(
        clause,
        format!(
            "reply #{i} carries id {}, expected {} (ids as they came: [{}])",
            replies
                .get(i)
                .map_or("(no reply)".to_string(), |r| show_id(r.id.as_ref())),
            show_id(ids.get(i)),
            short(&got.join(", "))
        ),
    ))
}

/// The outcome for one command that drew several replies: errors mean it was not read as one
/// command (`cmd.shape`), successes that it was answered more than once.
pub fn several(what: &str, replies: &[Reply]) -> Outcome {
    let errors: Vec<String> = replies
        .iter()
        .filter_map(|r| r.error().map(|e| e.to_string()))
        .collect();
    if errors.is_empty() {
        Outcome::broken(
            Clause::ReplyOnePerCommand,
            format!("{what} drew {} replies", replies.len()),
        )
    } else {
        Outcome::broken(
            Clause::CmdShape,
            format!(
                "{what} drew {} replies, {} of them errors: {}",
                replies.len(),
                errors.len(),
                short(&errors.join("; "))
            ),
        )
    }
}

/// An id as messages show it (`none` when there is none), at most 80 characters.
pub fn show_id(id: Option<&Value>) -> String {
    id.map_or("none".to_string(), |v| short(&v.to_string()))
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
    crate::text::clip(s, 80)
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
