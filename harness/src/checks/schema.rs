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
//! - `schema.valid-arguments`: for the side-effect-free commands of [`QUERY_COMMANDS`] that take
//!   arguments, generated valid arguments are never rejected as an argument-type error (a
//!   command may still fail for its own reasons: `DeviceNotFound`, a value out of the range it
//!   accepts ...).
//! - `schema.query-returns`: the return of every command of [`QUERY_COMMANDS`] (with generated
//!   valid arguments) validates against its `ret-type`; members the schema does not list are a
//!   `warn` only (`compat.ignore-unknown`).
//! - `schema.event-data`: the data of every event seen validates against the event's
//!   `arg-type`. Events are provoked where the endpoint has the commands: `stop` and `cont`
//!   (`STOP`, `RESUME`), and a `block-stream` job on a `null-co` node, removed afterwards
//!   (`JOB_STATUS_CHANGE`, `BLOCK_JOB_COMPLETED`). Events seen by the other schema checks
//!   are validated too.
//!
//! Cases come from proptest strategies driven by a seeded [`TestRunner`] (deterministic: the
//! seed of each command is derived from [`SchemaOptions::seed`] and the command's name), `N`
//! per command ([`SchemaOptions::cases`], `--schema-cases`). The first failing case of a
//! command is shrunk by proptest to a minimal one, which is replayed on a fresh connection:
//! that replay is the transcript the report shows. One connection (or process) serves all the
//! cases of a check; it is replaced only when it breaks or a side effect was seen.

use super::probe::{short, with_probe, Probe, Step};
use super::{Check, Ctx, Outcome, Status, TranscriptEntry};
use crate::endpoint::Stall;
use crate::message::{Command, Event, Reply};
use crate::schema::strategy::{invalid_arguments, valid_arguments, InvalidKind};
use crate::schema::{Issue, Schema, Severity, TypeDef};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use serde_json::{json, Map, Value};
use std::cell::RefCell;
use std::collections::HashSet;

pub const CHECKS: &[Check] = &[
    Check {
        id: "schema.commands-agree",
        clause: "reply.return",
        title: "query-commands and query-qmp-schema list the same commands",
        run: commands_agree,
    },
    Check {
        id: "schema.invalid-arguments",
        clause: "compat.arg-check",
        title: "generated invalid arguments are rejected with an error, with no side effect",
        run: invalid_args,
    },
    Check {
        id: "schema.valid-arguments",
        clause: "compat.arg-check",
        title: "generated valid arguments of query commands are never rejected as ill-typed",
        run: valid_args,
    },
    Check {
        id: "schema.query-returns",
        clause: "reply.return",
        title: "the return of every side-effect-free query command validates against its ret-type",
        run: query_returns,
    },
    Check {
        id: "schema.event-data",
        clause: "event.shape",
        title: "the data of every event seen validates against the event's arg-type",
        run: event_data,
    },
];

/// Generated cases per command (`--schema-cases`).
pub const DEFAULT_CASES: u32 = 64;

/// The fixed seed of every run ("qmpspec!").
pub const DEFAULT_SEED: u64 = 0x716d_7073_7065_6321;

/// How the schema checks generate cases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaOptions {
    /// Generated cases per command (duplicates are sent once).
    pub cases: u32,
    /// Commands to treat as side-effect-free queries besides [`QUERY_COMMANDS`]
    /// (`--query-command`): the caller vouches that running them with any valid arguments
    /// is harmless.
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

/// The side-effect-free query commands whose returns are validated, with generated valid
/// arguments where they take any. Every one only reads state, returns promptly, and touches no
/// file, socket or device, whatever valid arguments it gets (strings are generated as short
/// identifiers, so `qom-get` reads some property of some object at worst). Commands missing
/// from an endpoint's schema are left out. Deliberately not here: `qom-list-properties` and
/// `device-list-properties` (they instantiate the named type, which aborts QEMU for some
/// types), anything that blocks, quits, or writes (`screendump`, `dump-guest-memory` ...).
pub const QUERY_COMMANDS: &[&str] = &[
    // No arguments (or optional ones only), answered by QEMU 7.2 -machine none.
    "query-block",
    "query-block-exports",
    "query-block-jobs",
    "query-blockstats",
    "query-chardev",
    "query-chardev-backends",
    "query-colo-status",
    "query-command-line-options",
    "query-commands",
    "query-cpu-definitions",
    "query-cpus-fast",
    "query-current-machine",
    "query-dirty-rate",
    "query-display-options",
    "query-dump",
    "query-dump-guest-memory-capability",
    "query-fdsets",
    "query-iothreads",
    "query-jobs",
    "query-kvm",
    "query-machines",
    "query-memdev",
    "query-memory-devices",
    "query-memory-size-summary",
    "query-mice",
    "query-migrate",
    "query-migrate-capabilities",
    "query-migrate-parameters",
    "query-name",
    "query-named-block-nodes",
    "query-pci",
    "query-pr-managers",
    "query-qmp-schema",
    "query-replay",
    "query-rx-filter",
    "query-sev",
    "query-spice",
    "query-stats-schemas",
    "query-status",
    "query-target",
    "query-tpm",
    "query-tpm-models",
    "query-tpm-types",
    "query-uuid",
    "query-vcpu-dirty-limit",
    "query-version",
    "query-vnc",
    "query-vnc-servers",
    "query-xen-replication-status",
    "query-yank",
    "x-query-irq",
    "x-query-jit",
    "x-query-numa",
    "x-query-opcount",
    "x-query-ramblock",
    "x-query-rdma",
    "x-query-roms",
    "x-query-virtio",
    // No arguments, but an error for lack of the device or feature under -machine none.
    "query-acpi-ospm-status",
    "query-balloon",
    "query-hotpluggable-cpus",
    "query-sev-capabilities",
    "query-sev-launch-measure",
    "query-sgx",
    "query-sgx-capabilities",
    "query-vm-generation-id",
    "x-query-profile",
    "x-query-usb",
    // Mandatory arguments, generated: they name objects, devices or CPU models to read.
    "qom-get",
    "qom-list",
    "qom-list-types",
    "query-cpu-model-expansion",
    "query-rocker",
    "query-rocker-of-dpa-flows",
    "query-rocker-of-dpa-groups",
    "query-rocker-ports",
    "query-stats",
    "x-query-virtio-queue-element",
    "x-query-virtio-queue-status",
    "x-query-virtio-status",
    "x-query-virtio-vhost-queue-status",
];

/// Commands never sent, not even with invalid arguments: were a defect to slip through the
/// argument check, they would end or abort the endpoint, run an arbitrary HMP line, or
/// create files, sockets, descriptors or memory backends. (`blockdev-reopen` aborts QEMU 7.2
/// outright on some arguments.)
pub const NEVER_SEND: &[&str] = &[
    "add-fd",
    "block-export-add",
    "blockdev-create",
    "blockdev-reopen",
    "chardev-add",
    "chardev-change",
    "drive-backup",
    "drive-mirror",
    "dump-guest-memory",
    "dump-skeys",
    "getfd",
    "human-monitor-command",
    "memsave",
    "migrate",
    "migrate-incoming",
    "nbd-server-start",
    "netdev_add",
    "object-add",
    "pmemsave",
    "quit",
    "screendump",
    "snapshot-load",
    "snapshot-save",
    "blockdev-snapshot-sync",
    "xen-load-devices-state",
    "xen-save-devices-state",
];

/// The queries whose answers make up the observable state (those the endpoint has): a
/// rejected command must leave every one of them unchanged.
pub const STATE_QUERIES: &[(&str, Option<&str>)] = &[
    ("query-status", None),
    ("query-block", None),
    ("query-named-block-nodes", None),
    ("query-block-jobs", None),
    ("query-jobs", None),
    ("query-block-exports", None),
    ("query-chardev", None),
    ("query-iothreads", None),
    ("query-fdsets", None),
    ("query-memdev", None),
    ("query-migrate-capabilities", None),
    ("query-migrate-parameters", None),
    ("qom-list", Some("/objects")),
];

/// Transcript entries a passing schema check keeps (the whole run is tens of thousands).
const PASSING_TRANSCRIPT: usize = 60;

/// At most this many failing commands are shrunk and named.
const MAX_FAILURES: usize = 5;

// ---- running cases ---------------------------------------------------------------------------

/// Why a command got no judgeable reply.
#[derive(Debug, Clone)]
enum CallError {
    /// The endpoint stalled or closed: a finding.
    Stall(String),
    /// No connection could be (re)made: the case cannot be judged.
    NoConnection(String),
}

/// One connection (replaced when it breaks), the events seen on all of them.
struct Live<'p, 'a> {
    p: &'p mut Probe<'a>,
    broken: bool,
    events: Vec<Event>,
    taken_on_conn: usize,
    sent: usize,
}

impl<'p, 'a> Live<'p, 'a> {
    /// Negotiate on the probe's open connection.
    fn start(p: &'p mut Probe<'a>) -> Step<Live<'p, 'a>> {
        p.negotiate()?;
        Ok(Live {
            p,
            broken: false,
            events: Vec::new(),
            taken_on_conn: 0,
            sent: 0,
        })
    }

    fn collect_events(&mut self) {
        let new: Vec<Event> = self.p.events()[self.taken_on_conn..].to_vec();
        self.taken_on_conn += new.len();
        self.events.extend(new);
    }

    /// A fresh, negotiated connection (a fresh process for `--spawn`).
    fn reconnect(&mut self) -> Result<(), CallError> {
        self.collect_events();
        self.taken_on_conn = 0;
        self.broken = true;
        let r = self
            .p
            .connect()
            .and_then(|()| self.p.negotiate().map(|_| ()));
        match r {
            Ok(()) => {
                self.broken = false;
                Ok(())
            }
            Err(o) => Err(CallError::NoConnection(o.message)),
        }
    }

    fn call(&mut self, name: &str, args: Option<&Map<String, Value>>) -> Result<Reply, CallError> {
        if self.broken {
            self.reconnect()?;
        }
        let mut cmd = Command::new(name).id(self.p.fresh_id());
        cmd.arguments = args.cloned();
        let t = self.p.t();
        self.sent += 1;
        let r = self.p.client().execute(cmd, t);
        let r = match r {
            Ok(r) => Ok(r),
            Err(s) => {
                self.broken = true;
                let why = match s {
                    Stall::Timeout(d) => format!("no reply within {} ms", d.as_millis()),
                    Stall::Closed => {
                        let diag = self.p.client().conn.diagnostics();
                        match diag.lines().find(|l| !l.trim().is_empty()) {
                            Some(l) => format!("the endpoint closed the connection (stderr: {l})"),
                            None => "the endpoint closed the connection".to_string(),
                        }
                    }
                    other => other.to_string(),
                };
                Err(CallError::Stall(why))
            }
        };
        self.collect_events();
        r
    }

    /// The answers of the state queries, as text.
    fn state(
        &mut self,
        queries: &[(String, Option<Map<String, Value>>)],
    ) -> Result<State, CallError> {
        let mut out = Vec::with_capacity(queries.len());
        for (name, args) in queries {
            let r = self.call(name, args.as_ref())?;
            let text = match r.error() {
                Some(e) => format!("error {}: {}", e.class, e.desc),
                None => r.return_value().unwrap_or(Value::Null).to_string(),
            };
            out.push((name.clone(), text));
        }
        Ok(State(out))
    }
}

/// The observable state: each state query and its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
struct State(Vec<(String, String)>);

impl State {
    /// The first difference, described.
    fn diff(&self, after: &State) -> Option<String> {
        for ((q, a), (_, b)) in self.0.iter().zip(&after.0) {
            if a != b {
                return Some(format!("{q} changed from {} to {}", short(a), short(b)));
            }
        }
        None
    }
}

/// The state queries this schema has.
fn state_queries(schema: &Schema) -> Vec<(String, Option<Map<String, Value>>)> {
    STATE_QUERIES
        .iter()
        .filter(|(n, _)| schema.command(n).is_some())
        .map(|(n, path)| {
            let args = path.map(|p| {
                let mut m = Map::new();
                m.insert("path".into(), Value::from(p));
                m
            });
            (n.to_string(), args)
        })
        .collect()
}

/// A seeded runner for the cases of `salt` (a command name): the same cases every run.
fn runner(opts: &SchemaOptions, salt: &str) -> TestRunner {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in salt.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let mut state = h ^ opts.seed;
    let mut seed = [0u8; 32];
    for chunk in seed.chunks_mut(8) {
        // splitmix64
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        chunk.copy_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    let config = Config {
        cases: opts.cases,
        failure_persistence: None,
        max_shrink_iters: 512,
        max_shrink_time: 15_000,
        verbose: 0,
        rng_algorithm: RngAlgorithm::ChaCha,
        ..Config::default()
    };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed))
}

/// Run the seeded cases of `strategy` through `test`; the first failure comes back shrunk by
/// proptest (the minimal failing value and its reason).
fn run_cases<S: Strategy>(
    opts: &SchemaOptions,
    salt: &str,
    strategy: &S,
    test: impl Fn(&S::Value) -> Result<(), String>,
) -> Result<(), (Option<S::Value>, String)> {
    match runner(opts, salt).run(strategy, |v| test(&v).map_err(TestCaseError::fail)) {
        Ok(()) => Ok(()),
        Err(TestError::Fail(reason, v)) => Err((Some(v), reason.message().to_string())),
        Err(TestError::Abort(reason)) => Err((None, reason.message().to_string())),
    }
}

/// A failing command: its minimal case and what was wrong.
struct Failure {
    command: String,
    args: Option<Map<String, Value>>,
    reason: String,
}

/// Load the endpoint's own schema; `Err` skips or fails the check.
fn fetch_schema(live: &mut Live) -> Step<Schema> {
    let r = match live.call("query-qmp-schema", None) {
        Ok(r) => r,
        Err(CallError::Stall(s)) | Err(CallError::NoConnection(s)) => {
            return Err(Outcome::fail_after(
                "reply.one-per-command",
                format!("query-qmp-schema: {s}"),
            ))
        }
    };
    if let Some(e) = r.error() {
        return Err(Outcome::skip(format!(
            "the endpoint publishes no schema (query-qmp-schema: {e})"
        )));
    }
    let v = r.return_value().unwrap_or(Value::Null);
    Schema::from_value(&v).map_err(|e| {
        Outcome::fail(
            "reply.return",
            format!("query-qmp-schema's return is not a usable schema: {e}"),
        )
    })
}

/// Open, negotiate, load the schema, run `body`, validate every event seen.
fn schema_check(
    ctx: &Ctx,
    body: impl FnOnce(&mut Live, &Schema) -> Step<(Outcome, Vec<TranscriptEntry>)>,
) -> Outcome {
    let mut replay = Vec::new();
    let mut o = with_probe(ctx, |p| {
        let mut live = Live::start(p)?;
        let schema = fetch_schema(&mut live)?;
        let (o, r) = body(&mut live, &schema)?;
        replay = r;
        live.collect_events();
        if o.status == Status::Pass || o.status == Status::Warn {
            if let Some(bad) = event_problems(&schema, &live.events).into_iter().next() {
                return Ok(Outcome::fail("event.shape", bad));
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
    queries: &[(String, Option<Map<String, Value>>)],
) -> Vec<TranscriptEntry> {
    let mut p = match Probe::open(ctx) {
        Ok(p) => p,
        Err(_) => return Vec::new(),
    };
    let _ = (|| -> Step<()> {
        let mut live = Live::start(&mut p)?;
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
    clause: &str,
    failures: &[Failure],
    queries: &[(String, Option<Map<String, Value>>)],
) -> (Outcome, Vec<TranscriptEntry>) {
    let first = &failures[0];
    let mut msg = format!("{} (minimal case, shrunk by proptest)", first.reason);
    if failures.len() > 1 {
        let others: Vec<&str> = failures[1..].iter().map(|f| f.command.as_str()).collect();
        msg.push_str(&format!("; also failing: {}", others.join(", ")));
    }
    let t = replay(ctx, &first.command, first.args.as_ref(), queries);
    (Outcome::fail(clause, msg), t)
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

/// ` at arguments.PATH`, the member QEMU's argument check names in `desc` (its full path for
/// most defects, the innermost member for enum values), or nothing.
fn defect_path(desc: &str) -> String {
    let mut parts = desc.splitn(3, '\'');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(_), Some(path), Some(_)) if !path.is_empty() => format!(" at arguments.{path}"),
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

// ---- schema.commands-agree -------------------------------------------------------------------

fn commands_agree(ctx: &Ctx) -> Outcome {
    schema_check(ctx, |live, schema| {
        let r = live.call("query-commands", None).map_err(|e| match e {
            CallError::Stall(s) | CallError::NoConnection(s) => {
                Outcome::fail_after("reply.one-per-command", format!("query-commands: {s}"))
            }
        })?;
        if let Some(e) = r.error() {
            return Ok((
                Outcome::fail("reply.return", format!("query-commands failed: {e}")),
                Vec::new(),
            ));
        }
        let v = r.return_value().unwrap_or(Value::Null);
        let issues = ret_issues(schema, "query-commands", &v);
        if let Some(i) = issues.iter().find(|i| i.severity == Severity::Error) {
            return Ok((
                Outcome::fail("reply.return", format!("query-commands: {i}")),
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
        let mut problems = Vec::new();
        if !not_listed.is_empty() {
            problems.push(format!(
                "{} command(s) of the schema missing from query-commands: {}",
                not_listed.len(),
                short(&not_listed.join(", "))
            ));
        }
        if !not_published.is_empty() {
            problems.push(format!(
                "{} command(s) of query-commands missing from the schema: {}",
                not_published.len(),
                short(&not_published.join(", "))
            ));
        }
        // Every command the schema lists exists: sent with (seeded) invalid arguments, which
        // a conforming server rejects before running anything, it must not be unknown.
        let mut unknown = Vec::new();
        let mut probed = 0usize;
        for info in schema.commands() {
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
                Err(CallError::Stall(s)) | Err(CallError::NoConnection(s)) => {
                    return Ok((
                        Outcome::fail_after(
                            "reply.one-per-command",
                            format!("{cmd} {}: {s}", args_text(&args)),
                        ),
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
        if !unknown.is_empty() {
            problems.push(format!(
                "{} command(s) of the schema are unknown to the endpoint (CommandNotFound): {}",
                unknown.len(),
                short(&unknown.join(", "))
            ));
        }
        if !problems.is_empty() {
            return Ok((
                Outcome::fail("reply.return", problems.join("; ")),
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

// ---- schema.invalid-arguments ----------------------------------------------------------------

fn invalid_args(ctx: &Ctx) -> Outcome {
    let opts = &ctx.schema;
    if opts.cases == 0 {
        return Outcome::skip("--schema-cases 0");
    }
    schema_check(ctx, |live, schema| {
        let queries = state_queries(schema);
        let live = RefCell::new(live);
        let baseline = match live.borrow_mut().state(&queries) {
            Ok(s) => s,
            Err(CallError::Stall(s)) | Err(CallError::NoConnection(s)) => {
                return Err(Outcome::fail_after(
                    "reply.one-per-command",
                    format!("querying the state: {s}"),
                ))
            }
        };
        let baseline = RefCell::new(baseline);
        let mut failures: Vec<Failure> = Vec::new();
        let mut mismatches: Vec<String> = Vec::new();
        let mut commands = 0usize;
        let cases = RefCell::new(0usize);
        let mismatch_seen = RefCell::new(Vec::<String>::new());
        for info in schema.commands() {
            let cmd = info.name.as_str();
            if NEVER_SEND.contains(&cmd) {
                continue;
            }
            if failures.len() >= MAX_FAILURES {
                break;
            }
            commands += 1;
            let strategy = invalid_arguments(schema, cmd);
            // Pass 1: every case must be rejected, with no event; the state is compared once
            // the command's cases are done.
            let r = run_cases(opts, cmd, &strategy, |(args, kind)| {
                let mut live = live.borrow_mut();
                let events_before = live.events.len();
                *cases.borrow_mut() += 1;
                let reply = match live.call(cmd, Some(args)) {
                    Ok(r) => r,
                    Err(CallError::NoConnection(_)) => return Ok(()),
                    Err(CallError::Stall(s)) => {
                        return Err(format!(
                            "{cmd} with {} ({}): {s}",
                            kind_name(*kind),
                            args_text(args)
                        ))
                    }
                };
                let expected = schema
                    .check_arguments(cmd, Some(args))
                    .err()
                    .unwrap_or_default();
                match reply.error() {
                    None => {
                        return Err(format!(
                            "{cmd} accepted arguments with {}{} ({}; QEMU says: {expected}) and returned {}",
                            kind_name(*kind),
                            defect_path(&expected),
                            args_text(args),
                            short(&reply.return_value().unwrap_or(Value::Null).to_string())
                        ))
                    }
                    Some(e) => {
                        if !kind.matches_error(&e.desc) && e.class != "CommandNotFound" {
                            let mut m = mismatch_seen.borrow_mut();
                            if m.len() < 3 {
                                m.push(format!(
                                    "{cmd} {}: {} (expected: {expected})",
                                    args_text(args),
                                    e.desc
                                ));
                            }
                        }
                    }
                }
                if live.events.len() > events_before {
                    let names: Vec<&str> = live.events[events_before..]
                        .iter()
                        .map(|e| e.name.as_str())
                        .collect();
                    return Err(format!(
                        "{cmd} rejected arguments with {} ({}), but emitted {}",
                        kind_name(*kind),
                        args_text(args),
                        names.join(", ")
                    ));
                }
                Ok(())
            });
            if let Err((v, reason)) = r {
                let (args, _) = v.unzip();
                failures.push(Failure {
                    command: cmd.to_string(),
                    args,
                    reason,
                });
                // Whatever the failure did, go on from a fresh state.
                let mut l = live.borrow_mut();
                if l.reconnect().is_ok() {
                    if let Ok(s) = l.state(&queries) {
                        *baseline.borrow_mut() = s;
                    }
                }
                continue;
            }
            let after = match live.borrow_mut().state(&queries) {
                Ok(s) => s,
                Err(_) => continue,
            };
            let changed = baseline.borrow().diff(&after);
            if let Some(change) = changed {
                // Pass 2, on a fresh connection: the state around every case, to find (and
                // shrink) the one with the side effect.
                let _ = live.borrow_mut().reconnect();
                let r = run_cases(opts, cmd, &strategy, |(args, kind)| {
                    let mut live = live.borrow_mut();
                    let Ok(before) = live.state(&queries) else {
                        return Ok(());
                    };
                    let _ = live.call(cmd, Some(args));
                    let Ok(after) = live.state(&queries) else {
                        return Ok(());
                    };
                    match before.diff(&after) {
                        Some(change) => {
                            // The next case (proptest shrinking this one) starts from a fresh
                            // state (a fresh session or process) to show its own effect.
                            live.broken = true;
                            Err(format!(
                                "{cmd} rejected arguments with {} ({}), but {change}",
                                kind_name(*kind),
                                args_text(args)
                            ))
                        }
                        None => Ok(()),
                    }
                });
                let (args, reason) = match r {
                    Err((v, reason)) => (v.map(|(a, _)| a), reason),
                    Ok(()) => (
                        None,
                        format!(
                            "after {}'s rejected cases, {change} (not reproduced case by case)",
                            cmd
                        ),
                    ),
                };
                failures.push(Failure {
                    command: cmd.to_string(),
                    args,
                    reason,
                });
                let mut l = live.borrow_mut();
                if l.reconnect().is_ok() {
                    if let Ok(s) = l.state(&queries) {
                        *baseline.borrow_mut() = s;
                    }
                }
            }
        }
        mismatches.extend(mismatch_seen.into_inner());
        let cases = cases.into_inner();
        if !failures.is_empty() {
            return Ok(failed(ctx, "compat.arg-check", &failures, &queries));
        }
        if !mismatches.is_empty() {
            return Ok((
                Outcome::warn(
                    "compat.arg-check",
                    format!(
                        "invalid arguments were rejected, but not always with the argument check's error: {}",
                        mismatches.join("; ")
                    ),
                ),
                Vec::new(),
            ));
        }
        let names: Vec<&str> = queries.iter().map(|(n, _)| n.as_str()).collect();
        let state = match names.len() {
            0..=3 => names.join(", "),
            n => format!("{} and {} more", names[..2].join(", "), n - 2),
        };
        Ok((
            Outcome::pass(format!(
                "{cases} invalid argument sets ({} per command, seed {}) over {commands} commands were rejected, with no event and no change to the state ({state})",
                opts.cases, opts.seed
            )),
            Vec::new(),
        ))
    })
}

// ---- schema.valid-arguments and schema.query-returns -----------------------------------------

/// The curated queries (and `--query-command`s) this schema has.
fn queries_of<'s>(schema: &'s Schema, opts: &SchemaOptions) -> Vec<&'s str> {
    let mut names: Vec<&str> = QUERY_COMMANDS.to_vec();
    names.extend(opts.extra_queries.iter().map(String::as_str));
    let mut seen = HashSet::new();
    names
        .into_iter()
        .filter(|n| seen.insert(*n))
        .filter_map(|n| schema.command(n).map(|c| c.name.as_str()))
        .collect()
}

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

fn ret_issues(schema: &Schema, command: &str, v: &Value) -> Vec<Issue> {
    match schema.command(command) {
        Some(c) => schema.validate(&c.ret_type, v, "return"),
        None => Vec::new(),
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
        let live = RefCell::new(live);
        let cases = RefCell::new(0usize);
        let answered = RefCell::new(0usize);
        let extras = RefCell::new(Vec::<String>::new());
        let mut failures = Vec::new();
        for &cmd in &commands {
            if failures.len() >= MAX_FAILURES {
                break;
            }
            let passed = RefCell::new(HashSet::<String>::new());
            let strategy = valid_arguments(schema, cmd);
            let r = run_cases(opts, cmd, &strategy, |args| {
                let key = Value::Object(args.clone()).to_string();
                if passed.borrow().contains(&key) {
                    return Ok(()); // already sent and judged
                }
                let mut live = live.borrow_mut();
                *cases.borrow_mut() += 1;
                let sent = (!args.is_empty()).then_some(args);
                let reply = match live.call(cmd, sent) {
                    Ok(r) => r,
                    Err(CallError::NoConnection(_)) => return Ok(()),
                    Err(CallError::Stall(s)) => {
                        return Err(format!("{cmd} {}: {s}", args_text(args)))
                    }
                };
                match (reply.error(), judge) {
                    (Some(e), QueryJudge::Arguments) if is_argument_error(&e.desc) => {
                        return Err(format!(
                            "{cmd} rejected valid arguments {} as ill-typed: {e}",
                            args_text(args)
                        ))
                    }
                    (Some(_), _) => {}
                    (None, QueryJudge::Arguments) => *answered.borrow_mut() += 1,
                    (None, QueryJudge::Returns) => {
                        *answered.borrow_mut() += 1;
                        let v = reply.return_value().unwrap_or(Value::Null);
                        let issues = ret_issues(schema, cmd, &v);
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
                        let mut x = extras.borrow_mut();
                        for i in issues.iter().filter(|i| i.severity == Severity::Extra) {
                            let line = format!("{cmd}: {i}");
                            if x.len() < 5 && !x.contains(&line) {
                                x.push(line);
                            }
                        }
                    }
                }
                passed.borrow_mut().insert(key);
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
        let (cases, answered) = (cases.into_inner(), answered.into_inner());
        let clause = match judge {
            QueryJudge::Arguments => "compat.arg-check",
            QueryJudge::Returns => "reply.return",
        };
        if !failures.is_empty() {
            return Ok(failed(ctx, clause, &failures, &[]));
        }
        let extras = extras.into_inner();
        if judge == QueryJudge::Returns && !extras.is_empty() {
            return Ok((
                Outcome::warn(
                    "compat.ignore-unknown",
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

fn valid_args(ctx: &Ctx) -> Outcome {
    run_queries(ctx, QueryJudge::Arguments)
}

fn query_returns(ctx: &Ctx) -> Outcome {
    run_queries(ctx, QueryJudge::Returns)
}

// ---- schema.event-data -----------------------------------------------------------------------

/// What is wrong with the events seen, one line each.
fn event_problems(schema: &Schema, events: &[Event]) -> Vec<String> {
    let mut out = Vec::new();
    for e in events {
        let Some(info) = schema.event(&e.name) else {
            out.push(format!("event {} is not in the schema", e.name));
            continue;
        };
        let data = e.data_value().unwrap_or_else(|| json!({}));
        let issues = schema.validate(&info.arg_type, &data, "data");
        if let Some(i) = issues.iter().find(|i| i.severity == Severity::Error) {
            out.push(format!("event {}: {i}", e.name));
        }
    }
    out
}

/// The node and job the event check creates (a `null-co` node: no file is touched).
const EVENT_NODE: &str = "qmpspec-events-null";
const EVENT_JOB: &str = "qmpspec-events-job";

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => unreachable!("object literals"),
    }
}

/// Provoke events the harmless ways the endpoint allows: `stop` then `cont` (STOP, RESUME),
/// and a `block-stream` job on a `null-co` node (JOB_STATUS_CHANGE, BLOCK_JOB_COMPLETED),
/// which is waited for and removed again. Returns what was tried.
fn provoke_events(live: &mut Live, schema: &Schema) -> Step<Vec<&'static str>> {
    let has = |c: &str| schema.command(c).is_some();
    let stall = |c: &str, e: CallError| match e {
        CallError::Stall(s) | CallError::NoConnection(s) => {
            Outcome::fail_after("reply.one-per-command", format!("{c}: {s}"))
        }
    };
    let mut tried = Vec::new();
    if has("stop") && has("cont") {
        tried.push("stop/cont");
        for c in ["stop", "cont"] {
            live.call(c, None).map_err(|e| stall(c, e))?;
        }
    }
    if ["blockdev-add", "block-stream", "blockdev-del", "query-jobs"]
        .iter()
        .all(|c| has(c))
    {
        let node = obj(json!({"driver": "null-co", "node-name": EVENT_NODE}));
        let added = live
            .call("blockdev-add", Some(&node))
            .map_err(|e| stall("blockdev-add", e))?;
        if added.error().is_none() {
            tried.push("a block-stream job on a null-co node");
            let job = obj(json!({"job-id": EVENT_JOB, "device": EVENT_NODE}));
            let started = live
                .call("block-stream", Some(&job))
                .map_err(|e| stall("block-stream", e))?;
            if started.error().is_none() {
                // The job ends at once and dismisses itself: wait until it is gone.
                let deadline = std::time::Instant::now() + live.p.t();
                while std::time::Instant::now() < deadline {
                    let r = live
                        .call("query-jobs", None)
                        .map_err(|e| stall("query-jobs", e))?;
                    let running = r.return_value().is_some_and(|v| {
                        v.as_array().is_some_and(|jobs| {
                            jobs.iter().any(|j| j.get("id") == Some(&json!(EVENT_JOB)))
                        })
                    });
                    if !running {
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
            }
            let del = obj(json!({"node-name": EVENT_NODE}));
            live.call("blockdev-del", Some(&del))
                .map_err(|e| stall("blockdev-del", e))?;
        }
    }
    Ok(tried)
}

fn event_data(ctx: &Ctx) -> Outcome {
    schema_check(ctx, |live, schema| {
        let tried = provoke_events(live, schema)?;
        live.collect_events();
        if live.events.is_empty() {
            return Ok((
                Outcome::skip(if tried.is_empty() {
                    "the endpoint has none of the commands known to provoke events, and sent none"
                        .to_string()
                } else {
                    format!("{} provoked no event", tried.join(" and "))
                }),
                Vec::new(),
            ));
        }
        if let Some(p) = event_problems(schema, &live.events).into_iter().next() {
            return Ok((Outcome::fail("event.shape", p), Vec::new()));
        }
        let n = live.events.len();
        let mut names: Vec<&str> = Vec::new();
        for e in &live.events {
            if !names.contains(&e.name.as_str()) {
                names.push(&e.name);
            }
        }
        Ok((
            Outcome::pass(format!(
                "{n} event(s), provoked by {}, validate against their arg-type: {}",
                tried.join(" and "),
                names.join(", ")
            )),
            Vec::new(),
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::{emulated_target, Fault};
    use std::time::Duration;

    fn run(id: &str, faults: &[Fault], cases: u32) -> Outcome {
        let ctx = Ctx::new(emulated_target(faults, None), Duration::from_secs(5))
            .with_schema_options(SchemaOptions {
                cases,
                ..SchemaOptions::default()
            });
        (super::super::by_id(id).unwrap().run)(&ctx)
    }

    /// Every schema check passes against the emulated monitor (the reference server).
    #[test]
    fn every_schema_check_passes_against_the_emulated_monitor() {
        for c in CHECKS {
            let o = run(c.id, &[], 8);
            assert_eq!(o.status, Status::Pass, "{}: {}", c.id, o.message);
            assert!(!o.transcript.is_empty(), "{}: no transcript", c.id);
            assert!(o.transcript.len() <= PASSING_TRANSCRIPT, "{}", c.id);
        }
    }

    fn sends(o: &Outcome) -> Vec<String> {
        o.transcript
            .iter()
            .filter(|e| e.dir == crate::endpoint::Dir::Send)
            .map(|e| String::from_utf8_lossy(&e.bytes).into_owned())
            .collect()
    }

    #[test]
    fn a_wrong_return_type_fails_query_returns_naming_clause_and_path() {
        let o = run("schema.query-returns", &[Fault::WrongReturnType], 8);
        assert_eq!(o.status, Status::Fail, "{}", o.message);
        assert!(
            o.message.starts_with("[reply.return] query-version"),
            "{}",
            o.message
        );
        assert!(
            o.message
                .contains("return.qemu.micro: expected int, got string"),
            "{}",
            o.message
        );
        // The transcript is the minimal case, replayed: negotiation and query-version.
        let sent = sends(&o).concat();
        assert!(sent.contains("\"query-version\""), "{sent}");
        assert!(sends(&o).len() <= 3, "{:?}", sends(&o));
        let got: String = o
            .transcript
            .iter()
            .map(|e| String::from_utf8_lossy(&e.bytes).into_owned())
            .collect();
        assert!(got.contains("\"micro\": \"22\""), "{got}");
    }

    #[test]
    fn no_argument_check_fails_invalid_arguments_with_a_shrunk_case() {
        let o = run("schema.invalid-arguments", &[Fault::NoArgCheck], 8);
        assert_eq!(o.status, Status::Fail, "{}", o.message);
        assert!(
            o.message.starts_with("[compat.arg-check] "),
            "{}",
            o.message
        );
        assert!(o.message.contains(" at arguments."), "{}", o.message);
        assert!(o.message.contains("shrunk by proptest"), "{}", o.message);
        // Replayed on a fresh connection: negotiation, state, the case, state again.
        let n = state_queries(Schema::qemu_7_2()).len();
        assert_eq!(sends(&o).len(), 2 + 2 * n, "{:?}", sends(&o));
        // Shrunk: the minimal case has a single one-member defect at the top.
        let case = &sends(&o)[1 + n];
        assert!(case.len() < 120, "{case}");
    }

    #[test]
    fn no_argument_check_is_not_a_valid_arguments_failure() {
        let o = run("schema.valid-arguments", &[Fault::NoArgCheck], 8);
        assert_eq!(o.status, Status::Pass, "{}", o.message);
    }

    #[test]
    fn events_without_timestamp_fail() {
        let o = run("schema.event-data", &[Fault::BadEvent], 8);
        assert_eq!(o.status, Status::Fail, "{}", o.message);
        assert!(o.message.contains("[event.shape]"), "{}", o.message);
    }

    /// The emulated monitor behind a line-by-line proxy: `handle` answers each input line
    /// (usually by feeding it to the monitor, perhaps doing something else besides).
    fn proxy_target(
        description: &str,
        handle: fn(&[u8], &mut crate::monitor::Monitor) -> Vec<u8>,
    ) -> crate::endpoint::Target {
        use crate::endpoint::Target;
        use crate::monitor::{Monitor, MonitorConfig};
        use std::io::{BufRead, BufReader, Write};
        use std::os::unix::net::UnixStream;
        use std::sync::Arc;
        Target::InProcess {
            description: description.into(),
            connect: Arc::new(move || {
                let (client, server) = UnixStream::pair()?;
                std::thread::spawn(move || {
                    let mut mon = Monitor::new(Arc::new(MonitorConfig::new(&[], None)));
                    let mut w = server.try_clone().expect("clone");
                    let mut r = BufReader::new(server);
                    let _ = w.write_all(&mon.feed(b""));
                    let mut line = Vec::new();
                    loop {
                        line.clear();
                        if r.read_until(b'\n', &mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if w.write_all(&handle(&line, &mut mon)).is_err() {
                            return;
                        }
                    }
                });
                Ok(Box::new(client) as Box<dyn crate::endpoint::Transport>)
            }),
        }
    }

    /// `cont` with arguments (always invalid: it takes none) is rejected as usual but pauses
    /// the VM first, silently: a side effect that only the state queries show.
    fn side_effect_target() -> crate::endpoint::Target {
        proxy_target(
            "emulated, with a side effect of rejected cont",
            |line, mon| {
                let text = String::from_utf8_lossy(line);
                if text.contains("\"cont\"") && text.contains("\"arguments\"") {
                    let _ = mon.feed(b"{\"execute\":\"stop\"}\n");
                }
                mon.feed(line)
            },
        )
    }

    #[test]
    fn valid_arguments_rejected_as_ill_typed_fail() {
        // qom-list refuses any path with a digit in it, with the argument check's words.
        let target = proxy_target("emulated, picky qom-list", |line, mon| {
            let v: Value = serde_json::from_slice(line).unwrap_or(Value::Null);
            let picky = v["execute"] == "qom-list"
                && v["arguments"]["path"]
                    .as_str()
                    .is_some_and(|p| p.contains(|c: char| c.is_ascii_digit()));
            if !picky {
                return mon.feed(line);
            }
            let e = json!({"id": v["id"], "error": {"class": "GenericError",
                "desc": "Invalid parameter type for 'path', expected: string"}});
            format!("{e}\r\n").into_bytes()
        });
        let ctx = Ctx::new(target, Duration::from_secs(5)).with_schema_options(SchemaOptions {
            cases: 64,
            ..SchemaOptions::default()
        });
        let o = valid_args(&ctx);
        assert_eq!(o.status, Status::Fail, "{}", o.message);
        assert!(
            o.message.starts_with(
                r#"[compat.arg-check] qom-list rejected valid arguments {"path":"a0"} as ill-typed"#
            ),
            "{}",
            o.message
        );
        assert!(sends(&o).concat().contains(r#""path":"a0""#));
    }

    #[test]
    fn commands_missing_from_query_commands_fail() {
        let target = proxy_target(
            "emulated, query-commands without query-status",
            |line, mon| {
                let out = String::from_utf8(mon.feed(line)).expect("ASCII");
                out.replace(r#", {"name": "query-status"}"#, "")
                    .into_bytes()
            },
        );
        let ctx = Ctx::new(target, Duration::from_secs(5));
        let o = commands_agree(&ctx);
        assert_eq!(o.status, Status::Fail, "{}", o.message);
        assert_eq!(
            o.message,
            "[reply.return] 1 command(s) of the schema missing from query-commands: query-status"
        );
    }

    #[test]
    fn a_side_effect_of_a_rejected_command_fails_with_the_state_change() {
        let ctx = Ctx::new(side_effect_target(), Duration::from_secs(5)).with_schema_options(
            SchemaOptions {
                cases: 8,
                ..SchemaOptions::default()
            },
        );
        let o = invalid_args(&ctx);
        assert_eq!(o.status, Status::Fail, "{}", o.message);
        assert!(
            o.message.starts_with(
                "[compat.arg-check] cont rejected arguments with an unexpected member"
            ),
            "{}",
            o.message
        );
        assert!(
            o.message.contains("query-status changed from"),
            "{}",
            o.message
        );
        // Shrunk to the simplest unexpected member, and replayed.
        assert!(o.message.contains(r#"({"a":1})"#), "{}", o.message);
        let sent: String = sends(&o).concat();
        assert!(
            sent.contains(r#""execute":"cont","arguments":{"a":1}"#),
            "{sent}"
        );
    }

    #[test]
    fn query_command_extends_the_curated_list() {
        let ctx = Ctx::new(emulated_target(&[], None), Duration::from_secs(5)).with_schema_options(
            SchemaOptions {
                cases: 4,
                extra_queries: vec![
                    "query-sev-attestation-report".into(),
                    "no-such-query".into(),
                ],
                ..SchemaOptions::default()
            },
        );
        let o = query_returns(&ctx);
        assert_eq!(o.status, Status::Pass, "{}", o.message);
        let n = queries_of(Schema::qemu_7_2(), &ctx.schema).len();
        assert_eq!(n, QUERY_COMMANDS.len() + 1);
        assert!(
            o.message.contains(&format!("over {n} commands")),
            "{}",
            o.message
        );
        assert!(
            o.message
                .contains("--query-command not in the schema: no-such-query"),
            "{}",
            o.message
        );
    }

    #[test]
    fn a_schema_command_the_endpoint_does_not_know_fails() {
        let target = proxy_target("emulated, without query-name", |line, mon| {
            let v: Value = serde_json::from_slice(line).unwrap_or(Value::Null);
            if v["execute"] != "query-name" {
                return mon.feed(line);
            }
            let e = json!({"id": v["id"], "error": {"class": "CommandNotFound",
                "desc": "The command query-name has not been found"}});
            format!("{e}\r\n").into_bytes()
        });
        let o = commands_agree(&Ctx::new(target, Duration::from_secs(5)));
        assert_eq!(o.status, Status::Fail, "{}", o.message);
        assert_eq!(
            o.message,
            "[reply.return] 1 command(s) of the schema are unknown to the endpoint (CommandNotFound): query-name"
        );
    }

    /// What the spec allows never fails a schema check: every return object and event data
    /// carrying a member the schema does not list only warns, naming the path.
    #[test]
    fn extra_members_only_warn() {
        let target = proxy_target("emulated, extra members", |line, mon| {
            let out = String::from_utf8(mon.feed(line)).expect("ASCII");
            out.replace(r#""return": {""#, r#""return": {"x-qmpspec-extra": 1, ""#)
                .replace(r#""return": {}"#, r#""return": {"x-qmpspec-extra": 1}"#)
                .replace(r#""data": {""#, r#""data": {"x-qmpspec-extra": 1, ""#)
                .into_bytes()
        });
        let ctx = Ctx::new(target, Duration::from_secs(5)).with_schema_options(SchemaOptions {
            cases: 8,
            ..SchemaOptions::default()
        });
        for c in CHECKS {
            let o = (c.run)(&ctx);
            let want = if c.id == "schema.query-returns" {
                Status::Warn
            } else {
                Status::Pass
            };
            assert_eq!(o.status, want, "{}: {}", c.id, o.message);
        }
        let o = query_returns(&ctx);
        assert!(
            o.message.starts_with("[compat.ignore-unknown] ")
                && o.message.contains("return.x-qmpspec-extra"),
            "{}",
            o.message
        );
    }

    #[test]
    fn zero_cases_skip() {
        assert_eq!(run("schema.invalid-arguments", &[], 0).status, Status::Skip);
    }

    #[test]
    fn defect_paths() {
        assert_eq!(
            defect_path("Parameter 'children[1].filename' is missing"),
            " at arguments.children[1].filename"
        );
        assert_eq!(
            defect_path("Invalid parameter type for 'x', expected: string"),
            " at arguments.x"
        );
        assert_eq!(defect_path(""), "");
    }

    #[test]
    fn argument_error_texts() {
        assert!(is_argument_error("Parameter 'a' is unexpected"));
        assert!(is_argument_error("Parameter 'b' expects int32_t"));
        assert!(is_argument_error("Parameter 'a.b' expects uint64"));
        assert!(is_argument_error(
            "Invalid parameter type for 'x', expected: string"
        ));
        assert!(!is_argument_error(
            "Parameter 'compress_level' expects a value between 0 and 9"
        ));
        assert!(!is_argument_error("Device 'x' not found"));
    }

    #[test]
    fn curated_queries_exist_in_qemu_7_2_and_take_no_dangerous_arguments() {
        let s = Schema::qemu_7_2();
        for q in QUERY_COMMANDS {
            assert!(s.command(q).is_some(), "{q} is not a QEMU 7.2 command");
            assert!(!NEVER_SEND.contains(q), "{q}");
        }
        for n in NEVER_SEND.iter().filter(|n| **n != "dump-skeys") {
            // (dump-skeys is s390x's.)
            assert!(s.command(n).is_some(), "{n} is not a QEMU 7.2 command");
        }
    }

    #[test]
    fn runners_are_deterministic() {
        let s = Schema::qemu_7_2();
        let strategy = invalid_arguments(s, "blockdev-add");
        let gen = || {
            let mut r = runner(&SchemaOptions::default(), "blockdev-add");
            (0..5)
                .map(|_| strategy.new_tree(&mut r).unwrap().current())
                .collect::<Vec<_>>()
        };
        assert_eq!(gen(), gen());
        let mut other = runner(&SchemaOptions::default(), "query-status");
        assert_ne!(gen()[0], strategy.new_tree(&mut other).unwrap().current());
    }
}
