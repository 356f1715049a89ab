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
mod outcome;
mod parser_reset;
mod probe;
mod replies;
mod robustness;
mod runner;
pub mod schema;
mod table;

pub use outcome::{Attachment, Outcome, Reason, Status};
pub use probe::{Probe, Step};
pub use runner::{
    in_lanes, in_parallel, run, run_against, select, CheckResult, Jobs, NoSuchCheck, Pattern,
    Progress, ProgressSink,
};

use crate::budget::Budget;
use crate::endpoint::Target;
use crate::monitor::Fault;
use crate::spec::Clause;
use std::fmt;
use std::time::Duration;

/// What a check runs against.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub target: Target,
    /// How long it may wait for the endpoint.
    pub budget: Budget,
    /// How the `schema.*` checks generate cases (`--schema-cases`, `--query-command`).
    pub schema: schema::SchemaOptions,
    /// Where a long check says how far it got, and which check this context runs.
    progress: Option<(ProgressSink, &'static str)>,
}

impl Ctx {
    /// A context whose every ordinary wait is bounded by `timeout`.
    pub fn new(target: Target, timeout: Duration) -> Ctx {
        Ctx {
            target,
            budget: Budget::new(timeout),
            schema: schema::SchemaOptions::default(),
            progress: None,
        }
    }

    /// The same context with other options for the `schema.*` checks.
    pub fn with_schema_options(mut self, schema: schema::SchemaOptions) -> Ctx {
        self.schema = schema;
        self
    }

    /// The same context, reporting how far long checks got to `sink`.
    pub fn with_progress(mut self, sink: ProgressSink) -> Ctx {
        self.progress = Some((sink, ""));
        self
    }

    /// The context of one check (its progress is reported under its id).
    fn for_check(&self, id: &'static str) -> Ctx {
        let mut c = self.clone();
        if let Some((_, check)) = &mut c.progress {
            *check = id;
        }
        c
    }

    /// A long check got through `done` of `total` steps.
    pub fn working(&self, done: usize, total: usize) {
        if let Some((sink, check)) = &self.progress {
            sink.report(Progress::Working { check, done, total });
        }
    }
}

/// One conformance check: one row of [`table::CHECKS`], which holds everything about it.
#[derive(Clone, Copy)]
pub struct Check {
    /// `<area>.<name>`, stable once published.
    pub id: &'static str,
    /// The clause of `specs/clauses.json` it enforces (an outcome names the clause it found
    /// broken, which may be another: a stall, say, breaks `reply.one-per-command`).
    pub clause: Clause,
    pub title: &'static str,
    /// It takes long (large inputs, many cases): a run starts it first, to finish sooner.
    pub slow: bool,
    /// The faults of the emulated monitor that break it, and how it comes out against each:
    /// its own tests hold it to them.
    pub broken_by: &'static [Broken],
    pub run: fn(&Ctx) -> Outcome,
}

/// A fault that breaks a check: against a monitor with `fault`, the check comes out
/// `status`, naming `violated` as the clause broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Broken {
    pub fault: Fault,
    pub status: Status,
    pub violated: Clause,
}

/// `fault` fails the check, breaking `violated`.
pub const fn fails(fault: Fault, violated: Clause) -> Broken {
    Broken {
        fault,
        status: Status::Fail,
        violated,
    }
}

/// `fault` makes the check warn, naming `violated`.
pub const fn warns(fault: Fault, violated: Clause) -> Broken {
    Broken {
        fault,
        status: Status::Warn,
        violated,
    }
}

impl Check {
    /// The area: the part of the id before the dot.
    pub fn area(&self) -> &'static str {
        self.subject().area()
    }

    /// What a report says about the check.
    pub fn subject(&self) -> Subject {
        Subject {
            id: self.id,
            clause: self.clause,
            title: self.title,
        }
    }
}

/// What a result in a report is about: a check of a server, or a `check-client` scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subject {
    /// `<area>.<name>`.
    pub id: &'static str,
    /// The clause it holds the endpoint to.
    pub clause: Clause,
    pub title: &'static str,
}

impl Subject {
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
    table::CHECKS
}

/// The check with this id.
pub fn by_id(id: &str) -> Option<&'static Check> {
    all().iter().find(|c| c.id == id)
}

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
        let mut areas: Vec<&str> = Vec::new();
        for c in all() {
            let name = &c.id[c.area().len() + 1..];
            assert!(
                !name.is_empty()
                    && name
                        .chars()
                        .all(|x| x.is_ascii_lowercase() || x.is_ascii_digit() || x == '-'),
                "{}: bad name",
                c.id
            );
            assert!(!c.title.is_empty());
            // An area's checks stand together (`qmpspec list` groups them).
            if areas.last() != Some(&c.area()) {
                assert!(!areas.contains(&c.area()), "{}: area split", c.id);
                areas.push(c.area());
            }
            assert!(!c.broken_by.is_empty(), "{}: no fault breaks it", c.id);
            for b in c.broken_by {
                assert!(
                    b.fault.breaks(),
                    "{}: {} is an allowed variation",
                    c.id,
                    b.fault
                );
                assert!(matches!(b.status, Status::Fail | Status::Warn));
            }
        }
    }
}
