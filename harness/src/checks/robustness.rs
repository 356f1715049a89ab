//! Robustness: hostile or unusual input never takes the endpoint down. After each input the
//! endpoint must still answer a well-formed command correctly.

use super::errors::refuse_all;
use super::probe::{expect_in_order, same_id, show_id, with_probe, Probe, Step};
use super::{Ctx, Outcome};
use crate::message::Command;
use crate::spec::Clause;
use serde_json::{json, Value};
use std::time::Duration;

pub(super) fn malformed_json(ctx: &Ctx) -> Outcome {
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
        let errors = refuse_all(p, Clause::CmdShape, inputs)?;
        Ok(Outcome::pass(format!(
            "{} malformed inputs drew {} errors; the endpoint recovered each time",
            inputs.len(),
            errors.len()
        )))
    })
}

pub(super) fn duplicate_keys(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        let inputs: [&[u8]; 3] = [
            b"{\"execute\":\"query-version\",\"execute\":\"query-version\",\"id\":\"dup-1\"}\n",
            b"{\"execute\":\"query-version\",\"id\":\"dup-2\",\"id\":\"dup-2\"}\n",
            b"{\"execute\":\"query-version\",\"arguments\":{},\"arguments\":{},\"id\":\"dup-3\"}\n",
        ];
        let mut kinds = Vec::new();
        for (i, input) in inputs.iter().enumerate() {
            let before = p.raw_then_recover(Clause::ReplyOnePerCommand, input, false)?;
            if before.len() != 1 {
                return Ok(Outcome::broken(
                    Clause::ReplyOnePerCommand,
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
                    return Ok(Outcome::broken(
                        Clause::CmdIdEcho,
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

pub(super) fn whitespace(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        p.expect_one_success(
            Clause::CmdShape,
            "a command with tab/CR/LF whitespace",
            b"\t{\t\"execute\"\r:\n\"query-version\" ,\r\n\"id\"\t:\t\"ws\"\r}\r\n",
            &json!("ws"),
        )?;
        Ok(Outcome::pass(
            "a command with tabs, CRs and LFs between tokens was answered once",
        ))
    })
}

fn nested(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

pub(super) fn deep_nesting(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        // 100 levels in all (the command object and an id of 99 arrays): must be echoed.
        let id: Value = serde_json::from_str(&nested(99)).expect("valid");
        let input = format!("{{\"execute\":\"query-version\",\"id\":{}}}\n", nested(99));
        p.expect_one_success(
            Clause::CmdIdEcho,
            "a command nested 100 levels deep",
            input.as_bytes(),
            &id,
        )?;
        // 2000 levels in the arguments: any number of errors (or an argument error), then
        // a reset and a well-formed command must work.
        let input = format!(
            "{{\"execute\":\"query-version\",\"arguments\":{{\"a\":{}}},\"id\":\"deep\"}}\n",
            nested(2000)
        );
        let before = p.raw_then_recover(Clause::ReplyOnePerCommand, input.as_bytes(), true)?;
        if let Some(r) = before.iter().find(|r| r.error().is_none()) {
            return Ok(Outcome::broken(
                Clause::CompatArgCheck,
                format!(
                    "query-version with an unknown argument nested 2000 deep succeeded (id {})",
                    show_id(r.id.as_ref())
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
fn big_id(p: &mut Probe, what: &str, id_text: &str) -> Step<Outcome> {
    let input = format!("{{\"execute\":\"query-version\",\"id\":{id_text}}}\n");
    let budget = p.budget().input(input.len());
    let before = p.raw_then_recover(Clause::ReplyOnePerCommand, input.as_bytes(), false)?;
    let [r] = before.as_slice() else {
        return Ok(Outcome::broken(
            Clause::ReplyOnePerCommand,
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
        other => Ok(Outcome::broken(
            Clause::CmdIdEcho,
            format!("{what} came back as {}", show_id(other.as_ref())),
        )),
    }
}

pub(super) fn many_tokens(ctx: &Ctx) -> Outcome {
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
        big_id(p, "an id of 100,000 numbers", &id)
    })
}

/// The string of `robustness.large-string`: larger than any message QEMU sends itself (its
/// `query-qmp-schema` reply is about 210 KiB). QEMU's monitor reads one byte per main-loop
/// turn (4 µs a byte on a slow machine), so each further MiB only costs seconds of the suite
/// without reaching a new limit (QEMU's is 64 MiB a message).
const LARGE_STRING_BYTES: usize = 256 << 10;

pub(super) fn large_string(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        let s: String = (0..LARGE_STRING_BYTES)
            .map(|i| (b'a' + (i % 26) as u8) as char)
            .collect();
        let id = format!("\"{s}\"");
        // QEMU reads large input slowly: the budget grows with the size.
        big_id(p, "a 256 KiB string id", &id)
    })
}

pub(super) fn split_frame(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        let t = p.budget().reply();
        let cmd = |id: &str| Command::new("query-version").id(id).encode();
        let base = cmd("split-000");
        for k in 1..base.len() {
            let id = format!("split-{k:03}");
            let bytes = cmd(&id);
            let (a, b) = bytes.split_at(k);
            p.send_raw(a, Some(1))?;
            std::thread::sleep(Duration::from_millis(1));
            p.send_more(b)?;
            let replies = p.wait_replies(1, t)?;
            let r = &replies[0];
            if r.error().is_some() || r.id != Some(json!(id)) {
                return Ok(Outcome::broken(
                    Clause::CmdShape,
                    format!(
                        "a command split after byte {k} drew {}",
                        r.error().map_or(
                            format!("a reply with id {}", show_id(r.id.as_ref())),
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
            p.send_more(std::slice::from_ref(b))?;
        }
        let r = p.wait_replies(1, t)?.remove(0);
        if r.error().is_some() || r.id != Some(json!("bytewise")) {
            return Ok(Outcome::broken(
                Clause::CmdShape,
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

pub(super) fn many_commands(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        let n = 200;
        let cmds: Vec<Command> = (0..n)
            .map(|i| Command::new("query-version").id(i as u64))
            .collect();
        let replies = p.pipeline(&cmds)?;
        let ids: Vec<Value> = (0..n).map(|i| json!(i)).collect();
        expect_in_order(Clause::ReplyInOrder, &replies, &ids)?;
        if let Some((i, r)) = replies
            .iter()
            .enumerate()
            .find(|(_, r)| r.error().is_some())
        {
            let e = r.error().map(|e| e.to_string()).unwrap_or_default();
            return Ok(Outcome::broken(
                Clause::ReplyReturn,
                format!("query-version #{i} of {n} in one write failed: {e}"),
            ));
        }
        Ok(Outcome::pass(format!(
            "{n} commands in one write answered in order"
        )))
    })
}

pub(super) fn disconnect_mid_command(ctx: &Ctx) -> Outcome {
    let mut p = Probe::new(ctx);
    let r = (|| -> Step<Outcome> {
        p.connect()?;
        p.negotiate()?;
        p.send_raw(b"{\"execute\":\"query-ver", Some(0))?;
        p.shutdown_write();
        // Let the server notice before the next client arrives.
        std::thread::sleep(Duration::from_millis(20));
        p.disconnect();
        p.connect()?;
        p.negotiate()?;
        p.ok(
            Clause::ReplyReturn,
            Command::new("query-version").id("fresh"),
        )?;
        Ok(Outcome::pass(
            "after a client left mid-command, a fresh connection negotiated and ran query-version",
        ))
    })();
    p.conclude(r)
}
