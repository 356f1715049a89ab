//! A self-contained HTML page: inline style, no scripts, no network assets; everything the
//! endpoint sent is escaped.

use super::{rfc3339, transcript_lines, RunReport};
use crate::checks::Status;
use std::fmt::Write;

/// Escape text for HTML element content and attribute values.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\t' => out.push(c),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}\
.pass{color:#070}.fail{color:#b00;font-weight:bold}.warn{color:#a60}.skip{color:#666}.error{color:#808}\
pre{background:#f6f6f6;padding:.5em;overflow-x:auto;white-space:pre-wrap;word-break:break-all}\
code{font-family:ui-monospace,monospace}";

pub fn render(run: &RunReport) -> String {
    let mut h = String::new();
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    let _ = writeln!(
        h,
        "<title>qmpspec report: {}</title>\n<style>{STYLE}</style>\n</head>\n<body>",
        html_escape(&run.target)
    );
    let _ = writeln!(h, "<h1>qmpspec report</h1>\n<ul>");
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
    let _ = writeln!(h, "<li>Started: {}</li>", rfc3339(run.started));
    let _ = writeln!(h, "<li>Duration: {} ms</li>", run.duration.as_millis());
    let _ = writeln!(
        h,
        "<li>qmpspec {}</li>\n</ul>",
        html_escape(&run.tool_version)
    );
    h.push_str("<table><tr>");
    for s in Status::ALL {
        let _ = write!(h, "<th class=\"{s}\">{s}</th>");
    }
    h.push_str("</tr><tr>");
    for s in Status::ALL {
        let _ = write!(h, "<td>{}</td>", run.count(s));
    }
    h.push_str("</tr></table>\n<h2>Checks</h2>\n<table>\n<tr><th>check</th><th>clause</th><th>outcome</th><th>message</th><th>ms</th></tr>\n");
    for r in &run.results {
        let s = r.outcome.status;
        let _ = writeln!(
            h,
            "<tr><td><a href=\"#{id}\"><code>{id}</code></a></td><td><code>{}</code></td><td class=\"{s}\">{s}</td><td>{}</td><td>{}</td></tr>",
            html_escape(r.check.clause),
            html_escape(&r.outcome.message),
            r.duration.as_millis(),
            id = html_escape(r.check.id),
        );
    }
    h.push_str("</table>\n<h2>Transcripts</h2>\n");
    for r in &run.results {
        let s = r.outcome.status;
        let open = if matches!(s, Status::Fail | Status::Error) {
            " open"
        } else {
            ""
        };
        let _ = writeln!(
            h,
            "<details id=\"{id}\"{open}><summary><span class=\"{s}\">{s}</span> <code>{id}</code> ({}) {}</summary>\n<p>Clause <code>{}</code>: {}</p>\n<pre>{}</pre>\n</details>",
            html_escape(r.check.title),
            html_escape(&r.outcome.message),
            html_escape(r.check.clause),
            html_escape(
                crate::spec::clause(r.check.clause)
                    .map_or("", |c| c.rule.as_str())
            ),
            html_escape(&transcript_lines(&r.outcome.transcript)),
            id = html_escape(r.check.id),
        );
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
