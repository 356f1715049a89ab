//! Verdicts: what a client did in a scenario (its connections, as [`ConnLog`]s, and how its
//! process ended) judged against the scenario's clause and, where a correct client could not
//! tell the scenario from the baseline, against what it did in the baseline.
//!
//! Rules that hold everywhere come first (greeting, negotiation, well-formed commands, ids),
//! then how the client ended, then the scenario's own; the outcome names the first rule
//! broken and counts the others.

use super::observe::{CommandSeen, ConnLog};
use super::scenario::{Behaviour, Expect, Scenario};
use crate::checks::{Attachment, Outcome, Reason, Status};
use crate::endpoint::{Dir, Entry};
use crate::spec::{Clause, Party};
use std::fmt::Write as _;
use std::time::Duration;

/// How a spawned client ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// It exited with this status.
    Exited(i32),
    /// A signal ended it (not ours).
    Signal(i32),
    /// It was still running at the scenario's deadline and was killed.
    Killed(Duration),
    /// It could not be started.
    NotStarted(String),
}

impl Ended {
    /// `exit 0`, `killed by signal 11`, ...
    pub fn describe(&self) -> String {
        match self {
            Ended::Exited(c) => format!("exit {c}"),
            Ended::Signal(s) => format!("killed by signal {s}"),
            Ended::Killed(d) => format!("still running after {:.1} s, killed", d.as_secs_f64()),
            Ended::NotStarted(e) => format!("could not be started: {e}"),
        }
    }
}

/// A spawned client's end and output.
#[derive(Debug, Clone)]
pub struct ClientRun {
    /// The command line, with the address filled in.
    pub argv: Vec<String>,
    pub ended: Ended,
    pub stdout: String,
    pub stderr: String,
}

/// Everything one scenario produced.
#[derive(Debug, Clone)]
pub struct ScenarioRun {
    pub scenario: &'static Scenario,
    /// Every connection, the scenario's own first.
    pub conns: Vec<ConnLog>,
    /// `None` for clients started by hand (`--listen`).
    pub client: Option<ClientRun>,
    /// Why no connection came, when none did.
    pub no_connection: Option<String>,
    pub duration: Duration,
}

impl ScenarioRun {
    /// A run of `scenario` that has seen nothing yet.
    pub fn new(scenario: &'static Scenario) -> ScenarioRun {
        ScenarioRun {
            scenario,
            conns: Vec::new(),
            client: None,
            no_connection: None,
            duration: Duration::ZERO,
        }
    }
}

/// What the client did in the baseline, for the scenarios a correct client cannot tell from
/// it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Baseline {
    pub ended: Option<Ended>,
    pub commands: Vec<String>,
}

impl Baseline {
    /// The baseline a run gives, unless the run was no good as one.
    pub fn from_run(run: &ScenarioRun, outcome: &Outcome) -> Option<Baseline> {
        if outcome.status == Status::Error {
            return None;
        }
        Some(Baseline {
            ended: run.client.as_ref().map(|c| c.ended.clone()),
            commands: all_commands(run),
        })
    }
}

fn all_commands(run: &ScenarioRun) -> Vec<String> {
    run.conns.iter().flat_map(ConnLog::command_names).collect()
}

/// One broken rule.
#[derive(Debug, Clone)]
struct Finding {
    clause: Clause,
    /// Set when a broken MUST only warns, saying why.
    because: Option<Reason>,
    text: String,
}

impl Finding {
    /// A client fails what binds it and warns on the rest, unless a reason says otherwise.
    fn status(&self) -> Status {
        match self.because {
            Some(_) => Status::Warn,
            None => Status::of_broken(Party::Client, self.clause),
        }
    }

    fn outcome(&self, text: String) -> Outcome {
        match self.because {
            Some(why) => Outcome::warn_because(self.clause, why, text),
            None => Outcome::broken_by(Party::Client, self.clause, text),
        }
    }
}

#[derive(Default)]
struct Judge {
    findings: Vec<Finding>,
    notes: Vec<String>,
    skip: Option<String>,
    error: Option<String>,
    /// The client did not end on its own in the baseline: an error of the run unless a
    /// broken rule explains it.
    hung_in_baseline: Option<Duration>,
}

impl Judge {
    /// The client broke `clause` (as binding as its strength makes it).
    fn broke(&mut self, clause: Clause, text: impl Into<String>) {
        self.findings.push(Finding {
            clause,
            because: None,
            text: text.into(),
        });
    }
    /// The client broke the MUST `clause` in a way that only warrants a warning.
    fn warn_because(&mut self, clause: Clause, because: Reason, text: impl Into<String>) {
        self.findings.push(Finding {
            clause,
            because: Some(because),
            text: text.into(),
        });
    }
    /// The client broke the scenario's own clause.
    fn scenario(&mut self, s: &Scenario, text: impl Into<String>) {
        self.broke(s.clause, text);
    }
    fn note(&mut self, text: impl Into<String>) {
        self.notes.push(text.into());
    }
}

fn ms(d: Duration) -> String {
    format!("{} ms", d.as_millis())
}

/// Judge one scenario run.
pub fn judge(run: &ScenarioRun, baseline: Option<&Baseline>) -> Outcome {
    let s = run.scenario;
    let mut j = Judge::default();
    if let Some(why) = &run.no_connection {
        let what = format!("the client never connected ({why})");
        if s.expect == Expect::Baseline || run.client.is_none() {
            j.error = Some(what);
        } else {
            j.scenario(s, what);
        }
    }
    for c in &run.conns {
        wire_rules(c, &mut j);
    }
    if let Some(client) = &run.client {
        match &client.ended {
            Ended::Killed(d) if s.expect == Expect::Baseline => {
                j.hung_in_baseline = Some(*d);
            }
            Ended::Killed(d) => j.scenario(
                s,
                format!(
                    "the client was still running after {:.1} s: it hung, and was killed",
                    d.as_secs_f64()
                ),
            ),
            Ended::Signal(sig) => j.scenario(s, format!("the client died of signal {sig}")),
            Ended::NotStarted(e) => j.error = Some(format!("the client could not start: {e}")),
            Ended::Exited(_) => {}
        }
    }
    if let Some(c) = run.conns.first() {
        scenario_rules(run, c, baseline, &mut j);
    }
    outcome(run, j, baseline)
}

/// Rules for every connection: the greeting, negotiation, well-formed commands, ids.
fn wire_rules(c: &ConnLog, j: &mut Judge) {
    let reconnect = if c.index > 0 {
        format!(" (reconnection {})", c.index)
    } else {
        String::new()
    };
    if !c.before_greeting.is_empty() {
        let waited = c.greeting_at.map_or("never came".into(), |g| {
            format!("came at {}", ms(g - c.opened))
        });
        j.broke(
            Clause::ClientAwaitGreeting,
            format!(
                "sent {} before the greeting{reconnect} (the greeting {waited})",
                super::observe::short_text(&c.before_greeting)
            ),
        );
    }
    for cap in &c.bad_enable {
        let why = if cap == super::server::MADE_UP_CAPABILITY {
            "a capability no client can support (qmpspec made it up)"
        } else {
            "a capability the greeting did not offer"
        };
        j.broke(
            Clause::ClientEnableOffered,
            format!("enabled \"{cap}\"{reconnect}, {why}"),
        );
    }
    let early: Vec<&CommandSeen> = c
        .commands
        .iter()
        .filter(|x| {
            x.before_negotiation
                && x.problem.is_none()
                && x.name.as_deref() != Some("qmp_capabilities")
        })
        .collect();
    if let Some(first) = early.first() {
        j.broke(
            Clause::ClientNegotiateFirst,
            format!(
                "sent {} before negotiation was complete{reconnect}{}",
                first.label(),
                if early.len() > 1 {
                    format!(" (and {} more)", early.len() - 1)
                } else {
                    String::new()
                }
            ),
        );
    }
    for x in c.commands.iter().filter(|x| x.problem.is_some()) {
        if x.reset {
            j.note("reset the server's parser with a control character");
            continue;
        }
        j.broke(
            Clause::CmdShape,
            format!(
                "sent {}{reconnect}: {}",
                x.text,
                x.problem.as_deref().unwrap_or_default()
            ),
        );
    }
    if let Some(u) = &c.unfinished {
        j.broke(
            Clause::CmdShape,
            format!("closed its end in the middle of a command{reconnect}: {u}"),
        );
    }
    for (i, x) in c.commands.iter().enumerate() {
        let Some(id) = &x.id else {
            if x.oob {
                j.broke(
                    Clause::OobId,
                    format!("sent exec-oob {} without an id", x.label()),
                );
            }
            continue;
        };
        let in_flight = c.commands[..i]
            .iter()
            .any(|p| p.id.as_ref() == Some(id) && p.reply_at.is_none_or(|r| r > x.at));
        if in_flight {
            // The specification only suggests distinct ids ("a json-number incremented for
            // each successive command works fine").
            j.warn_because(
                Clause::CmdIdEcho,
                Reason::Recommended,
                format!(
                    "sent {} with id {} while a command with that id was still in flight: \
                     the replies cannot be told apart",
                    x.label(),
                    String::from_utf8_lossy(&id.to_bytes())
                ),
            );
        }
    }
}

/// The scenario's own rules, on its connection.
fn scenario_rules(run: &ScenarioRun, c: &ConnLog, baseline: Option<&Baseline>, j: &mut Judge) {
    let s = run.scenario;
    match s.behaviour {
        Behaviour::SlowGreeting(_) if c.before_greeting.is_empty() => {
            if let Some(g) = c.greeting_at {
                j.note(format!("waited {} for the greeting", ms(g - c.opened)));
            }
        }
        Behaviour::EventBeforeReply | Behaviour::UnknownIdReply => decoys(s, c, j),
        Behaviour::ErrorReply => {
            let Some(k) = c.commands.iter().position(|x| {
                x.refused.as_deref() == Some("fails on purpose") && !x.before_negotiation
            }) else {
                j.skip = Some("the client sent no command after negotiation".into());
                return;
            };
            let after = c.commands.len() - k - 1;
            j.note(format!(
                "got the error for {}; {} followed",
                c.commands[k].label(),
                count(after, "command", "commands")
            ));
            let fewer = baseline.is_some_and(|b| all_commands(run).len() < b.commands.len());
            let exit0 = run
                .client
                .as_ref()
                .is_some_and(|cl| cl.ended == Ended::Exited(0));
            if fewer && exit0 {
                j.warn_because(
                    s.clause,
                    Reason::ExitStatus,
                    "stopped after the error reply, sending fewer commands than in the \
                     baseline, yet exited 0",
                );
            }
        }
        Behaviour::CloseMidReply => {
            let Some(k) = c.cut_reply_of else {
                j.skip = Some("the client sent no command after negotiation".into());
                return;
            };
            let cmd = c.commands[k].label();
            let again = run.conns.len() - 1;
            j.note(format!("lost the reply to {cmd}"));
            if again > 0 {
                j.note(format!(
                    "then reconnected ({}, judged like the first)",
                    count(again, "connection", "connections")
                ));
            }
            if let Some(cl) = &run.client {
                if cl.ended == Ended::Exited(0) && again == 0 {
                    j.warn_because(
                        s.clause,
                        Reason::ExitStatus,
                        format!(
                            "exited 0 although the reply to {cmd} never came (it cannot \
                             know whether {cmd} ran)"
                        ),
                    );
                }
            }
        }
        Behaviour::OobOutOfOrder => {
            let overtook = overtakes(c);
            if !c.oob_enabled {
                j.skip = Some("the client did not enable oob, so no reply could overtake".into());
            } else if overtook == 0 {
                j.skip = Some(
                    "the client sent no exec-oob command while an in-band one was in flight".into(),
                );
            } else {
                j.note(format!(
                    "{} overtook",
                    count(overtook, "exec-oob reply", "exec-oob replies")
                ));
            }
        }
        _ => {}
    }
    if matches!(
        s.behaviour,
        Behaviour::EventsInterleaved | Behaviour::EventBeforeReply | Behaviour::EventStorm(_)
    ) {
        if let Some(cl) = &run.client {
            delivery(s, c, &format!("{}\n{}", cl.stdout, cl.stderr), j);
        }
    }
    if matches!(s.expect, Expect::SameAsBaseline | Expect::SameEnd) && j.skip.is_none() {
        if let Some(b) = baseline {
            same_as_baseline(run, b, j);
        }
    }
}

/// Exec-oob replies written before the reply of an earlier in-band command.
fn overtakes(c: &ConnLog) -> usize {
    c.commands
        .iter()
        .enumerate()
        .filter(|(k, x)| {
            x.oob
                && x.reply_at.is_some_and(|r| {
                    c.commands[..*k]
                        .iter()
                        .any(|p| !p.oob && p.name.is_some() && p.reply_at.is_none_or(|q| q > r))
                })
        })
        .count()
}

/// Commands a client sends within this long of each other were sent together (a burst):
/// the later one says nothing about whether the client waits for replies.
pub const BURST: Duration = Duration::from_millis(20);
/// Did the client take a decoy (an event, a stray reply) for its reply? Only a client that
/// waits for its replies can be judged. The first command after which the client acted
/// (sent its next command, not in the same burst, or hung up) before the reply came
/// decides: sending its next command after the decoy came (in the
/// [`super::server::DECOY_GAP`] before the reply) is taking the decoy for the reply; sending
/// while a reply was held back without a decoy, or before the decoy came, is not waiting for
/// replies, and hanging up proves nothing (a client may give up on a clock): neither is
/// judged. Later commands are not looked at: once a client has taken a decoy for a reply,
/// it is out of step with its replies. (A client that sends on a clock without waiting,
/// every 150 to 300 ms, would be misjudged; QMP clients wait for replies or send in
/// bursts.)
fn decoys(s: &Scenario, c: &ConnLog, j: &mut Judge) {
    let what = match s.behaviour {
        Behaviour::EventBeforeReply => "an event",
        _ => "a reply with an id it never sent",
    };
    let not_judged = |j: &mut Judge, why: &str| {
        j.note(format!(
            "not judged whether it takes {what} for a reply: {why}"
        ))
    };
    let mut judged = 0;
    for x in c.commands.iter().filter(|x| x.held) {
        let Some(next) = c.next_action_after(x.at) else {
            continue;
        };
        if next <= x.at + BURST {
            continue;
        }
        let reply = x.reply_at.unwrap_or(Duration::MAX);
        if next >= reply {
            judged += usize::from(x.decoy_at.is_some());
            continue;
        }
        if !c.commands.iter().any(|y| y.at == next) {
            return not_judged(j, "it hung up before its reply came");
        }
        match x.decoy_at {
            Some(d) if next >= d => j.scenario(
                s,
                format!(
                    "sent its next command {} after {what} came, before the reply to {}: it \
                     took {what} for the reply",
                    ms(next - d),
                    x.label()
                ),
            ),
            _ => not_judged(j, "it does not wait for replies"),
        }
        return;
    }
    if judged > 0 {
        j.note(format!(
            "waited past {what} for {}",
            count(judged, "reply", "replies")
        ));
    } else {
        not_judged(
            j,
            &format!("it never waited for a reply {what} came before"),
        );
    }
}

/// `1 reply`, `2 replies`.
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Every event token written must show in the client's output, if it shows any.
fn delivery(s: &Scenario, c: &ConnLog, output: &str, j: &mut Judge) {
    let sent: Vec<u8> = c
        .transcript
        .iter()
        .filter(|e| e.dir == Dir::Send)
        .flat_map(|e| e.bytes.iter().copied())
        .collect();
    let sent = String::from_utf8_lossy(&sent);
    let tokens: Vec<&String> = c
        .event_tokens
        .iter()
        .filter(|t| sent.contains(t.as_str()))
        .collect();
    let shown: Vec<&&String> = tokens
        .iter()
        .filter(|t| output.contains(t.as_str()))
        .collect();
    if tokens.is_empty() {
        return;
    }
    if shown.is_empty() {
        j.note(format!(
            "not judged whether it loses events: it printed none of the {}",
            tokens.len()
        ));
    } else if shown.len() < tokens.len() {
        let lost: Vec<&&String> = tokens
            .iter()
            .filter(|t| !output.contains(t.as_str()))
            .collect();
        j.scenario(
            s,
            format!(
                "lost {} of {} events: it printed {} but not {}{}",
                lost.len(),
                tokens.len(),
                shown[0],
                lost[0],
                if lost.len() > 1 { " and others" } else { "" }
            ),
        );
    } else {
        j.note(format!(
            "printed all {}",
            count(tokens.len(), "event", "events")
        ));
    }
}

/// A correct client cannot tell this scenario from the baseline.
fn same_as_baseline(run: &ScenarioRun, b: &Baseline, j: &mut Judge) {
    let s = run.scenario;
    if let (Some(cl), Some(want)) = (&run.client, &b.ended) {
        if let (Ended::Exited(got), Ended::Exited(w)) = (&cl.ended, want) {
            if got != w {
                j.scenario(
                    s,
                    format!("the client exited {got}, where it exited {w} in the baseline"),
                );
            }
        }
    }
    if s.expect == Expect::SameEnd {
        return;
    }
    let got = all_commands(run);
    if let Some(missing) = first_missing(&b.commands, &got) {
        j.scenario(
            s,
            format!(
                "the client sent {} of the baseline's {} commands: {missing} and what follows \
                 never came",
                matched(&b.commands, &got),
                b.commands.len()
            ),
        );
    }
}

/// How many of `want`, in order, occur in `got` (as a subsequence).
fn matched(want: &[String], got: &[String]) -> usize {
    let mut it = got.iter();
    want.iter()
        .take_while(|w| it.by_ref().any(|g| g == *w))
        .count()
}

fn first_missing<'a>(want: &'a [String], got: &[String]) -> Option<&'a String> {
    want.get(matched(want, got))
}

/// Put the findings together.
fn outcome(run: &ScenarioRun, mut j: Judge, baseline: Option<&Baseline>) -> Outcome {
    if let Some(d) = j.hung_in_baseline {
        let secs = d.as_secs_f64();
        if j.findings.is_empty() {
            j.error.get_or_insert(format!(
                "the client was still running after {secs:.1} s against the plain monitor; \
                 check-client needs a client that ends on its own (give it input that ends, \
                 e.g. --stdin FILE)"
            ));
        } else {
            j.broke(
                run.scenario.clause,
                format!("then it hung, and was killed after {secs:.1} s"),
            );
        }
    }
    let worst = j
        .findings
        .iter()
        .find(|f| f.status() == Status::Fail)
        .or(j.findings.first());
    let mut o = if let Some(e) = &j.error {
        Outcome::error(e.clone())
    } else if let Some(f) = worst {
        let others = j.findings.len() - 1;
        let more = if others > 0 {
            let rest: Vec<String> = j
                .findings
                .iter()
                .filter(|g| !std::ptr::eq(*g, f))
                .take(3)
                .map(|g| format!("[{}] {}", g.clause, g.text))
                .collect();
            format!(" (also: {})", rest.join("; "))
        } else {
            String::new()
        };
        f.outcome(format!("{}{more}", f.text))
    } else if let Some(why) = &j.skip {
        Outcome::skip(why.clone())
    } else {
        Outcome::pass(summary(run, &j, baseline))
    };
    o.transcript = transcript(run);
    if let Some(cl) = &run.client {
        o.attachments.push(Attachment {
            name: "client".into(),
            text: format!("{}\n{}", cl.argv.join(" "), cl.ended.describe()),
        });
        for (name, text) in [("client stdout", &cl.stdout), ("client stderr", &cl.stderr)] {
            if !text.is_empty() {
                o.attachments.push(Attachment {
                    name: name.into(),
                    text: text.clone(),
                });
            }
        }
    }
    o
}

/// What a client that passed did, in one line.
fn summary(run: &ScenarioRun, j: &Judge, baseline: Option<&Baseline>) -> String {
    let mut parts: Vec<String> = Vec::new();
    let cmds = all_commands(run);
    if !cmds.is_empty() {
        let shown: Vec<&str> = cmds.iter().take(4).map(String::as_str).collect();
        let mut list = shown.join(", ");
        if cmds.len() > shown.len() {
            let _ = write!(list, ", ...");
        }
        parts.push(format!("{} commands ({list})", cmds.len()));
    }
    parts.extend(j.notes.iter().cloned());
    if let Some(cl) = &run.client {
        let same = matches!(
            run.scenario.expect,
            Expect::SameAsBaseline | Expect::SameEnd
        ) && baseline.and_then(|b| b.ended.as_ref()) == Some(&cl.ended);
        parts.push(format!(
            "{}{}",
            cl.ended.describe(),
            if same { " as in the baseline" } else { "" }
        ));
    }
    parts.join("; ")
}

/// Every connection's bytes, in order of time.
fn transcript(run: &ScenarioRun) -> Vec<Entry> {
    let mut t: Vec<Entry> = run
        .conns
        .iter()
        .flat_map(|c| c.transcript.iter().cloned())
        .collect();
    t.sort_by_key(|e| e.at);
    t
}

#[cfg(test)]
mod tests;
