//! The conformance checks: one file per area of the specification, one table for all of them.
//!
//! Every check is a [`Check`] in the table [`all`]: an id (`<area>.<name>`), the clause of
//! `specs/clauses.json` it enforces, a title, and a function from a [`Ctx`] (the target and
//! the time budget) to an [`Outcome`]. `qmpspec list` and every report come from this table.
//!
//! A check opens fresh connections (or processes) through a [`Probe`], which bounds every
//! wait by the context's timeout, keeps the transcript of every connection it used, and turns
//! anything the [`crate::session`] saw broken (a [`crate::session::Violation`], tied to a
//! clause) into a failure.

mod commands;
mod compatibility;
mod encoding;
mod errors;
mod events;
mod framing;
mod greeting;
mod ids;
mod negotiation;
mod oob;
mod parser_reset;
mod probe;
mod replies;
mod robustness;
mod runner;
pub mod schema;

pub use probe::{Probe, Step};
pub use runner::{run, select, CheckResult, Pattern};

use crate::endpoint::{Dir, Target};
use std::fmt;
use std::time::Duration;

/// What a check runs against.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub target: Target,
    /// The budget of every single wait (grown by checks that send large inputs).
    pub timeout: Duration,
    /// How the `schema.*` checks generate cases (`--schema-cases`, `--query-command`).
    pub schema: schema::SchemaOptions,
}

impl Ctx {
    pub fn new(target: Target, timeout: Duration) -> Ctx {
        Ctx {
            target,
            timeout,
            schema: schema::SchemaOptions::default(),
        }
    }

    /// The same context with other options for the `schema.*` checks.
    pub fn with_schema_options(mut self, schema: schema::SchemaOptions) -> Ctx {
        self.schema = schema;
        self
    }

    /// A budget that grows with the size of the input: the base timeout plus `per_kib` for
    /// every KiB sent.
    pub fn budget_for(&self, bytes: usize, per_kib: Duration) -> Duration {
        self.timeout + per_kib * (bytes / 1024) as u32
    }
}

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    Pass,
    Fail,
    Warn,
    Skip,
    Error,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Pass,
        Status::Fail,
        Status::Warn,
        Status::Skip,
        Status::Error,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Warn => "warn",
            Status::Skip => "skip",
            Status::Error => "error",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One transcript entry of a check, possibly from one of several connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranscriptEntry {
    pub dir: Dir,
    /// Time since the check started.
    pub at: Duration,
    pub bytes: Vec<u8>,
}

/// The result of running one check.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub status: Status,
    /// One line saying what was seen. Failures and warnings start with `[clause]`.
    pub message: String,
    /// Everything exchanged on the connections the check used, in order.
    pub transcript: Vec<TranscriptEntry>,
    /// The failure may only be the consequence of a rule broken earlier (a stall after a
    /// reply with the wrong id, say): the session's first violation then names the cause.
    pub consequential: bool,
}

impl Outcome {
    fn new(status: Status, message: String) -> Outcome {
        Outcome {
            status,
            message: one_line(&message),
            transcript: Vec::new(),
            consequential: false,
        }
    }
    pub fn pass(message: impl Into<String>) -> Outcome {
        Outcome::new(Status::Pass, message.into())
    }
    /// A MUST of `clause` was broken.
    pub fn fail(clause: &str, message: impl fmt::Display) -> Outcome {
        Outcome::new(Status::Fail, format!("[{clause}] {message}"))
    }
    /// A SHOULD or a QEMU convention of `clause` was not followed.
    pub fn warn(clause: &str, message: impl fmt::Display) -> Outcome {
        Outcome::new(Status::Warn, format!("[{clause}] {message}"))
    }
    /// A failure that an earlier violation, if any, explains better (a stall, a missing reply).
    pub fn fail_after(clause: &str, message: impl fmt::Display) -> Outcome {
        Outcome {
            consequential: true,
            ..Outcome::fail(clause, message)
        }
    }
    pub fn skip(reason: impl Into<String>) -> Outcome {
        Outcome::new(Status::Skip, reason.into())
    }
    /// The check could not run (harness or environment fault).
    pub fn error(message: impl Into<String>) -> Outcome {
        Outcome::new(Status::Error, message.into())
    }
}

fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(512));
    for c in s.chars() {
        if out.len() >= 500 {
            out.push_str("...");
            break;
        }
        out.push(if c == '\n' || c == '\r' { ' ' } else { c });
    }
    out
}

/// One conformance check.
#[derive(Clone, Copy)]
pub struct Check {
    /// `<area>.<name>`, stable once published.
    pub id: &'static str,
    /// The clause of `specs/clauses.json` it enforces.
    pub clause: &'static str,
    pub title: &'static str,
    pub run: fn(&Ctx) -> Outcome,
}

impl Check {
    /// The area: the part of the id before the dot.
    pub fn area(&self) -> &'static str {
        self.id.split_once('.').map_or(self.id, |(a, _)| a)
    }
}

impl fmt::Debug for Check {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.debug_struct("Check")
            .field("id", &self.id)
            .field("clause", &self.clause)
            .finish()
    }
}

/// Every check, grouped by area, in a stable order.
pub fn all() -> &'static [Check] {
    static ALL: std::sync::OnceLock<Vec<Check>> = std::sync::OnceLock::new();
    ALL.get_or_init(|| {
        let mut v = Vec::new();
        for area in [
            encoding::CHECKS,
            framing::CHECKS,
            greeting::CHECKS,
            negotiation::CHECKS,
            commands::CHECKS,
            ids::CHECKS,
            replies::CHECKS,
            errors::CHECKS,
            events::CHECKS,
            oob::CHECKS,
            parser_reset::CHECKS,
            robustness::CHECKS,
            compatibility::CHECKS,
            schema::CHECKS,
        ] {
            v.extend_from_slice(area);
        }
        v
    })
}

/// The check with this id.
pub fn by_id(id: &str) -> Option<&'static Check> {
    all().iter().find(|c| c.id == id)
}

#[cfg(test)]
pub(crate) mod fake;

#[cfg(test)]
mod tests_both_ways;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_well_formed() {
        let mut ids: Vec<&str> = all().iter().map(|c| c.id).collect();
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n, "duplicate check ids");
        let areas = [
            "encoding",
            "framing",
            "greeting",
            "negotiation",
            "commands",
            "ids",
            "replies",
            "errors",
            "events",
            "oob",
            "parser_reset",
            "robustness",
            "compatibility",
            "schema",
        ];
        for c in all() {
            assert!(areas.contains(&c.area()), "{}: unknown area", c.id);
            let name = &c.id[c.area().len() + 1..];
            assert!(
                !name.is_empty()
                    && name
                        .chars()
                        .all(|x| x.is_ascii_lowercase() || x.is_ascii_digit() || x == '-'),
                "{}: bad name",
                c.id
            );
            assert!(
                crate::spec::clause(c.clause).is_some(),
                "{}: unknown clause {}",
                c.id,
                c.clause
            );
            assert!(!c.title.is_empty());
        }
        for a in areas {
            assert!(all().iter().any(|c| c.area() == a), "area {a} has no check");
        }
    }

    #[test]
    fn every_clause_named_in_the_checks_exists() {
        let sources = [
            include_str!("commands.rs"),
            include_str!("compatibility.rs"),
            include_str!("encoding.rs"),
            include_str!("errors.rs"),
            include_str!("events.rs"),
            include_str!("framing.rs"),
            include_str!("greeting.rs"),
            include_str!("ids.rs"),
            include_str!("negotiation.rs"),
            include_str!("oob.rs"),
            include_str!("parser_reset.rs"),
            include_str!("probe.rs"),
            include_str!("replies.rs"),
            include_str!("robustness.rs"),
        ];
        let prefixes = [
            "enc.",
            "frame.",
            "greeting.",
            "cmd.",
            "reply.",
            "event.",
            "neg.",
            "oob.",
            "parser.",
            "compat.",
            "downstream.",
        ];
        let mut named = 0;
        for src in sources {
            for part in src.split('"').skip(1).step_by(2) {
                let clause_like = prefixes.iter().any(|p| part.starts_with(p))
                    && part
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c == '-' || c == '.')
                    && part.matches('.').count() == 1;
                // Check ids share some prefixes (greeting.*, oob.*): those are checks.
                if clause_like && by_id(part).is_none() {
                    assert!(crate::spec::clause(part).is_some(), "unknown clause {part}");
                    named += 1;
                }
            }
        }
        assert!(named > 50, "only {named} clause names found");
    }

    #[test]
    fn outcome_messages_name_the_clause_and_stay_on_one_line() {
        let o = Outcome::fail("cmd.id-echo", "a\nb");
        assert_eq!(o.message, "[cmd.id-echo] a b");
        assert_eq!(o.status, Status::Fail);
        assert_eq!(Outcome::warn("enc.single-quotes", "x").status, Status::Warn);
    }
}
