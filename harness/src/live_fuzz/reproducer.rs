//! Reproducer files: a minimized finding as JSON, which `qmpspec replay` runs again.

use super::exec::{CaseSetup, Finding, FindingKind};
use super::generate::Input;
use crate::budget::Budget;
use crate::endpoint::Transcript;
use crate::message::Command;
use crate::spec::Clause;
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;
use thiserror::Error;

/// A reproducer file could not be read.
#[derive(Debug, Error)]
#[error("{path}: {reason}")]
pub struct ReproducerError {
    pub path: String,
    pub reason: String,
}

/// A saved finding: what to send, how, and what was seen.
#[derive(Debug, Clone)]
pub struct Reproducer {
    pub finding: Finding,
    pub setup: CaseSetup,
    pub inputs: Vec<Input>,
    pub seed: u64,
    /// The transcript of the minimized run, for people to read.
    pub transcript: Transcript,
}

fn input_to_json(i: &Input) -> Value {
    match i {
        Input::Command(c) => json!({"command": c.to_value()}),
        Input::Raw(b) => match std::str::from_utf8(b) {
            Ok(s) => json!({"text": s}),
            Err(_) => json!({"bytes": b}),
        },
    }
}

fn input_from_json(v: &Value) -> Option<Input> {
    if let Some(c) = v.get("command") {
        return Command::from_input(c.clone(), true)
            .ok()
            .map(Input::Command);
    }
    if let Some(t) = v.get("text").and_then(Value::as_str) {
        return Some(Input::Raw(t.as_bytes().to_vec()));
    }
    let bytes = v.get("bytes")?.as_array()?;
    bytes
        .iter()
        .map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()))
        .collect::<Option<Vec<u8>>>()
        .map(Input::Raw)
}

impl Reproducer {
    pub fn to_json(&self) -> Value {
        json!({
            "qmpspec-reproducer": 1,
            "kind": self.finding.kind.as_str(),
            "clause": self.finding.clause,
            "message": self.finding.message,
            "seed": self.seed,
            "enable_oob": self.setup.enable_oob,
            "probe": self.setup.probe,
            "budget_ms": self.setup.budget.reply().as_millis() as u64,
            "inputs": self.inputs.iter().map(input_to_json).collect::<Vec<_>>(),
            "transcript": self.transcript.coalesced().iter().map(|e| json!({
                "dir": e.dir.as_str(),
                "at_ms": e.at.as_millis() as u64,
                "text": Transcript::text(&e.bytes),
            })).collect::<Vec<_>>(),
        })
    }

    /// Read a reproducer file.
    pub fn load(path: &Path) -> Result<Reproducer, ReproducerError> {
        let err = |reason: String| ReproducerError {
            path: path.display().to_string(),
            reason,
        };
        let text = std::fs::read(path).map_err(|e| err(e.to_string()))?;
        let v: Value = serde_json::from_slice(&text).map_err(|e| err(format!("not JSON: {e}")))?;
        if v.get("qmpspec-reproducer").and_then(Value::as_u64) != Some(1) {
            return Err(err(
                "not a qmpspec reproducer (written by `qmpspec fuzz --out`)".into(),
            ));
        }
        let kind = v
            .get("kind")
            .and_then(Value::as_str)
            .and_then(FindingKind::from_name)
            .ok_or_else(|| err("missing or unknown \"kind\"".into()))?;
        let clause = v
            .get("clause")
            .and_then(Value::as_str)
            .and_then(Clause::from_id);
        let inputs = v
            .get("inputs")
            .and_then(Value::as_array)
            .ok_or_else(|| err("missing \"inputs\"".into()))?
            .iter()
            .enumerate()
            .map(|(i, x)| input_from_json(x).ok_or_else(|| err(format!("input {i} is malformed"))))
            .collect::<Result<Vec<_>, _>>()?;
        let ms = |k: &str, d: u64| v.get(k).and_then(Value::as_u64).unwrap_or(d);
        Ok(Reproducer {
            finding: Finding {
                kind,
                clause,
                message: v
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            },
            setup: CaseSetup {
                enable_oob: v
                    .get("enable_oob")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                probe: v
                    .get("probe")
                    .and_then(Value::as_str)
                    .unwrap_or("query-version")
                    .to_string(),
                budget: Budget::new(Duration::from_millis(ms("budget_ms", 2000))),
            },
            inputs,
            seed: ms("seed", 0),
            transcript: Transcript::default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let r = Reproducer {
            finding: Finding {
                kind: FindingKind::Violation,
                clause: Some(Clause::CmdIdEcho),
                message: "m".into(),
            },
            setup: CaseSetup {
                enable_oob: true,
                probe: "query-version".into(),
                budget: Budget::new(Duration::from_millis(1500)),
            },
            inputs: vec![
                Input::Command(Command::new("query-status").id(json!([1]))),
                Input::Raw(b"{\"a\":\x01\xff\n".to_vec()),
                Input::Raw(b"ok\n".to_vec()),
            ],
            seed: 9,
            transcript: Transcript::default(),
        };
        let dir = std::env::temp_dir().join(format!("qmpspec-repro-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("r.json");
        std::fs::write(&p, serde_json::to_vec_pretty(&r.to_json()).unwrap()).unwrap();
        let back = Reproducer::load(&p).unwrap();
        assert_eq!(back.inputs, r.inputs);
        assert_eq!(back.finding, r.finding);
        assert!(back.setup.enable_oob);
        std::fs::write(&p, b"{}").unwrap();
        assert!(Reproducer::load(&p)
            .unwrap_err()
            .to_string()
            .contains("not a qmpspec reproducer"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
