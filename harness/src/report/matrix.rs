//! A matrix: the same checks run against several targets, one [`RunReport`] per target (a
//! column), read row by row (a check and its outcome on each target).

use super::RunReport;
use crate::checks::{CheckResult, Status, Subject};
use serde_json::Value;
use std::time::{Duration, SystemTime};

/// Everything a report says about one run of the same checks against several targets.
#[derive(Debug, Clone)]
pub struct MatrixReport {
    pub tool_version: String,
    pub started: SystemTime,
    /// From the start until the last target's last check.
    pub duration: Duration,
    /// One run per target, in the order the targets were given; every run holds the same
    /// checks in the same order.
    pub runs: Vec<RunReport>,
}

/// One row of a matrix: a check and how it came out on each target, in column order.
#[derive(Debug, Clone)]
pub struct Row<'a> {
    pub check: Subject,
    pub cells: Vec<&'a CheckResult>,
}

impl Row<'_> {
    /// The targets disagree: the check's status is not the same on all of them.
    pub fn differs(&self) -> bool {
        self.cells
            .windows(2)
            .any(|w| w[0].outcome.status != w[1].outcome.status)
    }

    /// Every target passed the check.
    pub fn all_pass(&self) -> bool {
        self.cells.iter().all(|c| c.outcome.status == Status::Pass)
    }
}

impl MatrixReport {
    /// A name per column that tells it apart from the others: the QEMU version the target's
    /// greeting gave (`QEMU 7.2.22`), or its description when it sent none; names that would
    /// be the same get their column number (`QEMU 7.2.22 #2`).
    pub fn columns(&self) -> Vec<String> {
        let base: Vec<String> = self
            .runs
            .iter()
            .map(|r| {
                r.greeting
                    .as_ref()
                    .and_then(version_of)
                    .unwrap_or_else(|| r.target.clone())
            })
            .collect();
        base.iter()
            .enumerate()
            .map(|(i, b)| {
                if base.iter().filter(|o| *o == b).count() > 1 {
                    format!("{b} #{}", i + 1)
                } else {
                    b.clone()
                }
            })
            .collect()
    }

    /// The rows, in the order of the checks.
    pub fn rows(&self) -> Vec<Row<'_>> {
        let Some(first) = self.runs.first() else {
            return Vec::new();
        };
        first
            .results
            .iter()
            .enumerate()
            .map(|(k, r)| Row {
                check: r.check,
                cells: self
                    .runs
                    .iter()
                    .filter_map(|run| cell(run, k, r.check.id))
                    .collect(),
            })
            .collect()
    }

    /// The rows where the targets disagree.
    pub fn differing(&self) -> Vec<Row<'_>> {
        self.rows().into_iter().filter(Row::differs).collect()
    }

    /// How many cells (a check on a target) came out with `s`.
    pub fn count(&self, s: Status) -> usize {
        self.runs.iter().map(|r| r.count(s)).sum()
    }

    /// How many checks each target ran (the same for all).
    pub fn checks(&self) -> usize {
        self.runs.first().map_or(0, |r| r.results.len())
    }

    /// `3 pass, 1 fail, ...` over every cell.
    pub fn summary_line(&self) -> String {
        super::summary_of(|s| self.count(s))
    }

    /// `Outcomes differ on 2 of 67 checks.`
    pub fn differ_sentence(&self) -> String {
        format!(
            "Outcomes differ on {} of {} checks.",
            self.differing().len(),
            self.checks()
        )
    }
}

/// Run `run`'s result for the check at `k` in the first run (the same place in every run of
/// one plan; looked up by id otherwise).
fn cell<'a>(run: &'a RunReport, k: usize, id: &str) -> Option<&'a CheckResult> {
    match run.results.get(k) {
        Some(r) if r.check.id == id => Some(r),
        _ => run.results.iter().find(|r| r.check.id == id),
    }
}

/// `QEMU 7.2.22`, from a greeting's `QMP.version.qemu`.
pub fn version_of(greeting: &Value) -> Option<String> {
    let q = greeting.get("QMP")?.get("version")?.get("qemu")?;
    let part = |k: &str| q.get(k).and_then(Value::as_u64);
    Some(format!(
        "QEMU {}.{}.{}",
        part("major")?,
        part("minor")?,
        part("micro")?
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::{self, Outcome};
    use crate::spec::Party;
    use serde_json::json;

    fn run(target: &str, version: Option<(u64, u64, u64)>, statuses: &[Status]) -> RunReport {
        let ids = ["greeting.first", "ids.numbers", "oob.overtake"];
        RunReport {
            tool_version: "0".into(),
            judged: Party::Server,
            target: target.into(),
            greeting: version.map(|(major, minor, micro)| {
                json!({"QMP": {"version": {"qemu": {"major": major, "minor": minor, "micro": micro}, "package": ""}, "capabilities": []}})
            }),
            started: SystemTime::UNIX_EPOCH,
            duration: Duration::ZERO,
            results: statuses
                .iter()
                .zip(ids)
                .map(|(s, id)| CheckResult {
                    check: checks::by_id(id).unwrap().subject(),
                    outcome: match s {
                        Status::Pass => Outcome::pass("ok"),
                        Status::Skip => Outcome::skip("n/a"),
                        _ => Outcome::error("x"),
                    },
                    duration: Duration::ZERO,
                })
                .collect(),
        }
    }

    fn matrix(runs: Vec<RunReport>) -> MatrixReport {
        MatrixReport {
            tool_version: "0".into(),
            started: SystemTime::UNIX_EPOCH,
            duration: Duration::ZERO,
            runs,
        }
    }

    #[test]
    fn columns_are_named_by_version_and_told_apart() {
        use Status::*;
        let m = matrix(vec![
            run("a", Some((7, 2, 22)), &[Pass]),
            run("b", Some((10, 0, 2)), &[Pass]),
            run("spawn:x", None, &[Pass]),
        ]);
        assert_eq!(m.columns(), ["QEMU 7.2.22", "QEMU 10.0.2", "spawn:x"]);
        let m = matrix(vec![
            run("a", Some((7, 2, 22)), &[Pass]),
            run("b", Some((7, 2, 22)), &[Pass]),
        ]);
        assert_eq!(m.columns(), ["QEMU 7.2.22 #1", "QEMU 7.2.22 #2"]);
    }

    #[test]
    fn rows_say_where_the_targets_disagree() {
        use Status::*;
        let m = matrix(vec![
            run("a", None, &[Pass, Pass, Skip]),
            run("b", None, &[Pass, Error, Skip]),
        ]);
        let rows = m.rows();
        assert_eq!(rows.len(), 3);
        assert_eq!(
            rows.iter().map(Row::differs).collect::<Vec<_>>(),
            [false, true, false]
        );
        assert!(rows[0].all_pass() && !rows[2].all_pass());
        assert_eq!(m.differing()[0].check.id, "ids.numbers");
        assert_eq!((m.count(Pass), m.count(Error), m.count(Skip)), (3, 1, 2));
        assert_eq!(m.checks(), 3);
    }
}
