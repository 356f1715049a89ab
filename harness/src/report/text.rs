//! Plain text, as `qmpspec check` and `check-client` print it: one line per check or
//! scenario (status, id, the clause broken and what was seen), then a summary line; against
//! several targets, a matrix (a row per check, a column per target, rows where the targets
//! disagree marked). On a terminal the statuses and the summary are coloured. What came from
//! the endpoint (messages, a version in a column's name) or the command line (targets) is
//! shown with its control characters escaped, so that it cannot drive the terminal.

use super::{MatrixReport, RunReport};
use crate::checks::Status;
use crate::text::escape_controls;
use std::fmt::Write;

/// `s` with every control character shown as `\u{..}` ([`escape_controls`]).
fn shown(s: &str) -> String {
    escape_controls(s, &[])
}

/// The report as plain text.
pub fn render(run: &RunReport) -> String {
    render_painted(run, false)
}

/// The report, coloured with ANSI escapes when `color`.
pub fn render_painted(run: &RunReport, color: bool) -> String {
    let w = run
        .results
        .iter()
        .map(|r| r.check.id.len())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for r in &run.results {
        let status = format!("{:5}", r.outcome.status.as_str().to_uppercase());
        let _ = writeln!(
            out,
            "{} {:w$}  {}",
            paint(color, status_color(r.outcome.status), &status),
            r.check.id,
            shown(&r.outcome.headline())
        );
    }
    let summary = format!(
        "{} {}s against {} in {:.1} s: {}",
        run.results.len(),
        run.noun(),
        shown(&run.target),
        run.duration.as_secs_f64(),
        run.summary_line()
    );
    let _ = writeln!(
        out,
        "{}",
        paint_summary(color, run.count(Status::Fail), &summary)
    );
    out
}

/// The matrix as plain text.
pub fn render_matrix(m: &MatrixReport) -> String {
    render_matrix_painted(m, false)
}

/// What marks a row whose outcomes differ between targets.
pub const DIFFERS: &str = "<- differs";

/// The matrix, coloured with ANSI escapes when `color`: which target each column is, a row
/// per check (each target's status; under it, what the targets that did not pass saw, or
/// what each saw when they disagree), then a summary per target and one for the matrix.
pub fn render_matrix_painted(m: &MatrixReport, color: bool) -> String {
    let columns: Vec<String> = m.columns().iter().map(|c| shown(c)).collect();
    let rows = m.rows();
    let w = rows
        .iter()
        .map(|r| r.check.id.len())
        .chain(["check".len()])
        .max()
        .unwrap_or(0);
    let lw = columns.iter().map(String::len).max().unwrap_or(0);
    let mut out = String::new();
    for (c, run) in columns.iter().zip(&m.runs) {
        let _ = writeln!(out, "{c:lw$} = {}", shown(&run.target));
    }
    let _ = write!(out, "\n{:w$}", "check");
    for c in &columns {
        let _ = write!(out, "  {c:5}");
    }
    out.push('\n');
    for row in &rows {
        let _ = write!(out, "{:w$}", row.check.id);
        for (cell, c) in row.cells.iter().zip(&columns) {
            let s = cell.outcome.status;
            let shown = format!("{:1$}", s.as_str().to_uppercase(), c.len().max(5));
            let _ = write!(out, "  {}", paint(color, status_color(s), &shown));
        }
        let differs = row.differs();
        if differs {
            let _ = write!(out, "  {}", paint(color, "1;33", DIFFERS));
        }
        let line = out.trim_end_matches(' ').len();
        out.truncate(line);
        out.push('\n');
        for (cell, c) in row.cells.iter().zip(&columns) {
            if differs || cell.outcome.status != Status::Pass {
                let _ = writeln!(out, "    {c}: {}", shown(&cell.outcome.headline()));
            }
        }
    }
    out.push('\n');
    for (c, run) in columns.iter().zip(&m.runs) {
        let _ = writeln!(
            out,
            "{c:lw$}: {} {}s in {:.1} s: {}",
            run.results.len(),
            run.noun(),
            run.duration.as_secs_f64(),
            run.summary_line()
        );
    }
    let differing = rows.iter().filter(|r| r.differs()).count();
    let summary = format!(
        "{} checks against {} targets in {:.1} s: {}; outcomes differ on {differing} check{}",
        m.checks(),
        m.runs.len(),
        m.duration.as_secs_f64(),
        m.summary_line(),
        if differing == 1 { "" } else { "s" }
    );
    let _ = writeln!(
        out,
        "{}",
        paint_summary(color, m.count(Status::Fail), &summary)
    );
    out
}

/// The summary line: red when something failed, green otherwise.
fn paint_summary(color: bool, failed: usize, summary: &str) -> String {
    paint(color, if failed > 0 { "1;31" } else { "1;32" }, summary)
}

fn status_color(s: Status) -> &'static str {
    match s {
        Status::Pass => "32",
        Status::Fail => "1;31",
        Status::Warn => "33",
        Status::Skip => "2",
        Status::Error => "35",
    }
}

fn paint(color: bool, code: &str, text: &str) -> String {
    if color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}
