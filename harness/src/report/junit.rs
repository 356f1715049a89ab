//! JUnit XML: one testcase per check (classname = area), failures and errors with message and
//! transcript, skips as `<skipped/>`. Everything the endpoint sent is escaped, including the
//! characters XML 1.0 forbids outright.

use super::{rfc3339, transcript_lines, RunReport};
use crate::checks::Status;
use std::fmt::Write;

/// Escape for XML 1.0 text (`attr` also escapes quotes and keeps CR/LF/tab as references).
pub fn xml_escape(s: &str, attr: bool) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attr => out.push_str("&quot;"),
            '\'' if attr => out.push_str("&apos;"),
            '\n' | '\t' if attr => {
                let _ = write!(out, "&#{};", c as u32);
            }
            '\r' => out.push_str("&#13;"),
            '\n' | '\t' => out.push(c),
            // Not allowed in XML 1.0 at all, not even as references: shown as text.
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            // Allowed but discouraged (C1 controls, DEL): written as references.
            c if (0x7f..=0x9f).contains(&(c as u32)) => {
                let _ = write!(out, "&#{};", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

fn secs(d: std::time::Duration) -> String {
    format!("{:.3}", d.as_secs_f64())
}

pub fn render(run: &RunReport) -> String {
    let n = run.results.len();
    let (fail, err, skip) = (
        run.count(Status::Fail),
        run.count(Status::Error),
        run.count(Status::Skip),
    );
    let mut x = String::new();
    x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites name=\"qmpspec\" tests=\"{n}\" failures=\"{fail}\" errors=\"{err}\" skipped=\"{skip}\" time=\"{}\">",
        secs(run.duration)
    );
    let _ = writeln!(
        x,
        "  <testsuite name=\"{}\" tests=\"{n}\" failures=\"{fail}\" errors=\"{err}\" skipped=\"{skip}\" time=\"{}\" timestamp=\"{}\">",
        xml_escape(&format!("qmpspec {}", run.target), true),
        secs(run.duration),
        rfc3339(run.started)
    );
    let _ = writeln!(x, "    <properties>");
    let _ = writeln!(
        x,
        "      <property name=\"qmpspec.version\" value=\"{}\"/>",
        xml_escape(&run.tool_version, true)
    );
    let _ = writeln!(
        x,
        "      <property name=\"target\" value=\"{}\"/>",
        xml_escape(&run.target, true)
    );
    if let Some(g) = &run.greeting {
        let _ = writeln!(
            x,
            "      <property name=\"greeting\" value=\"{}\"/>",
            xml_escape(&g.to_string(), true)
        );
    }
    let _ = writeln!(x, "    </properties>");
    for r in &run.results {
        let o = &r.outcome;
        let _ = write!(
            x,
            "    <testcase classname=\"{}\" name=\"{}\" time=\"{}\"",
            xml_escape(r.check.area(), true),
            xml_escape(r.check.id, true),
            secs(r.duration)
        );
        let body = |tag: &str, kind: &str| {
            format!(
                "      <{tag} message=\"{}\" type=\"{kind}\">{}</{tag}>\n",
                xml_escape(&o.message, true),
                xml_escape(
                    &format!(
                        "clause: {}\n{}\n\ntranscript:\n{}",
                        r.check.clause,
                        o.message,
                        transcript_lines(&o.transcript)
                    ),
                    false
                )
            )
        };
        match o.status {
            Status::Pass => x.push_str("/>\n"),
            Status::Fail => {
                x.push_str(">\n");
                x.push_str(&body("failure", "fail"));
                x.push_str("    </testcase>\n");
            }
            Status::Error => {
                x.push_str(">\n");
                x.push_str(&body("error", "error"));
                x.push_str("    </testcase>\n");
            }
            Status::Skip => {
                let _ = write!(
                    x,
                    ">\n      <skipped message=\"{}\"/>\n    </testcase>\n",
                    xml_escape(&o.message, true)
                );
            }
            Status::Warn => {
                let _ = write!(
                    x,
                    ">\n      <system-out>{}</system-out>\n    </testcase>\n",
                    xml_escape(&format!("warning: {}", o.message), false)
                );
            }
        }
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}

#[cfg(test)]
mod tests {
    use super::xml_escape;

    #[test]
    fn escapes_everything_xml_forbids() {
        assert_eq!(xml_escape("a<b>&\"'", false), "a&lt;b&gt;&amp;\"'");
        assert_eq!(xml_escape("a\"'\n", true), "a&quot;&apos;&#10;");
        assert_eq!(xml_escape("\u{1}\u{0}\u{1b}", false), "\\u{1}\\u{0}\\u{1b}");
        assert_eq!(xml_escape("\r\n", false), "&#13;\n");
        assert_eq!(xml_escape("\u{7f}\u{ffff}é", false), "&#127;\\u{ffff}é");
    }
}
