//! Reports of a run: JSON (the contract of DESIGN.md), JUnit XML, Markdown and a
//! self-contained HTML page. All of them come from one [`RunReport`].

mod html;
mod json;
mod junit;
mod markdown;

use crate::checks::{CheckResult, Status, TranscriptEntry};
use crate::endpoint::Transcript;
use serde_json::Value;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Everything a report says about one run.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub tool_version: String,
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

    /// `pass 3, fail 1, ...`
    pub fn summary_line(&self) -> String {
        Status::ALL
            .iter()
            .map(|s| format!("{} {}", self.count(*s), s))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A report format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Junit,
    Markdown,
    Html,
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Format, String> {
        match s {
            "json" => Ok(Format::Json),
            "junit" => Ok(Format::Junit),
            "markdown" | "md" => Ok(Format::Markdown),
            "html" => Ok(Format::Html),
            other => Err(format!(
                "unknown report format {other:?} (json, junit, markdown, html)"
            )),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match self {
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
    type Err = String;
    fn from_str(s: &str) -> Result<ReportSpec, String> {
        let (f, p) = s
            .split_once('=')
            .ok_or_else(|| format!("{s:?}: expected FORMAT=PATH, e.g. json=report.json"))?;
        if p.is_empty() {
            return Err(format!("{s:?}: the path is empty"));
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
        Format::Json => json::render(run),
        Format::Junit => junit::render(run),
        Format::Markdown => markdown::render(run),
        Format::Html => html::render(run),
    }
}

/// Render and write a report.
pub fn write(run: &RunReport, spec: &ReportSpec) -> Result<(), String> {
    write_to(run, spec.format, &spec.path)
}

fn write_to(run: &RunReport, format: Format, path: &Path) -> Result<(), String> {
    std::fs::write(path, render(run, format)).map_err(|e| {
        format!(
            "cannot write the {format} report to {}: {e}",
            path.display()
        )
    })
}

/// RFC 3339 in UTC with milliseconds, e.g. `2026-11-25T11:06:00.123Z`.
pub fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, dd) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{dd:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// A transcript entry's bytes as text (invalid UTF-8 and control characters escaped).
pub fn entry_text(e: &TranscriptEntry) -> String {
    Transcript::text(&e.bytes)
}

/// Longest entry shown in human-oriented reports (JSON keeps everything).
const SHOW_MAX: usize = 16 * 1024;

/// A transcript as human-readable lines: `-> ` for what was sent, `<- ` for what came back,
/// each entry cut at [`SHOW_MAX`] bytes.
pub fn transcript_lines(t: &[TranscriptEntry]) -> String {
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
