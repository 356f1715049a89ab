//! How a check came out: a [`Status`], the [`Clause`] the endpoint was found to break (which
//! need not be the clause of the check's table row), and what was seen.
//!
//! The status of a broken clause follows from its strength for the party judged: a server
//! fails only a MUST; anything weaker (an extension QEMU accepts, a duty of the client,
//! something merely allowed) only warns, so what the specification allows never fails a
//! server. A client (`qmpspec check-client`) fails a MUST of the protocol or a client MUST,
//! and warns on a client SHOULD. An outcome that reports a broken MUST as a warning says
//! why, with a typed [`Reason`].

use crate::endpoint::Entry;
use crate::spec::{Clause, Party, Strength};
use std::fmt;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    Pass,
    Fail,
    Warn,
    Skip,
    Error,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Pass,
        Status::Fail,
        Status::Warn,
        Status::Skip,
        Status::Error,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Warn => "warn",
            Status::Skip => "skip",
            Status::Error => "error",
        }
    }

    /// What breaking `clause` makes of a check of `party`: `fail` when the clause binds it,
    /// `warn` otherwise.
    pub fn of_broken(party: Party, clause: Clause) -> Status {
        if clause.strength().binds(party) {
            Status::Fail
        } else {
            Status::Warn
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// Why a check reports a broken MUST clause as a warning rather than a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// What was seen departs from what QEMU does, but the specification does not require
    /// QEMU's way (an error class, a non-empty `desc`, the greeting matching `query-version`).
    QemuConvention,
    /// The specification only recommends it (a SHOULD within the clause).
    Recommended,
    /// What was seen may come down to timing: the clause permits the behaviour it checks
    /// for, so its absence alone does not prove the rule broken.
    Timing,
    /// Judged by a client's exit status, which the specification does not govern.
    ExitStatus,
}

impl Reason {
    /// Stable kebab-case name (the JSON report's `override`).
    pub fn id(self) -> &'static str {
        match self {
            Reason::QemuConvention => "qemu-convention",
            Reason::Recommended => "recommended",
            Reason::Timing => "timing",
            Reason::ExitStatus => "exit-status",
        }
    }

    /// What the reason means, for people.
    pub fn describe(self) -> &'static str {
        match self {
            Reason::QemuConvention => "QEMU's convention, not required by the specification",
            Reason::Recommended => "recommended, not required, by the specification",
            Reason::Timing => "may come down to timing; the clause permits what was looked for",
            Reason::ExitStatus => {
                "judged by the client's exit status, which the specification does not govern"
            }
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// The result of running one check.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub status: Status,
    /// The clause the endpoint was found to break (`fail` and `warn`).
    pub violated: Option<Clause>,
    /// Set when a broken MUST is only a warning, saying why.
    pub because: Option<Reason>,
    /// One line saying what was seen.
    pub message: String,
    /// Everything exchanged on the connections the check used, in order.
    pub transcript: Vec<Entry>,
    /// The failure may only be the consequence of a rule broken earlier (a stall after a
    /// reply with the wrong id, say): the session's first violation then names the cause.
    pub consequential: bool,
    /// Text besides the transcript that explains the outcome (a client's exit status and
    /// output, for `check-client`), shown by every report format.
    pub attachments: Vec<Attachment>,
}

/// A named piece of text attached to an [`Outcome`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub name: String,
    pub text: String,
}

impl Outcome {
    fn new(status: Status, violated: Option<Clause>, message: String) -> Outcome {
        Outcome {
            status,
            violated,
            because: None,
            message: crate::text::one_line(&message),
            transcript: Vec::new(),
            consequential: false,
            attachments: Vec::new(),
        }
    }

    pub fn pass(message: impl Into<String>) -> Outcome {
        Outcome::new(Status::Pass, None, message.into())
    }

    /// The server broke `clause`: a failure for a MUST, a warning for anything weaker.
    pub fn broken(clause: Clause, message: impl fmt::Display) -> Outcome {
        Outcome::broken_by(Party::Server, clause, message)
    }

    /// `party` broke `clause`: a failure when the clause binds it, a warning otherwise.
    pub fn broken_by(party: Party, clause: Clause, message: impl fmt::Display) -> Outcome {
        let status = Status::of_broken(party, clause);
        Outcome::new(status, Some(clause), message.to_string())
    }

    /// The endpoint broke the MUST `clause` (of the protocol, or a client MUST) in a way that
    /// only warrants a warning, for the stated reason.
    pub fn warn_because(clause: Clause, because: Reason, message: impl fmt::Display) -> Outcome {
        debug_assert!(
            matches!(clause.strength(), Strength::Must | Strength::ClientMust),
            "{clause} warns by its strength already"
        );
        Outcome {
            because: Some(because),
            ..Outcome::new(Status::Warn, Some(clause), message.to_string())
        }
    }

    /// [`Outcome::broken`] for what an earlier violation, if any, explains better (a stall, a
    /// missing reply).
    pub fn broken_after(clause: Clause, message: impl fmt::Display) -> Outcome {
        Outcome {
            consequential: true,
            ..Outcome::broken(clause, message)
        }
    }

    pub fn skip(reason: impl Into<String>) -> Outcome {
        Outcome::new(Status::Skip, None, reason.into())
    }

    /// The check could not run (harness or environment fault).
    pub fn error(message: impl Into<String>) -> Outcome {
        Outcome::new(Status::Error, None, message.into())
    }

    /// The message as reports show it: `[clause] message` when a clause was broken.
    pub fn headline(&self) -> String {
        match self.violated {
            Some(c) => format!("[{c}] {}", self.message),
            None => self.message.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_follows_the_strength_of_the_broken_clause() {
        let o = Outcome::broken(Clause::CmdIdEcho, "a\nb");
        assert_eq!(
            (o.status, o.violated),
            (Status::Fail, Some(Clause::CmdIdEcho))
        );
        assert_eq!(o.message, "a b");
        assert_eq!(o.headline(), "[cmd.id-echo] a b");
        assert_eq!(
            Outcome::broken(Clause::EncSingleQuotes, "x").status,
            Status::Warn
        );
        assert_eq!(
            Outcome::broken(Clause::CompatIgnoreUnknown, "x").status,
            Status::Warn
        );
        let o = Outcome::warn_because(Clause::ReplyError, Reason::QemuConvention, "x");
        assert_eq!(
            (o.status, o.because),
            (Status::Warn, Some(Reason::QemuConvention))
        );
        assert_eq!(Outcome::pass("ok").headline(), "ok");
    }

    #[test]
    fn a_client_fails_its_musts_and_warns_on_its_shoulds() {
        let status = |c| Outcome::broken_by(Party::Client, c, "x").status;
        assert_eq!(status(Clause::ClientNegotiateFirst), Status::Fail);
        assert_eq!(status(Clause::CompatIgnoreUnknown), Status::Fail);
        assert_eq!(status(Clause::CmdShape), Status::Fail);
        assert_eq!(status(Clause::ClientDropUnknownId), Status::Warn);
        assert_eq!(status(Clause::OobId), Status::Warn);
        let o = Outcome::warn_because(Clause::ClientConnectionLoss, Reason::ExitStatus, "x");
        assert_eq!(o.status, Status::Warn);
    }
}
