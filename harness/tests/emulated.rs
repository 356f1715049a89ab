//! The checks against the emulated monitor: every check passes against it as it is, and each
//! of its faults is caught by the check for the clause it breaks, which the message names.

use qmpspec::checks::{self, Ctx, Status};
use qmpspec::monitor::{emulated_target, Fault};
use std::time::Duration;

fn ctx(faults: &[Fault]) -> Ctx {
    Ctx::new(emulated_target(faults, None), Duration::from_millis(1000))
}

/// fault -> (check that catches it, expected status, clause the message names).
const CAUGHT_BY: &[(&str, &str, Status, &str)] = &[
    (
        "no-greeting",
        "greeting.first",
        Status::Fail,
        "greeting.first",
    ),
    (
        "bad-greeting",
        "greeting.shape",
        Status::Fail,
        "greeting.shape",
    ),
    (
        "caps-not-strings",
        "greeting.capabilities",
        Status::Fail,
        "greeting.capabilities",
    ),
    ("lf-only", "framing.crlf", Status::Fail, "frame.crlf"),
    (
        "non-ascii",
        "encoding.output-ascii",
        Status::Fail,
        "enc.output-ascii",
    ),
    (
        "non-object",
        "framing.objects-only",
        Status::Fail,
        "frame.objects-only",
    ),
    ("drop-id", "ids.echo-on-error", Status::Fail, "cmd.id-echo"),
    (
        "wrong-id",
        "ids.every-json-type",
        Status::Fail,
        "cmd.id-echo",
    ),
    (
        "no-negotiation",
        "negotiation.required",
        Status::Fail,
        "neg.mode",
    ),
    (
        "early-events",
        "negotiation.no-events",
        Status::Fail,
        "neg.mode",
    ),
    (
        "reject-enable",
        "negotiation.enable",
        Status::Fail,
        "neg.enable",
    ),
    ("bad-error", "errors.shape", Status::Fail, "reply.error"),
    (
        "bad-return",
        "replies.return-shape",
        Status::Fail,
        "reply.return",
    ),
    (
        "double-reply",
        "replies.one-per-command",
        Status::Fail,
        "reply.one-per-command",
    ),
    (
        "no-reply",
        "replies.one-per-command",
        Status::Fail,
        "reply.one-per-command",
    ),
    (
        "reorder",
        "replies.in-order",
        Status::Fail,
        "reply.in-order",
    ),
    ("bad-event", "events.shape", Status::Fail, "event.shape"),
    ("oob-blocked", "oob.overtake", Status::Warn, "oob.overtake"),
    ("oob-any", "oob.allow-oob", Status::Fail, "oob.allow-oob"),
    (
        "no-reset",
        "parser_reset.open-object",
        Status::Fail,
        "parser.reset",
    ),
    (
        "no-reset",
        "parser_reset.every-control-char",
        Status::Fail,
        "parser.reset",
    ),
    (
        "no-arg-check",
        "commands.arg-unknown",
        Status::Fail,
        "compat.arg-check",
    ),
    (
        "no-arg-check",
        "commands.arg-wrong-type",
        Status::Fail,
        "compat.arg-check",
    ),
    (
        "invented-class",
        "errors.class-known",
        Status::Fail,
        "reply.error",
    ),
    (
        "no-single-quotes",
        "encoding.single-quotes",
        Status::Warn,
        "enc.single-quotes",
    ),
    (
        "accept-bad-utf8",
        "encoding.input-utf8",
        Status::Fail,
        "enc.input-utf8",
    ),
    (
        "crash-on-deep",
        "robustness.deep-nesting",
        Status::Fail,
        "reply.one-per-command",
    ),
    (
        "stall-on-large",
        "robustness.many-tokens",
        Status::Fail,
        "reply.one-per-command",
    ),
    (
        "wrong-return-type",
        "replies.return-shape",
        Status::Fail,
        "reply.return",
    ),
];

#[test]
fn every_check_passes_against_the_emulated_monitor() {
    let selected: Vec<_> = checks::all().iter().collect();
    let results = checks::run(&ctx(&[]), &selected, 4, |_| {});
    let bad: Vec<String> = results
        .iter()
        .filter(|r| r.outcome.status != Status::Pass)
        .map(|r| format!("{}: {} {}", r.check.id, r.outcome.status, r.outcome.message))
        .collect();
    assert!(bad.is_empty(), "{bad:#?}");
}

#[test]
fn every_monitor_fault_is_caught() {
    for f in Fault::ALL {
        assert!(
            CAUGHT_BY.iter().any(|(name, ..)| *name == f.name()),
            "no check is expected to catch fault {}",
            f.name()
        );
    }
}

#[test]
fn each_monitor_fault_fails_the_check_for_its_clause() {
    let problems = std::sync::Mutex::new(Vec::new());
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some((fault, id, want, clause)) = CAUGHT_BY.get(i) else {
                    return;
                };
                let f: Fault = fault.parse().expect("a monitor fault");
                let check = checks::by_id(id).expect("a check");
                let o = (check.run)(&ctx(&[f]));
                if o.status != *want || !o.message.contains(&format!("[{clause}]")) {
                    problems.lock().unwrap().push(format!(
                        "{fault} / {id}: expected {want} naming {clause}, got {} {}",
                        o.status, o.message
                    ));
                }
            });
        }
    });
    let p = problems.into_inner().unwrap();
    assert!(p.is_empty(), "{p:#?}");
}
