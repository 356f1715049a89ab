//! Schema checks: hold the endpoint to what it publishes about itself in `query-qmp-schema`.
//!
//! - `schema.commands-agree`: `query-commands` and the schema list the same commands, and
//!   every command of the schema (but [`NEVER_SEND`]), sent once with invalid arguments, is
//!   known to the endpoint (not `CommandNotFound`).
//! - `schema.invalid-arguments`: for every command (but [`NEVER_SEND`]), arguments generated
//!   with exactly one defect (a missing or unexpected member, a wrong JSON type, an unknown
//!   enum value: [`crate::schema::strategy::invalid_arguments`]) are rejected with an error,
//!   and no side effect shows: the state queried before and after ([`STATE_QUERIES`]) is the
//!   same, and no event is emitted.
//! - `schema.valid-arguments`: for the side-effect-free queries of the endpoint's schema
//!   ([`Schema::side_effect_free_queries`]: `query-*` and `x-query-*` but a documented few)
//!   that take arguments, generated valid arguments are never rejected as an argument-type
//!   error (a command may still fail for its own reasons: `DeviceNotFound`, a value out of the
//!   range it accepts ...).
//! - `schema.query-returns`: the return of every side-effect-free query (with generated valid
//!   arguments) validates against its `ret-type`; members the schema does not list are a
//!   `warn` only (`compat.ignore-unknown`).
//! - `schema.event-data`: the data of every event seen validates against the event's
//!   `arg-type`. Events are provoked where the endpoint has the commands: `stop` and `cont`
//!   (`STOP`, `RESUME`), and a `block-stream` job on a `null-co` node, removed afterwards
//!   (`JOB_STATUS_CHANGE`, `BLOCK_JOB_COMPLETED`). Events seen by the other schema checks
//!   are validated too.
//!
//! Cases come from proptest strategies driven by a seeded runner ([`cases`]) (deterministic: the
//! seed of each command is derived from [`SchemaOptions::seed`] and the command's name), `N`
//! per command ([`SchemaOptions::cases`], `--schema-cases`). The first failing case of a
//! command is shrunk to a minimal one (as proptest shrinks), which is replayed on a fresh connection:
//! that replay is the transcript the report shows. One connection (or process) serves all the
//! cases of a check; it is replaced only when it breaks or a side effect was seen.

use super::probe::{short, with_probe, Probe, Step};
use super::{Ctx, Outcome, Status};
use crate::endpoint::Entry;
use crate::schema::strategy::InvalidKind;
use crate::schema::{ArgumentError, Issue, Schema};
use crate::spec::Clause;
use event_data::event_problems;
use serde_json::{Map, Value};
use session::{fetch_schema, SchemaSession};
use state::StateQueries;

mod cases;
mod commands_agree;
mod event_data;
mod invalid_arguments;
mod queries;
mod session;
mod state;
mod valid_queries;

pub use state::{NEVER_SEND, STATE_QUERIES};

pub(in crate::checks) use commands_agree::commands_agree;
pub(in crate::checks) use event_data::event_data;
pub(in crate::checks) use invalid_arguments::invalid_args;
pub(in crate::checks) use valid_queries::{query_returns, valid_args};

/// Generated cases per command (`--schema-cases`).
pub const DEFAULT_CASES: u32 = 64;

/// The fixed seed of every run ("qmpspec!").
pub const DEFAULT_SEED: u64 = 0x716d_7073_7065_6321;

/// How the schema checks generate cases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaOptions {
    /// Generated cases per command (duplicates are sent once).
    pub cases: u32,
    /// Commands to treat as side-effect-free queries besides those the schema shows
    /// ([`Schema::side_effect_free_queries`]) (`--query-command`): the caller vouches that
    /// running them with any valid arguments is harmless.
    pub extra_queries: Vec<String>,
    /// The seed every command's case generator is derived from.
    pub seed: u64,
}

impl Default for SchemaOptions {
    fn default() -> Self {
        SchemaOptions {
            cases: DEFAULT_CASES,
            extra_queries: Vec::new(),
            seed: DEFAULT_SEED,
        }
    }
}

/// Transcript entries a passing schema check keeps (the whole run is tens of thousands).
const PASSING_TRANSCRIPT: usize = 60;

/// At most this many failing commands are shrunk and named.
const MAX_FAILURES: usize = 5;

/// A failing command: its minimal case and what was wrong.
struct Failure {
    command: String,
    args: Option<Map<String, Value>>,
    reason: String,
}

/// Open, negotiate, load the schema, run `body`, validate every event seen.
fn schema_check(
    ctx: &Ctx,
    body: impl FnOnce(&mut SchemaSession, &Schema) -> Step<(Outcome, Vec<Entry>)>,
) -> Outcome {
    let mut replay = Vec::new();
    let mut o = with_probe(ctx, |p| {
        let mut live = SchemaSession::start(p)?;
        let schema = fetch_schema(&mut live)?;
        let (o, r) = body(&mut live, &schema)?;
        replay = r;
        live.collect_events();
        if o.status == Status::Pass || o.status == Status::Warn {
            if let Some(bad) = event_problems(&schema, &live.events).into_iter().next() {
                return Ok(Outcome::broken(Clause::EventShape, bad));
            }
        }
        Ok(o)
    });
    if o.status == Status::Fail && !replay.is_empty() {
        o.transcript = replay;
    } else if o.status == Status::Fail || o.status == Status::Error {
        // The start (greeting, negotiation) and the end, where it went wrong.
        let n = o.transcript.len();
        if n > 2 * PASSING_TRANSCRIPT {
            o.transcript
                .drain(PASSING_TRANSCRIPT / 2..n - PASSING_TRANSCRIPT);
        }
    } else {
        o.transcript.truncate(PASSING_TRANSCRIPT);
    }
    o
}

/// Replay one case on a fresh connection (state queried around it when `queries` are given):
/// the minimal transcript of a failure.
fn replay(
    ctx: &Ctx,
    command: &str,
    args: Option<&Map<String, Value>>,
    queries: &StateQueries,
) -> Vec<Entry> {
    let mut p = match Probe::open(ctx) {
        Ok(p) => p,
        Err(_) => return Vec::new(),
    };
    let _ = (|| -> Step<()> {
        let mut live = SchemaSession::start(&mut p)?;
        let _ = live.state(queries);
        let _ = live.call(command, args);
        let _ = live.state(queries);
        Ok(())
    })();
    p.finish(Outcome::pass("replay")).transcript
}

/// The outcome for `failures` (the first one detailed), with its replayed transcript.
fn failed(
    ctx: &Ctx,
    clause: Clause,
    failures: &[Failure],
    queries: &StateQueries,
) -> (Outcome, Vec<Entry>) {
    let first = &failures[0];
    let mut msg = format!("{} (minimal case, shrunk by proptest)", first.reason);
    if failures.len() > 1 {
        let others: Vec<&str> = failures[1..].iter().map(|f| f.command.as_str()).collect();
        msg.push_str(&format!("; also failing: {}", others.join(", ")));
    }
    let t = replay(ctx, &first.command, first.args.as_ref(), queries);
    (Outcome::broken(clause, msg), t)
}

fn args_text(args: &Map<String, Value>) -> String {
    short(&Value::Object(args.clone()).to_string())
}

/// Whether `desc` is the text of QEMU's generic argument check (the visitor), as opposed to
/// an error the command reports itself.
pub fn is_argument_error(desc: &str) -> bool {
    [
        InvalidKind::MissingMember,
        InvalidKind::UnexpectedMember,
        InvalidKind::WrongType,
        InvalidKind::UnknownEnumValue,
    ]
    .iter()
    .any(|k| k.matches_error(desc))
        || (desc.starts_with("Parameter '")
            && (desc.ends_with("_t") || desc.ends_with("' expects uint64")))
}

/// ` at arguments.PATH`, the member QEMU's argument check names (its full path for most
/// defects, the innermost member for enum values), or nothing.
fn defect_at(e: Option<&ArgumentError>) -> String {
    match e.and_then(ArgumentError::member) {
        Some(m) if !m.is_empty() => format!(" at arguments.{m}"),
        _ => String::new(),
    }
}

fn kind_name(k: InvalidKind) -> &'static str {
    match k {
        InvalidKind::MissingMember => "a mandatory member missing",
        InvalidKind::UnexpectedMember => "an unexpected member",
        InvalidKind::WrongType => "a value of the wrong JSON type",
        InvalidKind::UnknownEnumValue => "an unknown enum value",
    }
}

/// How a value a command returned departs from its `ret-type`.
fn ret_issues(schema: &Schema, command: &str, v: &Value) -> Vec<Issue> {
    match schema.command(command) {
        Some(c) => schema.validate(&c.ret_type, v, "return"),
        None => Vec::new(),
    }
}

#[cfg(test)]
mod tests;
