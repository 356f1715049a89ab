//! Running qmpspec from another project's `cargo test`: [`conformance`] runs the chosen checks
//! against a [`Target`] and returns a [`Summary`]; [`Summary::assert_no_failures`] (or the
//! [`assert_conforms!`](crate::assert_conforms) macro) turns failures into a test failure that
//! shows each failing check's message and transcript.
//!
//! ```
//! use qmpspec::monitor::emulated_target;
//!
//! // Any target: Target::qemu(None), Target::parse_spawn("my-qmp-server --stdio"),
//! // Target::parse_connect("unix:/run/vm.qmp") ... here the built-in emulated monitor.
//! let summary = qmpspec::conformance(emulated_target(&[], None), &["greeting.*", "schema.query-returns"])
//!     .expect("the target is reachable and the patterns match checks");
//! summary.assert_no_failures();
//! assert!(summary.passed() >= 4);
//!
//! // The same, as one assertion:
//! qmpspec::assert_conforms!(emulated_target(&[], None), "negotiation.*", "replies.*");
//! ```
//!
//! A server that breaks a rule fails the assertion, naming the check, the clause and what was
//! exchanged:
//!
//! ```should_panic
//! use qmpspec::monitor::{emulated_target, Fault};
//!
//! let faulty = emulated_target(&[Fault::WrongReturnType], None);
//! qmpspec::assert_conforms!(faulty, "schema.query-returns");
//! ```

use crate::checks::schema::SchemaOptions;
use crate::checks::{self, CheckResult, Ctx, Pattern, Status};
use crate::endpoint::{Client, Target};
use crate::report::{self, RunReport};
use std::fmt;
use std::time::{Duration, Instant, SystemTime};

/// How [`conformance_with`] runs the checks.
#[derive(Debug, Clone)]
pub struct Options {
    /// Checks to leave out (the `--skip` patterns).
    pub skip: Vec<String>,
    /// The budget of every single wait.
    pub timeout: Duration,
    /// How many checks run at once, each on its own connection or process (use 1 for a
    /// socket that serves one client at a time).
    pub jobs: usize,
    /// How the `schema.*` checks generate cases.
    pub schema: SchemaOptions,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            skip: Vec::new(),
            timeout: Duration::from_secs(2),
            jobs: 4,
            schema: SchemaOptions::default(),
        }
    }
}

/// Why the run could not be made (a failing check is not an error: see [`Summary`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConformanceError {
    /// A pattern matched no check (`qmpspec list` shows them all).
    #[error("{0}")]
    NoSuchCheck(String),
    /// No connection could be made to the target.
    #[error("cannot reach the target: {0}")]
    Unreachable(String),
}

/// Run the checks matching any of `patterns` (globs such as `"greeting.*"`, or id prefixes;
/// every check when empty) against `target`, with default [`Options`].
pub fn conformance(target: Target, patterns: &[&str]) -> Result<Summary, ConformanceError> {
    conformance_with(target, patterns, &Options::default())
}

/// [`conformance`] with explicit options.
pub fn conformance_with(
    target: Target,
    patterns: &[&str],
    options: &Options,
) -> Result<Summary, ConformanceError> {
    let only: Vec<Pattern> = patterns.iter().map(|p| Pattern::new(p)).collect();
    let skip: Vec<Pattern> = options.skip.iter().map(|p| Pattern::new(p)).collect();
    let selected =
        checks::select(checks::all(), &only, &skip).map_err(ConformanceError::NoSuchCheck)?;
    Client::connect(&target).map_err(|e| ConformanceError::Unreachable(e.to_string()))?;
    let started = SystemTime::now();
    let t0 = Instant::now();
    let ctx = Ctx::new(target.clone(), options.timeout).with_schema_options(options.schema.clone());
    let results = checks::run(&ctx, &selected, options.jobs.max(1), |_| {});
    Ok(Summary {
        report: RunReport {
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            target: target.description(),
            greeting: None,
            started,
            duration: t0.elapsed(),
            results,
        },
    })
}

/// The outcome of a [`conformance`] run.
#[derive(Debug, Clone)]
pub struct Summary {
    report: RunReport,
}

impl Summary {
    /// Every check that ran, in table order.
    pub fn results(&self) -> &[CheckResult] {
        &self.report.results
    }

    /// How many checks came out with `status`.
    pub fn count(&self, status: Status) -> usize {
        self.report.count(status)
    }

    pub fn passed(&self) -> usize {
        self.count(Status::Pass)
    }

    /// The checks that failed (a MUST broken).
    pub fn failures(&self) -> impl Iterator<Item = &CheckResult> {
        self.report
            .results
            .iter()
            .filter(|r| r.outcome.status == Status::Fail)
    }

    /// No check failed (warnings and skips do not count, as with `qmpspec check`'s exit code).
    pub fn is_conforming(&self) -> bool {
        self.failures().next().is_none()
    }

    /// The whole run, to write reports with [`crate::report`].
    pub fn report(&self) -> &RunReport {
        &self.report
    }

    /// Panic, listing each failed check with its message and transcript, if any check failed.
    /// Checks that hit an error (the harness could not run them) fail the assertion too.
    #[track_caller]
    pub fn assert_no_failures(&self) {
        let bad: Vec<&CheckResult> = self
            .report
            .results
            .iter()
            .filter(|r| matches!(r.outcome.status, Status::Fail | Status::Error))
            .collect();
        if !bad.is_empty() {
            panic!("{self}");
        }
    }
}

impl fmt::Display for Summary {
    /// One line per check that did not pass, with the transcript of failures and errors, and
    /// the summary line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for r in &self.report.results {
            let o = &r.outcome;
            if o.status == Status::Pass {
                continue;
            }
            writeln!(f, "{} {}: {}", o.status, r.check.id, o.message)?;
            if matches!(o.status, Status::Fail | Status::Error) && !o.transcript.is_empty() {
                for line in report::transcript_lines(&o.transcript).lines().take(40) {
                    writeln!(f, "    {line}")?;
                }
            }
        }
        write!(
            f,
            "{} checks against {}: {}",
            self.report.results.len(),
            self.report.target,
            self.report.summary_line()
        )
    }
}

/// Assert that a target passes the checks matching the patterns (all checks when none are
/// given): `assert_conforms!(target)`, `assert_conforms!(target, "greeting.*", "ids.*")`.
/// Panics when the run cannot be made or any check fails, showing the failures' transcripts.
#[macro_export]
macro_rules! assert_conforms {
    ($target:expr $(,)?) => {
        $crate::conformance($target, &[])
            .unwrap_or_else(|e| panic!("qmpspec: {e}"))
            .assert_no_failures()
    };
    ($target:expr, $($pattern:expr),+ $(,)?) => {
        $crate::conformance($target, &[$($pattern),+])
            .unwrap_or_else(|e| panic!("qmpspec: {e}"))
            .assert_no_failures()
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::{emulated_target, Fault};

    #[test]
    fn a_conforming_target_passes_and_a_faulty_one_fails() {
        let s = conformance(emulated_target(&[], None), &["ids.*"]).unwrap();
        assert!(s.is_conforming(), "{s}");
        assert!(s.passed() > 0 && s.results().iter().all(|r| r.check.id.starts_with("ids.")));
        s.assert_no_failures();

        let s = conformance(emulated_target(&[Fault::DropId], None), &["ids.*"]).unwrap();
        assert!(!s.is_conforming());
        let shown = s.to_string();
        assert!(shown.contains("fail ids."), "{shown}");
        assert!(shown.contains("[cmd.id-echo]"), "{shown}");
        assert!(shown.contains("->"), "transcript shown: {shown}");
        let panicked = std::panic::catch_unwind(|| s.assert_no_failures());
        assert!(panicked.is_err());
    }

    #[test]
    fn bad_patterns_and_unreachable_targets_are_errors() {
        assert!(matches!(
            conformance(emulated_target(&[], None), &["nosuch.*"]),
            Err(ConformanceError::NoSuchCheck(_))
        ));
        let e = conformance(Target::Unix("/nonexistent/qmpspec.sock".into()), &[]).unwrap_err();
        assert!(matches!(e, ConformanceError::Unreachable(_)), "{e}");
    }

    #[test]
    fn options_reach_the_schema_checks() {
        let opts = Options {
            schema: SchemaOptions {
                cases: 0,
                ..SchemaOptions::default()
            },
            skip: vec!["schema.event-data".into()],
            ..Options::default()
        };
        let s = conformance_with(emulated_target(&[], None), &["schema.*"], &opts).unwrap();
        assert!(s
            .results()
            .iter()
            .all(|r| r.check.id != "schema.event-data"));
        let invalid = s
            .results()
            .iter()
            .find(|r| r.check.id == "schema.invalid-arguments")
            .unwrap();
        assert_eq!(invalid.outcome.status, Status::Skip);
    }
}
