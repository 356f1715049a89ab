//! Out-of-band execution: only when enabled, only for commands that allow it, and such
//! commands do not wait behind in-band ones.

use super::probe::{with_probe, Probe, Step};
use super::{Ctx, Outcome, Reason};
use crate::message::Command;
use crate::spec::Clause;
use serde_json::{json, Value};
use std::collections::HashMap;

/// What query-qmp-schema says about commands: name -> (allow-oob, has required arguments).
struct SchemaCommands(HashMap<String, (bool, bool)>);

fn schema_commands(p: &mut Probe) -> Step<Option<SchemaCommands>> {
    let r = p.exec(Command::new("query-qmp-schema").id("schema"))?;
    if r.error().is_some() {
        return Ok(None);
    }
    let v = r.return_value().unwrap_or(Value::Null);
    let Some(entries) = v.as_array() else {
        return Err(Outcome::broken(
            Clause::ReplyReturn,
            "query-qmp-schema did not return an array",
        ));
    };
    let by_name: HashMap<&str, &Value> = entries
        .iter()
        .filter_map(|e| Some((e.get("name")?.as_str()?, e)))
        .collect();
    let mut out = HashMap::new();
    for e in entries {
        if e.get("meta-type").and_then(Value::as_str) != Some("command") {
            continue;
        }
        let Some(name) = e.get("name").and_then(Value::as_str) else {
            continue;
        };
        let allow = e.get("allow-oob").and_then(Value::as_bool).unwrap_or(false);
        let required = e
            .get("arg-type")
            .and_then(Value::as_str)
            .and_then(|t| by_name.get(t))
            .and_then(|t| t.get("members"))
            .and_then(Value::as_array)
            .is_some_and(|ms| ms.iter().any(|m| m.get("default").is_none()));
        out.insert(name.to_string(), (allow, required));
    }
    Ok(Some(SchemaCommands(out)))
}

pub(super) fn requires_enable(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        let g = p.greeting()?;
        p.negotiate()?;
        let r = p.exec_in(
            Clause::NegEnable,
            Command::new("query-version").id("oob-1").out_of_band(),
        )?;
        if r.error().is_none() {
            return Ok(Outcome::broken(
                Clause::NegEnable,
                "exec-oob succeeded although oob was not enabled",
            ));
        }
        p.still_answers(Clause::ReplyReturn)?;
        Ok(Outcome::pass(format!(
            "exec-oob without oob enabled refused ({}; oob {}offered)",
            r.error().map(|e| e.desc.clone()).unwrap_or_default(),
            if g.offers("oob") { "" } else { "not " }
        )))
    })
}

/// Negotiate with oob enabled and learn which commands allow it; a skip when the endpoint
/// offers no oob or publishes no schema.
fn oob_session(p: &mut Probe) -> Step<SchemaCommands> {
    let g = p.greeting()?;
    if !g.offers("oob") {
        return Err(Outcome::skip("the endpoint does not offer oob"));
    }
    p.negotiate_with(&["oob"])?;
    schema_commands(p)?
        .ok_or_else(|| Outcome::skip("no query-qmp-schema to tell which commands allow oob"))
}

pub(super) fn allow_oob(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        let schema = oob_session(p)?;
        let name = match schema.0.get("query-version") {
            Some((false, _)) => "query-version",
            _ => {
                return Ok(Outcome::skip(
                    "query-version allows oob here; no known command to try",
                ))
            }
        };
        let e = p.expect_error(
            Clause::OobAllowOob,
            Command::new(name).id("not-oob").out_of_band(),
        )?;
        p.still_answers(Clause::ReplyReturn)?;
        Ok(Outcome::pass(format!("exec-oob {name} refused: {e}")))
    })
}

pub(super) fn overtake(ctx: &Ctx) -> Outcome {
    with_probe(ctx, |p| {
        let schema = oob_session(p)?;
        let mut candidates: Vec<&String> = schema
            .0
            .iter()
            .filter(|(_, (allow, required))| *allow && !*required)
            .map(|(n, _)| n)
            .collect();
        candidates.sort();
        // Prefer commands that only read state.
        let oob_name = candidates
            .iter()
            .find(|n| n.starts_with("query-"))
            .or(candidates.first())
            .map(|s| s.to_string());
        let Some(oob_name) = oob_name else {
            return Ok(Outcome::skip(
                "no command allows oob without required arguments",
            ));
        };
        // Queue in-band work (below QEMU's queue limit of 8), then the oob command.
        let n = 6;
        let mut cmds: Vec<Command> = (0..n)
            .map(|i| Command::new("query-qmp-schema").id(i as u64))
            .collect();
        cmds.push(Command::new(oob_name.as_str()).id("oob").out_of_band());
        let order: Vec<Value> = p
            .pipeline(&cmds)?
            .into_iter()
            .map(|r| r.id.unwrap_or(Value::Null))
            .collect();
        let pos = order.iter().position(|v| *v == json!("oob"));
        match pos {
            Some(i) if i < n => Ok(Outcome::pass(format!(
                "exec-oob {oob_name} answered after {i} of {n} queued in-band commands"
            ))),
            Some(_) => Ok(Outcome::warn_because(
                Clause::OobOvertake,
                Reason::Timing,
                format!(
                    "exec-oob {oob_name} was answered only after all {n} queued in-band commands"
                ),
            )),
            None => Ok(Outcome::broken(
                Clause::CmdIdEcho,
                format!("no reply carried the exec-oob id: {order:?}"),
            )),
        }
    })
}
