//! Reports of a run: plain text (what `qmpspec check` prints), JSON (the contract of
//! DESIGN.md), JUnit XML, Markdown and a self-contained HTML page. All of them come from one
//! [`RunReport`], or, for a run against several targets, from one [`MatrixReport`] (a run
//! per target: rows are checks, columns are targets).

mod html;
mod json;
mod junit;
mod markdown;
mod matrix;
pub mod text;

pub use json::{matrix_to_value as matrix_json_value, to_value as json_value};
pub use matrix::{version_of, MatrixReport, Row};

use crate::checks::{CheckResult, Status};
use crate::endpoint::{Entry, Transcript};
use crate::spec::Party;
use serde_json::Value;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

/// Everything a report says about one run.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub tool_version: String,
    /// Whose conformance the run judged: a server's (`check`) or a client's (`check-client`).
    pub judged: Party,
    /// The target, as the user named it.
    pub target: String,
    /// The greeting the target sent on a first connection, if it sent one.
    pub greeting: Option<Value>,
    pub started: SystemTime,
    pub duration: Duration,
    pub results: Vec<CheckResult>,
}

impl RunReport {
    /// How many checks came out with each status, in [`Status::ALL`] order.
    pub fn count(&self, s: Status) -> usize {
        self.results
            .iter()
            .filter(|r| r.outcome.status == s)
            .count()
    }

    /// What one result is, in words: `check`, or a client's `scenario`.
    pub fn noun(&self) -> &'static str {
        match self.judged {
            Party::Server => "check",
            Party::Client => "scenario",
        }
    }

    /// `3 pass, 1 fail, ...`
    pub fn summary_line(&self) -> String {
        summary_of(|s| self.count(s))
    }
}

/// `3 pass, 1 fail, ...`, from how many came out with each status.
pub fn summary_of(count: impl Fn(Status) -> usize) -> String {
    Status::ALL
        .iter()
        .map(|s| format!("{} {}", count(*s), s))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A report format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Junit,
    Markdown,
    Html,
}

/// Why a report could not be named or written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("unknown report format {0:?} (text, json, junit, markdown, html)")]
    UnknownFormat(String),
    #[error("{0:?}: expected FORMAT=PATH, e.g. json=report.json")]
    NotFormatEqualsPath(String),
    #[error("{0:?}: the path is empty")]
    EmptyPath(String),
    #[error("cannot write the {format} report to {}: {source}", path.display())]
    Write {
        format: Format,
        path: PathBuf,
        source: std::io::Error,
    },
}

impl FromStr for Format {
    type Err = ReportError;
    fn from_str(s: &str) -> Result<Format, ReportError> {
        match s {
            "text" => Ok(Format::Text),
            "json" => Ok(Format::Json),
            "junit" => Ok(Format::Junit),
            "markdown" | "md" => Ok(Format::Markdown),
            "html" => Ok(Format::Html),
            other => Err(ReportError::UnknownFormat(other.to_string())),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match self {
            Format::Text => "text",
            Format::Json => "json",
            Format::Junit => "junit",
            Format::Markdown => "markdown",
            Format::Html => "html",
        })
    }
}

/// `--report FORMAT=PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportSpec {
    pub format: Format,
    pub path: PathBuf,
}

impl FromStr for ReportSpec {
    type Err = ReportError;
    fn from_str(s: &str) -> Result<ReportSpec, ReportError> {
        let (f, p) = s
            .split_once('=')
            .ok_or_else(|| ReportError::NotFormatEqualsPath(s.to_string()))?;
        if p.is_empty() {
            return Err(ReportError::EmptyPath(s.to_string()));
        }
        Ok(ReportSpec {
            format: f.parse()?,
            path: PathBuf::from(p),
        })
    }
}

/// Render `run` in `format`.
pub fn render(run: &RunReport, format: Format) -> String {
    match format {
        Format::Text => text::render(run),
        Format::Json => json::render(run),
        Format::Junit => junit::render(run),
        Format::Markdown => markdown::render(run),
        Format::Html => html::render(run),
    }
}

/// Render `matrix` in `format`.
pub fn render_matrix(matrix: &MatrixReport, format: Format) -> String {
    match format {
        Format::Text => text::render_matrix(matrix),
        Format::Json => json::render_matrix(matrix),
        Format::Junit => junit::render_matrix(matrix),
        Format::Markdown => markdown::render_matrix(matrix),
        Format::Html => html::render_matrix(matrix),
    }
}

/// Render and write a report.
pub fn write(run: &RunReport, spec: &ReportSpec) -> Result<(), ReportError> {
    write_out(spec, render(run, spec.format))
}

/// Render and write a matrix report.
pub fn write_matrix(matrix: &MatrixReport, spec: &ReportSpec) -> Result<(), ReportError> {
    write_out(spec, render_matrix(matrix, spec.format))
}

fn write_out(spec: &ReportSpec, text: String) -> Result<(), ReportError> {
    std::fs::write(&spec.path, text).map_err(|source| ReportError::Write {
        format: spec.format,
        path: spec.path.clone(),
        source,
    })
}

/// RFC 3339 in UTC with milliseconds, e.g. `2026-11-25T11:06:00.123Z`.
pub fn rfc3339(t: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Longest entry shown in human-oriented reports (JSON keeps everything).
const SHOW_MAX: usize = 16 * 1024;

/// A transcript as human-readable lines: `-> ` for what was sent, `<- ` for what came back,
/// each entry cut at [`SHOW_MAX`] bytes.
pub fn transcript_lines(t: &[Entry]) -> String {
    let mut out = String::new();
    for e in t {
        let arrow = match e.dir {
            crate::endpoint::Dir::Send => "->",
            crate::endpoint::Dir::Recv => "<-",
        };
        let (shown, cut) = if e.bytes.len() > SHOW_MAX {
            (&e.bytes[..SHOW_MAX], e.bytes.len() - SHOW_MAX)
        } else {
            (&e.bytes[..], 0)
        };
        let mut text = Transcript::text(shown);
        if cut > 0 {
            text.push_str(&format!("[... {cut} more bytes ...]"));
        }
        for (i, line) in text.split_inclusive('\n').enumerate() {
            let prefix = if i == 0 {
                format!("{:>7.1} ms {arrow} ", e.at.as_secs_f64() * 1000.0)
            } else {
                " ".repeat(14)
            };
            out.push_str(&prefix);
            out.push_str(&line.replace('\r', "\\r").replace('\n', "\\n"));
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    #[test]
    fn rfc3339_is_right() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(1_795_604_760_123);
        assert_eq!(rfc3339(t), "2026-11-25T11:06:00.123Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(rfc3339(leap), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn report_specs_parse() {
        let s: ReportSpec = "junit=out/r.xml".parse().unwrap();
        assert_eq!(s.format, Format::Junit);
        assert_eq!(s.path, PathBuf::from("out/r.xml"));
        assert!("pdf=x".parse::<ReportSpec>().is_err());
        assert!("json".parse::<ReportSpec>().is_err());
        assert!("json=".parse::<ReportSpec>().is_err());
    }
}
