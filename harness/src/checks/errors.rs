//! Errors: the shape and classes of error replies, and the envelope errors a server must
//! report for input that is JSON but not a command.

use super::probe::{short, with_probe, Probe, Step};
use super::{Check, Ctx, Outcome};
use crate::message::QmpError;

pub const CHECKS: &[Check] = &[
    Check {
        id: "errors.shape",
        clause: "reply.error",
        title: "error replies carry a string class and a non-empty desc",
        run: shape,
    },
    Check {
        id: "errors.class-known",
        clause: "reply.error",
        title: "error classes are those QAPI defines",
        run: class_known,
    },
    Check {
        id: "errors.unexpected-member",
        clause: "cmd.shape",
        title: "a command with an unexpected member is refused",
        run: unexpected_member,
    },
    Check {
        id: "errors.missing-execute",
        clause: "cmd.shape",
        title: "an object without execute is refused",
        run: missing_execute,
    },
    Check {
        id: "errors.clashing-members",
        clause: "cmd.shape",
        title: "execute together with exec-oob is refused",
        run: clashing_members,
    },
    Check {
        id: "errors.wrong-member-type",
        clause: "cmd.shape",
        title: "execute that is not a string, arguments that are not an object, are refused",
        run: wrong_member_type,
    },
    Check {
        id: "errors.non-object",
        clause: "cmd.shape",
        title: "JSON that is not an object is refused",
        run: non_object,
    },
];

/// The error classes of QAPI's ErrorClass enum (qapi/error.json).
pub const KNOWN_CLASSES: &[&str] = &[
    "GenericError",
    "CommandNotFound",
    "DeviceNotActive",
    "DeviceNotFound",
    "KVMMissingCap",
];

/// Send each input; each must draw at least one reply, all of them errors, and the endpoint
/// must answer a well-formed command afterwards. Returns every error seen.
pub(super) fn refuse_all(
    p: &mut Probe,
    clause: &str,
    inputs: &[(&str, &[u8])],
    reset: bool,
) -> Step<Result<Vec<QmpError>, Outcome>> {
    let mut errors = Vec::new();
    for (what, bytes) in inputs {
        let t = p
            .ctx
            .budget_for(bytes.len(), std::time::Duration::from_millis(5));
        let before = p.raw_then_recover(clause, bytes, reset, t)?;
        if before.is_empty() {
            return Ok(Err(Outcome::fail_after(
                "reply.one-per-command",
                format!("{what} drew no reply"),
            )));
        }
        if let Some(r) = before.iter().find(|r| r.error().is_none()) {
            return Ok(Err(Outcome::fail(
                clause,
                format!(
                    "{what} was accepted (reply {})",
                    short(&r.return_value().map_or("?".into(), |v| v.to_string()))
                ),
            )));
        }
        errors.extend(before.iter().filter_map(|r| r.error().cloned()));
    }
    Ok(Ok(errors))
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

fn provoked(p: &mut Probe) -> Step<Result<Vec<QmpError>, Outcome>> {
    p.negotiate()?;
    refuse_all(p, "reply.error", PROVOKE, false)
}

fn shape(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        let errors = match provoked(p)? {
            Ok(e) => e,
            Err(o) => return Ok(o),
        };
        // Missing or non-string class/desc are session violations (reply.error) already.
        if let Some(e) = errors.iter().find(|e| e.desc.trim().is_empty()) {
            return Ok(Outcome::warn(
                "reply.error",
                format!("error of class {} has an empty desc", e.class),
            ));
        }
        Ok(Outcome::pass(format!(
            "{} errors, each with class and desc",
            errors.len()
        )))
    })
}

fn class_known(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        let errors = match provoked(p)? {
            Ok(e) => e,
            Err(o) => return Ok(o),
        };
        // Downstream extensions may add classes under the reserved `__` prefix.
        if let Some(e) = errors
            .iter()
            .find(|e| !KNOWN_CLASSES.contains(&e.class.as_str()) && !e.class.starts_with("__"))
        {
            return Ok(Outcome::fail(
                "reply.error",
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
        match refuse_all(p, "cmd.shape", inputs, false)? {
            Err(o) => Ok(o),
            Ok(errors) => Ok(Outcome::pass(format!(
                "{} inputs refused ({})",
                inputs.len(),
                short(
                    &errors
                        .iter()
                        .map(|e| e.desc.as_str())
                        .collect::<Vec<_>>()
                        .join("; ")
                )
            ))),
        }
    })
}

fn unexpected_member(ctx: &Ctx) -> Outcome {
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

fn missing_execute(ctx: &Ctx) -> Outcome {
    envelope(
        ctx,
        &[
            ("{}", b"{}\n"),
            ("an object with only an id", b"{\"id\":\"m1\"}\n"),
            ("an object with only arguments", b"{\"arguments\":{}}\n"),
        ],
    )
}

fn clashing_members(ctx: &Ctx) -> Outcome {
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
        match refuse_all(p, "cmd.shape", inputs, false)? {
            Err(o) => Ok(o),
            Ok(e) => Ok(Outcome::pass(format!(
                "refused{}: {}",
                if oob { " with oob enabled" } else { "" },
                e.first().map_or(String::new(), |e| e.to_string())
            ))),
        }
    })
}

fn wrong_member_type(ctx: &Ctx) -> Outcome {
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

fn non_object(ctx: &Ctx) -> Outcome {
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
