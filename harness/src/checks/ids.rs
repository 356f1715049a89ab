//! Ids: any JSON value is echoed, on success and on error, also when pipelined.

use super::probe::{same_id, short, show_id, with_probe, Probe, Step};
use super::{Ctx, Outcome};
use crate::message::Command;
use crate::spec::Clause;
use serde_json::{json, Value};

/// Run `query-version` (or `name`) with each id and compare what comes back.
fn echo_each(p: &mut Probe, name: &str, ids: &[Value], want_ok: bool) -> Step<()> {
    for id in ids {
        let r = p.exec(Command::new(name).id(id.clone()))?;
        if want_ok {
            if let Some(e) = r.error() {
                return Err(Outcome::broken(
                    Clause::CmdIdEcho,
                    format!("{name} with id {} failed: {e}", short(&id.to_string())),
                ));
            }
        }
        let back = r.id.clone().unwrap_or(Value::Null);
        if r.id.is_none() || !same_id(id, &back) {
            return Err(Outcome::broken(
                Clause::CmdIdEcho,
                format!(
                    "id {} came back as {}",
                    short(&id.to_string()),
                    show_id(r.id.as_ref())
                ),
            ));
        }
    }
    Ok(())
}

pub(super) fn every_json_type(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        let ids = [
            json!(null),
            json!(true),
            json!(false),
            json!(0),
            json!(-17),
            json!(2.5),
            json!(""),
            json!("text"),
            json!([]),
            json!([1, "two", null, [3]]),
            json!({}),
            json!({"a": {"b": [true]}, "c": "d"}),
        ];
        echo_each(p, "query-version", &ids, true)?;
        Ok(Outcome::pass(format!(
            "{} ids of every JSON type echoed",
            ids.len()
        )))
    })
}

pub(super) fn echo_on_error(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        let ids = [json!("err"), json!(7), json!({"k": [1, 2]})];
        echo_each(p, "qmpspec-no-such-command", &ids, false)?;
        // An argument error, found after the id was read.
        let r = p.exec(
            Command::new("query-version")
                .arg("qmpspec-bogus", 1)
                .id("arg-err"),
        )?;
        if r.error().is_some() && r.id != Some(json!("arg-err")) {
            return Ok(Outcome::broken(
                Clause::CmdIdEcho,
                format!("the argument error carries id {}", show_id(r.id.as_ref())),
            ));
        }
        Ok(Outcome::pass(
            "errors for unknown commands and bad arguments carry the command's id",
        ))
    })
}

pub(super) fn escapes(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        // Escapes as a client may write them; the server may answer with other escapes.
        let input = b"{\"execute\":\"query-version\",\"id\":\"\\u0041\\n\\t\\\"\\\\\\/\\b\\f\\r\\ud83d\\ude00\\u00e9\"}\n";
        let want = json!("A\n\t\"\\/\u{8}\u{c}\r😀é");
        p.expect_one_success(Clause::CmdIdEcho, "an id with escapes", input, &want)?;
        Ok(Outcome::pass(
            "id with all JSON escapes and a surrogate pair echoed",
        ))
    })
}

pub(super) fn numbers(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        let texts = [
            "1.5e3",
            "-0.25",
            "123456789012345678901234567890",
            "9007199254740993",
            "1E-2",
        ];
        let mut notes = Vec::new();
        for text in texts {
            let id: Value = serde_json::from_str(text).expect("literal");
            let input = format!("{{\"execute\":\"query-version\",\"id\":{text}}}\n");
            let what = format!("a command with id {text}");
            let r = p.expect_one_success(Clause::CmdIdEcho, &what, input.as_bytes(), &id)?;
            match r.id {
                Some(back) if back != id => notes.push(format!("{text} -> {back}")),
                _ => {}
            }
        }
        Ok(Outcome::pass(if notes.is_empty() {
            "numeric ids echoed verbatim".to_string()
        } else {
            format!(
                "numeric ids echoed with the same value ({})",
                notes.join(", ")
            )
        }))
    })
}

/// QEMU 7.2 parses `1e400` as infinity and writes it back as the bare word `inf`, which is
/// not JSON. Rejecting the number (RFC 8259 lets a parser limit the range) or echoing a finite
/// value are both fine; whatever comes back must parse. An invalid reply is reported by the
/// session as a frame.objects-only violation, which fails the check with the text seen.
pub(super) fn out_of_range_number(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        let before = p.raw_then_recover(
            Clause::FrameObjectsOnly,
            b"{\"execute\":\"query-version\",\"id\":1e400}\n",
            false,
        )?;
        match before.first() {
            None => Ok(Outcome::broken_after(
                Clause::ReplyOnePerCommand,
                "a command with id 1e400 drew no reply",
            )),
            Some(r) => Ok(Outcome::pass(match (r.error(), &r.id) {
                (Some(e), None) => format!("id 1e400 rejected without an id: {e}"),
                (Some(e), Some(id)) => format!("id 1e400 rejected, id {id}: {e}"),
                (None, id) => format!("id 1e400 echoed as {}", show_id(id.as_ref())),
            })),
        }
    })
}

pub(super) fn envelope_error(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        let inputs: [(&str, &[u8]); 3] = [
            (
                "an unexpected member",
                b"{\"execute\":\"query-version\",\"qmpspec\":1,\"id\":\"env-1\"}\n",
            ),
            ("no execute", b"{\"id\":\"env-2\"}\n"),
            (
                "arguments not an object",
                b"{\"execute\":\"query-version\",\"arguments\":[],\"id\":\"env-3\"}\n",
            ),
        ];
        let mut echoed = 0;
        for (i, (what, bytes)) in inputs.iter().enumerate() {
            let before = p.raw_then_recover(Clause::CmdShape, bytes, false)?;
            let want = json!(format!("env-{}", i + 1));
            let Some(r) = before.first() else {
                return Ok(Outcome::broken(
                    Clause::ReplyOnePerCommand,
                    format!("a command with {what} drew no reply"),
                ));
            };
            if r.error().is_none() {
                return Ok(Outcome::broken(
                    Clause::CmdShape,
                    format!("a command with {what} succeeded"),
                ));
            }
            match &r.id {
                None => {}
                Some(id) if *id == want => echoed += 1,
                Some(id) => {
                    return Ok(Outcome::broken(
                        Clause::CmdIdEcho,
                        format!("the error for a command with {what} carries id {id}, not {want}"),
                    ))
                }
            }
        }
        Ok(Outcome::pass(format!(
            "3 envelope errors; {echoed} carried the id, the rest none"
        )))
    })
}

pub(super) fn pipelined(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        let n = 6;
        let mut bytes = Vec::new();
        for i in 0..n {
            let name = if i % 3 == 2 {
                "qmpspec-no-such-command"
            } else {
                "query-version"
            };
            bytes.extend(Command::new(name).id(json!({"seq": i})).encode());
        }
        let before = p.raw_then_recover(Clause::ReplyOnePerCommand, &bytes, false)?;
        if before.len() != n {
            return Ok(Outcome::broken(
                Clause::ReplyOnePerCommand,
                format!("{n} pipelined commands drew {} replies", before.len()),
            ));
        }
        for (i, r) in before.iter().enumerate() {
            let want = json!({"seq": i});
            if r.id.as_ref() != Some(&want) {
                return Ok(Outcome::broken(
                    Clause::CmdIdEcho,
                    format!(
                        "reply #{i} carries id {}, expected {want}",
                        show_id(r.id.as_ref())
                    ),
                ));
            }
        }
        Ok(Outcome::pass(format!(
            "{n} pipelined commands answered in order, each with its id"
        )))
    })
}
