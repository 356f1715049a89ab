//! Commands: unknown commands, commands without id or with empty arguments, argument checking.

use super::probe::{show_id, with_probe, Probe, Step};
use super::{Ctx, Outcome, Reason};
use crate::message::Command;
use crate::spec::Clause;
use serde_json::{json, Value};

/// Names listed by `query-commands`, or the outcome explaining why they could not be had.
pub(super) fn command_names(p: &mut Probe) -> Step<Vec<String>> {
    let v = p.ok(
        Clause::ReplyReturn,
        Command::new("query-commands").id("commands"),
    )?;
    let Some(arr) = v.as_array() else {
        return Err(Outcome::broken(
            Clause::ReplyReturn,
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
                return Err(Outcome::broken(
                    Clause::ReplyReturn,
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

pub(super) fn unknown(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        let r = p.exec_in(
            Clause::ReplyError,
            Command::new("qmpspec-no-such-command").id("unknown"),
        )?;
        let Some(e) = r.error() else {
            return Ok(Outcome::broken(
                Clause::ReplyError,
                "the unknown command qmpspec-no-such-command succeeded",
            ));
        };
        if r.id != Some(json!("unknown")) {
            return Ok(Outcome::broken(
                Clause::CmdIdEcho,
                format!(
                    "the error for an unknown command carries id {}",
                    show_id(r.id.as_ref())
                ),
            ));
        }
        if e.class != "CommandNotFound" {
            return Ok(Outcome::warn_because(
                Clause::ReplyError,
                Reason::QemuConvention,
                format!("an unknown command failed with {e}; QEMU uses CommandNotFound"),
            ));
        }
        Ok(Outcome::pass(format!("refused with {e}")))
    })
}

pub(super) fn without_id(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        let r = p.exec(Command::new("query-version"))?;
        if let Some(e) = r.error() {
            return Ok(Outcome::broken(
                Clause::CmdShape,
                format!("query-version without id failed: {e}"),
            ));
        }
        if let Some(id) = &r.id {
            return Ok(Outcome::broken(
                Clause::CmdIdEcho,
                format!("the reply to a command without id carries id {id}"),
            ));
        }
        let r = p.exec(Command::new("qmpspec-no-such-command"))?;
        if r.error().is_none() {
            return Ok(Outcome::broken(
                Clause::ReplyError,
                "an unknown command without id succeeded",
            ));
        }
        Ok(Outcome::pass(
            "success and error replies to commands without id carry no id",
        ))
    })
}

pub(super) fn empty_arguments(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        let mut cmd = Command::new("query-version").id("empty-args");
        cmd.arguments = Some(serde_json::Map::new());
        p.ok(Clause::CmdShape, cmd)?;
        Ok(Outcome::pass(
            "query-version with \"arguments\": {} succeeded",
        ))
    })
}

pub(super) fn arg_unknown(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        let cmd = Command::new("query-version")
            .arg("qmpspec-bogus", 1)
            .id("bogus-arg");
        p.expect_error(Clause::CompatArgCheck, cmd)?;
        p.still_answers(Clause::ReplyReturn)?;
        Ok(Outcome::pass(
            "query-version with an unknown argument was refused",
        ))
    })
}

pub(super) fn arg_wrong_type(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        // qmp_capabilities is the one command every endpoint has; its `enable` is an array.
        p.greeting()?;
        for (n, v) in [("string", json!("oob")), ("object", json!({"oob": true}))] {
            let cmd = Command::new("qmp_capabilities")
                .arg("enable", v)
                .id(format!("enable-{n}"));
            p.expect_error(Clause::CompatArgCheck, cmd)?;
        }
        p.negotiate()?;
        Ok(Outcome::pass(
            "qmp_capabilities with enable as a string or an object was refused; plain negotiation then worked",
        ))
    })
}

pub(super) fn arg_missing(ctx: &Ctx) -> Outcome {
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
        p.expect_error(Clause::CompatArgCheck, Command::new(name).id("missing"))?;
        // With the argument of the wrong type.
        let cmd = Command::new(name).arg("path", 42).id("wrong-type");
        p.expect_error(Clause::CompatArgCheck, cmd)?;
        p.still_answers(Clause::ReplyReturn)?;
        Ok(Outcome::pass(format!(
            "{name} without its required argument, and with path as a number, was refused"
        )))
    })
}

pub(super) fn query_commands(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        let names = command_names(p)?;
        let missing: Vec<&str> = ["query-version", "query-commands"]
            .into_iter()
            .filter(|n| !names.iter().any(|x| x == n))
            .collect();
        if !missing.is_empty() {
            return Ok(Outcome::broken(
                Clause::ReplyReturn,
                format!("query-commands does not list {missing:?}, which just ran"),
            ));
        }
        Ok(Outcome::pass(format!("{} commands listed", names.len())))
    })
}
