//! Parser reset: an ASCII control character (other than tab, CR, LF) returns the server's JSON
//! parser to a known-good state, wherever it was.

use super::probe::{with_probe, Probe, Step};
use super::{Check, Ctx, Outcome};

pub const CHECKS: &[Check] = &[
    Check {
        id: "parser_reset.open-object",
        clause: "parser.reset",
        title: "a control character recovers from an object left open",
        run: open_object,
    },
    Check {
        id: "parser_reset.in-string",
        clause: "parser.reset",
        title: "a control character inside a string resets the parser",
        run: in_string,
    },
    Check {
        id: "parser_reset.every-control-char",
        clause: "parser.reset",
        title: "each ASCII control character but tab, CR and LF resets the parser",
        run: every_control_char,
    },
];

/// Send `bytes` (which must leave the parser mid-text and then reset it), then a command that
/// must be answered. Nothing before it may succeed.
fn reset_then_probe(p: &mut Probe, what: &str, bytes: &[u8]) -> Step<Option<Outcome>> {
    let t = p.t();
    let before = p.raw_then_recover("parser.reset", bytes, false, t)?;
    if let Some(r) = before.iter().find(|r| r.error().is_none()) {
        return Ok(Some(Outcome::fail(
            "parser.reset",
            format!(
                "{what}: the truncated command was executed (reply id {})",
                r.id.as_ref().map_or("none".into(), |v| v.to_string())
            ),
        )));
    }
    Ok(None)
}

fn open_object(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        if let Some(o) = reset_then_probe(
            p,
            "open object, newline, 0x01",
            b"{\"execute\":\"query-version\",\"id\":\"lost\"\n\x01\n",
        )? {
            return Ok(o);
        }
        if let Some(o) = reset_then_probe(
            p,
            "open nested arrays, 0x1b",
            b"{\"execute\":\"query-version\",\"arguments\":{\"a\":[[[[\x1b",
        )? {
            return Ok(o);
        }
        Ok(Outcome::pass(
            "after unbalanced input and a control character, the next command was answered",
        ))
    })
}

fn in_string(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        if let Some(o) = reset_then_probe(
            p,
            "0x01 inside a string",
            b"{\"execute\":\"query-version\",\"id\":\"ab\x01",
        )? {
            return Ok(o);
        }
        Ok(Outcome::pass(
            "a control character inside an open string reset the parser",
        ))
    })
}

fn every_control_char(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        let chars: Vec<u8> = (0u8..0x20)
            .chain(std::iter::once(0x7f))
            .filter(|c| !matches!(c, b'\t' | b'\n' | b'\r'))
            .collect();
        for &c in &chars {
            let mut input = b"{\"execute\":\"query-version\",\"id\":\"lost\"".to_vec();
            input.push(c);
            if let Some(o) = reset_then_probe(p, &format!("control character 0x{c:02x}"), &input)? {
                return Ok(o);
            }
        }
        Ok(Outcome::pass(format!(
            "each of {} control characters reset the parser",
            chars.len()
        )))
    })
}
