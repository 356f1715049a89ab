//! The JSON report, exactly as DESIGN.md specifies it.

use super::{entry_text, rfc3339, RunReport};
use crate::checks::Status;
use serde_json::{json, Map, Value};

/// The report as a JSON value.
pub fn to_value(run: &RunReport) -> Value {
    let mut summary = Map::new();
    for s in Status::ALL {
        summary.insert(s.as_str().into(), json!(run.count(s)));
    }
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
                        "text": entry_text(e),
                    })
                })
                .collect();
            json!({
                "id": r.check.id,
                "clause": r.check.clause,
                "title": r.check.title,
                "outcome": r.outcome.status.as_str(),
                "message": r.outcome.message,
                "duration_ms": r.duration.as_millis() as u64,
                "transcript": transcript,
            })
        })
        .collect();
    json!({
        "tool": {"name": "qmpspec", "version": run.tool_version},
        "target": {"description": run.target, "greeting": run.greeting.clone().unwrap_or(Value::Null)},
        "started": rfc3339(run.started),
        "duration_ms": run.duration.as_millis() as u64,
        "summary": Value::Object(summary),
        "checks": checks,
    })
}

pub fn render(run: &RunReport) -> String {
    let mut s = serde_json::to_string_pretty(&to_value(run)).expect("a JSON value serializes");
    s.push('\n');
    s
}
