//! The `qmpspec` binary: exit codes, plain output on a pipe, reports on disk, the check list.

use std::process::{Command, Output};

fn qmpspec(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_qmpspec"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn a_clean_run_exits_0_with_plain_output_on_a_pipe() {
    let o = qmpspec(&[
        "check",
        "--emulated",
        "--only",
        "greeting.*",
        "--only",
        "ids",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(!out.contains('\x1b'), "escape codes on a pipe: {out}");
    assert!(out.contains("PASS  greeting.first"));
    assert!(out.lines().last().unwrap().contains("0 fail"));
    assert!(o.stderr.is_empty(), "{}", text(&o.stderr));
}

#[test]
fn a_failing_run_exits_1_and_writes_every_report() {
    let dir = std::env::temp_dir().join(format!("qmpspec-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = |f: &str| dir.join(f).to_string_lossy().into_owned();
    let o = qmpspec(&[
        "check",
        "--emulated",
        "--fault",
        "drop-id",
        "--only",
        "ids.echo-on-error",
        "--skip",
        "greeting",
        "--report",
        &format!("json={}", path("r.json")),
        "--report",
        &format!("junit={}", path("r.xml")),
        "--report",
        &format!("markdown={}", path("r.md")),
        "--report",
        &format!("html={}", path("r.html")),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path("r.json")).unwrap()).unwrap();
    assert_eq!(v["tool"]["name"], "qmpspec");
    assert_eq!(v["summary"]["fail"], 1);
    assert_eq!(v["checks"][0]["id"], "ids.echo-on-error");
    assert_eq!(v["checks"][0]["outcome"], "fail");
    assert!(v["checks"][0]["message"]
        .as_str()
        .unwrap()
        .contains("[cmd.id-echo]"));
    assert!(v["target"]["greeting"]["QMP"].is_object());
    assert!(v["checks"][0]["transcript"].as_array().unwrap().len() > 2);
    assert!(std::fs::read_to_string(path("r.xml"))
        .unwrap()
        .contains("<failure"));
    assert!(std::fs::read_to_string(path("r.md"))
        .unwrap()
        .contains("### fail `ids.echo-on-error`"));
    assert!(std::fs::read_to_string(path("r.html"))
        .unwrap()
        .contains("<!DOCTYPE html>"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn runs_that_cannot_be_made_exit_2_with_one_line() {
    for args in [
        &["check", "--connect", "unix:/nonexistent/qmp.sock"][..],
        &["check", "--spawn", "qmpspec-no-such-program"],
        &["check", "--emulated", "--fault", "no-such-fault"],
        &["check", "--emulated", "--only", "no-such-area.*"],
        &["check", "--emulated", "--report", "pdf=x.pdf"],
        &["check"],
        &["check", "--emulated", "--timeout", "soon"],
    ] {
        let o = qmpspec(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = text(&o.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(!err.contains("RUST_BACKTRACE"), "{args:?}: {err}");
    }
    let o = qmpspec(&["check", "--connect", "unix:/nonexistent/qmp.sock"]);
    assert_eq!(
        text(&o.stderr),
        "qmpspec: cannot reach the target: unix:/nonexistent/qmp.sock: no such socket\n"
    );
}

#[test]
fn a_target_that_never_greets_fails_rather_than_exit_2() {
    let o = qmpspec(&[
        "check",
        "--spawn",
        "sleep 5",
        "--only",
        "greeting.first",
        "--timeout",
        "200",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("[greeting.first]"));
}

#[test]
fn list_markdown_is_the_readme_table() {
    let o = qmpspec(&["list", "--format", "markdown"]);
    assert_eq!(o.status.code(), Some(0));
    insta::assert_snapshot!("check_list_markdown", text(&o.stdout));
    let o = qmpspec(&["list"]);
    let out = text(&o.stdout);
    assert!(out
        .lines()
        .any(|l| l.starts_with("robustness.split-frame") && l.contains("cmd.shape")));
}
