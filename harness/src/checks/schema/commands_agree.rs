//! `schema.commands-agree`: `query-commands` and the schema list the same commands, and each
//! command of the schema is known to the endpoint.

use super::cases::runner;
use super::state::NEVER_SEND;
use super::{args_text, ret_issues, schema_check};
use crate::checks::probe::short;
use crate::checks::{Ctx, Outcome};
use crate::schema::strategy::invalid_arguments;
use crate::schema::Severity;
use crate::spec::Clause;
use proptest::strategy::{Strategy, ValueTree};
use serde_json::Value;
use std::collections::HashSet;

pub(in crate::checks) fn commands_agree(ctx: &Ctx) -> Outcome {
    schema_check(ctx, |live, schema| {
        let r = live
            .call("query-commands", None)
            .map_err(|e| e.outcome("query-commands"))?;
        if let Some(e) = r.error() {
            return Ok((
                Outcome::broken(Clause::ReplyReturn, format!("query-commands failed: {e}")),
                Vec::new(),
            ));
        }
        let v = r.return_value().unwrap_or(Value::Null);
        let issues = ret_issues(schema, "query-commands", &v);
        if let Some(i) = issues.iter().find(|i| i.severity == Severity::Error) {
            return Ok((
                Outcome::broken(Clause::ReplyReturn, format!("query-commands: {i}")),
                Vec::new(),
            ));
        }
        let listed: HashSet<&str> = v
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|c| c.get("name").and_then(Value::as_str))
                    .collect()
            })
            .unwrap_or_default();
        let published: HashSet<&str> = schema.commands().map(|c| c.name.as_str()).collect();
        let mut not_listed: Vec<&str> = published.difference(&listed).copied().collect();
        let mut not_published: Vec<&str> = listed.difference(&published).copied().collect();
        not_listed.sort();
        not_published.sort();
        let mut problems: Vec<String> = [
            commands_that("of the schema missing from query-commands", &not_listed),
            commands_that("of query-commands missing from the schema", &not_published),
        ]
        .into_iter()
        .flatten()
        .collect();
        // Every command the schema lists exists: sent with (seeded) invalid arguments, which
        // a conforming server rejects before running anything, it must not be unknown.
        let mut unknown = Vec::new();
        let mut probed = 0usize;
        let total = schema.commands().count();
        for (i, info) in schema.commands().enumerate() {
            ctx.working(i, total);
            let cmd = info.name.as_str();
            if NEVER_SEND.contains(&cmd) {
                continue;
            }
            let mut r = runner(&ctx.schema, cmd);
            let Ok(tree) = invalid_arguments(schema, cmd).new_tree(&mut r) else {
                continue;
            };
            let (args, _) = tree.current();
            let reply = match live.call(cmd, Some(&args)) {
                Ok(r) => r,
                Err(e) => {
                    return Ok((
                        e.outcome(&format!("{cmd} {}", args_text(&args))),
                        Vec::new(),
                    ))
                }
            };
            probed += 1;
            let not_found = format!("The command {cmd} has not been found");
            if reply
                .error()
                .is_some_and(|e| e.class == "CommandNotFound" && e.desc == not_found)
            {
                unknown.push(cmd);
            }
        }
        problems.extend(commands_that(
            "of the schema are unknown to the endpoint (CommandNotFound)",
            &unknown,
        ));
        if !problems.is_empty() {
            return Ok((
                Outcome::broken(Clause::ReplyReturn, problems.join("; ")),
                Vec::new(),
            ));
        }
        Ok((
            Outcome::pass(format!(
                "query-commands and the schema agree on {} commands; {probed} of them, sent with invalid arguments, exist",
                listed.len()
            )),
            Vec::new(),
        ))
    })
}

/// `N command(s) <what>: NAMES` when there are any.
fn commands_that(what: &str, names: &[&str]) -> Option<String> {
    (!names.is_empty()).then(|| {
        format!(
            "{} command(s) {what}: {}",
            names.len(),
            short(&names.join(", "))
        )
    })
}
