//! The wire observer: what a client did on one connection, as the server saw it, with times.
//! Filled in by [`super::server::ScenarioServer`]; judged by [`super::verdict`].

use super::scenario::Behaviour;
use crate::endpoint::Entry;
use crate::message::Command;
use crate::monitor::qobject::QObj;
use std::time::Duration;

/// One input item of the client (a command, or something that should have been one).
#[derive(Debug, Clone, PartialEq)]
pub struct CommandSeen {
    /// When its last byte arrived (since the scenario started).
    pub at: Duration,
    /// Its bytes as text, cut short (for messages).
    pub text: String,
    /// `execute` or `exec-oob`'s value, when the envelope is right.
    pub name: Option<String>,
    /// Sent with `exec-oob`.
    pub oob: bool,
    pub id: Option<QObj>,
    /// Why this is not a well-formed command (invalid JSON, wrong envelope), if it is not.
    pub problem: Option<String>,
    /// A deliberate parser reset (a control character, as the spec advises), not a mistake.
    pub reset: bool,
    /// Negotiation was not complete when the server read it.
    pub before_negotiation: bool,
    /// The error the server answered, if any.
    pub refused: Option<String>,
    /// When its reply was completely written.
    pub reply_at: Option<Duration>,
    /// When a decoy (an event or a stray reply) before its reply was completely written.
    pub decoy_at: Option<Duration>,
    /// Its reply was held back on purpose (with or without a decoy).
    pub held: bool,
}

impl CommandSeen {
    /// `name` or, failing that, the text.
    pub fn label(&self) -> String {
        match &self.name {
            Some(n) if self.oob => format!("exec-oob {n}"),
            Some(n) => n.clone(),
            None => self.text.clone(),
        }
    }
}

/// Everything observed on one connection.
#[derive(Debug, Clone)]
pub struct ConnLog {
    /// 0 for the scenario's connection, then reconnections.
    pub index: usize,
    pub behaviour: Behaviour,
    /// Since the scenario started.
    pub opened: Duration,
    /// When the greeting was completely written.
    pub greeting_at: Option<Duration>,
    /// Client bytes that arrived before the greeting was completely written.
    pub before_greeting: Vec<u8>,
    pub commands: Vec<CommandSeen>,
    /// Capabilities the client asked to enable that were refused or that the server made up.
    pub bad_enable: Vec<String>,
    /// `oob` was enabled.
    pub oob_enabled: bool,
    /// Tokens carried by the events written (to look for in the client's output).
    pub event_tokens: Vec<String>,
    /// The command whose reply was cut by closing the connection.
    pub cut_reply_of: Option<usize>,
    /// When the client closed its end.
    pub client_eof_at: Option<Duration>,
    /// A command the client left unfinished when it closed its end.
    pub unfinished: Option<String>,
    /// When the server closed the connection.
    pub closed_at: Option<Duration>,
    /// Exact bytes both ways (`send`: server to client).
    pub transcript: Vec<Entry>,
}

impl ConnLog {
    pub fn new(index: usize, behaviour: Behaviour, opened: Duration) -> ConnLog {
        ConnLog {
            index,
            behaviour,
            opened,
            greeting_at: None,
            before_greeting: Vec::new(),
            commands: Vec::new(),
            bad_enable: Vec::new(),
            oob_enabled: false,
            event_tokens: Vec::new(),
            cut_reply_of: None,
            client_eof_at: None,
            unfinished: None,
            closed_at: None,
            transcript: Vec::new(),
        }
    }

    /// Names of the well-formed commands, in order.
    pub fn command_names(&self) -> Vec<String> {
        self.commands
            .iter()
            .filter_map(|c| c.name.clone())
            .collect()
    }

    /// When the client next acted after `at`: its next command or closing its end.
    pub fn next_action_after(&self, at: Duration) -> Option<Duration> {
        let next_cmd = self.commands.iter().map(|c| c.at).find(|t| *t > at);
        match (next_cmd, self.client_eof_at.filter(|t| *t > at)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// Longest command text kept in a [`CommandSeen`].
const TEXT_MAX: usize = 160;

/// Input bytes as one line of text, cut at [`TEXT_MAX`] characters.
pub fn short_text(bytes: &[u8]) -> String {
    let text = crate::endpoint::Transcript::text(bytes.trim_ascii());
    crate::text::clip(&text, TEXT_MAX)
        .replace('\r', "\\r")
        .replace('\n', "\\n")
}

/// The command envelope's problem, if any (the spec's `cmd.shape`), judged by the message
/// model's own reading of client input, as QEMU's dispatcher words it: returns the command's
/// name and whether it is `exec-oob` (allowed here: whether `oob` was enabled is judged apart).
pub(super) fn envelope(v: &QObj) -> Result<(String, bool), String> {
    Command::from_input(v.to_value(), true)
        .map(|c| (c.name, c.oob))
        .map_err(|(e, _id)| e.to_string())
}

/// A parse error caused on purpose: the input holds a byte that resets QEMU's parser (an
/// ASCII control character but tab, CR and LF, or 0xFF as for old servers).
pub fn is_reset(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .any(|&b| (b < 0x20 && !matches!(b, b'\t' | b'\r' | b'\n')) || b == 0xFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dict(members: &[(&str, QObj)]) -> QObj {
        QObj::Dict(
            members
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    #[test]
    fn envelopes() {
        let s = QObj::str;
        assert_eq!(
            envelope(&dict(&[("execute", s("stop")), ("id", QObj::Int(1))])),
            Ok(("stop".into(), false))
        );
        assert_eq!(
            envelope(&dict(&[("exec-oob", s("yank"))])),
            Ok(("yank".into(), true))
        );
        assert!(envelope(&QObj::List(vec![])).is_err());
        assert!(envelope(&dict(&[("id", QObj::Int(1))])).is_err());
        assert!(envelope(&dict(&[("execute", QObj::Int(1))])).is_err());
        assert!(envelope(&dict(&[("execute", s("a")), ("exec-oob", s("b"))])).is_err());
        assert!(envelope(&dict(&[("execute", s("a")), ("arguments", QObj::Null)])).is_err());
        assert!(envelope(&dict(&[("execute", s("a")), ("x", QObj::Null)])).is_err());
    }

    #[test]
    fn resets_and_text() {
        assert!(is_reset(b"\x01"));
        assert!(is_reset(b"{\"a\xff"));
        assert!(!is_reset(b"{\"a\": 1}\r\n\t"));
        assert_eq!(short_text(b"  {\"a\":\n1}\r\n"), "{\"a\":\\n1}");
        assert!(short_text(&[b'x'; 500]).ends_with("..."));
    }
}
