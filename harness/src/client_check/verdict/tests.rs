//! Every rule both ways: a client that obeys it passes, one that breaks it fails (or warns),
//! on connection logs made by the real scenario server from scripted input.

use super::*;
use crate::client_check::scenario::by_id;
use crate::client_check::server::tests::{script, Step, NEG, NEG_OOB, STATUS, VERSION};

fn run(id: &str, steps: &[Step], ended: Option<Ended>, stdout: &str) -> ScenarioRun {
    let scenario = by_id(id).expect("a scenario");
    let (log, _) = script(scenario.behaviour, steps);
    ScenarioRun {
        scenario,
        conns: vec![log],
        client: ended.map(|ended| ClientRun {
            argv: vec!["client".into()],
            ended,
            stdout: stdout.into(),
            stderr: String::new(),
        }),
        no_connection: None,
        duration: Duration::from_secs(1),
    }
}

/// A spawned client that sent `steps` and exited with `code`, printing nothing.
fn exited(id: &str, steps: &[Step], code: i32) -> ScenarioRun {
    run(id, steps, Some(Ended::Exited(code)), "")
}

/// A spawned client that sent `steps`, then hung until it was killed (after 10 s).
fn hung(id: &str, steps: &[Step]) -> ScenarioRun {
    run(id, steps, Some(Ended::Killed(Duration::from_secs(10))), "")
}

fn baseline() -> Baseline {
    Baseline {
        ended: Some(Ended::Exited(0)),
        commands: vec![
            "qmp_capabilities".into(),
            "query-status".into(),
            "query-version".into(),
        ],
    }
}

/// A client that waits for every reply: each command 5 ms after the previous reply.
fn polite(id: &str) -> Vec<Step<'static>> {
    let held = matches!(
        by_id(id).unwrap().behaviour,
        Behaviour::EventBeforeReply | Behaviour::UnknownIdReply
    );
    let pause = if held { 305 } else { 5 };
    let start = match id {
        "greeting.slow" => 1005,
        "replies.split-messages" => 50,
        _ => 5,
    };
    vec![
        Step::Send(start, NEG),
        Step::Send(start + pause, STATUS),
        Step::Send(start + 2 * pause, VERSION),
        Step::Eof(start + 3 * pause),
    ]
}

fn judged(r: &ScenarioRun) -> Outcome {
    judge(r, Some(&baseline()))
}

/// The outcome's message says `text`.
fn assert_says(o: &Outcome, text: &str) {
    assert!(o.message.contains(text), "{}", o.message);
}

fn assert_status(o: &Outcome, s: Status, clause: Clause) {
    assert_eq!(o.status, s, "{}", o.headline());
    assert_eq!(o.violated, Some(clause), "{}", o.headline());
}

#[test]
fn a_polite_client_passes_every_scenario() {
    for s in crate::client_check::SCENARIOS {
        // A polite client reports a lost reply with its exit status.
        let code = i32::from(s.behaviour == Behaviour::CloseMidReply);
        let r = run(s.id, &polite(s.id), Some(Ended::Exited(code)), "");
        let o = judged(&r);
        match s.behaviour {
            Behaviour::OobOutOfOrder => assert_eq!(o.status, Status::Skip, "{}", o.message),
            _ => assert_eq!(o.status, Status::Pass, "{}: {}", s.id, o.message),
        }
        assert_eq!(o.attachments[0].name, "client");
        assert!(!o.transcript.is_empty());
    }
}

#[test]
fn sending_before_the_greeting_fails() {
    let r = exited(
        "greeting.slow",
        &[Step::Send(3, NEG), Step::Send(1010, STATUS)],
        0,
    );
    let o = judged(&r);
    assert_status(&o, Status::Fail, Clause::ClientAwaitGreeting);
    assert_says(&o, "the greeting came at 1000 ms");
}

#[test]
fn commands_before_negotiation_fail() {
    let r = exited(
        "baseline.qemu-7.2",
        &[
            Step::Send(1, STATUS),
            Step::Send(2, NEG),
            Step::Send(3, VERSION),
        ],
        0,
    );
    assert_status(&judge(&r, None), Status::Fail, Clause::ClientNegotiateFirst);
}

#[test]
fn invalid_json_and_bad_envelopes_fail_but_a_parser_reset_does_not() {
    let bad: &[(&[u8], &str)] = &[
        (b"{\"execute\":\"query-status\",}\n", "not valid JSON"),
        (
            b"{\"exec\":\"query-status\"}\n",
            "QMP input member 'exec' is unexpected",
        ),
        (b"\"query-status\"\n", "QMP input must be a JSON object"),
    ];
    for (input, why) in bad {
        let r = exited(
            "baseline.qemu-7.2",
            &[Step::Send(1, NEG), Step::Send(2, input)],
            0,
        );
        let o = judge(&r, None);
        assert_status(&o, Status::Fail, Clause::CmdShape);
        assert!(o.message.contains(why), "{}", o.message);
    }
    let r = exited(
        "baseline.qemu-7.2",
        &[
            Step::Send(1, NEG),
            Step::Send(2, b"{\"exec\x01"),
            Step::Send(3, STATUS),
        ],
        0,
    );
    let o = judge(&r, None);
    assert_eq!(o.status, Status::Pass, "{}", o.message);
    assert_says(&o, "reset the server's parser");
    let r = exited(
        "baseline.qemu-7.2",
        &[
            Step::Send(1, NEG),
            Step::Send(2, b"{\"execute\":"),
            Step::Eof(3),
        ],
        0,
    );
    let o = judge(&r, None);
    assert_status(&o, Status::Fail, Clause::CmdShape);
    assert_says(&o, "middle of a command");
}

#[test]
fn ids_reused_in_flight_and_exec_oob_without_id_warn() {
    // With oob enabled, then `commands` in one write.
    let oob = |commands: &[u8]| {
        let r = exited(
            "oob.out-of-order",
            &[Step::Send(1, NEG_OOB), Step::Send(2, commands)],
            0,
        );
        judge(&r, None)
    };
    let o =
        oob(b"{\"execute\":\"query-status\",\"id\":7}\n{\"execute\":\"query-name\",\"id\":7}\n");
    assert_status(&o, Status::Warn, Clause::CmdIdEcho);
    assert_eq!(o.because, Some(Reason::Recommended));
    // The same id once the reply came is fine.
    let steps = [
        Step::Send(1, NEG),
        Step::Send(2, STATUS),
        Step::Send(3, STATUS),
    ];
    let r = exited("baseline.qemu-7.2", &steps, 0);
    assert_eq!(judge(&r, None).status, Status::Pass);
    let o = oob(b"{\"execute\":\"query-status\",\"id\":1}\n{\"exec-oob\":\"query-yank\"}\n");
    assert_status(&o, Status::Warn, Clause::OobId);
}

#[test]
fn enabling_what_was_not_offered_fails() {
    let enable = |caps: &str| {
        format!("{{\"execute\":\"qmp_capabilities\",\"arguments\":{{\"enable\":{caps}}}}}\n")
    };
    for (id, caps) in [
        (
            "greeting.unknown-capability",
            "[\"oob\",\"qmpspec-future\"]",
        ),
        ("greeting.no-oob", "[\"oob\"]"),
    ] {
        let e = enable(caps);
        let r = run(
            id,
            &[Step::Send(1, e.as_bytes())],
            Some(Ended::Exited(0)),
            "",
        );
        assert_status(&judged(&r), Status::Fail, Clause::ClientEnableOffered);
    }
    let e = enable("[\"oob\"]");
    let r = exited(
        "greeting.unknown-capability",
        &[
            Step::Send(1, e.as_bytes()),
            Step::Send(2, STATUS),
            Step::Send(3, VERSION),
        ],
        0,
    );
    assert_eq!(judged(&r).status, Status::Pass);
}

#[test]
fn a_client_that_cannot_tell_a_scenario_from_the_baseline_must_end_alike() {
    let r = exited("replies.extra-members", &polite("replies.extra-members"), 1);
    let o = judged(&r);
    assert_status(&o, Status::Fail, Clause::CompatIgnoreUnknown);
    assert_says(&o, "exited 1, where it exited 0");
    let r = exited(
        "replies.member-order",
        &[Step::Send(1, NEG), Step::Send(2, STATUS), Step::Eof(3)],
        0,
    );
    let o = judged(&r);
    assert_status(&o, Status::Fail, Clause::EncMemberOrder);
    assert_says(&o, "2 of the baseline's 3 commands: query-version");
    // No oob: other commands are fine, another end is not.
    let r = exited("greeting.no-oob", &[Step::Send(1, NEG), Step::Eof(3)], 0);
    assert_eq!(judged(&r).status, Status::Pass);
    let r = exited("greeting.no-oob", &[Step::Send(1, NEG)], 3);
    assert_status(&judged(&r), Status::Fail, Clause::ClientEnableOffered);
}

#[test]
fn hangs_and_signals_fail_the_scenario_and_a_hanging_baseline_is_an_error() {
    let r = hung("events.storm", &polite("events.storm"));
    let o = judged(&r);
    assert_status(&o, Status::Fail, Clause::ClientEventsAnytime);
    assert_says(&o, "hung");
    let r = run(
        "replies.error",
        &polite("replies.error"),
        Some(Ended::Signal(11)),
        "",
    );
    assert_status(&judged(&r), Status::Fail, Clause::ReplyError);
    let r = hung("baseline.qemu-7.2", &[Step::Send(1, NEG)]);
    let o = judge(&r, None);
    assert_eq!(o.status, Status::Error, "{}", o.message);
    assert_says(&o, "--stdin");
    // Unless a broken rule explains the hang.
    let r = hung("baseline.qemu-7.2", &[Step::Send(1, STATUS)]);
    let o = judge(&r, None);
    assert_status(&o, Status::Fail, Clause::ClientNegotiateFirst);
    assert_says(&o, "then it hung");
}

#[test]
fn taking_a_decoy_for_the_reply_fails_and_a_pipelining_client_is_not_judged() {
    // Sends its next command 2 ms after the event (at 455 = 305 + 150), before the reply.
    let took: &[Step] = &[
        Step::Send(5, NEG),
        Step::Send(310, STATUS),
        Step::Send(462, VERSION),
        Step::Eof(1000),
    ];
    let r = run("events.before-reply", took, Some(Ended::Exited(0)), "");
    let o = judged(&r);
    assert_status(&o, Status::Fail, Clause::ClientEventsAnytime);
    assert_says(
        &o,
        "sent its next command 2 ms after an event came, before the reply to query-status",
    );
    let r = run("replies.unknown-id", took, Some(Ended::Exited(0)), "");
    assert_status(&judged(&r), Status::Warn, Clause::ClientDropUnknownId);
    // Hanging up right after the decoy proves nothing (it may give up on a clock).
    let r = exited(
        "events.before-reply",
        &[Step::Send(5, NEG), Step::Send(310, STATUS), Step::Eof(470)],
        0,
    );
    let o = judge(&r, None);
    assert_eq!(o.status, Status::Pass, "{}", o.message);
    assert_says(&o, "it hung up before its reply came");
    // A client that sends without waiting: in one burst, or on its own clock.
    for steps in [
        &[Step::Send(5, b"{\"execute\":\"qmp_capabilities\"}\n{\"execute\":\"query-status\",\"id\":1}\n{\"execute\":\"query-version\",\"id\":2}\n"), Step::Eof(2000)][..],
        &[Step::Send(5, NEG), Step::Send(100, STATUS), Step::Send(200, VERSION), Step::Eof(2000)][..],
    ] {
        let r = run("events.before-reply", steps, Some(Ended::Exited(0)), "");
        let o = judged(&r);
        assert_eq!(o.status, Status::Pass, "{}", o.message);
        assert_says(&o, "not judged");
    }
}

#[test]
fn losing_some_events_fails_and_printing_none_is_not_judged() {
    let steps = polite("events.interleaved");
    let all = "qmpspec-event-0001 qmpspec-event-0002 qmpspec-event-0003 qmpspec-event-0004 qmpspec-event-0005";
    let r = run("events.interleaved", &steps, Some(Ended::Exited(0)), all);
    let o = judged(&r);
    assert_eq!(o.status, Status::Pass, "{}", o.message);
    assert_says(&o, "printed all 5 events");
    let r = run(
        "events.interleaved",
        &steps,
        Some(Ended::Exited(0)),
        "qmpspec-event-0005",
    );
    let o = judged(&r);
    assert_status(&o, Status::Fail, Clause::ClientEventsAnytime);
    assert_says(&o, "lost 4 of 5 events");
    let r = run("events.interleaved", &steps, Some(Ended::Exited(0)), "");
    let o = judged(&r);
    assert_eq!(o.status, Status::Pass);
    assert_says(&o, "printed none of the 5");
}

#[test]
fn a_lost_reply_must_not_end_in_success() {
    let steps = polite("connection.close-mid-reply");
    let r = exited("connection.close-mid-reply", &steps, 0);
    let o = judged(&r);
    assert_status(&o, Status::Warn, Clause::ClientConnectionLoss);
    assert_eq!(o.because, Some(Reason::ExitStatus));
    let r = exited("connection.close-mid-reply", &steps, 1);
    assert_eq!(judged(&r).status, Status::Pass);
    let r = exited(
        "connection.close-mid-reply",
        &[Step::Send(1, NEG), Step::Eof(5)],
        0,
    );
    assert_eq!(judged(&r).status, Status::Skip);
    // Clients started by hand are judged on the wire only.
    let r = run("connection.close-mid-reply", &steps, None, "");
    assert_eq!(judged(&r).status, Status::Pass);
}

#[test]
fn an_error_reply_must_not_be_swallowed_silently() {
    let r = exited(
        "replies.error",
        &[Step::Send(1, NEG), Step::Send(2, STATUS), Step::Eof(3)],
        0,
    );
    let o = judged(&r);
    assert_status(&o, Status::Warn, Clause::ReplyError);
    assert_eq!(o.because, Some(Reason::ExitStatus));
    let r = exited(
        "replies.error",
        &[Step::Send(1, NEG), Step::Send(2, STATUS), Step::Eof(3)],
        1,
    );
    assert_eq!(judged(&r).status, Status::Pass);
}

#[test]
fn oob_is_judged_only_when_a_reply_overtook() {
    let r = exited("oob.out-of-order", &[
            Step::Send(1, NEG_OOB),
            Step::Send(2, b"{\"execute\":\"query-status\",\"id\":1}\n{\"exec-oob\":\"query-yank\",\"id\":2}\n"),
            Step::Send(400, VERSION),
        ], 0);
    let o = judged(&r);
    assert_eq!(o.status, Status::Pass, "{}", o.message);
    assert_says(&o, "1 exec-oob reply overtook");
    let r = exited("oob.out-of-order", &polite("oob.out-of-order"), 0);
    assert_eq!(judged(&r).status, Status::Skip);
}

#[test]
fn no_connection_is_an_error_in_the_baseline_and_a_failure_elsewhere() {
    let mut r = run("baseline.qemu-7.2", &[], Some(Ended::Exited(2)), "");
    r.conns.clear();
    r.no_connection = Some("the client ended: exit 2".into());
    assert_eq!(judge(&r, None).status, Status::Error);
    r.scenario = by_id("events.storm").unwrap();
    assert_status(&judged(&r), Status::Fail, Clause::ClientEventsAnytime);
}

#[test]
fn reconnections_are_held_to_the_same_rules() {
    let mut r = exited(
        "connection.close-mid-reply",
        &polite("connection.close-mid-reply"),
        0,
    );
    let (mut again, _) = script(
        Behaviour::Plain,
        &[Step::Send(1, STATUS), Step::Send(2, NEG)],
    );
    again.index = 1;
    r.conns.push(again);
    let o = judged(&r);
    assert_status(&o, Status::Fail, Clause::ClientNegotiateFirst);
    assert_says(&o, "(reconnection 1)");
    r.conns[1] = script(
        Behaviour::Plain,
        &[Step::Send(1, NEG), Step::Send(2, STATUS)],
    )
    .0;
    r.conns[1].index = 1;
    let o = judged(&r);
    assert_eq!(o.status, Status::Pass, "{}", o.message);
    assert_says(&o, "then reconnected (1 connection");
}
