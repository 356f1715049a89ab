//! The `qmpspec` command line (clap derive).
//!
//! Exit codes: 0 no check failed; 1 at least one check failed (against any target); 2 the
//! run could not be made (bad arguments, an unreachable target). Clap's own usage errors also
//! exit 2.

use crate::checks::{self, Progress, ProgressSink, Status, Subject};
use crate::client_check::{self, cli::CheckClientArgs};
use crate::conformance::{CheckRun, DEFAULT_TIMEOUT};
use crate::endpoint::{Target, TargetError};
use crate::live_fuzz::{self, FuzzOptions, Reproducer};
use crate::monitor::serve::{self, ServeArgs};
use crate::monitor::{emulated_target, Fault, UnknownFault};
use crate::report::{self, MatrixReport, ReportSpec, RunReport};
use crate::text::escape_controls;
use clap::{
    ArgAction, ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum,
};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::Value;
use std::io::{IsTerminal, Write};
use std::time::{Duration, SystemTime};

#[derive(Debug, Parser)]
#[command(
    name = "qmpspec",
    version,
    about = "Conformance test harness and fuzzer for the QEMU Monitor Protocol (QMP)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Run the conformance checks against a target, or against several at once (a matrix: a
    /// column per target, in the order given)
    Check(CheckArgs),
    /// Test a QMP client: run it against scenarios of the emulated monitor (the baseline
    /// always runs first: the others are judged against it)
    CheckClient(CheckClientArgs),
    /// List every check: id, clause, title
    List(ListArgs),
    /// Serve the emulated QMP monitor (a QEMU 7.2 or 10.0 look-alike, optionally faulty)
    Serve(ServeArgs),
    /// Fuzz one live endpoint; findings are minimized and saved as reproducers
    Fuzz(FuzzArgs),
    /// Run a reproducer saved by `qmpspec fuzz` against a target
    Replay(ReplayArgs),
    /// What changed between two query-qmp-schema answers (files or live endpoints); exit 0
    /// when none, 1 when they differ
    SchemaDiff(crate::schema_diff::SchemaDiffArgs),
}

/// Where the QMP servers under test are. `check` takes several in any mix (`--qemu --qemu
/// BINARY`, `--connect ... --emulated`): a matrix, a column per target in the order given;
/// `fuzz` and `replay` take one.
#[derive(Debug, Clone, Args)]
#[group(required = true, multiple = true)]
pub struct TargetArgs {
    /// Connect to a socket: unix:PATH or tcp:HOST:PORT (a fresh connection per check or case)
    #[arg(long, value_name = "unix:PATH|tcp:HOST:PORT")]
    pub connect: Vec<String>,
    /// Run a program speaking QMP on stdin/stdout (a fresh process per check or case)
    #[arg(long, value_name = "'PROGRAM ARGS...'")]
    pub spawn: Vec<String>,
    /// Run QEMU with no machine and QMP on stdio (optionally a given binary)
    #[arg(long, value_name = "BINARY", num_args = 0..=1, default_missing_value = "qemu-system-x86_64")]
    pub qemu: Vec<String>,
    /// Use the built-in emulated monitor (--fault applies to each)
    #[arg(long, num_args = 0, default_missing_value = "", action = ArgAction::Append)]
    pub emulated: Vec<String>,
    /// The target flags in the order the command line gave them ([`target_order`]); empty:
    /// connect, spawn, qemu, emulated.
    #[arg(skip)]
    pub order: Vec<&'static str>,
}

/// The kinds of target, as their flags name them.
const TARGET_FLAGS: [&str; 4] = ["connect", "spawn", "qemu", "emulated"];

/// Which target flags the command line gave, in the order given (`m`: the matches of the
/// subcommand that takes [`TargetArgs`]).
pub fn target_order(m: &ArgMatches) -> Vec<&'static str> {
    let mut given: Vec<(usize, &'static str)> = TARGET_FLAGS
        .iter()
        .flat_map(|&flag| {
            m.indices_of(flag)
                .into_iter()
                .flatten()
                .map(move |i| (i, flag))
        })
        .collect();
    given.sort_unstable();
    given.into_iter().map(|(_, flag)| flag).collect()
}

/// Which checks (or `check-client` scenarios) run, and which reports are written: the same
/// for `check` and `check-client`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Run only the checks (scenarios) matching PATTERN: a glob like 'robustness.*' or an id
    /// prefix (repeatable)
    #[arg(long, value_name = "PATTERN")]
    pub only: Vec<String>,
    /// Skip the checks (scenarios) matching PATTERN (repeatable)
    #[arg(long, value_name = "PATTERN")]
    pub skip: Vec<String>,
    /// Write a report: FORMAT=PATH with FORMAT text, json, junit, markdown or html (repeatable)
    #[arg(long, value_name = "FORMAT=PATH")]
    pub report: Vec<ReportSpec>,
}

#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub targets: TargetArgs,
    /// Fault to inject into the emulated monitor (repeatable)
    #[arg(long, value_name = "NAME")]
    pub fault: Vec<String>,
    #[command(flatten)]
    pub run: RunArgs,
    /// Budget of every single wait, in milliseconds (large inputs get more)
    #[arg(long, value_name = "MS", default_value_t = DEFAULT_TIMEOUT.as_millis() as u64, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,
    /// How many checks run at once, each on its own connection or process [default: 8, or 1
    /// for --connect, as a QEMU socket serves one client at a time; several targets share 8,
    /// a socket still one]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=64))]
    pub jobs: Option<u64>,
    /// Generated argument sets per command in the schema.* checks
    #[arg(long, value_name = "N", default_value_t = checks::schema::DEFAULT_CASES)]
    pub schema_cases: u32,
    /// Also treat NAME as a side-effect-free query command in the schema.* checks: it is run
    /// with generated valid arguments and its return validated (repeatable)
    #[arg(long, value_name = "NAME")]
    pub query_command: Vec<String>,
    /// Seed of the schema.* checks' case generators (the same seed gives the same cases)
    #[arg(long, value_name = "N", default_value_t = checks::schema::DEFAULT_SEED)]
    pub schema_seed: u64,
}

#[derive(Debug, Clone, Args)]
pub struct FuzzArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Fault to inject into the emulated monitor (repeatable)
    #[arg(long, value_name = "NAME")]
    pub fault: Vec<String>,
    /// How long to fuzz, in seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub time: u64,
    /// Seed of the generator (the same seed sends the same inputs) [default: from the clock,
    /// printed]
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Directory for reproducers of what is found
    #[arg(long, value_name = "DIR", default_value = "qmpspec-findings")]
    pub out: std::path::PathBuf,
    /// Base reply budget in milliseconds (grows with the input size)
    #[arg(long, value_name = "MS", default_value_t = 2000, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,
    /// Workers fuzzing at once, each with its own connections or processes and its own seed
    /// (worker 0 uses --seed; the run prints the others); findings are saved once
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub jobs: u64,
}

#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    /// A reproducer file written by `qmpspec fuzz --out DIR`
    #[arg(value_name = "TRANSCRIPT")]
    pub transcript: std::path::PathBuf,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Fault to inject into the emulated monitor (repeatable)
    #[arg(long, value_name = "NAME")]
    pub fault: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Text,
    Markdown,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    /// Output format (markdown: the table for the README)
    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    pub format: ListFormat,
}

/// Run the command line; returns the process exit code.
pub fn main() -> i32 {
    run(std::env::args_os())
}

/// Run with explicit arguments (the first is the program name).
pub fn run<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match parse(args) {
        Ok(c) => c,
        // Every usage error exits 2, on one line; help and version exit 0, and no command at
        // all shows the help (exit 2).
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            return 2;
        }
        Err(e) if e.use_stderr() => return fatal(usage_line(&e)),
        Err(e) => {
            let _ = e.print();
            return 0;
        }
    };
    match cli.command {
        Cmd::Check(a) => check(&a),
        Cmd::CheckClient(a) => client_check::cli::run_cli(&a),
        Cmd::List(a) => {
            print!("{}", list(a.format));
            0
        }
        Cmd::Serve(a) => match serve::run(a) {
            Ok(()) => 0,
            Err(e) => fatal(e),
        },
        Cmd::Fuzz(a) => fuzz(&a),
        Cmd::Replay(a) => replay(&a),
        Cmd::SchemaDiff(a) => crate::schema_diff::run(&a),
    }
}

/// Parse a command line (the first argument is the program name), with the order of its
/// target flags.
pub fn parse<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let matches = Cli::command().try_get_matches_from(args)?;
    let mut cli = Cli::from_arg_matches(&matches)?;
    let given = match &mut cli.command {
        Cmd::Check(a) => Some(&mut a.targets),
        Cmd::Fuzz(a) => Some(&mut a.target),
        Cmd::Replay(a) => Some(&mut a.target),
        _ => None,
    };
    if let (Some(t), Some((_, m))) = (given, matches.subcommand()) {
        t.order = target_order(m);
    }
    Ok(cli)
}

/// A usage error of clap's on one line: what it says before its usage and hints (tips left
/// out), then where to read more.
fn usage_line(e: &clap::Error) -> String {
    let text = e.to_string();
    let said: Vec<&str> = text
        .lines()
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("tip:"))
        .collect();
    let said = said.join(" ");
    format!(
        "{} (see --help)",
        said.strip_prefix("error: ").unwrap_or(&said)
    )
}

/// The check list in `format`.
pub fn list(format: ListFormat) -> String {
    let checks: Vec<Subject> = checks::all().iter().map(|c| c.subject()).collect();
    list_of(&checks, format, "| check | clause | what it checks |")
}

/// A list of checks or scenarios (id, clause, title) in `format`; `header` is the Markdown
/// table's first row.
pub(crate) fn list_of(items: &[Subject], format: ListFormat, header: &str) -> String {
    match format {
        ListFormat::Text => {
            let w = items.iter().map(|c| c.id.len()).max().unwrap_or(0);
            let cw = items.iter().map(|c| c.clause.id().len()).max().unwrap_or(0);
            items
                .iter()
                .map(|c| format!("{:w$}  {:cw$}  {}\n", c.id, c.clause, c.title))
                .collect()
        }
        ListFormat::Markdown => {
            let mut s = format!("{header}\n|---|---|---|\n");
            for c in items {
                s.push_str(&format!(
                    "| `{}` | `{}` | {} |\n",
                    c.id,
                    c.clause,
                    c.title.replace('\\', "\\\\").replace('|', "\\|")
                ));
            }
            s
        }
        ListFormat::Json => {
            let v: Vec<Value> = items
                .iter()
                .map(|c| serde_json::json!({"id": c.id, "clause": c.clause.id(), "title": c.title}))
                .collect();
            let mut s = serde_json::to_string_pretty(&v).expect("serializes");
            s.push('\n');
            s
        }
    }
}

/// One line on stderr, for a run that cannot be made (what it quotes of an endpoint, a
/// program's stderr say, with its control characters escaped).
pub(crate) fn fatal(msg: impl std::fmt::Display) -> i32 {
    eprintln!("qmpspec: {}", escape_controls(&msg.to_string(), &[]));
    2
}

/// Target arguments that name no target (or several where one is wanted).
#[derive(Debug, thiserror::Error)]
pub enum TargetArgError {
    #[error("--connect: {0}")]
    Connect(TargetError),
    #[error("--spawn: {0}")]
    Spawn(TargetError),
    #[error("--fault: {0}")]
    Fault(#[from] UnknownFault),
    #[error("--fault only applies to --emulated")]
    FaultNeedsEmulated,
    #[error("no target: use --connect, --spawn, --qemu or --emulated")]
    NoTarget,
    #[error("{0} targets given, this command takes one (only check takes several: a matrix)")]
    Several(usize),
}

impl TargetArgs {
    /// Build the targets the arguments name, in the order of [`TargetArgs::order`] (when it
    /// is empty: connect, spawn, qemu, emulated); `faults` go to every `--emulated`.
    pub fn targets(&self, faults: &[String]) -> Result<Vec<Target>, TargetArgError> {
        if !faults.is_empty() && self.emulated.is_empty() {
            return Err(TargetArgError::FaultNeedsEmulated);
        }
        let faults = faults
            .iter()
            .map(|f| f.parse::<Fault>())
            .collect::<Result<Vec<Fault>, UnknownFault>>()?;
        let grouped: Vec<&str> = TARGET_FLAGS
            .iter()
            .zip([&self.connect, &self.spawn, &self.qemu, &self.emulated])
            .flat_map(|(&flag, given)| std::iter::repeat_n(flag, given.len()))
            .collect();
        let order = if self.order.is_empty() {
            &grouped
        } else {
            &self.order
        };
        let (mut connect, mut spawn, mut qemu) =
            (self.connect.iter(), self.spawn.iter(), self.qemu.iter());
        let mut targets = Vec::with_capacity(order.len());
        for flag in order {
            let target = match *flag {
                "connect" => connect
                    .next()
                    .map(|c| Target::parse_connect(c).map_err(TargetArgError::Connect)),
                "spawn" => spawn
                    .next()
                    .map(|s| Target::parse_spawn(s).map_err(TargetArgError::Spawn)),
                "qemu" => qemu.next().map(|q| Ok(Target::qemu(Some(q)))),
                _ => Some(Ok(emulated_target(&faults, None))),
            };
            targets.extend(target.transpose()?);
        }
        if targets.is_empty() {
            return Err(TargetArgError::NoTarget);
        }
        Ok(targets)
    }

    /// The one target the arguments name (`fuzz`, `replay`).
    pub fn target(&self, faults: &[String]) -> Result<Target, TargetArgError> {
        let mut targets = self.targets(faults)?;
        match targets.len() {
            1 => Ok(targets.remove(0)),
            n => Err(TargetArgError::Several(n)),
        }
    }
}

/// A progress bar on stderr when it is a terminal, hidden otherwise: `len` steps, or a
/// spinner without.
fn progress_bar(len: Option<u64>) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let (bar, template) = match len {
        Some(n) => (ProgressBar::new(n), "[{bar:30}] {pos}/{len} {wide_msg}"),
        None => (ProgressBar::new_spinner(), "{spinner} {elapsed} {wide_msg}"),
    };
    bar.set_draw_target(ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// A progress bar of `total` checks or scenarios (hidden when stderr is no terminal), and the
/// sink a run reports to it through.
pub(crate) fn progress_of(total: usize) -> (ProgressBar, ProgressSink) {
    let bar = progress_bar(Some(total as u64));
    let shown = bar.clone();
    let sink = ProgressSink::new(move |p: Progress| match p {
        Progress::Finished(r) => {
            shown.inc(1);
            shown.set_message(format!("{} {}", r.outcome.status, r.check.id));
        }
        Progress::Working { check, done, total } => {
            shown.set_message(format!("{check}: {done}/{total}"));
        }
    });
    (bar, sink)
}

/// Print a run on the console (the text report, coloured on a terminal), write the reports
/// asked for, and give the exit code: 1 when a check (or scenario) failed, 2 when every one
/// hit an error.
pub(crate) fn conclude(run: &RunReport, reports: &[ReportSpec]) -> i32 {
    print!("{}", report::text::render_painted(run, console_color()));
    let _ = std::io::stdout().flush();
    for spec in reports {
        if let Err(e) = report::write(run, spec) {
            return fatal(e);
        }
    }
    if every_one_errs(run) {
        fatal(format!(
            "every {} hit an error; the run could not be made",
            run.noun()
        ))
    } else {
        i32::from(run.count(Status::Fail) > 0)
    }
}

/// [`conclude`] for a matrix: 2 when every check against one target hit an error (naming
/// it), 1 when a check failed against any target, 0 otherwise.
pub(crate) fn conclude_matrix(m: &MatrixReport, reports: &[ReportSpec]) -> i32 {
    print!(
        "{}",
        report::text::render_matrix_painted(m, console_color())
    );
    let _ = std::io::stdout().flush();
    for spec in reports {
        if let Err(e) = report::write_matrix(m, spec) {
            return fatal(e);
        }
    }
    let columns = m.columns();
    if let Some((run, column)) = m.runs.iter().zip(&columns).find(|(r, _)| every_one_errs(r)) {
        fatal(format!(
            "{column} ({}): every {} hit an error; the run could not be made",
            run.target,
            run.noun()
        ))
    } else {
        i32::from(m.count(Status::Fail) > 0)
    }
}

/// A finding as the console shows it: what it quotes of the endpoint cannot drive the
/// terminal.
fn shown(f: &live_fuzz::Finding) -> String {
    escape_controls(&f.to_string(), &[])
}

/// Colour on a terminal, unless NO_COLOR says otherwise.
fn console_color() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// Every check (or scenario) of the run hit an error: the run could not be made.
fn every_one_errs(run: &RunReport) -> bool {
    let errors = run.count(Status::Error);
    errors > 0 && errors == run.results.len()
}

fn check(a: &CheckArgs) -> i32 {
    let targets = match a.targets.targets(&a.fault) {
        Ok(t) => t,
        Err(e) => return fatal(e),
    };
    let mut run = CheckRun::new()
        .only(&a.run.only)
        .skip(&a.run.skip)
        .timeout(Duration::from_millis(a.timeout))
        .schema(checks::schema::SchemaOptions {
            cases: a.schema_cases,
            extra_queries: a.query_command.clone(),
            seed: a.schema_seed,
        });
    if let Some(j) = a.jobs {
        run = run.jobs(j as usize);
    }
    let total = match run.checks() {
        Ok(c) => c.len() * targets.len(),
        Err(e) => return fatal(e),
    };
    let (bar, sink) = progress_of(total);
    let run = run.progress(sink);
    if let [target] = &targets[..] {
        let report = run.run(target);
        bar.finish_and_clear();
        match report {
            Ok(r) => conclude(&r, &a.run.report),
            Err(e) => fatal(e),
        }
    } else {
        let matrix = run.run_matrix(&targets);
        bar.finish_and_clear();
        match matrix {
            Ok(m) => conclude_matrix(&m, &a.run.report),
            Err(e) => fatal(e),
        }
    }
}

/// `qmpspec fuzz`: exit 0 when nothing was found, 1 when something was, 2 when the run
/// could not be made.
fn fuzz(a: &FuzzArgs) -> i32 {
    let target = match a.target.target(&a.fault) {
        Ok(t) => t,
        Err(e) => return fatal(e),
    };
    let seed = a.seed.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    });
    let opts = FuzzOptions {
        time: Duration::from_secs(a.time),
        seed,
        jobs: a.jobs as usize,
        out: Some(a.out.clone()),
        timeout: Duration::from_millis(a.timeout),
        max_cases: None,
    };
    let fuzzing = match live_fuzz::start(&target, &opts) {
        Ok(f) => f,
        Err(e) => return fatal(e),
    };
    if a.jobs == 1 {
        eprintln!(
            "qmpspec fuzz: {} for {} s, seed {seed} (replay the same inputs with --seed {seed})",
            target.description(),
            a.time
        );
    } else {
        let seeds: Vec<String> = (0..opts.jobs)
            .map(|k| live_fuzz::worker_seed(seed, k).to_string())
            .collect();
        eprintln!(
            "qmpspec fuzz: {} for {} s, {} workers, seed {seed}; worker seeds {} (--jobs 1 --seed S sends what one worker sent)",
            target.description(),
            a.time,
            a.jobs,
            seeds.join(", ")
        );
    }
    let bar = progress_bar(None);
    let summary = fuzzing.run(|p| {
        let line = format!(
            "{} execs ({:.1}/s{}), {} findings, commands {}/{}, inputs: {}; replies: {}",
            p.execs,
            p.rate(),
            if p.workers > 1 {
                format!(", {} workers", p.workers)
            } else {
                String::new()
            },
            p.findings,
            p.commands_covered,
            p.commands_total,
            p.input_kinds
                .iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect::<Vec<_>>()
                .join(", "),
            p.message_kinds
                .iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect::<Vec<_>>()
                .join(", "),
        );
        bar.set_message(line);
    });
    bar.finish_and_clear();
    let summary = match summary {
        Ok(s) => s,
        Err(e) => return fatal(e),
    };
    let p = &summary.progress;
    println!(
        "{} cases in {:.1} s ({:.1}/s, {} worker{}) against {}: {} findings",
        p.execs,
        p.elapsed.as_secs_f64(),
        p.rate(),
        p.workers,
        if p.workers == 1 { "" } else { "s" },
        target.description(),
        summary.findings.len()
    );
    for (kind, n) in summary.by_kind() {
        println!("  {kind}: {n}");
    }
    for f in &summary.findings {
        let r = &f.reproducer;
        let size: usize = r.inputs.iter().map(|i| i.bytes().len()).sum();
        let per_worker = if f.hits_by_worker.len() > 1 {
            let each: Vec<String> = f.hits_by_worker.iter().map(u64::to_string).collect();
            format!(
                ", per worker {}; found by worker {}, seed {}",
                each.join("/"),
                f.worker,
                r.seed
            )
        } else {
            String::new()
        };
        println!(
            "- {} ({} hits{per_worker}; minimized from {} inputs / {} bytes to {} / {}){}",
            shown(&r.finding),
            f.hits,
            f.original_inputs,
            f.original_bytes,
            r.inputs.len(),
            size,
            f.file
                .as_ref()
                .map(|p| format!(" -> {}", p.display()))
                .unwrap_or_default()
        );
    }
    i32::from(!summary.findings.is_empty())
}

/// `qmpspec replay`: exit 1 when the reproducer still shows its finding, 0 when it does not.
fn replay(a: &ReplayArgs) -> i32 {
    let r = match Reproducer::load(&a.transcript) {
        Ok(r) => r,
        Err(e) => return fatal(e),
    };
    let target = match a.target.target(&a.fault) {
        Ok(t) => t,
        Err(e) => return fatal(e),
    };
    let (run, same) = match live_fuzz::replay(&target, &r) {
        Ok(x) => x,
        Err(e) => return fatal(format!("cannot reach the target: {e}")),
    };
    print!("{}", report::transcript_lines(&run.transcript.coalesced()));
    match (&run.finding, same) {
        (Some(f), true) => {
            println!("reproduced: {}", shown(f));
            1
        }
        (Some(f), false) => {
            println!(
                "not reproduced (saw a different finding: {}; saved: {})",
                shown(f),
                shown(&r.finding)
            );
            1
        }
        (None, _) => {
            println!(
                "not reproduced: the endpoint behaved (saved finding: {})",
                shown(&r.finding)
            );
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_errors_exit_2_and_help_exits_0() {
        assert_eq!(run(["qmpspec", "check"]), 2);
        assert_eq!(run(["qmpspec", "check", "--emulated=x"]), 2);
        assert_eq!(run(["qmpspec", "fuzz", "--qemu", "--emulated"]), 2);
        assert_eq!(run(["qmpspec", "check", "--qemu", "--timeout", "x"]), 2);
        assert_eq!(run(["qmpspec", "check", "--qemu", "--report", "pdf=x"]), 2);
        assert_eq!(run(["qmpspec", "frobnicate"]), 2);
        assert_eq!(run(["qmpspec", "--help"]), 0);
    }

    #[test]
    fn usage_errors_are_one_line() {
        for (args, said) in [
            (
                &["qmpspec", "check", "--frob"][..],
                "unexpected argument '--frob' found (see --help)",
            ),
            (
                &["qmpspec", "fuzz"],
                "the following required arguments were not provided: <--connect",
            ),
            (
                &["qmpspec", "fuzz", "--emulated", "--time", "soon"],
                "invalid value 'soon' for '--time <SECONDS>'",
            ),
        ] {
            let e = parse(args).unwrap_err();
            let line = usage_line(&e);
            assert!(line.starts_with(said), "{line}");
            assert!(!line.contains('\n') && !line.contains("Usage:"), "{line}");
        }
    }

    #[test]
    fn targets_come_in_the_order_given() {
        let parsed = |args: &[&str]| {
            let Cmd::Check(a) = parse(args).unwrap().command else {
                panic!("a check")
            };
            let targets = a.targets.targets(&a.fault).unwrap();
            targets.iter().map(Target::description).collect::<Vec<_>>()
        };
        let q = "-machine none -nodefaults -display none -qmp stdio";
        assert_eq!(
            parsed(&[
                "qmpspec",
                "check",
                "--emulated",
                "--qemu",
                "--connect",
                "unix:a",
                "--qemu",
                "bin",
                "--only",
                "x",
                "--spawn",
                "s 1",
                "--emulated",
                "--fault",
                "drop-id",
            ]),
            [
                "emulated (faults: drop-id)".to_string(),
                format!("spawn:qemu-system-x86_64 {q}"),
                "unix:a".into(),
                format!("spawn:bin {q}"),
                "spawn:s 1".into(),
                "emulated (faults: drop-id)".into(),
            ]
        );
        // Built by hand, without the command line's order: grouped by kind.
        let a = TargetArgs {
            connect: vec!["tcp:h:1".into()],
            spawn: vec![],
            qemu: vec!["q".into()],
            emulated: vec![String::new()],
            order: vec![],
        };
        let described: Vec<String> = a
            .targets(&[])
            .unwrap()
            .iter()
            .map(Target::description)
            .collect();
        assert_eq!(described, ["tcp:h:1", &format!("spawn:q {q}"), "emulated"]);
    }

    /// A matrix exits 2 when every check against one target hit an error (that target's
    /// run could not be made), even if another target failed a check; else 1 on a failure.
    #[test]
    fn a_matrix_with_a_column_of_errors_exits_2() {
        use crate::checks::{CheckResult, Outcome};
        let run = |statuses: &[Status]| RunReport {
            tool_version: "0".into(),
            judged: crate::spec::Party::Server,
            target: "t".into(),
            greeting: None,
            started: SystemTime::UNIX_EPOCH,
            duration: Duration::ZERO,
            results: statuses
                .iter()
                .zip(checks::all())
                .map(|(s, c)| CheckResult {
                    check: c.subject(),
                    outcome: match s {
                        Status::Fail => Outcome::broken(c.clause, "broken"),
                        Status::Error => Outcome::error("cannot run"),
                        _ => Outcome::pass("fine"),
                    },
                    duration: Duration::ZERO,
                })
                .collect(),
        };
        let matrix = |runs| MatrixReport {
            tool_version: "0".into(),
            started: SystemTime::UNIX_EPOCH,
            duration: Duration::ZERO,
            runs,
        };
        use Status::*;
        let m = matrix(vec![run(&[Fail, Pass]), run(&[Error, Error])]);
        assert_eq!(conclude_matrix(&m, &[]), 2);
        let m = matrix(vec![run(&[Fail, Pass]), run(&[Error, Pass])]);
        assert_eq!(conclude_matrix(&m, &[]), 1);
        let m = matrix(vec![run(&[Pass, Pass]), run(&[Error, Pass])]);
        assert_eq!(conclude_matrix(&m, &[]), 0);
    }

    #[test]
    fn fuzz_and_replay_take_one_target() {
        for args in [
            &["qmpspec", "fuzz", "--qemu", "--qemu", "q"][..],
            &[
                "qmpspec",
                "replay",
                "r.json",
                "--emulated",
                "--connect",
                "unix:a",
            ],
        ] {
            let (Cmd::Fuzz(FuzzArgs { target, .. }) | Cmd::Replay(ReplayArgs { target, .. })) =
                parse(args).unwrap().command
            else {
                panic!("fuzz or replay")
            };
            assert!(matches!(
                target.target(&[]),
                Err(TargetArgError::Several(2))
            ));
        }
        assert_eq!(run(["qmpspec", "fuzz", "--emulated", "--emulated"]), 2);
    }

    #[test]
    fn fault_needs_emulated() {
        assert_eq!(run(["qmpspec", "check", "--qemu", "--fault", "drop-id"]), 2);
    }

    #[test]
    fn unreachable_targets_exit_2() {
        assert_eq!(
            run([
                "qmpspec",
                "check",
                "--connect",
                "unix:/nonexistent/qmp.sock"
            ]),
            2
        );
        assert_eq!(
            run(["qmpspec", "check", "--spawn", "qmpspec-no-such-program"]),
            2
        );
        assert_eq!(run(["qmpspec", "check", "--connect", "bogus"]), 2);
        assert_eq!(run(["qmpspec", "check", "--qemu", "--only", "nosuch.*"]), 2);
    }

    #[test]
    fn list_formats() {
        let md = list(ListFormat::Markdown);
        assert!(md.starts_with("| check | clause | what it checks |"));
        assert_eq!(md.lines().count(), checks::all().len() + 2);
        let t = list(ListFormat::Text);
        assert!(t.contains("robustness.split-frame"));
        let j: Value = serde_json::from_str(&list(ListFormat::Json)).unwrap();
        assert_eq!(j.as_array().unwrap().len(), checks::all().len());
    }
}
