//! The QMP specification as data: every clause qmpspec can hold an endpoint to, loaded from
//! `specs/clauses.json` (QEMU's `docs/interop/qmp-spec.rst`, paraphrased clause by clause).

use serde::Deserialize;
use std::sync::OnceLock;

/// How binding a clause is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strength {
    /// A server MUST obey it: breaking it is a `fail`.
    Must,
    /// A duty of the client; the server is not judged by it.
    Client,
    /// Something the spec explicitly permits.
    Allowed,
    /// A QEMU extension a server is expected to accept (`warn` when it does not).
    Extension,
    /// Background the checks rely on; never a failure on its own.
    Informational,
}

/// One clause of the specification.
#[derive(Debug, Clone, Deserialize)]
pub struct Clause {
    /// Stable id, e.g. `cmd.id-echo`.
    pub id: String,
    /// The section of the specification it belongs to.
    pub section: String,
    pub strength: Strength,
    /// The rule, paraphrased.
    pub rule: String,
    /// The strength as the notes word it.
    pub note: String,
}

#[derive(Deserialize)]
struct ClauseFile {
    clauses: Vec<Clause>,
}

const CLAUSES_JSON: &str = include_str!("../../specs/clauses.json");

/// Every clause, in specification order.
pub fn clauses() -> &'static [Clause] {
    static CLAUSES: OnceLock<Vec<Clause>> = OnceLock::new();
    CLAUSES.get_or_init(|| {
        serde_json::from_str::<ClauseFile>(CLAUSES_JSON)
            .expect("specs/clauses.json is part of the build and must parse")
            .clauses
    })
}

/// The clause with this id.
pub fn clause(id: &str) -> Option<&'static Clause> {
    clauses().iter().find(|c| c.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_clause_cited_in_the_code_exists() {
        let sources = [include_str!("session.rs"), include_str!("message.rs")];
        let mut cited = 0;
        for src in sources {
            for part in src.split('"').skip(1).step_by(2) {
                let looks_like_clause = part.split_once('.').is_some_and(|(a, b)| {
                    [
                        "enc",
                        "frame",
                        "greeting",
                        "cmd",
                        "reply",
                        "event",
                        "neg",
                        "oob",
                        "parser",
                        "compat",
                        "downstream",
                    ]
                    .contains(&a)
                        && !b.is_empty()
                        && b.chars().all(|c| c.is_ascii_lowercase() || c == '-')
                });
                if looks_like_clause {
                    assert!(clause(part).is_some(), "unknown clause {part}");
                    cited += 1;
                }
            }
        }
        assert!(cited > 10);
    }

    #[test]
    fn ids_are_unique() {
        let mut ids: Vec<_> = clauses().iter().map(|c| &c.id).collect();
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n);
    }
}
