//! Robustness: hostile or unusual input never takes the endpoint down. After each input the
//! endpoint must still answer a well-formed command correctly.

use super::errors::refuse_all;
use super::probe::{same_id, short, with_probe, Probe, Step, PER_KIB};
use super::{Check, Ctx, Outcome};
use crate::message::Command;
use serde_json::{json, Value};
use std::time::Duration;

pub const CHECKS: &[Check] = &[
    Check {
        id: "robustness.malformed-json",
        clause: "cmd.shape",
        title: "malformed JSON draws errors, then the next command works",
        run: malformed_json,
    },
    Check {
        id: "robustness.duplicate-keys",
        clause: "enc.member-order",
        title: "a repeated key draws one reply of some kind, then the next command works",
        run: duplicate_keys,
    },
    Check {
        id: "robustness.whitespace",
        clause: "cmd.shape",
        title: "tab, CR and LF between tokens are whitespace",
        run: whitespace,
    },
    Check {
        id: "robustness.deep-nesting",
        clause: "reply.one-per-command",
        title: "100 levels of nesting work; 2000 draw errors, then the endpoint recovers",
        run: deep_nesting,
    },
    Check {
        id: "robustness.many-tokens",
        clause: "reply.one-per-command",
        title: "an id of 100,000 tokens is echoed",
        run: many_tokens,
    },
    Check {
        id: "robustness.large-string",
        clause: "reply.one-per-command",
        title: "a 256 KiB string id is echoed",
        run: large_string,
    },
    Check {
        id: "robustness.split-frame",
        clause: "cmd.shape",
        title: "a command split at every byte boundary is one command",
        run: split_frame,
    },
    Check {
        id: "robustness.many-commands",
        clause: "reply.in-order",
        title: "200 commands in one write are all answered, in order",
        run: many_commands,
    },
    Check {
        id: "robustness.disconnect-mid-command",
        clause: "reply.one-per-command",
        title: "a client leaving mid-command does not break the next connection",
        run: disconnect_mid_command,
    },
];

fn malformed_json(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        let inputs: &[(&str, &[u8])] = &[
            ("a missing value", b"{\"execute\":}\n"),
            ("a missing colon", b"{\"execute\" \"query-version\"}\n"),
            (
                "a missing comma",
                b"{\"execute\":\"query-version\" \"id\":1}\n",
            ),
            ("a trailing comma", b"{\"execute\":\"query-version\",}\n"),
            ("a non-string key", b"{1:\"query-version\"}\n"),
            (
                "a bad keyword",
                b"{\"execute\":\"query-version\",\"id\":tru}\n",
            ),
            (
                "a bad escape",
                b"{\"execute\":\"query-version\",\"id\":\"\\q\"}\n",
            ),
            ("a lone closing brace", b"}\n"),
            ("a stray 0xff byte", b"\xff\n"),
        ];
        // Each input is balanced, so no reset is needed before the next command.
        match refuse_all(p, "cmd.shape", inputs, false)? {
            Err(o) => Ok(o),
            Ok(errors) => Ok(Outcome::pass(format!(
                "{} malformed inputs drew {} errors; the endpoint recovered each time",
                inputs.len(),
                errors.len()
            ))),
        }
    })
}

fn duplicate_keys(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        let inputs: [&[u8]; 3] = [
            b"{\"execute\":\"query-version\",\"execute\":\"query-version\",\"id\":\"dup-1\"}\n",
            b"{\"execute\":\"query-version\",\"id\":\"dup-2\",\"id\":\"dup-2\"}\n",
            b"{\"execute\":\"query-version\",\"arguments\":{},\"arguments\":{},\"id\":\"dup-3\"}\n",
        ];
        let mut kinds = Vec::new();
        for (i, input) in inputs.iter().enumerate() {
            let t = p.t();
            let before = p.raw_then_recover("reply.one-per-command", input, false, t)?;
            if before.len() != 1 {
                return Ok(Outcome::fail(
                    "reply.one-per-command",
                    format!(
                        "a command with a repeated key drew {} replies",
                        before.len()
                    ),
                ));
            }
            let r = &before[0];
            // Unpredictable results are allowed, but a reply must not claim another id.
            if let Some(id) = &r.id {
                if *id != json!(format!("dup-{}", i + 1)) {
                    return Ok(Outcome::fail(
                        "cmd.id-echo",
                        format!("reply to a command with a repeated key carries id {id}"),
                    ));
                }
            }
            kinds.push(if r.error().is_some() {
                "error"
            } else {
                "success"
            });
        }
        Ok(Outcome::pass(format!(
            "repeated keys drew one reply each ({}); the endpoint carried on",
            kinds.join(", ")
        )))
    })
}

fn whitespace(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        let t = p.t();
        let before = p.raw_then_recover(
            "cmd.shape",
            b"\t{\t\"execute\"\r:\n\"query-version\" ,\r\n\"id\"\t:\t\"ws\"\r}\r\n",
            false,
            t,
        )?;
        match before.as_slice() {
            [r] if r.error().is_none() && r.id == Some(json!("ws")) => Ok(Outcome::pass(
                "a command with tabs, CRs and LFs between tokens was answered once",
            )),
            [r] => Ok(Outcome::fail(
                "cmd.shape",
                format!(
                    "a command with tab/CR/LF whitespace drew {}",
                    r.error()
                        .map_or("a reply without its id".into(), |e| format!(
                            "an error: {e}"
                        ))
                ),
            )),
            other => Ok(several("a command with tab/CR/LF whitespace", other)),
        }
    })
}

/// The outcome for one command that drew several replies: errors mean it was not read as one
/// command (`cmd.shape`), successes that it was answered more than once.
pub(super) fn several(what: &str, replies: &[crate::message::Reply]) -> Outcome {
    let errors: Vec<String> = replies
        .iter()
        .filter_map(|r| r.error().map(|e| e.to_string()))
        .collect();
    if errors.is_empty() {
        Outcome::fail(
            "reply.one-per-command",
            format!("{what} drew {} replies", replies.len()),
        )
    } else {
        Outcome::fail(
            "cmd.shape",
            format!(
                "{what} drew {} replies, {} of them errors: {}",
                replies.len(),
                errors.len(),
                short(&errors.join("; "))
            ),
        )
    }
}

fn nested(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

fn deep_nesting(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        // 100 levels in all (the command object and an id of 99 arrays): must be echoed.
        let id: Value = serde_json::from_str(&nested(99)).expect("valid");
        let input = format!("{{\"execute\":\"query-version\",\"id\":{}}}\n", nested(99));
        let t = p.t();
        let before = p.raw_then_recover("reply.one-per-command", input.as_bytes(), false, t)?;
        match before.as_slice() {
            [r] if r.error().is_none() && r.id.as_ref().is_some_and(|b| same_id(&id, b)) => {}
            [r] => {
                return Ok(Outcome::fail(
                    "cmd.id-echo",
                    format!(
                        "a command nested 100 levels deep drew {}",
                        r.error()
                            .map_or("a reply with another id".into(), |e| format!(
                                "an error: {e}"
                            ))
                    ),
                ))
            }
            other => {
                return Ok(Outcome::fail(
                    "reply.one-per-command",
                    format!(
                        "a command nested 100 levels deep drew {} replies",
                        other.len()
                    ),
                ))
            }
        }
        // 2000 levels in the arguments: any number of errors (or an argument error), then
        // a reset and a well-formed command must work.
        let input = format!(
            "{{\"execute\":\"query-version\",\"arguments\":{{\"a\":{}}},\"id\":\"deep\"}}\n",
            nested(2000)
        );
        let budget = p.ctx.budget_for(input.len(), PER_KIB);
        let before = p.raw_then_recover("reply.one-per-command", input.as_bytes(), true, budget)?;
        if let Some(r) = before.iter().find(|r| r.error().is_none()) {
            return Ok(Outcome::fail(
                "compat.arg-check",
                format!(
                    "query-version with an unknown argument nested 2000 deep succeeded (id {})",
                    r.id.as_ref().map_or("none".into(), Value::to_string)
                ),
            ));
        }
        Ok(Outcome::pass(format!(
            "an id in a command 100 levels deep echoed; 2000 levels drew {} errors, then the endpoint recovered",
            before.len()
        )))
    })
}

/// Send a command whose id is `id_text`, wait (budget grows with size) and check the echo.
fn big_id(p: &mut Probe, what: &str, id_text: &str, per_kib: Duration) -> Step<Outcome> {
    let input = format!("{{\"execute\":\"query-version\",\"id\":{id_text}}}\n");
    let budget = p.ctx.budget_for(input.len(), per_kib);
    let before = p.raw_then_recover("reply.one-per-command", input.as_bytes(), false, budget)?;
    let [r] = before.as_slice() else {
        return Ok(Outcome::fail(
            "reply.one-per-command",
            format!("a command with {what} drew {} replies", before.len()),
        ));
    };
    if let Some(e) = r.error() {
        // A server may refuse a message that exceeds its limits, but must say so.
        return Ok(Outcome::pass(format!(
            "a command with {what} was refused ({e}); the endpoint carried on"
        )));
    }
    let want: Value = serde_json::from_str(id_text).expect("valid");
    match &r.id {
        Some(back) if same_id(&want, back) => Ok(Outcome::pass(format!(
            "{what} ({} bytes) echoed within {} ms budget",
            input.len(),
            budget.as_millis()
        ))),
        other => Ok(Outcome::fail(
            "cmd.id-echo",
            format!(
                "{what} came back as {}",
                other
                    .as_ref()
                    .map_or("nothing".into(), |v| short(&v.to_string()))
            ),
        )),
    }
}

fn many_tokens(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        let n = 100_000;
        let mut id = String::with_capacity(2 * n + 2);
        id.push('[');
        for i in 0..n {
            if i > 0 {
                id.push(',');
            }
            id.push('0');
        }
        id.push(']');
        big_id(p, "an id of 100,000 numbers", &id, PER_KIB)
    })
}

/// The string of `robustness.large-string`: larger than any message QEMU sends itself (its
/// `query-qmp-schema` reply is about 210 KiB). QEMU's monitor reads one byte per main-loop
/// turn (4 µs a byte on a slow machine), so each further MiB only costs seconds of the suite
/// without reaching a new limit (QEMU's is 64 MiB a message).
const LARGE_STRING_BYTES: usize = 256 << 10;

fn large_string(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        let s: String = (0..LARGE_STRING_BYTES)
            .map(|i| (b'a' + (i % 26) as u8) as char)
            .collect();
        let id = format!("\"{s}\"");
        // QEMU reads large input slowly: the budget grows with the size.
        big_id(p, "a 256 KiB string id", &id, PER_KIB)
    })
}

fn split_frame(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        let t = p.t();
        let cmd = |id: &str| Command::new("query-version").id(id).encode();
        let base = cmd("split-000");
        for k in 1..base.len() {
            let id = format!("split-{k:03}");
            let bytes = cmd(&id);
            let (a, b) = bytes.split_at(k);
            p.send_raw(a, Some(1))?;
            std::thread::sleep(Duration::from_millis(1));
            if let Err(s) = p.client().conn.send(b, t) {
                return Err(p.stalled("cmd.shape", "sending the second part", s));
            }
            let want = json!(id);
            if let Err(s) = p.client().wait_replies(1, t) {
                return Err(p.stalled("cmd.shape", &format!("a command split after byte {k}"), s));
            }
            let replies = p.client().take_replies();
            let r = &replies[0].1;
            if r.error().is_some() || r.id.as_ref() != Some(&want) {
                return Ok(Outcome::fail(
                    "cmd.shape",
                    format!(
                        "a command split after byte {k} drew {}",
                        r.error().map_or(
                            format!(
                                "a reply with id {}",
                                r.id.as_ref().map_or("none".into(), Value::to_string)
                            ),
                            |e| format!("an error: {e}")
                        )
                    ),
                ));
            }
        }
        // And one byte per write.
        let bytes = Command::new("query-version").id("bytewise").encode();
        p.send_raw(&bytes[..1], Some(1))?;
        for b in &bytes[1..] {
            if let Err(s) = p.client().conn.send(std::slice::from_ref(b), t) {
                return Err(p.stalled("cmd.shape", "sending byte by byte", s));
            }
        }
        if let Err(s) = p.client().wait_replies(1, t) {
            return Err(p.stalled("cmd.shape", "a command sent byte by byte", s));
        }
        let r = p.client().take_replies().remove(0).1;
        if r.error().is_some() || r.id != Some(json!("bytewise")) {
            return Ok(Outcome::fail(
                "cmd.shape",
                "a command sent one byte per write was not answered as itself",
            ));
        }
        Ok(Outcome::pass(format!(
            "a {}-byte command split at each of {} boundaries, and sent byte by byte, was answered each time",
            base.len(),
            base.len() - 1
        )))
    })
}

fn many_commands(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        let n = 200;
        let mut bytes = Vec::new();
        for i in 0..n {
            bytes.extend(
                p.client()
                    .session
                    .send(Command::new("query-version").id(i as u64)),
            );
        }
        let t = p.t();
        if let Err(s) = p.client().conn.send(&bytes, t) {
            return Err(p.stalled("reply.one-per-command", "sending 200 commands", s));
        }
        let budget = t + Duration::from_millis(10) * n as u32;
        if let Err(s) = p.client().wait_replies(n, budget) {
            let got = p.client().pending_replies().len();
            return Err(p.stalled(
                "reply.one-per-command",
                &format!("{n} commands in one write, {got} answered"),
                s,
            ));
        }
        let replies = p.client().take_replies();
        for (i, (_, r)) in replies.iter().enumerate() {
            if r.id != Some(json!(i)) || r.error().is_some() {
                return Ok(Outcome::fail(
                    "reply.in-order",
                    format!(
                        "reply #{i} is {} with id {}",
                        if r.error().is_some() {
                            "an error"
                        } else {
                            "a success"
                        },
                        r.id.as_ref().map_or("none".into(), Value::to_string)
                    ),
                ));
            }
        }
        Ok(Outcome::pass(format!(
            "{n} commands in one write answered in order"
        )))
    })
}

fn disconnect_mid_command(ctx: &Ctx) -> Outcome {
    let mut p = Probe::new(ctx);
    let r = (|| -> Step<Outcome> {
        p.connect()?;
        p.negotiate()?;
        p.send_raw(b"{\"execute\":\"query-ver", Some(0))?;
        p.client().conn.shutdown_write();
        // Let the server notice before the next client arrives.
        std::thread::sleep(Duration::from_millis(20));
        p.disconnect();
        p.connect()?;
        p.negotiate()?;
        p.ok("reply.return", Command::new("query-version").id("fresh"))?;
        Ok(Outcome::pass(
            "after a client left mid-command, a fresh connection negotiated and ran query-version",
        ))
    })();
    p.conclude(r)
}
