//! Framing: what the server sends is JSON objects terminated by CRLF; what it accepts is a
//! stream of JSON texts with insignificant whitespace between and inside them.

use super::probe::{with_probe, Probe, Step};
use super::{Check, Ctx, Outcome};
use crate::message::Command;
use crate::wire::parse_value;
use serde_json::json;
use std::time::Duration;

pub const CHECKS: &[Check] = &[
    Check {
        id: "framing.crlf",
        clause: "frame.crlf",
        title: "every server message is terminated by CRLF",
        run: crlf,
    },
    Check {
        id: "framing.objects-only",
        clause: "frame.objects-only",
        title: "everything the server sends is a valid JSON object",
        run: objects_only,
    },
    Check {
        id: "framing.input-line-endings",
        clause: "cmd.shape",
        title: "commands ending in LF, CRLF or nothing at all are accepted",
        run: input_line_endings,
    },
    Check {
        id: "framing.multiline-input",
        clause: "cmd.shape",
        title: "a command spread over several lines is one command",
        run: multiline_input,
    },
    Check {
        id: "framing.whitespace-only",
        clause: "reply.one-per-command",
        title: "blank lines and whitespace draw no reply",
        run: whitespace_only,
    },
];

/// A session with a few successes and errors on it, for the output checks.
fn some_traffic(p: &mut Probe) -> Step<()> {
    p.negotiate()?;
    p.exec(Command::new("query-version").id(1))?;
    p.exec(Command::new("qmpspec-no-such-command").id(2))?;
    p.exec(Command::new("query-version"))?;
    Ok(())
}

fn crlf(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        some_traffic(p)?;
        // Give the last terminator a moment to arrive if it came in a separate write.
        let mut frames = p.frames();
        if matches!(frames.last(), Some(Ok((_, t))) if t.is_empty()) {
            p.wait_for(Duration::from_millis(200), |c| {
                c.conn
                    .transcript()
                    .entries
                    .last()
                    .is_some_and(|e| e.bytes.ends_with(b"\n"))
            })?;
            frames = p.frames();
        }
        let n = frames.len();
        for (i, f) in frames.iter().enumerate() {
            let Ok((text, term)) = f else { continue };
            if !term.starts_with(b"\r\n") {
                let shown = String::from_utf8_lossy(term).into_owned();
                return Ok(Outcome::fail(
                    "frame.crlf",
                    format!(
                        "message {} of {n} ({}...) is followed by {shown:?}, not CRLF",
                        i + 1,
                        String::from_utf8_lossy(&text[..text.len().min(40)])
                    ),
                ));
            }
        }
        Ok(Outcome::pass(format!(
            "all {n} messages terminated by CRLF"
        )))
    })
}

fn objects_only(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        some_traffic(p)?;
        let t = p.t();
        p.raw_then_recover("frame.objects-only", b"{\"execute\":}\n", false, t)?;
        let frames = p.frames();
        for f in &frames {
            match f {
                Err(e) => {
                    return Ok(Outcome::fail(
                        "frame.objects-only",
                        format!("server output is not JSON: {e}"),
                    ))
                }
                Ok((text, _)) => match parse_value(text, false) {
                    Ok(v) if v.is_object() => {}
                    Ok(v) => {
                        return Ok(Outcome::fail(
                            "frame.objects-only",
                            format!("server sent a JSON {}, not an object", json_kind(&v)),
                        ))
                    }
                    Err(e) => {
                        return Ok(Outcome::fail(
                            "frame.objects-only",
                            format!(
                                "server sent invalid JSON ({e}): {}",
                                String::from_utf8_lossy(&text[..text.len().min(80)])
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

fn input_line_endings(ctx: &Ctx) -> Outcome {
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
            let t = p.t();
            let before = p.raw_then_recover("cmd.shape", bytes, false, t)?;
            let oks = before.iter().filter(|r| r.error().is_none()).count();
            if before.len() != n || oks != n {
                let errs: Vec<String> = before
                    .iter()
                    .filter_map(|r| r.error().map(|e| e.to_string()))
                    .collect();
                return Ok(Outcome::fail(
                    "cmd.shape",
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

fn multiline_input(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        let t = p.t();
        let before = p.raw_then_recover(
            "cmd.shape",
            b"{\r\n  \"execute\":\n    \"query-version\",\n\n  \"id\": \"multi\"\r\n}\n",
            false,
            t,
        )?;
        match before.as_slice() {
            [r] if r.error().is_none() && r.id == Some(json!("multi")) => Ok(Outcome::pass(
                "a command over six lines drew exactly one successful reply",
            )),
            [r] => Ok(Outcome::fail(
                "cmd.shape",
                format!(
                    "a command over several lines drew {}",
                    r.error()
                        .map_or("a reply without its id".to_string(), |e| format!(
                            "an error: {e}"
                        ))
                ),
            )),
            other => Ok(super::robustness::several(
                "a command over several lines",
                other,
            )),
        }
    })
}

fn whitespace_only(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        p.negotiate()?;
        let t = p.t();
        let before = p.raw_then_recover("reply.one-per-command", b"\n\r\n  \t \n\n", false, t)?;
        if before.is_empty() {
            Ok(Outcome::pass("whitespace drew no reply"))
        } else {
            Ok(Outcome::fail(
                "reply.one-per-command",
                format!("whitespace alone drew {} replies", before.len()),
            ))
        }
    })
}
