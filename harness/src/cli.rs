//! The `qmpspec` command line.

/// Run the command line; returns the process exit code.
pub fn main() -> i32 {
    eprintln!("qmpspec: no command yet");
    2
}
