//! `qmpspec check-client` against real clients nobody here wrote (QEMU's official Python
//! library qemu.qmp with a short script, its qmp-shell, socat) and against test clients
//! that each break one client duty (harness/tests/clients/raw_client.py --bug ...). Every
//! scenario's outcome is pinned, so a verdict that moves is seen. Tests without their
//! client (no python3, no venv, no socat) say SKIPPED loudly.

mod common;

use common::live::{qmpspec, skipped, which, Reaper, TempDir};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn clients() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

fn venv_python() -> Option<PathBuf> {
    let p = root().join("target/qmp-venv/bin/python");
    p.exists().then_some(p)
}

/// A finished `check-client` run: exit code, outcome and message per scenario, the report.
struct Run {
    code: i32,
    outcomes: BTreeMap<String, (String, String)>,
    report: Value,
    stdout: String,
}

impl Run {
    fn outcome(&self, id: &str) -> &str {
        &self.outcomes[id].0
    }
    fn message(&self, id: &str) -> &str {
        &self.outcomes[id].1
    }
    /// The JSON report's entry for a scenario.
    fn scenario(&self, id: &str) -> &Value {
        self.report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap_or_else(|| panic!("no scenario {id} in the report"))
    }
    /// Scenarios with an outcome other than `pass`, as `id outcome`.
    fn not_passed(&self) -> Vec<String> {
        self.outcomes
            .iter()
            .filter(|(_, (o, _))| o != "pass")
            .map(|(id, (o, _))| format!("{id} {o}"))
            .collect()
    }
}

/// A scratch directory of its own (TempDir's name is not unique across threads).
fn scratch(tag: &str) -> TempDir {
    static N: AtomicUsize = AtomicUsize::new(0);
    TempDir::new(&format!("{tag}{}", N.fetch_add(1, Ordering::SeqCst)))
}

fn check_client(args: &[&str]) -> Run {
    let dir = scratch("cc");
    let json = dir.0.join("r.json");
    let out = Command::new(qmpspec())
        .arg("check-client")
        .args(args)
        .arg("--report")
        .arg(format!("json={}", json.display()))
        .current_dir(root())
        .stdin(Stdio::null())
        .output()
        .expect("run qmpspec");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let code = out.status.code().unwrap_or(-1);
    let report: Value = match std::fs::read(&json) {
        Ok(b) => serde_json::from_slice(&b).expect("a JSON report"),
        Err(_) => panic!(
            "no report (exit {code}): {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        ),
    };
    let outcomes = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_string(),
                (
                    c["outcome"].as_str().unwrap().to_string(),
                    c["message"].as_str().unwrap().to_string(),
                ),
            )
        })
        .collect();
    Run {
        code,
        outcomes,
        report,
        stdout,
    }
}

fn python3(test: &str) -> Option<PathBuf> {
    let p = which("python3");
    if p.is_none() {
        skipped(test, "python3 not found in PATH");
    }
    p
}

fn raw_client(python: &Path, bug: Option<&str>, addr: &str) -> String {
    let bug = bug.map_or(String::new(), |b| format!("--bug {b} "));
    format!(
        "{} {}/raw_client.py {bug}{addr}",
        python.display(),
        clients().display()
    )
}

#[test]
fn a_correct_raw_client_passes_over_unix_and_tcp() {
    let Some(py) = python3("a_correct_raw_client_passes_over_unix_and_tcp") else {
        return;
    };
    for addr in ["unix:{socket}", "tcp:{addr}"] {
        let r = check_client(&["--spawn", &raw_client(&py, None, addr)]);
        assert_eq!(r.not_passed(), ["oob.out-of-order skip"], "{}", r.stdout);
        assert_eq!(r.code, 0);
        assert!(
            r.message("events.before-reply")
                .contains("waited past an event for"),
            "{}",
            r.message("events.before-reply")
        );
        // 1000 events before the first reply, one after each of its 4 replies.
        assert!(r
            .message("events.storm")
            .contains("printed all 1004 events"));
    }
}

#[test]
fn bad_clients_fail_the_scenarios_they_break_and_pass_the_others() {
    let Some(py) = python3("bad_clients_fail_the_scenarios_they_break_and_pass_the_others") else {
        return;
    };
    // Sends qmp_capabilities at once: before the slow greeting (and, if it is quick, before
    // the greeting in pieces is complete).
    let r = check_client(&["--spawn", &raw_client(&py, Some("early"), "unix:{socket}")]);
    assert_eq!(r.outcome("greeting.slow"), "fail");
    assert!(r
        .message("greeting.slow")
        .starts_with("[client.await-greeting] sent {\"execute\": \"qmp_capabilities\"}"));
    let slow = r.scenario("greeting.slow");
    assert_eq!(
        (&slow["clause"], &slow["violated"], &slow["override"]),
        (
            &Value::from("client.await-greeting"),
            &Value::from("client.await-greeting"),
            &Value::Null
        )
    );
    let mut rest = r.not_passed();
    rest.retain(|x| x != "greeting.slow fail" && x != "replies.split-messages fail");
    assert_eq!(rest, ["oob.out-of-order skip"]);
    assert_eq!(r.code, 1);

    // Drops the events that come while it waits for a reply, prints the others.
    let r = check_client(&[
        "--spawn",
        &raw_client(&py, Some("drop-events"), "unix:{socket}"),
    ]);
    assert_eq!(
        r.not_passed(),
        [
            "events.interleaved fail",
            "events.storm fail",
            "oob.out-of-order skip"
        ]
    );
    assert!(r
        .message("events.storm")
        .starts_with("[client.events-anytime] lost 1003 of 1004 events"));

    // Writes a command with a trailing comma: every scenario in which it gets that far.
    let r = check_client(&[
        "--spawn",
        &raw_client(&py, Some("bad-json"), "unix:{socket}"),
    ]);
    for (id, (outcome, message)) in &r.outcomes {
        if id == "connection.close-mid-reply" {
            assert_eq!(outcome, "pass", "the connection is cut before: {message}");
        } else {
            assert_eq!(outcome, "fail", "{id}");
            assert!(
                message.starts_with(
                    "[cmd.shape] sent {\"execute\": \"query-version\", \"id\": 2,}: not valid JSON"
                ),
                "{message}"
            );
        }
    }

    // Takes whatever comes first for its reply.
    let r = check_client(&[
        "--spawn",
        &raw_client(&py, Some("first-message"), "unix:{socket}"),
    ]);
    assert_eq!(
        r.not_passed(),
        [
            "events.before-reply fail",
            "events.interleaved fail",
            "events.storm fail",
            "oob.out-of-order skip",
            "replies.unknown-id warn"
        ]
    );
    assert!(
        r.message("events.before-reply").contains(
            "after an event came, before the reply to query-status: it took an event for the reply"
        ),
        "{}",
        r.message("events.before-reply")
    );
}

#[test]
fn official_python_client_qemu_qmp() {
    let Some(py) = venv_python() else {
        return skipped(
            "official_python_client_qemu_qmp",
            "no venv at target/qmp-venv (run ci/setup-python.sh)",
        );
    };
    let script = clients().join("qemu_qmp_client.py");
    let r = check_client(&[
        "--spawn",
        &format!("{} {} {{socket}}", py.display(), script.display()),
    ]);
    assert_eq!(r.not_passed(), Vec::<String>::new(), "{}", r.stdout);
    assert_eq!(r.code, 0);
    // It enables oob and matches an overtaking exec-oob reply.
    assert!(r
        .message("oob.out-of-order")
        .contains("1 exec-oob reply overtook"));
    // A failed command and a lost reply end the script with an exception (exit 1).
    assert!(r.message("replies.error").ends_with("exit 1"));
    assert!(r.message("connection.close-mid-reply").ends_with("exit 1"));
    // It reads the cut line as a message (a DeserializationError is logged) before it
    // reports the lost connection.
    let cut = r.scenario("connection.close-mid-reply");
    let stderr = cut["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "client stderr")
        .expect("the client's stderr")["text"]
        .as_str()
        .unwrap();
    assert!(
        stderr.contains("ExecInterruptedError: Disconnected"),
        "{stderr}"
    );
}

#[test]
fn official_qmp_shell() {
    let Some(py) = venv_python() else {
        return skipped(
            "official_qmp_shell",
            "no venv at target/qmp-venv (run ci/setup-python.sh)",
        );
    };
    let dir = scratch("shell");
    let input = dir.0.join("in");
    // Commands, and empty lines: qmp-shell prints the events it got on an empty line.
    std::fs::write(&input, "query-status\nquery-version\n\nstop\ncont\n\n").unwrap();
    let r = check_client(&[
        "--spawn",
        &format!("{} -m qemu.qmp.qmp_shell {{socket}}", py.display()),
        "--stdin",
        input.to_str().unwrap(),
    ]);
    assert_eq!(r.not_passed(), ["oob.out-of-order skip"], "{}", r.stdout);
    // 1000 events before the first reply, one after each of its 5 replies (query-commands
    // for its completion, then the 4 from its input).
    assert!(r
        .message("events.storm")
        .contains("printed all 1005 events"));
    assert!(r.message("connection.close-mid-reply").ends_with("exit 1"));
}

#[test]
fn socat_as_a_raw_client() {
    let Some(socat) = which("socat") else {
        return skipped(
            "socat_as_a_raw_client",
            "socat not found in PATH (ci/setup.sh installs it)",
        );
    };
    let dir = scratch("socat");
    let input = dir.0.join("in");
    std::fs::write(
        &input,
        "{\"execute\":\"qmp_capabilities\"}\n{\"execute\":\"query-status\",\"id\":1}\n{\"execute\":\"query-version\",\"id\":2}\n",
    )
    .unwrap();
    let r = check_client(&[
        "--spawn",
        &format!("{} - UNIX-CONNECT:{{socket}}", socat.display()),
        "--stdin",
        input.to_str().unwrap(),
    ]);
    // It writes its input at once, greeting or not, and exits 0 whatever it got.
    let mut got = r.not_passed();
    got.retain(|x| x != "replies.split-messages fail");
    assert_eq!(
        got,
        [
            "connection.close-mid-reply warn",
            "greeting.slow fail",
            "oob.out-of-order skip"
        ],
        "{}",
        r.stdout
    );
    assert!(
        r.message("events.interleaved").contains("not judged")
            || r.message("events.interleaved").contains("printed all")
    );
    assert!(r
        .message("events.before-reply")
        .contains("not judged whether it takes an event for a reply: it never waited"));
    // Exit 0 after a lost reply breaks a client MUST only by its exit status: a warning
    // that says so.
    let cut = r.scenario("connection.close-mid-reply");
    assert_eq!(cut["violated"], "client.connection-loss");
    assert_eq!(cut["override"], "exit-status");
}

#[test]
fn clients_started_by_hand_connect_once_per_scenario() {
    let Some(py) = python3("clients_started_by_hand_connect_once_per_scenario") else {
        return;
    };
    let dir = scratch("listen");
    let sock = dir.0.join("qmp.sock");
    let json = dir.0.join("r.json");
    let server = Command::new(qmpspec())
        .args(["check-client", "--only", "greeting.*", "--timeout", "8000"])
        .arg("--listen")
        .arg(format!("unix:{}", sock.display()))
        .arg("--report")
        .arg(format!("json={}", json.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut server = Reaper(server);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut runs = 0;
    while server.0.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "check-client --listen did not finish"
        );
        if !sock.exists() {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        }
        let _ = Command::new(&py)
            .arg(clients().join("raw_client.py"))
            .arg(format!("unix:{}", sock.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        runs += 1;
    }
    assert_eq!(server.0.wait().unwrap().code(), Some(0));
    let report: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let ids: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            assert_eq!(c["outcome"], "pass", "{c}");
            assert!(c.get("attachments").is_none(), "no process, no output");
            c["id"].as_str().unwrap()
        })
        .collect();
    assert_eq!(
        ids,
        [
            "baseline.qemu-7.2",
            "greeting.slow",
            "greeting.extra-members",
            "greeting.unknown-capability",
            "greeting.no-oob"
        ]
    );
    assert!(runs >= 5);
}

#[test]
fn a_client_that_reconnects_after_a_cut_reply_is_judged_on_both_connections() {
    let Some(py) =
        python3("a_client_that_reconnects_after_a_cut_reply_is_judged_on_both_connections")
    else {
        return;
    };
    let client = raw_client(&py, None, "unix:{socket}")
        .replace("raw_client.py ", "raw_client.py --reconnect ");
    let r = check_client(&["--spawn", &client, "--only", "connection.*"]);
    assert_eq!(r.not_passed(), Vec::<String>::new());
    assert!(
        r.message("connection.close-mid-reply")
            .contains("lost the reply to query-status; then reconnected (1 connection, judged like the first)"),
        "{}",
        r.message("connection.close-mid-reply")
    );
    assert!(r.message("connection.close-mid-reply").ends_with("exit 0"));
}

#[test]
fn a_client_that_hangs_is_killed_at_the_deadline_and_fails_the_scenario() {
    let Some(py) = python3("a_client_that_hangs_is_killed_at_the_deadline_and_fails_the_scenario")
    else {
        return;
    };
    // Waits forever once the server has hung up: only the cut connection shows it.
    let t = Instant::now();
    let r = check_client(&[
        "--spawn",
        &raw_client(&py, Some("hang-on-eof"), "unix:{socket}"),
        "--timeout",
        "3000",
        "--only",
        "connection.*",
    ]);
    assert!(t.elapsed() < Duration::from_secs(15), "{:?}", t.elapsed());
    assert_eq!(r.outcome("baseline.qemu-7.2"), "pass");
    assert_eq!(r.outcome("connection.close-mid-reply"), "fail");
    assert_eq!(
        r.message("connection.close-mid-reply"),
        "[client.connection-loss] the client was still running after 3.0 s: it hung, and was killed"
    );
    assert_eq!(r.code, 1);
}

#[test]
fn a_client_that_never_connects_is_a_run_that_cannot_be_made() {
    // Everything it starts is killed too (the background sleep holds its output open).
    let t = Instant::now();
    let r = check_client(&[
        "--spawn",
        "sh -c 'sleep 30 & sleep 30; echo {socket}'",
        "--timeout",
        "500",
    ]);
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    assert_eq!(r.outcome("baseline.qemu-7.2"), "error");
    assert!(r.message("baseline.qemu-7.2").contains("never connected"));
    assert!(r.outcomes.values().all(|(o, _)| o == "error"));
    assert_eq!(r.code, 2);
}

#[test]
fn every_report_format_shows_the_client_and_its_output() {
    let Some(py) = python3("every_report_format_shows_the_client_and_its_output") else {
        return;
    };
    let dir = scratch("formats");
    let path = |f: &str| dir.0.join(f).display().to_string();
    let out = Command::new(qmpspec())
        .args(["check-client", "--only", "greeting.slow", "--spawn"])
        .arg(raw_client(&py, Some("early"), "unix:{socket}"))
        .args(["--report", &format!("junit={}", path("r.xml"))])
        .args(["--report", &format!("markdown={}", path("r.md"))])
        .args(["--report", &format!("html={}", path("r.html"))])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("FAIL  greeting.slow"), "{stdout}");
    assert!(stdout.contains("2 scenarios against client: "), "{stdout}");
    let xml = std::fs::read_to_string(path("r.xml")).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let failed = doc
        .descendants()
        .find(|n| n.has_tag_name("testcase") && n.attribute("name") == Some("greeting.slow"))
        .unwrap();
    assert!(failed.children().any(|n| n.has_tag_name("failure")));
    let out_text = failed
        .children()
        .find(|n| n.has_tag_name("system-out"))
        .and_then(|n| n.text())
        .unwrap();
    assert!(
        out_text.contains("client stdout:\nquery-status"),
        "{out_text}"
    );
    let md = std::fs::read_to_string(path("r.md")).unwrap();
    assert!(md.contains("client stdout:"), "{md}");
    assert!(md.contains("exit 0"));
    let html = std::fs::read_to_string(path("r.html")).unwrap();
    assert!(html.contains("<p>client stdout:</p>"));
}

#[test]
fn bad_arguments_are_one_line_and_exit_2() {
    for args in [
        &["--spawn", "sh -c true"][..],
        &["--spawn", "qmpspec-no-such-client {socket}"],
        &["--spawn", "sh {socket}", "--stdin", "/nonexistent/input"],
        &["--listen", "bogus"],
        &["--listen", "unix:/nonexistent/dir/qmp.sock"],
        &["--spawn", "sh {socket}", "--only", "nosuch.*"],
        &["--spawn", "sh {socket}", "--listen", "unix:/tmp/x.sock"],
        &[
            "--listen",
            "unix:/tmp/qmpspec-never.sock",
            "--stdin",
            "/dev/null",
        ],
        &[],
    ] {
        let out = Command::new(qmpspec())
            .arg("check-client")
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    }
}

#[test]
fn the_scenario_list_comes_in_three_formats() {
    let list = |f: &str| {
        let out = Command::new(qmpspec())
            .args(["check-client", "--list", "--format", f])
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    let n = qmpspec::client_check::SCENARIOS.len();
    assert_eq!(list("text").lines().count(), n);
    assert_eq!(list("markdown").lines().count(), n + 2);
    let j: Value = serde_json::from_str(&list("json")).unwrap();
    assert_eq!(j.as_array().unwrap().len(), n);
}
