//! Every check both ways: it passes against a conforming server and fails (or warns, naming
//! the clause) against a server with the fault that breaks its rule.

use super::fake;
use super::{all, Status};
use std::thread;

/// (check id, fault, expected status, clause the message must name).
const BROKEN_BY: &[(&str, &str, Status, &str)] = &[
    (
        "encoding.output-ascii",
        "non-ascii",
        Status::Fail,
        "enc.output-ascii",
    ),
    (
        "encoding.input-utf8",
        "accept-bad-utf8",
        Status::Fail,
        "enc.input-utf8",
    ),
    (
        "encoding.single-quotes",
        "no-single-quotes",
        Status::Warn,
        "enc.single-quotes",
    ),
    (
        "encoding.member-order",
        "order-sensitive",
        Status::Fail,
        "enc.member-order",
    ),
    ("framing.crlf", "lf-only", Status::Fail, "frame.crlf"),
    (
        "framing.objects-only",
        "non-object",
        Status::Fail,
        "frame.objects-only",
    ),
    (
        "framing.input-line-endings",
        "line-based",
        Status::Fail,
        "cmd.shape",
    ),
    (
        "framing.multiline-input",
        "line-based",
        Status::Fail,
        "cmd.shape",
    ),
    (
        "framing.whitespace-only",
        "line-based",
        Status::Fail,
        "reply.one-per-command",
    ),
    (
        "greeting.first",
        "no-greeting",
        Status::Fail,
        "greeting.first",
    ),
    (
        "greeting.shape",
        "bad-greeting",
        Status::Fail,
        "greeting.shape",
    ),
    (
        "greeting.capabilities",
        "caps-not-strings",
        Status::Fail,
        "greeting.capabilities",
    ),
    (
        "greeting.version-consistent",
        "wrong-return-type",
        Status::Warn,
        "greeting.shape",
    ),
    (
        "negotiation.required",
        "no-negotiation",
        Status::Fail,
        "neg.mode",
    ),
    (
        "negotiation.no-events",
        "early-events",
        Status::Fail,
        "neg.mode",
    ),
    (
        "negotiation.enter-command-mode",
        "bad-return",
        Status::Fail,
        "neg.enter-command-mode",
    ),
    (
        "negotiation.repeat",
        "caps-twice",
        Status::Fail,
        "neg.enter-command-mode",
    ),
    (
        "negotiation.enable",
        "reject-enable",
        Status::Fail,
        "neg.enable",
    ),
    (
        "negotiation.enable-unknown",
        "accept-unknown-cap",
        Status::Fail,
        "neg.enable",
    ),
    (
        "commands.unknown",
        "unknown-generic",
        Status::Warn,
        "reply.error",
    ),
    (
        "commands.without-id",
        "invent-id",
        Status::Fail,
        "cmd.id-echo",
    ),
    (
        "commands.empty-arguments",
        "reject-empty-args",
        Status::Fail,
        "cmd.shape",
    ),
    (
        "commands.arg-unknown",
        "no-arg-check",
        Status::Fail,
        "compat.arg-check",
    ),
    (
        "commands.arg-wrong-type",
        "no-arg-check",
        Status::Fail,
        "compat.arg-check",
    ),
    (
        "commands.arg-missing",
        "no-arg-check",
        Status::Fail,
        "compat.arg-check",
    ),
    (
        "commands.query-commands",
        "bad-query-commands",
        Status::Fail,
        "reply.return",
    ),
    (
        "ids.every-json-type",
        "wrong-id",
        Status::Fail,
        "cmd.id-echo",
    ),
    ("ids.echo-on-error", "drop-id", Status::Fail, "cmd.id-echo"),
    ("ids.escapes", "wrong-id", Status::Fail, "cmd.id-echo"),
    ("ids.numbers", "wrong-id", Status::Fail, "cmd.id-echo"),
    (
        "ids.envelope-error",
        "wrong-id",
        Status::Fail,
        "cmd.id-echo",
    ),
    ("ids.pipelined", "wrong-id", Status::Fail, "cmd.id-echo"),
    (
        "ids.out-of-range-number",
        "inf-numbers",
        Status::Fail,
        "frame.objects-only",
    ),
    (
        "replies.return-shape",
        "wrong-return-type",
        Status::Fail,
        "reply.return",
    ),
    (
        "replies.one-per-command",
        "double-reply",
        Status::Fail,
        "reply.one-per-command",
    ),
    (
        "replies.in-order",
        "reorder",
        Status::Fail,
        "reply.in-order",
    ),
    ("errors.shape", "bad-error", Status::Fail, "reply.error"),
    (
        "errors.class-known",
        "invented-class",
        Status::Fail,
        "reply.error",
    ),
    (
        "errors.unexpected-member",
        "lenient-envelope",
        Status::Fail,
        "cmd.shape",
    ),
    (
        "errors.missing-execute",
        "lenient-envelope",
        Status::Fail,
        "cmd.shape",
    ),
    (
        "errors.clashing-members",
        "lenient-envelope",
        Status::Fail,
        "cmd.shape",
    ),
    (
        "errors.wrong-member-type",
        "lenient-envelope",
        Status::Fail,
        "cmd.shape",
    ),
    (
        "errors.non-object",
        "lenient-envelope",
        Status::Fail,
        "cmd.shape",
    ),
    ("events.shape", "bad-event", Status::Fail, "event.shape"),
    (
        "events.not-inside-reply",
        "event-in-reply",
        Status::Fail,
        "frame.objects-only",
    ),
    ("oob.requires-enable", "oob-any", Status::Fail, "neg.enable"),
    ("oob.allow-oob", "oob-any", Status::Fail, "oob.allow-oob"),
    ("oob.overtake", "oob-blocked", Status::Warn, "oob.overtake"),
    (
        "parser_reset.open-object",
        "no-reset",
        Status::Fail,
        "parser.reset",
    ),
    (
        "parser_reset.in-string",
        "no-reset",
        Status::Fail,
        "parser.reset",
    ),
    (
        "parser_reset.every-control-char",
        "no-reset",
        Status::Fail,
        "parser.reset",
    ),
    (
        "robustness.malformed-json",
        "silent-parse-error",
        Status::Fail,
        "reply.one-per-command",
    ),
    (
        "robustness.duplicate-keys",
        "silent-parse-error",
        Status::Fail,
        "reply.one-per-command",
    ),
    (
        "robustness.whitespace",
        "line-based",
        Status::Fail,
        "cmd.shape",
    ),
    (
        "robustness.deep-nesting",
        "crash-on-deep",
        Status::Fail,
        "reply.one-per-command",
    ),
    (
        "robustness.many-tokens",
        "stall-on-large",
        Status::Fail,
        "reply.one-per-command",
    ),
    (
        "robustness.large-string",
        "stall-on-large",
        Status::Fail,
        "reply.one-per-command",
    ),
    (
        "robustness.split-frame",
        "read-is-message",
        Status::Fail,
        "cmd.shape",
    ),
    (
        "robustness.many-commands",
        "reorder",
        Status::Fail,
        "reply.in-order",
    ),
    (
        "robustness.disconnect-mid-command",
        "wedge-on-disconnect",
        Status::Fail,
        "greeting.first",
    ),
    (
        "compatibility.schema",
        "bad-schema",
        Status::Warn,
        "reply.return",
    ),
    (
        "compatibility.downstream-names",
        "bad-downstream-name",
        Status::Warn,
        "downstream.names",
    ),
];

/// Run `jobs` on a few threads; returns the problems found.
fn parallel<T: Sync>(jobs: &[T], f: impl Fn(&T) -> Option<String> + Sync) -> Vec<String> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let problems = std::sync::Mutex::new(Vec::new());
    thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(job) = jobs.get(i) else { return };
                if let Some(p) = f(job) {
                    problems.lock().unwrap().push(p);
                }
            });
        }
    });
    problems.into_inner().unwrap()
}

/// The `schema.*` checks need a whole QAPI schema, which the scripted fake does not have:
/// they are tested both ways against the emulated monitor (`schema.rs`).
fn fake_tested() -> Vec<&'static super::Check> {
    all().iter().filter(|c| c.area() != "schema").collect()
}

#[test]
fn every_check_passes_against_a_conforming_server() {
    let problems = parallel(&fake_tested(), |c| {
        let o = fake::run(c.id, &[]);
        (o.status != Status::Pass).then(|| format!("{}: {} {}", c.id, o.status, o.message))
    });
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn what_the_spec_allows_never_fails() {
    // Extra members everywhere, an unknown capability, members in another order, and
    // pretty-printed output over several CRLF lines.
    let variants: &[&[&'static str]] = &[
        &["benign-extra-members"],
        &["benign-unknown-cap"],
        &["benign-reversed"],
        &["benign-pretty"],
        &[
            "benign-extra-members",
            "benign-reversed",
            "benign-pretty",
            "benign-unknown-cap",
        ],
    ];
    let jobs: Vec<(&'static str, &[&'static str])> = variants
        .iter()
        .flat_map(|v| fake_tested().into_iter().map(move |c| (c.id, *v)))
        .collect();
    // The variations are really on the wire.
    let seen = |id: &str, v: &[&'static str], needle: &str| {
        let o = fake::run(id, v);
        let recv: Vec<u8> = o
            .transcript
            .iter()
            .filter(|e| e.dir == crate::endpoint::Dir::Recv)
            .flat_map(|e| e.bytes.clone())
            .collect();
        assert!(
            String::from_utf8_lossy(&recv).contains(needle),
            "{v:?}: {needle:?} not on the wire"
        );
    };
    seen("greeting.first", &["benign-pretty"], "{\r\n  \"QMP\"");
    seen("framing.crlf", &["benign-extra-members"], "x-qmpspec-extra");
    seen("greeting.first", &["benign-unknown-cap"], "x-future");
    seen(
        "greeting.first",
        &["benign-reversed"],
        "{\"QMP\": {\"capabilities\"",
    );
    let problems = parallel(&jobs, |(id, v)| {
        let o = fake::run(id, v);
        (o.status != Status::Pass).then(|| format!("{id} with {v:?}: {} {}", o.status, o.message))
    });
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn every_check_is_broken_by_some_fault() {
    for c in fake_tested() {
        assert!(
            BROKEN_BY.iter().any(|(id, ..)| *id == c.id),
            "{} has no fault that breaks it",
            c.id
        );
    }
}

#[test]
fn each_check_fails_against_the_fault_that_breaks_it() {
    let problems = parallel(BROKEN_BY, |(id, fault, want, clause)| {
        let o = fake::run(id, &[fault]);
        let named = o.message.contains(&format!("[{clause}]"));
        (o.status != *want || !named).then(|| {
            format!(
                "{id} with fault {fault}: expected {want} naming {clause}, got {} {}",
                o.status, o.message
            )
        })
    });
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn passing_checks_have_looked_at_the_endpoint() {
    for id in ["greeting.first", "framing.crlf", "robustness.split-frame"] {
        let o = fake::run(id, &[]);
        assert_eq!(o.status, Status::Pass, "{id}: {}", o.message);
        assert!(
            o.transcript
                .iter()
                .any(|e| e.dir == crate::endpoint::Dir::Recv && !e.bytes.is_empty()),
            "{id}: no bytes received in the transcript"
        );
    }
}

#[test]
fn a_silent_endpoint_fails_in_bounded_time() {
    let t = std::time::Instant::now();
    let o = fake::run("negotiation.required", &["no-greeting"]);
    assert_eq!(o.status, Status::Fail);
    assert!(o.message.contains("[greeting.first]"), "{}", o.message);
    assert!(t.elapsed() < std::time::Duration::from_secs(3));
}

#[test]
fn an_unreachable_endpoint_is_an_error_outcome() {
    let ctx = super::Ctx::new(
        crate::endpoint::Target::Unix("/nonexistent/qmpspec.sock".into()),
        std::time::Duration::from_millis(200),
    );
    let o = (super::by_id("greeting.first").unwrap().run)(&ctx);
    assert_eq!(o.status, Status::Error, "{}", o.message);
}
