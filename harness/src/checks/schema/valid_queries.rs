//! `schema.valid-arguments` and `schema.query-returns`: the side-effect-free queries the schema
//! shows (and `--query-command`s), run with generated valid arguments, are never refused as
//! ill-typed, and return what their `ret-type` says.

use super::cases::run_cases;
use super::queries::queries_of;
use super::session::{CallError, SchemaSession};
use super::{
    args_text, failed, is_argument_error, ret_issues, schema_check, Failure, MAX_FAILURES,
};
use crate::checks::{Ctx, Outcome};
use crate::schema::strategy::valid_arguments;
use crate::schema::{Issue, Schema, Severity, TypeDef};
use crate::spec::Clause;
use serde_json::{Map, Value};
use std::collections::HashSet;

/// Whether `command` takes any argument.
fn takes_arguments(schema: &Schema, command: &str) -> bool {
    let Some(c) = schema.command(command) else {
        return false;
    };
    match schema.ty(&c.arg_type) {
        Some(TypeDef::Object(o)) => !o.members.is_empty() || !o.variants.is_empty(),
        _ => false,
    }
}

/// What a query run judges in each reply.
#[derive(Clone, Copy, PartialEq, Eq)]
enum QueryJudge {
    /// No argument-type error.
    Arguments,
    /// The return validates.
    Returns,
}

fn run_queries(ctx: &Ctx, judge: QueryJudge) -> Outcome {
    let opts = &ctx.schema;
    if opts.cases == 0 {
        return Outcome::skip("--schema-cases 0");
    }
    schema_check(ctx, |live, schema| {
        let mut commands: Vec<&str> = queries_of(schema, opts);
        if judge == QueryJudge::Arguments {
            commands.retain(|c| takes_arguments(schema, c));
        }
        if commands.is_empty() {
            return Ok((
                Outcome::skip("the endpoint has none of the side-effect-free query commands"),
                Vec::new(),
            ));
        }
        let mut run = Run {
            schema,
            live,
            judge,
            cases: 0,
            answered: 0,
            extras: Vec::new(),
        };
        let mut failures = Vec::new();
        for (i, &cmd) in commands.iter().enumerate() {
            if failures.len() >= MAX_FAILURES {
                break;
            }
            ctx.working(i, commands.len());
            // Duplicate cases are sent and judged once.
            let mut passed = HashSet::new();
            let strategy = valid_arguments(schema, cmd);
            let r = run_cases(opts, cmd, &strategy, |args| {
                let key = Value::Object(args.clone()).to_string();
                if passed.contains(&key) {
                    return Ok(());
                }
                run.case(cmd, args)?;
                passed.insert(key);
                Ok(())
            });
            if let Err((args, reason)) = r {
                failures.push(Failure {
                    command: cmd.to_string(),
                    args: args.filter(|a| !a.is_empty()),
                    reason,
                });
            }
        }
        let Run {
            cases,
            answered,
            extras,
            ..
        } = run;
        let clause = match judge {
            QueryJudge::Arguments => Clause::CompatArgCheck,
            QueryJudge::Returns => Clause::ReplyReturn,
        };
        if !failures.is_empty() {
            return Ok(failed(ctx, clause, &failures, &Vec::new()));
        }
        if judge == QueryJudge::Returns && !extras.is_empty() {
            return Ok((
                Outcome::broken(
                    Clause::CompatIgnoreUnknown,
                    format!(
                        "returns carry members the schema does not list (clients must ignore them): {}",
                        extras.join("; ")
                    ),
                ),
                Vec::new(),
            ));
        }
        let what = match judge {
            QueryJudge::Arguments => "no argument rejected as ill-typed",
            QueryJudge::Returns => "every return validates against its ret-type",
        };
        let unknown: Vec<&str> = opts
            .extra_queries
            .iter()
            .map(String::as_str)
            .filter(|q| schema.command(q).is_none())
            .collect();
        let note = if unknown.is_empty() {
            String::new()
        } else {
            format!(
                " (--query-command not in the schema: {})",
                unknown.join(", ")
            )
        };
        Ok((
            Outcome::pass(format!(
                "{cases} distinct cases over {} commands ({answered} answered with a return): {what}{note}",
                commands.len()
            )),
            Vec::new(),
        ))
    })
}

pub(in crate::checks) fn valid_args(ctx: &Ctx) -> Outcome {
    run_queries(ctx, QueryJudge::Arguments)
}

pub(in crate::checks) fn query_returns(ctx: &Ctx) -> Outcome {
    run_queries(ctx, QueryJudge::Returns)
}

/// One run of the check: the session, and what was seen.
struct Run<'r, 'p, 'a> {
    schema: &'r Schema,
    live: &'r mut SchemaSession<'p, 'a>,
    judge: QueryJudge,
    cases: usize,
    /// Cases answered with a return (not an error).
    answered: usize,
    /// Members the schema does not list (a few, as examples).
    extras: Vec<String>,
}

impl Run<'_, '_, '_> {
    /// Run `cmd` with the valid `args` and judge the reply.
    fn case(&mut self, cmd: &str, args: &Map<String, Value>) -> Result<(), String> {
        self.cases += 1;
        let sent = (!args.is_empty()).then_some(args);
        let reply = match self.live.call(cmd, sent) {
            Ok(r) => r,
            Err(CallError::NoConnection(_)) => return Ok(()),
            Err(CallError::Stall(s)) => return Err(format!("{cmd} {}: {s}", args_text(args))),
        };
        match (reply.error(), self.judge) {
            (Some(e), QueryJudge::Arguments) if is_argument_error(&e.desc) => Err(format!(
                "{cmd} rejected valid arguments {} as ill-typed: {e}",
                args_text(args)
            )),
            (Some(_), _) => Ok(()),
            (None, QueryJudge::Arguments) => {
                self.answered += 1;
                Ok(())
            }
            (None, QueryJudge::Returns) => {
                self.answered += 1;
                let v = reply.return_value().unwrap_or(Value::Null);
                self.judge_return(cmd, args, &v)
            }
        }
    }

    /// The return `v` validates against the `ret-type` of `cmd`; members the schema does not
    /// list are noted.
    fn judge_return(
        &mut self,
        cmd: &str,
        args: &Map<String, Value>,
        v: &Value,
    ) -> Result<(), String> {
        let issues = ret_issues(self.schema, cmd, v);
        let errors: Vec<&Issue> = issues
            .iter()
            .filter(|i| i.severity == Severity::Error)
            .collect();
        if let Some(first) = errors.first() {
            let more = match errors.len() {
                1 => String::new(),
                n => format!(" (and {} more)", n - 1),
            };
            return Err(format!("{cmd} {}: {first}{more}", args_text(args)));
        }
        for i in issues.iter().filter(|i| i.severity == Severity::Extra) {
            let line = format!("{cmd}: {i}");
            if self.extras.len() < 5 && !self.extras.contains(&line) {
                self.extras.push(line);
            }
        }
        Ok(())
    }
}
