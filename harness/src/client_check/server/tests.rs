//! The scenario server on virtual time: scripted client input at given milliseconds, every
//! piece written with the time it was due.

use super::*;
use crate::client_check::scenario::{self, by_id};
use serde_json::Value;

/// What the server wrote: `(ms since start, bytes)` per piece.
type Written = Vec<(u64, Vec<u8>)>;

pub(crate) enum Step<'a> {
    /// Client bytes at this millisecond.
    Send(u64, &'a [u8]),
    /// The client closes its end at this millisecond.
    Eof(u64),
}

/// Write everything due up to `until`.
fn advance(s: &mut ScenarioServer, t0: Instant, until: Instant, out: &mut Written) {
    while let Some(w) = s.next_wakeup() {
        if w > until {
            return;
        }
        while let Some(p) = s.poll_write(w) {
            out.push(((w - t0).as_millis() as u64, p));
        }
        if s.should_close(w) {
            return;
        }
    }
}

/// Run `script` against a server for `behaviour`, then 10 s more; the log and what was
/// written.
pub(crate) fn script(behaviour: Behaviour, steps: &[Step]) -> (ConnLog, Written) {
    let t0 = Instant::now();
    let mut s = ScenarioServer::new(behaviour, 0, t0, t0);
    let mut out = Vec::new();
    for step in steps {
        let (ms, bytes) = match step {
            Step::Send(ms, b) => (*ms, Some(*b)),
            Step::Eof(ms) => (*ms, None),
        };
        let at = t0 + Duration::from_millis(ms);
        advance(&mut s, t0, at, &mut out);
        match bytes {
            Some(b) => s.receive(b, at),
            None => s.client_closed(at),
        }
        let _ = s.should_close(at);
    }
    advance(&mut s, t0, t0 + Duration::from_secs(10), &mut out);
    (s.into_log(), out)
}

/// The messages written, as JSON values (pieces joined, split at LF).
fn messages(out: &Written) -> Vec<Value> {
    let all: Vec<u8> = out.iter().flat_map(|(_, p)| p.clone()).collect();
    all.split_inclusive(|&b| b == b'\n')
        .map(|m| {
            assert!(
                m.ends_with(b"\r\n"),
                "not CRLF: {}",
                String::from_utf8_lossy(m)
            );
            assert!(m.is_ascii());
            serde_json::from_slice(m).unwrap_or_else(|e| panic!("{e}: {m:?}"))
        })
        .collect()
}

/// When (ms) the message holding `needle` was completely written.
fn written_at(out: &Written, needle: &str) -> u64 {
    let mut acc = Vec::new();
    for (ms, p) in out {
        acc.extend_from_slice(p);
        if acc.ends_with(b"\n") {
            if String::from_utf8_lossy(&acc).contains(needle) {
                return *ms;
            }
            acc.clear();
        }
    }
    panic!("{needle} never written")
}

pub(crate) const NEG: &[u8] = b"{\"execute\":\"qmp_capabilities\"}\n";
/// Negotiation enabling `oob`.
pub(crate) const NEG_OOB: &[u8] =
    b"{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[\"oob\"]}}\n";
/// `query-status` with id 1, and `query-version` with id 2.
pub(crate) const STATUS: &[u8] = b"{\"execute\":\"query-status\",\"id\":1}\n";
pub(crate) const VERSION: &[u8] = b"{\"execute\":\"query-version\",\"id\":2}\n";

fn b(id: &str) -> Behaviour {
    by_id(id).expect("a scenario").behaviour
}

#[test]
fn plain_answers_in_order_and_logs_every_command() {
    let (log, out) = script(
        Behaviour::Plain,
        &[Step::Send(
            5,
            b"{\"execute\":\"qmp_capabilities\"}\n{\"execute\":\"query-status\",\"id\":1}\n{\"execute\":\"stop\",\"id\":2}",
        )],
    );
    let m = messages(&out);
    assert!(m[0].get("QMP").is_some());
    assert_eq!(m[1], serde_json::json!({"return": {}}));
    assert_eq!(m[2]["id"], 1);
    assert_eq!(m[3]["event"], "STOP");
    assert_eq!(m[4]["id"], 2);
    assert_eq!(log.greeting_at, Some(Duration::ZERO));
    assert_eq!(
        log.command_names(),
        ["qmp_capabilities", "query-status", "stop"]
    );
    assert!(log
        .commands
        .iter()
        .all(|c| c.reply_at == Some(Duration::from_millis(5))));
    assert!(!log.commands[1].before_negotiation);
    assert!(log.before_greeting.is_empty());
}

#[test]
fn slow_greeting_holds_early_input_until_it_is_out() {
    let (log, out) = script(
        b("greeting.slow"),
        &[Step::Send(10, b"{\"execute\":\"qmp_capabilities\"}\n")],
    );
    assert_eq!(written_at(&out, "\"QMP\""), 1000);
    assert_eq!(written_at(&out, "\"return\""), 1000);
    assert_eq!(log.before_greeting, NEG);
    assert_eq!(log.greeting_at, Some(scenario::SLOW_GREETING));
    assert_eq!(log.commands[0].at, Duration::from_millis(1000));
}

#[test]
fn commands_before_negotiation_and_bad_input_are_logged() {
    let (log, out) = script(
        Behaviour::Plain,
        &[
            Step::Send(1, b"{\"execute\":\"query-status\"}\n"),
            Step::Send(
                2,
                b"[1]\n{\"execute\":\"stop\",\"foo\":1}\n{\"execute\":}\n",
            ),
            Step::Send(3, b"\x01"),
            Step::Send(4, NEG),
            Step::Send(5, b"{\"execute\":\"query-s"),
            Step::Eof(6),
        ],
    );
    let c = &log.commands;
    assert!(c[0].before_negotiation && c[0].problem.is_none());
    assert!(c[0]
        .refused
        .as_deref()
        .unwrap()
        .contains("qmp_capabilities"));
    assert_eq!(
        c[1].problem.as_deref(),
        Some("QMP input must be a JSON object")
    );
    assert_eq!(
        c[2].problem.as_deref(),
        Some("QMP input member 'foo' is unexpected")
    );
    assert!(c[3]
        .problem
        .as_deref()
        .unwrap()
        .starts_with("not valid JSON"));
    assert!(!c[3].reset);
    assert!(c[4].reset, "{:?}", c[4]);
    assert_eq!(c[5].name.as_deref(), Some("qmp_capabilities"));
    assert_eq!(log.unfinished.as_deref(), Some("{\"execute\":\"query-s"));
    assert_eq!(log.client_eof_at, Some(Duration::from_millis(6)));
    // One reply per input item, and the connection closed after the client hung up.
    assert_eq!(messages(&out).len(), 1 + 6);
    assert!(log.closed_at.is_some());
}

#[test]
fn unknown_capability_is_offered_first_and_enabling_it_is_logged() {
    let (log, out) = script(
        b("greeting.unknown-capability"),
        &[Step::Send(
            1,
            b"{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[\"qmpspec-future\",\"oob\"]}}\n",
        )],
    );
    let m = messages(&out);
    assert_eq!(
        m[0]["QMP"]["capabilities"],
        serde_json::json!(["qmpspec-future", "oob"])
    );
    assert_eq!(m[1], serde_json::json!({"return": {}}));
    assert_eq!(log.bad_enable, ["qmpspec-future"]);
    assert!(log.oob_enabled);
}

#[test]
fn no_oob_refuses_enabling_oob() {
    let (log, out) = script(b("greeting.no-oob"), &[Step::Send(1, NEG_OOB)]);
    let m = messages(&out);
    assert_eq!(m[0]["QMP"]["capabilities"], serde_json::json!([]));
    assert_eq!(m[1]["error"]["desc"], "Capability oob not available");
    assert_eq!(log.bad_enable, ["oob"]);
}

#[test]
fn extra_members_everywhere() {
    let (_, out) = script(
        b("greeting.extra-members"),
        &[Step::Send(1, b"{\"execute\":\"qmp_capabilities\"}\n")],
    );
    let m = messages(&out);
    assert!(m[0][EXTRA_MEMBER].is_object());
    assert!(m[0]["QMP"][EXTRA_MEMBER].is_object());
    assert!(m[0]["QMP"]["version"][EXTRA_MEMBER].is_object());
    assert_eq!(m[0]["QMP"]["version"]["qemu"][EXTRA_MEMBER], 0);
    assert_eq!(m[1], serde_json::json!({"return": {}}), "replies untouched");

    let (_, out) = script(
        b("replies.extra-members"),
        &[Step::Send(
            1,
            b"{\"execute\":\"qmp_capabilities\"}\n{\"execute\":\"stop\",\"id\":1}\n{\"execute\":\"nope\",\"id\":2}\n{\"execute\":\"query-commands\",\"id\":3}\n",
        )],
    );
    let m = messages(&out);
    assert!(m[0].get(EXTRA_MEMBER).is_none(), "greeting untouched");
    assert!(m[1]["return"][EXTRA_MEMBER].is_object());
    assert!(m[1][EXTRA_MEMBER].is_object());
    assert!(m[2][EXTRA_MEMBER].is_object() && m[2]["event"] == "STOP");
    assert!(m[4]["error"][EXTRA_MEMBER].is_object());
    assert_eq!(m[5]["return"][0][EXTRA_MEMBER], true);
}

#[test]
fn reversed_members_put_the_id_first() {
    let (_, out) = script(
        b("replies.member-order"),
        &[Step::Send(
            1,
            b"{\"execute\":\"qmp_capabilities\"}\n{\"execute\":\"query-status\",\"id\":1}\n",
        )],
    );
    let text = String::from_utf8(out.iter().flat_map(|(_, p)| p.clone()).collect()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("{\"QMP\": {\"capabilities\": [\"oob\"], \"version\": {\"package\""),
        "{}",
        lines[0]
    );
    assert!(
        lines[2].starts_with("{\"id\": 1, \"return\": {\"running\""),
        "{}",
        lines[2]
    );
    messages(&out);
}

#[test]
fn large_reply_is_padded_and_written_in_paced_pieces() {
    let (log, out) = script(
        b("replies.large-split"),
        &[
            Step::Send(1, NEG),
            Step::Send(2, STATUS),
            Step::Send(3, VERSION),
        ],
    );
    let m = messages(&out);
    let big = serde_json::to_vec(&m[2]).unwrap();
    assert!(big.len() >= scenario::LARGE_REPLY, "{}", big.len());
    assert_eq!(m[2]["return"]["status"], "running");
    assert_eq!(
        m[3]["id"], 2,
        "the next reply waits for the whole large one"
    );
    let pieces: Vec<&(u64, Vec<u8>)> = out.iter().skip(2).collect();
    assert!(pieces.len() > 60, "{} pieces", pieces.len());
    assert_eq!(pieces[pieces.len() - 3].1, b"\r");
    assert_eq!(pieces[pieces.len() - 2].1, b"\n");
    // Paced: a millisecond between pieces.
    assert!(pieces.windows(2).take(60).all(|w| w[1].0 == w[0].0 + 1));
    assert_eq!(
        log.commands[1].reply_at,
        Some(Duration::from_millis(pieces[pieces.len() - 2].0))
    );
}

#[test]
fn split_messages_come_in_pieces_with_cr_and_lf_apart() {
    let (_, out) = script(b("replies.split-messages"), &[Step::Send(50, NEG)]);
    assert_eq!(out[0].1, b"{");
    assert!(out.iter().any(|(_, p)| p == b"\r"));
    assert!(out.iter().any(|(_, p)| p == b"\n"));
    assert!(out.len() >= 8);
    assert_eq!(messages(&out).len(), 2);
}

#[test]
fn error_reply_answers_the_first_command_without_running_it() {
    let (log, out) = script(
        b("replies.error"),
        &[Step::Send(
            1,
            b"{\"execute\":\"qmp_capabilities\"}\n{\"execute\":\"stop\",\"id\":\"a\"}\n{\"execute\":\"query-status\",\"id\":\"b\"}\n",
        )],
    );
    let m = messages(&out);
    assert_eq!(m[2]["id"], "a");
    assert_eq!(m[2]["error"]["class"], "GenericError");
    assert_eq!(m[3]["return"]["status"], "running", "stop did not run");
    assert_eq!(m.len(), 4, "no STOP event");
    assert_eq!(log.commands[1].refused.as_deref(), Some("fails on purpose"));
}

#[test]
fn decoys_come_after_a_pause_and_the_reply_after_another() {
    for id in ["events.before-reply", "replies.unknown-id"] {
        let (log, out) = script(
            b(id),
            &[
                Step::Send(0, NEG),
                Step::Send(400, STATUS),
                Step::Send(800, VERSION),
            ],
        );
        let m = messages(&out);
        // Negotiation is held back as long, without a decoy.
        assert_eq!(written_at(&out, "{\"return\": {}}"), 300);
        assert_eq!(written_at(&out, "\"status\""), 700);
        assert_eq!(written_at(&out, "\"id\": 2"), 1100);
        let c = &log.commands;
        assert!(c.iter().all(|x| x.held));
        assert_eq!(c[1].decoy_at, Some(Duration::from_millis(550)));
        assert_eq!(c[1].reply_at, Some(Duration::from_millis(700)));
        assert_eq!(c[2].decoy_at, None);
        assert_eq!(m.len(), 5, "{id}: {m:?}");
        if id == "replies.unknown-id" {
            assert_eq!(m[2]["id"], "qmpspec-unknown-id-1");
        } else {
            assert_eq!(m[2]["data"]["device"], "qmpspec-event-0001");
            assert_eq!(log.event_tokens, ["qmpspec-event-0001"]);
        }
    }
}

#[test]
fn interleaved_events_around_every_reply_and_after_negotiation() {
    let (log, out) = script(
        b("events.interleaved"),
        &[Step::Send(0, NEG), Step::Send(10, STATUS)],
    );
    let kinds: Vec<&str> = messages(&out)
        .iter()
        .map(|v| {
            if v.get("event").is_some() {
                "event"
            } else if v.get("QMP").is_some() {
                "greeting"
            } else {
                "reply"
            }
        })
        .collect();
    assert_eq!(
        kinds,
        ["greeting", "reply", "event", "event", "reply", "event"]
    );
    assert_eq!(log.event_tokens.len(), 3);
}

#[test]
fn storm_comes_before_the_first_reply_only() {
    let (log, out) = script(
        b("events.storm"),
        &[
            Step::Send(0, NEG),
            Step::Send(10, STATUS),
            Step::Send(20, b"{\"execute\":\"query-status\",\"id\":2}\n"),
        ],
    );
    let m = messages(&out);
    // The storm, the first reply, an event after it; the second reply, an event after it.
    assert_eq!(m.len(), 2 + scenario::STORM_EVENTS + 4);
    assert_eq!(m[2 + scenario::STORM_EVENTS]["id"], 1);
    assert_eq!(m[2 + scenario::STORM_EVENTS + 1]["event"], "DEVICE_DELETED");
    assert_eq!(m[m.len() - 2]["id"], 2);
    assert_eq!(log.event_tokens.len(), scenario::STORM_EVENTS + 2);
}

#[test]
fn unknown_events_before_every_reply() {
    let (_, out) = script(
        b("events.unknown"),
        &[Step::Send(
            0,
            b"{\"execute\":\"qmp_capabilities\"}\n{\"execute\":\"query-status\",\"id\":1}\n{\"execute\":\"query-status\",\"id\":2}\n",
        )],
    );
    let m = messages(&out);
    assert_eq!(m[2]["event"], UNKNOWN_EVENTS[1]);
    assert_eq!(m[3]["id"], 1);
    assert_eq!(m[4]["event"], UNKNOWN_EVENTS[0]);
    assert!(m[4]["timestamp"]["seconds"].as_i64().unwrap() > 0);
}

#[test]
fn close_mid_reply_cuts_the_first_reply_and_hangs_up() {
    let (log, out) = script(
        b("connection.close-mid-reply"),
        &[
            Step::Send(0, NEG),
            Step::Send(
                10,
                b"{\"execute\":\"query-status\",\"id\":1}\n{\"execute\":\"stop\"}\n",
            ),
            Step::Send(20, b"{\"execute\":\"cont\"}\n"),
        ],
    );
    let last = &out.last().unwrap().1;
    assert!(last.starts_with(b"{\"return\": {\"status\""));
    assert!(!last.ends_with(b"\n"));
    assert_eq!(log.cut_reply_of, Some(1));
    assert_eq!(log.closed_at, Some(Duration::from_millis(10)));
    assert_eq!(log.commands.len(), 2, "nothing read after the cut");
}

#[test]
fn oob_replies_overtake_held_in_band_ones() {
    let (log, out) = script(
        b("oob.out-of-order"),
        &[
            Step::Send(0, NEG_OOB),
            Step::Send(
                10,
                b"{\"execute\":\"query-status\",\"id\":1}\n{\"exec-oob\":\"query-yank\",\"id\":2}\n",
            ),
        ],
    );
    assert_eq!(written_at(&out, "\"id\": 2"), 10);
    assert_eq!(written_at(&out, "\"id\": 1"), 210);
    assert!(log.oob_enabled);
    assert!(log.commands[2].oob);
    // Without oob enabled, nothing is held.
    let (_, out) = script(
        b("oob.out-of-order"),
        &[Step::Send(0, NEG), Step::Send(10, STATUS)],
    );
    assert_eq!(written_at(&out, "\"id\": 1"), 10);
}

#[test]
fn quit_closes_after_lingering() {
    let (log, _) = script(
        Behaviour::Plain,
        &[Step::Send(
            0,
            b"{\"execute\":\"qmp_capabilities\"}\n{\"execute\":\"quit\"}\n",
        )],
    );
    assert_eq!(log.closed_at, Some(QUIT_LINGER));
}

#[test]
fn every_scenario_writes_whole_json_objects_terminated_by_crlf() {
    let input: &[u8] = b"{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[\"oob\"]}}\n\
        {\"execute\":\"query-status\",\"id\":1}\n{\"exec-oob\":\"query-yank\",\"id\":2}\n\
        {\"execute\":\"stop\",\"id\":3}\n{\"execute\":\"query-qmp-schema\",\"id\":4}\n\
        {\"execute\":\"nope\",\"id\":5}\n";
    for s in scenario::ALL {
        if s.behaviour == Behaviour::CloseMidReply {
            continue;
        }
        let (log, out) = script(s.behaviour, &[Step::Send(0, input), Step::Eof(5)]);
        let m = messages(&out);
        let replies = m
            .iter()
            .filter(|v| v.get("return").is_some() || v.get("error").is_some())
            .count();
        // A stray reply before every other command's reply in command mode (5 of them).
        let strays = usize::from(s.behaviour == Behaviour::UnknownIdReply) * 3;
        assert_eq!(replies, 6 + strays, "{}", s.id);
        assert!(
            log.commands.iter().all(|c| c.reply_at.is_some()),
            "{}",
            s.id
        );
        assert!(log.closed_at.is_some(), "{}", s.id);
    }
}

#[test]
fn reconnections_are_plain() {
    let t0 = Instant::now();
    let mut s = ScenarioServer::new(b("greeting.slow"), 1, t0, t0);
    assert!(s.poll_write(t0).is_some(), "the greeting comes at once");
}
