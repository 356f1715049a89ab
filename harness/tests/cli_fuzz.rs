//! `qmpspec fuzz` and `qmpspec replay` end to end, as a user runs them: a planted monitor
//! bug is found, saved, replayed (exit 1 while it reproduces, 0 once the endpoint behaves),
//! and bad input gets one error line and exit code 2.

use std::process::Command;

fn qmpspec() -> Command {
    Command::new(env!("CARGO_BIN_EXE_qmpspec"))
}

#[test]
fn fuzz_finds_saves_and_replays() {
    let dir = std::env::temp_dir().join(format!("qmpspec-cli-fuzz-{}", std::process::id()));
    let out = qmpspec()
        .args([
            "fuzz",
            "--emulated",
            "--fault",
            "crash-on-deep",
            "--time",
            "3",
            "--seed",
            "5",
            "--out",
        ])
        .arg(&dir)
        .output()
        .unwrap();
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
    ] {
        let out = qmpspec().args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}
