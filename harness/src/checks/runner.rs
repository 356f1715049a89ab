//! Selecting checks (`--only`, `--skip`) and running them in parallel, each on its own
//! connection or process. `check-client` selects and runs its scenarios with the same
//! [`Pattern`]s and the same pool ([`in_parallel`]).

use super::{Check, Ctx, Outcome, Subject};
use std::collections::VecDeque;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{mpsc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How far a run got.
#[derive(Debug, Clone, Copy)]
pub enum Progress<'a> {
    /// A check finished.
    Finished(&'a CheckResult),
    /// A long check got through `done` of `total` steps (commands, say).
    Working {
        check: &'static str,
        done: usize,
        total: usize,
    },
}

/// Where a run reports its progress; called from the threads that run checks.
#[derive(Clone)]
pub struct ProgressSink(std::sync::Arc<dyn for<'a> Fn(Progress<'a>) + Send + Sync>);

impl ProgressSink {
    pub fn new(f: impl for<'a> Fn(Progress<'a>) + Send + Sync + 'static) -> ProgressSink {
        ProgressSink(std::sync::Arc::new(f))
    }

    /// Tell the sink how far the run got.
    pub fn report(&self, p: Progress) {
        (self.0)(p)
    }
}

impl std::fmt::Debug for ProgressSink {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("ProgressSink")
    }
}

/// A check (or a `check-client` scenario) and how it came out.
#[derive(Debug, Clone)]
pub struct CheckResult {
    pub check: Subject,
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

    /// The items of `from` whose id matches any of `only` (all when it is empty) and none of
    /// `skip`, in order; or, when one of `only` matches no id at all (probably a typo), that
    /// pattern.
    pub fn select<'a, T>(
        from: &'a [T],
        id: impl Fn(&T) -> &str,
        only: &[Pattern],
        skip: &[Pattern],
    ) -> Result<Vec<&'a T>, Pattern> {
        if let Some(o) = only.iter().find(|o| !from.iter().any(|x| o.matches(id(x)))) {
            return Err(o.clone());
        }
        Ok(from
            .iter()
            .filter(|x| only.is_empty() || only.iter().any(|o| o.matches(id(x))))
            .filter(|x| !skip.iter().any(|s| s.matches(id(x))))
            .collect())
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

/// An `--only` pattern that matches no check (probably a typo).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--only {}: no check matches (see qmpspec list)", .0.as_str())]
pub struct NoSuchCheck(pub Pattern);

/// The checks of `from` that match any of `only` (all when empty) and none of `skip`.
pub fn select(
    from: &'static [Check],
    only: &[Pattern],
    skip: &[Pattern],
) -> Result<Vec<&'static Check>, NoSuchCheck> {
    Pattern::select(from, |c| c.id, only, skip).map_err(NoSuchCheck)
}

/// Run one check, turning a panic into an `error` outcome.
pub fn run_one(ctx: &Ctx, check: &Check) -> CheckResult {
    let start = Instant::now();
    let ctx = ctx.for_check(check.id);
    let outcome = match panic::catch_unwind(AssertUnwindSafe(|| (check.run)(&ctx))) {
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
        check: check.subject(),
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
    let jobs = Jobs::shared(threads, vec![threads]);
    let mut runs = run_against(std::slice::from_ref(ctx), checks, &jobs, |_, r| on_done(r));
    runs.pop().expect("one run per context")
}

/// How many checks run at once: `threads` in all, and at most `limits[lanes[t]]` against
/// target `t` (targets that share a socket share a lane: it serves one client at a time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jobs {
    pub threads: usize,
    /// The lane of each target.
    pub lanes: Vec<usize>,
    /// How many checks each lane runs at once.
    pub limits: Vec<usize>,
}

impl Jobs {
    /// `threads` in all; target `t` in lane `t`, limited to `limits[t]`.
    pub fn shared(threads: usize, limits: Vec<usize>) -> Jobs {
        Jobs {
            threads,
            lanes: (0..limits.len()).collect(),
            limits,
        }
    }
}

/// Run `checks` against each of `ctxs` (a matrix: one run per context) on the threads
/// `jobs` allows; `on_done` sees each result, with the index of its context, as it
/// finishes. Slow checks start first, the targets taking turns, so that every run finishes
/// about as soon as it can. Results come back per context, in the order of `checks`.
pub fn run_against(
    ctxs: &[Ctx],
    checks: &[&'static Check],
    jobs: &Jobs,
    mut on_done: impl FnMut(usize, &CheckResult),
) -> Vec<Vec<CheckResult>> {
    // Slow checks first, so that the run finishes sooner (a stable sort keeps table order).
    let mut by_speed: Vec<usize> = (0..checks.len()).collect();
    by_speed.sort_by_key(|&i| !checks[i].slow);
    let n = checks.len();
    // Work item `t * n + c` is check `c` against context `t`.
    let order: Vec<usize> = by_speed
        .iter()
        .flat_map(|&c| (0..ctxs.len()).map(move |t| t * n + c))
        .collect();
    let mut flat = in_lanes(
        &order,
        jobs.threads,
        |i| jobs.lanes[i / n.max(1)],
        &jobs.limits,
        |i| (i / n, run_one(&ctxs[i / n], checks[i % n])),
        |(t, r)| on_done(*t, r),
    )
    .into_iter();
    (0..ctxs.len())
        .map(|_| flat.by_ref().take(n).map(|(_, r)| r).collect())
        .collect()
}

/// The worker pool of every run: `work` on each index of `order` (a permutation of
/// `0..order.len()`, started in that order) on up to `threads` threads; `on_done` sees each
/// result as it finishes. Results come back by index.
pub fn in_parallel<R: Send>(
    order: &[usize],
    threads: usize,
    work: impl Fn(usize) -> R + Sync,
    on_done: impl FnMut(&R),
) -> Vec<R> {
    in_lanes(order, threads, |_| 0, &[threads], work, on_done)
}

/// [`in_parallel`], with at most `limits[lane(i)]` items of one lane running at once: an
/// item whose lane is full waits, and the next one whose lane has room starts instead.
pub fn in_lanes<R: Send>(
    order: &[usize],
    threads: usize,
    lane: impl Fn(usize) -> usize + Sync,
    limits: &[usize],
    work: impl Fn(usize) -> R + Sync,
    mut on_done: impl FnMut(&R),
) -> Vec<R> {
    let threads = threads.clamp(1, order.len().max(1));
    let queue = Mutex::new(Lanes {
        waiting: order.iter().copied().collect(),
        busy: vec![0; limits.len()],
    });
    let freed = Condvar::new();
    let mut results: Vec<Option<R>> = (0..order.len()).map(|_| None).collect();
    thread::scope(|scope| {
        let (tx, rx) = mpsc::channel();
        for _ in 0..threads {
            let tx = tx.clone();
            let (queue, freed, lane, work) = (&queue, &freed, &lane, &work);
            scope.spawn(move || {
                while let Some(i) = Lanes::take(queue, freed, lane, limits) {
                    // Frees the lane even if `work` panics, so that no worker waits forever.
                    let _running = Running {
                        queue,
                        freed,
                        lane: lane(i),
                    };
                    if tx.send((i, work(i))).is_err() {
                        return;
                    }
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
        .map(|r| r.expect("every item ran"))
        .collect()
}

/// The items not started yet, in start order, and how many of each lane are running.
struct Lanes {
    waiting: VecDeque<usize>,
    busy: Vec<usize>,
}

impl Lanes {
    /// The first waiting item whose lane has room (waiting for one to free up while every
    /// waiting item's lane is full), or `None` when nothing is left.
    fn take(
        queue: &Mutex<Lanes>,
        freed: &Condvar,
        lane: impl Fn(usize) -> usize,
        limits: &[usize],
    ) -> Option<usize> {
        let mut q = queue.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if q.waiting.is_empty() {
                return None;
            }
            let room = |q: &Lanes, i: usize| q.busy[lane(i)] < limits[lane(i)].max(1);
            if let Some(k) = q.waiting.iter().position(|&i| room(&q, i)) {
                let i = q.waiting.remove(k).expect("a position in the queue");
                q.busy[lane(i)] += 1;
                return Some(i);
            }
            q = freed.wait(q).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// An item running in its lane; dropping it frees its place.
struct Running<'a> {
    queue: &'a Mutex<Lanes>,
    freed: &'a Condvar,
    lane: usize,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        q.busy[self.lane] -= 1;
        self.freed.notify_all();
    }
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

    #[test]
    fn the_pool_runs_everything_once_and_returns_by_index() {
        let order = [3, 0, 2, 1];
        let mut seen = Vec::new();
        let out = in_parallel(&order, 3, |i| i * 10, |r| seen.push(*r));
        assert_eq!(out, [0, 10, 20, 30]);
        seen.sort();
        assert_eq!(seen, [0, 10, 20, 30]);
        assert!(in_parallel(&[], 4, |i| i, |_| {}).is_empty());
    }

    #[test]
    fn a_lane_never_runs_more_than_its_limit_and_others_go_on() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        // Items 0..6 in lane 0 (one at a time, as a socket), 6..12 in lane 1 (three).
        let running = [AtomicUsize::new(0), AtomicUsize::new(0)];
        let most = [AtomicUsize::new(0), AtomicUsize::new(0)];
        let order: Vec<usize> = (0..12).collect();
        let lane = |i: usize| i / 6;
        let out = in_lanes(
            &order,
            4,
            lane,
            &[1, 3],
            |i| {
                let now = running[lane(i)].fetch_add(1, Ordering::SeqCst) + 1;
                most[lane(i)].fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(20));
                running[lane(i)].fetch_sub(1, Ordering::SeqCst);
                i
            },
            |_| {},
        );
        assert_eq!(out, order);
        assert_eq!(most[0].load(Ordering::SeqCst), 1);
        // Lane 1 did not wait for lane 0's queue: it ran several at once.
        assert!(most[1].load(Ordering::SeqCst) > 1);
        assert!(most[1].load(Ordering::SeqCst) <= 3);
    }

    #[test]
    fn a_panicking_item_frees_its_lane() {
        let order: Vec<usize> = (0..3).collect();
        let r = std::panic::catch_unwind(|| {
            in_lanes(
                &order,
                2,
                |_| 0,
                &[1],
                |i| assert!(i != 0, "item 0 panics"),
                |_| {},
            )
        });
        assert!(r.is_err(), "the panic comes through, and nothing hangs");
    }
}
