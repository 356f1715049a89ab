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

fn recorded_schema(version: &str) -> String {
    format!(
        "{}/../specs/qemu-{version}/system-x86_64.schema.json",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[test]
fn schema_diff_exits_1_on_drift_0_without_text_and_json() {
    let o = qmpspec(&[
        "schema-diff",
        &recorded_schema("7.2"),
        &recorded_schema("10.0"),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    for line in [
        "  entries   1051 -> 1172\n",
        "  commands  216 -> 233 (19 added, 2 removed)\n",
        "  events    52 -> 55 (5 added, 2 removed)\n",
        "\ncommands removed (2):\n  x-query-profile  [unstable]\n  x-query-rdma  [unstable]\n",
        "  query-status\n    return.singlestep: member removed (was required, boolean)\n",
    ] {
        assert!(out.contains(line), "{line:?} not in {out}");
    }
    let o = qmpspec(&[
        "schema-diff",
        "--format",
        "json",
        &recorded_schema("7.2"),
        "emulated:10.0",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["new"]["source"], "emulated QEMU 10.0");
    assert_eq!(v["new"]["commands"], 233);
    assert_eq!(v["commands"]["added"].as_array().unwrap().len(), 19);
    let o = qmpspec(&["schema-diff", &recorded_schema("7.2"), "emulated"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(text(&o.stdout).ends_with("\nno differences\n"));
    // A saved reply holding the return is a schema file too.
    let reply = std::env::temp_dir().join(format!("qmpspec-reply-{}.json", std::process::id()));
    let entries: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(recorded_schema("10.0")).unwrap()).unwrap();
    let saved = serde_json::json!({"return": entries, "id": "schema"});
    std::fs::write(&reply, saved.to_string()).unwrap();
    let o = qmpspec(&["schema-diff", reply.to_str().unwrap(), "emulated:10.0"]);
    std::fs::remove_file(&reply).unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
}

#[test]
fn schema_diff_errors_are_one_line_exit_2() {
    let dir = std::env::temp_dir().join(format!("qmpspec-diff-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let not_json = dir.join("x.txt");
    std::fs::write(&not_json, "hello").unwrap();
    let not_schema = dir.join("x.json");
    std::fs::write(&not_schema, r#"{"return": {"a": 1}}"#).unwrap();
    let good = recorded_schema("7.2");
    for (args, needle) in [
        (
            ["/nonexistent/s.json", &good],
            "OLD: /nonexistent/s.json: cannot read",
        ),
        ([&good, not_json.to_str().unwrap()], "NEW: "),
        (
            [not_schema.to_str().unwrap(), &good],
            "must be a JSON array, got an object",
        ),
        (
            ["unix:/nonexistent/qmp.sock", &good],
            "cannot reach the target",
        ),
        (["emulated:6.0", &good], "unknown QEMU version '6.0'"),
    ] {
        let o = qmpspec(&["schema-diff", args[0], args[1]]);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = text(&o.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(needle), "{needle:?} not in {err}");
        assert!(o.stdout.is_empty());
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The error contract of every command: a bad flag, a socket that is not there, a program
/// that does not exist, a file that is not a schema each get one line on stderr and exit 2,
/// never a backtrace (even with RUST_BACKTRACE set), and nothing on stdout.
#[test]
fn every_command_refuses_bad_input_with_one_line_and_exit_2() {
    let dir = std::env::temp_dir().join(format!("qmpspec-bad-input-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = |name: &str, content: &str| {
        let p = dir.join(name);
        std::fs::write(&p, content).unwrap();
        p.to_str().unwrap().to_string()
    };
    let repro = path(
        "r.json",
        r#"{"qmpspec-reproducer": 1, "kind": "closed", "inputs": []}"#,
    );
    let not_json = path("x.txt", "hello");
    let not_schema = path("x.json", r#"{"return": {"a": 1}}"#);
    let good = recorded_schema("7.2");
    let socket = "unix:/nonexistent/qmp.sock";
    let program = "qmpspec-no-such-program";
    let spawned = format!("spawn:{program}");
    let client = format!("{program} {{socket}}");
    for args in [
        &["check", "--frob"][..],
        &["check-client", "--frob"],
        &["fuzz", "--emulated", "--frob"],
        &["replay", &repro, "--emulated", "--frob"],
        &["serve", "--frob"],
        &["schema-diff", "--frob", &good, &good],
        &["check", "--connect", socket],
        &["check-client", "--listen", "unix:/nonexistent/dir/c.sock"],
        &["fuzz", "--connect", socket, "--time", "1"],
        &["replay", &repro, "--connect", socket],
        &["serve", "--unix", "/nonexistent/dir/s.sock"],
        &["schema-diff", socket, &good],
        &["check", "--spawn", program],
        &["check-client", "--spawn", &client],
        &["fuzz", "--spawn", program, "--time", "1"],
        &["replay", &repro, "--spawn", program],
        &["schema-diff", &spawned, &good],
        &["serve", "--stdio", "--schema", &not_schema],
        &["serve", "--stdio", "--schema", &not_json],
        &["schema-diff", &not_schema, &good],
        &["schema-diff", &good, &not_json],
        &["replay", &not_json, "--emulated"],
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_qmpspec"))
            .args(args)
            .env("RUST_BACKTRACE", "1")
            .output()
            .unwrap();
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("qmpspec"), "{args:?}: {err}");
        assert!(
            !err.contains("panicked") && !err.contains("backtrace"),
            "{args:?}: {err}"
        );
        assert!(o.stdout.is_empty(), "{args:?}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `qmpspec serve --stdio` as a `--spawn` target, with more arguments.
fn served(args: &str) -> String {
    format!("{} serve --stdio {args}", env!("CARGO_BIN_EXE_qmpspec"))
}

#[test]
fn a_matrix_keeps_the_order_given_marks_what_differs_and_writes_every_report() {
    let dir = std::env::temp_dir().join(format!("qmpspec-matrix-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = |f: &str| dir.join(f).to_string_lossy().into_owned();
    let faulty = served("--qemu-version 10.0 --fault drop-id");
    let mut args = vec![
        "check",
        "--spawn",
        &faulty,
        "--emulated",
        "--only",
        "greeting.first",
        "--only",
        "ids.echo-on-error",
    ];
    let reports: Vec<String> = [
        "text=r.txt",
        "json=r.json",
        "junit=r.xml",
        "markdown=r.md",
        "html=r.html",
    ]
    .iter()
    .map(|r| {
        let (f, p) = r.split_once('=').unwrap();
        format!("{f}={}", path(p))
    })
    .collect();
    for r in &reports {
        args.extend(["--report", r]);
    }
    let o = qmpspec(&args);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], format!("QEMU 10.0.2 = spawn:{faulty}"));
    assert_eq!(lines[1], "QEMU 7.2.22 = emulated");
    assert!(
        out.contains("\ncheck              QEMU 10.0.2  QEMU 7.2.22\n"),
        "{out}"
    );
    assert!(
        out.contains("\ngreeting.first     PASS         PASS\n"),
        "{out}"
    );
    assert!(
        out.contains("\nids.echo-on-error  FAIL         PASS         <- differs\n    QEMU 10.0.2: [cmd.id-echo] "),
        "{out}"
    );
    assert!(
        out.ends_with(": 3 pass, 1 fail, 0 warn, 0 skip, 0 error; outcomes differ on 1 check\n"),
        "{out}"
    );
    assert_eq!(std::fs::read_to_string(path("r.txt")).unwrap(), out);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path("r.json")).unwrap()).unwrap();
    assert_eq!(
        v["columns"],
        serde_json::json!(["QEMU 10.0.2", "QEMU 7.2.22"])
    );
    assert_eq!(v["differing"], serde_json::json!(["ids.echo-on-error"]));
    assert_eq!(
        v["matrix"][1]["outcomes"],
        serde_json::json!(["fail", "pass"])
    );
    assert_eq!(v["runs"][0]["summary"]["fail"], 1);
    assert_eq!(v["runs"][1]["target"]["description"], "emulated");
    let xml = std::fs::read_to_string(path("r.xml")).unwrap();
    assert_eq!(xml.matches("<testsuite ").count(), 2, "{xml}");
    assert!(std::fs::read_to_string(path("r.md"))
        .unwrap()
        .contains("| `ids.echo-on-error` | `cmd.id-echo` | **[fail](#c1-ids.echo-on-error)** | **pass** | **differs** |"));
    assert!(std::fs::read_to_string(path("r.html"))
        .unwrap()
        .contains("<tr class=\"differs\"><td><code>ids.echo-on-error</code>"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_clean_matrix_exits_0_and_faults_go_to_every_emulated_monitor() {
    let v10 = served("--qemu-version 10.0");
    let o = qmpspec(&["check", "--emulated", "--spawn", &v10, "--only", "greeting"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(
        out.contains("check                        QEMU 7.2.22  QEMU 10.0.2\n"),
        "{out}"
    );
    assert!(
        out.ends_with("0 skip, 0 error; outcomes differ on 0 checks\n"),
        "{out}"
    );
    let o = qmpspec(&[
        "check",
        "--emulated",
        "--emulated",
        "--fault",
        "drop-id",
        "--only",
        "ids.echo-on-error",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(out.starts_with(
        "QEMU 7.2.22 #1 = emulated (faults: drop-id)\nQEMU 7.2.22 #2 = emulated (faults: drop-id)\n"
    ), "{out}");
    assert!(
        out.contains("\nids.echo-on-error  FAIL            FAIL\n"),
        "{out}"
    );
}

#[test]
fn a_matrix_with_an_unreachable_target_exits_2_naming_it() {
    for (args, line) in [
        (
            &["check", "--emulated", "--connect", "unix:/nonexistent/qmp.sock"][..],
            "qmpspec: cannot reach target 2 of 2: unix:/nonexistent/qmp.sock: no such socket\n",
        ),
        (
            &["check", "--spawn", "qmpspec-no-such-program", "--qemu", "--emulated"],
            "qmpspec: cannot reach target 1 of 3: spawn:qmpspec-no-such-program: program qmpspec-no-such-program not found\n",
        ),
        (
            &["check", "--qemu", "--spawn", "x", "--fault", "drop-id"],
            "qmpspec: --fault only applies to --emulated\n",
        ),
        (
            &["check", "--emulated", "--connect", "bogus"],
            "qmpspec: --connect: bogus: expected unix:PATH or tcp:HOST:PORT\n",
        ),
    ] {
        let o = qmpspec(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert_eq!(text(&o.stderr), line, "{args:?}");
        assert!(o.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn a_matrix_of_two_sockets_and_of_one_socket_twice() {
    use qmpspec::monitor::serve::{bind_unix, serve_unix};
    use qmpspec::monitor::{MonitorConfig, QemuRelease};
    use std::sync::Arc;
    let dir = std::env::temp_dir().join(format!("qmpspec-matrix-sockets-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut addrs = Vec::new();
    for release in [QemuRelease::V7_2, QemuRelease::V10_0] {
        let path = dir.join(format!("{release}.sock"));
        let listener = bind_unix(&path).unwrap();
        let cfg = Arc::new(MonitorConfig::for_release(release, &[], None));
        std::thread::spawn(move || serve_unix(listener, cfg));
        addrs.push(format!("unix:{}", path.display()));
    }
    let only = ["--only", "greeting", "--only", "ids.pipelined"];
    let o = qmpspec(
        &[
            &["check", "--connect", &addrs[1], "--connect", &addrs[0]][..],
            &only,
        ]
        .concat(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(
        out.starts_with(&format!(
            "QEMU 10.0.2 = {}\nQEMU 7.2.22 = {}\n",
            addrs[1], addrs[0]
        )),
        "{out}"
    );
    assert!(out.ends_with("; outcomes differ on 0 checks\n"), "{out}");
    let o = qmpspec(
        &[
            &["check", "--connect", &addrs[0], "--connect", &addrs[0]][..],
            &only,
        ]
        .concat(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("QEMU 7.2.22 #2 = unix:"));
    let _ = std::fs::remove_dir_all(&dir);
}
