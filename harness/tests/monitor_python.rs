//! Integration with QEMU's official Python QMP client (`qemu.qmp`, from PyPI): the same
//! client script (ci/python-client.py) runs against `qmpspec serve --unix` and against QEMU,
//! 7.2 and 10.0.2 (the monitor answering as each), and both must give the same results. The venv comes from ci/setup-python.sh; without
//! it (or without QEMU) the test says SKIPPED loudly.

mod common;

use common::live::{qemu_on_unix, serve_on_unix_as, skipped, Qemu, QemuRelease, TempDir};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn wait_for(path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn run_client(python: &Path, sock: &Path) -> serde_json::Value {
    let out = Command::new(python)
        .arg(root().join("ci/python-client.py"))
        .arg(sock)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "python client failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("client prints JSON")
}

#[test]
fn python_qemu_qmp_client_against_emulated_and_qemu_7_2() {
    client_against_emulated_and_qemu(
        "python_qemu_qmp_client_against_emulated_and_qemu_7_2",
        QemuRelease::V7_2,
    )
}

#[test]
fn python_qemu_qmp_client_against_emulated_and_qemu_10_0() {
    client_against_emulated_and_qemu(
        "python_qemu_qmp_client_against_emulated_and_qemu_10_0",
        QemuRelease::V10_0,
    )
}

fn client_against_emulated_and_qemu(test: &str, release: QemuRelease) {
    let python = root().join("target/qmp-venv/bin/python");
    if !python.exists() {
        return skipped(test, "no venv at target/qmp-venv (run ci/setup-python.sh)");
    }
    let dir = TempDir::new(test);
    let esock = dir.0.join("emul.sock");
    let _e = serve_on_unix_as(&esock, release);
    wait_for(&esock);
    let ours = run_client(&python, &esock);
    assert_eq!(ours["capabilities"], serde_json::json!(["oob"]));
    assert_eq!(ours["events"], serde_json::json!(["STOP", "RESUME"]));
    assert_eq!(ours["status_stopped"]["status"], "paused");
    assert_eq!(ours["status_before"]["status"], "running");
    let (major, minor, micro) = release.version();
    assert_eq!(
        ours["version"],
        serde_json::json!({"major": major, "minor": minor, "micro": micro})
    );

    let qemu = match Qemu::find(release) {
        Ok(q) => q,
        Err(why) => return skipped(&format!("{test} (QEMU half)"), &why),
    };
    let qsock = dir.0.join("qemu.sock");
    let _q = qemu_on_unix(Path::new(&qemu.system), &qsock);
    wait_for(&qsock);
    let theirs = run_client(&python, &qsock);
    let (ours, theirs) = (settle_quit(ours), settle_quit(theirs));
    assert_eq!(ours, theirs, "the official client sees a difference");
}

/// How `quit` ends is a race for QEMU too: the reply may or may not be read before the server
/// hangs up, and the client's goodbye may or may not reach it. Check that what was seen is one
/// of the legal endings, then leave it out of the comparison.
fn settle_quit(mut seen: serde_json::Value) -> serde_json::Value {
    let obj = seen.as_object_mut().expect("the client prints an object");
    let quit = obj.remove("quit").expect("quit was run");
    assert!(
        quit == serde_json::json!({})
            || quit
                .as_str()
                .is_some_and(|s| s.starts_with("disconnected: ")),
        "quit ended with {quit}"
    );
    let bye = obj.remove("disconnect").expect("disconnect was attempted");
    assert!(
        bye == "clean" || bye == "server closed first",
        "disconnect: {bye}"
    );
    seen
}
