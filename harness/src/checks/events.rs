//! Events: shape and timestamps, and that they come between messages, never inside one.

use super::commands::command_names;
use super::probe::{with_probe, Probe, Step};
use super::{Check, Ctx, Outcome};
use crate::message::{Command, Event};

pub const CHECKS: &[Check] = &[
    Check {
        id: "events.shape",
        clause: "event.shape",
        title: "events carry a name, an object data if any, and a sane timestamp",
        run: shape,
    },
    Check {
        id: "events.not-inside-reply",
        clause: "event.not-inside-reply",
        title: "events interleaved with pipelined replies are whole messages",
        run: not_inside_reply,
    },
];

/// Negotiate and make sure `stop` and `cont` (which emit STOP and RESUME) exist.
fn with_stop_cont(p: &mut Probe) -> Step<Option<Outcome>> {
    p.negotiate()?;
    let names = command_names(p)?;
    if !["stop", "cont"]
        .iter()
        .all(|n| names.iter().any(|x| x == n))
    {
        return Ok(Some(Outcome::skip(
            "the endpoint has no stop/cont, the commands known to emit events",
        )));
    }
    Ok(None)
}

fn timestamp_problem(e: &Event) -> Option<String> {
    let (s, us) = e.timestamp;
    if s == -1.0 && us == -1.0 {
        return None; // host time unknown
    }
    if s.fract() != 0.0 || us.fract() != 0.0 {
        return Some(format!("timestamp {s}.{us} is not integral"));
    }
    if !(0.0..1_000_000.0).contains(&us) {
        return Some(format!("microseconds {us} out of 0..999999"));
    }
    if s < 0.0 {
        return Some(format!(
            "seconds {s} is negative (and not the -1/-1 marker)"
        ));
    }
    None
}

/// Wait until the events named in `want` have arrived, in that order.
fn wait_events(p: &mut Probe, want: &[&str]) -> Step<Option<Outcome>> {
    let t = p.t();
    let arrived = p.wait_for(t, |c| c.events.len() >= want.len())?;
    let got: Vec<String> = p.events().iter().map(|e| e.name.clone()).collect();
    if !arrived || got != want {
        // A malformed event is a session violation, which then names the cause.
        return Ok(Some(Outcome::fail_after(
            "event.shape",
            format!("expected events {want:?}, got {got:?}"),
        )));
    }
    for e in p.events().to_vec() {
        if let Some(problem) = timestamp_problem(&e) {
            return Ok(Some(Outcome::fail(
                "event.shape",
                format!("{}: {problem}", e.name),
            )));
        }
        if let Some(d) = e.data_value() {
            if !d.is_object() {
                return Ok(Some(Outcome::fail(
                    "event.shape",
                    format!("{}: data is not an object", e.name),
                )));
            }
        }
    }
    Ok(None)
}

fn shape(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        if let Some(o) = with_stop_cont(p)? {
            return Ok(o);
        }
        p.ok("event.shape", Command::new("stop").id("stop"))?;
        p.ok("event.shape", Command::new("cont").id("cont"))?;
        if let Some(o) = wait_events(p, &["STOP", "RESUME"])? {
            return Ok(o);
        }
        let ev = p.events().to_vec();
        Ok(Outcome::pass(format!(
            "STOP and RESUME well-formed (timestamp {}.{:06})",
            ev[0].timestamp.0, ev[0].timestamp.1
        )))
    })
}

fn not_inside_reply(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        if let Some(o) = with_stop_cont(p)? {
            return Ok(o);
        }
        let mut bytes = Vec::new();
        let names = ["stop", "cont", "stop", "cont"];
        for (i, n) in names.iter().enumerate() {
            bytes.extend(p.client().session.send(Command::new(*n).id(i as u64)));
        }
        let t = p.t();
        if let Err(s) = p.client().conn.send(&bytes, t) {
            return Err(p.stalled("reply.one-per-command", "sending", s));
        }
        if let Err(s) = p.client().wait_replies(names.len(), t * 2) {
            return Err(p.stalled(
                "reply.one-per-command",
                "waiting for replies to stop/cont",
                s,
            ));
        }
        if let Some(o) = wait_events(p, &["STOP", "RESUME", "STOP", "RESUME"])? {
            return Ok(o);
        }
        // Any event spliced into a reply would have made a frame invalid or ambiguous.
        let frames = p.frames();
        if let Some(Err(e)) = frames.iter().find(|f| f.is_err()) {
            return Ok(Outcome::fail(
                "event.not-inside-reply",
                format!("the output is not a sequence of whole messages: {e}"),
            ));
        }
        Ok(Outcome::pass(format!(
            "4 events and 4 replies arrived as {} separate messages",
            frames.len()
        )))
    })
}
