//! `qmpspec check-client`: arguments, the scenario list, and the run.

use super::{run, select, Client, Listener, RunOptions, SpawnSpec, SCENARIOS};
use crate::checks::{Pattern, Subject};
use crate::cli::{conclude, fatal, list_of, progress_of, ListFormat, RunArgs};
use clap::{ArgGroup, Args};
use std::path::PathBuf;
use std::time::Duration;

/// `qmpspec check-client` arguments.
#[derive(Args, Debug, Clone)]
#[command(group(ArgGroup::new("client").args(["spawn", "listen", "list"]).required(true)))]
pub struct CheckClientArgs {
    /// Start the client once per scenario. Its command line says where the server's address
    /// goes: {socket} (a unix socket path) or {addr} (HOST:PORT; also {host} and {port})
    #[arg(long, value_name = "'CLIENT ARGS'")]
    pub spawn: Option<String>,
    /// Serve unix:PATH or tcp:ADDR for a client started by hand: one connection per
    /// scenario, in the order of --list
    #[arg(long, value_name = "unix:PATH|tcp:ADDR")]
    pub listen: Option<String>,
    /// List every scenario: id, clause, title
    #[arg(long)]
    pub list: bool,
    /// Format of --list (markdown: the table for the README)
    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    pub format: ListFormat,
    /// A file the spawned client gets as its standard input (default: none)
    #[arg(long, value_name = "FILE")]
    pub stdin: Option<PathBuf>,
    #[command(flatten)]
    pub run: RunArgs,
    /// Deadline of every scenario, in milliseconds: a spawned client still running then is
    /// killed (with what it started), a connection still open is closed
    #[arg(long, value_name = "MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,
    /// With --listen, a client silent this long (milliseconds) with nothing due to it is
    /// done with the scenario, and the connection is closed
    #[arg(long, value_name = "MS", default_value_t = 2000, value_parser = clap::value_parser!(u64).range(1..))]
    pub idle: u64,
    /// How many spawned clients run at once, each against its own socket (--listen: 1)
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=32))]
    pub jobs: u64,
}

/// The scenario list in `format`.
pub fn list(format: ListFormat) -> String {
    let scenarios: Vec<Subject> = SCENARIOS.iter().map(|s| s.subject()).collect();
    let header = "| scenario | clause | what happens, and what the client must do |";
    list_of(&scenarios, format, header)
}

/// Run `qmpspec check-client`; returns the exit code (0: no scenario failed, 1: one did,
/// 2: the run could not be made).
pub fn run_cli(a: &CheckClientArgs) -> i32 {
    if a.list {
        print!("{}", list(a.format));
        return 0;
    }
    if a.stdin.is_some() && a.spawn.is_none() {
        return fatal("--stdin goes with --spawn (a client started by hand has its own input)");
    }
    let only: Vec<Pattern> = a.run.only.iter().map(|p| Pattern::new(p)).collect();
    let skip: Vec<Pattern> = a.run.skip.iter().map(|p| Pattern::new(p)).collect();
    let scenarios = match select(&only, &skip) {
        Ok(s) => s,
        Err(e) => return fatal(e),
    };
    let client = if let Some(cmd) = &a.spawn {
        match SpawnSpec::parse(cmd, a.stdin.clone()) {
            Ok(s) => Client::Spawn(s),
            Err(e) => return fatal(e),
        }
    } else if let Some(addr) = &a.listen {
        match Listener::bind(addr) {
            Ok(l) => Client::Listen(l),
            Err(e) => return fatal(format!("--listen: {e}")),
        }
    } else {
        return fatal("one of --spawn, --listen or --list is needed");
    };
    let (bar, sink) = progress_of(scenarios.len());
    let opts = RunOptions {
        timeout: Duration::from_millis(a.timeout),
        jobs: a.jobs as usize,
        idle: Duration::from_millis(a.idle),
        progress: Some(sink),
    };
    let report = run(&client, &scenarios, &opts);
    bar.finish_and_clear();
    conclude(&report, &a.run.report)
}
