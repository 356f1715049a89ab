//! Differential tests: the same inputs go to QEMU (`qemu-system-x86_64`, 7.2 and 10.0.2) and
//! to the emulated monitor answering as the same release (`qmpspec serve --qemu-version`),
//! and the replies must be equal byte for byte after redacting timestamps and the package
//! string. Without that QEMU the tests say SKIPPED loudly.

mod common;

use common::live::{
    connect, qemu_on_unix, qmpspec, run_stdio, serve_on_unix_as, skipped, Lines, Pair, Qemu,
    QemuRelease, TempDir, QEMU_MACHINE_ARGS,
};
use std::path::Path;

/// Two tests per body, one against each QEMU release, run one at a time: QEMU's timing (how
/// much it reads before it answers) is part of what is compared, and a loaded machine shifts it.
macro_rules! per_release {
    ($body:ident: $v7:ident, $v10:ident) => {
        #[test]
        fn $v7() {
            let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
            $body(stringify!($v7), QemuRelease::V7_2)
        }
        #[test]
        fn $v10() {
            let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
            $body(stringify!($v10), QemuRelease::V10_0)
        }
    };
}

static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
use common::scripts::SCRIPTS;
use common::{assert_same, redact};

per_release!(stdio_scripts: differential_stdio_scripts_qemu_7_2, differential_stdio_scripts_qemu_10_0);

fn stdio_scripts(test: &str, release: QemuRelease) {
    let qemu = match Qemu::find(release) {
        Ok(q) => q,
        Err(why) => return skipped(test, &why),
    };
    let mut qemu_argv: Vec<&str> = vec![&qemu.system];
    qemu_argv.extend(QEMU_MACHINE_ARGS);
    qemu_argv.extend(["-qmp", "stdio"]);
    let bin = qmpspec();
    let ours = [
        bin.to_str().unwrap(),
        "serve",
        "--stdio",
        "--qemu-version",
        release.as_str(),
    ];
    for s in SCRIPTS {
        let q = run_stdio(&qemu_argv, s.input);
        let e = run_stdio(&ours, s.input);
        assert!(q.len() > 100, "{}: QEMU said too little", s.name);
        assert_same(s.name, &q, &e);
    }
}

per_release!(schema_and_commands: differential_unix_socket_schema_and_commands_qemu_7_2, differential_unix_socket_schema_and_commands_qemu_10_0);

fn schema_and_commands(test: &str, release: QemuRelease) {
    let Some(mut pair) = Pair::start(test, release) else {
        return;
    };
    let (q, e) = (&mut pair.qemu, &mut pair.ours);
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

per_release!(nesting_limit_bursts: differential_nesting_limit_bursts_qemu_7_2, differential_nesting_limit_bursts_qemu_10_0);

/// Nesting beyond QEMU's limit (1024): the error, then the burst of errors as the rest of
/// the input is re-read, exactly as QEMU produces them.
fn nesting_limit_bursts(test: &str, release: QemuRelease) {
    let Some(mut pair) = Pair::start(test, release) else {
        return;
    };
    let (q, e) = (&mut pair.qemu, &mut pair.ours);
    for c in [&mut *q, &mut *e] {
        c.read();
        c.ask(b"{\"execute\":\"qmp_capabilities\"}\n");
    }
    let mut arrays = b"[".repeat(1030);
    arrays.extend(b"]".repeat(1030));
    arrays.push(b'\n');
    let mut objects = b"{\"execute\":\"query-name\",\"id\":".to_vec();
    objects.extend(b"{\"a\":".repeat(1030));
    objects.push(b'1');
    objects.extend(b"}".repeat(1031));
    objects.push(b'\n');
    let mut deep_ok = b"{\"execute\":\"query-name\",\"id\":".to_vec();
    deep_ok.extend(b"[".repeat(99));
    deep_ok.extend(b"]".repeat(99));
    deep_ok.extend(b"}\n");
    for (what, input, burst) in [
        ("arrays", arrays, 1027),
        ("objects", objects, 1029),
        ("100 levels", deep_ok, 1),
    ] {
        // Each burst ends with a marker reply, so both sides can be read to the same point.
        let mut all = input.clone();
        all.extend(b"{\"execute\":\"query-name\",\"id\":\"end\"}\n");
        q.send(&all);
        e.send(&all);
        let read_to_end = |c: &mut Lines| {
            let mut v = Vec::new();
            loop {
                let l = c.read();
                assert!(!l.is_empty(), "{what}: connection closed");
                if l.windows(5).any(|w| w == b"\"end\"") {
                    return v;
                }
                v.push(l);
            }
        };
        let (a, b) = (read_to_end(q), read_to_end(e));
        assert_eq!(a.len(), burst, "{what}: QEMU's burst");
        assert!(a == b, "{what}: bursts differ");
    }
}

per_release!(random_fragment_sequences: differential_random_fragment_sequences_qemu_7_2, differential_random_fragment_sequences_qemu_10_0);

/// Random sequences of protocol fragments (valid commands, broken JSON, control bytes, bad
/// UTF-8, single quotes...) sent to both servers over unix sockets, one connection per case;
/// each case ends with a reset byte and a marker command. Replies must match exactly.
fn random_fragment_sequences(test: &str, release: QemuRelease) {
    let qemu = match Qemu::find(release) {
        Ok(q) => q,
        Err(why) => return skipped(test, &why),
    };
    const FRAGMENTS: &[&[u8]] = &[
        b"{",
        b"}",
        b"[",
        b"]",
        b":",
        b",",
        b" ",
        b"\n",
        b"\r\n",
        b"\t",
        b"\"execute\"",
        b"\"exec-oob\"",
        b"\"arguments\"",
        b"\"id\"",
        b"\"qmp_capabilities\"",
        b"\"query-status\"",
        b"\"enable\"",
        b"[\"oob\"]",
        b"\"query-yank\"",
        b"'single'",
        b"\"\\u00e9\"",
        b"\"\\ud800\"",
        b"1",
        b"-0",
        b"1.5e3",
        // No out-of-range number (1e999): the monitor rejects it where QEMU writes `inf`
        // (its one deliberate deviation, see common::expect_no_inf); in arguments the two
        // would differ in ways a line rewrite cannot express.
        b"true",
        b"null",
        b"nul",
        b"\x01",
        b"\xff",
        b"\xc3",
        b"\"\xc3(\"",
        b"\x00",
        b"\"\\'\"",
        b"\\",
        b"\"\xe2\x82\xac\"",
        b"{\"execute\":\"query-status\",\"id\":1}",
        b"{\"exec-oob\":\"query-yank\",\"id\":2}",
        b"{\"execute\":\"qmp_capabilities\"}",
        b"{\"execute\":\"query-name\",\"arguments\":{\"x\":1}}",
        b"\"\\u0000\"",
        b"0.0",
        b"-",
        b"e",
        b"tru",
        b"'",
        b"\"",
        b"\x7f",
        b"\xfe",
    ];
    let dir = TempDir::new("fuzzdiff");
    let qsock = dir.0.join("qemu.sock");
    let esock = dir.0.join("emul.sock");
    let _q = qemu_on_unix(Path::new(&qemu.system), &qsock);
    let _e = serve_on_unix_as(&esock, release);
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    let run = |path: &std::path::Path, input: &[u8], tag: &str| {
        let mut c = Lines::new(connect(path));
        let mut out = vec![redact(&c.read())];
        c.send(input);
        c.send(format!("\x01\n{{\"execute\":\"query-name\",\"id\":\"{tag}\"}}\n").as_bytes());
        let marker = format!("\"id\": \"{tag}\"");
        loop {
            let l = c.read();
            assert!(!l.is_empty(), "{tag}: connection closed");
            let done = String::from_utf8_lossy(&l).contains(&marker);
            out.push(redact(&l));
            if done {
                return out;
            }
        }
    };
    for case in 0..60 {
        let mut input = Vec::new();
        if next(10) < 7 {
            input.extend(b"{\"execute\":\"qmp_capabilities\"}\n");
        }
        for _ in 0..1 + next(40) {
            input.extend(FRAGMENTS[next(FRAGMENTS.len())]);
        }
        let tag = format!("end{case}");
        let (a, b) = (run(&qsock, &input, &tag), run(&esock, &input, &tag));
        assert!(
            a == b,
            "case {case}: input {:?}\nQEMU: {:?}\nours: {:?}",
            String::from_utf8_lossy(&input),
            a.iter()
                .map(|l| String::from_utf8_lossy(l).into_owned())
                .collect::<Vec<_>>(),
            b.iter()
                .map(|l| String::from_utf8_lossy(l).into_owned())
                .collect::<Vec<_>>()
        );
    }
}

per_release!(argumentless_queries: differential_argumentless_queries_qemu_7_2, differential_argumentless_queries_qemu_10_0);

/// Every argument-less query of the schema, answered by both: same bytes (the emulated
/// monitor replays QEMU's recorded answers where it has no behaviour of its own).
fn argumentless_queries(test: &str, release: QemuRelease) {
    // query-qmp-schema is compared in differential_unix_socket_schema_and_commands;
    // query-chardev names the socket; x-query-jit depends on the host.
    let skip = ["query-qmp-schema", "query-chardev", "x-query-jit"];
    let schema = release.schema();
    let names: Vec<&str> = schema
        .commands()
        .map(|c| c.name.as_str())
        .filter(|n| n.starts_with("query-") || n.starts_with("x-query-"))
        .filter(|n| !skip.contains(n))
        .filter(|n| schema.check_arguments(n, None).is_ok())
        .collect();
    assert!(names.len() > 60, "{}", names.len());
    let Some(mut pair) = Pair::start(test, release) else {
        return;
    };
    let (q, e) = (&mut pair.qemu, &mut pair.ours);
    for c in [&mut *q, &mut *e] {
        c.read();
        c.ask(b"{\"execute\":\"qmp_capabilities\"}\n");
    }
    let mut differ = Vec::new();
    for n in names {
        let cmd = format!("{{\"execute\":\"{n}\",\"id\":\"{n}\"}}\n");
        let (a, b) = (q.ask(cmd.as_bytes()), e.ask(cmd.as_bytes()));
        if redact(&a) != redact(&b) {
            differ.push(format!(
                "{n}:\n  QEMU {}\n  ours {}",
                String::from_utf8_lossy(&a[..a.len().min(200)]),
                String::from_utf8_lossy(&b[..b.len().min(200)])
            ));
        }
    }
    assert!(differ.is_empty(), "{}", differ.join("\n"));
}
