//! Transcript snapshots: a fixed, seeded set of scenarios (greeting, negotiation, commands,
//! errors, events, malformed input, generated arguments) played against the emulated monitor
//! and against QEMU, 7.2 and 10.0.2 (the monitor answering as each), each transcript compared
//! with its committed insta snapshot (`tests/snapshots/`), so that a change of behaviour in
//! any shows up as a snapshot diff.
//!
//! Redacted: event timestamps, the version numbers and the package string (the same scenario
//! then matches every build of a QEMU release). Everything else is byte for byte what came
//! back, member order included; `\r\n` line ends are shown as `⏎`. The emulated monitor's
//! transcripts are also held equal to the recorded QEMU ones of the same release.
//!
//! The QEMU snapshots are skipped, loudly, when that QEMU is missing (or another version).
//! A missing snapshot is never written silently: insta fails the assertion (and writes a
//! `.snap.new` to review, or nothing under `INSTA_UPDATE=no`, as CI sets). Create or update
//! them with `INSTA_UPDATE=always cargo test --test snapshots` (or `cargo insta review`), read
//! the diff, and commit.

/// Say loudly that a test did not run: written straight to stderr, past libtest's capture
/// (which hides `eprintln!` of passing tests).
macro_rules! skipped {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($t)*);
    }};
}

mod common;

use common::live::{Qemu, QemuRelease};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use qmpspec::endpoint::{Connection, Target};
use qmpspec::schema::strategy::invalid_arguments;
use qmpspec::schema::Schema;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(10);

/// A scenario: a name and raw inputs, each followed by a sync command whose reply ends it.
struct Scenario {
    name: &'static str,
    steps: Vec<Vec<u8>>,
}

fn step(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(b'\n');
    v
}

const NEGOTIATE: &str = r#"{"execute":"qmp_capabilities","arguments":{"enable":["oob"]}}"#;

fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "greeting",
            steps: vec![],
        },
        Scenario {
            name: "negotiation",
            steps: vec![
                step(r#"{"execute":"query-version","id":1}"#),
                step(r#"{"execute":"qmp_capabilities","arguments":{"enable":["foo"]}}"#),
                step(r#"{"execute":"qmp_capabilities","arguments":{"bogus":1}}"#),
                step(NEGOTIATE),
                step(r#"{"execute":"qmp_capabilities","id":"again"}"#),
                step(r#"{"execute":"query-version","id":2}"#),
            ],
        },
        Scenario {
            name: "commands",
            steps: vec![
                step(NEGOTIATE),
                step(r#"{"execute":"query-status","id":null}"#),
                step(r#"{"execute":"query-name","id":[1,{"a":true}]}"#),
                step(r#"{"execute":"query-kvm","id":1.5e3}"#),
                step(r#"{"execute":"query-target","id":123456789012345678901234567890}"#),
                step(r#"{"execute":"query-uuid","id":"é€"}"#),
                step(r#"{"execute":"qom-list","arguments":{"path":"/"},"id":{"k":"v"}}"#),
                step(r#"{"execute":"qom-get","arguments":{"path":"/machine","property":"type"}}"#),
                step(r#"{"execute":"query-name","id":"p1"}{"execute":"query-name","id":"p2"}"#),
                step(r#"{"exec-oob":"query-status","id":"oob"}"#),
            ],
        },
        Scenario {
            name: "errors",
            steps: vec![
                step(NEGOTIATE),
                step(r#"{"execute":"no-such-command","id":1}"#),
                step(r#"{"execute":"query-status","arguments":{"a":1},"id":2}"#),
                step(r#"{"execute":"qom-list","id":3}"#),
                step(r#"{"execute":"qom-list","arguments":{"path":1},"id":4}"#),
                step(r#"{"execute":"qom-list","arguments":{"path":"/nowhere"},"id":5}"#),
                step(
                    r#"{"execute":"query-cpu-model-expansion","arguments":{"type":"x","model":{"name":"max"}},"id":6}"#,
                ),
                step(r#"{"execute":"device_del","arguments":{"id":"nodev"},"id":7}"#),
                step(r#"{"execute":"query-balloon","id":8}"#),
            ],
        },
        Scenario {
            name: "events",
            steps: vec![
                step(r#"{"execute":"stop","id":"early"}"#),
                step(NEGOTIATE),
                step(r#"{"execute":"stop","id":"stop"}"#),
                step(r#"{"execute":"stop","id":"stop-again"}"#),
                step(r#"{"execute":"query-status","id":"status"}"#),
                step(r#"{"execute":"cont","id":"cont"}"#),
            ],
        },
        Scenario {
            name: "malformed",
            steps: vec![
                step(NEGOTIATE),
                step(r#"{"execute":}"#),
                step("[]"),
                step("1"),
                step(r#""x""#),
                step(r#"{"foo":1,"id":"f"}"#),
                step(r#"{"id":3}"#),
                step(r#"{"execute":1}"#),
                step(r#"{"execute":"query-name","arguments":[]}"#),
                step(r#"{"execute":"query-name","exec-oob":"query-name"}"#),
                step(r#"{'execute':'query-name','id':'single'}"#),
                step(r#"{"execute":"query-name","id":"a","id":"b"}"#),
                b"{\"execute\":\"query-name\",\"id\":\"\xc3\x28\"}\n".to_vec(),
                b"\x01\n".to_vec(),
                step(r#"{"execute":"query-name","id":"after-reset"}"#),
            ],
        },
        Scenario {
            name: "generated-arguments",
            steps: generated_steps(),
        },
    ]
}

/// Seeded invalid arguments for a few commands: the same cases every run (they change only
/// when the generators do, which the snapshot diff then shows).
fn generated_steps() -> Vec<Vec<u8>> {
    let schema = Schema::qemu_7_2();
    let mut steps = vec![step(NEGOTIATE)];
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[42; 32]),
    );
    for cmd in [
        "query-status",
        "qom-list",
        "query-stats",
        "migrate-set-parameters",
    ] {
        let strategy = invalid_arguments(schema, cmd);
        for i in 0..3 {
            let (args, _) = strategy.new_tree(&mut runner).unwrap().current();
            let c =
                serde_json::json!({"execute": cmd, "arguments": args, "id": format!("{cmd}-{i}")});
            steps.push(step(&c.to_string()));
        }
    }
    steps
}

/// Replace the digits after each `key` in `s` by `with`.
fn redact_number(s: &str, key: &str, with: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find(key) {
        out.push_str(&rest[..i + key.len()]);
        rest = &rest[i + key.len()..];
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '-'))
            .unwrap_or(rest.len());
        if n > 0 {
            out.push_str(with);
        }
        rest = &rest[n..];
    }
    out.push_str(rest);
    out
}

/// Replace the string value after each `key` in `s` by `with`.
fn redact_string(s: &str, key: &str, with: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find(key) {
        out.push_str(&rest[..i + key.len()]);
        rest = &rest[i + key.len()..];
        if let Some(body) = rest.strip_prefix('"') {
            let mut end = None;
            let mut esc = false;
            for (j, c) in body.char_indices() {
                match c {
                    _ if esc => esc = false,
                    '\\' => esc = true,
                    '"' => {
                        end = Some(j);
                        break;
                    }
                    _ => {}
                }
            }
            if let Some(j) = end {
                out.push_str(with);
                rest = &body[j + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn redact(line: &str) -> String {
    let mut s = line.to_string();
    for key in [r#""seconds": "#, r#""microseconds": "#] {
        s = redact_number(&s, key, "[ts]");
    }
    for key in [r#""major": "#, r#""minor": "#, r#""micro": "#] {
        s = redact_number(&s, key, "[n]");
    }
    redact_string(&s, r#""package": "#, r#""[package]""#)
}

/// Escape what is not printable ASCII (the transcript shows the bytes, not their meaning).
fn show(bytes: &[u8]) -> String {
    let mut s = String::new();
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\n' => s.push_str("\\n"),
                '\r' => s.push_str("\\r"),
                c if c.is_control() => s.push_str(&format!("\\u{{{:x}}}", c as u32)),
                c => s.push(c),
            }
        }
        for b in chunk.invalid() {
            s.push_str(&format!("\\x{b:02x}"));
        }
    }
    s
}

/// Read until the complete line holding `marker` (or, without one, any complete line).
fn read_until(conn: &mut Connection, buf: &mut Vec<u8>, marker: Option<&str>) {
    let deadline = Instant::now() + T;
    loop {
        let text = String::from_utf8_lossy(buf);
        let done = match marker {
            Some(m) => text.find(m).is_some_and(|i| text[i..].contains('\n')),
            None => text.contains('\n'),
        };
        if done {
            return;
        }
        let got = conn
            .recv(deadline)
            .unwrap_or_else(|e| panic!("waiting for {marker:?}: {e}; got {text}"));
        assert!(
            !got.is_empty(),
            "closed while waiting for {marker:?}; got {text}"
        );
        buf.extend_from_slice(&got);
    }
}

/// Move every complete line of `buf` to `out`, redacted.
fn drain(buf: &mut Vec<u8>, out: &mut String) {
    while let Some(i) = buf.iter().position(|&b| b == b'\n') {
        let line: Vec<u8> = buf.drain(..=i).collect();
        let (body, end) = match line.strip_suffix(b"\r\n") {
            Some(b) => (b, "⏎"),
            None => (&line[..line.len() - 1], "[LF only]"),
        };
        out.push_str(&format!("<- {}{end}\n", redact(&show(body))));
    }
}

/// Play a scenario; the transcript as snapshot text.
fn play(target: &Target, sc: &Scenario) -> String {
    let mut conn = target.connect().expect("target reachable");
    let mut out = String::new();
    let mut buf = Vec::new();
    read_until(&mut conn, &mut buf, None);
    drain(&mut buf, &mut out);
    for (k, input) in sc.steps.iter().enumerate() {
        let sync = format!("sync-{k}");
        out.push_str(&format!("-> {}\n", show(input)));
        conn.send(input, T).expect("send");
        conn.send(
            format!("{{\"execute\":\"query-name\",\"id\":\"{sync}\"}}\n").as_bytes(),
            T,
        )
        .expect("send");
        read_until(&mut conn, &mut buf, Some(&format!("\"{sync}\"")));
        let text = String::from_utf8_lossy(&buf).into_owned();
        let at = text.find(&format!("\"{sync}\"")).expect("read");
        let end = at + text[at..].find('\n').expect("read") + 1;
        let mut this: Vec<u8> = buf.drain(..end).collect();
        drain(&mut this, &mut out);
        out.push_str("   (sync)\n");
    }
    out
}

/// The sync replies are all alike: keep one line per step for them, not the reply itself.
fn without_sync_replies(s: &str) -> String {
    s.lines()
        .filter(|l| !(l.starts_with("<- ") && l.contains("\"sync-")))
        .map(|l| format!("{l}\n"))
        .collect()
}

fn snapshot_all(prefix: &str, target: &Target) {
    for sc in scenarios() {
        let text = without_sync_replies(&play(target, &sc));
        insta::with_settings!({prepend_module_to_snapshot => false, omit_expression => true}, {
            insta::assert_snapshot!(format!("{prefix}-{}", sc.name), text);
        });
    }
}

/// The snapshot name prefix of the emulated monitor answering as `release`.
fn emulated_prefix(release: QemuRelease) -> String {
    match release {
        QemuRelease::V7_2 => "emulated".into(),
        r => format!("emulated-{r}"),
    }
}

#[test]
fn emulated_monitor_transcripts() {
    for release in QemuRelease::ALL {
        let target = qmpspec::monitor::emulated_target_as(release, &[], None);
        snapshot_all(&emulated_prefix(release), &target);
    }
}

fn qemu_transcripts(release: QemuRelease) {
    match Qemu::find(release) {
        Ok(q) => snapshot_all(&format!("qemu-{release}"), &q.system_target()),
        Err(why) => skipped!("SKIPPED: QEMU {release} transcript snapshots: {why}"),
    }
}

#[test]
fn qemu_7_2_transcripts() {
    qemu_transcripts(QemuRelease::V7_2)
}

#[test]
fn qemu_10_0_transcripts() {
    qemu_transcripts(QemuRelease::V10_0)
}

#[test]
fn redaction_keeps_everything_but_volatile_values() {
    let l = r#"{"timestamp": {"seconds": 1764000000, "microseconds": 12}, "event": "STOP"}"#;
    assert_eq!(
        redact(l),
        r#"{"timestamp": {"seconds": [ts], "microseconds": [ts]}, "event": "STOP"}"#
    );
    let g = r#"{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "Debian 1:7.2+dfsg-7 \"x\""}, "capabilities": ["oob"]}}"#;
    assert_eq!(
        redact(g),
        r#"{"QMP": {"version": {"qemu": {"micro": [n], "minor": [n], "major": [n]}, "package": "[package]"}, "capabilities": ["oob"]}}"#
    );
    assert_eq!(show(b"a\x01\xff\r"), "a\\u{1}\\xff\\r");
}

/// The emulated monitor answers the whole scenario set exactly as QEMU 7.2 and 10.0.2 did
/// when their snapshots were recorded (compared with the committed files: no QEMU needed).
#[test]
fn emulated_monitor_matches_the_recorded_qemu_transcripts() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    let body = |name: &str| {
        let text = std::fs::read_to_string(dir.join(name))
            .unwrap_or_else(|e| panic!("{name}: {e} (snapshots are committed)"));
        // The body follows the second `---` line of the insta header.
        text.splitn(3, "---\n")
            .nth(2)
            .unwrap_or_default()
            .to_string()
    };
    for release in QemuRelease::ALL {
        for sc in scenarios() {
            let emulated = body(&format!("{}-{}.snap", emulated_prefix(release), sc.name));
            let qemu = body(&format!("qemu-{release}-{}.snap", sc.name));
            assert!(!qemu.is_empty(), "{release} {}: empty snapshot", sc.name);
            assert_eq!(emulated, qemu, "QEMU {release}, scenario {}", sc.name);
        }
    }
}
