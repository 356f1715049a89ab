//! Validation of values a server sends (returns, event data) against schema types.

use super::args::{alternate_branch, MAX_DEPTH};
use super::{is_qemu_int, json_kind, JsonType, ObjectType, Schema, TypeDef};
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::fmt;

/// How much an [`Issue`] matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Severity {
    /// The value breaks the schema.
    Error,
    /// A member the schema does not list: legal (clients must ignore unknown members,
    /// `compat.ignore-unknown`), but worth naming.
    Extra,
}

/// One finding of [`Schema::validate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub severity: Severity,
    /// Where: the caller's root (`return`, `data`) followed by `.member` and `[index]`.
    pub path: String,
    pub message: String,
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

pub(super) fn validate(schema: &Schema, type_name: &str, v: &Value, path: &str) -> Vec<Issue> {
    let mut w = Walker {
        schema,
        issues: Vec::new(),
    };
    if schema.ty(type_name).is_none() {
        w.error(path, format!("unknown type '{type_name}'"));
    } else {
        w.value(type_name, v, path, 0);
    }
    w.issues
}

struct Walker<'s> {
    schema: &'s Schema,
    issues: Vec<Issue>,
}

/// At most this many enum values are listed in a message.
const ENUM_VALUES_SHOWN: usize = 8;

impl<'s> Walker<'s> {
    fn error(&mut self, path: &str, message: String) {
        self.issues.push(Issue {
            severity: Severity::Error,
            path: path.to_string(),
            message,
        });
    }

    fn mismatch(&mut self, path: &str, expected: &str, v: &Value) {
        self.error(path, format!("expected {expected}, got {}", json_kind(v)));
    }

    fn value(&mut self, ty: &str, v: &Value, path: &str, depth: usize) {
        if depth > MAX_DEPTH {
            self.error(path, format!("nested deeper than {MAX_DEPTH} levels"));
            return;
        }
        let schema = self.schema;
        match &schema.types[ty] {
            TypeDef::Builtin(b) => {
                let (ok, expected) = match b.json_type {
                    JsonType::String => (v.is_string(), "string"),
                    JsonType::Int => (matches!(v, Value::Number(n) if is_qemu_int(n)), "int"),
                    JsonType::Number => (v.is_number(), "number"),
                    JsonType::Boolean => (v.is_boolean(), "bool"),
                    JsonType::Null => (v.is_null(), "null"),
                    JsonType::Value => (true, ""),
                };
                if !ok {
                    self.mismatch(path, expected, v);
                }
            }
            TypeDef::Enum(e) => match v.as_str() {
                None => self.mismatch(path, "string (enum value)", v),
                Some(s) if e.values.iter().any(|x| x == s) => {}
                Some(s) => {
                    let mut shown: Vec<&str> = e
                        .values
                        .iter()
                        .take(ENUM_VALUES_SHOWN)
                        .map(String::as_str)
                        .collect();
                    if e.values.len() > ENUM_VALUES_SHOWN {
                        shown.push("...");
                    }
                    self.error(
                        path,
                        format!("'{s}' is not a value of the enum ({})", shown.join(", ")),
                    );
                }
            },
            TypeDef::Array(a) => match v.as_array() {
                None => self.mismatch(path, "array", v),
                Some(items) => {
                    for (i, item) in items.iter().enumerate() {
                        self.value(&a.element_type, item, &format!("{path}[{i}]"), depth + 1);
                    }
                }
            },
            TypeDef::Object(o) => match v.as_object() {
                None => self.mismatch(path, "object", v),
                Some(map) => {
                    let mut known = HashSet::new();
                    self.members(o, map, path, depth, &mut known);
                    for key in map.keys() {
                        if !known.contains(key.as_str()) {
                            self.issues.push(Issue {
                                severity: Severity::Extra,
                                path: join(path, key),
                                message: "member not in the schema".to_string(),
                            });
                        }
                    }
                }
            },
            TypeDef::Alternate(alt) => match alternate_branch(schema, alt, v) {
                Some(branch) => self.value(branch, v, path, depth),
                None => {
                    let kinds: Vec<&str> = alt
                        .members
                        .iter()
                        .map(|b| kind_name(&schema.types[b.as_str()]))
                        .collect();
                    self.error(
                        path,
                        format!("expected one of {}, got {}", kinds.join(", "), json_kind(v)),
                    );
                }
            },
        }
    }

    fn members(
        &mut self,
        o: &'s ObjectType,
        map: &Map<String, Value>,
        path: &str,
        depth: usize,
        known: &mut HashSet<&'s str>,
    ) {
        for m in &o.members {
            known.insert(&m.name);
            match map.get(&m.name) {
                Some(v) => self.value(&m.ty, v, &join(path, &m.name), depth + 1),
                None if !m.optional => {
                    self.error(&join(path, &m.name), "missing mandatory member".to_string())
                }
                None => {}
            }
        }
        // An invalid tag value was reported with the member; there is no variant to check.
        if let Some(variant) = o.variant_of(map) {
            let schema = self.schema;
            let TypeDef::Object(vo) = &schema.types[&variant.ty] else {
                unreachable!("variants are checked to be objects at load")
            };
            self.members(vo, map, path, depth, known);
        }
    }
}

fn join(path: &str, member: &str) -> String {
    if path.is_empty() {
        member.to_string()
    } else {
        format!("{path}.{member}")
    }
}

/// How a branch of an alternate is named in messages.
fn kind_name(t: &TypeDef) -> &'static str {
    match t {
        TypeDef::Builtin(b) => match b.json_type {
            JsonType::String => "string",
            JsonType::Int => "int",
            JsonType::Number => "number",
            JsonType::Boolean => "bool",
            JsonType::Null => "null",
            JsonType::Value => "any",
        },
        TypeDef::Enum(_) => "string (enum value)",
        TypeDef::Array(_) => "array",
        TypeDef::Object(_) => "object",
        TypeDef::Alternate(_) => "alternate",
    }
}
