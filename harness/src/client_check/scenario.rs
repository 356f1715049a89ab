//! The scenario table: one row per scenario, holding everything about it (id, clause, title,
//! what the server does differently, how the client is judged). How binding the scenario is
//! comes from its clause's strength: a client MUST (or a MUST of the protocol) fails the
//! scenario when broken, a client SHOULD warns.

use crate::checks::Subject;
use crate::spec::Clause;
use std::time::Duration;

/// What the emulated monitor does differently in a scenario (on the scenario's first
/// connection; a reconnection gets [`Behaviour::Plain`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// QEMU 7.2's monitor as it is.
    Plain,
    /// The greeting comes only after this long; input received meanwhile waits for it.
    SlowGreeting(Duration),
    /// Unknown members at every level of the greeting.
    GreetingExtraMembers,
    /// The greeting offers an unknown capability before `oob`.
    UnknownCapability,
    /// The greeting offers no capability at all (QEMU without a monitor I/O thread).
    NoOob,
    /// Unknown members in every reply (top level, in the return value, in errors) and event.
    ReplyExtraMembers,
    /// Every message with its object members in reverse order of QEMU's.
    ReversedMembers,
    /// The first reply in command mode padded to at least this many bytes, written in many
    /// small pieces (the last split between CR and LF).
    LargeSplitReply(usize),
    /// Every message written in a few pieces cut at awkward places, with pauses.
    SplitMessages,
    /// The first command in command mode is answered with an error instead of being run.
    ErrorReply,
    /// A reply with an id the client never sent arrives before some replies (after a pause).
    UnknownIdReply,
    /// Events right after negotiation and before and after every reply.
    EventsInterleaved,
    /// After a pause, an event where the reply is awaited; the reply comes after another
    /// pause (every other command; the others' replies are paused alike, without the event).
    EventBeforeReply,
    /// A burst of this many events before the first reply in command mode, and an event
    /// after every reply.
    EventStorm(usize),
    /// Events with names no QEMU has (yet) before every reply.
    UnknownEvents,
    /// The first reply in command mode is cut in half and the connection closed.
    CloseMidReply,
    /// With `oob` enabled, in-band replies are held back so that `exec-oob` replies overtake
    /// them.
    OobOutOfOrder,
}

/// How the client's behaviour in a scenario relates to its behaviour in the baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// The scenario is the baseline itself.
    Baseline,
    /// A correct client cannot tell this scenario from the baseline: it exits with the same
    /// status and sends at least the commands it sent there.
    SameAsBaseline,
    /// The client may legitimately send other commands (it adapts to what the server
    /// offers), but a correct one still ends as in the baseline.
    SameEnd,
    /// The client legitimately acts differently (an error, a lost connection); judged on the
    /// wire and on how it ended only.
    OwnTerms,
}

/// One scenario.
#[derive(Debug, Clone, Copy)]
pub struct Scenario {
    /// `<area>.<name>`, stable once published.
    pub id: &'static str,
    /// The clause of `specs/clauses.json` the client must honour here.
    pub clause: Clause,
    pub title: &'static str,
    pub behaviour: Behaviour,
    pub expect: Expect,
}

/// How long a slow greeting keeps the client waiting.
pub const SLOW_GREETING: Duration = Duration::from_millis(1000);
/// The size a large reply is padded to (`query-qmp-schema` is 120-200 KB in QEMU).
pub const LARGE_REPLY: usize = 200 * 1024;
/// Events in a storm.
pub const STORM_EVENTS: usize = 1000;

const fn row(
    id: &'static str,
    clause: Clause,
    title: &'static str,
    behaviour: Behaviour,
    expect: Expect,
) -> Scenario {
    Scenario {
        id,
        clause,
        title,
        behaviour,
        expect,
    }
}

use Behaviour as B;
use Expect::{Baseline, OwnTerms, SameAsBaseline as Same};

/// Every scenario, the baseline first.
pub const ALL: &[Scenario] = &[
    row(
        "baseline.qemu-7.2",
        Clause::ClientNegotiateFirst,
                "QEMU 7.2's monitor as it is: the client negotiates, then sends well-formed commands",
        B::Plain,
        Baseline,
    ),
    row(
        "greeting.slow",
        Clause::ClientAwaitGreeting,
                "the greeting comes after 1 s: the client sends nothing before it",
        B::SlowGreeting(SLOW_GREETING),
        Same,
    ),
    row(
        "greeting.extra-members",
        Clause::CompatIgnoreUnknown,
                "the greeting has unknown members at every level",
        B::GreetingExtraMembers,
        Same,
    ),
    row(
        "greeting.unknown-capability",
        Clause::ClientEnableOffered,
                "the greeting offers an unknown capability first: the client does not enable it",
        B::UnknownCapability,
        Same,
    ),
    row(
        "greeting.no-oob",
        Clause::ClientEnableOffered,
                "the greeting offers no capability: the client does not enable oob, and copes",
        B::NoOob,
        Expect::SameEnd,
    ),
    row(
        "replies.extra-members",
        Clause::CompatIgnoreUnknown,
                "replies, errors and events carry unknown members",
        B::ReplyExtraMembers,
        Same,
    ),
    row(
        "replies.member-order",
        Clause::EncMemberOrder,
                "every message has its members in reverse order of QEMU's",
        B::ReversedMembers,
        Same,
    ),
    row(
        "replies.large-split",
        Clause::FrameCrlf,
                "the first reply is 200 KiB, written in about 70 pieces of odd sizes, CR and LF apart",
        B::LargeSplitReply(LARGE_REPLY),
        Same,
    ),
    row(
        "replies.split-messages",
        Clause::FrameCrlf,
                "every message, the greeting too, arrives in pieces cut mid-token",
        B::SplitMessages,
        Same,
    ),
    row(
        "replies.error",
        Clause::ReplyError,
                "the first command fails with an error reply: the client handles it and does not hang",
        B::ErrorReply,
        OwnTerms,
    ),
    row(
        "replies.unknown-id",
        Clause::ClientDropUnknownId,
                "a reply with an id the client never used comes first: the client keeps waiting for its own",
        B::UnknownIdReply,
        Same,
    ),
    row(
        "events.interleaved",
        Clause::ClientEventsAnytime,
                "events come after negotiation and before and after every reply: none is lost",
        B::EventsInterleaved,
        Same,
    ),
    row(
        "events.before-reply",
        Clause::ClientEventsAnytime,
                "an event comes where a reply is awaited, the reply 150 ms later: it is not taken for the reply",
        B::EventBeforeReply,
        Same,
    ),
    row(
        "events.storm",
        Clause::ClientEventsAnytime,
                "1000 events arrive before a reply: none is lost, the reply is still found",
        B::EventStorm(STORM_EVENTS),
        Same,
    ),
    row(
        "events.unknown",
        Clause::CompatIgnoreUnknown,
                "events no QEMU sends (yet) come before replies",
        B::UnknownEvents,
        Same,
    ),
    row(
        "connection.close-mid-reply",
        Clause::ClientConnectionLoss,
                "the connection closes in the middle of a reply: the client stops or reconnects cleanly",
        B::CloseMidReply,
        OwnTerms,
    ),
    row(
        "oob.out-of-order",
        Clause::OobOvertake,
                "exec-oob replies overtake held-back in-band replies: the client matches them by id",
        B::OobOutOfOrder,
        Same,
    ),
];

/// The scenario with this id.
pub fn by_id(id: &str) -> Option<&'static Scenario> {
    ALL.iter().find(|s| s.id == id)
}

impl Scenario {
    /// What a report says about the scenario.
    pub fn subject(&self) -> Subject {
        Subject {
            id: self.id,
            clause: self.clause,
            title: self.title,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Party, Strength};

    #[test]
    fn table_is_well_formed() {
        assert_eq!(ALL[0].expect, Expect::Baseline);
        assert_eq!(ALL.iter().filter(|s| s.expect == Baseline).count(), 1);
        let mut ids: Vec<&str> = ALL.iter().map(|s| s.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), ALL.len(), "duplicate scenario ids");
        for s in ALL {
            let name = &s.id[s.subject().area().len() + 1..];
            assert!(
                !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-.".contains(c)),
                "{}: bad id",
                s.id
            );
            assert!(crate::checks::by_id(s.id).is_none(), "{}: a check id", s.id);
        }
    }

    /// A scenario holds a client to a duty of the client or to a MUST of the protocol, and
    /// only `replies.unknown-id` to a SHOULD.
    #[test]
    fn scenarios_hold_clients_to_duties() {
        for s in ALL {
            let strength = s.clause.strength();
            assert!(
                matches!(
                    strength,
                    Strength::Must | Strength::ClientMust | Strength::ClientShould
                ),
                "{}: {} is {}",
                s.id,
                s.clause,
                strength.as_str()
            );
            let binding = strength.binds(Party::Client);
            assert_eq!(binding, s.id != "replies.unknown-id", "{}", s.id);
        }
    }
}
