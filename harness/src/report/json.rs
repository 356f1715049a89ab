//! The JSON report as DESIGN.md specifies it, plus two members a check carries: `violated`,
//! the clause the endpoint was found to break (it may differ from the check's own `clause`),
//! and `override`, why a broken MUST is only a warning (`null` when the strength decides).
//!
//! A matrix (several targets) is one object with the tool, the start and duration, the
//! column names, the summary over every cell, the ids of the checks whose outcomes differ
//! between targets, the matrix itself (per check: id, clause, title, one outcome per
//! column, whether they differ) and `runs`: per target, the report of its run exactly as
//! above, plus its `column` name.

use super::{rfc3339, MatrixReport, RunReport};
use crate::checks::{Reason, Status};
use crate::endpoint::Transcript;
use serde_json::{json, Map, Value};

/// `{"pass": N, "fail": N, ...}`
fn summary(count: impl Fn(Status) -> usize) -> Value {
    let mut summary = Map::new();
    for s in Status::ALL {
        summary.insert(s.as_str().into(), json!(count(s)));
    }
    Value::Object(summary)
}

/// The report as a JSON value.
pub fn to_value(run: &RunReport) -> Value {
    let checks: Vec<Value> = run
        .results
        .iter()
        .map(|r| {
            let transcript: Vec<Value> = r
                .outcome
                .transcript
                .iter()
                .map(|e| {
                    json!({
                        "dir": e.dir.as_str(),
                        "at_ms": e.at.as_millis() as u64,
                        "text": Transcript::text(&e.bytes),
                    })
                })
                .collect();
            let mut check = json!({
                "id": r.check.id,
                "clause": r.check.clause,
                "title": r.check.title,
                "outcome": r.outcome.status.as_str(),
                "violated": r.outcome.violated,
                "override": r.outcome.because.map(Reason::id),
                "message": r.outcome.headline(),
                "duration_ms": r.duration.as_millis() as u64,
                "transcript": transcript,
            });
            // Only outcomes that carry attachments (check-client's) have the member.
            if !r.outcome.attachments.is_empty() {
                check["attachments"] = r
                    .outcome
                    .attachments
                    .iter()
                    .map(|a| json!({"name": a.name, "text": a.text}))
                    .collect();
            }
            check
        })
        .collect();
    json!({
        "tool": {"name": "qmpspec", "version": run.tool_version},
        "target": {"description": run.target, "greeting": run.greeting.clone().unwrap_or(Value::Null)},
        "started": rfc3339(run.started),
        "duration_ms": run.duration.as_millis() as u64,
        "summary": summary(|s| run.count(s)),
        "checks": checks,
    })
}

/// A matrix report as a JSON value.
pub fn matrix_to_value(m: &MatrixReport) -> Value {
    let columns = m.columns();
    let rows = m.rows();
    let matrix: Vec<Value> = rows
        .iter()
        .map(|row| {
            json!({
                "id": row.check.id,
                "clause": row.check.clause,
                "title": row.check.title,
                "outcomes": row.cells.iter().map(|c| c.outcome.status.as_str()).collect::<Vec<_>>(),
                "differs": row.differs(),
            })
        })
        .collect();
    let runs: Vec<Value> = m
        .runs
        .iter()
        .zip(&columns)
        .map(|(run, column)| {
            let mut v = to_value(run);
            v["column"] = json!(column);
            v
        })
        .collect();
    json!({
        "tool": {"name": "qmpspec", "version": m.tool_version},
        "started": rfc3339(m.started),
        "duration_ms": m.duration.as_millis() as u64,
        "columns": columns,
        "summary": summary(|s| m.count(s)),
        "differing": rows.iter().filter(|r| r.differs()).map(|r| r.check.id).collect::<Vec<_>>(),
        "matrix": matrix,
        "runs": runs,
    })
}

pub fn render(run: &RunReport) -> String {
    pretty(&to_value(run))
}

pub fn render_matrix(m: &MatrixReport) -> String {
    pretty(&matrix_to_value(m))
}

fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).expect("a JSON value serializes");
    s.push('\n');
    s
}
