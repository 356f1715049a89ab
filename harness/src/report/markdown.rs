//! Markdown: a summary table, every check in a table, then each failure (and error and
//! warning) with its clause, message and transcript.

use super::{rfc3339, transcript_lines, RunReport};
use crate::checks::Status;
use std::fmt::Write;

/// Escape text for a table cell or a line of prose: no HTML, no table breaks, no emphasis.
pub fn md_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '|' | '\\' | '`' | '*' | '_' | '[' | ']' | '#' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' => out.push(' '),
            c if c.is_control() => {
                let _ = write!(out, "\\\\u{{{:x}}}", c as u32);
            }
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
    if let Some(g) = &run.greeting {
        let _ = writeln!(m, "- Greeting: `{}`", g.to_string().replace('`', "'"));
    }
    let _ = writeln!(m, "- Started: {}", rfc3339(run.started));
    let _ = writeln!(m, "- Duration: {} ms", run.duration.as_millis());
    let _ = writeln!(m, "- qmpspec {}\n", md_escape(&run.tool_version));
    m.push_str("| pass | fail | warn | skip | error |\n|---:|---:|---:|---:|---:|\n");
    let counts: Vec<String> = Status::ALL
        .iter()
        .map(|s| run.count(*s).to_string())
        .collect();
    let _ = writeln!(m, "| {} |\n", counts.join(" | "));
    m.push_str("| check | clause | outcome | message |\n|---|---|---|---|\n");
    for r in &run.results {
        let _ = writeln!(
            m,
            "| `{}` | `{}` | {} | {} |",
            r.check.id,
            r.check.clause,
            r.outcome.status,
            md_escape(&r.outcome.message)
        );
    }
    let notable: Vec<_> = run
        .results
        .iter()
        .filter(|r| {
            matches!(
                r.outcome.status,
                Status::Fail | Status::Error | Status::Warn
            )
        })
        .collect();
    if !notable.is_empty() {
        m.push_str("\n## Findings\n");
    }
    for r in notable {
        let _ = writeln!(m, "\n### {} `{}`\n", r.outcome.status, r.check.id);
        let _ = writeln!(m, "- Clause: `{}`", r.check.clause);
        let _ = writeln!(m, "- Check: {}", md_escape(r.check.title));
        let _ = writeln!(m, "- Message: {}\n", md_escape(&r.outcome.message));
        m.push_str(&fenced(&transcript_lines(&r.outcome.transcript)));
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
