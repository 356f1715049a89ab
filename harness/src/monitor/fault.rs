//! Fault knobs: deliberate deviations from QEMU's behaviour, one per clause they break, so
//! that conformance checks can be shown to catch them. Names are stable (kebab-case).

use std::fmt;
use std::str::FromStr;

macro_rules! faults {
    ($( $variant:ident = $name:literal, $clause:literal, $desc:literal; )*) => {
        /// One deliberate deviation of the emulated monitor.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Fault { $( $variant, )* }

        impl Fault {
            /// Every fault, in a stable order.
            pub const ALL: &'static [Fault] = &[ $( Fault::$variant, )* ];

            /// The stable kebab-case name (`--fault NAME`).
            pub fn name(self) -> &'static str {
                match self { $( Fault::$variant => $name, )* }
            }

            /// The clause of the specification this fault breaks (`specs/clauses.json`;
            /// `robustness` and `schema` name check areas rather than a single clause).
            pub fn clause(self) -> &'static str {
                match self { $( Fault::$variant => $clause, )* }
            }

            /// What the monitor does differently, in one line.
            pub fn description(self) -> &'static str {
                match self { $( Fault::$variant => $desc, )* }
            }
        }
    };
}

faults! {
    NoGreeting = "no-greeting", "greeting.first",
        "sends no greeting on connect (commands are still answered)";
    BadGreeting = "bad-greeting", "greeting.shape",
        "greeting's version lacks 'package'";
    CapsNotStrings = "caps-not-strings", "greeting.capabilities",
        "greeting's capabilities hold a number besides \"oob\"";
    LfOnly = "lf-only", "frame.crlf",
        "messages end in LF instead of CRLF";
    NonAscii = "non-ascii", "enc.output-ascii",
        "non-ASCII text is sent as raw UTF-8 (the package string has an 'é')";
    NonObject = "non-object", "frame.objects-only",
        "a bare JSON array line follows the greeting";
    DropId = "drop-id", "cmd.id-echo",
        "replies never carry the command's id";
    WrongId = "wrong-id", "cmd.id-echo",
        "replies carry a different id than the command's";
    NoNegotiation = "no-negotiation", "neg.mode",
        "commands run before qmp_capabilities";
    EarlyEvents = "early-events", "neg.mode",
        "events are sent in negotiation mode (after the greeting, before each reply)";
    RejectEnable = "reject-enable", "neg.enable",
        "qmp_capabilities refuses enable [\"oob\"] although oob is offered";
    BadError = "bad-error", "reply.error",
        "error replies lack 'desc'";
    BadReturn = "bad-return", "reply.return",
        "successful replies (but qmp_capabilities's) carry \"return\": null";
    DoubleReply = "double-reply", "reply.one-per-command",
        "every reply in command mode is sent twice";
    NoReply = "no-reply", "reply.one-per-command",
        "the 1st, 3rd, 5th... command in command mode is never answered";
    Reorder = "reorder", "reply.in-order",
        "replies to pipelined in-band commands are swapped pairwise";
    BadEvent = "bad-event", "event.shape",
        "events lack 'timestamp'";
    OobBlocked = "oob-blocked", "oob.overtake",
        "exec-oob commands wait behind queued in-band commands";
    OobAny = "oob-any", "oob.allow-oob",
        "exec-oob is accepted for any command, not only allow-oob ones";
    NoReset = "no-reset", "parser.reset",
        "control characters and 0xFE/0xFF bytes are dropped instead of resetting the parser";
    NoArgCheck = "no-arg-check", "compat.arg-check",
        "arguments are not type-checked: unknown and ill-typed arguments are accepted";
    InventedClass = "invented-class", "reply.error",
        "errors carry the invented class \"ProtocolError\"";
    NoSingleQuotes = "no-single-quotes", "enc.single-quotes",
        "'single-quoted' strings are a parse error";
    AcceptBadUtf8 = "accept-bad-utf8", "enc.input-utf8",
        "invalid UTF-8 in strings is accepted (replaced by U+FFFD)";
    CrashOnDeep = "crash-on-deep", "robustness",
        "closes the connection when input nests deeper than 100 levels";
    StallOnLarge = "stall-on-large", "robustness",
        "stops answering after a message larger than 64 KiB";
    WrongReturnType = "wrong-return-type", "schema",
        "query-version's return has a string 'micro'";
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown fault name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown fault '{0}' (see --list-faults)")]
pub struct UnknownFault(pub String);

impl FromStr for Fault {
    type Err = UnknownFault;
    fn from_str(s: &str) -> Result<Fault, UnknownFault> {
        Fault::ALL
            .iter()
            .copied()
            .find(|f| f.name() == s)
            .ok_or_else(|| UnknownFault(s.to_string()))
    }
}

/// A set of faults (combinable).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultSet(u64);

impl FaultSet {
    pub fn new(faults: &[Fault]) -> FaultSet {
        let mut s = FaultSet::default();
        for f in faults {
            s.0 |= 1 << (*f as u32);
        }
        s
    }
    pub fn has(self, f: Fault) -> bool {
        self.0 & (1 << (f as u32)) != 0
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub fn iter(self) -> impl Iterator<Item = Fault> {
        Fault::ALL.iter().copied().filter(move |f| self.has(*f))
    }
}

/// The `--list-faults` table: `name  clause  description`, one line each.
pub fn list_faults() -> String {
    let w = Fault::ALL.iter().map(|f| f.name().len()).max().unwrap_or(0);
    let cw = Fault::ALL
        .iter()
        .map(|f| f.clause().len())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for f in Fault::ALL {
        out.push_str(&format!(
            "{:w$}  {:cw$}  {}\n",
            f.name(),
            f.clause(),
            f.description()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_clauses_exist() {
        assert!(Fault::ALL.len() >= 27);
        for f in Fault::ALL {
            assert_eq!(f.name().parse::<Fault>().unwrap(), *f);
            let c = f.clause();
            assert!(
                crate::spec::clause(c).is_some() || c == "robustness" || c == "schema",
                "{f}: unknown clause {c}"
            );
        }
        assert!("nope".parse::<Fault>().is_err());
    }

    #[test]
    fn sets_combine() {
        let s = FaultSet::new(&[Fault::DropId, Fault::LfOnly]);
        assert!(s.has(Fault::DropId) && s.has(Fault::LfOnly) && !s.has(Fault::Reorder));
        assert_eq!(s.iter().count(), 2);
    }
}
