//! Replies: the shape of `return`, exactly one reply per command, in-band order.

use super::probe::{short, with_probe};
use super::{Check, Ctx, Outcome};
use crate::message::Command;
use serde_json::{json, Value};
use std::time::Duration;

pub const CHECKS: &[Check] = &[
    Check {
        id: "replies.return-shape",
        clause: "reply.return",
        title: "query-version returns {\"qemu\": {major, minor, micro}, \"package\"}",
        run: return_shape,
    },
    Check {
        id: "replies.one-per-command",
        clause: "reply.one-per-command",
        title: "every command gets exactly one reply",
        run: one_per_command,
    },
    Check {
        id: "replies.in-order",
        clause: "reply.in-order",
        title: "in-band commands are answered in the order issued",
        run: in_order,
    },
];

fn return_shape(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        let v = p.ok("reply.return", Command::new("query-version").id("shape"))?;
        let bad = |what: String| Ok(Outcome::fail("reply.return", what));
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

fn one_per_command(ctx: &Ctx) -> Outcome {
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
        let t = p.t();
        let before = p.raw_then_recover("reply.one-per-command", &bytes, false, t)?;
        // Late duplicates: anything arriving after the probe's reply.
        let linger = (p.t() / 10).min(Duration::from_millis(100));
        p.wait_for(linger, |c| !c.pending_replies().is_empty())?;
        let late = p.client().take_replies();
        let mut counts = vec![0usize; n];
        for r in before.iter().chain(late.iter().map(|(_, r)| r)) {
            let idx =
                r.id.as_ref()
                    .and_then(Value::as_str)
                    .and_then(|s| s.strip_prefix("one-"))
                    .and_then(|s| s.parse::<usize>().ok())
                    .filter(|&i| i < n);
            match idx {
                Some(i) => counts[i] += 1,
                None => {
                    return Ok(Outcome::fail(
                        "reply.one-per-command",
                        format!(
                            "a reply with id {} answers none of the {n} commands",
                            r.id.as_ref().map_or("none".into(), Value::to_string)
                        ),
                    ))
                }
            }
        }
        if let Some((i, c)) = counts.iter().enumerate().find(|(_, &c)| c != 1) {
            return Ok(Outcome::fail(
                "reply.one-per-command",
                format!("command one-{i} got {c} replies"),
            ));
        }
        Ok(Outcome::pass(format!(
            "{n} pipelined commands got exactly one reply each"
        )))
    })
}

fn in_order(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        let n = 10;
        let names = ["query-version", "query-commands", "qmpspec-no-such-command"];
        let t = p.t();
        let mut cmds = Vec::new();
        let mut bytes = Vec::new();
        for i in 0..n {
            let cmd = Command::new(names[i % names.len()]).id(i as u64);
            bytes.extend(p.client().session.send(cmd.clone()));
            cmds.push(cmd);
        }
        if let Err(s) = p.client().conn.send(&bytes, t) {
            return Err(p.stalled("reply.in-order", "sending", s));
        }
        let budget = p.ctx.budget_for(bytes.len(), Duration::from_millis(5)) * 2;
        if let Err(s) = p.client().wait_replies(n, budget) {
            return Err(p.stalled("reply.one-per-command", "waiting for 10 replies", s));
        }
        let replies = p.client().take_replies();
        let got: Vec<String> = replies
            .iter()
            .map(|(_, r)| r.id.as_ref().map_or("none".into(), Value::to_string))
            .collect();
        let want: Vec<String> = (0..n).map(|i| i.to_string()).collect();
        if got != want {
            return Ok(Outcome::fail(
                "reply.in-order",
                format!("replies came with ids [{}]", got.join(", ")),
            ));
        }
        Ok(Outcome::pass(format!(
            "{n} pipelined in-band commands answered in order"
        )))
    })
}
