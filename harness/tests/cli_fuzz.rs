//! `qmpspec fuzz` and `qmpspec replay` end to end, as a user runs them: a planted monitor
//! bug is found, saved, replayed (exit 1 while it reproduces, 0 once the endpoint behaves),
//! and bad input gets one error line and exit code 2.

use std::process::Command;

fn qmpspec() -> Command {
    Command::new(env!("CARGO_BIN_EXE_qmpspec"))
}

/// `qmpspec fuzz` for 3 s against the emulated monitor with the `crash-on-deep` fault.
fn fuzz_crash_on_deep(dir: &std::path::Path, extra: &[&str]) -> std::process::Output {
    qmpspec()
        .args(["fuzz", "--emulated", "--fault", "crash-on-deep"])
        .args(["--time", "3", "--seed", "5"])
        .args(extra)
        .arg("--out")
        .arg(dir)
        .output()
        .unwrap()
}

#[test]
fn fuzz_finds_saves_and_replays() {
    let dir = std::env::temp_dir().join(format!("qmpspec-cli-fuzz-{}", std::process::id()));
    let out = fuzz_crash_on_deep(&dir, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("closed: 1"), "{stdout}");
    let file = std::fs::read_dir(&dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();

    let replay = |fault: Option<&str>| {
        let mut c = qmpspec();
        c.arg("replay").arg(&file).arg("--emulated");
        if let Some(f) = fault {
            c.args(["--fault", f]);
        }
        c.output().unwrap()
    };
    let r = replay(Some("crash-on-deep"));
    assert_eq!(r.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&r.stdout).contains("reproduced: closed"));
    let r = replay(None);
    assert_eq!(r.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&r.stdout).contains("not reproduced"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Two workers against a faulty emulated monitor: one finding, saved once, with the hits of
/// both workers; its reproducer replays.
#[test]
fn two_workers_find_one_deduplicated_finding() {
    let dir = std::env::temp_dir().join(format!("qmpspec-cli-jobs-{}", std::process::id()));
    let out = fuzz_crash_on_deep(&dir, &["--jobs", "2"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("2 workers) against"), "{stdout}");
    assert!(
        stdout.contains(": 1 findings") && stdout.contains("closed: 1"),
        "{stdout}"
    );
    // "(N hits, per worker A/B; found by worker K, seed S; ...": both workers hit it.
    let per_worker = stdout
        .split("per worker ")
        .nth(1)
        .and_then(|s| s.split(';').next())
        .unwrap_or_else(|| panic!("no per-worker hits: {stdout}"));
    let hits: Vec<u64> = per_worker.split('/').map(|h| h.parse().unwrap()).collect();
    assert_eq!(hits.len(), 2);
    assert!(hits.iter().all(|&h| h > 0), "{stdout}");
    assert!(stderr.contains("worker seeds 5, "), "{stderr}");
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let r = qmpspec()
        .arg("replay")
        .arg(&files[0])
        .args(["--emulated", "--fault", "crash-on-deep"])
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&r.stdout).contains("reproduced: closed"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn clean_emulated_run_finds_nothing() {
    let dir = std::env::temp_dir().join(format!("qmpspec-cli-clean-{}", std::process::id()));
    let out = qmpspec()
        .args(["fuzz", "--emulated", "--time", "2", "--seed", "3", "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains(": 0 findings"), "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    for args in [
        vec!["replay", "/nonexistent/finding.json", "--emulated"],
        vec!["replay", "/etc/hostname", "--emulated"],
        vec![
            "fuzz",
            "--connect",
            "unix:/nonexistent/qmp.sock",
            "--time",
            "1",
        ],
        vec!["fuzz", "--qemu", "--fault", "lf-only"],
        vec!["fuzz", "--emulated", "--time", "soon"],
        vec!["fuzz", "--emulated", "--jobs", "0"],
        vec!["fuzz", "--connect", "unix:/tmp/qmp.sock", "--jobs", "2"],
        vec!["fuzz", "--qemu", "--emulated"],
        vec![
            "replay",
            "/nonexistent/finding.json",
            "--emulated",
            "--emulated",
        ],
    ] {
        let out = qmpspec().args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
    }
}
