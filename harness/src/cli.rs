//! The `qmpspec` command line.

use crate::monitor::serve::{self, ServeArgs};
use clap::{Parser, Subcommand};

/// qmpspec: conformance test harness and fuzzer for the QEMU Monitor Protocol.
#[derive(Parser, Debug)]
#[command(name = "qmpspec", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the emulated QMP monitor (a QEMU 7.2 look-alike, optionally faulty).
    Serve(ServeArgs),
}

/// Run the command line; returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    match cli.command {
        Command::Serve(args) => serve::run(args),
    }
}
