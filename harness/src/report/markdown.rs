//! Markdown: a summary table, every check in a table, then each failure (and error and
//! warning) with its clause, message and transcript. A matrix (several targets) has a table
//! of the targets, the matrix (a cell links to its finding), the rows where the targets
//! disagree with what each saw, then each target's run as above.

use super::{rfc3339, transcript_lines, MatrixReport, RunReport};
use crate::checks::{CheckResult, Status};
use crate::text::escape_controls;
use std::fmt::Write;

/// Escape text for a table cell or a line of prose: no HTML, no table breaks, no emphasis;
/// control characters shown as `\u{..}` ([`escape_controls`], its backslash escaped).
pub fn md_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in escape_controls(s, &['\n', '\r']).chars() {
        match c {
            '|' | '\\' | '`' | '*' | '_' | '[' | ']' | '#' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A fenced code block that nothing inside can close.
fn fenced(body: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in body.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat(longest.max(2) + 1);
    format!("{fence}text\n{body}{fence}\n")
}

pub fn render(run: &RunReport) -> String {
    let mut m = String::new();
    let _ = writeln!(m, "# qmpspec report\n");
    let _ = writeln!(m, "- Target: `{}`", run.target.replace('`', "'"));
    about_run(&mut m, run);
    let _ = writeln!(m, "- Started: {}", rfc3339(run.started));
    let _ = writeln!(m, "- Duration: {} ms", run.duration.as_millis());
    let _ = writeln!(m, "- qmpspec {}\n", md_escape(&run.tool_version));
    run_body(&mut m, run, 2, None);
    m
}

/// The greeting line of a run, if it had one.
fn about_run(m: &mut String, run: &RunReport) {
    if let Some(g) = &run.greeting {
        let _ = writeln!(m, "- Greeting: `{}`", g.to_string().replace('`', "'"));
    }
}

/// A run's counts, its table of checks, then its findings under a heading of `level`
/// (`##`), each finding one level below; with `anchors`, each finding has the anchor
/// `{anchors}{check id}`.
fn run_body(m: &mut String, run: &RunReport, level: usize, anchors: Option<&str>) {
    m.push_str("| pass | fail | warn | skip | error |\n|---:|---:|---:|---:|---:|\n");
    let counts: Vec<String> = Status::ALL
        .iter()
        .map(|s| run.count(*s).to_string())
        .collect();
    let _ = writeln!(m, "| {} |\n", counts.join(" | "));
    m.push_str("| check | clause | violated | outcome | message |\n|---|---|---|---|---|\n");
    for r in &run.results {
        let _ = writeln!(
            m,
            "| `{}` | `{}` | {} | {} | {} |",
            r.check.id,
            r.check.clause,
            r.outcome
                .violated
                .map_or(String::new(), |c| format!("`{c}`")),
            r.outcome.status,
            md_escape(&r.outcome.message)
        );
    }
    let notable: Vec<_> = run.results.iter().filter(|r| is_finding(r)).collect();
    let (h, hh) = ("#".repeat(level), "#".repeat(level + 1));
    if !notable.is_empty() {
        let _ = writeln!(m, "\n{h} Findings");
    }
    for r in notable {
        if let Some(prefix) = anchors {
            let _ = write!(m, "\n<a id=\"{prefix}{}\"></a>\n", r.check.id);
        }
        let _ = writeln!(m, "\n{hh} {} `{}`\n", r.outcome.status, r.check.id);
        let _ = writeln!(m, "- Check: {}", md_escape(r.check.title));
        let _ = writeln!(m, "- Clause of the check: `{}`", r.check.clause);
        if let Some(v) = r.outcome.violated {
            let _ = writeln!(m, "- Clause broken: `{v}` ({})", md_escape(v.rule()));
        }
        if let Some(why) = r.outcome.because {
            let _ = writeln!(m, "- Only a warning: {why}");
        }
        let _ = writeln!(m, "- Message: {}\n", md_escape(&r.outcome.message));
        m.push_str(&fenced(&transcript_lines(&r.outcome.transcript)));
        for a in &r.outcome.attachments {
            let _ = writeln!(m, "\n{}:\n", md_escape(&a.name));
            m.push_str(&fenced(&format!("{}\n", a.text.trim_end_matches('\n'))));
        }
    }
}

/// A result the findings show in full: a failure, an error or a warning.
fn is_finding(r: &CheckResult) -> bool {
    matches!(
        r.outcome.status,
        Status::Fail | Status::Error | Status::Warn
    )
}

/// The anchor prefix of column `i`'s findings.
fn anchor(i: usize) -> String {
    format!("c{}-", i + 1)
}

/// A cell of the matrix: the status, linked to the finding when there is one, in bold when
/// the targets disagree on the row.
fn cell(r: &CheckResult, column: usize, differs: bool) -> String {
    let s = r.outcome.status;
    let shown = if is_finding(r) {
        format!("[{s}](#{}{})", anchor(column), r.check.id)
    } else {
        s.to_string()
    };
    if differs {
        format!("**{shown}**")
    } else {
        shown
    }
}

/// A matrix: the targets, a row per check with a column per target (rows where the targets
/// disagree marked and listed with what each saw), then each target's run as [`render`]
/// shows it, its findings anchored for the cells to link to.
pub fn render_matrix(mx: &MatrixReport) -> String {
    let columns = mx.columns();
    let rows = mx.rows();
    let mut m = String::new();
    let _ = writeln!(m, "# qmpspec matrix report\n");
    let _ = writeln!(m, "- Started: {}", rfc3339(mx.started));
    let _ = writeln!(m, "- Duration: {} ms", mx.duration.as_millis());
    let _ = writeln!(m, "- qmpspec {}\n", md_escape(&mx.tool_version));
    m.push_str("| target | endpoint | pass | fail | warn | skip | error | ms |\n");
    m.push_str("|---|---|---:|---:|---:|---:|---:|---:|\n");
    for (run, c) in mx.runs.iter().zip(&columns) {
        let counts: Vec<String> = Status::ALL
            .iter()
            .map(|s| run.count(*s).to_string())
            .collect();
        let _ = writeln!(
            m,
            "| {} | `{}` | {} | {} |",
            md_escape(c),
            run.target.replace('`', "'"),
            counts.join(" | "),
            run.duration.as_millis()
        );
    }
    let _ = writeln!(m, "\n{}\n", mx.differ_sentence());
    m.push_str("| check | clause |");
    for c in &columns {
        let _ = write!(m, " {} |", md_escape(c));
    }
    m.push_str(" differs |\n|---|---|");
    m.push_str(&"---|".repeat(columns.len() + 1));
    m.push('\n');
    for row in &rows {
        let differs = row.differs();
        let _ = write!(m, "| `{}` | `{}` |", row.check.id, row.check.clause);
        for (i, r) in row.cells.iter().enumerate() {
            let _ = write!(m, " {} |", cell(r, i, differs));
        }
        m.push_str(if differs { " **differs** |\n" } else { " |\n" });
    }
    let differing = mx.differing();
    if !differing.is_empty() {
        m.push_str("\n## Outcomes that differ\n");
        for row in differing {
            let _ = writeln!(m, "\n### `{}`\n", row.check.id);
            for (i, (r, c)) in row.cells.iter().zip(&columns).enumerate() {
                let _ = writeln!(
                    m,
                    "- {}: {}: {}",
                    md_escape(c),
                    cell(r, i, false),
                    md_escape(&r.outcome.message)
                );
            }
        }
    }
    for (i, (run, c)) in mx.runs.iter().zip(&columns).enumerate() {
        let _ = writeln!(m, "\n## {}\n", md_escape(c));
        let _ = writeln!(m, "- Target: `{}`", run.target.replace('`', "'"));
        about_run(&mut m, run);
        let _ = writeln!(m, "- Duration: {} ms\n", run.duration.as_millis());
        run_body(&mut m, run, 3, Some(&anchor(i)));
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_and_fences_cannot_be_broken() {
        assert_eq!(md_escape("a|b\n<x>"), "a\\|b &lt;x&gt;");
        let f = fenced("```\n");
        assert!(f.starts_with("````text\n"));
    }
}
