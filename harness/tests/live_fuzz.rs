//! The live fuzzer, both ways: against a server with a planted bug it finds the bug and
//! minimizes the input; against QEMU 7.2 (when installed) a short run completes with its
//! findings reported; reproducers replay.

/// Say loudly that a test did not run: written straight to stderr, past libtest's capture
/// (which hides `eprintln!` of passing tests).
macro_rules! skipped {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($t)*);
    }};
}

use qmpspec::endpoint::Target;
use qmpspec::live_fuzz::{self, FindingKind, FuzzError, FuzzOptions, Input, Reproducer};
use qmpspec::message::Command;
use qmpspec::wire::{encode, parse_value, Framer, Style};
use serde_json::json;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::time::Duration;

/// A small conforming QMP server with one planted bug: it dies on a byte 0xFF.
fn serve_buggy(mut s: UnixStream) {
    let greeting = json!({"QMP": {"version": {"qemu": {"major": 7, "minor": 2, "micro": 0}, "package": "buggy"}, "capabilities": []}});
    if s.write_all(&encode(&greeting, Style::Qemu)).is_err() {
        return;
    }
    let mut f = Framer::default();
    let mut buf = [0u8; 4096];
    loop {
        let n = match s.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if buf[..n].contains(&0xff) {
            return; // the planted crash
        }
        f.push(&buf[..n]);
        let mut out = Vec::new();
        while let Some(fr) = f.next_frame() {
            let reply = match fr {
                Err(_) => json!({"error": {"class": "GenericError", "desc": "JSON parse error"}}),
                Ok(fr) => match parse_value(fr.text, fr.dialect) {
                    Err(e) => json!({"error": {"class": "GenericError", "desc": e.qemu_text()}}),
                    Ok(v) => match Command::from_input(v, false) {
                        Err((e, id)) => {
                            let mut r =
                                json!({"error": {"class": "GenericError", "desc": e.to_string()}});
                            if let Some(id) = id {
                                r["id"] = id;
                            }
                            r
                        }
                        Ok(c) => {
                            let mut r = match c.name.as_str() {
                                "query-commands" => {
                                    json!({"return": [{"name": "query-version"}, {"name": "query-status"}]})
                                }
                                "query-version" | "query-status" | "qmp_capabilities" => {
                                    json!({"return": {}})
                                }
                                other => {
                                    json!({"error": {"class": "CommandNotFound", "desc": format!("The command {other} has not been found")}})
                                }
                            };
                            if let Some(id) = c.id {
                                r["id"] = id;
                            }
                            r
                        }
                    },
                },
            };
            out.extend(encode(&reply, Style::Qemu));
        }
        if s.write_all(&out).is_err() {
            return;
        }
    }
}

fn buggy_target() -> Target {
    Target::InProcess {
        description: "buggy test server".into(),
        connect: Arc::new(|| {
            let (a, b) = UnixStream::pair()?;
            std::thread::spawn(move || serve_buggy(b));
            Ok(Box::new(a) as Box<dyn qmpspec::endpoint::Transport>)
        }),
    }
}

fn opts(cases: u64, out: Option<std::path::PathBuf>) -> FuzzOptions {
    FuzzOptions {
        time: Duration::from_secs(60),
        seed: 1,
        jobs: 1,
        out,
        timeout: Duration::from_secs(2),
        max_cases: Some(cases),
    }
}

#[test]
fn finds_and_minimizes_a_planted_crash_then_replays_it() {
    let dir = std::env::temp_dir().join(format!("qmpspec-fuzz-{}", std::process::id()));
    let target = buggy_target();
    let summary = live_fuzz::run(&target, &opts(400, Some(dir.clone())), |_| {}).unwrap();
    let closed = summary
        .findings
        .iter()
        .find(|f| f.reproducer.finding.kind == FindingKind::Closed)
        .expect("the planted crash is found");
    let inputs = &closed.reproducer.inputs;
    assert_eq!(inputs.len(), 1, "minimized to one input: {inputs:?}");
    match &inputs[0] {
        Input::Raw(b) => assert_eq!(b, &[0xff], "minimized to the one byte that matters"),
        other => panic!("expected raw input, got {other:?}"),
    }
    // The reproducer file replays.
    let file = closed.file.as_ref().unwrap();
    let r = Reproducer::load(file).unwrap();
    let (_, same) = live_fuzz::replay(&target, &r).unwrap();
    assert!(same);
    assert!(summary.progress.execs >= 400);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Several workers on a socket would wait on each other (it serves one client at a time) and
/// report each other's waits as stalls: refused before anything connects.
#[test]
fn several_workers_on_a_socket_are_refused() {
    let socket = Target::parse_connect("unix:/nonexistent/qmpspec-fuzz.sock").unwrap();
    let two = FuzzOptions {
        jobs: 2,
        ..opts(10, None)
    };
    let e = live_fuzz::run(&socket, &two, |_| {}).unwrap_err();
    assert!(matches!(e, FuzzError::SharedSocket { jobs: 2, .. }), "{e}");
    assert!(e.to_string().contains("one client at a time"), "{e}");
    // One worker gets as far as connecting.
    let e = live_fuzz::run(&socket, &opts(10, None), |_| {}).unwrap_err();
    assert!(matches!(e, FuzzError::Unreachable(_)), "{e}");
}

#[test]
fn two_workers_save_a_shared_finding_once_and_count_both_hits() {
    let dir = std::env::temp_dir().join(format!("qmpspec-fuzz-jobs-{}", std::process::id()));
    let target = buggy_target();
    let opts = FuzzOptions {
        jobs: 2,
        ..opts(1200, Some(dir.clone()))
    };
    let summary = live_fuzz::run(&target, &opts, |_| {}).unwrap();
    assert_eq!(summary.progress.workers, 2);
    assert!(summary.progress.execs >= 1200);
    let closed: Vec<_> = summary
        .findings
        .iter()
        .filter(|f| f.reproducer.finding.kind == FindingKind::Closed)
        .collect();
    assert_eq!(closed.len(), 1, "one finding, however many workers hit it");
    let f = closed[0];
    assert_eq!(f.hits_by_worker.len(), 2);
    assert!(
        f.hits_by_worker.iter().all(|&h| h > 0),
        "both workers hit the planted crash: {:?}",
        f.hits_by_worker
    );
    assert_eq!(f.hits, f.hits_by_worker.iter().sum::<u64>());
    // Its reproducer carries the seed of the worker that found it, and replays.
    assert_eq!(f.reproducer.seed, live_fuzz::worker_seed(1, f.worker));
    let files: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(files.len(), summary.findings.len(), "one file per finding");
    let r = Reproducer::load(f.file.as_ref().unwrap()).unwrap();
    assert!(live_fuzz::replay(&target, &r).unwrap().1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn short_run_against_qemu() {
    if std::process::Command::new("qemu-system-x86_64")
        .arg("--version")
        .output()
        .is_err()
    {
        skipped!("SKIPPED: live fuzz against QEMU: qemu-system-x86_64 not found (ci/setup.sh installs it)");
        return;
    }
    let summary = live_fuzz::run(&Target::qemu(None), &opts(60, None), |_| {}).unwrap();
    assert_eq!(summary.progress.execs, 60);
    assert!(summary.progress.commands_total > 100);
    for f in &summary.findings {
        eprintln!("QEMU finding: {} ({} hits)", f.reproducer.finding, f.hits);
    }
}

mod common;

#[test]
fn short_run_against_qemu_10_0() {
    let qemu = match common::live::Qemu::find(common::live::QemuRelease::V10_0) {
        Ok(q) => q,
        Err(why) => return common::live::skipped("short_run_against_qemu_10_0", &why),
    };
    let summary = live_fuzz::run(&qemu.system_target(), &opts(60, None), |_| {}).unwrap();
    assert_eq!(summary.progress.execs, 60);
    assert!(summary.progress.commands_total > 100);
    for f in &summary.findings {
        eprintln!(
            "QEMU 10.0 finding: {} ({} hits)",
            f.reproducer.finding, f.hits
        );
    }
}
