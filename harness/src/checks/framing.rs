//! Framing: what the server sends is JSON objects terminated by CRLF; what it accepts is a
//! stream of JSON texts with insignificant whitespace between and inside them.

use super::probe::{short, with_probe, Probe, Step};
use super::{Ctx, Outcome};
use crate::message::Command;
use crate::session::ReceivedFrame;
use crate::spec::Clause;
use crate::text::clip;
use crate::wire::parse_value;
use serde_json::json;
use std::time::Duration;

/// A session with a few successes and errors on it, for the output checks.
fn some_traffic(p: &mut Probe) -> Step<()> {
    p.negotiate()?;
    p.exec(Command::new("query-version").id(1))?;
    p.exec(Command::new("qmpspec-no-such-command").id(2))?;
    p.exec(Command::new("query-version"))?;
    Ok(())
}

pub(super) fn crlf(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        some_traffic(p)?;
        // Give the last terminator a moment to arrive if it came in a separate write.
        let mut frames = p.frames();
        let unterminated = |frames: &[Result<ReceivedFrame, _>]| matches!(frames.last(), Some(Ok(f)) if f.terminator.is_empty());
        if unterminated(&frames) {
            p.wait_for(Duration::from_millis(200), |c| !unterminated(&c.frames()))?;
            frames = p.frames();
        }
        let n = frames.len();
        for (i, f) in frames.iter().enumerate() {
            let Ok(ReceivedFrame { text, terminator }) = f else {
                continue;
            };
            if !terminator.starts_with(b"\r\n") {
                let shown = String::from_utf8_lossy(terminator).into_owned();
                return Ok(Outcome::broken(
                    Clause::FrameCrlf,
                    format!(
                        "message {} of {n} ({}) is followed by {shown:?}, not CRLF",
                        i + 1,
                        // Its first 40 characters, then "...".
                        clip(&String::from_utf8_lossy(text), 43)
                    ),
                ));
            }
        }
        Ok(Outcome::pass(format!(
            "all {n} messages terminated by CRLF"
        )))
    })
}

pub(super) fn objects_only(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        some_traffic(p)?;
        p.raw_then_recover(Clause::FrameObjectsOnly, b"{\"execute\":}\n", false)?;
        let frames = p.frames();
        for f in &frames {
            match f {
                Err(e) => {
                    return Ok(Outcome::broken(
                        Clause::FrameObjectsOnly,
                        format!("server output is not JSON: {e}"),
                    ))
                }
                Ok(ReceivedFrame { text, .. }) => match parse_value(text, false) {
                    Ok(v) if v.is_object() => {}
                    Ok(v) => {
                        return Ok(Outcome::broken(
                            Clause::FrameObjectsOnly,
                            format!("server sent a JSON {}, not an object", json_kind(&v)),
                        ))
                    }
                    Err(e) => {
                        return Ok(Outcome::broken(
                            Clause::FrameObjectsOnly,
                            format!(
                                "server sent invalid JSON ({e}): {}",
                                short(&String::from_utf8_lossy(text))
                            ),
                        ))
                    }
                },
            }
        }
        Ok(Outcome::pass(format!(
            "all {} messages are valid JSON objects",
            frames.len()
        )))
    })
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    crate::message::JsonType::of(v).name()
}

pub(super) fn input_line_endings(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        let inputs: [(&str, &[u8], usize); 3] = [
            (
                "LF",
                b"{\"execute\":\"query-version\",\"id\":\"lf\"}\n",
                1,
            ),
            (
                "CRLF",
                b"{\"execute\":\"query-version\",\"id\":\"crlf\"}\r\n",
                1,
            ),
            (
                "no terminator between two commands",
                b"{\"execute\":\"query-version\",\"id\":\"none-1\"}{\"execute\":\"query-version\",\"id\":\"none-2\"}",
                2,
            ),
        ];
        for (what, bytes, n) in inputs {
            let before = p.raw_then_recover(Clause::CmdShape, bytes, false)?;
            let oks = before.iter().filter(|r| r.error().is_none()).count();
            if before.len() != n || oks != n {
                let errs: Vec<String> = before
                    .iter()
                    .filter_map(|r| r.error().map(|e| e.to_string()))
                    .collect();
                return Ok(Outcome::broken(
                    Clause::CmdShape,
                    format!(
                        "commands ending with {what}: expected {n} successful replies, got {} ({} errors: {})",
                        before.len(),
                        errs.len(),
                        errs.join("; ")
                    ),
                ));
            }
        }
        Ok(Outcome::pass(
            "LF, CRLF and unterminated back-to-back commands all accepted",
        ))
    })
}

pub(super) fn multiline_input(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        p.expect_one_success(
            Clause::CmdShape,
            "a command over several lines",
            b"{\r\n  \"execute\":\n    \"query-version\",\n\n  \"id\": \"multi\"\r\n}\n",
            &json!("multi"),
        )?;
        Ok(Outcome::pass(
            "a command over six lines drew exactly one successful reply",
        ))
    })
}

pub(super) fn whitespace_only(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        let before = p.raw_then_recover(Clause::ReplyOnePerCommand, b"\n\r\n  \t \n\n", false)?;
        if before.is_empty() {
            Ok(Outcome::pass("whitespace drew no reply"))
        } else {
            Ok(Outcome::broken(
                Clause::ReplyOnePerCommand,
                format!("whitespace alone drew {} replies", before.len()),
            ))
        }
    })
}
