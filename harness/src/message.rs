//! Typed QMP messages, and the classification of anything a server sends.
//!
//! [`ServerMessage::classify`] turns one complete JSON text into a [`Greeting`], [`Reply`] or
//! [`Event`], or says precisely what is wrong with it ([`Malformed`]): which member is missing,
//! which has the wrong type. Unknown extra members are legal (`compat.ignore-unknown`) and
//! are kept. Payloads (`return`, event `data`) are validated as JSON but kept as raw text until
//! asked for, so classifying a large reply never builds a tree nobody reads.
//!
//! [`Command`] is the other direction: what a client sends, with QEMU's rules for checking
//! the envelope of client input ([`Command::from_input`]).

use crate::spec::Clause;
use crate::wire::{self, ParseError};
use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::fmt;
use thiserror::Error;

/// The JSON type of a value, for messages that say what was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonType {
    Null,
    Bool,
    Number,
    String,
    Array,
    Object,
}

impl JsonType {
    /// The type of a parsed value.
    pub fn of(v: &Value) -> JsonType {
        match v {
            Value::Null => JsonType::Null,
            Value::Bool(_) => JsonType::Bool,
            Value::Number(_) => JsonType::Number,
            Value::String(_) => JsonType::String,
            Value::Array(_) => JsonType::Array,
            Value::Object(_) => JsonType::Object,
        }
    }

    /// The type of raw (already validated) JSON text, from its first byte.
    pub fn of_raw(raw: &RawValue) -> JsonType {
        match raw.get().as_bytes().first() {
            Some(b'{') => JsonType::Object,
            Some(b'[') => JsonType::Array,
            Some(b'"') => JsonType::String,
            Some(b't' | b'f') => JsonType::Bool,
            Some(b'n') => JsonType::Null,
            _ => JsonType::Number,
        }
    }

    /// Lower-case name as used in messages.
    pub fn name(self) -> &'static str {
        match self {
            JsonType::Null => "null",
            JsonType::Bool => "boolean",
            JsonType::Number => "number",
            JsonType::String => "string",
            JsonType::Array => "array",
            JsonType::Object => "object",
        }
    }
}

impl fmt::Display for JsonType {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What is wrong with a server message that is not a valid QMP message.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum Malformed {
    #[error("not valid JSON: {0}")]
    InvalidJson(#[from] ParseError),
    #[error("not a JSON object but {0}")]
    NotAnObject(JsonType),
    #[error("object is none of greeting, reply or event (members: {0:?})")]
    Unrecognized(Vec<String>),
    #[error("object has both '{0}' and '{1}'")]
    Ambiguous(&'static str, &'static str),
    #[error("{kind}: member '{path}' is missing")]
    MissingMember { kind: &'static str, path: String },
    #[error("{kind}: member '{path}' must be {expected}, got {found}")]
    WrongType {
        kind: &'static str,
        path: String,
        expected: &'static str,
        found: JsonType,
    },
}

impl Malformed {
    /// The clause of QMP-NOTES this malformation breaks.
    pub fn clause(&self) -> Clause {
        match self {
            Malformed::InvalidJson(_) | Malformed::NotAnObject(_) => Clause::FrameObjectsOnly,
            Malformed::Unrecognized(_) | Malformed::Ambiguous(..) => Clause::FrameObjectsOnly,
            Malformed::MissingMember { kind, .. } | Malformed::WrongType { kind, .. } => {
                match *kind {
                    "greeting" => Clause::GreetingShape,
                    "event" => Clause::EventShape,
                    "error reply" => Clause::ReplyError,
                    _ => Clause::ReplyReturn,
                }
            }
        }
    }
}

/// `query-version`'s shape, as carried in the greeting.
#[derive(Debug, Clone, PartialEq)]
pub struct Version {
    pub major: i64,
    pub minor: i64,
    pub micro: i64,
    pub package: String,
}

/// The greeting: `{"QMP": {"version": ..., "capabilities": [...]}}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Greeting {
    pub version: Version,
    pub capabilities: Vec<String>,
    /// Members of `QMP` beyond `version` and `capabilities` (legal, kept).
    pub extra: Map<String, Value>,
}

impl Greeting {
    /// True when the server offers capability `cap` (e.g. `"oob"`).
    pub fn offers(&self, cap: &str) -> bool {
        self.capabilities.iter().any(|c| c == cap)
    }
}

/// An error reply's body: `{"class": ..., "desc": ...}`.
#[derive(Debug, Clone, PartialEq)]
pub struct QmpError {
    pub class: String,
    pub desc: String,
}

impl fmt::Display for QmpError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}: {}", self.class, self.desc)
    }
}

/// A command's reply: success or error, with the echoed `id` if any.
#[derive(Debug, Clone)]
pub struct Reply {
    pub id: Option<Value>,
    pub result: Result<Box<RawValue>, QmpError>,
    /// Top-level members beyond `id` and `return`/`error`.
    pub extra: Map<String, Value>,
}

impl Reply {
    /// The `return` value, parsed; `None` for an error reply, or when the payload cannot be
    /// built (see [`Reply::try_return_value`]).
    pub fn return_value(&self) -> Option<Value> {
        self.try_return_value()?.ok()
    }

    /// The `return` value, parsed: `None` for an error reply. Classification validated the
    /// payload's syntax but built no tree, so building it can still fail on what only a tree
    /// reveals: a repeated key deeper down, a number beyond double range, or a `\u` escape of
    /// a lone surrogate.
    pub fn try_return_value(&self) -> Option<Result<Value, ParseError>> {
        let raw = self.result.as_ref().ok()?;
        Some(wire::parse_value(raw.get().as_bytes(), false))
    }

    /// The error, if this is an error reply.
    pub fn error(&self) -> Option<&QmpError> {
        self.result.as_ref().err()
    }
}

/// An asynchronous event.
#[derive(Debug, Clone)]
pub struct Event {
    pub name: String,
    pub data: Option<Box<RawValue>>,
    /// `(seconds, microseconds)`; both -1 when the host time was unknown.
    pub timestamp: (f64, f64),
    pub extra: Map<String, Value>,
}

impl Event {
    /// The `data` member, parsed (`None` when absent).
    pub fn data_value(&self) -> Option<Value> {
        let raw = self.data.as_ref()?;
        wire::parse_value(raw.get().as_bytes(), false).ok()
    }
}

/// Anything a server may send, once classified.
#[derive(Debug, Clone)]
pub enum ServerMessage {
    Greeting(Greeting),
    Reply(Reply),
    Event(Event),
}

/// Top-level members of an object, values still raw; `None` if the text is not an object.
struct TopLevel<'a>(Option<Vec<(String, &'a RawValue)>>, JsonType);

struct TopLevelSeed;

impl<'de> DeserializeSeed<'de> for TopLevelSeed {
    type Value = TopLevel<'de>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<TopLevel<'de>, D::Error> {
        d.deserialize_any(TopLevelSeed)
    }
}

impl<'de> Visitor<'de> for TopLevelSeed {
    type Value = TopLevel<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut members: Vec<(String, &'de RawValue)> = Vec::with_capacity(4);
        while let Some(k) = map.next_key::<String>()? {
            let v: &'de RawValue = map.next_value()?;
            if members.iter().any(|(n, _)| *n == k) {
                return Err(de::Error::custom(format_args!("duplicate key `{k}`")));
            }
            members.push((k, v));
        }
        Ok(TopLevel(Some(members), JsonType::Object))
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<de::IgnoredAny>()?.is_some() {}
        Ok(TopLevel(None, JsonType::Array))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(TopLevel(None, JsonType::Bool))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(TopLevel(None, JsonType::Number))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(TopLevel(None, JsonType::Number))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(TopLevel(None, JsonType::Number))
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(TopLevel(None, JsonType::String))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(TopLevel(None, JsonType::Null))
    }
}

/// The top level of `text`, or `None` when it is not JSON (then [`wire::parse_value`] says
/// why).
fn parse_top(text: &[u8]) -> Option<TopLevel<'_>> {
    let mut de = serde_json::Deserializer::from_slice(text);
    de.disable_recursion_limit();
    let t = TopLevelSeed.deserialize(&mut de).ok()?;
    de.end().ok()?;
    Some(t)
}

/// Build the value of a member. `raw` was validated as JSON when the top level was read; a
/// repeated key deeper down is the only way this can fail.
fn value_of(raw: &RawValue) -> Result<Value, Malformed> {
    wire::parse_value(raw.get().as_bytes(), false).map_err(Malformed::InvalidJson)
}

struct Fields<'a> {
    kind: &'static str,
    members: &'a [(String, &'a RawValue)],
}

impl<'a> Fields<'a> {
    fn get(&self, name: &str) -> Option<&'a RawValue> {
        self.members
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| *v)
    }
    fn missing(&self, path: &str) -> Malformed {
        Malformed::MissingMember {
            kind: self.kind,
            path: path.to_string(),
        }
    }
    fn wrong(&self, path: &str, expected: &'static str, found: JsonType) -> Malformed {
        Malformed::WrongType {
            kind: self.kind,
            path: path.to_string(),
            expected,
            found,
        }
    }
    fn extra(&self, known: &[&str]) -> Result<Map<String, Value>, Malformed> {
        self.members
            .iter()
            .filter(|(k, _)| !known.contains(&k.as_str()))
            .map(|(k, v)| Ok((k.clone(), value_of(v)?)))
            .collect()
    }
    /// Member `name` of object value `v` (at `path`), required to be of JSON type `ty`.
    fn member<'v>(
        &self,
        obj: &'v Map<String, Value>,
        path: &str,
        name: &str,
        ty: JsonType,
    ) -> Result<&'v Value, Malformed> {
        let full = format!("{path}.{name}");
        let v = obj.get(name).ok_or_else(|| self.missing(&full))?;
        if JsonType::of(v) != ty {
            return Err(self.wrong(&full, article(ty), JsonType::of(v)));
        }
        Ok(v)
    }
}

fn article(ty: JsonType) -> &'static str {
    match ty {
        JsonType::Object => "an object",
        JsonType::Array => "an array",
        JsonType::String => "a string",
        JsonType::Number => "a number",
        JsonType::Bool => "a boolean",
        JsonType::Null => "null",
    }
}

fn int_member(
    f: &Fields,
    obj: &Map<String, Value>,
    path: &str,
    name: &str,
) -> Result<i64, Malformed> {
    let v = f.member(obj, path, name, JsonType::Number)?;
    v.as_i64()
        .ok_or_else(|| f.wrong(&format!("{path}.{name}"), "an integer", JsonType::Number))
}

impl ServerMessage {
    /// Classify one complete JSON text a server sent.
    ///
    /// ```
    /// use qmpspec::message::{ServerMessage, Malformed};
    /// let m = ServerMessage::classify(br#"{"return": {}, "id": 1}"#).unwrap();
    /// assert!(matches!(m, ServerMessage::Reply(_)));
    /// let e = ServerMessage::classify(br#"{"error": {"class": "GenericError"}}"#).unwrap_err();
    /// assert_eq!(e.to_string(), "error reply: member 'error.desc' is missing");
    /// ```
    pub fn classify(text: &[u8]) -> Result<ServerMessage, Malformed> {
        let top = match parse_top(text) {
            Some(t) => t,
            // Re-parse to get a precise error category (only on the failure path).
            None => {
                return Err(Malformed::InvalidJson(
                    wire::parse_value(text, false)
                        .err()
                        .unwrap_or(ParseError::ExpectingValue),
                ))
            }
        };
        let members = match top.0 {
            Some(m) => m,
            None => return Err(Malformed::NotAnObject(top.1)),
        };
        let has = |n: &str| members.iter().any(|(k, _)| k == n);
        let kinds = ["QMP", "return", "error", "event"];
        let present: Vec<&'static str> = kinds.iter().copied().filter(|k| has(k)).collect();
        match present.as_slice() {
            [] => Err(Malformed::Unrecognized(
                members.iter().map(|(k, _)| k.clone()).collect(),
            )),
            [a, b, ..] => Err(Malformed::Ambiguous(a, b)),
            ["QMP"] => Self::greeting(&members),
            ["event"] => Self::event(&members),
            [_] => Self::reply(&members),
        }
    }

    fn greeting(members: &[(String, &RawValue)]) -> Result<ServerMessage, Malformed> {
        let f = Fields {
            kind: "greeting",
            members,
        };
        let qmp = value_of(f.get("QMP").unwrap_or_default_raw())?;
        let qmp = match &qmp {
            Value::Object(o) => o,
            other => return Err(f.wrong("QMP", "an object", JsonType::of(other))),
        };
        let version = f.member(qmp, "QMP", "version", JsonType::Object)?;
        let version = version.as_object().expect("checked object");
        let qemu = f.member(version, "QMP.version", "qemu", JsonType::Object)?;
        let qemu = qemu.as_object().expect("checked object");
        let p = "QMP.version.qemu";
        let major = int_member(&f, qemu, p, "major")?;
        let minor = int_member(&f, qemu, p, "minor")?;
        let micro = int_member(&f, qemu, p, "micro")?;
        let package = f
            .member(version, "QMP.version", "package", JsonType::String)?
            .as_str()
            .unwrap_or_default()
            .to_string();
        let caps = f.member(qmp, "QMP", "capabilities", JsonType::Array)?;
        let mut capabilities = Vec::new();
        for (i, c) in caps.as_array().into_iter().flatten().enumerate() {
            match c {
                Value::String(s) => capabilities.push(s.clone()),
                other => {
                    return Err(f.wrong(
                        &format!("QMP.capabilities[{i}]"),
                        "a string",
                        JsonType::of(other),
                    ))
                }
            }
        }
        let extra = qmp
            .iter()
            .filter(|(k, _)| *k != "version" && *k != "capabilities")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok(ServerMessage::Greeting(Greeting {
            version: Version {
                major,
                minor,
                micro,
                package,
            },
            capabilities,
            extra,
        }))
    }

    fn reply(members: &[(String, &RawValue)]) -> Result<ServerMessage, Malformed> {
        let is_error = members.iter().any(|(k, _)| k == "error");
        let f = Fields {
            kind: if is_error { "error reply" } else { "reply" },
            members,
        };
        let id = f.get("id").map(value_of).transpose()?;
        let result = if let Some(ret) = f.get("return") {
            Ok(ret.to_owned())
        } else {
            let err = value_of(f.get("error").unwrap_or_default_raw())?;
            let obj = match &err {
                Value::Object(o) => o,
                other => return Err(f.wrong("error", "an object", JsonType::of(other))),
            };
            let class = f.member(obj, "error", "class", JsonType::String)?;
            let desc = f.member(obj, "error", "desc", JsonType::String)?;
            Err(QmpError {
                class: class.as_str().unwrap_or_default().to_string(),
                desc: desc.as_str().unwrap_or_default().to_string(),
            })
        };
        Ok(ServerMessage::Reply(Reply {
            id,
            result,
            extra: f.extra(&["id", "return", "error"])?,
        }))
    }

    fn event(members: &[(String, &RawValue)]) -> Result<ServerMessage, Malformed> {
        let f = Fields {
            kind: "event",
            members,
        };
        let name = f.get("event").unwrap_or_default_raw();
        let name = match value_of(name)? {
            Value::String(s) => s,
            other => return Err(f.wrong("event", "a string", JsonType::of(&other))),
        };
        let data = match f.get("data") {
            Some(d) if JsonType::of_raw(d) != JsonType::Object => {
                return Err(f.wrong("data", "an object", JsonType::of_raw(d)))
            }
            d => d.map(|d| d.to_owned()),
        };
        let ts = f.get("timestamp").ok_or_else(|| f.missing("timestamp"))?;
        let ts = value_of(ts)?;
        let ts = match &ts {
            Value::Object(o) => o,
            other => return Err(f.wrong("timestamp", "an object", JsonType::of(other))),
        };
        let num = |n: &str| -> Result<f64, Malformed> {
            let v = f.member(ts, "timestamp", n, JsonType::Number)?;
            Ok(v.as_f64().unwrap_or_default())
        };
        let timestamp = (num("seconds")?, num("microseconds")?);
        Ok(ServerMessage::Event(Event {
            name,
            data,
            timestamp,
            extra: f.extra(&["event", "data", "timestamp"])?,
        }))
    }
}

trait RawOr<'a> {
    fn unwrap_or_default_raw(self) -> &'a RawValue;
}

impl<'a> RawOr<'a> for Option<&'a RawValue> {
    fn unwrap_or_default_raw(self) -> &'a RawValue {
        self.unwrap_or_else(|| {
            let null: &'static RawValue =
                serde_json::from_str("null").expect("literal null is valid JSON");
            null
        })
    }
}

/// A command as a client sends it: `{"execute" | "exec-oob": name, "arguments"?, "id"?}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    pub name: String,
    /// Sent as `exec-oob` rather than `execute`.
    pub oob: bool,
    pub arguments: Option<Map<String, Value>>,
    pub id: Option<Value>,
}

/// Why client input is not an acceptable command (QEMU 7.2's texts, class GenericError).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CommandError {
    #[error("QMP input must be a JSON object")]
    NotAnObject,
    #[error("QMP input member '{0}' must be a string")]
    NotAString(&'static str),
    #[error("QMP input member 'arguments' must be an object")]
    ArgumentsNotObject,
    #[error("QMP input member '{0}' is unexpected")]
    Unexpected(String),
    #[error("QMP input member 'execute' clashes with 'exec-oob'")]
    Clash,
    #[error("QMP input lacks member 'execute'")]
    LacksExecute,
}

impl Command {
    /// An in-band command without arguments or id.
    pub fn new(name: impl Into<String>) -> Self {
        Command {
            name: name.into(),
            oob: false,
            arguments: None,
            id: None,
        }
    }

    /// Builder: set the `id`.
    pub fn id(mut self, id: impl Into<Value>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Builder: add one argument.
    pub fn arg(mut self, key: impl Into<String>, v: impl Into<Value>) -> Self {
        self.arguments
            .get_or_insert_with(Map::new)
            .insert(key.into(), v.into());
        self
    }

    /// Builder: send out of band (`exec-oob`).
    pub fn out_of_band(mut self) -> Self {
        self.oob = true;
        self
    }

    /// The command as a JSON object.
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        let key = if self.oob { "exec-oob" } else { "execute" };
        m.insert(key.into(), Value::String(self.name.clone()));
        if let Some(a) = &self.arguments {
            m.insert("arguments".into(), Value::Object(a.clone()));
        }
        if let Some(id) = &self.id {
            m.insert("id".into(), id.clone());
        }
        Value::Object(m)
    }

    /// The bytes to send (compact JSON and `\n`).
    pub fn encode(&self) -> Vec<u8> {
        wire::encode(&self.to_value(), wire::Style::Compact)
    }

    /// Interpret client input the way QEMU's dispatcher does. `oob_enabled` says whether the
    /// session negotiated `oob` (without it, `exec-oob` is an unexpected member).
    /// The `id`, when the input was an object, is returned even on error: QEMU echoes it.
    pub fn from_input(
        v: Value,
        oob_enabled: bool,
    ) -> Result<Command, (CommandError, Option<Value>)> {
        let mut obj = match v {
            Value::Object(o) => o,
            _ => return Err((CommandError::NotAnObject, None)),
        };
        let id = obj.remove("id");
        let fail = |e: CommandError, id: &Option<Value>| Err((e, id.clone()));
        let mut execute = None;
        let mut exec_oob = None;
        let mut arguments = None;
        for (k, val) in obj {
            match k.as_str() {
                "execute" => match val {
                    Value::String(s) => execute = Some(s),
                    _ => return fail(CommandError::NotAString("execute"), &id),
                },
                "exec-oob" if oob_enabled => match val {
                    Value::String(s) => exec_oob = Some(s),
                    _ => return fail(CommandError::NotAString("exec-oob"), &id),
                },
                "arguments" => match val {
                    Value::Object(a) => arguments = Some(a),
                    _ => return fail(CommandError::ArgumentsNotObject, &id),
                },
                _ => return fail(CommandError::Unexpected(k), &id),
            }
        }
        let (name, oob) = match (execute, exec_oob) {
            (Some(_), Some(_)) => return fail(CommandError::Clash, &id),
            (None, None) => return fail(CommandError::LacksExecute, &id),
            (Some(n), None) => (n, false),
            (None, Some(n)) => (n, true),
        };
        Ok(Command {
            name,
            oob,
            arguments,
            id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const GREETING: &[u8] = br#"{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "Debian 1:7.2+dfsg-7+deb12u18+b3"}, "capabilities": ["oob"]}}"#;

    #[test]
    fn greeting_parses() {
        match ServerMessage::classify(GREETING).unwrap() {
            ServerMessage::Greeting(g) => {
                assert_eq!(g.version.major, 7);
                assert_eq!(g.version.micro, 22);
                assert!(g.offers("oob"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn greeting_errors_name_the_member() {
        let e = ServerMessage::classify(br#"{"QMP": {"version": {"qemu": {"major": 7, "minor": 2}, "package": ""}, "capabilities": []}}"#).unwrap_err();
        assert_eq!(
            e.to_string(),
            "greeting: member 'QMP.version.qemu.micro' is missing"
        );
        assert_eq!(e.clause(), Clause::GreetingShape);
        let e = ServerMessage::classify(br#"{"QMP": {"version": {"qemu": {"major": 7, "minor": 2, "micro": 0}, "package": ""}, "capabilities": [1]}}"#).unwrap_err();
        assert_eq!(
            e.to_string(),
            "greeting: member 'QMP.capabilities[0]' must be a string, got number"
        );
    }

    #[test]
    fn reply_keeps_extra_members_and_raw_return() {
        let m = ServerMessage::classify(br#"{"return": {"a": [1, 2]}, "id": "x", "extra": true}"#)
            .unwrap();
        let ServerMessage::Reply(r) = m else { panic!() };
        assert_eq!(r.id, Some(json!("x")));
        assert_eq!(r.return_value(), Some(json!({"a": [1, 2]})));
        assert_eq!(r.extra.get("extra"), Some(&json!(true)));
    }

    #[test]
    fn event_shape() {
        let ok = br#"{"timestamp": {"seconds": -1, "microseconds": -1}, "event": "STOP"}"#;
        assert!(matches!(
            ServerMessage::classify(ok).unwrap(),
            ServerMessage::Event(_)
        ));
        let e = ServerMessage::classify(br#"{"event": "STOP"}"#).unwrap_err();
        assert_eq!(e.to_string(), "event: member 'timestamp' is missing");
        let e = ServerMessage::classify(
            br#"{"event": "STOP", "data": [], "timestamp": {"seconds": 1, "microseconds": 2}}"#,
        )
        .unwrap_err();
        assert_eq!(e.clause(), Clause::EventShape);
    }

    #[test]
    fn non_objects_and_ambiguity() {
        assert_eq!(
            ServerMessage::classify(b"[1]").unwrap_err(),
            Malformed::NotAnObject(JsonType::Array)
        );
        assert_eq!(
            ServerMessage::classify(br#"{"return": {}, "error": {}}"#).unwrap_err(),
            Malformed::Ambiguous("return", "error")
        );
        assert!(matches!(
            ServerMessage::classify(br#"{"a":1,"a":2}"#).unwrap_err(),
            Malformed::InvalidJson(ParseError::DuplicateKey(_))
        ));
    }

    /// Regression (message fuzz target): a return of 0.2345e+628 is valid JSON syntax, so it
    /// classifies, but its number is beyond double range, which only building it shows.
    #[test]
    fn out_of_range_payload_classifies_and_says_why_it_cannot_be_built() {
        let m = ServerMessage::classify(br#"{"return": 0.234567890123549e+628}"#).unwrap();
        let ServerMessage::Reply(r) = m else { panic!() };
        assert_eq!(r.try_return_value(), Some(Err(ParseError::InvalidNumber)));
        assert_eq!(r.return_value(), None);
        let m = ServerMessage::classify(br#"{"return": {"a": {"b": 1, "b": 2}}}"#).unwrap();
        let ServerMessage::Reply(r) = m else { panic!() };
        assert!(matches!(
            r.try_return_value(),
            Some(Err(ParseError::DuplicateKey(_)))
        ));
        // A lone surrogate escape fits the grammar but no string (message fuzz target).
        for payload in [
            &br#"{"return": ["\uD83d\uD000"]}"#[..],
            br#"{"return": ["\uD83dT"]}"#,
        ] {
            let m = ServerMessage::classify(payload).unwrap();
            let ServerMessage::Reply(r) = m else { panic!() };
            assert_eq!(r.try_return_value(), Some(Err(ParseError::InvalidEscape)));
        }
    }

    #[test]
    fn command_envelope_rules() {
        let c = Command::from_input(json!({"execute": "x", "id": [1]}), false).unwrap();
        assert_eq!(c.id, Some(json!([1])));
        let (e, id) = Command::from_input(json!({"foo": 1, "id": 3}), false).unwrap_err();
        assert_eq!(e.to_string(), "QMP input member 'foo' is unexpected");
        assert_eq!(id, Some(json!(3)));
        let (e, _) = Command::from_input(json!({"exec-oob": "x"}), false).unwrap_err();
        assert_eq!(e.to_string(), "QMP input member 'exec-oob' is unexpected");
        let (e, _) =
            Command::from_input(json!({"exec-oob": "x", "execute": "y"}), true).unwrap_err();
        assert_eq!(e, CommandError::Clash);
        let (e, _) = Command::from_input(json!({"id": 3}), true).unwrap_err();
        assert_eq!(e.to_string(), "QMP input lacks member 'execute'");
        let (e, _) = Command::from_input(json!(1), true).unwrap_err();
        assert_eq!(e, CommandError::NotAnObject);
    }

    #[test]
    fn command_encodes() {
        let c = Command::new("qmp_capabilities")
            .arg("enable", json!(["oob"]))
            .id(1);
        assert_eq!(
            c.encode(),
            b"{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[\"oob\"]},\"id\":1}\n"
        );
    }
}
