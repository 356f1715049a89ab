//! Shrinking a failing case to the shortest input that still shows the same finding.

use super::exec::{run_case, CaseSetup, Finding};
use super::generate::Input;
use crate::endpoint::Target;
use std::time::{Duration, Instant};

/// Bounds on the work spent minimizing one finding.
#[derive(Debug, Clone, Copy)]
pub struct Effort {
    pub max_runs: usize,
    pub max_time: Duration,
}

struct Shrinker<'a> {
    target: &'a Target,
    setup: &'a CaseSetup,
    want: &'a Finding,
    runs: usize,
    effort: Effort,
    started: Instant,
}

impl Shrinker<'_> {
    fn exhausted(&self) -> bool {
        self.runs >= self.effort.max_runs || self.started.elapsed() >= self.effort.max_time
    }

    fn reproduces(&mut self, inputs: &[Input]) -> bool {
        if self.exhausted() {
            return false;
        }
        self.runs += 1;
        run_case(self.target, self.setup, inputs)
            .ok()
            .and_then(|r| r.finding)
            .is_some_and(|f| f.same_as(self.want))
    }
}

/// Shrink `inputs` (which showed `want`): drop whole inputs, then cut bytes out of raw
/// inputs and arguments out of commands, keeping each step that still reproduces.
/// Returns the smallest reproducer found and the number of runs spent.
pub fn minimize(
    target: &Target,
    setup: &CaseSetup,
    inputs: Vec<Input>,
    want: &Finding,
    effort: Effort,
) -> (Vec<Input>, usize) {
    let mut s = Shrinker {
        target,
        setup,
        want,
        runs: 0,
        effort,
        started: Instant::now(),
    };
    let mut cur = inputs;
    // 1. Whole inputs, last first (later inputs are most often bystanders).
    let mut i = cur.len();
    while i > 0 && cur.len() > 1 {
        i -= 1;
        let mut candidate = cur.clone();
        candidate.remove(i);
        if s.reproduces(&candidate) {
            cur = candidate;
        }
        if s.exhausted() {
            return (cur, s.runs);
        }
    }
    // 2. Inside each input.
    for idx in 0..cur.len() {
        match cur[idx].clone() {
            Input::Raw(bytes) => {
                let mut bytes = bytes;
                let mut chunk = bytes.len() / 2;
                while chunk >= 1 && !s.exhausted() {
                    let mut start = 0;
                    let mut progressed = false;
                    while start + chunk <= bytes.len() && !s.exhausted() {
                        let mut candidate_bytes = bytes.clone();
                        candidate_bytes.drain(start..start + chunk);
                        let mut candidate = cur.clone();
                        candidate[idx] = Input::Raw(candidate_bytes.clone());
                        if s.reproduces(&candidate) {
                            bytes = candidate_bytes;
                            cur = candidate;
                            progressed = true;
                        } else {
                            start += chunk;
                        }
                    }
                    if !progressed {
                        chunk /= 2;
                    }
                }
            }
            Input::Command(cmd) => {
                let keys: Vec<String> = cmd
                    .arguments
                    .as_ref()
                    .map(|a| a.keys().cloned().collect())
                    .unwrap_or_default();
                for k in keys {
                    let Input::Command(mut c) = cur[idx].clone() else {
                        break;
                    };
                    if let Some(a) = c.arguments.as_mut() {
                        a.remove(&k);
                    }
                    let mut candidate = cur.clone();
                    candidate[idx] = Input::Command(c);
                    if s.reproduces(&candidate) {
                        cur = candidate;
                    }
                }
            }
        }
    }
    (cur, s.runs)
}
