//! Replies: the shape of `return`, exactly one reply per command, in-band order.

use super::probe::{expect_in_order, short, show_id, with_probe};
use super::{Ctx, Outcome};
use crate::message::Command;
use crate::spec::Clause;
use serde_json::{json, Value};
use std::time::Duration;

pub(super) fn return_shape(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        let v = p.ok(
            Clause::ReplyReturn,
            Command::new("query-version").id("shape"),
        )?;
        let bad = |what: String| Ok(Outcome::broken(Clause::ReplyReturn, what));
        let Some(obj) = v.as_object() else {
            return bad(format!(
                "query-version returned {}, not an object",
                short(&v.to_string())
            ));
        };
        let Some(qemu) = obj.get("qemu").and_then(Value::as_object) else {
            return bad(format!(
                "query-version's return has no object 'qemu': {}",
                short(&v.to_string())
            ));
        };
        for k in ["major", "minor", "micro"] {
            if !qemu.get(k).is_some_and(|x| x.is_i64() || x.is_u64()) {
                return bad(format!(
                    "query-version's qemu.{k} is {}, not an integer",
                    qemu.get(k).map_or("missing".into(), Value::to_string)
                ));
            }
        }
        if !obj.get("package").is_some_and(Value::is_string) {
            return bad("query-version's package is not a string".to_string());
        }
        Ok(Outcome::pass(format!(
            "query-version returned {}",
            short(&v.to_string())
        )))
    })
}

pub(super) fn one_per_command(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        let n = 4;
        let mut bytes = Vec::new();
        for i in 0..n {
            let name = if i == 2 {
                "qmpspec-no-such-command"
            } else {
                "query-version"
            };
            bytes.extend(Command::new(name).id(json!(format!("one-{i}"))).encode());
        }
        let before = p.raw_then_recover(Clause::ReplyOnePerCommand, &bytes, false)?;
        // Late duplicates: anything arriving after the probe's reply.
        let linger = p.budget().linger(Duration::from_millis(100));
        let late = p.late_replies(linger)?;
        let mut counts = vec![0usize; n];
        for r in before.iter().chain(&late) {
            let idx =
                r.id.as_ref()
                    .and_then(Value::as_str)
                    .and_then(|s| s.strip_prefix("one-"))
                    .and_then(|s| s.parse::<usize>().ok())
                    .filter(|&i| i < n);
            match idx {
                Some(i) => counts[i] += 1,
                None => {
                    return Ok(Outcome::broken(
                        Clause::ReplyOnePerCommand,
                        format!(
                            "a reply with id {} answers none of the {n} commands",
                            show_id(r.id.as_ref())
                        ),
                    ))
                }
            }
        }
        if let Some((i, c)) = counts.iter().enumerate().find(|(_, &c)| c != 1) {
            return Ok(Outcome::broken(
                Clause::ReplyOnePerCommand,
                format!("command one-{i} got {c} replies"),
            ));
        }
        Ok(Outcome::pass(format!(
            "{n} pipelined commands got exactly one reply each"
        )))
    })
}

pub(super) fn in_order(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        let n = 10;
        let names = ["query-version", "query-commands", "qmpspec-no-such-command"];
        let cmds: Vec<Command> = (0..n)
            .map(|i| Command::new(names[i % names.len()]).id(i as u64))
            .collect();
        let replies = p.pipeline(&cmds)?;
        let ids: Vec<Value> = (0..n).map(|i| json!(i)).collect();
        expect_in_order(Clause::ReplyInOrder, &replies, &ids)?;
        Ok(Outcome::pass(format!(
            "{n} pipelined in-band commands answered in order"
        )))
    })
}
