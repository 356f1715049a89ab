//! Parser reset: an ASCII control character (other than tab, CR, LF) returns the server's JSON
//! parser to a known-good state, wherever it was.

use super::probe::{show_id, with_probe, Probe, Step};
use super::{Ctx, Outcome};
use crate::spec::Clause;

/// Send `bytes` (which must leave the parser mid-text and then reset it), then a command that
/// must be answered. Nothing before it may succeed.
fn reset_then_probe(p: &mut Probe, what: &str, bytes: &[u8]) -> Step<()> {
    let before = p.raw_then_recover(Clause::ParserReset, bytes, false)?;
    match before.iter().find(|r| r.error().is_none()) {
        Some(r) => Err(Outcome::broken(
            Clause::ParserReset,
            format!(
                "{what}: the truncated command was executed (reply id {})",
                show_id(r.id.as_ref())
            ),
        )),
        None => Ok(()),
    }
}

pub(super) fn open_object(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        reset_then_probe(
            p,
            "open object, newline, 0x01",
            b"{\"execute\":\"query-version\",\"id\":\"lost\"\n\x01\n",
        )?;
        reset_then_probe(
            p,
            "open nested arrays, 0x1b",
            b"{\"execute\":\"query-version\",\"arguments\":{\"a\":[[[[\x1b",
        )?;
        Ok(Outcome::pass(
            "after unbalanced input and a control character, the next command was answered",
        ))
    })
}

pub(super) fn in_string(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        reset_then_probe(
            p,
            "0x01 inside a string",
            b"{\"execute\":\"query-version\",\"id\":\"ab\x01",
        )?;
        Ok(Outcome::pass(
            "a control character inside an open string reset the parser",
        ))
    })
}

pub(super) fn every_control_char(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        let chars: Vec<u8> = (0u8..0x20)
            .chain(std::iter::once(0x7f))
            .filter(|c| !matches!(c, b'\t' | b'\n' | b'\r'))
            .collect();
        for &c in &chars {
            let mut input = b"{\"execute\":\"query-version\",\"id\":\"lost\"".to_vec();
            input.push(c);
            reset_then_probe(p, &format!("control character 0x{c:02x}"), &input)?;
        }
        Ok(Outcome::pass(format!(
            "each of {} control characters reset the parser",
            chars.len()
        )))
    })
}
