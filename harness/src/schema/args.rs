//! QEMU's argument check: an emulation of what `qobject-input-visitor` (strict mode) reports
//! while the generated `qmp_marshal_*` code visits a command's arguments, with QEMU 7.2's texts.
//!
//! What QEMU 7.2 does (seen live, see the unit tests):
//! - Members are visited in schema order (base members, then the members of the variant the
//!   tag selects); the first problem wins; unexpected members are reported after all known
//!   members of that object were visited, so `{"x":1}` for a command with a mandatory member
//!   reports the missing member, not the unexpected one.
//! - Type errors, missing and unexpected members name the full path (`children[1].filename`),
//!   but enum value errors and alternate type errors name only the innermost member, and a list
//!   element is then called `null`: `Parameter 'null' does not accept value 'foo'`,
//!   `Invalid parameter type for 'null', expected: BlockdevRef`.
//! - Alternate type errors name the QAPI type, which introspection hides (type names are
//!   opaque numbers); the alternates of QEMU 7.2 are recognised by their shape.
//! - With several unexpected members, QEMU names the first one in the iteration order of a
//!   GLib hash table; [`super::ghash`] reproduces that order.
//! - Integer widths are not in introspection (every integer type is `int`). Where the schema
//!   knows them ([`Schema::int_kind`]: QEMU 7.2's argument members, probed live), signed
//!   members reject non-int64 values with `Invalid parameter type for 'a.b', expected: integer`
//!   and out-of-range ones with `Parameter 'b' expects int32_t` (bare name), unsigned members
//!   take negative int64s (as 2^64 + i), reject other non-integers with
//!   `Parameter 'a.b' expects uint64` (full name) and out-of-range values with
//!   `Parameter 'b' expects uint8_t`. Where unknown, any integer QEMU's parser produces (int64
//!   or uint64 range) passes.
//!
//! - Commands whose arguments QEMU does not visit (`'gen': false`, invisible in
//!   introspection): `device_add` is emulated by hand (see [`check_device_add`]).
//!
//! Not emulated: the checks commands make themselves once their arguments passed, e.g.
//! `Parameter 'compress_level' expects a value between 0 and 9` (`migrate-set-parameters`),
//! `Parameter 'protocol' expects 'spice'` (`client_migrate_info`).

use super::{ghash, is_qemu_int, AlternateType, IntKind, JsonType, ObjectType, Schema, TypeDef};
use serde_json::{Map, Value};
use thiserror::Error;

/// Why QEMU's argument check refuses a command's arguments. `Display` is the `desc` of the
/// error QEMU 7.2 answers with (class `GenericError`, or `CommandNotFound` for an unknown
/// command).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ArgumentError {
    #[error("The command {0} has not been found")]
    CommandNotFound(String),
    /// A mandatory member is missing (its full path).
    #[error("Parameter '{0}' is missing")]
    Missing(String),
    /// A member the type does not have (its full path).
    #[error("Parameter '{0}' is unexpected")]
    Unexpected(String),
    /// A value of the wrong JSON type: `member` is the full path, or for an alternate the
    /// innermost name; `expected` a JSON type or a QAPI type name.
    #[error("Invalid parameter type for '{member}', expected: {expected}")]
    WrongType { member: String, expected: String },
    /// A non-integer, or an integer below zero beyond int64, for an unsigned member.
    #[error("Parameter '{0}' expects uint64")]
    NotUnsigned(String),
    /// A string that is not a value of the enum (the innermost member name; `null` for a
    /// list element).
    #[error("Parameter '{member}' does not accept value '{value}'")]
    NotInEnum { member: String, value: String },
    /// An integer outside the range of the member's C type (the innermost member name).
    #[error("Parameter '{member}' expects {c_type}")]
    OutOfRange {
        member: String,
        c_type: &'static str,
    },
    /// `device_add`'s `id` is not an identifier.
    #[error("Parameter 'id' expects an identifier")]
    NotAnIdentifier,
    #[error("JSON nesting depth limit exceeded")]
    TooDeep,
}

impl ArgumentError {
    /// The member the error names, as QEMU names it (see the variants), if any.
    pub fn member(&self) -> Option<&str> {
        match self {
            ArgumentError::Missing(m)
            | ArgumentError::Unexpected(m)
            | ArgumentError::NotUnsigned(m)
            | ArgumentError::WrongType { member: m, .. }
            | ArgumentError::NotInEnum { member: m, .. }
            | ArgumentError::OutOfRange { member: m, .. } => Some(m),
            ArgumentError::NotAnIdentifier => Some("id"),
            ArgumentError::CommandNotFound(_) | ArgumentError::TooDeep => None,
        }
    }
}

/// QEMU's JSON parser refuses deeper input (`JSON nesting depth limit exceeded`); the check
/// stops there too instead of recursing without bound.
pub(super) const MAX_DEPTH: usize = 1024;

/// Commands QEMU 7.2 declares with `'gen': false`: QAPI does not visit their arguments, the
/// command checks them itself. Each names the members it requires.
const UNVISITED_COMMANDS: &[(&str, &[&str])] = &[("device_add", &["driver"])];

/// The members an unvisited command requires itself, or `None` when QAPI visits its arguments.
pub(super) fn unvisited_required(command: &str) -> Option<&'static [&'static str]> {
    UNVISITED_COMMANDS
        .iter()
        .find(|(name, _)| *name == command)
        .map(|(_, required)| *required)
}

/// QEMU 7.2's `device_add` turns its arguments into QemuOpts: a string `id` must be an
/// identifier (checked first), other `id`s are ignored; scalars become option strings
/// (`true` is `on`), while `null`, arrays and objects are dropped, so such a `driver` is missing.
/// What remains is the device model's business (`'foo' is not a valid device model name`).
fn check_device_add(args: &Map<String, Value>) -> Result<(), ArgumentError> {
    if let Some(Value::String(id)) = args.get("id") {
        if !id_wellformed(id) {
            return Err(ArgumentError::NotAnIdentifier);
        }
    }
    match args.get("driver") {
        Some(Value::String(_) | Value::Number(_) | Value::Bool(_)) => Ok(()),
        _ => Err(ArgumentError::Missing("driver".into())),
    }
}

/// QEMU's `id_wellformed`: an ASCII letter, then ASCII letters, digits, `-`, `.`, `_`.
pub(crate) fn id_wellformed(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "-._".contains(c))
}

pub(super) fn check_arguments(
    schema: &Schema,
    command: &str,
    args: Option<&Map<String, Value>>,
) -> Result<(), ArgumentError> {
    let Some(info) = schema.command(command) else {
        return Err(ArgumentError::CommandNotFound(command.to_string()));
    };
    let empty = Map::new();
    let args = args.unwrap_or(&empty);
    if command == "device_add" {
        return check_device_add(args);
    }
    let TypeDef::Object(o) = &schema.types[&info.arg_type] else {
        unreachable!("arg-type is checked to be an object at load")
    };
    let mut visitor = Visitor {
        schema,
        path: Vec::new(),
        int_kind: None,
    };
    visitor.visit_struct(o, args)
}

#[derive(Clone, Copy)]
enum Seg<'a> {
    Member(&'a str),
    Index(usize),
}

struct Visitor<'s> {
    schema: &'s Schema,
    /// Where the value being visited sits below the arguments object.
    path: Vec<Seg<'s>>,
    /// The integer kind of the member being visited (and of its list elements), when known.
    int_kind: Option<IntKind>,
}

impl<'s> Visitor<'s> {
    /// QEMU's `full_name()`: `a.b[2].c`.
    fn full_name(&self) -> String {
        let mut s = String::new();
        for seg in &self.path {
            match seg {
                Seg::Member(m) => {
                    if !s.is_empty() {
                        s.push('.');
                    }
                    s.push_str(m);
                }
                Seg::Index(i) => s.push_str(&format!("[{i}]")),
            }
        }
        s
    }

    /// The full name of member `m` of the object being visited.
    fn member_name(&self, m: &str) -> String {
        let base = self.full_name();
        if base.is_empty() {
            m.to_string()
        } else {
            format!("{base}.{m}")
        }
    }

    /// The bare `name` argument of the visit: the member name, `null` for a list element.
    fn bare_name(&self) -> &'s str {
        match self.path.last() {
            Some(Seg::Member(m)) => m,
            _ => "null",
        }
    }

    fn type_error(&self, expected: &str) -> ArgumentError {
        ArgumentError::WrongType {
            member: self.full_name(),
            expected: expected.to_string(),
        }
    }

    fn visit(&mut self, ty: &'s str, v: &Value) -> Result<(), ArgumentError> {
        if self.path.len() > MAX_DEPTH {
            return Err(ArgumentError::TooDeep);
        }
        let schema = self.schema;
        match &schema.types[ty] {
            TypeDef::Builtin(b) => {
                let (ok, expected) = match b.json_type {
                    JsonType::String => (v.is_string(), "string"),
                    JsonType::Int => return self.visit_int(v),
                    JsonType::Number => (v.is_number(), "number"),
                    JsonType::Boolean => (v.is_boolean(), "boolean"),
                    JsonType::Null => (v.is_null(), "null"),
                    JsonType::Value => (true, ""),
                };
                if ok {
                    Ok(())
                } else {
                    Err(self.type_error(expected))
                }
            }
            TypeDef::Enum(e) => {
                let Some(s) = v.as_str() else {
                    return Err(self.type_error("string"));
                };
                if e.values.iter().any(|x| x == s) {
                    Ok(())
                } else {
                    Err(ArgumentError::NotInEnum {
                        member: self.bare_name().to_string(),
                        value: s.to_string(),
                    })
                }
            }
            TypeDef::Array(a) => {
                let Some(items) = v.as_array() else {
                    return Err(self.type_error("array"));
                };
                for (i, item) in items.iter().enumerate() {
                    self.path.push(Seg::Index(i));
                    self.visit(&a.element_type, item)?;
                    self.path.pop();
                }
                Ok(())
            }
            TypeDef::Object(o) => {
                let Some(map) = v.as_object() else {
                    return Err(self.type_error("object"));
                };
                self.visit_struct(o, map)
            }
            TypeDef::Alternate(alt) => match alternate_branch(schema, alt, v) {
                Some(branch) => self.visit(branch, v),
                None => Err(ArgumentError::WrongType {
                    member: self.bare_name().to_string(),
                    expected: alternate_qapi_name(schema, alt).to_string(),
                }),
            },
        }
    }

    /// QEMU's integer visitors. Without a known kind, any integer QEMU's parser produces
    /// (int64 or uint64 range) passes.
    fn visit_int(&self, v: &Value) -> Result<(), ArgumentError> {
        let n = match v {
            Value::Number(n) => Some(n),
            _ => None,
        };
        match self.int_kind {
            None => match n {
                Some(n) if is_qemu_int(n) => Ok(()),
                _ => Err(self.type_error("integer")),
            },
            // visit_type_int64, then visit_type_intN's range check (which names the bare member).
            Some(kind) if kind.is_signed() => {
                let Some(i) = n.and_then(serde_json::Number::as_i64) else {
                    return Err(self.type_error("integer"));
                };
                self.in_range(kind, i128::from(i))
            }
            // visit_type_uint64 takes negative integers too (as 2^64 + i), for compatibility.
            Some(kind) => {
                let Some(u) = n.and_then(|n| n.as_u64().or_else(|| n.as_i64().map(|i| i as u64)))
                else {
                    return Err(ArgumentError::NotUnsigned(self.full_name()));
                };
                self.in_range(kind, i128::from(u))
            }
        }
    }

    /// visit_type_intN's range check, which names the bare member.
    fn in_range(&self, kind: IntKind, n: i128) -> Result<(), ArgumentError> {
        if kind.range().contains(&n) {
            Ok(())
        } else {
            Err(ArgumentError::OutOfRange {
                member: self.bare_name().to_string(),
                c_type: kind.c_name(),
            })
        }
    }

    fn visit_struct(
        &mut self,
        o: &'s ObjectType,
        map: &Map<String, Value>,
    ) -> Result<(), ArgumentError> {
        let mut consumed = Vec::new();
        self.visit_members(o, map, &mut consumed)?;
        if map.len() > consumed.len() {
            let keys: Vec<&str> = map.keys().map(String::as_str).collect();
            if let Some(key) = ghash::first_remaining(&keys, &consumed) {
                return Err(ArgumentError::Unexpected(self.member_name(key)));
            }
        }
        Ok(())
    }

    /// The members of `o` and of the variant its tag selects, in QEMU's order.
    fn visit_members(
        &mut self,
        o: &'s ObjectType,
        map: &Map<String, Value>,
        consumed: &mut Vec<&'s str>,
    ) -> Result<(), ArgumentError> {
        for m in &o.members {
            match map.get(&m.name) {
                Some(v) => {
                    self.path.push(Seg::Member(&m.name));
                    self.int_kind = self.schema.int_kind(&o.name, &m.name);
                    self.visit(&m.ty, v)?;
                    self.path.pop();
                    consumed.push(&m.name);
                }
                None if !m.optional => {
                    return Err(ArgumentError::Missing(self.member_name(&m.name)))
                }
                None => {}
            }
        }
        if let Some(variant) = o.variant_of(map) {
            let TypeDef::Object(vo) = &self.schema.types[&variant.ty] else {
                unreachable!("variants are checked to be objects at load")
            };
            self.visit_members(vo, map, consumed)?;
        }
        Ok(())
    }
}

/// The branch QEMU's generated alternate visitor takes for `v` (it switches on the QObject
/// type; QAPI forbids two branches of the same QObject type).
pub(super) fn alternate_branch<'s>(
    schema: &'s Schema,
    alt: &'s AlternateType,
    v: &Value,
) -> Option<&'s str> {
    alt.members
        .iter()
        .find(|b| match (&schema.types[b.as_str()], v) {
            (TypeDef::Builtin(bt), v) => matches!(
                (bt.json_type, v),
                (JsonType::String, Value::String(_))
                    | (JsonType::Int | JsonType::Number, Value::Number(_))
                    | (JsonType::Boolean, Value::Bool(_))
                    | (JsonType::Null, Value::Null)
                    | (JsonType::Value, _)
            ),
            (TypeDef::Enum(_), Value::String(_)) => true,
            (TypeDef::Array(_), Value::Array(_)) => true,
            (TypeDef::Object(_), Value::Object(_)) => true,
            _ => false,
        })
        .map(String::as_str)
}

/// The QAPI name of an alternate, as QEMU's type errors spell it. Introspection replaces type
/// names by numbers, so QEMU 7.2's alternates are recognised by the shape of their branches;
/// an unknown alternate keeps its introspection name.
pub(super) fn alternate_qapi_name<'s>(schema: &'s Schema, alt: &'s AlternateType) -> &'s str {
    let shape: Vec<String> = alt
        .members
        .iter()
        .map(|b| match &schema.types[b.as_str()] {
            TypeDef::Builtin(bt) => bt.json_type.as_str().to_string(),
            TypeDef::Enum(_) => "enum".to_string(),
            TypeDef::Array(_) => "array".to_string(),
            TypeDef::Object(o) => match &o.tag {
                Some(tag) => format!("union:{tag}"),
                None => {
                    let names: Vec<&str> = o.members.iter().map(|m| m.name.as_str()).collect();
                    format!("struct:{}", names.join(","))
                }
            },
            TypeDef::Alternate(_) => "alternate".to_string(),
        })
        .collect();
    let shape: Vec<&str> = shape.iter().map(String::as_str).collect();
    match shape.as_slice() {
        ["string", "struct:node,name"] => "BlockDirtyBitmapOrStr",
        ["string", "null"] => "StrOrNull",
        ["union:driver", "string"] => "BlockdevRef",
        ["union:driver", "string", "null"] => "BlockdevRefOrNull",
        [s, "enum"] if s.starts_with("struct:template,") => "Qcow2OverlapChecks",
        ["int", "boolean", "array"] => "StatsValue",
        _ => &alt.name,
    }
}
