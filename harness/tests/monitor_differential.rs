//! Differential tests: the same inputs go to QEMU 7.2 (`qemu-system-x86_64`) and to the
//! emulated monitor (`qmpspec serve`), and the replies must be equal byte for byte after
//! redacting timestamps and the package string. Without QEMU the tests say SKIPPED loudly.

mod common;

use common::live::{
    connect, qmpspec, run_stdio, skipped, which, Lines, Reaper, TempDir, QEMU_ARGS,
};
use common::scripts::SCRIPTS;
use common::{assert_same, redact};
use std::process::{Command, Stdio};

#[test]
fn differential_stdio_scripts_qemu_vs_emulated() {
    let Some(qemu) = which("qemu-system-x86_64") else {
        return skipped(
            "differential_stdio_scripts_qemu_vs_emulated",
            "qemu-system-x86_64 not found in PATH",
        );
    };
    let qemu = qemu.to_string_lossy().into_owned();
    let mut qemu_argv: Vec<&str> = vec![&qemu];
    qemu_argv.extend(QEMU_ARGS);
    qemu_argv.extend(["-qmp", "stdio"]);
    let bin = qmpspec();
    let ours = [bin.to_str().unwrap(), "serve", "--stdio"];
    for s in SCRIPTS {
        let q = run_stdio(&qemu_argv, s.input);
        let e = run_stdio(&ours, s.input);
        assert!(q.len() > 100, "{}: QEMU said too little", s.name);
        assert_same(s.name, &q, &e);
    }
}

#[test]
fn differential_unix_socket_schema_and_commands() {
    let Some(qemu) = which("qemu-system-x86_64") else {
        return skipped(
            "differential_unix_socket_schema_and_commands",
            "qemu-system-x86_64 not found in PATH",
        );
    };
    let dir = TempDir::new("diff");
    let qsock = dir.0.join("qemu.sock");
    let esock = dir.0.join("emul.sock");
    let _q = Reaper(
        Command::new(qemu)
            .args(QEMU_ARGS)
            .arg("-qmp")
            .arg(format!("unix:{},server=on,wait=off", qsock.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start QEMU"),
    );
    let _e = Reaper(
        Command::new(qmpspec())
            .args(["serve", "--unix"])
            .arg(&esock)
            .stderr(Stdio::null())
            .spawn()
            .expect("start qmpspec serve"),
    );
    let mut q = Lines::new(connect(&qsock));
    let mut e = Lines::new(connect(&esock));
    let inputs: &[&[u8]] = &[
        b"{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[\"oob\"]}}\n",
        b"{\"execute\":\"query-qmp-schema\",\"id\":\"schema\"}\n",
        b"{\"execute\":\"query-commands\",\"id\":[1,2]}\n",
        b"{\"execute\":\"query-status\",\"id\":{\"b\":1,\"a\":2}}\n",
        b"{\"exec-oob\":\"query-yank\",\"id\":\"oob\"}\n",
        b"{\"execute\":\"qom-list\",\"arguments\":{\"path\":\"/\"},\"id\":1}\n",
        b"{\"execute\":\"query-version\"}\n",
    ];
    assert_eq!(redact(&q.read()), redact(&e.read()), "greeting");
    for input in inputs {
        let (a, b) = (q.ask(input), e.ask(input));
        assert!(a.ends_with(b"\r\n") && a.len() > 10);
        assert!(
            redact(&a) == redact(&b),
            "reply to {} differs:\nQEMU: {}\nours: {}",
            String::from_utf8_lossy(input),
            String::from_utf8_lossy(&a[..a.len().min(300)]),
            String::from_utf8_lossy(&b[..b.len().min(300)])
        );
    }
}
