//! Live fuzzing of a real endpoint (`qmpspec fuzz`) and replay of what it found
//! (`qmpspec replay`).
//!
//! Each case runs on a fresh connection (or process): handshake, a few generated inputs
//! (grammar-aware commands from the endpoint's own command list, broken envelopes, mutated
//! recorded transcripts, deep nesting), then a probe that must still be answered. A case
//! that shows a finding (the endpoint closed or died, stalled past a budget that grows with
//! the input, answered far slower than usual, or broke a protocol rule) is minimized and
//! saved as a reproducer.

mod exec;
mod generate;
mod minimize;
mod reproducer;
mod rng;

pub use exec::{run_case, Budget, CaseRun, CaseSetup, Finding, FindingKind};
pub use generate::{Generator, Input, KINDS};
pub use minimize::{minimize, Effort};
pub use reproducer::{Reproducer, ReproducerError};
pub use rng::Rng;

use crate::endpoint::{Client, ConnectError, Target};
use crate::message::Command;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How to fuzz.
#[derive(Debug, Clone)]
pub struct FuzzOptions {
    /// Stop after this long.
    pub time: Duration,
    /// Seed of the generator: the same seed sends the same inputs.
    pub seed: u64,
    /// Where reproducers go (none: findings are only reported).
    pub out: Option<PathBuf>,
    /// Base reply budget.
    pub timeout: Duration,
    /// Stop after this many cases (for tests).
    pub max_cases: Option<u64>,
}

/// A snapshot of a run in progress.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    pub execs: u64,
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
    /// How many cases showed the same finding.
    pub hits: u64,
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

/// What the endpoint publishes about itself, learned on a first connection.
struct Discovery {
    commands: Vec<String>,
    oob: bool,
    probe: String,
}

fn discover(target: &Target, timeout: Duration) -> Result<Discovery, String> {
    let mut c = Client::connect(target).map_err(|e| e.to_string())?;
    let g = c
        .greeting(timeout)
        .map_err(|e| format!("{}: no greeting: {e}", target.description()))?;
    c.handshake(&[], timeout)
        .map_err(|e| format!("{}: negotiation failed: {e}", target.description()))?;
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

/// Latency model: a finding is "slow" when the probe takes far longer than the median of
/// small cases plus the input-size allowance.
struct Latency {
    samples: Vec<Duration>,
}

impl Latency {
    fn median(&self) -> Option<Duration> {
        if self.samples.len() < 20 {
            return None;
        }
        let mut s = self.samples.clone();
        s.sort();
        Some(s[s.len() / 2])
    }

    fn is_slow(&self, rtt: Duration, allowance: Duration) -> bool {
        self.median()
            .is_some_and(|m| rtt > (m * 50).max(Duration::from_millis(500)) + allowance)
    }
}

/// Fuzz `target` until the time is up. `progress` is called about once a second.
/// `Err` only when the target cannot be reached or never completes a handshake.
pub fn run(
    target: &Target,
    opts: &FuzzOptions,
    mut progress: impl FnMut(&Progress),
) -> Result<FuzzSummary, String> {
    let started = Instant::now();
    let d = discover(target, opts.timeout)?;
    let mut gen = Generator::new(opts.seed, &d.commands, d.oob);
    let setup = CaseSetup {
        enable_oob: d.oob,
        probe: d.probe.clone(),
        budget: Budget {
            base: opts.timeout,
            per_byte: Duration::from_micros(5),
        },
    };
    if let Some(dir) = &opts.out {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let mut p = Progress {
        commands_total: d.commands.len(),
        ..Progress::default()
    };
    let mut covered: BTreeSet<String> = BTreeSet::new();
    let mut findings: Vec<SavedFinding> = Vec::new();
    let mut latency = Latency {
        samples: Vec::new(),
    };
    let mut last_report = Instant::now();
    while started.elapsed() < opts.time && opts.max_cases.is_none_or(|m| p.execs < m) {
        let case = gen.case();
        let inputs: Vec<Input> = case.iter().map(|(i, _)| i.clone()).collect();
        for (i, kind) in &case {
            *p.input_kinds.entry(kind).or_default() += 1;
            if let Input::Command(c) = i {
                if d.commands.binary_search(&c.name).is_ok() {
                    covered.insert(c.name.clone());
                }
            }
        }
        let run = run_case(target, &setup, &inputs).map_err(|e: ConnectError| e.to_string())?;
        p.execs += 1;
        *p.message_kinds.entry("return").or_default() += run.replies_ok as u64;
        *p.message_kinds.entry("error").or_default() += run.replies_err as u64;
        *p.message_kinds.entry("event").or_default() += run.events as u64;
        let mut finding = run.finding.clone();
        if finding.is_none() {
            if let Some(rtt) = run.probe_rtt {
                let allowance = setup.budget.per_byte * run.bytes_sent as u32;
                if latency.is_slow(rtt, allowance) {
                    // Latency is noisy: a slow case must be slow twice.
                    let again = run_case(target, &setup, &inputs)
                        .ok()
                        .and_then(|r| r.probe_rtt);
                    if again.is_some_and(|a| latency.is_slow(a, allowance)) {
                        finding = Some(Finding {
                            kind: FindingKind::Slow,
                            clause: None,
                            message: format!(
                                "probe answered after {rtt:?} (median {:?}) for {} bytes of input",
                                latency.median().unwrap_or_default(),
                                run.bytes_sent
                            ),
                        });
                    }
                } else if run.bytes_sent < 4096 {
                    latency.samples.push(rtt);
                    if latency.samples.len() > 200 {
                        latency.samples.remove(0);
                    }
                }
            }
        }
        if let Some(f) = finding {
            if let Some(known) = findings
                .iter_mut()
                .find(|k| k.reproducer.finding.same_as(&f))
            {
                known.hits += 1;
            } else {
                let original_bytes = run.bytes_sent;
                let (min_inputs, _runs) = if f.kind == FindingKind::Slow {
                    (inputs.clone(), 0)
                } else {
                    minimize(
                        target,
                        &setup,
                        inputs.clone(),
                        &f,
                        Effort {
                            max_runs: 200,
                            max_time: Duration::from_secs(30),
                        },
                    )
                };
                let confirm = run_case(target, &setup, &min_inputs).ok();
                let transcript = confirm
                    .as_ref()
                    .map(|r| r.transcript.clone())
                    .unwrap_or(run.transcript.clone());
                let finding = confirm
                    .and_then(|r| r.finding)
                    .filter(|g| g.same_as(&f))
                    .unwrap_or(f);
                let reproducer = Reproducer {
                    finding,
                    setup: setup.clone(),
                    inputs: min_inputs,
                    seed: opts.seed,
                    transcript,
                };
                let file = match &opts.out {
                    Some(dir) => {
                        let name = format!(
                            "finding-{:03}-{}.json",
                            findings.len() + 1,
                            reproducer.finding.kind.as_str()
                        );
                        let path = dir.join(name);
                        let text = serde_json::to_vec_pretty(&reproducer.to_json())
                            .expect("reproducer JSON serializes");
                        std::fs::write(&path, text)
                            .map_err(|e| format!("{}: {e}", path.display()))?;
                        Some(path)
                    }
                    None => None,
                };
                findings.push(SavedFinding {
                    reproducer,
                    original_inputs: inputs.len(),
                    original_bytes,
                    file,
                    hits: 1,
                });
            }
        }
        p.findings = findings.len();
        p.commands_covered = covered.len();
        p.elapsed = started.elapsed();
        if last_report.elapsed() >= Duration::from_secs(1) {
            last_report = Instant::now();
            progress(&p);
        }
    }
    p.elapsed = started.elapsed();
    progress(&p);
    Ok(FuzzSummary {
        progress: p,
        findings,
    })
}

/// Run a reproducer against `target`: `Ok(Some(finding))` when it shows the same finding
/// again, `Ok(None)` when the endpoint now behaves.
pub fn replay(target: &Target, r: &Reproducer) -> Result<(CaseRun, bool), ConnectError> {
    let run = run_case(target, &r.setup, &r.inputs)?;
    let same = run.finding.as_ref().is_some_and(|f| f.same_as(&r.finding));
    Ok((run, same))
}
