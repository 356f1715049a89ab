//! The schema checks against the emulated monitor and proxies that break one rule each.

use super::cases::runner;
use super::queries::queries_of;
use super::state::state_queries;
use super::*;
use crate::monitor::{emulated_target, Fault};
use crate::schema::strategy::invalid_arguments;
use proptest::strategy::{Strategy, ValueTree};
use serde_json::json;
use std::time::Duration;

fn run(id: &str, faults: &[Fault], cases: u32) -> Outcome {
    let ctx = Ctx::new(emulated_target(faults, None), Duration::from_secs(5)).with_schema_options(
        SchemaOptions {
            cases,
            ..SchemaOptions::default()
        },
    );
    (super::super::by_id(id).unwrap().run)(&ctx)
}

/// Every schema check passes against the emulated monitor (the reference server).
#[test]
fn every_schema_check_passes_against_the_emulated_monitor() {
    for c in super::super::all().iter().filter(|c| c.area() == "schema") {
        let o = run(c.id, &[], 8);
        assert_eq!(o.status, Status::Pass, "{}: {}", c.id, o.message);
        assert!(!o.transcript.is_empty(), "{}: no transcript", c.id);
        assert!(o.transcript.len() <= PASSING_TRANSCRIPT, "{}", c.id);
    }
}

fn sends(o: &Outcome) -> Vec<String> {
    o.transcript
        .iter()
        .filter(|e| e.dir == crate::endpoint::Dir::Send)
        .map(|e| String::from_utf8_lossy(&e.bytes).into_owned())
        .collect()
}

/// Run check `id` against the monitor with `fault`: it fails, its headline starting with
/// `headline`.
fn fails(id: &str, fault: Fault, headline: &str) -> Outcome {
    let o = run(id, &[fault], 8);
    assert_eq!(o.status, Status::Fail, "{}", o.message);
    assert!(o.headline().starts_with(headline), "{}", o.message);
    o
}

#[test]
fn a_wrong_return_type_fails_query_returns_naming_clause_and_path() {
    let o = fails(
        "schema.query-returns",
        Fault::WrongReturnType,
        "[reply.return] query-version",
    );
    assert!(
        o.message
            .contains("return.qemu.micro: expected int, got string"),
        "{}",
        o.message
    );
    // The transcript is the minimal case, replayed: negotiation and query-version.
    let sent = sends(&o).concat();
    assert!(sent.contains("\"query-version\""), "{sent}");
    assert!(sends(&o).len() <= 3, "{:?}", sends(&o));
    let got: String = o
        .transcript
        .iter()
        .map(|e| String::from_utf8_lossy(&e.bytes).into_owned())
        .collect();
    assert!(got.contains("\"micro\": \"22\""), "{got}");
}

#[test]
fn no_argument_check_fails_invalid_arguments_with_a_shrunk_case() {
    let o = fails(
        "schema.invalid-arguments",
        Fault::NoArgCheck,
        "[compat.arg-check] ",
    );
    assert!(o.message.contains(" at arguments."), "{}", o.message);
    assert!(o.message.contains("shrunk by proptest"), "{}", o.message);
    // Replayed on a fresh connection: negotiation, state, the case, state again.
    let n = state_queries(Schema::qemu_7_2()).len();
    assert_eq!(sends(&o).len(), 2 + 2 * n, "{:?}", sends(&o));
    // Shrunk: the minimal case has a single one-member defect at the top.
    let case = &sends(&o)[1 + n];
    assert!(case.len() < 120, "{case}");
}

#[test]
fn no_argument_check_is_not_a_valid_arguments_failure() {
    let o = run("schema.valid-arguments", &[Fault::NoArgCheck], 8);
    assert_eq!(o.status, Status::Pass, "{}", o.message);
}

#[test]
fn events_without_timestamp_fail() {
    let o = run("schema.event-data", &[Fault::BadEvent], 8);
    assert_eq!(o.status, Status::Fail, "{}", o.message);
    assert!(o.headline().contains("[event.shape]"), "{}", o.message);
}

/// The emulated monitor behind a line-by-line proxy: `handle` answers each input line
/// (usually by feeding it to the monitor, perhaps doing something else besides).
fn proxy_target(
    description: &str,
    handle: fn(&[u8], &mut crate::monitor::Monitor) -> Vec<u8>,
) -> crate::endpoint::Target {
    use crate::endpoint::Target;
    use crate::monitor::{Monitor, MonitorConfig};
    use std::io::{BufRead, BufReader, Write};
    use std::os::unix::net::UnixStream;
    use std::sync::Arc;
    Target::InProcess {
        description: description.into(),
        connect: Arc::new(move || {
            let (client, server) = UnixStream::pair()?;
            std::thread::spawn(move || {
                let mut mon = Monitor::new(Arc::new(MonitorConfig::new(&[], None)));
                let mut w = server.try_clone().expect("clone");
                let mut r = BufReader::new(server);
                let _ = w.write_all(&mon.feed(b""));
                let mut line = Vec::new();
                loop {
                    line.clear();
                    if r.read_until(b'\n', &mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    if w.write_all(&handle(&line, &mut mon)).is_err() {
                        return;
                    }
                }
            });
            Ok(Box::new(client) as Box<dyn crate::endpoint::Transport>)
        }),
    }
}

/// `cont` with arguments (always invalid: it takes none) is rejected as usual but pauses
/// the VM first, silently: a side effect that only the state queries show.
fn side_effect_target() -> crate::endpoint::Target {
    proxy_target(
        "emulated, with a side effect of rejected cont",
        |line, mon| {
            let text = String::from_utf8_lossy(line);
            if text.contains("\"cont\"") && text.contains("\"arguments\"") {
                let _ = mon.feed(b"{\"execute\":\"stop\"}\n");
            }
            mon.feed(line)
        },
    )
}

#[test]
fn valid_arguments_rejected_as_ill_typed_fail() {
    // qom-list refuses any path with a digit in it, with the argument check's words.
    let target = proxy_target("emulated, picky qom-list", |line, mon| {
        let v: Value = serde_json::from_slice(line).unwrap_or(Value::Null);
        let picky = v["execute"] == "qom-list"
            && v["arguments"]["path"]
                .as_str()
                .is_some_and(|p| p.contains(|c: char| c.is_ascii_digit()));
        if !picky {
            return mon.feed(line);
        }
        let e = json!({"id": v["id"], "error": {"class": "GenericError",
            "desc": "Invalid parameter type for 'path', expected: string"}});
        format!("{e}\r\n").into_bytes()
    });
    let ctx = Ctx::new(target, Duration::from_secs(5)).with_schema_options(SchemaOptions {
        cases: 64,
        ..SchemaOptions::default()
    });
    let o = valid_args(&ctx);
    assert_eq!(o.status, Status::Fail, "{}", o.message);
    assert!(
        o.headline().starts_with(
            r#"[compat.arg-check] qom-list rejected valid arguments {"path":"a0"} as ill-typed"#
        ),
        "{}",
        o.message
    );
    assert!(sends(&o).concat().contains(r#""path":"a0""#));
}

#[test]
fn commands_missing_from_query_commands_fail() {
    let target = proxy_target(
        "emulated, query-commands without query-status",
        |line, mon| {
            let out = String::from_utf8(mon.feed(line)).expect("ASCII");
            out.replace(r#", {"name": "query-status"}"#, "")
                .into_bytes()
        },
    );
    let ctx = Ctx::new(target, Duration::from_secs(5));
    let o = commands_agree(&ctx);
    assert_eq!(o.status, Status::Fail, "{}", o.message);
    assert_eq!(
        o.headline(),
        "[reply.return] 1 command(s) of the schema missing from query-commands: query-status"
    );
}

#[test]
fn a_side_effect_of_a_rejected_command_fails_with_the_state_change() {
    let ctx =
        Ctx::new(side_effect_target(), Duration::from_secs(5)).with_schema_options(SchemaOptions {
            cases: 8,
            ..SchemaOptions::default()
        });
    let o = invalid_args(&ctx);
    assert_eq!(o.status, Status::Fail, "{}", o.message);
    assert!(
        o.headline()
            .starts_with("[compat.arg-check] cont rejected arguments with an unexpected member"),
        "{}",
        o.message
    );
    assert!(
        o.message.contains("query-status changed from"),
        "{}",
        o.message
    );
    // Shrunk to the simplest unexpected member, and replayed.
    assert!(o.message.contains(r#"({"a":1})"#), "{}", o.message);
    let sent: String = sends(&o).concat();
    assert!(
        sent.contains(r#""execute":"cont","arguments":{"a":1}"#),
        "{sent}"
    );
}

#[test]
fn query_command_extends_the_recognized_queries() {
    let ctx = Ctx::new(emulated_target(&[], None), Duration::from_secs(5)).with_schema_options(
        SchemaOptions {
            cases: 4,
            extra_queries: vec![
                "query-sev-attestation-report".into(),
                "no-such-query".into(),
            ],
            ..SchemaOptions::default()
        },
    );
    let o = query_returns(&ctx);
    assert_eq!(o.status, Status::Pass, "{}", o.message);
    let n = queries_of(Schema::qemu_7_2(), &ctx.schema).len();
    assert_eq!(n, Schema::qemu_7_2().side_effect_free_queries().len() + 1);
    assert!(
        o.message.contains(&format!("over {n} commands")),
        "{}",
        o.message
    );
    assert!(
        o.message
            .contains("--query-command not in the schema: no-such-query"),
        "{}",
        o.message
    );
}

#[test]
fn a_schema_command_the_endpoint_does_not_know_fails() {
    let target = proxy_target("emulated, without query-name", |line, mon| {
        let v: Value = serde_json::from_slice(line).unwrap_or(Value::Null);
        if v["execute"] != "query-name" {
            return mon.feed(line);
        }
        let e = json!({"id": v["id"], "error": {"class": "CommandNotFound",
            "desc": "The command query-name has not been found"}});
        format!("{e}\r\n").into_bytes()
    });
    let o = commands_agree(&Ctx::new(target, Duration::from_secs(5)));
    assert_eq!(o.status, Status::Fail, "{}", o.message);
    assert_eq!(
        o.headline(),
        "[reply.return] 1 command(s) of the schema are unknown to the endpoint (CommandNotFound): query-name"
    );
}

/// What the spec allows never fails a schema check: every return object and event data
/// carrying a member the schema does not list only warns, naming the path.
#[test]
fn extra_members_only_warn() {
    let target = proxy_target("emulated, extra members", |line, mon| {
        let out = String::from_utf8(mon.feed(line)).expect("ASCII");
        out.replace(r#""return": {""#, r#""return": {"x-qmpspec-extra": 1, ""#)
            .replace(r#""return": {}"#, r#""return": {"x-qmpspec-extra": 1}"#)
            .replace(r#""data": {""#, r#""data": {"x-qmpspec-extra": 1, ""#)
            .into_bytes()
    });
    let ctx = Ctx::new(target, Duration::from_secs(5)).with_schema_options(SchemaOptions {
        cases: 8,
        ..SchemaOptions::default()
    });
    for c in super::super::all().iter().filter(|c| c.area() == "schema") {
        let o = (c.run)(&ctx);
        let want = if c.id == "schema.query-returns" {
            Status::Warn
        } else {
            Status::Pass
        };
        assert_eq!(o.status, want, "{}: {}", c.id, o.message);
    }
    let o = query_returns(&ctx);
    assert!(
        o.headline().starts_with("[compat.ignore-unknown] ")
            && o.message.contains("return.x-qmpspec-extra"),
        "{}",
        o.message
    );
}

#[test]
fn zero_cases_skip() {
    assert_eq!(run("schema.invalid-arguments", &[], 0).status, Status::Skip);
}

#[test]
fn defect_paths() {
    let missing = ArgumentError::Missing("children[1].filename".into());
    assert_eq!(
        defect_at(Some(&missing)),
        " at arguments.children[1].filename"
    );
    let wrong = ArgumentError::WrongType {
        member: "x".into(),
        expected: "string".into(),
    };
    assert_eq!(defect_at(Some(&wrong)), " at arguments.x");
    assert_eq!(defect_at(Some(&ArgumentError::TooDeep)), "");
    assert_eq!(defect_at(None), "");
}

#[test]
fn argument_error_texts() {
    assert!(is_argument_error("Parameter 'a' is unexpected"));
    assert!(is_argument_error("Parameter 'b' expects int32_t"));
    assert!(is_argument_error("Parameter 'a.b' expects uint64"));
    assert!(is_argument_error(
        "Invalid parameter type for 'x', expected: string"
    ));
    assert!(!is_argument_error(
        "Parameter 'compress_level' expects a value between 0 and 9"
    ));
    assert!(!is_argument_error("Device 'x' not found"));
}

#[test]
fn queries_are_never_commands_never_sent() {
    let s = Schema::qemu_7_2();
    for q in s
        .side_effect_free_queries()
        .into_iter()
        .chain(Schema::qemu_10_0().side_effect_free_queries())
    {
        assert!(!NEVER_SEND.contains(&q), "{q}");
    }
    for n in NEVER_SEND.iter().filter(|n| **n != "dump-skeys") {
        // (dump-skeys is s390x's.)
        assert!(s.command(n).is_some(), "{n} is not a QEMU 7.2 command");
    }
}

#[test]
fn runners_are_deterministic() {
    let s = Schema::qemu_7_2();
    let strategy = invalid_arguments(s, "blockdev-add");
    let gen = || {
        let mut r = runner(&SchemaOptions::default(), "blockdev-add");
        (0..5)
            .map(|_| strategy.new_tree(&mut r).unwrap().current())
            .collect::<Vec<_>>()
    };
    assert_eq!(gen(), gen());
    let mut other = runner(&SchemaOptions::default(), "query-status");
    assert_ne!(gen()[0], strategy.new_tree(&mut other).unwrap().current());
}
