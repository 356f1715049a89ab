//! Events: shape and timestamps, and that they come between messages, never inside one.

use super::commands::command_names;
use super::probe::{with_probe, Probe, Step};
use super::{Ctx, Outcome};
use crate::message::{Command, Event};
use crate::spec::Clause;

/// Negotiate and make sure `stop` and `cont` (which emit STOP and RESUME) exist: a skip
/// when they do not.
fn with_stop_cont(p: &mut Probe) -> Step<()> {
    p.negotiate()?;
    let names = command_names(p)?;
    if !["stop", "cont"]
        .iter()
        .all(|n| names.iter().any(|x| x == n))
    {
        return Err(Outcome::skip(
            "the endpoint has no stop/cont, the commands known to emit events",
        ));
    }
    Ok(())
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

/// Wait until the events named in `want` have arrived, in that order, each well-formed.
fn wait_events(p: &mut Probe, want: &[&str]) -> Step<()> {
    let t = p.budget().reply();
    let arrived = p.wait_for(t, |c| c.events().len() >= want.len())?;
    let got: Vec<String> = p.events().iter().map(|e| e.name.clone()).collect();
    if !arrived || got != want {
        // A malformed event is a session violation, which then names the cause.
        return Err(Outcome::broken_after(
            Clause::EventShape,
            format!("expected events {want:?}, got {got:?}"),
        ));
    }
    for e in p.events().to_vec() {
        if let Some(problem) = timestamp_problem(&e) {
            return Err(Outcome::broken(
                Clause::EventShape,
                format!("{}: {problem}", e.name),
            ));
        }
        if let Some(d) = e.data_value() {
            if !d.is_object() {
                return Err(Outcome::broken(
                    Clause::EventShape,
                    format!("{}: data is not an object", e.name),
                ));
            }
        }
    }
    Ok(())
}

pub(super) fn shape(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        with_stop_cont(p)?;
        p.ok(Clause::EventShape, Command::new("stop").id("stop"))?;
        p.ok(Clause::EventShape, Command::new("cont").id("cont"))?;
        wait_events(p, &["STOP", "RESUME"])?;
        let ev = p.events().to_vec();
        Ok(Outcome::pass(format!(
            "STOP and RESUME well-formed (timestamp {}.{:06})",
            ev[0].timestamp.0, ev[0].timestamp.1
        )))
    })
}

pub(super) fn not_inside_reply(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        with_stop_cont(p)?;
        let cmds: Vec<Command> = ["stop", "cont", "stop", "cont"]
            .iter()
            .enumerate()
            .map(|(i, n)| Command::new(*n).id(i as u64))
            .collect();
        p.pipeline(&cmds)?;
        wait_events(p, &["STOP", "RESUME", "STOP", "RESUME"])?;
        // Any event spliced into a reply would have made a frame invalid or ambiguous.
        let frames = p.frames();
        if let Some(Err(e)) = frames.iter().find(|f| f.is_err()) {
            return Ok(Outcome::broken(
                Clause::EventNotInsideReply,
                format!("the output is not a sequence of whole messages: {e}"),
            ));
        }
        Ok(Outcome::pass(format!(
            "4 events and 4 replies arrived as {} separate messages",
            frames.len()
        )))
    })
}
