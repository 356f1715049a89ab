//! Errors: the shape and classes of error replies, and the envelope errors a server must
//! report for input that is JSON but not a command.

use super::probe::{short, with_probe, Probe, Step};
use super::{Ctx, Outcome, Reason};
use crate::message::QmpError;
use crate::spec::Clause;

/// The error classes of QAPI's ErrorClass enum (qapi/error.json).
pub const KNOWN_CLASSES: &[&str] = &[
    "GenericError",
    "CommandNotFound",
    "DeviceNotActive",
    "DeviceNotFound",
    "KVMMissingCap",
];

/// Send each input (each balanced, so that no parser reset is needed between them); each
/// must draw at least one reply, all of them errors, and the endpoint must answer a
/// well-formed command afterwards. Returns every error seen.
pub(super) fn refuse_all(
    p: &mut Probe,
    clause: Clause,
    inputs: &[(&str, &[u8])],
) -> Step<Vec<QmpError>> {
    let mut errors = Vec::new();
    for (what, bytes) in inputs {
        let before = p.raw_then_recover(clause, bytes, false)?;
        if before.is_empty() {
            return Err(Outcome::broken_after(
                Clause::ReplyOnePerCommand,
                format!("{what} drew no reply"),
            ));
        }
        if let Some(r) = before.iter().find(|r| r.error().is_none()) {
            return Err(Outcome::broken(
                clause,
                format!(
                    "{what} was accepted (reply {})",
                    short(&r.return_value().map_or("?".into(), |v| v.to_string()))
                ),
            ));
        }
        errors.extend(before.iter().filter_map(|r| r.error().cloned()));
    }
    Ok(errors)
}

/// Inputs that provoke errors of several kinds.
const PROVOKE: &[(&str, &[u8])] = &[
    (
        "an unknown command",
        b"{\"execute\":\"qmpspec-no-such-command\",\"id\":1}\n",
    ),
    (
        "an unknown argument",
        b"{\"execute\":\"query-version\",\"arguments\":{\"qmpspec\":1},\"id\":2}\n",
    ),
    ("a missing execute", b"{\"id\":3}\n"),
    ("a non-object", b"[]\n"),
    ("malformed JSON", b"{\"execute\":}\n"),
];

fn provoked(p: &mut Probe) -> Step<Vec<QmpError>> {
    p.negotiate()?;
    refuse_all(p, Clause::ReplyError, PROVOKE)
}

pub(super) fn shape(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        let errors = provoked(p)?;
        // Missing or non-string class/desc are session violations (reply.error) already.
        if let Some(e) = errors.iter().find(|e| e.desc.trim().is_empty()) {
            return Ok(Outcome::warn_because(
                Clause::ReplyError,
                Reason::QemuConvention,
                format!("error of class {} has an empty desc", e.class),
            ));
        }
        Ok(Outcome::pass(format!(
            "{} errors, each with class and desc",
            errors.len()
        )))
    })
}

pub(super) fn class_known(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        let errors = provoked(p)?;
        // Downstream extensions may add classes under the reserved `__` prefix.
        if let Some(e) = errors
            .iter()
            .find(|e| !KNOWN_CLASSES.contains(&e.class.as_str()) && !e.class.starts_with("__"))
        {
            return Ok(Outcome::broken(
                Clause::ReplyError,
                format!(
                    "error class {:?} is not one of QAPI's {KNOWN_CLASSES:?} (desc: {})",
                    e.class,
                    short(&e.desc)
                ),
            ));
        }
        let mut classes: Vec<&str> = errors.iter().map(|e| e.class.as_str()).collect();
        classes.sort();
        classes.dedup();
        Ok(Outcome::pass(format!(
            "{} errors, classes {classes:?}",
            errors.len()
        )))
    })
}

fn envelope(ctx: &Ctx, inputs: &'static [(&'static str, &'static [u8])]) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        let errors = refuse_all(p, Clause::CmdShape, inputs)?;
        let descs: Vec<&str> = errors.iter().map(|e| e.desc.as_str()).collect();
        Ok(Outcome::pass(format!(
            "{} inputs refused ({})",
            inputs.len(),
            short(&descs.join("; "))
        )))
    })
}

pub(super) fn unexpected_member(ctx: &Ctx) -> Outcome {
    envelope(
        ctx,
        &[
            (
                "a command with member qmpspec",
                b"{\"execute\":\"query-version\",\"qmpspec\":1,\"id\":\"u1\"}\n",
            ),
            (
                "a command with member Execute",
                b"{\"execute\":\"query-version\",\"Execute\":\"query-version\"}\n",
            ),
        ],
    )
}

pub(super) fn missing_execute(ctx: &Ctx) -> Outcome {
    envelope(
        ctx,
        &[
            ("{}", b"{}\n"),
            ("an object with only an id", b"{\"id\":\"m1\"}\n"),
            ("an object with only arguments", b"{\"arguments\":{}}\n"),
        ],
    )
}

pub(super) fn clashing_members(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        let g = p.greeting()?;
        // With oob enabled when offered, so that exec-oob is a legal member on its own.
        let oob = g.offers("oob");
        let caps: &[&str] = if oob { &["oob"] } else { &[] };
        p.negotiate_with(caps)?;
        let inputs: &[(&str, &[u8])] = &[(
            "a command with both execute and exec-oob",
            b"{\"execute\":\"query-version\",\"exec-oob\":\"query-version\",\"id\":\"c1\"}\n",
        )];
        let e = refuse_all(p, Clause::CmdShape, inputs)?;
        Ok(Outcome::pass(format!(
            "refused{}: {}",
            if oob { " with oob enabled" } else { "" },
            e.first().map_or(String::new(), |e| e.to_string())
        )))
    })
}

pub(super) fn wrong_member_type(ctx: &Ctx) -> Outcome {
    envelope(
        ctx,
        &[
            ("execute as a number", b"{\"execute\":1}\n"),
            ("execute as null", b"{\"execute\":null}\n"),
            (
                "execute as an array",
                b"{\"execute\":[\"query-version\"]}\n",
            ),
            (
                "arguments as an array",
                b"{\"execute\":\"query-version\",\"arguments\":[]}\n",
            ),
            (
                "arguments as a string",
                b"{\"execute\":\"query-version\",\"arguments\":\"x\"}\n",
            ),
        ],
    )
}

pub(super) fn non_object(ctx: &Ctx) -> Outcome {
    envelope(
        ctx,
        &[
            ("a number", b"1\n"),
            ("a string", b"\"query-version\"\n"),
            ("null", b"null\n"),
            ("true", b"true\n"),
            ("an array", b"[]\n"),
            (
                "an array holding a command",
                b"[{\"execute\":\"query-version\"}]\n",
            ),
        ],
    )
}
