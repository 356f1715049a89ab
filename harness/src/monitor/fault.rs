//! Fault knobs: deliberate deviations from QEMU's behaviour, each tied to the clause it
//! breaks, so that conformance checks (and QMP clients) can be shown to catch them; and
//! variations the specification allows (extra members, another member order, pretty-printed
//! output, an unknown capability), which nothing may fail. Names are stable (kebab-case).

use super::qobject::QObj;
use crate::spec::Clause;
use serde_json::{json, Value};
use std::fmt;
use std::str::FromStr;

macro_rules! faults {
    (@breaks breaks) => { true };
    (@breaks allowed) => { false };
    ($( $variant:ident = $name:literal, $kind:ident($clause:ident), $desc:literal; )*) => {
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

            /// The clause of the specification this fault breaks, or (for a variation the
            /// specification allows) the clause that allows it.
            pub fn clause(self) -> Clause {
                match self { $( Fault::$variant => Clause::$clause, )* }
            }

            /// True for a real deviation; false for a variation the specification allows,
            /// which no conformance check may fail.
            pub fn breaks(self) -> bool {
                match self { $( Fault::$variant => faults!(@breaks $kind), )* }
            }

            /// What the monitor does differently, in one line.
            pub fn description(self) -> &'static str {
                match self { $( Fault::$variant => $desc, )* }
            }
        }
    };
}

faults! {
    NoGreeting = "no-greeting", breaks(GreetingFirst),
        "sends no greeting on connect (commands are still answered)";
    BadGreeting = "bad-greeting", breaks(GreetingShape),
        "greeting's version lacks 'package'";
    CapsNotStrings = "caps-not-strings", breaks(GreetingCapabilities),
        "greeting's capabilities hold a number besides \"oob\"";
    LfOnly = "lf-only", breaks(FrameCrlf),
        "messages end in LF instead of CRLF";
    NonAscii = "non-ascii", breaks(EncOutputAscii),
        "non-ASCII text is sent as raw UTF-8 (the package string has an 'é')";
    NonObject = "non-object", breaks(FrameObjectsOnly),
        "a bare JSON array line follows the greeting";
    DropId = "drop-id", breaks(CmdIdEcho),
        "replies never carry the command's id";
    WrongId = "wrong-id", breaks(CmdIdEcho),
        "replies carry a different id than the command's";
    NoNegotiation = "no-negotiation", breaks(NegMode),
        "commands run before qmp_capabilities";
    EarlyEvents = "early-events", breaks(NegMode),
        "events are sent in negotiation mode (after the greeting, before each reply)";
    RejectEnable = "reject-enable", breaks(NegEnable),
        "qmp_capabilities refuses enable [\"oob\"] although oob is offered";
    BadError = "bad-error", breaks(ReplyError),
        "error replies lack 'desc'";
    BadReturn = "bad-return", breaks(ReplyReturn),
        "successful replies (but qmp_capabilities's) carry \"return\": null";
    DoubleReply = "double-reply", breaks(ReplyOnePerCommand),
        "every reply in command mode is sent twice";
    NoReply = "no-reply", breaks(ReplyOnePerCommand),
        "the 1st, 3rd, 5th... command in command mode is never answered";
    Reorder = "reorder", breaks(ReplyInOrder),
        "replies to pipelined in-band commands are swapped pairwise";
    BadEvent = "bad-event", breaks(EventShape),
        "events lack 'timestamp'";
    OobBlocked = "oob-blocked", breaks(OobOvertake),
        "exec-oob commands wait behind queued in-band commands";
    OobAny = "oob-any", breaks(OobAllowOob),
        "exec-oob is accepted for any command, not only allow-oob ones, and without oob enabled";
    NoReset = "no-reset", breaks(ParserReset),
        "control characters and 0xFE/0xFF bytes are dropped instead of resetting the parser";
    NoArgCheck = "no-arg-check", breaks(CompatArgCheck),
        "arguments are not checked: unknown, ill-typed and missing arguments are accepted (qom-list then reads /)";
    InventedClass = "invented-class", breaks(ReplyError),
        "errors carry the invented class \"ProtocolError\"";
    NoSingleQuotes = "no-single-quotes", breaks(EncSingleQuotes),
        "'single-quoted' strings are a parse error";
    AcceptBadUtf8 = "accept-bad-utf8", breaks(EncInputUtf8),
        "invalid UTF-8 in strings is accepted (replaced by U+FFFD)";
    CrashOnDeep = "crash-on-deep", breaks(ReplyOnePerCommand),
        "closes the connection when input nests deeper than 100 levels";
    StallOnLarge = "stall-on-large", breaks(ReplyOnePerCommand),
        "stops answering after a message larger than 64 KiB";
    WrongReturnType = "wrong-return-type", breaks(ReplyReturn),
        "query-version's return has a string 'micro'";
    OrderSensitive = "order-sensitive", breaks(CmdShape),
        "a command whose first member is not execute (or exec-oob) is refused";
    LineBased = "line-based", breaks(CmdShape),
        "each line is read as one whole JSON text: a command over several lines, two on one line, or a blank line is a parse error";
    ReadIsMessage = "read-is-message", breaks(CmdShape),
        "each read from the connection is taken as one whole JSON text, however the input was split";
    CapsTwice = "caps-twice", breaks(NegEnterCommandMode),
        "qmp_capabilities succeeds again in command mode";
    CapsNoEffect = "caps-no-effect", breaks(NegEnterCommandMode),
        "qmp_capabilities succeeds but leaves the session in negotiation mode";
    AcceptUnknownCap = "accept-unknown-cap", breaks(NegEnable),
        "qmp_capabilities enables capabilities the greeting did not offer";
    UnknownGeneric = "unknown-generic", breaks(ReplyError),
        "an unknown command fails with class GenericError instead of CommandNotFound (in command mode)";
    InventId = "invent-id", breaks(CmdIdEcho),
        "replies to commands without an id carry an invented one";
    RejectEmptyArgs = "reject-empty-args", breaks(CmdShape),
        "\"arguments\": {} is refused, although it is the same as no arguments";
    BadQueryCommands = "bad-query-commands", breaks(ReplyReturn),
        "query-commands returns bare names instead of {\"name\": ...} objects";
    LenientEnvelope = "lenient-envelope", breaks(CmdShape),
        "input that is not a well-formed command (not an object; an unexpected, clashing or missing member; execute or arguments of the wrong type) succeeds with {}";
    EventInReply = "event-in-reply", breaks(EventNotInsideReply),
        "in command mode an event is written into the middle of every successful reply";
    SilentParseError = "silent-parse-error", breaks(ReplyOnePerCommand),
        "JSON parse errors draw no reply";
    WedgeOnDisconnect = "wedge-on-disconnect", breaks(GreetingFirst),
        "a client leaving in the middle of a command wedges the server: later connections get nothing, not even a greeting";
    SchemaMissesCommand = "schema-misses-command", breaks(ReplyReturn),
        "query-qmp-schema leaves out query-name, which query-commands lists and which runs";
    BadDownstreamName = "bad-downstream-name", breaks(DownstreamNames),
        "query-commands also lists __drive-mirror, a downstream name without the __RFQDN_ prefix";
    InfNumbers = "inf-numbers", breaks(FrameObjectsOnly),
        "a number beyond double range is read as infinity and written back as the bare word inf (QEMU 7.2's bug)";
    PickyStrings = "picky-strings", breaks(CompatArgCheck),
        "string arguments holding a digit are refused with the argument check's type error, although the schema allows them";
    ExtraMembers = "extra-members", allowed(CompatIgnoreUnknown),
        "every message, the greeting's QMP member, errors and event timestamps carry members the schema does not list";
    ReversedMembers = "reversed-members", allowed(EncMemberOrder),
        "the members of every object are written in reverse order";
    PrettyPrinted = "pretty-printed", allowed(FrameCrlf),
        "every message is pretty-printed over several CRLF-terminated lines";
    UnknownCapability = "unknown-capability", allowed(GreetingCapabilities),
        "the greeting also offers the capability x-future (first), which qmp_capabilities accepts";
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A message as the output variations in `faults` write it (terminator included), or
/// `None` when none of them is set: members the schema does not list (`extra-members`), the
/// members of every object in reverse order (`reversed-members`), pretty-printed over
/// several CRLF-terminated lines (`pretty-printed`).
pub(crate) fn vary(faults: FaultSet, msg: &QObj) -> Option<Vec<u8>> {
    let (extra, reversed, pretty) = (
        faults.has(Fault::ExtraMembers),
        faults.has(Fault::ReversedMembers),
        faults.has(Fault::PrettyPrinted),
    );
    if !(extra || reversed || pretty) {
        return None;
    }
    let mut v = msg.to_value();
    if let (true, Value::Object(m)) = (extra, &mut v) {
        m.insert("x-qmpspec-extra".into(), json!({"a": [1, "two"]}));
        for inner in ["QMP", "error", "timestamp"] {
            if let Some(Value::Object(o)) = m.get_mut(inner) {
                o.insert("x-more".into(), json!(true));
            }
        }
    }
    if reversed {
        v = reverse_members(v);
    }
    let terminator: &[u8] = if faults.has(Fault::LfOnly) {
        b"\n"
    } else {
        b"\r\n"
    };
    let mut out = if pretty {
        let text = serde_json::to_string_pretty(&v).expect("a JSON value serializes");
        let mut escaped = String::with_capacity(text.len());
        for c in text.replace('\n', "\r\n").chars() {
            if c.is_ascii() || faults.has(Fault::NonAscii) {
                escaped.push(c);
            } else {
                for u in c.encode_utf16(&mut [0u16; 2]) {
                    escaped.push_str(&format!("\\u{u:04X}"));
                }
            }
        }
        escaped.into_bytes()
    } else {
        let mut b = Vec::new();
        crate::wire::encode_into(&v, crate::wire::Style::Qemu, &mut b);
        b
    };
    out.extend_from_slice(terminator);
    Some(out)
}

/// `v` with the members of every object in reverse order.
pub(crate) fn reverse_members(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .rev()
                .map(|(k, x)| (k, reverse_members(x)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(reverse_members).collect()),
        other => other,
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
        .map(|f| f.clause().id().len())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for f in Fault::ALL {
        let allowed = if f.breaks() { "" } else { "(allowed) " };
        out.push_str(&format!(
            "{:w$}  {:cw$}  {allowed}{}\n",
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
    fn names_round_trip() {
        assert!(Fault::ALL.len() >= 27);
        assert!(Fault::ALL.len() <= 64, "a FaultSet holds 64");
        for f in Fault::ALL {
            assert_eq!(f.name().parse::<Fault>().unwrap(), *f);
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
