//! The one front door of a check run: [`CheckRun`] says which checks run and how, and runs
//! them against one target into one [`RunReport`], or against several targets at once into
//! one [`MatrixReport`]; `qmpspec check` is a [`CheckRun`] too.
//!
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
use crate::checks::{
    self, Check, CheckResult, Ctx, Jobs, NoSuchCheck, Pattern, Progress, ProgressSink, Status,
};
use crate::endpoint::{Client, ConnectError, Target};
use crate::report::{self, MatrixReport, RunReport};
use crate::spec::Party;
use serde_json::Value;
use std::fmt;
use std::time::{Duration, Instant, SystemTime};

/// The budget of every single wait unless told otherwise (`--timeout`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// How many checks run at once unless told otherwise (`--jobs`), each on its own connection
/// or process; a socket (`--connect`) gets one at a time, as a QEMU socket serves one client
/// at a time. Against several targets, they share this many.
pub const DEFAULT_JOBS: usize = 8;

/// A check run: which checks, and how they run. The command line (`qmpspec check`) and
/// [`conformance`] both build one; [`CheckRun::run`] runs it against one target and gives
/// one [`RunReport`], [`CheckRun::run_matrix`] against several at once.
///
/// ```
/// use qmpspec::monitor::emulated_target;
/// use qmpspec::CheckRun;
///
/// let report = CheckRun::new()
///     .only(["greeting.*"])
///     .jobs(2)
///     .run(&emulated_target(&[], None))
///     .unwrap();
/// assert!(report.results.len() >= 4);
/// ```
#[derive(Debug, Clone)]
pub struct CheckRun {
    only: Vec<Pattern>,
    skip: Vec<Pattern>,
    timeout: Duration,
    jobs: Option<usize>,
    schema: SchemaOptions,
    progress: Option<ProgressSink>,
}

impl Default for CheckRun {
    fn default() -> Self {
        CheckRun {
            only: Vec::new(),
            skip: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
            jobs: None,
            schema: SchemaOptions::default(),
            progress: None,
        }
    }
}

/// Why a run could not be made (a failing check is not an error: see [`Summary`]).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A pattern matched no check (`qmpspec list` shows them all).
    #[error(transparent)]
    NoSuchCheck(#[from] NoSuchCheck),
    /// No connection could be made to the target.
    #[error("cannot reach the target: {0}")]
    Unreachable(#[from] ConnectError),
    /// No connection could be made to one of the targets of a matrix.
    #[error("cannot reach target {position} of {count}: {source}")]
    UnreachableOf {
        /// Its place in the order the targets were given, from 1.
        position: usize,
        count: usize,
        source: ConnectError,
    },
    /// A matrix of no target.
    #[error("no target to run the checks against")]
    NoTarget,
}

impl CheckRun {
    /// Every check, with the defaults: [`DEFAULT_TIMEOUT`], [`DEFAULT_JOBS`], the default
    /// schema case generation.
    pub fn new() -> CheckRun {
        CheckRun::default()
    }

    /// Run only the checks matching any of `patterns` (globs such as `"greeting.*"`, or id
    /// prefixes); every check when there are none.
    pub fn only<S: AsRef<str>>(mut self, patterns: impl IntoIterator<Item = S>) -> CheckRun {
        self.only
            .extend(patterns.into_iter().map(|p| Pattern::new(p.as_ref())));
        self
    }

    /// Leave out the checks matching any of `patterns`.
    pub fn skip<S: AsRef<str>>(mut self, patterns: impl IntoIterator<Item = S>) -> CheckRun {
        self.skip
            .extend(patterns.into_iter().map(|p| Pattern::new(p.as_ref())));
        self
    }

    /// The budget of every single wait (large inputs get more).
    pub fn timeout(mut self, timeout: Duration) -> CheckRun {
        self.timeout = timeout;
        self
    }

    /// How many checks run at once.
    pub fn jobs(mut self, jobs: usize) -> CheckRun {
        self.jobs = Some(jobs.max(1));
        self
    }

    /// How the `schema.*` checks generate cases.
    pub fn schema(mut self, schema: SchemaOptions) -> CheckRun {
        self.schema = schema;
        self
    }

    /// Report how far the run got to `sink` (from the threads that run the checks).
    pub fn progress(mut self, sink: ProgressSink) -> CheckRun {
        self.progress = Some(sink);
        self
    }

    /// The checks this run runs, in table order.
    pub fn checks(&self) -> Result<Vec<&'static Check>, NoSuchCheck> {
        checks::select(checks::all(), &self.only, &self.skip)
    }

    /// How many checks run at once against `target`.
    pub fn jobs_for(&self, target: &Target) -> usize {
        self.jobs
            .unwrap_or(if target.is_socket() { 1 } else { DEFAULT_JOBS })
    }

    /// How many checks run at once against `targets` together: `--jobs` (or
    /// [`DEFAULT_JOBS`]) in all, each target at most [`CheckRun::jobs_for`] it, and targets
    /// that are the same socket one lane (it serves one client at a time).
    pub fn jobs_for_all(&self, targets: &[Target]) -> Jobs {
        let mut lanes = Vec::with_capacity(targets.len());
        let mut limits = Vec::new();
        for (t, target) in targets.iter().enumerate() {
            let same_socket = targets[..t]
                .iter()
                .position(|o| o.is_socket() && o.description() == target.description());
            match same_socket {
                Some(o) => lanes.push(lanes[o]),
                None => {
                    lanes.push(limits.len());
                    limits.push(self.jobs_for(target));
                }
            }
        }
        let threads = match targets {
            [one] => self.jobs_for(one),
            _ => self.jobs.unwrap_or(DEFAULT_JOBS),
        };
        Jobs {
            threads,
            lanes,
            limits,
        }
    }

    /// Run the checks against `target`. A first connection must succeed (the greeting, if
    /// any, goes into the report); after that, whatever the target does is an outcome.
    pub fn run(&self, target: &Target) -> Result<RunReport, RunError> {
        let mut matrix = self.run_matrix(std::slice::from_ref(target))?;
        Ok(matrix.runs.pop().expect("one run per target"))
    }

    /// Run the checks against each of `targets` (a column each, in the order given) at
    /// once, sharing the jobs ([`CheckRun::jobs_for_all`]). Every target must be reachable
    /// before any check runs; after that, whatever a target does is an outcome.
    ///
    /// ```
    /// use qmpspec::monitor::{emulated_target, Fault};
    /// use qmpspec::CheckRun;
    ///
    /// let targets = [emulated_target(&[], None), emulated_target(&[Fault::DropId], None)];
    /// let matrix = CheckRun::new().only(["ids.echo-on-error"]).run_matrix(&targets).unwrap();
    /// let row = &matrix.rows()[0];
    /// assert!(row.differs());
    /// assert_eq!(matrix.columns(), ["QEMU 7.2.22 #1", "QEMU 7.2.22 #2"]);
    /// ```
    pub fn run_matrix(&self, targets: &[Target]) -> Result<MatrixReport, RunError> {
        let selected = self.checks()?;
        if targets.is_empty() {
            return Err(RunError::NoTarget);
        }
        let started = SystemTime::now();
        let t0 = Instant::now();
        let order: Vec<usize> = (0..targets.len()).collect();
        let first = |t| preflight(&targets[t], self.timeout);
        let mut greetings = Vec::with_capacity(targets.len());
        for (t, g) in checks::in_parallel(&order, targets.len(), first, |_| {})
            .into_iter()
            .enumerate()
        {
            match g {
                Ok(g) => greetings.push(g),
                Err(e) if targets.len() == 1 => return Err(RunError::Unreachable(e)),
                Err(source) => {
                    return Err(RunError::UnreachableOf {
                        position: t + 1,
                        count: targets.len(),
                        source,
                    })
                }
            }
        }
        let ctxs: Vec<Ctx> = targets
            .iter()
            .map(|target| {
                let ctx =
                    Ctx::new(target.clone(), self.timeout).with_schema_options(self.schema.clone());
                match &self.progress {
                    Some(sink) => ctx.with_progress(sink.clone()),
                    None => ctx,
                }
            })
            .collect();
        let mut finished = vec![Duration::ZERO; targets.len()];
        let results = checks::run_against(&ctxs, &selected, &self.jobs_for_all(targets), |t, r| {
            finished[t] = t0.elapsed();
            if let Some(sink) = &self.progress {
                sink.report(Progress::Finished(r));
            }
        });
        let tool_version = env!("CARGO_PKG_VERSION").to_string();
        let end = t0.elapsed();
        let finished = finished
            .into_iter()
            .map(|d| if d.is_zero() { end } else { d });
        let runs = results
            .into_iter()
            .zip(greetings)
            .zip(targets.iter().zip(finished))
            .map(|((results, greeting), (target, duration))| RunReport {
                tool_version: tool_version.clone(),
                judged: Party::Server,
                target: target.description(),
                greeting,
                started,
                duration,
                results,
            })
            .collect();
        Ok(MatrixReport {
            tool_version,
            started,
            duration: end,
            runs,
        })
    }
}

/// Connect once before the run: an unreachable target is an error, and the greeting (the
/// first message the session cut, if it is one) goes into the report.
fn preflight(target: &Target, timeout: Duration) -> Result<Option<Value>, ConnectError> {
    let mut c = Client::connect(target)?;
    let _ = c.wait_until(timeout, |c| !c.frames().is_empty());
    let greeting = match c.frames().into_iter().next() {
        Some(Ok(f)) => crate::wire::parse_value(&f.text, false)
            .ok()
            .filter(|v| v.get("QMP").is_some()),
        _ => None,
    };
    Ok(greeting)
}

/// Run the checks matching any of `patterns` (globs such as `"greeting.*"`, or id prefixes;
/// every check when empty) against `target`, as `qmpspec check` would.
pub fn conformance(target: Target, patterns: &[&str]) -> Result<Summary, RunError> {
    CheckRun::new()
        .only(patterns)
        .run(&target)
        .map(Summary::from)
}

/// The outcome of a [`conformance`] run.
#[derive(Debug, Clone)]
pub struct Summary {
    report: RunReport,
}

impl From<RunReport> for Summary {
    fn from(report: RunReport) -> Summary {
        Summary { report }
    }
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
            writeln!(f, "{} {}: {}", o.status, r.check.id, o.headline())?;
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
            Err(RunError::NoSuchCheck(_))
        ));
        let e = conformance(Target::Unix("/nonexistent/qmpspec.sock".into()), &[]).unwrap_err();
        assert!(matches!(e, RunError::Unreachable(_)), "{e}");
    }

    #[test]
    fn targets_share_the_jobs_and_a_socket_is_one_lane() {
        let sock = |p: &str| Target::Unix(p.into());
        let targets = [
            sock("/a"),
            Target::qemu(None),
            sock("/a"),
            Target::parse_connect("tcp:h:1").unwrap(),
        ];
        let jobs = CheckRun::new().jobs_for_all(&targets);
        assert_eq!(jobs.threads, DEFAULT_JOBS);
        assert_eq!(jobs.lanes, [0, 1, 0, 2]);
        assert_eq!(jobs.limits, [1, DEFAULT_JOBS, 1]);
        let jobs = CheckRun::new().jobs(3).jobs_for_all(&targets);
        assert_eq!((jobs.threads, jobs.limits), (3, vec![3, 3, 3]));
        // One target: as many as that target takes, as before.
        let jobs = CheckRun::new().jobs_for_all(&[sock("/a")]);
        assert_eq!((jobs.threads, jobs.limits), (1, vec![1]));
        assert!(matches!(
            CheckRun::new().run_matrix(&[]),
            Err(RunError::NoTarget)
        ));
    }

    #[test]
    fn options_reach_the_schema_checks() {
        let run = CheckRun::new()
            .only(["schema.*"])
            .skip(["schema.event-data"])
            .schema(SchemaOptions {
                cases: 0,
                ..SchemaOptions::default()
            });
        let s = Summary::from(run.run(&emulated_target(&[], None)).unwrap());
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
