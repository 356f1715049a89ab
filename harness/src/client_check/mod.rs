//! `qmpspec check-client`: a scenario suite for QMP clients, the other side of the wire.
//!
//! Each scenario is one connection of the emulated monitor with a behaviour (a slow greeting,
//! unknown members, a large reply in pieces, events between replies, a connection cut
//! mid-reply, ...), and names the clause of the specification the client must honour there.
//! The client is either started by qmpspec once per scenario with the address of a fresh
//! socket (`--spawn`), or started by hand for every scenario (`--listen`).
//!
//! - [`scenario`]: the table.
//! - [`server`]: the sans-IO scenario server around the monitor's session.
//! - [`observe`]: what the client did on the wire.
//! - [`verdict`]: the rules a client is judged by.
//! - [`driver`]: sockets, the client's process and every deadline (the only I/O).
//! - [`cli`]: the command line, and the adapter into the reports of `qmpspec check`.

pub mod cli;
pub mod driver;
pub mod observe;
pub mod scenario;
pub mod server;
pub mod verdict;

pub use driver::{ListenError, Listener, SpawnError, SpawnSpec};
pub use scenario::{Scenario, ALL as SCENARIOS};
pub use verdict::{Baseline, ScenarioRun};

use crate::checks::{in_parallel, CheckResult, Outcome, Pattern, Progress, ProgressSink};
use crate::report::RunReport;
use crate::spec::Party;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// How the client under test is reached.
pub enum Client {
    /// Started by qmpspec once per scenario.
    Spawn(SpawnSpec),
    /// Started by hand; one connection per scenario, in order.
    Listen(Listener),
}

impl Client {
    /// A one-line description for reports.
    pub fn describe(&self) -> String {
        match self {
            Client::Spawn(s) => format!("client: {}", s.argv.join(" ")),
            Client::Listen(l) => format!("client connecting to {}", l.describe()),
        }
    }
}

/// An `--only` pattern that matches no scenario (probably a typo).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--only {}: no scenario matches (see qmpspec check-client --list)", .0.as_str())]
pub struct NoSuchScenario(pub Pattern);

/// The scenarios `only` and `skip` select (patterns as for `qmpspec check`), the baseline
/// always first: the other scenarios are judged against it.
pub fn select(
    only: &[Pattern],
    skip: &[Pattern],
) -> Result<Vec<&'static Scenario>, NoSuchScenario> {
    let chosen = Pattern::select(SCENARIOS, |s| s.id, only, skip).map_err(NoSuchScenario)?;
    let baseline = &SCENARIOS[0];
    Ok(std::iter::once(baseline)
        .chain(chosen.into_iter().filter(|s| !std::ptr::eq(*s, baseline)))
        .collect())
}

/// How a run goes.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Deadline of every scenario.
    pub timeout: Duration,
    /// Spawned clients running at once.
    pub jobs: usize,
    /// A client started by hand that has been silent this long, with nothing due to it, is
    /// done with the scenario.
    pub idle: Duration,
    /// Where the run says how far it got (each scenario as it finishes).
    pub progress: Option<ProgressSink>,
}

impl Default for RunOptions {
    fn default() -> RunOptions {
        RunOptions {
            timeout: Duration::from_secs(10),
            jobs: 4,
            idle: Duration::from_secs(2),
            progress: None,
        }
    }
}

/// Run `scenarios` (the baseline first, then the others on up to `jobs` threads of the
/// checks' pool when the client is spawned) into a report of the kind `qmpspec check`
/// writes; results come in the order of `scenarios`.
pub fn run(client: &Client, scenarios: &[&'static Scenario], opts: &RunOptions) -> RunReport {
    let started = SystemTime::now();
    let t0 = Instant::now();
    let dir = match client {
        Client::Spawn(_) => driver::RunDir::new().ok(),
        Client::Listen(_) => None,
    };
    let one = |s: &'static Scenario| -> ScenarioRun {
        match client {
            Client::Spawn(spec) => {
                let dir = dir.as_ref().map_or(std::env::temp_dir(), |d| d.0.clone());
                driver::run_spawned(s, spec, &dir, opts.timeout)
            }
            Client::Listen(l) => {
                eprintln!(
                    "qmpspec check-client: scenario {}: waiting for a client on {} ({:.0} s)",
                    s.id,
                    l.describe(),
                    opts.timeout.as_secs_f64()
                );
                driver::run_listening(s, l, opts.timeout, opts.idle)
            }
        }
    };
    let finished = |r: &CheckResult| {
        if let Some(sink) = &opts.progress {
            sink.report(Progress::Finished(r));
        }
    };
    let result = |s: &'static Scenario, outcome: Outcome, duration: Duration| CheckResult {
        check: s.subject(),
        outcome,
        duration,
    };
    let mut results = Vec::with_capacity(scenarios.len());
    if let Some((first, rest)) = scenarios.split_first() {
        let base_run = one(first);
        let base_outcome = verdict::judge(&base_run, None);
        let baseline = Baseline::from_run(&base_run, &base_outcome);
        results.push(result(first, base_outcome, base_run.duration));
        finished(&results[0]);
        let jobs = match client {
            Client::Spawn(_) => opts.jobs,
            Client::Listen(_) => 1,
        };
        // Without a baseline there is no run (the client never connected, or did not end
        // on its own); by hand, a scenario nobody connected to ends the run.
        let gave_up = AtomicBool::new(baseline.is_none());
        let order: Vec<usize> = (0..rest.len()).collect();
        let others = in_parallel(
            &order,
            jobs,
            |i| {
                let s = rest[i];
                if gave_up.load(Ordering::SeqCst) {
                    let why = "not run: the client did not connect or end in an earlier scenario";
                    return result(s, Outcome::error(why), Duration::ZERO);
                }
                let r = one(s);
                if r.conns.is_empty() && matches!(client, Client::Listen(_)) {
                    gave_up.store(true, Ordering::SeqCst);
                }
                result(s, verdict::judge(&r, baseline.as_ref()), r.duration)
            },
            finished,
        );
        results.extend(others);
    }
    RunReport {
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        judged: Party::Client,
        target: client.describe(),
        greeting: None,
        started,
        duration: t0.elapsed(),
        results,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_always_keeps_the_baseline_first() {
        let only = [Pattern::new("events.*")];
        let s = select(&only, &[Pattern::new("events.storm")]).unwrap();
        assert_eq!(s[0].id, "baseline.qemu-7.2");
        assert!(s[1..].iter().all(|x| x.id.starts_with("events.")));
        assert!(!s.iter().any(|x| x.id == "events.storm"));
        assert_eq!(select(&[], &[]).unwrap().len(), SCENARIOS.len());
        let s = select(&[Pattern::new("baseline")], &[Pattern::new("baseline")]).unwrap();
        assert_eq!(s.len(), 1);
        assert!(select(&[Pattern::new("nosuch.*")], &[]).is_err());
    }
}
