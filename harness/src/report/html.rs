//! A self-contained HTML page: inline style, no scripts, no network assets; everything the
//! endpoint sent is escaped. A matrix (several targets) has a table of the targets, the
//! matrix (a cell links to its transcript, its title is the message; rows where the targets
//! disagree highlighted), what each target saw where they disagree, then each target's run.

use super::{rfc3339, transcript_lines, MatrixReport, RunReport};
use crate::checks::{CheckResult, Status};
use crate::text::escape_controls;
use std::fmt::Write;

/// Escape text for HTML element content and attribute values (control characters but LF
/// and tab shown as `\u{..}`, [`escape_controls`]).
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    for c in escape_controls(s, &['\n', '\t']).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The clause the endpoint broke, with its rule, and why it is only a warning (if so).
fn broken(o: &crate::checks::Outcome) -> String {
    let mut p = String::new();
    if let Some(v) = o.violated {
        let _ = writeln!(
            p,
            "<p>Broken: <code>{}</code>: {}</p>",
            html_escape(v.id()),
            html_escape(v.rule())
        );
    }
    if let Some(why) = o.because {
        let _ = writeln!(p, "<p>Only a warning: {}</p>", html_escape(why.describe()));
    }
    p
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}\
.pass{color:#070}.fail{color:#b00;font-weight:bold}.warn{color:#a60}.skip{color:#666}.error{color:#808}\
pre{background:#f6f6f6;padding:.5em;overflow-x:auto;white-space:pre-wrap;word-break:break-all}\
code{font-family:ui-monospace,monospace}";

/// What a matrix adds to [`STYLE`]: rows where the targets disagree stand out.
const MATRIX_STYLE: &str = "tr.differs td{background:#fff3cd}";

/// The page's head, up to the opening of its body.
fn head(h: &mut String, title: &str, style: &str) {
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    let _ = writeln!(
        h,
        "<title>{}</title>\n<style>{STYLE}{style}</style>\n</head>\n<body>",
        html_escape(title)
    );
}

pub fn render(run: &RunReport) -> String {
    let mut h = String::new();
    head(&mut h, &format!("qmpspec report: {}", run.target), "");
    let _ = writeln!(h, "<h1>qmpspec report</h1>\n<ul>");
    about_run(&mut h, run);
    let _ = writeln!(h, "<li>Started: {}</li>", rfc3339(run.started));
    let _ = writeln!(h, "<li>Duration: {} ms</li>", run.duration.as_millis());
    let _ = writeln!(
        h,
        "<li>qmpspec {}</li>\n</ul>",
        html_escape(&run.tool_version)
    );
    run_body(&mut h, run, 2, "");
    h.push_str("</body>\n</html>\n");
    h
}

/// The target and greeting of a run, as list items.
fn about_run(h: &mut String, run: &RunReport) {
    let _ = writeln!(
        h,
        "<li>Target: <code>{}</code></li>",
        html_escape(&run.target)
    );
    if let Some(g) = &run.greeting {
        let _ = writeln!(
            h,
            "<li>Greeting: <code>{}</code></li>",
            html_escape(&g.to_string())
        );
    }
}

/// A run's counts, its table of checks and every check's transcript, under headings of
/// `level`; each check's transcript has the id `{prefix}{check id}`.
fn run_body(h: &mut String, run: &RunReport, level: usize, prefix: &str) {
    h.push_str("<table><tr>");
    for s in Status::ALL {
        let _ = write!(h, "<th class=\"{s}\">{s}</th>");
    }
    h.push_str("</tr><tr>");
    for s in Status::ALL {
        let _ = write!(h, "<td>{}</td>", run.count(s));
    }
    let _ = writeln!(h, "</tr></table>\n<h{level}>Checks</h{level}>\n<table>\n<tr><th>check</th><th>clause</th><th>violated</th><th>outcome</th><th>message</th><th>ms</th></tr>");
    for r in &run.results {
        let s = r.outcome.status;
        let _ = writeln!(
            h,
            "<tr><td><a href=\"#{prefix}{id}\"><code>{id}</code></a></td><td><code>{}</code></td><td>{}</td><td class=\"{s}\">{s}</td><td>{}</td><td>{}</td></tr>",
            html_escape(r.check.clause.id()),
            r.outcome
                .violated
                .map_or(String::new(), |c| format!("<code>{}</code>", html_escape(c.id()))),
            html_escape(&r.outcome.message),
            r.duration.as_millis(),
            id = html_escape(r.check.id),
        );
    }
    let _ = writeln!(h, "</table>\n<h{level}>Transcripts</h{level}>");
    for r in &run.results {
        let s = r.outcome.status;
        let open = if matches!(s, Status::Fail | Status::Error) {
            " open"
        } else {
            ""
        };
        let _ = writeln!(
            h,
            "<details id=\"{prefix}{id}\"{open}><summary><span class=\"{s}\">{s}</span> <code>{id}</code> ({}) {}</summary>\n<p>Clause <code>{}</code>: {}</p>\n{}<pre>{}</pre>",
            html_escape(r.check.title),
            html_escape(&r.outcome.message),
            html_escape(r.check.clause.id()),
            html_escape(r.check.clause.rule()),
            broken(&r.outcome),
            html_escape(&transcript_lines(&r.outcome.transcript)),
            id = html_escape(r.check.id),
        );
        for a in &r.outcome.attachments {
            let _ = writeln!(
                h,
                "<p>{}:</p>\n<pre>{}</pre>",
                html_escape(&a.name),
                html_escape(&a.text)
            );
        }
        h.push_str("</details>\n");
    }
}

/// A cell of the matrix: the status, linked to the check's transcript in its target's
/// section, with the message as the link's title.
fn cell(r: &CheckResult, column: usize) -> String {
    let s = r.outcome.status;
    format!(
        "<td class=\"{s}\"><a class=\"{s}\" href=\"#c{}-{}\" title=\"{}\">{s}</a></td>",
        column + 1,
        html_escape(r.check.id),
        html_escape(&r.outcome.message)
    )
}

/// A matrix: the targets, a row per check with a column per target (rows where the targets
/// disagree highlighted and listed with what each saw), then each target's run as
/// [`render`] shows it.
pub fn render_matrix(m: &MatrixReport) -> String {
    let columns = m.columns();
    let rows = m.rows();
    let mut h = String::new();
    head(
        &mut h,
        &format!("qmpspec matrix report: {}", columns.join(", ")),
        MATRIX_STYLE,
    );
    let _ = writeln!(h, "<h1>qmpspec matrix report</h1>\n<ul>");
    let _ = writeln!(h, "<li>Started: {}</li>", rfc3339(m.started));
    let _ = writeln!(h, "<li>Duration: {} ms</li>", m.duration.as_millis());
    let _ = writeln!(
        h,
        "<li>qmpspec {}</li>\n</ul>",
        html_escape(&m.tool_version)
    );
    h.push_str("<table>\n<tr><th>target</th><th>endpoint</th>");
    for s in Status::ALL {
        let _ = write!(h, "<th class=\"{s}\">{s}</th>");
    }
    h.push_str("<th>ms</th></tr>\n");
    for (i, (run, c)) in m.runs.iter().zip(&columns).enumerate() {
        let _ = write!(
            h,
            "<tr><td><a href=\"#c{}\">{}</a></td><td><code>{}</code></td>",
            i + 1,
            html_escape(c),
            html_escape(&run.target)
        );
        for s in Status::ALL {
            let _ = write!(h, "<td>{}</td>", run.count(s));
        }
        let _ = writeln!(h, "<td>{}</td></tr>", run.duration.as_millis());
    }
    let _ = writeln!(
        h,
        "</table>\n<h2>Matrix</h2>\n<p>{}</p>\n<table>",
        m.differ_sentence()
    );
    h.push_str("<tr><th>check</th><th>clause</th>");
    for c in &columns {
        let _ = write!(h, "<th>{}</th>", html_escape(c));
    }
    h.push_str("<th></th></tr>\n");
    for row in &rows {
        let differs = row.differs();
        let _ = write!(
            h,
            "<tr{}><td><code>{}</code></td><td><code>{}</code></td>",
            if differs { " class=\"differs\"" } else { "" },
            html_escape(row.check.id),
            html_escape(row.check.clause.id())
        );
        for (i, r) in row.cells.iter().enumerate() {
            h.push_str(&cell(r, i));
        }
        let _ = writeln!(h, "<td>{}</td></tr>", if differs { "differs" } else { "" });
    }
    h.push_str("</table>\n");
    let differing = m.differing();
    if !differing.is_empty() {
        h.push_str("<h2>Outcomes that differ</h2>\n");
        for row in differing {
            let _ = writeln!(
                h,
                "<h3><code>{}</code></h3>\n<ul>",
                html_escape(row.check.id)
            );
            for (i, (r, c)) in row.cells.iter().zip(&columns).enumerate() {
                let s = r.outcome.status;
                let _ = writeln!(
                    h,
                    "<li>{}: <a class=\"{s}\" href=\"#c{}-{}\">{s}</a>: {}</li>",
                    html_escape(c),
                    i + 1,
                    html_escape(r.check.id),
                    html_escape(&r.outcome.message)
                );
            }
            h.push_str("</ul>\n");
        }
    }
    for (i, (run, c)) in m.runs.iter().zip(&columns).enumerate() {
        let _ = writeln!(h, "<h2 id=\"c{}\">{}</h2>\n<ul>", i + 1, html_escape(c));
        about_run(&mut h, run);
        let _ = writeln!(
            h,
            "<li>Duration: {} ms</li>\n</ul>",
            run.duration.as_millis()
        );
        run_body(&mut h, run, 3, &format!("c{}-", i + 1));
    }
    h.push_str("</body>\n</html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::html_escape;

    #[test]
    fn escapes_markup_and_controls() {
        assert_eq!(
            html_escape("<script>\"'&\u{1}"),
            "&lt;script&gt;&quot;&#39;&amp;\\u{1}"
        );
    }
}
