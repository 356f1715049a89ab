//! Running one test case on a fresh connection, and judging what came back.

use super::generate::Input;
use crate::budget::Budget;
use crate::endpoint::{Client, ConnectError, Stall, Target, Transcript};
use crate::message::Command;
use crate::spec::Clause;
use std::fmt;
use std::time::{Duration, Instant};

/// What kind of misbehaviour a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FindingKind {
    /// The endpoint closed the connection or died.
    Closed,
    /// No reply within the budget.
    Stall,
    /// A reply came, but far later than the endpoint's usual latency allows.
    Slow,
    /// The session model saw a protocol rule broken.
    Violation,
    /// The endpoint flooded output without completing a message.
    Flood,
}

impl FindingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::Closed => "closed",
            FindingKind::Stall => "stall",
            FindingKind::Slow => "slow",
            FindingKind::Violation => "violation",
            FindingKind::Flood => "flood",
        }
    }

    pub fn from_name(s: &str) -> Option<FindingKind> {
        [
            FindingKind::Closed,
            FindingKind::Stall,
            FindingKind::Slow,
            FindingKind::Violation,
            FindingKind::Flood,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// Something wrong the endpoint did in one case.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub kind: FindingKind,
    /// The clause broken, for violations.
    pub clause: Option<Clause>,
    pub message: String,
}

impl Finding {
    /// Two findings are the same bug when kind and clause agree.
    pub fn same_as(&self, other: &Finding) -> bool {
        self.kind == other.kind && self.clause == other.clause
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self.clause {
            Some(c) => write!(f, "{} [{}]: {}", self.kind.as_str(), c, self.message),
            None => write!(f, "{}: {}", self.kind.as_str(), self.message),
        }
    }
}

/// How a case went.
#[derive(Debug, Clone)]
pub struct CaseRun {
    pub finding: Option<Finding>,
    pub transcript: Transcript,
    /// Time from sending the probe to its reply.
    pub probe_rtt: Option<Duration>,
    /// Bytes sent by the case's inputs.
    pub bytes_sent: usize,
    /// Kinds of server message seen: "return", "error", "event".
    pub replies_ok: usize,
    pub replies_err: usize,
    pub events: usize,
}

/// Everything needed to run a case the same way again.
#[derive(Debug, Clone)]
pub struct CaseSetup {
    /// Enable `oob` when the greeting offers it.
    pub enable_oob: bool,
    /// The command used to check the endpoint still answers (`query-version` when listed).
    pub probe: String,
    /// How long the endpoint may take (its fuzz rules: QEMU reads large input slowly; a
    /// stall is a finding only past this budget).
    pub budget: Budget,
}

/// Clauses that raw input makes ambiguous: it may draw any number of replies, with or
/// without ids, so reply matching cannot be judged in a case that sent raw bytes.
const MATCHING_CLAUSES: &[Clause] = &[
    Clause::ReplyOnePerCommand,
    Clause::CmdIdEcho,
    Clause::ReplyInOrder,
];

/// The finding for a wait during `during` that ended in `stall`, described as every wait
/// that did not deliver is ([`Client::stalled`]).
fn stall_finding(client: &Client, stall: Stall, during: &str) -> Finding {
    let kind = match stall {
        Stall::Closed | Stall::Io(_) => FindingKind::Closed,
        Stall::Timeout(_) => FindingKind::Stall,
        Stall::Flood(_) => FindingKind::Flood,
    };
    Finding {
        kind,
        clause: None,
        message: format!("{during}: {}", client.stalled(stall)),
    }
}

/// Run `inputs` on a fresh connection: handshake, inputs, then a probe that must still be
/// answered. `Err` only when the target cannot be reached at all.
pub fn run_case(
    target: &Target,
    setup: &CaseSetup,
    inputs: &[Input],
) -> Result<CaseRun, ConnectError> {
    let mut client = Client::connect(target)?;
    let mut run = CaseRun {
        finding: None,
        transcript: Transcript::default(),
        probe_rtt: None,
        bytes_sent: 0,
        replies_ok: 0,
        replies_err: 0,
        events: 0,
    };
    let result = drive(&mut client, setup, inputs, &mut run);
    if let Err(f) = result {
        run.finding = Some(f);
    } else {
        let raw_sent = inputs.iter().any(|i| matches!(i, Input::Raw(_)));
        let v = client
            .violations()
            .iter()
            .find(|v| !(raw_sent && MATCHING_CLAUSES.contains(&v.clause)));
        if let Some(v) = v {
            run.finding = Some(Finding {
                kind: FindingKind::Violation,
                clause: Some(v.clause),
                message: v.message.clone(),
            });
        }
    }
    for (_, r) in client.take_replies() {
        if r.error().is_some() {
            run.replies_err += 1;
        } else {
            run.replies_ok += 1;
        }
    }
    run.events = client.events().len();
    run.transcript = client.transcript().clone();
    Ok(run)
}

fn drive(
    client: &mut Client,
    setup: &CaseSetup,
    inputs: &[Input],
    run: &mut CaseRun,
) -> Result<(), Finding> {
    let base = setup.budget.reply();
    let greeting = client
        .greeting(base)
        .map_err(|e| stall_finding(client, e, "waiting for the greeting"))?;
    let enable: &[&str] = if setup.enable_oob && greeting.offers("oob") {
        &["oob"]
    } else {
        &[]
    };
    let mut caps = Command::new("qmp_capabilities").id("qmpspec-negotiate");
    if !enable.is_empty() {
        caps = caps.arg("enable", vec!["oob"]);
    }
    client
        .execute(caps, base)
        .map_err(|e| stall_finding(client, e, "negotiating"))?;

    let mut raw_sent = false;
    for input in inputs {
        let bytes = input.bytes();
        run.bytes_sent += bytes.len();
        let sent = match input {
            Input::Command(c) => client.send(c.clone(), base),
            Input::Raw(b) => {
                raw_sent = true;
                client.send_more(b, setup.budget.fuzz_input(b.len()))
            }
        };
        sent.map_err(|e| stall_finding(client, e, "sending input"))?;
    }
    if raw_sent {
        // Raw input may leave an object open, which swallows what follows until a control
        // character resets the parser (parser.reset).
        client
            .send_more(b"\x01\n", base)
            .map_err(|e| stall_finding(client, e, "sending the parser reset"))?;
    }
    let probe = Command::new(setup.probe.clone()).id("qmpspec-probe");
    let budget = setup.budget.fuzz_input(run.bytes_sent);
    let sent_at = Instant::now();
    client
        .execute(probe, budget)
        .map_err(|e| stall_finding(client, e, "waiting for the probe's reply"))?;
    run.probe_rtt = Some(sent_at.elapsed());
    if !raw_sent {
        // Every in-band command sent before the probe must have been answered before it.
        if let Some(left) = client
            .session()
            .in_flight()
            .find(|c| !c.command.as_ref().is_some_and(|c| c.oob))
        {
            let name = left
                .command
                .as_ref()
                .map_or("?", |c| c.name.as_str())
                .to_string();
            return Err(Finding {
                kind: FindingKind::Violation,
                clause: Some(Clause::ReplyOnePerCommand),
                message: format!("no reply to {name}, though a later command was answered"),
            });
        }
    }
    Ok(())
}
