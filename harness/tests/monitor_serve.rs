//! `qmpspec serve`: the binary's adapters (stdio, unix, tcp), many clients at once, clean
//! errors with exit code 2, --list-faults, --schema, --fault.

mod common;

use common::live::{connect, qmpspec, Lines, Reaper, TempDir};
use qmpspec::monitor::Fault;
use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn serve(args: &[&str]) -> Output {
    Command::new(qmpspec())
        .arg("serve")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run qmpspec")
}

fn one_error_line(o: &Output, needle: &str) {
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.contains(needle), "{err}");
}

#[test]
fn list_faults_prints_every_fault() {
    let o = serve(&["--list-faults"]);
    assert_eq!(o.status.code(), Some(0));
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(text.lines().count(), Fault::ALL.len());
    for f in Fault::ALL {
        assert!(
            text.lines().any(|l| {
                let mut w = l.split_whitespace();
                w.next() == Some(f.name()) && w.next() == Some(f.clause().id())
            }),
            "{f}"
        );
    }
}

#[test]
fn bad_arguments_exit_2_with_one_clean_line() {
    one_error_line(
        &serve(&["--stdio", "--fault", "nope"]),
        "unknown fault 'nope'",
    );
    one_error_line(
        &serve(&["--stdio", "--schema", "/nonexistent/schema.json"]),
        "/nonexistent/schema.json",
    );
    let dir = TempDir::new("badschema");
    let bad = dir.0.join("bad.json");
    std::fs::write(&bad, "{\"not\": \"an array\"}").unwrap();
    one_error_line(
        &serve(&["--stdio", "--schema", bad.to_str().unwrap()]),
        "--schema",
    );
    one_error_line(
        &serve(&["--unix", "/nonexistent/dir/qmp.sock"]),
        "unix:/nonexistent",
    );
    one_error_line(&serve(&["--tcp", "not an address"]), "tcp:not an address");
    let o = serve(&[]);
    assert_eq!(o.status.code(), Some(2), "no endpoint given");
}

#[test]
fn unix_serves_many_clients_each_with_its_own_session() {
    let dir = TempDir::new("serve");
    let sock = dir.0.join("qmp.sock");
    let _server = Reaper(
        Command::new(qmpspec())
            .args(["serve", "--unix"])
            .arg(&sock)
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut clients: Vec<Lines> = (0..4).map(|_| Lines::new(connect(&sock))).collect();
    for c in &mut clients {
        assert!(c.read().starts_with(b"{\"QMP\": "));
        assert_eq!(
            c.ask(b"{\"execute\":\"qmp_capabilities\"}\n"),
            b"{\"return\": {}}\r\n"
        );
    }
    // Stopping in one session leaves the others running.
    let stop = clients[0].ask(b"{\"execute\":\"stop\"}\n");
    assert!(stop.starts_with(b"{\"timestamp\""), "STOP event first");
    assert_eq!(clients[0].read(), b"{\"return\": {}}\r\n");
    for (i, c) in clients.iter_mut().enumerate() {
        let st = c.ask(b"{\"execute\":\"query-status\"}\n");
        let want: &[u8] = if i == 0 {
            b"\"paused\""
        } else {
            b"\"running\""
        };
        assert!(st.windows(want.len()).any(|w| w == want), "client {i}");
    }
    // quit closes only its own session.
    clients[1].send(b"{\"execute\":\"quit\"}\n");
    assert!(clients[1].read().windows(8).any(|w| w == b"SHUTDOWN"));
    assert_eq!(clients[1].read(), b"{\"return\": {}}\r\n");
    assert_eq!(clients[1].read(), b"", "closed after quit");
    let mut late = Lines::new(connect(&sock));
    assert!(late.read().starts_with(b"{\"QMP\": "));
}

#[test]
fn tcp_binds_loopback_and_reports_the_port() {
    let mut server = Reaper(
        Command::new(qmpspec())
            .args(["serve", "--tcp", "0", "--fault", "lf-only"])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut err = BufReader::new(server.0.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    let addr = line.trim().rsplit("tcp:").next().unwrap().to_string();
    assert!(addr.starts_with("127.0.0.1:"), "{line}");
    let s = TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut r = BufReader::new(s);
    let mut greeting = Vec::new();
    r.read_until(b'\n', &mut greeting).unwrap();
    assert!(greeting.starts_with(b"{\"QMP\": "));
    assert!(
        greeting.ends_with(b"}\n") && !greeting.ends_with(b"\r\n"),
        "lf-only fault"
    );
}

#[test]
fn schema_option_serves_another_schema() {
    let schema = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../specs/qemu-7.2/storage-daemon.schema.json"
    );
    let dir = TempDir::new("sd");
    let sock = dir.0.join("qsd.sock");
    let _server = Reaper(
        Command::new(qmpspec())
            .args(["serve", "--schema", schema, "--unix"])
            .arg(&sock)
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut c = Lines::new(connect(&sock));
    c.read();
    c.ask(b"{\"execute\":\"qmp_capabilities\"}\n");
    assert_eq!(
        c.ask(b"{\"execute\":\"query-status\"}\n"),
        b"{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command query-status has not been found\"}}\r\n"
    );
    let v = c.ask(b"{\"execute\":\"query-version\"}\n");
    assert!(v.starts_with(b"{\"return\": {\"qemu\": "));
}

/// `serve --qemu-version V` answers QEMU V's recorded session (corpus/qemu-V/system-x86_64.*,
/// from ci/record-corpus.py: negotiation, stop/cont, odd ids, broken input, query-commands,
/// query-qmp-schema, quit) byte for byte, timestamps and the package string aside.
#[test]
fn each_qemu_version_answers_its_recorded_session() {
    for version in ["7.2", "10.0"] {
        let dir = format!(
            "{}/../corpus/qemu-{version}/system-x86_64",
            env!("CARGO_MANIFEST_DIR")
        );
        let input = std::fs::read(format!("{dir}.in")).unwrap();
        let want = std::fs::read(format!("{dir}.out")).unwrap();
        let writes: Vec<&[u8]> = input.split_inclusive(|&b| b == b'\n').collect();
        let bin = qmpspec();
        let argv = [
            bin.to_str().unwrap(),
            "serve",
            "--stdio",
            "--qemu-version",
            version,
        ];
        let got = common::live::run_stdio(&argv, &writes);
        common::assert_same(version, &want, &got);
    }
}

#[test]
fn an_unknown_qemu_version_is_one_line_exit_2() {
    one_error_line(
        &serve(&["--stdio", "--qemu-version", "9.9"]),
        "--qemu-version: unknown QEMU version '9.9' (known: 7.2, 10.0)",
    );
}
