//! The whole suite against the real QEMU 7.2 binaries: no check may fail. Skips loudly when a
//! binary is not installed.

use qmpspec::checks::{self, Ctx, Status};
use qmpspec::endpoint::Target;
use std::time::{Duration, Instant};

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
}

/// The two suites run one after the other: each already runs checks in parallel.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn suite_is_clean(target: Target) {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let ctx = Ctx::new(target, Duration::from_millis(2000));
    let selected: Vec<_> = checks::all().iter().collect();
    let t = Instant::now();
    let results = checks::run(&ctx, &selected, 8, |_| {});
    let failed: Vec<String> = results
        .iter()
        .filter(|r| matches!(r.outcome.status, Status::Fail | Status::Error))
        .map(|r| format!("{}: {} {}", r.check.id, r.outcome.status, r.outcome.message))
        .collect();
    assert!(failed.is_empty(), "{failed:#?}");
    let passed = results
        .iter()
        .filter(|r| r.outcome.status == Status::Pass)
        .count();
    assert!(passed > results.len() / 2, "too few checks passed");
    eprintln!(
        "{}: {} checks, {passed} pass, in {:.1} s",
        ctx.target.description(),
        results.len(),
        t.elapsed().as_secs_f64()
    );
}

#[test]
fn qemu_system_x86_64_is_clean() {
    if !on_path("qemu-system-x86_64") {
        eprintln!("SKIPPED: qemu-system-x86_64 not found");
        return;
    }
    suite_is_clean(Target::qemu(None));
}

#[test]
fn qemu_storage_daemon_is_clean() {
    if !on_path("qemu-storage-daemon") {
        eprintln!("SKIPPED: qemu-storage-daemon not found");
        return;
    }
    suite_is_clean(
        Target::parse_spawn("qemu-storage-daemon --chardev stdio,id=m --monitor chardev=m")
            .expect("a command line"),
    );
}
