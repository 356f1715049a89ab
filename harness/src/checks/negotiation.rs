//! Negotiation: only `qmp_capabilities` runs before negotiation, no events are delivered, a
//! successful negotiation enters command mode, `enable` takes offered capabilities.

use super::probe::{describe, show_id, with_probe, Probe, Step};
use super::{Ctx, Outcome, Reason};
use crate::message::{Command, Reply};
use crate::session::Phase;
use crate::spec::Clause;
use serde_json::json;
use std::time::Duration;

/// `cmd` before negotiation must be refused with CommandNotFound, echoing its id.
fn refused_before_negotiation(p: &mut Probe, cmd: Command) -> Step<()> {
    let what = describe(&cmd);
    let id = cmd.id.clone();
    let r = p.exec_in(Clause::NegMode, cmd)?;
    match r.error() {
        None => Err(Outcome::broken(
            Clause::NegMode,
            format!("{what} succeeded before negotiation"),
        )),
        Some(e) if e.class != "CommandNotFound" => Err(Outcome::broken(
            Clause::NegMode,
            format!("{what} before negotiation was refused with {e}, not CommandNotFound"),
        )),
        Some(_) if r.id != id => Err(Outcome::broken(
            Clause::CmdIdEcho,
            format!("the error for {what} carries id {}", show_id(r.id.as_ref())),
        )),
        Some(_) => Ok(()),
    }
}

pub(super) fn required(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.greeting()?;
        for cmd in [
            Command::new("query-version").id("neg-1"),
            Command::new("query-commands").id(json!({"neg": 2})),
        ] {
            refused_before_negotiation(p, cmd)?;
        }
        p.negotiate()?;
        p.still_answers(Clause::NegEnterCommandMode)?;
        Ok(Outcome::pass(
            "query-version and query-commands refused with CommandNotFound before negotiation, allowed after",
        ))
    })
}

pub(super) fn no_events(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.greeting()?;
        // Give a server that pushes events early the chance to do so.
        let linger = p.budget().linger(Duration::from_millis(200));
        p.wait_for(linger, |c| !c.events().is_empty())?;
        // A command that would emit an event in command mode must not run, nor emit one.
        refused_before_negotiation(p, Command::new("stop").id("neg-stop"))?;
        p.negotiate()?;
        // Violations (neg.mode) were recorded for any event seen before the reply.
        let early = p.violations_of(Clause::NegMode);
        if let Some(v) = early.first() {
            return Ok(Outcome::broken(Clause::NegMode, &v.message));
        }
        Ok(Outcome::pass(format!(
            "no event in {} ms of negotiation mode, stop refused",
            linger.as_millis()
        )))
    })
}

pub(super) fn enter_command_mode(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.greeting()?;
        let r = p.exec_in(
            Clause::NegEnterCommandMode,
            Command::new("qmp_capabilities").id("caps"),
        )?;
        if let Some(e) = r.error() {
            return Ok(Outcome::broken(
                Clause::NegEnterCommandMode,
                format!("qmp_capabilities failed: {e}"),
            ));
        }
        let ret = r.return_value();
        if ret != Some(json!({})) {
            return Ok(Outcome::broken(
                Clause::ReplyReturn,
                format!(
                    "qmp_capabilities returned {}, not {{}}",
                    show_id(ret.as_ref())
                ),
            ));
        }
        if r.id != Some(json!("caps")) {
            return Ok(Outcome::broken(
                Clause::CmdIdEcho,
                "qmp_capabilities's reply lacks its id",
            ));
        }
        p.still_answers(Clause::NegEnterCommandMode)?;
        Ok(Outcome::pass(
            "qmp_capabilities returned {}, query-version then succeeded",
        ))
    })
}

pub(super) fn repeat(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        let r = p.exec_in(
            Clause::NegEnterCommandMode,
            Command::new("qmp_capabilities").id("again"),
        )?;
        let out = match r.error() {
            None => Outcome::broken(
                Clause::NegEnterCommandMode,
                "a second qmp_capabilities succeeded in command mode",
            ),
            Some(e) if e.class != "CommandNotFound" => Outcome::warn_because(
                Clause::NegEnterCommandMode,
                Reason::QemuConvention,
                format!(
                    "a second qmp_capabilities was refused with {e}; QEMU uses CommandNotFound"
                ),
            ),
            Some(_) => Outcome::pass("a second qmp_capabilities was refused with CommandNotFound"),
        };
        p.still_answers(Clause::NegEnterCommandMode)?;
        Ok(out)
    })
}

pub(super) fn enable(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        let g = p.greeting()?;
        let caps: Vec<String> = g.capabilities.clone();
        let r = p.exec_in(
            Clause::NegEnable,
            Command::new("qmp_capabilities")
                .arg("enable", caps.clone())
                .id("enable"),
        )?;
        if let Some(e) = r.error() {
            return Ok(Outcome::broken(
                Clause::NegEnable,
                format!("enabling the offered capabilities {caps:?} failed: {e}"),
            ));
        }
        if p.phase() != Phase::CommandMode {
            return Ok(Outcome::error("session did not enter command mode"));
        }
        p.still_answers(Clause::NegEnable)?;
        Ok(Outcome::pass(format!(
            "enabled {caps:?}; command mode reached"
        )))
    })
}

pub(super) fn enable_unknown(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        let g = p.greeting()?;
        let bogus = "qmpspec-no-such-capability";
        if g.offers(bogus) {
            return Ok(Outcome::skip(format!("the endpoint offers {bogus}")));
        }
        let r: Reply = p.exec_in(
            Clause::NegEnable,
            Command::new("qmp_capabilities")
                .arg("enable", vec![bogus])
                .id("bogus"),
        )?;
        if r.error().is_none() {
            return Ok(Outcome::broken(
                Clause::NegEnable,
                format!("enabling {bogus}, which was not offered, succeeded"),
            ));
        }
        // Still in negotiation mode.
        refused_before_negotiation(p, Command::new("query-version").id("still"))?;
        p.negotiate()?;
        Ok(Outcome::pass(format!(
            "enable [{bogus}] refused ({}); still negotiating; plain qmp_capabilities then worked",
            r.error().map(|e| e.class.clone()).unwrap_or_default()
        )))
    })
}
