//! Greeting: first, well-formed, with an array of string capabilities.

use super::probe::with_probe;
use super::{Check, Ctx, Outcome};
use crate::message::Command;
use crate::wire::parse_value;
use serde_json::Value;

pub const CHECKS: &[Check] = &[
    Check {
        id: "greeting.first",
        clause: "greeting.first",
        title: "the greeting is the first thing sent, unprompted",
        run: first,
    },
    Check {
        id: "greeting.shape",
        clause: "greeting.shape",
        title: "the greeting has the shape {\"QMP\": {\"version\", \"capabilities\"}}",
        run: shape,
    },
    Check {
        id: "greeting.capabilities",
        clause: "greeting.capabilities",
        title: "capabilities is an array of strings",
        run: capabilities,
    },
    Check {
        id: "greeting.version-consistent",
        clause: "greeting.shape",
        title: "the greeting's version is what query-version returns",
        run: version_consistent,
    },
];

/// The first message received, parsed.
fn first_message(p: &mut super::Probe) -> Option<Result<Value, String>> {
    match p.frames().into_iter().next()? {
        Err(e) => Some(Err(e)),
        Ok((text, _)) => Some(parse_value(&text, false).map_err(|e| e.to_string())),
    }
}

fn first(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        // Send nothing: the greeting must come on its own.
        let g = p.greeting()?;
        match first_message(p) {
            Some(Ok(v)) if v.get("QMP").is_some() => Ok(Outcome::pass(format!(
                "greeting arrived first, unprompted (QEMU {}.{}.{})",
                g.version.major, g.version.minor, g.version.micro
            ))),
            Some(Ok(v)) => Ok(Outcome::fail(
                "greeting.first",
                format!(
                    "the first message was not the greeting: {}",
                    super::probe::short(&v.to_string())
                ),
            )),
            Some(Err(e)) => Ok(Outcome::fail(
                "greeting.first",
                format!("the first message was not JSON: {e}"),
            )),
            None => Ok(Outcome::error("greeting seen but no message recorded")),
        }
    })
}

fn shape(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        let g = p.greeting()?;
        // The session classified it; anything malformed is already a violation. Look at the
        // members that the typed greeting does not capture.
        let Some(Ok(v)) = first_message(p) else {
            return Ok(Outcome::error("greeting seen but not recorded"));
        };
        let qmp = &v["QMP"];
        if !qmp["version"]["qemu"].is_object() || !qmp["version"]["package"].is_string() {
            return Ok(Outcome::fail(
                "greeting.shape",
                "QMP.version lacks qemu or package",
            ));
        }
        Ok(Outcome::pass(format!(
            "version {}.{}.{} package {:?}, capabilities {:?}",
            g.version.major, g.version.minor, g.version.micro, g.version.package, g.capabilities
        )))
    })
}

fn capabilities(ctx: &Ctx) -> Outcome {
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
            return Ok(Outcome::fail(
                "greeting.capabilities",
                format!("QMP.capabilities is not an array: {caps}"),
            ));
        };
        if let Some((i, c)) = arr.iter().enumerate().find(|(_, c)| !c.is_string()) {
            return Ok(Outcome::fail(
                "greeting.capabilities",
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

fn version_consistent(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        let g = p.negotiate()?;
        let v = p.ok("reply.return", Command::new("query-version").id("version"))?;
        let q = &v["qemu"];
        let same = q["major"].as_i64() == Some(g.version.major)
            && q["minor"].as_i64() == Some(g.version.minor)
            && q["micro"].as_i64() == Some(g.version.micro)
            && v["package"].as_str() == Some(g.version.package.as_str());
        if same {
            Ok(Outcome::pass("greeting and query-version agree"))
        } else {
            Ok(Outcome::warn(
                "greeting.shape",
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
