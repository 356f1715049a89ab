//! The `qmpspec` command line (clap derive).
//!
//! Exit codes: 0 no check failed; 1 at least one check failed; 2 the run could not be made
//! (bad arguments, unreachable target). Clap's own usage errors also exit 2.

use crate::checks::{self, CheckResult, Ctx, Pattern, Status};
use crate::endpoint::{Client, Target};
use crate::live_fuzz::{self, FuzzOptions, Reproducer};
use crate::monitor::serve::{self, ServeArgs};
use crate::monitor::{emulated_target, Fault};
use crate::report::{self, ReportSpec, RunReport};
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::Value;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant, SystemTime};

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
    /// Run the conformance checks against a target
    Check(CheckArgs),
    /// List every check: id, clause, title
    List(ListArgs),
    /// Serve the emulated QMP monitor (a QEMU 7.2 look-alike, optionally faulty)
    Serve(ServeArgs),
    /// Fuzz a live endpoint; findings are minimized and saved as reproducers
    Fuzz(FuzzArgs),
    /// Run a reproducer saved by `qmpspec fuzz` against a target
    Replay(ReplayArgs),
}

/// Where the QMP server under test is (exactly one).
#[derive(Debug, Clone, Args)]
#[group(required = true, multiple = false)]
pub struct TargetArgs {
    /// Connect to a socket: unix:PATH or tcp:HOST:PORT (a fresh connection per check)
    #[arg(long, value_name = "unix:PATH|tcp:HOST:PORT")]
    pub connect: Option<String>,
    /// Run a program speaking QMP on stdin/stdout (a fresh process per check)
    #[arg(long, value_name = "'PROGRAM ARGS...'")]
    pub spawn: Option<String>,
    /// Run QEMU with no machine and QMP on stdio (optionally a given binary)
    #[arg(long, value_name = "BINARY", num_args = 0..=1, default_missing_value = "qemu-system-x86_64")]
    pub qemu: Option<String>,
    /// Use the built-in emulated monitor
    #[arg(long)]
    pub emulated: bool,
}

#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Fault to inject into the emulated monitor (repeatable)
    #[arg(long, value_name = "NAME")]
    pub fault: Vec<String>,
    /// Run only checks matching PATTERN (a glob like 'robustness.*' or an id prefix; repeatable)
    #[arg(long, value_name = "PATTERN")]
    pub only: Vec<String>,
    /// Skip checks matching PATTERN (repeatable)
    #[arg(long, value_name = "PATTERN")]
    pub skip: Vec<String>,
    /// Budget of every single wait, in milliseconds (large inputs get more)
    #[arg(long, value_name = "MS", default_value_t = 2000, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,
    /// Write a report: FORMAT=PATH with FORMAT json, junit, markdown or html (repeatable)
    #[arg(long, value_name = "FORMAT=PATH")]
    pub report: Vec<ReportSpec>,
    /// How many checks run at once, each on its own connection or process [default: 8, or 1
    /// for --connect, as a QEMU socket serves one client at a time]
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
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            // Help and version exit 0; every usage error exits 2.
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    match cli.command {
        Cmd::Check(a) => check(&a),
        Cmd::List(a) => {
            print!("{}", list(a.format));
            0
        }
        Cmd::Serve(a) => serve::run(a),
        Cmd::Fuzz(a) => fuzz(&a),
        Cmd::Replay(a) => replay(&a),
    }
}

/// The check list in `format`.
pub fn list(format: ListFormat) -> String {
    let all = checks::all();
    match format {
        ListFormat::Text => {
            let w = all.iter().map(|c| c.id.len()).max().unwrap_or(0);
            let cw = all.iter().map(|c| c.clause.len()).max().unwrap_or(0);
            all.iter()
                .map(|c| format!("{:w$}  {:cw$}  {}\n", c.id, c.clause, c.title))
                .collect()
        }
        ListFormat::Markdown => {
            let mut s = String::from("| check | clause | what it checks |\n|---|---|---|\n");
            for c in all {
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
            let v: Vec<Value> = all
                .iter()
                .map(|c| serde_json::json!({"id": c.id, "clause": c.clause, "title": c.title}))
                .collect();
            let mut s = serde_json::to_string_pretty(&v).expect("serializes");
            s.push('\n');
            s
        }
    }
}

/// One line on stderr, for a run that cannot be made.
fn fatal(msg: impl std::fmt::Display) -> i32 {
    eprintln!("qmpspec: {msg}");
    2
}

/// Build the target the arguments name.
pub fn target_of(t: &TargetArgs, faults: &[String]) -> Result<Target, String> {
    if let Some(c) = &t.connect {
        return Target::parse_connect(c).map_err(|e| format!("--connect: {e}"));
    }
    if let Some(s) = &t.spawn {
        return Target::parse_spawn(s).map_err(|e| format!("--spawn: {e}"));
    }
    if let Some(q) = &t.qemu {
        return Ok(Target::qemu(Some(q)));
    }
    if t.emulated {
        return emulated(faults);
    }
    Err("no target: use --connect, --spawn, --qemu or --emulated".into())
}

fn emulated(faults: &[String]) -> Result<Target, String> {
    let faults = faults
        .iter()
        .map(|f| f.parse::<Fault>().map_err(|e| format!("--fault: {e}")))
        .collect::<Result<Vec<Fault>, String>>()?;
    Ok(emulated_target(&faults, None))
}

/// Connect once before the run: an unreachable target is exit code 2, and the greeting (if
/// any) goes into the reports.
fn preflight(target: &Target, timeout: Duration) -> Result<Option<Value>, String> {
    let mut c = Client::connect(target).map_err(|e| format!("cannot reach the target: {e}"))?;
    let _ = c.wait_until(timeout, |c| {
        c.conn
            .transcript()
            .entries
            .iter()
            .any(|e| e.bytes.contains(&b'\n'))
    });
    let mut bytes = Vec::new();
    for e in &c.conn.transcript().entries {
        bytes.extend_from_slice(&e.bytes);
    }
    let mut f = crate::wire::Framer::default();
    f.push(&bytes);
    let greeting = match f.next_frame() {
        Some(Ok(fr)) => crate::wire::parse_value(fr.text, false)
            .ok()
            .filter(|v| v.get("QMP").is_some()),
        _ => None,
    };
    Ok(greeting)
}

struct Painter {
    color: bool,
}

impl Painter {
    fn status(&self, s: Status) -> String {
        let label = format!("{:5}", s.as_str().to_uppercase());
        if !self.color {
            return label;
        }
        let code = match s {
            Status::Pass => "32",
            Status::Fail => "1;31",
            Status::Warn => "33",
            Status::Skip => "2",
            Status::Error => "35",
        };
        format!("\x1b[{code}m{label}\x1b[0m")
    }
}

fn check(a: &CheckArgs) -> i32 {
    if !a.fault.is_empty() && !a.target.emulated {
        return fatal("--fault only applies to --emulated");
    }
    let target = match target_of(&a.target, &a.fault) {
        Ok(t) => t,
        Err(e) => return fatal(e),
    };
    let only: Vec<Pattern> = a.only.iter().map(|p| Pattern::new(p)).collect();
    let skip: Vec<Pattern> = a.skip.iter().map(|p| Pattern::new(p)).collect();
    let selected = match checks::select(checks::all(), &only, &skip) {
        Ok(s) => s,
        Err(e) => return fatal(e),
    };
    let timeout = Duration::from_millis(a.timeout);
    let started = SystemTime::now();
    let t0 = Instant::now();
    let greeting = match preflight(&target, timeout) {
        Ok(g) => g,
        Err(e) => return fatal(e),
    };
    let ctx =
        Ctx::new(target.clone(), timeout).with_schema_options(checks::schema::SchemaOptions {
            cases: a.schema_cases,
            extra_queries: a.query_command.clone(),
            seed: a.schema_seed,
        });
    let tty_err = std::io::stderr().is_terminal();
    let tty_out = std::io::stdout().is_terminal();
    let color = tty_out && std::env::var_os("NO_COLOR").is_none();
    let paint = Painter { color };
    let total = selected.len();
    let mut done = 0usize;
    let jobs = a.jobs.unwrap_or(match target {
        Target::Unix(_) | Target::Tcp(_) => 1,
        _ => 8,
    }) as usize;
    let results = checks::run(&ctx, &selected, jobs, |r: &CheckResult| {
        done += 1;
        if tty_err {
            let mut e = std::io::stderr();
            let _ = write!(
                e,
                "\r\x1b[2K[{done}/{total}] {} {}",
                r.outcome.status, r.check.id
            );
            let _ = e.flush();
        }
    });
    if tty_err {
        eprint!("\r\x1b[2K");
    }
    let run = RunReport {
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        target: target.description(),
        greeting,
        started,
        duration: t0.elapsed(),
        results,
    };
    let mut out = String::new();
    let w = run
        .results
        .iter()
        .map(|r| r.check.id.len())
        .max()
        .unwrap_or(0);
    for r in &run.results {
        out.push_str(&format!(
            "{} {:w$}  {}\n",
            paint.status(r.outcome.status),
            r.check.id,
            r.outcome.message
        ));
    }
    let summary = format!(
        "{} checks against {} in {:.1} s: {}",
        run.results.len(),
        run.target,
        run.duration.as_secs_f64(),
        run.summary_line()
    );
    if color {
        let code = if run.count(Status::Fail) > 0 {
            "1;31"
        } else {
            "1;32"
        };
        out.push_str(&format!("\x1b[{code}m{summary}\x1b[0m\n"));
    } else {
        out.push_str(&summary);
        out.push('\n');
    }
    print!("{out}");
    let _ = std::io::stdout().flush();
    for spec in &a.report {
        if let Err(e) = report::write(&run, spec) {
            return fatal(e);
        }
    }
    if run.count(Status::Fail) > 0 {
        1
    } else if run.count(Status::Error) > 0 && run.count(Status::Error) == run.results.len() {
        fatal("every check hit an error; the run could not be made")
    } else {
        0
    }
}

/// `qmpspec fuzz`: exit 0 when nothing was found, 1 when something was, 2 when the run
/// could not be made.
fn fuzz(a: &FuzzArgs) -> i32 {
    if !a.fault.is_empty() && !a.target.emulated {
        return fatal("--fault only applies to --emulated");
    }
    let target = match target_of(&a.target, &a.fault) {
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
        out: Some(a.out.clone()),
        timeout: Duration::from_millis(a.timeout),
        max_cases: None,
    };
    let tty = std::io::stderr().is_terminal();
    eprintln!(
        "qmpspec fuzz: {} for {} s, seed {seed} (replay the same inputs with --seed {seed})",
        target.description(),
        a.time
    );
    let summary = live_fuzz::run(&target, &opts, |p| {
        let line = format!(
            "{} execs ({:.1}/s), {} findings, commands {}/{}, inputs: {}; replies: {}",
            p.execs,
            p.rate(),
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
        if tty {
            eprint!("\r\x1b[2K{line}");
        } else {
            eprintln!("{line}");
        }
    });
    if tty {
        eprintln!();
    }
    let summary = match summary {
        Ok(s) => s,
        Err(e) => return fatal(e),
    };
    let p = &summary.progress;
    println!(
        "{} cases in {:.1} s ({:.1}/s) against {}: {} findings",
        p.execs,
        p.elapsed.as_secs_f64(),
        p.rate(),
        target.description(),
        summary.findings.len()
    );
    for (kind, n) in summary.by_kind() {
        println!("  {kind}: {n}");
    }
    for f in &summary.findings {
        let r = &f.reproducer;
        let size: usize = r.inputs.iter().map(|i| i.bytes().len()).sum();
        println!(
            "- {} ({} hits; minimized from {} inputs / {} bytes to {} / {}){}",
            r.finding,
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
    if !a.fault.is_empty() && !a.target.emulated {
        return fatal("--fault only applies to --emulated");
    }
    let r = match Reproducer::load(&a.transcript) {
        Ok(r) => r,
        Err(e) => return fatal(e),
    };
    let target = match target_of(&a.target, &a.fault) {
        Ok(t) => t,
        Err(e) => return fatal(e),
    };
    let (run, same) = match live_fuzz::replay(&target, &r) {
        Ok(x) => x,
        Err(e) => return fatal(format!("cannot reach the target: {e}")),
    };
    for e in run.transcript.coalesced() {
        let arrow = match e.dir {
            crate::endpoint::Dir::Send => "->",
            crate::endpoint::Dir::Recv => "<-",
        };
        for line in crate::endpoint::Transcript::text(&e.bytes).lines() {
            println!("{arrow} {line}");
        }
    }
    match (&run.finding, same) {
        (Some(f), true) => {
            println!("reproduced: {f}");
            1
        }
        (Some(f), false) => {
            println!(
                "not reproduced (saw a different finding: {f}; saved: {})",
                r.finding
            );
            1
        }
        (None, _) => {
            println!(
                "not reproduced: the endpoint behaved (saved finding: {})",
                r.finding
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
        assert_eq!(run(["qmpspec", "check", "--qemu", "--emulated"]), 2);
        assert_eq!(run(["qmpspec", "check", "--qemu", "--timeout", "x"]), 2);
        assert_eq!(run(["qmpspec", "check", "--qemu", "--report", "pdf=x"]), 2);
        assert_eq!(run(["qmpspec", "frobnicate"]), 2);
        assert_eq!(run(["qmpspec", "--help"]), 0);
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
