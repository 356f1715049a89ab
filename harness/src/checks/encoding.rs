//! Encoding: UTF-8 in, ASCII out, QEMU's single quotes, member order.

use super::probe::{short, with_probe, Step};
use super::{Check, Ctx, Outcome};
use crate::message::Command;
use serde_json::{json, Value};

pub const CHECKS: &[Check] = &[
    Check {
        id: "encoding.output-ascii",
        clause: "enc.output-ascii",
        title: "non-ASCII input comes back as ASCII with \\u escapes",
        run: output_ascii,
    },
    Check {
        id: "encoding.input-utf8",
        clause: "enc.input-utf8",
        title: "invalid UTF-8 in a string is rejected with an error",
        run: input_utf8,
    },
    Check {
        id: "encoding.single-quotes",
        clause: "enc.single-quotes",
        title: "'single-quoted' strings and the \\' escape are accepted",
        run: single_quotes,
    },
    Check {
        id: "encoding.member-order",
        clause: "enc.member-order",
        title: "command members are accepted in any order",
        run: member_order,
    },
];

fn output_ascii(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        let id = json!("é€😀 ascii?");
        let r = p.exec(Command::new("query-version").id(id.clone()))?;
        if r.id.as_ref() != Some(&id) {
            return Ok(Outcome::fail(
                "cmd.id-echo",
                format!(
                    "id {id} came back as {}",
                    r.id.map_or("nothing".into(), |v| v.to_string())
                ),
            ));
        }
        let bytes = p.received();
        if let Some(pos) = bytes.iter().position(|b| !b.is_ascii()) {
            return Ok(Outcome::fail(
                "enc.output-ascii",
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

fn input_utf8(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        for (what, seq) in BAD_UTF8 {
            let mut input = b"{\"execute\":\"query-version\",\"id\":\"bad".to_vec();
            input.extend_from_slice(seq);
            input.extend_from_slice(b"\"}\n");
            let t = p.t();
            let before = p.raw_then_recover("enc.input-utf8", &input, false, t)?;
            if let Some(ok) = before.iter().find(|r| r.error().is_none()) {
                return Ok(Outcome::fail(
                    "enc.input-utf8",
                    format!(
                        "a string with a {what} was accepted (id {})",
                        ok.id
                            .as_ref()
                            .map_or("none".into(), |v| short(&v.to_string()))
                    ),
                ));
            }
            if before.is_empty() {
                return Ok(Outcome::fail(
                    "enc.input-utf8",
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

fn single_quotes(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        let t = p.t();
        let before = p.raw_then_recover(
            "enc.single-quotes",
            b"{'execute':'query-version','id':'it\\'s \"q\"'}\n",
            true,
            t,
        )?;
        let want = json!("it's \"q\"");
        let Some(first) = before.first() else {
            return Ok(Outcome::fail(
                "reply.one-per-command",
                "a command in single quotes drew no reply",
            ));
        };
        match first.error() {
            Some(e) => Ok(Outcome::warn(
                "enc.single-quotes",
                format!("a command in single quotes was refused ({e}); QEMU accepts them"),
            )),
            None if first.id.as_ref() == Some(&want) => Ok(Outcome::pass(
                "single-quoted command accepted, id echoed in double quotes",
            )),
            None => Ok(Outcome::fail(
                "cmd.id-echo",
                format!(
                    "single-quoted id {want} came back as {}",
                    first.id.as_ref().map_or("nothing".into(), Value::to_string)
                ),
            )),
        }
    })
}

fn member_order(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| -> Step<Outcome> {
        p.negotiate()?;
        let orders: [&[u8]; 3] = [
            b"{\"id\":\"order-1\",\"arguments\":{},\"execute\":\"query-version\"}\n",
            b"{\"arguments\":{},\"id\":\"order-2\",\"execute\":\"query-version\"}\n",
            b"{\"id\":\"order-3\",\"execute\":\"query-version\",\"arguments\":{}}\n",
        ];
        for (i, o) in orders.iter().enumerate() {
            let t = p.t();
            let before = p.raw_then_recover("enc.member-order", o, false, t)?;
            let want = json!(format!("order-{}", i + 1));
            match before.as_slice() {
                [r] if r.error().is_none() && r.id.as_ref() == Some(&want) => {}
                [r] => {
                    return Ok(Outcome::fail(
                        "enc.member-order",
                        format!(
                            "members in order #{} drew {}",
                            i + 1,
                            match r.error() {
                                Some(e) => format!("an error: {e}"),
                                None => format!(
                                    "a reply with id {}",
                                    r.id.as_ref().map_or("none".into(), Value::to_string)
                                ),
                            }
                        ),
                    ))
                }
                other => {
                    return Ok(Outcome::fail(
                        "reply.one-per-command",
                        format!("one command drew {} replies", other.len()),
                    ))
                }
            }
        }
        Ok(Outcome::pass(
            "execute, arguments and id accepted in three different orders",
        ))
    })
}
