//! Several workers fuzzing one endpoint at once (`qmpspec fuzz --jobs N`): each has its own
//! generator, seeded from the run's seed, and its own connections or processes; what they
//! count and find goes to one shared campaign, where a finding seen by several workers is
//! minimized and saved once and its hits are counted per worker.

use super::exec::{run_case, CaseSetup, Finding, FindingKind};
use super::generate::{Generator, Input};
use super::minimize::{minimize, Effort};
use super::reproducer::Reproducer;
use super::{FuzzError, FuzzOptions, Progress, SavedFinding};
use crate::budget::Budget;
use crate::endpoint::Target;
use crate::rng::Rng;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The seed of worker `k`: the run's own seed for worker 0 (so `--jobs 1` sends what it always
/// sent), a SplitMix64 step from it for the others. `qmpspec fuzz --seed S --jobs 1` with
/// this seed sends exactly what worker `k` sent.
pub fn worker_seed(seed: u64, k: usize) -> u64 {
    if k == 0 {
        seed
    } else {
        Rng::new(seed ^ (k as u64).wrapping_mul(0xD1B5_4A32_D192_ED03)).next_u64()
    }
}

/// What the workers share.
pub(super) struct Campaign<'a> {
    pub target: &'a Target,
    pub opts: &'a FuzzOptions,
    pub setup: CaseSetup,
    pub commands: &'a [String],
    pub started: Instant,
    tally: Mutex<Tally>,
    /// Distinct findings in the order they were first seen; a slot is taken before the
    /// finding is minimized, so other workers count their hits instead of minimizing it too.
    findings: Mutex<Vec<Slot>>,
    /// Cases begun, across workers (for `max_cases`).
    begun: AtomicU64,
    stop: AtomicBool,
    /// The first error a worker met; it stops the others.
    error: Mutex<Option<FuzzError>>,
}

/// Counters of the whole run.
#[derive(Default)]
struct Tally {
    progress: Progress,
    covered: BTreeSet<String>,
}

struct Slot {
    /// The finding as first seen (what later ones are compared with).
    first: Finding,
    /// Hits per worker.
    hits: Vec<u64>,
    /// Filled in once minimized and saved.
    saved: Option<SavedFinding>,
}

impl<'a> Campaign<'a> {
    pub fn new(
        target: &'a Target,
        opts: &'a FuzzOptions,
        setup: CaseSetup,
        commands: &'a [String],
    ) -> Self {
        let tally = Tally {
            progress: Progress {
                commands_total: commands.len(),
                workers: opts.jobs,
                ..Progress::default()
            },
            covered: BTreeSet::new(),
        };
        Campaign {
            target,
            opts,
            setup,
            commands,
            started: Instant::now(),
            tally: Mutex::new(tally),
            findings: Mutex::new(Vec::new()),
            begun: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            error: Mutex::new(None),
        }
    }

    /// A snapshot of the counters.
    pub fn progress(&self) -> Progress {
        let mut p = self.tally.lock().unwrap().progress.clone();
        p.elapsed = self.started.elapsed();
        p
    }

    /// True once every worker should stop: time is up, enough cases ran, or one failed.
    fn done(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || self.started.elapsed() >= self.opts.time
    }

    /// Claim the next case; false when `max_cases` are already under way.
    fn claim(&self) -> bool {
        let n = self.begun.fetch_add(1, Ordering::Relaxed);
        self.opts.max_cases.is_none_or(|m| n < m)
    }

    fn fail(&self, e: FuzzError) {
        self.error.lock().unwrap().get_or_insert(e);
        self.stop.store(true, Ordering::Relaxed);
    }

    /// The findings (in the order first seen) and the first error, once the workers are done.
    pub fn finish(self) -> Result<Vec<SavedFinding>, FuzzError> {
        if let Some(e) = self.error.into_inner().unwrap() {
            return Err(e);
        }
        Ok(self
            .findings
            .into_inner()
            .unwrap()
            .into_iter()
            .filter_map(|s| {
                let mut saved = s.saved?;
                saved.hits = s.hits.iter().sum();
                saved.hits_by_worker = s.hits;
                Some(saved)
            })
            .collect())
    }

    /// Worker `k`: run cases until the campaign is done.
    pub fn work(&self, k: usize) {
        let seed = worker_seed(self.opts.seed, k);
        let mut gen = Generator::new(seed, self.commands, self.setup.enable_oob);
        let mut latency = Latency::default();
        while !self.done() && self.claim() {
            if let Err(e) = self.one_case(k, seed, &mut gen, &mut latency) {
                self.fail(e);
            }
        }
    }

    fn one_case(
        &self,
        k: usize,
        seed: u64,
        gen: &mut Generator,
        latency: &mut Latency,
    ) -> Result<(), FuzzError> {
        let case = gen.case();
        let inputs: Vec<Input> = case.iter().map(|(i, _)| i.clone()).collect();
        let run = run_case(self.target, &self.setup, &inputs)?;
        {
            let mut t = self.tally.lock().unwrap();
            let Tally {
                progress: p,
                covered,
            } = &mut *t;
            for (i, kind) in &case {
                *p.input_kinds.entry(kind).or_default() += 1;
                if let Input::Command(c) = i {
                    if self.commands.binary_search(&c.name).is_ok() && !covered.contains(&c.name) {
                        covered.insert(c.name.clone());
                    }
                }
            }
            p.commands_covered = covered.len();
            p.execs += 1;
            *p.message_kinds.entry("return").or_default() += run.replies_ok as u64;
            *p.message_kinds.entry("error").or_default() += run.replies_err as u64;
            *p.message_kinds.entry("event").or_default() += run.events as u64;
        }
        let mut finding = run.finding.clone();
        if finding.is_none() {
            if let Some(rtt) = run.probe_rtt {
                finding = self.judge_latency(latency, &inputs, rtt, run.bytes_sent);
            }
        }
        match finding {
            Some(f) => self.found(k, seed, f, inputs, run.bytes_sent, run.transcript),
            None => Ok(()),
        }
    }

    /// A slow reply is a finding when it is far slower than this worker's usual, twice.
    fn judge_latency(
        &self,
        latency: &mut Latency,
        inputs: &[Input],
        rtt: Duration,
        bytes_sent: usize,
    ) -> Option<Finding> {
        let allowance = Budget::fuzz_allowance(bytes_sent);
        if !latency.is_slow(rtt, allowance) {
            if bytes_sent < 4096 {
                latency.add(rtt);
            }
            return None;
        }
        // Latency is noisy: a slow case must be slow twice.
        let again = run_case(self.target, &self.setup, inputs)
            .ok()
            .and_then(|r| r.probe_rtt);
        again
            .is_some_and(|a| latency.is_slow(a, allowance))
            .then(|| Finding {
                kind: FindingKind::Slow,
                clause: None,
                message: format!(
                    "probe answered after {rtt:?} (median {:?}) for {bytes_sent} bytes of input",
                    latency.median().unwrap_or_default()
                ),
            })
    }

    /// Count a finding; the first worker to see it minimizes and saves it.
    fn found(
        &self,
        k: usize,
        seed: u64,
        f: Finding,
        inputs: Vec<Input>,
        original_bytes: usize,
        transcript: crate::endpoint::Transcript,
    ) -> Result<(), FuzzError> {
        let index = {
            let mut slots = self.findings.lock().unwrap();
            if let Some(s) = slots.iter_mut().find(|s| s.first.same_as(&f)) {
                s.hits[k] += 1;
                return Ok(());
            }
            let mut hits = vec![0; self.opts.jobs];
            hits[k] = 1;
            slots.push(Slot {
                first: f.clone(),
                hits,
                saved: None,
            });
            self.tally.lock().unwrap().progress.findings = slots.len();
            slots.len() - 1
        };
        let min_inputs = if f.kind == FindingKind::Slow {
            inputs.clone()
        } else {
            let effort = Effort {
                max_runs: 200,
                max_time: Duration::from_secs(30),
            };
            minimize(self.target, &self.setup, inputs.clone(), &f, effort).0
        };
        let confirm = run_case(self.target, &self.setup, &min_inputs).ok();
        let transcript = confirm
            .as_ref()
            .map_or(transcript, |r| r.transcript.clone());
        let finding = confirm
            .and_then(|r| r.finding)
            .filter(|g| g.same_as(&f))
            .unwrap_or(f);
        let reproducer = Reproducer {
            finding,
            setup: self.setup.clone(),
            inputs: min_inputs,
            seed,
            transcript,
        };
        let file = match &self.opts.out {
            Some(dir) => {
                let name = format!(
                    "finding-{:03}-{}.json",
                    index + 1,
                    reproducer.finding.kind.as_str()
                );
                let path = dir.join(name);
                let text = serde_json::to_vec_pretty(&reproducer.to_json())
                    .expect("reproducer JSON serializes");
                std::fs::write(&path, text).map_err(|source| FuzzError::Save {
                    path: path.clone(),
                    source,
                })?;
                Some(path)
            }
            None => None,
        };
        self.findings.lock().unwrap()[index].saved = Some(SavedFinding {
            reproducer,
            original_inputs: inputs.len(),
            original_bytes,
            file,
            hits: 0,
            hits_by_worker: Vec::new(),
            worker: k,
        });
        Ok(())
    }
}

/// Latency model of one worker: a reply is "slow" when the probe takes far longer than the
/// median of small cases plus the input-size allowance.
#[derive(Default)]
struct Latency {
    samples: Vec<Duration>,
}

impl Latency {
    fn add(&mut self, rtt: Duration) {
        self.samples.push(rtt);
        if self.samples.len() > 200 {
            self.samples.remove(0);
        }
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_seeds_are_distinct_and_worker_0_keeps_the_run_seed() {
        let seeds: BTreeSet<u64> = (0..64).map(|k| worker_seed(7, k)).collect();
        assert_eq!(seeds.len(), 64);
        assert_eq!(worker_seed(7, 0), 7);
        assert_eq!(worker_seed(7, 3), worker_seed(7, 3));
        assert_ne!(worker_seed(7, 1), worker_seed(8, 1));
    }
}
