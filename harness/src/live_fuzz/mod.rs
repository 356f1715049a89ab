//! Live fuzzing of a real endpoint (`qmpspec fuzz`) and replay of what it found
//! (`qmpspec replay`).
//!
//! Each case runs on a fresh connection (or process): handshake, a few generated inputs
//! (grammar-aware commands from the endpoint's own command list, broken envelopes, mutated
//! recorded transcripts, deep nesting), then a probe that must still be answered. A case
//! that shows a finding (the endpoint closed or died, stalled past a budget that grows with
//! the input, answered far slower than usual, or broke a protocol rule) is minimized and
//! saved as a reproducer. Several workers may fuzz at once (`jobs`), each with its own
//! connections and seed; a finding they share is saved once.

mod exec;
mod generate;
mod minimize;
mod reproducer;
mod workers;

pub use exec::{run_case, CaseRun, CaseSetup, Finding, FindingKind};
pub use generate::{Generator, Input, KINDS};
pub use minimize::{minimize, Effort};
pub use reproducer::{Reproducer, ReproducerError};
pub use workers::worker_seed;

use crate::budget::Budget;
use crate::endpoint::{Client, ConnectError, Stall, Target};
use crate::message::Command;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;
use workers::Campaign;

/// How to fuzz.
#[derive(Debug, Clone)]
pub struct FuzzOptions {
    /// Stop after this long.
    pub time: Duration,
    /// Seed of the generator: the same seed sends the same inputs (worker `k` uses
    /// [`worker_seed`]`(seed, k)`).
    pub seed: u64,
    /// Workers fuzzing at once, each on its own connections or processes (at least 1).
    pub jobs: usize,
    /// Where reproducers go (none: findings are only reported).
    pub out: Option<PathBuf>,
    /// Base reply budget.
    pub timeout: Duration,
    /// Stop after this many cases, across workers (for tests).
    pub max_cases: Option<u64>,
}

/// A snapshot of a run in progress.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    /// Cases run, across workers.
    pub execs: u64,
    pub workers: usize,
    pub elapsed: Duration,
    pub findings: usize,
    /// Distinct command names sent / listed by the endpoint.
    pub commands_covered: usize,
    pub commands_total: usize,
    /// Inputs sent, by generator kind.
    pub input_kinds: BTreeMap<&'static str, u64>,
    /// Server messages received, by kind (return, error, event).
    pub message_kinds: BTreeMap<&'static str, u64>,
}

impl Progress {
    /// Cases per second so far.
    pub fn rate(&self) -> f64 {
        self.execs as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// One distinct finding of a run.
#[derive(Debug, Clone)]
pub struct SavedFinding {
    pub reproducer: Reproducer,
    /// Inputs before minimization.
    pub original_inputs: usize,
    pub original_bytes: usize,
    /// Where the reproducer was written.
    pub file: Option<PathBuf>,
    /// How many cases showed the same finding, across workers.
    pub hits: u64,
    /// The same, per worker.
    pub hits_by_worker: Vec<u64>,
    /// The worker that saw it first (and minimized it): the reproducer's seed is its seed.
    pub worker: usize,
}

/// The result of a fuzzing run.
#[derive(Debug, Clone)]
pub struct FuzzSummary {
    pub progress: Progress,
    pub findings: Vec<SavedFinding>,
}

impl FuzzSummary {
    /// Findings counted by kind.
    pub fn by_kind(&self) -> BTreeMap<&'static str, usize> {
        let mut m = BTreeMap::new();
        for f in &self.findings {
            *m.entry(f.reproducer.finding.kind.as_str()).or_default() += 1;
        }
        m
    }
}

/// Why a fuzzing run could not be made.
#[derive(Debug, thiserror::Error)]
pub enum FuzzError {
    #[error("cannot reach the target: {0}")]
    Unreachable(#[from] ConnectError),
    #[error("{target}: no greeting: {stall}")]
    NoGreeting { target: String, stall: Stall },
    #[error("{target}: negotiation failed: {stall}")]
    Negotiation { target: String, stall: Stall },
    /// Several workers on a socket, which serves one client at a time: the others would
    /// wait for their greeting, and their stalls would be reported as the endpoint's.
    #[error("{target} is a socket, which serves one client at a time: {jobs} workers would wait on each other (use one, or a target each worker starts afresh: --qemu, --spawn, --emulated)")]
    SharedSocket { target: String, jobs: usize },
    /// A finding could not be saved under `--out`.
    #[error("{}: {source}", path.display())]
    Save {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

/// What the endpoint publishes about itself, learned on a first connection.
#[derive(Debug)]
struct Discovery {
    commands: Vec<String>,
    oob: bool,
    probe: String,
}

fn discover(target: &Target, timeout: Duration) -> Result<Discovery, FuzzError> {
    let mut c = Client::connect(target)?;
    let g = c.greeting(timeout).map_err(|stall| FuzzError::NoGreeting {
        target: target.description(),
        stall,
    })?;
    c.handshake(&[], timeout)
        .map_err(|stall| FuzzError::Negotiation {
            target: target.description(),
            stall,
        })?;
    let mut commands = Vec::new();
    if let Ok(r) = c.execute(Command::new("query-commands").id("discover"), timeout) {
        if let Some(serde_json::Value::Array(list)) = r.return_value() {
            commands = list
                .iter()
                .filter_map(|x| x.get("name")?.as_str().map(str::to_string))
                .collect();
        }
    }
    commands.sort();
    let probe = if commands.iter().any(|c| c == "query-version") || commands.is_empty() {
        "query-version"
    } else {
        "qmp_capabilities"
    };
    Ok(Discovery {
        commands,
        oob: g.offers("oob"),
        probe: probe.to_string(),
    })
}

/// A fuzzing run ready to go: its options checked, the target reached and what it publishes
/// learned, the output directory made. [`start`] makes one, [`Fuzzing::run`] runs it.
#[derive(Debug)]
pub struct Fuzzing<'t> {
    target: &'t Target,
    opts: FuzzOptions,
    discovery: Discovery,
}

/// Get ready to fuzz `target`: `Err` when several workers would share a socket, the target
/// cannot be reached or never completes a handshake, or the output directory cannot be made.
pub fn start<'t>(target: &'t Target, opts: &FuzzOptions) -> Result<Fuzzing<'t>, FuzzError> {
    if opts.jobs > 1 && target.is_socket() {
        return Err(FuzzError::SharedSocket {
            target: target.description(),
            jobs: opts.jobs,
        });
    }
    let discovery = discover(target, opts.timeout)?;
    if let Some(dir) = &opts.out {
        std::fs::create_dir_all(dir).map_err(|source| FuzzError::Save {
            path: dir.clone(),
            source,
        })?;
    }
    Ok(Fuzzing {
        target,
        opts: FuzzOptions {
            jobs: opts.jobs.max(1),
            ..opts.clone()
        },
        discovery,
    })
}

/// Fuzz `target` with `opts.jobs` workers until the time is up: [`start`], then
/// [`Fuzzing::run`].
pub fn run(
    target: &Target,
    opts: &FuzzOptions,
    progress: impl FnMut(&Progress),
) -> Result<FuzzSummary, FuzzError> {
    start(target, opts)?.run(progress)
}

impl Fuzzing<'_> {
    /// Fuzz until the time is up. `progress` is called about once a second with the
    /// counters of all workers. `Err` when a reproducer cannot be written.
    pub fn run(self, mut progress: impl FnMut(&Progress)) -> Result<FuzzSummary, FuzzError> {
        let Fuzzing {
            target,
            opts,
            discovery: d,
        } = self;
        let setup = CaseSetup {
            enable_oob: d.oob,
            probe: d.probe,
            budget: Budget::new(opts.timeout),
        };
        let campaign = Campaign::new(target, &opts, setup, &d.commands);
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..opts.jobs)
                .map(|k| {
                    let campaign = &campaign;
                    scope.spawn(move || campaign.work(k))
                })
                .collect();
            let mut last_report = std::time::Instant::now();
            while !workers.iter().all(|w| w.is_finished()) {
                std::thread::sleep(Duration::from_millis(50));
                if last_report.elapsed() >= Duration::from_secs(1) {
                    last_report = std::time::Instant::now();
                    progress(&campaign.progress());
                }
            }
        });
        let p = campaign.progress();
        progress(&p);
        let findings = campaign.finish()?;
        Ok(FuzzSummary {
            progress: p,
            findings,
        })
    }
}

/// Run a reproducer against `target`: `Ok(Some(finding))` when it shows the same finding
/// again, `Ok(None)` when the endpoint now behaves.
pub fn replay(target: &Target, r: &Reproducer) -> Result<(CaseRun, bool), ConnectError> {
    let run = run_case(target, &r.setup, &r.inputs)?;
    let same = run.finding.as_ref().is_some_and(|f| f.same_as(&r.finding));
    Ok((run, same))
}
