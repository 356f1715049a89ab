//! JUnit XML (written by `quick-junit`): one testcase per check (classname = area), failures
//! and errors with message and transcript, skips as `<skipped/>`, warnings and attachments
//! (a client's exit status and output) as system-out.
//! Characters XML 1.0 forbids (or `quick-junit` would drop) are shown as `\u{..}` first, so
//! that everything the endpoint sent stays visible.
//! A matrix (several targets) has one testsuite per target, named by its column.

use super::{transcript_lines, MatrixReport, RunReport};
use crate::checks::{Outcome, Status};
use crate::text::escape_controls;
use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

/// `s` with the characters XML 1.0 forbids or discourages (control characters but tab, LF
/// and CR; C1 controls and DEL; U+FFFE and U+FFFF) written out as `\u{..}`
/// ([`escape_controls`]).
pub fn xml_visible(s: &str) -> String {
    escape_controls(s, &['\t', '\n', '\r'])
}

/// A warning with the reason a broken MUST is only a warning, if that is the case.
fn warning(o: &Outcome) -> String {
    match o.because {
        Some(r) => format!("warning: {} ({r})", o.headline()),
        None => format!("warning: {}", o.headline()),
    }
}

pub fn render(run: &RunReport) -> String {
    let suite = suite(run, &format!("qmpspec {}", run.target));
    let mut report = Report::new("qmpspec");
    report.set_time(run.duration).add_test_suite(suite);
    to_xml(&report)
}

/// One testsuite per target, named `qmpspec COLUMN (TARGET)`, with a `column` property.
pub fn render_matrix(m: &MatrixReport) -> String {
    let mut report = Report::new("qmpspec");
    report.set_time(m.duration);
    for (run, column) in m.runs.iter().zip(m.columns()) {
        let mut suite = suite(run, &format!("qmpspec {column} ({})", run.target));
        suite.add_property(Property::new("column", xml_visible(&column)));
        report.add_test_suite(suite);
    }
    to_xml(&report)
}

fn to_xml(report: &Report) -> String {
    report
        .to_string()
        .expect("a report of strings serializes to a string")
}

/// The testsuite of one run: a testcase per check.
fn suite(run: &RunReport, name: &str) -> TestSuite {
    let x = xml_visible;
    let started = chrono::DateTime::<chrono::Utc>::from(run.started);
    let mut suite = TestSuite::new(x(name));
    suite.set_timestamp(started).set_time(run.duration);
    suite.add_property(Property::new("qmpspec.version", x(&run.tool_version)));
    suite.add_property(Property::new("target", x(&run.target)));
    if let Some(g) = &run.greeting {
        suite.add_property(Property::new("greeting", x(&g.to_string())));
    }
    for r in &run.results {
        let o = &r.outcome;
        let details = || {
            x(&format!(
                "clause: {}\nviolated: {}\n{}\n\ntranscript:\n{}",
                r.check.clause,
                o.violated.map_or("-", |c| c.id()),
                o.headline(),
                transcript_lines(&o.transcript)
            ))
        };
        let status = match o.status {
            Status::Pass | Status::Warn => TestCaseStatus::success(),
            Status::Fail | Status::Error => {
                let (kind, ty) = match o.status {
                    Status::Fail => (NonSuccessKind::Failure, "fail"),
                    _ => (NonSuccessKind::Error, "error"),
                };
                let mut s = TestCaseStatus::non_success(kind);
                s.set_message(x(&o.headline()))
                    .set_type(ty)
                    .set_description(details());
                s
            }
            Status::Skip => {
                let mut s = TestCaseStatus::skipped();
                s.set_message(x(&o.message));
                s
            }
        };
        let mut case = TestCase::new(x(r.check.id), status);
        case.set_classname(x(r.check.area())).set_time(r.duration);
        let mut out: Vec<String> = Vec::new();
        if o.status == Status::Warn {
            out.push(warning(o));
        }
        out.extend(
            o.attachments
                .iter()
                .map(|a| format!("{}:\n{}", a.name, a.text.trim_end_matches('\n'))),
        );
        if !out.is_empty() {
            case.set_system_out(x(&out.join("\n")));
        }
        suite.add_test_case(case);
    }
    suite
}

#[cfg(test)]
mod tests {
    use super::xml_visible;

    #[test]
    fn what_xml_forbids_stays_visible() {
        assert_eq!(xml_visible("a<b>&\"'\n\t\r"), "a<b>&\"'\n\t\r");
        assert_eq!(xml_visible("\u{1}\u{0}\u{1b}"), "\\u{1}\\u{0}\\u{1b}");
        assert_eq!(xml_visible("\u{7f}\u{ffff}é"), "\\u{7f}\\u{ffff}é");
    }
}
