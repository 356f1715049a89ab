//! The whole suite against the real QEMU binaries of both releases, 7.2 (the system's) and
//! 10.0.2 (ci/setup.sh's prefix): no check may fail but the known, real deviations of that
//! release listed here, and those must fail (if QEMU is fixed, or the check goes soft, this
//! says so). A deviation no check holds QEMU to (a crash) is pinned by a test of its own.
//! Skips loudly when a binary is not installed.

mod common;

use common::live::{qmpspec, skipped, Qemu, QemuRelease, Reaper};
use qmpspec::checks::Status;
use qmpspec::endpoint::Target;
use qmpspec::report::RunReport;
use qmpspec::spec::Clause;
use qmpspec::CheckRun;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A real deviation of QEMU: the check that catches it, the clause it breaks, the releases
/// that have it, and what QEMU does.
struct Deviation {
    check: &'static str,
    clause: Clause,
    releases: &'static [QemuRelease],
    why: &'static str,
}

const KNOWN_DEVIATIONS: &[Deviation] = &[Deviation {
    check: "ids.out-of-range-number",
    clause: Clause::FrameObjectsOnly,
    releases: &[QemuRelease::V7_2, QemuRelease::V10_0],
    why: "an id of 1e400 is read as infinity and echoed as the bare word `inf`, which is not JSON",
}];

/// The suites run one after the other: each already runs checks in parallel.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn suite_is_clean(release: QemuRelease, target: Target, jobs: usize) {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let t = Instant::now();
    // The whole suite, run as `qmpspec check` runs it.
    let run = CheckRun::new()
        .jobs(jobs)
        .run(&target)
        .expect("QEMU is reachable");
    assert_clean(release, &run);
    eprintln!("in {:.1} s", t.elapsed().as_secs_f64());
}

/// No check of `run` failed but the known deviations of `release`, and those did.
fn assert_clean(release: QemuRelease, run: &RunReport) {
    let results = &run.results;
    let known = |id: &str| {
        KNOWN_DEVIATIONS
            .iter()
            .find(|k| k.check == id && k.releases.contains(&release))
    };
    let failed: Vec<String> = results
        .iter()
        .filter(|r| matches!(r.outcome.status, Status::Fail | Status::Error))
        .filter(|r| known(r.check.id).is_none())
        .map(|r| format!("{}: {} {}", r.check.id, r.outcome.status, r.outcome.message))
        .collect();
    assert!(failed.is_empty(), "QEMU {release}: {failed:#?}");
    for r in results {
        if let Some(d) = known(r.check.id) {
            assert_eq!(
                r.outcome.status,
                Status::Fail,
                "QEMU {release}: {} was expected to fail: {}",
                d.check,
                d.why
            );
            assert_eq!(
                r.outcome.violated,
                Some(d.clause),
                "{}: {}",
                d.check,
                r.outcome.message
            );
            eprintln!(
                "known QEMU {release} deviation, {} [{}]: {}",
                d.check, d.clause, d.why
            );
        }
    }
    let passed = run.count(Status::Pass);
    assert!(passed > results.len() / 2, "too few checks passed");
    eprintln!("{}: {} checks, {passed} pass", run.target, results.len(),);
}

fn qemu(test: &str, release: QemuRelease) -> Option<Qemu> {
    Qemu::find(release).map_err(|why| skipped(test, &why)).ok()
}

fn system_is_clean(test: &str, release: QemuRelease) {
    if let Some(q) = qemu(test, release) {
        suite_is_clean(release, q.system_target(), 8);
    }
}

fn storage_daemon_is_clean(test: &str, release: QemuRelease) {
    if let Some(q) = qemu(test, release) {
        suite_is_clean(release, q.storage_daemon_target(), 8);
    }
}

fn unix_socket_is_clean(test: &str, release: QemuRelease) {
    let Some(q) = qemu(test, release) else {
        return;
    };
    let dir = common::live::TempDir::new(test);
    let sock = dir.0.join("qmp.sock");
    let _qemu = common::live::qemu_on_unix(std::path::Path::new(&q.system), &sock);
    let t = Instant::now();
    while !sock.exists() && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    // One client at a time: a QEMU socket serves connections in turn.
    suite_is_clean(release, Target::Unix(sock.clone()), 1);
}

#[test]
fn qemu_7_2_system_x86_64_is_clean() {
    system_is_clean("qemu_7_2_system_x86_64_is_clean", QemuRelease::V7_2)
}

#[test]
fn qemu_7_2_storage_daemon_is_clean() {
    storage_daemon_is_clean("qemu_7_2_storage_daemon_is_clean", QemuRelease::V7_2)
}

#[test]
fn qemu_7_2_over_a_unix_socket_is_clean() {
    unix_socket_is_clean("qemu_7_2_over_a_unix_socket_is_clean", QemuRelease::V7_2)
}

/// Both releases in one matrix, as `qmpspec check --qemu --qemu BINARY` runs it: each
/// column is clean but for its release's known deviations, the columns are named by the
/// versions the greetings gave, and the releases agree on every check.
#[test]
fn a_matrix_of_both_releases_is_clean_and_they_agree() {
    let test = "a_matrix_of_both_releases_is_clean_and_they_agree";
    let (Some(old), Some(new)) = (
        qemu(test, QemuRelease::V7_2),
        qemu(test, QemuRelease::V10_0),
    ) else {
        return;
    };
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let t = Instant::now();
    let m = CheckRun::new()
        .run_matrix(&[old.system_target(), new.system_target()])
        .expect("both QEMUs are reachable");
    let columns = m.columns();
    assert!(columns[0].starts_with("QEMU 7.2."), "{columns:?}");
    assert_eq!(columns[1], "QEMU 10.0.2");
    assert_clean(QemuRelease::V7_2, &m.runs[0]);
    assert_clean(QemuRelease::V10_0, &m.runs[1]);
    let differing: Vec<&str> = m.differing().iter().map(|r| r.check.id).collect();
    assert!(
        differing.is_empty(),
        "7.2 and 10.0.2 disagree on {differing:?}"
    );
    eprintln!(
        "matrix of QEMU 7.2 and 10.0.2: {} checks each in {:.1} s",
        m.checks(),
        t.elapsed().as_secs_f64()
    );
}

#[test]
fn qemu_10_0_system_x86_64_is_clean() {
    system_is_clean("qemu_10_0_system_x86_64_is_clean", QemuRelease::V10_0)
}

#[test]
fn qemu_10_0_storage_daemon_is_clean() {
    storage_daemon_is_clean("qemu_10_0_storage_daemon_is_clean", QemuRelease::V10_0)
}

#[test]
fn qemu_10_0_over_a_unix_socket_is_clean() {
    unix_socket_is_clean("qemu_10_0_over_a_unix_socket_is_clean", QemuRelease::V10_0)
}

// ---- the oob queue overflow ------------------------------------------------------------------

/// With `oob` enabled QEMU queues up to 8 in-band requests and stops reading when the queue is
/// full (clause `oob.queue`); parse errors are queued as requests too. QEMU reads one byte at
/// a time, and one byte can complete two requests: in `1]` the `]` ends the number `1` (a
/// request, refused later as not an object) and is itself a parse error (another). When the
/// queue holds 7, the first fills it and the second trips `assert(mon->qmp_requests->length <
/// QMP_REQ_QUEUE_LEN_MAX)` in monitor/qmp.c: QEMU aborts. Whether the queue holds 7 at that
/// moment depends on how fast the main loop dispatches, so a burst of these pairs is sent.
fn oob_burst() -> Vec<u8> {
    let mut b =
        b"{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[\"oob\"]}}\n".to_vec();
    b.extend(b"1]".repeat(500));
    b.push(b'\n');
    b
}

/// What became of a QEMU fed the burst: `Some(stderr)` when it died within `wait`, `None` when
/// it was still running.
fn feed_burst(program: &str, args: &[&str], wait: Duration) -> Option<String> {
    let mut child = Reaper(
        Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("QEMU starts"),
    );
    let mut stdin = child.0.stdin.take().expect("piped");
    let _ = stdin.write_all(&oob_burst());
    let _ = stdin.flush();
    let deadline = Instant::now() + wait;
    while Instant::now() < deadline {
        if child.0.try_wait().expect("wait").is_some() {
            let mut err = String::new();
            let _ = child
                .0
                .stderr
                .take()
                .expect("piped")
                .read_to_string(&mut err);
            return Some(err);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// A known crash, pinned: QEMU aborts on the burst (breaking `oob.queue`, and
/// `reply.one-per-command` for what was queued). Each try is a fresh process; three tries, as
/// it is timing-dependent. The emulated monitor answers the whole burst and goes on.
fn oob_queue_overflow_aborts(test: &str, release: QemuRelease) {
    let Some(q) = qemu(test, release) else {
        return;
    };
    let mut args: Vec<&str> = common::live::QEMU_MACHINE_ARGS.to_vec();
    args.extend(["-qmp", "stdio"]);
    let aborted = (0..3).find_map(|_| {
        feed_burst(&q.system, &args, Duration::from_secs(5))
            .filter(|err| err.contains("Assertion") && err.contains("QMP_REQ_QUEUE_LEN_MAX"))
    });
    match aborted {
        Some(err) => eprintln!(
            "known QEMU {release} deviation [oob.queue]: a burst of `1]` with oob enabled aborts it: {}",
            err.trim()
        ),
        None => panic!(
            "QEMU {release} survived three bursts of `1]` with oob enabled: fixed? Then drop this pin"
        ),
    }
    let bin = qmpspec();
    let serve = [
        bin.to_str().unwrap(),
        "serve",
        "--stdio",
        "--qemu-version",
        release.as_str(),
    ];
    let burst = oob_burst();
    let out = common::live::run_stdio(
        &serve,
        &[
            &burst,
            b"{\"execute\":\"query-name\",\"id\":\"after\"}\n",
            b"{\"execute\":\"quit\"}\n",
        ],
    );
    let out = String::from_utf8_lossy(&out);
    let count = |needle: &str| out.lines().filter(|l| l.contains(needle)).count();
    assert_eq!(count("QMP input must be a JSON object"), 500, "{out}");
    assert_eq!(count("JSON parse error, expecting value"), 500, "{out}");
    assert_eq!(count(r#"{"return": {}, "id": "after"}"#), 1, "{out}");
}

#[test]
fn qemu_7_2_aborts_on_an_oob_queue_overflow() {
    oob_queue_overflow_aborts(
        "qemu_7_2_aborts_on_an_oob_queue_overflow",
        QemuRelease::V7_2,
    )
}

#[test]
fn qemu_10_0_aborts_on_an_oob_queue_overflow() {
    oob_queue_overflow_aborts(
        "qemu_10_0_aborts_on_an_oob_queue_overflow",
        QemuRelease::V10_0,
    )
}

// ---- the QEMU 10.0.2 prefix ------------------------------------------------------------------

/// The wrappers ci/setup-qemu10.sh writes find the prefix from where they are: a copy of a
/// wrapper runs the root beside its own directory (here a stand-in QEMU that says what it was
/// given), also when called through a symlink, never the root it was written for.
#[test]
fn qemu_10_0_wrappers_run_the_prefix_they_are_in() {
    let test = "qemu_10_0_wrappers_run_the_prefix_they_are_in";
    let original = common::live::qemu10_dir().join("qemu-system-x86_64");
    let text = match std::fs::read_to_string(&original) {
        Ok(t) if t.contains("written by ci/setup-qemu10.sh") => t,
        _ => {
            return skipped(
                test,
                &format!(
                    "{} is not a wrapper of ci/setup-qemu10.sh",
                    original.display()
                ),
            )
        }
    };
    let dir = common::live::TempDir::new(test);
    let prefix = dir.0.join("moved prefix");
    let fake = prefix.join("root/usr/bin/qemu-system-x86_64");
    let wrapper = prefix.join("bin/qemu-system-x86_64");
    for (path, body) in [
        (&fake, "#!/bin/sh\necho \"stand-in $QEMU_MODULE_DIR $*\"\n"),
        (&wrapper, text.as_str()),
    ] {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, body).unwrap();
        let mut perms = std::fs::metadata(path).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
        std::fs::set_permissions(path, perms).unwrap();
    }
    let link = dir.0.join("qemu-link");
    std::os::unix::fs::symlink(&wrapper, &link).unwrap();
    let root = prefix.join("root");
    let want = format!(
        "stand-in {r}/usr/lib/x86_64-linux-gnu/qemu -L {r}/usr/share/qemu -L {r}/usr/share/seabios --version\n",
        r = root.display()
    );
    for program in [&wrapper, &link] {
        let out = Command::new(program).arg("--version").output().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            want,
            "{}",
            program.display()
        );
    }
}
