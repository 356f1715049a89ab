//! Negotiation: only `qmp_capabilities` runs before negotiation, no events are delivered, a
//! successful negotiation enters command mode, `enable` takes offered capabilities.

use super::probe::{describe, with_probe, Probe, Step};
use super::{Check, Ctx, Outcome};
use crate::message::{Command, Reply};
use crate::session::Phase;
use serde_json::json;
use std::time::Duration;

pub const CHECKS: &[Check] = &[
    Check {
        id: "negotiation.required",
        clause: "neg.mode",
        title: "commands before qmp_capabilities fail with CommandNotFound",
        run: required,
    },
    Check {
        id: "negotiation.no-events",
        clause: "neg.mode",
        title: "no events are delivered before negotiation",
        run: no_events,
    },
    Check {
        id: "negotiation.enter-command-mode",
        clause: "neg.enter-command-mode",
        title: "qmp_capabilities returns {} and enables other commands",
        run: enter_command_mode,
    },
    Check {
        id: "negotiation.repeat",
        clause: "neg.enter-command-mode",
        title: "qmp_capabilities in command mode is refused",
        run: repeat,
    },
    Check {
        id: "negotiation.enable",
        clause: "neg.enable",
        title: "every offered capability can be enabled",
        run: enable,
    },
    Check {
        id: "negotiation.enable-unknown",
        clause: "neg.enable",
        title: "enabling a capability that was not offered fails and stays in negotiation",
        run: enable_unknown,
    },
];

/// `cmd` before negotiation must be refused with CommandNotFound, echoing its id.
fn refused_before_negotiation(p: &mut Probe, cmd: Command) -> Step<Option<Outcome>> {
    let what = describe(&cmd);
    let id = cmd.id.clone();
    let r = p.exec_in("neg.mode", cmd)?;
    Ok(match r.error() {
        None => Some(Outcome::fail(
            "neg.mode",
            format!("{what} succeeded before negotiation"),
        )),
        Some(e) if e.class != "CommandNotFound" => Some(Outcome::fail(
            "neg.mode",
            format!("{what} before negotiation was refused with {e}, not CommandNotFound"),
        )),
        Some(_) if r.id != id => Some(Outcome::fail(
            "cmd.id-echo",
            format!(
                "the error for {what} carries id {}",
                r.id.map_or("none".into(), |v| v.to_string())
            ),
        )),
        Some(_) => None,
    })
}

fn required(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.greeting()?;
        for cmd in [
            Command::new("query-version").id("neg-1"),
            Command::new("query-commands").id(json!({"neg": 2})),
        ] {
            if let Some(o) = refused_before_negotiation(p, cmd)? {
                return Ok(o);
            }
        }
        p.negotiate()?;
        p.ok(
            "neg.enter-command-mode",
            Command::new("query-version").id("after"),
        )?;
        Ok(Outcome::pass(
            "query-version and query-commands refused with CommandNotFound before negotiation, allowed after",
        ))
    })
}

fn no_events(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.greeting()?;
        // Give a server that pushes events early the chance to do so.
        let linger = (p.t() / 10).min(Duration::from_millis(200));
        p.wait_for(linger, |c| !c.events.is_empty())?;
        // A command that would emit an event in command mode must not run, nor emit one.
        if let Some(o) = refused_before_negotiation(p, Command::new("stop").id("neg-stop"))? {
            return Ok(o);
        }
        p.negotiate()?;
        // Violations (neg.mode) were recorded for any event seen before the reply.
        let early = p.violations_of("neg.mode");
        if let Some(v) = early.first() {
            return Ok(Outcome::fail("neg.mode", &v.message));
        }
        Ok(Outcome::pass(format!(
            "no event in {} ms of negotiation mode, stop refused",
            linger.as_millis()
        )))
    })
}

fn enter_command_mode(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.greeting()?;
        let r = p.exec_in(
            "neg.enter-command-mode",
            Command::new("qmp_capabilities").id("caps"),
        )?;
        if let Some(e) = r.error() {
            return Ok(Outcome::fail(
                "neg.enter-command-mode",
                format!("qmp_capabilities failed: {e}"),
            ));
        }
        let ret = r.return_value();
        if ret != Some(json!({})) {
            return Ok(Outcome::fail(
                "reply.return",
                format!(
                    "qmp_capabilities returned {}, not {{}}",
                    ret.map_or("nothing".into(), |v| v.to_string())
                ),
            ));
        }
        if r.id != Some(json!("caps")) {
            return Ok(Outcome::fail(
                "cmd.id-echo",
                "qmp_capabilities's reply lacks its id",
            ));
        }
        p.ok(
            "neg.enter-command-mode",
            Command::new("query-version").id("after"),
        )?;
        Ok(Outcome::pass(
            "qmp_capabilities returned {}, query-version then succeeded",
        ))
    })
}

fn repeat(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        let r = p.exec_in(
            "neg.enter-command-mode",
            Command::new("qmp_capabilities").id("again"),
        )?;
        let out = match r.error() {
            None => Outcome::fail(
                "neg.enter-command-mode",
                "a second qmp_capabilities succeeded in command mode",
            ),
            Some(e) if e.class != "CommandNotFound" => Outcome::warn(
                "neg.enter-command-mode",
                format!(
                    "a second qmp_capabilities was refused with {e}; QEMU uses CommandNotFound"
                ),
            ),
            Some(_) => Outcome::pass("a second qmp_capabilities was refused with CommandNotFound"),
        };
        p.ok(
            "neg.enter-command-mode",
            Command::new("query-version").id("after"),
        )?;
        Ok(out)
    })
}

fn enable(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        let g = p.greeting()?;
        let caps: Vec<String> = g.capabilities.clone();
        let r = p.exec_in(
            "neg.enable",
            Command::new("qmp_capabilities")
                .arg("enable", caps.clone())
                .id("enable"),
        )?;
        if let Some(e) = r.error() {
            return Ok(Outcome::fail(
                "neg.enable",
                format!("enabling the offered capabilities {caps:?} failed: {e}"),
            ));
        }
        if p.phase() != Phase::CommandMode {
            return Ok(Outcome::error("session did not enter command mode"));
        }
        p.ok("neg.enable", Command::new("query-version").id("after"))?;
        Ok(Outcome::pass(format!(
            "enabled {caps:?}; command mode reached"
        )))
    })
}

fn enable_unknown(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        let g = p.greeting()?;
        let bogus = "qmpspec-no-such-capability";
        if g.offers(bogus) {
            return Ok(Outcome::skip(format!("the endpoint offers {bogus}")));
        }
        let r: Reply = p.exec_in(
            "neg.enable",
            Command::new("qmp_capabilities")
                .arg("enable", vec![bogus])
                .id("bogus"),
        )?;
        if r.error().is_none() {
            return Ok(Outcome::fail(
                "neg.enable",
                format!("enabling {bogus}, which was not offered, succeeded"),
            ));
        }
        // Still in negotiation mode.
        if let Some(o) = refused_before_negotiation(p, Command::new("query-version").id("still"))? {
            return Ok(o);
        }
        p.negotiate()?;
        Ok(Outcome::pass(format!(
            "enable [{bogus}] refused ({}); still negotiating; plain qmp_capabilities then worked",
            r.error().map(|e| e.class.clone()).unwrap_or_default()
        )))
    })
}
