//! The whole suite against the real QEMU 7.2 binaries: no check may fail but the known,
//! real deviations of QEMU 7.2 listed here, and those must fail (if QEMU is fixed, or the
//! check goes soft, this says so). Skips loudly when a binary is not installed.

/// Say loudly that a test did not run: written straight to stderr, past libtest's capture
/// (which hides `eprintln!` of passing tests).
macro_rules! skipped {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($t)*);
    }};
}

mod common;

use common::live::not_qemu_7_2;
use qmpspec::checks::{self, Ctx, Status};
use qmpspec::endpoint::Target;
use std::time::{Duration, Instant};

/// Real deviations of QEMU 7.2, each with the clause it breaks and why.
const KNOWN_QEMU_7_2_DEVIATIONS: &[(&str, &str, &str)] = &[(
    "ids.out-of-range-number",
    "frame.objects-only",
    "an id of 1e400 is read as infinity and echoed as the bare word `inf`, which is not JSON",
)];

/// The two suites run one after the other: each already runs checks in parallel.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn suite_is_clean(target: Target) {
    suite_is_clean_with(target, 8)
}

fn suite_is_clean_with(target: Target, jobs: usize) {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let ctx = Ctx::new(target, Duration::from_millis(2000));
    let selected: Vec<_> = checks::all().iter().collect();
    let t = Instant::now();
    let results = checks::run(&ctx, &selected, jobs, |_| {});
    let known = |id: &str| KNOWN_QEMU_7_2_DEVIATIONS.iter().find(|k| k.0 == id);
    let failed: Vec<String> = results
        .iter()
        .filter(|r| matches!(r.outcome.status, Status::Fail | Status::Error))
        .filter(|r| known(r.check.id).is_none())
        .map(|r| format!("{}: {} {}", r.check.id, r.outcome.status, r.outcome.message))
        .collect();
    assert!(failed.is_empty(), "{failed:#?}");
    for r in &results {
        if let Some((id, clause, why)) = known(r.check.id) {
            assert_eq!(
                r.outcome.status,
                Status::Fail,
                "{id} was expected to fail: {why}"
            );
            assert!(
                r.outcome.message.contains(&format!("[{clause}]")),
                "{id}: {}",
                r.outcome.message
            );
            eprintln!("known QEMU 7.2 deviation, {id} [{clause}]: {why}");
        }
    }
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
    if let Some(why) = not_qemu_7_2("qemu-system-x86_64") {
        skipped!("SKIPPED: {why}");
        return;
    }
    suite_is_clean(Target::qemu(None));
}

#[test]
fn qemu_storage_daemon_is_clean() {
    if let Some(why) = not_qemu_7_2("qemu-storage-daemon") {
        skipped!("SKIPPED: {why}");
        return;
    }
    suite_is_clean(
        Target::parse_spawn("qemu-storage-daemon --chardev stdio,id=m --monitor chardev=m")
            .expect("a command line"),
    );
}

#[test]
fn qemu_over_a_unix_socket_is_clean() {
    if let Some(why) = not_qemu_7_2("qemu-system-x86_64") {
        skipped!("SKIPPED: {why}");
        return;
    }
    let dir = std::env::temp_dir().join(format!("qmpspec-live-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sock = dir.join("qmp.sock");
    let mut qemu = std::process::Command::new("qemu-system-x86_64")
        .args(qmpspec::endpoint::QEMU_MACHINE_ARGS)
        .arg("-qmp")
        .arg(format!("unix:{},server=on,wait=off", sock.display()))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("qemu starts");
    let t = Instant::now();
    while !sock.exists() && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    // One client at a time: a QEMU socket serves connections in turn.
    let r = std::panic::catch_unwind(|| suite_is_clean_with(Target::Unix(sock.clone()), 1));
    let _ = qemu.kill();
    let _ = qemu.wait();
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(e) = r {
        std::panic::resume_unwind(e);
    }
}
