//! A matrix of two endpoints against one, side by side in one run: the protocol suite (every
//! check but `schema.*`) against QEMU 7.2 alone (`CheckRun::run`), then against QEMU 7.2 and
//! QEMU 10.0.2 at once (`CheckRun::run_matrix`), with the same defaults as `qmpspec check`
//! (8 jobs in all, shared by the targets). The target: the matrix takes less than twice
//! the time of one.
//!
//! `cargo bench --bench matrix` prints criterion's figures for both, then a summary line with
//! the median time of each and their ratio. Each run takes seconds, so criterion samples
//! one run at a time (10 samples, its minimum). Skips loudly when either QEMU is absent
//! (QEMU 10.0.2 from `ci/setup.sh`'s prefix `target/qemu-10.0/bin`, or `$QMPSPEC_QEMU10`).

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use qmpspec::endpoint::Target;
use qmpspec::CheckRun;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Every run's time, per bench, to sum up after criterion's own report.
static ONE: Mutex<Vec<Duration>> = Mutex::new(Vec::new());
static MATRIX: Mutex<Vec<Duration>> = Mutex::new(Vec::new());

/// `program --version` names `version`.
fn is_version(program: &str, version: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(&format!("version {version}")))
}

/// QEMU 7.2's and QEMU 10.0.2's system emulators, or why not.
fn both_qemus() -> Result<(String, String), String> {
    let old = "qemu-system-x86_64".to_string();
    let dir = std::env::var_os("QMPSPEC_QEMU10")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/qemu-10.0/bin"));
    let new = dir
        .join("qemu-system-x86_64")
        .to_string_lossy()
        .into_owned();
    if !is_version(&old, "7.2.") {
        return Err(format!("{old} is not QEMU 7.2 (ci/setup.sh installs it)"));
    }
    if !is_version(&new, "10.0.2") {
        return Err(format!(
            "{new} is not QEMU 10.0.2 (ci/setup.sh installs it into target/qemu-10.0)"
        ));
    }
    Ok((old, new))
}

/// Run `f` `iters` times, recording each run's time in `into`.
fn timed(iters: u64, into: &Mutex<Vec<Duration>>, f: impl Fn()) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let t = Instant::now();
        f();
        let took = t.elapsed();
        into.lock().unwrap().push(took);
        total += took;
    }
    total
}

fn bench(c: &mut Criterion) {
    let (old, new) = match both_qemus() {
        Ok(q) => q,
        Err(why) => {
            eprintln!("SKIPPED: the matrix bench: {why}");
            return;
        }
    };
    let (old, new) = (Target::qemu(Some(&old)), Target::qemu(Some(&new)));
    let plan = CheckRun::new().skip(["schema."]);
    let checks = plan.checks().expect("checks are selected").len();
    let mut g = c.benchmark_group(format!("protocol suite ({checks} checks)"));
    g.sampling_mode(SamplingMode::Flat);
    g.sample_size(10);
    g.warm_up_time(Duration::from_millis(1));
    g.measurement_time(Duration::from_secs(1));
    g.bench_function("QEMU 7.2", |b| {
        b.iter_custom(|n| {
            timed(n, &ONE, || {
                let r = plan.run(&old).expect("QEMU 7.2 is reachable");
                assert_eq!(r.results.len(), checks);
            })
        })
    });
    g.bench_function("matrix: QEMU 7.2 + QEMU 10.0.2", |b| {
        b.iter_custom(|n| {
            timed(n, &MATRIX, || {
                let m = plan
                    .run_matrix(&[old.clone(), new.clone()])
                    .expect("both QEMUs are reachable");
                assert_eq!(m.checks(), checks);
            })
        })
    });
    g.finish();
}

fn median(times: &Mutex<Vec<Duration>>) -> Option<Duration> {
    let mut t = times.lock().unwrap().clone();
    t.sort();
    t.get(t.len() / 2).copied()
}

/// The median run of each, and their ratio.
fn summary() {
    if let (Some(one), Some(matrix)) = (median(&ONE), median(&MATRIX)) {
        println!(
            "summary: protocol suite, median of {} and {} runs: QEMU 7.2 alone {:.2} s, matrix of QEMU 7.2 + 10.0.2 {:.2} s, ratio {:.2}x (target: under 2x)",
            ONE.lock().unwrap().len(),
            MATRIX.lock().unwrap().len(),
            one.as_secs_f64(),
            matrix.as_secs_f64(),
            matrix.as_secs_f64() / one.as_secs_f64()
        );
    }
}

criterion_group!(benches, bench);
criterion_main!(benches, summary);
