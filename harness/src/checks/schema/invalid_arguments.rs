//! `schema.invalid-arguments`: generated invalid arguments are rejected with an error, with
//! no side effect (no event, no change to the observable state).

use super::cases::run_cases;
use super::session::{CallError, SchemaSession};
use super::state::{state_queries, State, StateQueries, NEVER_SEND};
use super::{args_text, defect_at, failed, kind_name, schema_check, Failure, MAX_FAILURES};
use crate::checks::probe::short;
use crate::checks::{Ctx, Outcome, Reason};
use crate::endpoint::Entry;
use crate::schema::strategy::invalid_arguments;
use crate::schema::strategy::InvalidKind;
use crate::schema::Schema;
use crate::spec::Clause;
use serde_json::{Map, Value};

pub(in crate::checks) fn invalid_args(ctx: &Ctx) -> Outcome {
    if ctx.schema.cases == 0 {
        return Outcome::skip("--schema-cases 0");
    }
    schema_check(ctx, |live, schema| {
        let queries = state_queries(schema);
        let baseline = live
            .state(&queries)
            .map_err(|e| e.outcome("querying the state"))?;
        let mut run = Run {
            ctx,
            schema,
            live,
            queries,
            baseline,
            failures: Vec::new(),
            mismatches: Vec::new(),
            cases: 0,
            commands: 0,
        };
        let commands: Vec<&str> = schema
            .commands()
            .map(|c| c.name.as_str())
            .filter(|c| !NEVER_SEND.contains(c))
            .collect();
        for (i, cmd) in commands.iter().enumerate() {
            if run.failures.len() >= MAX_FAILURES {
                break;
            }
            ctx.working(i, commands.len());
            run.command(cmd);
        }
        Ok(run.outcome())
    })
}

/// One run of the check: the session, the state every rejected command must leave alone,
/// and what was found.
struct Run<'r, 'p, 'a> {
    ctx: &'r Ctx,
    schema: &'r Schema,
    live: &'r mut SchemaSession<'p, 'a>,
    queries: StateQueries,
    /// The state as it should still be.
    baseline: State,
    failures: Vec<Failure>,
    /// Rejections with another text than the argument check's (a few, as examples).
    mismatches: Vec<String>,
    cases: usize,
    commands: usize,
}

impl Run<'_, '_, '_> {
    /// The seeded invalid cases of `cmd`. Pass 1: every case must be rejected, with no event;
    /// the state is compared once the command's cases are done. Pass 2, only when it
    /// changed: the state around every case, on a fresh connection, to find (and shrink) the
    /// case with the side effect.
    fn command(&mut self, cmd: &str) {
        self.commands += 1;
        let ctx = self.ctx;
        let strategy = invalid_arguments(self.schema, cmd);
        let pass1 = run_cases(&ctx.schema, cmd, &strategy, |(args, kind)| {
            self.rejected(cmd, args, *kind)
        });
        if let Err((v, reason)) = pass1 {
            let (args, _) = v.unzip();
            self.fail(cmd, args, reason);
            return;
        }
        let Ok(after) = self.live.state(&self.queries) else {
            return;
        };
        let Some(change) = self.baseline.diff(&after) else {
            return;
        };
        let _ = self.live.reconnect();
        let pass2 = run_cases(&ctx.schema, cmd, &strategy, |(args, kind)| {
            self.left_alone(cmd, args, *kind)
        });
        let (args, reason) = match pass2 {
            Err((v, reason)) => (v.map(|(a, _)| a), reason),
            Ok(()) => (
                None,
                format!("after {cmd}'s rejected cases, {change} (not reproduced case by case)"),
            ),
        };
        self.fail(cmd, args, reason);
    }

    /// Pass 1: `cmd` with `args` (`kind` of defect) is rejected, and emits no event.
    fn rejected(
        &mut self,
        cmd: &str,
        args: &Map<String, Value>,
        kind: InvalidKind,
    ) -> Result<(), String> {
        let events_before = self.live.events.len();
        self.cases += 1;
        let reply = match self.live.call(cmd, Some(args)) {
            Ok(r) => r,
            Err(CallError::NoConnection(_)) => return Ok(()),
            Err(CallError::Stall(s)) => {
                return Err(format!(
                    "{cmd} with {} ({}): {s}",
                    kind_name(kind),
                    args_text(args)
                ))
            }
        };
        let expected = self.schema.check_arguments(cmd, Some(args)).err();
        let says = expected.as_ref().map_or(String::new(), ToString::to_string);
        match reply.error() {
            None => {
                return Err(format!(
                    "{cmd} accepted arguments with {}{} ({}; QEMU says: {says}) and returned {}",
                    kind_name(kind),
                    defect_at(expected.as_ref()),
                    args_text(args),
                    short(&reply.return_value().unwrap_or(Value::Null).to_string())
                ))
            }
            Some(e) if !kind.matches_error(&e.desc) && e.class != "CommandNotFound" => {
                if self.mismatches.len() < 3 {
                    self.mismatches.push(format!(
                        "{cmd} {}: {} (expected: {says})",
                        args_text(args),
                        e.desc
                    ));
                }
            }
            Some(_) => {}
        }
        let emitted: Vec<&str> = self.live.events[events_before..]
            .iter()
            .map(|e| e.name.as_str())
            .collect();
        if !emitted.is_empty() {
            return Err(format!(
                "{cmd} rejected arguments with {} ({}), but emitted {}",
                kind_name(kind),
                args_text(args),
                emitted.join(", ")
            ));
        }
        Ok(())
    }

    /// Pass 2: `cmd` with `args` leaves the state as it was.
    fn left_alone(
        &mut self,
        cmd: &str,
        args: &Map<String, Value>,
        kind: InvalidKind,
    ) -> Result<(), String> {
        let Ok(before) = self.live.state(&self.queries) else {
            return Ok(());
        };
        let _ = self.live.call(cmd, Some(args));
        let Ok(after) = self.live.state(&self.queries) else {
            return Ok(());
        };
        match before.diff(&after) {
            Some(change) => {
                // The next case (shrinking this one) starts from a fresh state (a fresh
                // session or process) to show its own effect.
                self.live.broken = true;
                Err(format!(
                    "{cmd} rejected arguments with {} ({}), but {change}",
                    kind_name(kind),
                    args_text(args)
                ))
            }
            None => Ok(()),
        }
    }

    /// Record a failing command, and go on from a fresh state, whatever the failure did.
    fn fail(&mut self, cmd: &str, args: Option<Map<String, Value>>, reason: String) {
        self.failures.push(Failure {
            command: cmd.to_string(),
            args,
            reason,
        });
        if self.live.reconnect().is_ok() {
            if let Ok(s) = self.live.state(&self.queries) {
                self.baseline = s;
            }
        }
    }

    fn outcome(self) -> (Outcome, Vec<Entry>) {
        if !self.failures.is_empty() {
            return failed(
                self.ctx,
                Clause::CompatArgCheck,
                &self.failures,
                &self.queries,
            );
        }
        if !self.mismatches.is_empty() {
            let o = Outcome::warn_because(
                Clause::CompatArgCheck,
                Reason::QemuConvention,
                format!(
                    "invalid arguments were rejected, but not always with the argument check's error: {}",
                    self.mismatches.join("; ")
                ),
            );
            return (o, Vec::new());
        }
        let names: Vec<&str> = self.queries.iter().map(|(n, _)| n.as_str()).collect();
        let state = match names.len() {
            0..=3 => names.join(", "),
            n => format!("{} and {} more", names[..2].join(", "), n - 2),
        };
        let opts = &self.ctx.schema;
        let o = Outcome::pass(format!(
            "{} invalid argument sets ({} per command, seed {}) over {} commands were rejected, with no event and no change to the state ({state})",
            self.cases, opts.cases, opts.seed, self.commands
        ));
        (o, Vec::new())
    }
}
