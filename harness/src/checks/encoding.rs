//! Encoding: UTF-8 in, ASCII out, QEMU's single quotes, member order.

use super::probe::{show_id, with_probe, Step};
use super::{Ctx, Outcome};
use crate::message::Command;
use crate::spec::Clause;
use serde_json::json;

pub(super) fn output_ascii(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        let id = json!("é€😀 ascii?");
        let r = p.exec(Command::new("query-version").id(id.clone()))?;
        if r.id.as_ref() != Some(&id) {
            return Ok(Outcome::broken(
                Clause::CmdIdEcho,
                format!("id {id} came back as {}", show_id(r.id.as_ref())),
            ));
        }
        let bytes = p.received();
        if let Some(pos) = bytes.iter().position(|b| !b.is_ascii()) {
            return Ok(Outcome::broken(
                Clause::EncOutputAscii,
                format!("byte 0x{:02x} at offset {pos} of the output", bytes[pos]),
            ));
        }
        Ok(Outcome::pass(
            "id with 2-, 3- and 4-byte UTF-8 characters echoed intact, output all ASCII",
        ))
    })
}

/// Invalid UTF-8 sequences that QEMU (and the spec) reject inside a string.
const BAD_UTF8: &[(&str, &[u8])] = &[
    ("bad continuation byte", b"\xc3\x28"),
    ("UTF-16 surrogate", b"\xed\xa0\x80"),
    ("truncated sequence", b"\xe2\x82"),
    ("code point above U+10FFFF", b"\xf4\x90\x80\x80"),
    ("overlong encoding", b"\xc1\xbf"),
];

pub(super) fn input_utf8(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        for (what, seq) in BAD_UTF8 {
            let mut input = b"{\"execute\":\"query-version\",\"id\":\"bad".to_vec();
            input.extend_from_slice(seq);
            input.extend_from_slice(b"\"}\n");
            let before = p.raw_then_recover(Clause::EncInputUtf8, &input, false)?;
            if let Some(ok) = before.iter().find(|r| r.error().is_none()) {
                return Ok(Outcome::broken(
                    Clause::EncInputUtf8,
                    format!(
                        "a string with a {what} was accepted (id {})",
                        show_id(ok.id.as_ref())
                    ),
                ));
            }
            if before.is_empty() {
                return Ok(Outcome::broken(
                    Clause::EncInputUtf8,
                    format!("a string with a {what} drew no reply at all"),
                ));
            }
        }
        Ok(Outcome::pass(format!(
            "{} kinds of invalid UTF-8 were each rejected with an error",
            BAD_UTF8.len()
        )))
    })
}

pub(super) fn single_quotes(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        let before = p.raw_then_recover(
            Clause::ReplyOnePerCommand,
            b"{'execute':'query-version','id':'it\\'s \"q\"'}\n",
            true,
        )?;
        let want = json!("it's \"q\"");
        let Some(first) = before.first() else {
            return Ok(Outcome::broken(
                Clause::ReplyOnePerCommand,
                "a command in single quotes drew no reply",
            ));
        };
        match first.error() {
            Some(e) => Ok(Outcome::broken(
                Clause::EncSingleQuotes,
                format!("a command in single quotes was refused ({e}); QEMU accepts them"),
            )),
            None if first.id.as_ref() == Some(&want) => Ok(Outcome::pass(
                "single-quoted command accepted, id echoed in double quotes",
            )),
            None => Ok(Outcome::broken(
                Clause::CmdIdEcho,
                format!(
                    "single-quoted id {want} came back as {}",
                    show_id(first.id.as_ref())
                ),
            )),
        }
    })
}

pub(super) fn member_order(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| -> Step<Outcome> {
        p.negotiate()?;
        let orders: [&[u8]; 3] = [
            b"{\"id\":\"order-1\",\"arguments\":{},\"execute\":\"query-version\"}\n",
            b"{\"arguments\":{},\"id\":\"order-2\",\"execute\":\"query-version\"}\n",
            b"{\"id\":\"order-3\",\"execute\":\"query-version\",\"arguments\":{}}\n",
        ];
        for (i, o) in orders.iter().enumerate() {
            // Members have no order (enc.member-order): refusing one breaks cmd.shape.
            let what = format!("a command with its members in order #{}", i + 1);
            p.expect_one_success(
                Clause::CmdShape,
                &what,
                o,
                &json!(format!("order-{}", i + 1)),
            )?;
        }
        Ok(Outcome::pass(
            "execute, arguments and id accepted in three different orders",
        ))
    })
}
