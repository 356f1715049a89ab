//! Selecting checks (`--only`, `--skip`) and running them in parallel, each on its own
//! connection or process.

use super::{Check, Ctx, Outcome};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// A check and how it came out.
#[derive(Debug, Clone)]
pub struct CheckResult {
    pub check: Check,
    pub outcome: Outcome,
    pub duration: Duration,
}

/// An `--only`/`--skip` pattern: a glob (`*`, `?`) over the whole id, or else an id prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern(String);

impl Pattern {
    pub fn new(s: &str) -> Pattern {
        Pattern(s.to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn matches(&self, id: &str) -> bool {
        if self.0.contains(['*', '?']) {
            glob(self.0.as_bytes(), id.as_bytes())
        } else {
            id.starts_with(&self.0)
        }
    }
}

fn glob(p: &[u8], s: &[u8]) -> bool {
    // Iterative wildcard matching with backtracking to the last `*`.
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == s[si]) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, si));
            pi += 1;
        } else if let Some((sp, ss)) = star {
            pi = sp + 1;
            si = ss + 1;
            star = Some((sp, ss + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len()
}

/// The checks of `from` that match any of `only` (all when empty) and none of `skip`.
/// An `only` pattern that matches nothing is an error (probably a typo).
pub fn select(
    from: &'static [Check],
    only: &[Pattern],
    skip: &[Pattern],
) -> Result<Vec<&'static Check>, String> {
    for o in only {
        if !from.iter().any(|c| o.matches(c.id)) {
            return Err(format!(
                "--only {}: no check matches (see qmpspec list)",
                o.as_str()
            ));
        }
    }
    Ok(from
        .iter()
        .filter(|c| only.is_empty() || only.iter().any(|o| o.matches(c.id)))
        .filter(|c| !skip.iter().any(|s| s.matches(c.id)))
        .collect())
}

/// Checks that take longest (large inputs): started first so the suite finishes sooner.
const SLOW_FIRST: &[&str] = &[
    "schema.invalid-arguments",
    "robustness.large-string",
    "robustness.many-tokens",
    "robustness.deep-nesting",
    "robustness.split-frame",
    "parser_reset.every-control-char",
    "robustness.malformed-json",
    "robustness.many-commands",
];

/// Run one check, turning a panic into an `error` outcome.
pub fn run_one(ctx: &Ctx, check: &Check) -> CheckResult {
    let start = Instant::now();
    let outcome = match panic::catch_unwind(AssertUnwindSafe(|| (check.run)(ctx))) {
        Ok(o) => o,
        Err(e) => {
            let msg = e
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| e.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Outcome::error(format!("the check panicked: {msg}"))
        }
    };
    CheckResult {
        check: *check,
        outcome,
        duration: start.elapsed(),
    }
}

/// Run `checks` on up to `threads` threads; `on_done` sees each result as it finishes.
/// Results come back in the order of `checks`.
pub fn run(
    ctx: &Ctx,
    checks: &[&'static Check],
    threads: usize,
    mut on_done: impl FnMut(&CheckResult),
) -> Vec<CheckResult> {
    let mut order: Vec<usize> = (0..checks.len()).collect();
    order.sort_by_key(|&i| {
        SLOW_FIRST
            .iter()
            .position(|s| *s == checks[i].id)
            .unwrap_or(SLOW_FIRST.len())
    });
    let next = AtomicUsize::new(0);
    let threads = threads.clamp(1, checks.len().max(1));
    let mut results: Vec<Option<CheckResult>> = vec![None; checks.len()];
    thread::scope(|scope| {
        let (tx, rx) = mpsc::channel();
        for _ in 0..threads {
            let tx = tx.clone();
            let (order, next) = (&order, &next);
            scope.spawn(move || loop {
                let k = next.fetch_add(1, Ordering::SeqCst);
                let Some(&i) = order.get(k) else { return };
                let r = run_one(ctx, checks[i]);
                if tx.send((i, r)).is_err() {
                    return;
                }
            });
        }
        drop(tx);
        for (i, r) in rx {
            on_done(&r);
            results[i] = Some(r);
        }
    });
    results
        .into_iter()
        .map(|r| r.expect("every check ran"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert!(Pattern::new("robustness.*").matches("robustness.split-frame"));
        assert!(!Pattern::new("robustness.*").matches("oob.overtake"));
        assert!(Pattern::new("robustness").matches("robustness.split-frame"));
        assert!(!Pattern::new("*.id*").matches("ids.pipelined"));
        assert!(Pattern::new("*-frame").matches("robustness.split-frame"));
        assert!(Pattern::new("o?b.*").matches("oob.overtake"));
        assert!(Pattern::new("*").matches("anything"));
        assert!(!Pattern::new("ids.x*y").matches("ids.xz"));
    }

    #[test]
    fn selection() {
        let all = super::super::all();
        let s = select(
            all,
            &[Pattern::new("oob.*")],
            &[Pattern::new("oob.overtake")],
        )
        .unwrap();
        assert!(!s.is_empty());
        assert!(s
            .iter()
            .all(|c| c.id.starts_with("oob.") && c.id != "oob.overtake"));
        assert_eq!(select(all, &[], &[]).unwrap().len(), all.len());
        assert!(select(all, &[Pattern::new("nosuch.*")], &[]).is_err());
    }
}
