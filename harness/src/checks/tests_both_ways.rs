//! Every check both ways, straight from the table: it passes against the emulated monitor
//! (the reference server), as QEMU 7.2 and as QEMU 10.0.2, and against each fault of its
//! `broken_by` column it comes out as the row says, naming the clause it found broken, as
//! either release. The variations the specification allows fail nothing, and every fault that
//! deviates breaks some check.

use super::{all, in_parallel, run, Check, Ctx, Status};
use crate::endpoint::Dir;
use crate::monitor::{emulated_target_as, Fault, QemuRelease};
use crate::spec::Clause;
use std::time::{Duration, Instant};

/// A context for a monitor answering as `release` with `faults`. Every wait is bounded by
/// `timeout`: short where a fault makes the check wait in vain, long enough elsewhere for a
/// loaded machine to frame and parse the 200 KiB of query-qmp-schema in a debug build.
fn ctx_as(release: QemuRelease, faults: &[Fault], timeout: Duration) -> Ctx {
    Ctx::new(emulated_target_as(release, faults, None), timeout).with_schema_options(
        super::schema::SchemaOptions {
            cases: 8,
            ..Default::default()
        },
    )
}

fn ctx(faults: &[Fault]) -> Ctx {
    ctx_as(QemuRelease::V7_2, faults, Duration::from_millis(2000))
}

/// Run `jobs` on the pool of a check run (4 threads); returns the problems found.
fn problems<T: Sync>(jobs: &[T], f: impl Fn(&T) -> Option<String> + Sync) -> Vec<String> {
    let order: Vec<usize> = (0..jobs.len()).collect();
    in_parallel(&order, 4, |i| f(&jobs[i]), |_| {})
        .into_iter()
        .flatten()
        .collect()
}

/// Every check against a monitor answering as `release` with `faults`, none of which may
/// fail or warn.
fn all_pass_as(release: QemuRelease, faults: &[Fault]) -> Vec<String> {
    let checks: Vec<&Check> = all().iter().collect();
    run(
        &ctx_as(release, faults, Duration::from_secs(5)),
        &checks,
        4,
        |_| {},
    )
    .into_iter()
    .filter(|r| r.outcome.status != Status::Pass)
    .map(|r| {
        format!(
            "{} as QEMU {release} with {faults:?}: {} {}",
            r.check.id,
            r.outcome.status,
            r.outcome.headline()
        )
    })
    .collect()
}

fn all_pass(faults: &[Fault]) -> Vec<String> {
    all_pass_as(QemuRelease::V7_2, faults)
}

#[test]
fn every_check_passes_against_the_emulated_monitor() {
    let problems = all_pass(&[]);
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn every_check_passes_against_the_emulated_monitor_as_qemu_10_0() {
    let problems = all_pass_as(QemuRelease::V10_0, &[]);
    assert!(problems.is_empty(), "{problems:#?}");
}

/// Each row's faults, as `release`.
fn rows_hold_as(release: QemuRelease) {
    let jobs: Vec<(&Check, usize)> = all()
        .iter()
        .flat_map(|c| (0..c.broken_by.len()).map(move |i| (c, i)))
        .collect();
    let problems = problems(&jobs, |(c, i)| {
        let b = c.broken_by[*i];
        let o = (c.run)(&ctx_as(release, &[b.fault], Duration::from_millis(2000)));
        (o.status != b.status || o.violated != Some(b.violated)).then(|| {
            format!(
                "{} as QEMU {release} with {}: expected {} breaking {}, got {} {}",
                c.id,
                b.fault,
                b.status,
                b.violated,
                o.status,
                o.headline()
            )
        })
    });
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn each_check_comes_out_as_its_row_says_against_each_fault_that_breaks_it() {
    rows_hold_as(QemuRelease::V7_2);
}

#[test]
fn each_fault_breaks_its_checks_as_qemu_10_0_too() {
    rows_hold_as(QemuRelease::V10_0);
}

#[test]
fn every_deviating_fault_breaks_some_check() {
    for f in Fault::ALL.iter().filter(|f| f.breaks()) {
        assert!(
            all()
                .iter()
                .any(|c| c.broken_by.iter().any(|b| b.fault == *f)),
            "no check is broken by {f}"
        );
    }
}

#[test]
fn what_the_spec_allows_never_fails() {
    let variations: Vec<Fault> = Fault::ALL.iter().copied().filter(|f| !f.breaks()).collect();
    assert!(variations.len() >= 4);
    // Each variation is really on the wire.
    let seen = |f: Fault, id: &str, needle: &str| {
        let o = (super::by_id(id).unwrap().run)(&ctx(&[f]));
        let recv: Vec<u8> = o
            .transcript
            .iter()
            .filter(|e| e.dir == Dir::Recv)
            .flat_map(|e| e.bytes.clone())
            .collect();
        assert!(
            String::from_utf8_lossy(&recv).contains(needle),
            "{f}: {needle:?} not on the wire"
        );
    };
    seen(Fault::PrettyPrinted, "greeting.first", "{\r\n  \"QMP\"");
    seen(Fault::ExtraMembers, "framing.crlf", "x-qmpspec-extra");
    seen(Fault::UnknownCapability, "greeting.first", "x-future");
    seen(
        Fault::ReversedMembers,
        "greeting.first",
        "{\"QMP\": {\"capabilities\"",
    );
    let mut problems = Vec::new();
    for f in &variations {
        problems.extend(all_pass(&[*f]));
    }
    problems.extend(all_pass(&variations));
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn passing_checks_have_looked_at_the_endpoint() {
    for id in ["greeting.first", "framing.crlf", "robustness.split-frame"] {
        let o = (super::by_id(id).unwrap().run)(&ctx(&[]));
        assert_eq!(o.status, Status::Pass, "{id}: {}", o.message);
        assert!(
            o.transcript
                .iter()
                .any(|e| e.dir == Dir::Recv && !e.bytes.is_empty()),
            "{id}: no bytes received in the transcript"
        );
    }
}

#[test]
fn a_silent_endpoint_fails_in_bounded_time() {
    let t = Instant::now();
    let o = (super::by_id("negotiation.required").unwrap().run)(&ctx(&[Fault::NoGreeting]));
    assert_eq!(o.status, Status::Fail);
    assert_eq!(o.violated, Some(Clause::GreetingFirst), "{}", o.message);
    assert!(t.elapsed() < Duration::from_secs(3));
}

#[test]
fn an_unreachable_endpoint_is_an_error_outcome() {
    let ctx = Ctx::new(
        crate::endpoint::Target::Unix("/nonexistent/qmpspec.sock".into()),
        Duration::from_millis(200),
    );
    let o = (super::by_id("greeting.first").unwrap().run)(&ctx);
    assert_eq!(o.status, Status::Error, "{}", o.message);
}
