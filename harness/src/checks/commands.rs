//! Commands: unknown commands, commands without id or with empty arguments, argument checking.

use super::probe::{describe, with_probe, Probe, Step};
use super::{Check, Ctx, Outcome};
use crate::message::Command;
use serde_json::{json, Value};

pub const CHECKS: &[Check] = &[
    Check {
        id: "commands.unknown",
        clause: "reply.error",
        title: "an unknown command fails with CommandNotFound",
        run: unknown,
    },
    Check {
        id: "commands.without-id",
        clause: "cmd.shape",
        title: "a command without id is answered without id",
        run: without_id,
    },
    Check {
        id: "commands.empty-arguments",
        clause: "cmd.shape",
        title: "\"arguments\": {} is the same as no arguments",
        run: empty_arguments,
    },
    Check {
        id: "commands.arg-unknown",
        clause: "compat.arg-check",
        title: "an unknown argument is an error",
        run: arg_unknown,
    },
    Check {
        id: "commands.arg-wrong-type",
        clause: "compat.arg-check",
        title: "an argument of the wrong type is an error",
        run: arg_wrong_type,
    },
    Check {
        id: "commands.arg-missing",
        clause: "compat.arg-check",
        title: "a missing required argument is an error",
        run: arg_missing,
    },
    Check {
        id: "commands.query-commands",
        clause: "reply.return",
        title: "query-commands lists the commands by name",
        run: query_commands,
    },
];

/// Names listed by `query-commands`, or the outcome explaining why they could not be had.
pub(super) fn command_names(p: &mut Probe) -> Step<Vec<String>> {
    let v = p.ok(
        "reply.return",
        Command::new("query-commands").id("commands"),
    )?;
    let Some(arr) = v.as_array() else {
        return Err(Outcome::fail(
            "reply.return",
            format!(
                "query-commands returned {}, not an array",
                super::probe::short(&v.to_string())
            ),
        ));
    };
    let mut names = Vec::with_capacity(arr.len());
    for (i, c) in arr.iter().enumerate() {
        match c.get("name").and_then(Value::as_str) {
            Some(n) => names.push(n.to_string()),
            None => {
                return Err(Outcome::fail(
                    "reply.return",
                    format!(
                        "query-commands element {i} has no string name: {}",
                        super::probe::short(&c.to_string())
                    ),
                ))
            }
        }
    }
    Ok(names)
}

/// `cmd` must be refused (with any error) and the endpoint must stay usable.
fn must_refuse(p: &mut Probe, clause: &str, cmd: Command) -> Step<Option<Outcome>> {
    let what = describe(&cmd);
    let r = p.exec_in(clause, cmd)?;
    Ok(match r.error() {
        None => Some(Outcome::fail(clause, format!("{what} succeeded"))),
        Some(_) => None,
    })
}

fn unknown(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        let r = p.exec_in(
            "reply.error",
            Command::new("qmpspec-no-such-command").id("unknown"),
        )?;
        let Some(e) = r.error() else {
            return Ok(Outcome::fail(
                "reply.error",
                "the unknown command qmpspec-no-such-command succeeded",
            ));
        };
        if r.id != Some(json!("unknown")) {
            return Ok(Outcome::fail(
                "cmd.id-echo",
                format!(
                    "the error for an unknown command carries id {}",
                    r.id.as_ref().map_or("none".into(), Value::to_string)
                ),
            ));
        }
        if e.class != "CommandNotFound" {
            return Ok(Outcome::warn(
                "reply.error",
                format!("an unknown command failed with {e}; QEMU uses CommandNotFound"),
            ));
        }
        Ok(Outcome::pass(format!("refused with {e}")))
    })
}

fn without_id(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        let r = p.exec(Command::new("query-version"))?;
        if let Some(e) = r.error() {
            return Ok(Outcome::fail(
                "cmd.shape",
                format!("query-version without id failed: {e}"),
            ));
        }
        if let Some(id) = &r.id {
            return Ok(Outcome::fail(
                "cmd.id-echo",
                format!("the reply to a command without id carries id {id}"),
            ));
        }
        let r = p.exec(Command::new("qmpspec-no-such-command"))?;
        if r.error().is_none() {
            return Ok(Outcome::fail(
                "reply.error",
                "an unknown command without id succeeded",
            ));
        }
        Ok(Outcome::pass(
            "success and error replies to commands without id carry no id",
        ))
    })
}

fn empty_arguments(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        let mut cmd = Command::new("query-version").id("empty-args");
        cmd.arguments = Some(serde_json::Map::new());
        p.ok("cmd.shape", cmd)?;
        Ok(Outcome::pass(
            "query-version with \"arguments\": {} succeeded",
        ))
    })
}

fn arg_unknown(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        let cmd = Command::new("query-version")
            .arg("qmpspec-bogus", 1)
            .id("bogus-arg");
        if let Some(o) = must_refuse(p, "compat.arg-check", cmd)? {
            return Ok(o);
        }
        p.ok("reply.return", Command::new("query-version").id("after"))?;
        Ok(Outcome::pass(
            "query-version with an unknown argument was refused",
        ))
    })
}

fn arg_wrong_type(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        // qmp_capabilities is the one command every endpoint has; its `enable` is an array.
        p.greeting()?;
        for (n, v) in [("string", json!("oob")), ("object", json!({"oob": true}))] {
            let cmd = Command::new("qmp_capabilities")
                .arg("enable", v)
                .id(format!("enable-{n}"));
            if let Some(o) = must_refuse(p, "compat.arg-check", cmd)? {
                return Ok(o);
            }
        }
        p.negotiate()?;
        Ok(Outcome::pass(
            "qmp_capabilities with enable as a string or an object was refused; plain negotiation then worked",
        ))
    })
}

fn arg_missing(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        let names = command_names(p)?;
        // Side-effect-free commands with a required argument.
        let Some(name) = ["qom-list", "qom-get"]
            .into_iter()
            .find(|n| names.iter().any(|x| x == n))
        else {
            return Ok(Outcome::skip(
                "no known side-effect-free command with a required argument (qom-list, qom-get)",
            ));
        };
        if let Some(o) = must_refuse(p, "compat.arg-check", Command::new(name).id("missing"))? {
            return Ok(o);
        }
        // With the argument of the wrong type.
        let cmd = Command::new(name).arg("path", 42).id("wrong-type");
        if let Some(o) = must_refuse(p, "compat.arg-check", cmd)? {
            return Ok(o);
        }
        p.ok("reply.return", Command::new("query-version").id("after"))?;
        Ok(Outcome::pass(format!(
            "{name} without its required argument, and with path as a number, was refused"
        )))
    })
}

fn query_commands(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        let names = command_names(p)?;
        let missing: Vec<&str> = ["query-version", "query-commands"]
            .into_iter()
            .filter(|n| !names.iter().any(|x| x == n))
            .collect();
        if !missing.is_empty() {
            return Ok(Outcome::fail(
                "reply.return",
                format!("query-commands does not list {missing:?}, which just ran"),
            ));
        }
        Ok(Outcome::pass(format!("{} commands listed", names.len())))
    })
}
