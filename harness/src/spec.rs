//! The QMP specification as data: every clause qmpspec can hold an endpoint to, as the typed
//! [`Clause`] generated at build time from `specs/clauses.json` (QEMU's
//! `docs/interop/qmp-spec.rst`, paraphrased clause by clause). A clause's [`Strength`] decides
//! what breaking it costs a server.

use std::fmt;
use std::str::FromStr;

/// How binding a clause is, and for which end of the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Strength {
    /// A MUST of the protocol. It binds a server (breaking it is a `fail`), and a client
    /// wherever a client can break it: in the commands it sends (`cmd.shape`), or in reading
    /// what the server must send (`frame.crlf`).
    Must,
    /// A duty the client MUST (NOT) fulfil; a server is not judged by it.
    ClientMust,
    /// A duty the client SHOULD fulfil: breaking it only warns; a server is not judged by it.
    ClientShould,
    /// Something the spec explicitly permits.
    Allowed,
    /// A QEMU extension a server is expected to accept (`warn` when it does not).
    Extension,
    /// Background the checks rely on; never a failure on its own.
    Informational,
}

/// The end of the connection a run judges: `qmpspec check` judges servers, `qmpspec
/// check-client` clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Party {
    Server,
    Client,
}

impl Strength {
    /// Whether breaking a clause of this strength fails `party` (anything weaker only warns).
    pub fn binds(self, party: Party) -> bool {
        match party {
            Party::Server => self == Strength::Must,
            Party::Client => matches!(self, Strength::Must | Strength::ClientMust),
        }
    }

    /// The word `specs/clauses.json` uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Strength::Must => "must",
            Strength::ClientMust => "client-must",
            Strength::ClientShould => "client-should",
            Strength::Allowed => "allowed",
            Strength::Extension => "extension",
            Strength::Informational => "informational",
        }
    }
}

include!(concat!(env!("OUT_DIR"), "/clauses.rs"));

impl Clause {
    /// The clause with this id.
    pub fn from_id(id: &str) -> Option<Clause> {
        Clause::ALL.iter().copied().find(|c| c.id() == id)
    }
}

impl fmt::Display for Clause {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.pad(self.id())
    }
}

/// A clause id that `specs/clauses.json` does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown clause '{0}'")]
pub struct UnknownClause(pub String);

impl FromStr for Clause {
    type Err = UnknownClause;
    fn from_str(s: &str) -> Result<Clause, UnknownClause> {
        Clause::from_id(s).ok_or_else(|| UnknownClause(s.to_string()))
    }
}

impl serde::Serialize for Clause {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// The generated enum is `specs/clauses.json`, clause for clause, in the same order.
    #[test]
    fn the_enum_is_the_json() {
        let json: Value =
            serde_json::from_str(include_str!("../../specs/clauses.json")).expect("JSON");
        let listed = json["clauses"].as_array().expect("a clauses array");
        assert_eq!(listed.len(), Clause::ALL.len());
        for (c, j) in Clause::ALL.iter().zip(listed) {
            assert_eq!(c.id(), j["id"]);
            assert_eq!(c.section(), j["section"]);
            assert_eq!(c.strength().as_str(), j["strength"]);
            assert_eq!(c.rule(), j["rule"]);
            assert_eq!(c.note(), j["note"]);
            assert_eq!(c.id().parse::<Clause>(), Ok(*c));
            // A client duty's strength is the word its note starts with.
            match c.strength() {
                Strength::ClientMust => assert!(c.note().starts_with("client MUST"), "{c}"),
                Strength::ClientShould => assert!(c.note().starts_with("client SHOULD"), "{c}"),
                _ => assert!(!c.note().starts_with("client"), "{c}"),
            }
        }
        assert!("cmd.nope".parse::<Clause>().is_err());
    }

    #[test]
    fn only_a_must_binds_a_server_and_a_client_duty_binds_only_a_client() {
        assert!(Clause::CmdIdEcho.strength().binds(Party::Server));
        assert!(!Clause::EncSingleQuotes.strength().binds(Party::Server));
        assert!(!Clause::CompatIgnoreUnknown.strength().binds(Party::Server));
        assert!(Clause::CompatIgnoreUnknown.strength().binds(Party::Client));
        assert!(Clause::CmdShape.strength().binds(Party::Client));
        assert!(!Clause::OobId.strength().binds(Party::Client));
        assert!(!Clause::EventRateLimit.strength().binds(Party::Client));
        assert_eq!(Clause::FrameCrlf.to_string(), "frame.crlf");
    }
}
