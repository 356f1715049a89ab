//! Greeting: first, well-formed, with an array of string capabilities.

use super::probe::with_probe;
use super::{Ctx, Outcome, Reason};
use crate::message::Command;
use crate::spec::Clause;
use crate::wire::{parse_value, FrameError, ParseError};
use serde_json::Value;

/// Why the first message received is not JSON.
#[derive(Debug, thiserror::Error)]
enum NotJson {
    #[error("{0}")]
    Frame(#[from] FrameError),
    #[error("{0}")]
    Parse(#[from] ParseError),
}

/// The first message received (as the session cut it), parsed.
fn first_message(p: &mut super::Probe) -> Option<Result<Value, NotJson>> {
    Some(match p.frames().into_iter().next()? {
        Err(e) => Err(e.into()),
        Ok(f) => parse_value(&f.text, false).map_err(NotJson::from),
    })
}

pub(super) fn first(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        // Send nothing: the greeting must come on its own.
        let g = p.greeting()?;
        match first_message(p) {
            Some(Ok(v)) if v.get("QMP").is_some() => Ok(Outcome::pass(format!(
                "greeting arrived first, unprompted (QEMU {}.{}.{})",
                g.version.major, g.version.minor, g.version.micro
            ))),
            Some(Ok(v)) => Ok(Outcome::broken(
                Clause::GreetingFirst,
                format!(
                    "the first message was not the greeting: {}",
                    super::probe::short(&v.to_string())
                ),
            )),
            Some(Err(e)) => Ok(Outcome::broken(
                Clause::GreetingFirst,
                format!("the first message was not JSON: {e}"),
            )),
            None => Ok(Outcome::error("greeting seen but no message recorded")),
        }
    })
}

pub(super) fn shape(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        let g = p.greeting()?;
        // The session classified it; anything malformed is already a violation. Look at the
        // members that the typed greeting does not capture.
        let Some(Ok(v)) = first_message(p) else {
            return Ok(Outcome::error("greeting seen but not recorded"));
        };
        let qmp = &v["QMP"];
        if !qmp["version"]["qemu"].is_object() || !qmp["version"]["package"].is_string() {
            return Ok(Outcome::broken(
                Clause::GreetingShape,
                "QMP.version lacks qemu or package",
            ));
        }
        Ok(Outcome::pass(format!(
            "version {}.{}.{} package {:?}, capabilities {:?}",
            g.version.major, g.version.minor, g.version.micro, g.version.package, g.capabilities
        )))
    })
}

pub(super) fn capabilities(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        // Wait for whatever comes first; a greeting the session rejects is still judged here.
        let waited = p.greeting();
        let Some(Ok(v)) = first_message(p) else {
            return match waited {
                Err(o) => Ok(o),
                Ok(_) => Ok(Outcome::error("greeting seen but not recorded")),
            };
        };
        let caps = &v["QMP"]["capabilities"];
        let Some(arr) = caps.as_array() else {
            return Ok(Outcome::broken(
                Clause::GreetingCapabilities,
                format!("QMP.capabilities is not an array: {caps}"),
            ));
        };
        if let Some((i, c)) = arr.iter().enumerate().find(|(_, c)| !c.is_string()) {
            return Ok(Outcome::broken(
                Clause::GreetingCapabilities,
                format!("QMP.capabilities[{i}] is not a string: {c}"),
            ));
        }
        waited?;
        Ok(Outcome::pass(format!(
            "{} capabilities, all strings: {}",
            arr.len(),
            caps
        )))
    })
}

pub(super) fn version_consistent(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        let g = p.negotiate()?;
        let v = p.ok(
            Clause::ReplyReturn,
            Command::new("query-version").id("version"),
        )?;
        let q = &v["qemu"];
        let same = q["major"].as_i64() == Some(g.version.major)
            && q["minor"].as_i64() == Some(g.version.minor)
            && q["micro"].as_i64() == Some(g.version.micro)
            && v["package"].as_str() == Some(g.version.package.as_str());
        if same {
            Ok(Outcome::pass("greeting and query-version agree"))
        } else {
            Ok(Outcome::warn_because(
                Clause::GreetingShape,
                Reason::QemuConvention,
                format!(
                    "greeting says {}.{}.{} {:?}, query-version says {}",
                    g.version.major,
                    g.version.minor,
                    g.version.micro,
                    g.version.package,
                    super::probe::short(&v.to_string())
                ),
            ))
        }
    })
}
