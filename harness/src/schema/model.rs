//! The QAPI introspection model: what `query-qmp-schema` returns, parsed into typed entities,
//! and the load-time checks that make every later walk of the schema total (every referenced
//! type exists, tags and variants are consistent, no walk can loop without consuming input).

use super::SchemaError;
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};

/// A command (`meta-type: command`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandInfo {
    pub name: String,
    /// Always an object type (commands without arguments use an empty object type).
    pub arg_type: String,
    pub ret_type: String,
    /// `allow-oob`, absent means false.
    pub allow_oob: bool,
    pub features: Vec<String>,
}

/// An event (`meta-type: event`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventInfo {
    pub name: String,
    /// Always an object type (events without data use an empty object type).
    pub arg_type: String,
    pub features: Vec<String>,
}

/// The JSON type of a builtin (`json-type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonType {
    /// `string`
    String,
    /// `int`: every QAPI integer type (int8 .. uint64, size) — introspection loses the width.
    Int,
    /// `number`: integers and floats.
    Number,
    /// `boolean`
    Boolean,
    /// `null`
    Null,
    /// `value`: QAPI's `any`, every JSON value.
    Value,
}

impl JsonType {
    fn parse(s: &str) -> Option<JsonType> {
        Some(match s {
            "string" => JsonType::String,
            "int" => JsonType::Int,
            "number" => JsonType::Number,
            "boolean" => JsonType::Boolean,
            "null" => JsonType::Null,
            "value" => JsonType::Value,
            _ => return None,
        })
    }

    /// The introspection spelling (`json-type`).
    pub fn as_str(self) -> &'static str {
        match self {
            JsonType::String => "string",
            JsonType::Int => "int",
            JsonType::Number => "number",
            JsonType::Boolean => "boolean",
            JsonType::Null => "null",
            JsonType::Value => "value",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltinType {
    pub name: String,
    pub json_type: JsonType,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnumMember {
    pub name: String,
    pub features: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnumType {
    pub name: String,
    /// The accepted strings, in schema order.
    pub values: Vec<String>,
    /// The same values with their features (`members`; synthesized from `values` when absent).
    pub members: Vec<EnumMember>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArrayType {
    pub name: String,
    pub element_type: String,
}

/// A member of an object type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub name: String,
    pub ty: String,
    /// Introspection marks optional members by the presence of a `default` key (always null).
    pub optional: bool,
    pub features: Vec<String>,
}

/// A branch of a union: when the tag member has the value `case`, the members of `ty` apply too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    pub case: String,
    pub ty: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectType {
    pub name: String,
    pub members: Vec<Member>,
    /// The tag member of a union (one of `members`, of enum type).
    pub tag: Option<String>,
    pub variants: Vec<Variant>,
    pub features: Vec<String>,
}

impl ObjectType {
    pub fn member(&self, name: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.name == name)
    }

    pub fn variant(&self, case: &str) -> Option<&Variant> {
        self.variants.iter().find(|v| v.case == case)
    }

    /// The variant that the value of the tag member in `map` selects (none without a tag, a
    /// string tag value, or a variant of that case).
    pub fn variant_of(&self, map: &Map<String, Value>) -> Option<&Variant> {
        let case = map.get(self.tag.as_ref()?)?.as_str()?;
        self.variant(case)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlternateType {
    pub name: String,
    /// The branch types, in schema order.
    pub members: Vec<String>,
}

/// A type of the schema, by meta-type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeDef {
    Builtin(BuiltinType),
    Enum(EnumType),
    Array(ArrayType),
    Object(ObjectType),
    Alternate(AlternateType),
}

impl TypeDef {
    pub fn name(&self) -> &str {
        match self {
            TypeDef::Builtin(t) => &t.name,
            TypeDef::Enum(t) => &t.name,
            TypeDef::Array(t) => &t.name,
            TypeDef::Object(t) => &t.name,
            TypeDef::Alternate(t) => &t.name,
        }
    }

    /// The introspection meta-type.
    pub fn meta_type(&self) -> &'static str {
        match self {
            TypeDef::Builtin(_) => "builtin",
            TypeDef::Enum(_) => "enum",
            TypeDef::Array(_) => "array",
            TypeDef::Object(_) => "object",
            TypeDef::Alternate(_) => "alternate",
        }
    }
}

/// Everything parsed out of one introspection array.
pub(super) struct Parsed {
    pub commands: Vec<CommandInfo>,
    pub events: Vec<EventInfo>,
    pub types: HashMap<String, TypeDef>,
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Reads the keys of one entry, naming the entry in every error.
struct Entry<'a> {
    entity: String,
    obj: &'a Map<String, Value>,
}

impl<'a> Entry<'a> {
    fn str(&self, key: &'static str) -> Result<&'a str, SchemaError> {
        match self.obj.get(key) {
            None => Err(SchemaError::MissingKey {
                entity: self.entity.clone(),
                key,
            }),
            Some(v) => v.as_str().ok_or_else(|| SchemaError::BadKey {
                entity: self.entity.clone(),
                key: key.to_string(),
                expected: "a string",
                got: kind_of(v),
            }),
        }
    }

    fn array(&self, key: &'static str) -> Result<Option<&'a Vec<Value>>, SchemaError> {
        match self.obj.get(key) {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(v) => Err(SchemaError::BadKey {
                entity: self.entity.clone(),
                key: key.to_string(),
                expected: "an array",
                got: kind_of(v),
            }),
        }
    }

    /// An array-valued key that must be there.
    fn required_array(&self, key: &'static str) -> Result<&'a Vec<Value>, SchemaError> {
        self.array(key)?.ok_or_else(|| SchemaError::MissingKey {
            entity: self.entity.clone(),
            key,
        })
    }

    fn features(&self) -> Result<Vec<String>, SchemaError> {
        string_list(&self.entity, "features", self.obj.get("features"))
    }

    /// An element of an array-valued key that must itself be an object.
    fn sub(&self, key: &str, index: usize, v: &'a Value) -> Result<Entry<'a>, SchemaError> {
        match v {
            Value::Object(obj) => Ok(Entry {
                entity: format!("{} {key}[{index}]", self.entity),
                obj,
            }),
            other => Err(SchemaError::BadKey {
                entity: self.entity.clone(),
                key: format!("{key}[{index}]"),
                expected: "an object",
                got: kind_of(other),
            }),
        }
    }
}

fn string_list(entity: &str, key: &str, v: Option<&Value>) -> Result<Vec<String>, SchemaError> {
    let bad = |got| SchemaError::BadKey {
        entity: entity.to_string(),
        key: key.to_string(),
        expected: "an array of strings",
        got,
    };
    match v {
        None => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|f| {
                f.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| bad(kind_of(f)))
            })
            .collect(),
        Some(other) => Err(bad(kind_of(other))),
    }
}

pub(super) fn parse(v: &Value) -> Result<Parsed, SchemaError> {
    let entries = v
        .as_array()
        .ok_or(SchemaError::NotAnArray { got: kind_of(v) })?;
    let mut parsed = Parsed {
        commands: Vec::new(),
        events: Vec::new(),
        types: HashMap::new(),
    };
    let mut command_names = HashSet::new();
    let mut event_names = HashSet::new();
    for (index, e) in entries.iter().enumerate() {
        let obj = e.as_object().ok_or(SchemaError::EntryNotObject {
            index,
            got: kind_of(e),
        })?;
        let mut entry = Entry {
            entity: format!("entry #{index}"),
            obj,
        };
        let name = entry.str("name")?.to_string();
        entry.entity = format!("entry #{index} ('{name}')");
        let meta = entry.str("meta-type")?;
        entry.entity = format!("{meta} '{name}'");
        match meta {
            "command" => {
                if !command_names.insert(name.clone()) {
                    return Err(SchemaError::Duplicate {
                        kind: "command",
                        name,
                    });
                }
                let allow_oob = match obj.get("allow-oob") {
                    None => false,
                    Some(Value::Bool(b)) => *b,
                    Some(other) => {
                        return Err(SchemaError::BadKey {
                            entity: entry.entity,
                            key: "allow-oob".into(),
                            expected: "a boolean",
                            got: kind_of(other),
                        })
                    }
                };
                parsed.commands.push(CommandInfo {
                    arg_type: entry.str("arg-type")?.to_string(),
                    ret_type: entry.str("ret-type")?.to_string(),
                    allow_oob,
                    features: entry.features()?,
                    name,
                });
            }
            "event" => {
                if !event_names.insert(name.clone()) {
                    return Err(SchemaError::Duplicate {
                        kind: "event",
                        name,
                    });
                }
                parsed.events.push(EventInfo {
                    arg_type: entry.str("arg-type")?.to_string(),
                    features: entry.features()?,
                    name,
                });
            }
            "builtin" | "enum" | "array" | "object" | "alternate" => {
                let def = parse_type(&entry, meta, name.clone())?;
                if parsed.types.insert(name.clone(), def).is_some() {
                    return Err(SchemaError::Duplicate { kind: "type", name });
                }
            }
            other => {
                return Err(SchemaError::UnknownMetaType {
                    entity: format!("entry #{index} ('{name}')"),
                    meta_type: other.to_string(),
                })
            }
        }
    }
    check_references(&parsed)?;
    Ok(parsed)
}

fn parse_type(entry: &Entry<'_>, meta: &str, name: String) -> Result<TypeDef, SchemaError> {
    Ok(match meta {
        "builtin" => {
            let jt = entry.str("json-type")?;
            let json_type = JsonType::parse(jt).ok_or_else(|| SchemaError::UnknownJsonType {
                entity: entry.entity.clone(),
                json_type: jt.to_string(),
            })?;
            TypeDef::Builtin(BuiltinType { name, json_type })
        }
        "enum" => {
            let values = match entry.obj.get("values") {
                None => None,
                v => Some(string_list(&entry.entity, "values", v)?),
            };
            let members = match entry.array("members")? {
                None => None,
                Some(ms) => Some(
                    ms.iter()
                        .enumerate()
                        .map(|(i, m)| {
                            let m = entry.sub("members", i, m)?;
                            Ok(EnumMember {
                                name: m.str("name")?.to_string(),
                                features: m.features()?,
                            })
                        })
                        .collect::<Result<Vec<_>, SchemaError>>()?,
                ),
            };
            let (values, members) = match (values, members) {
                (Some(values), Some(members)) => {
                    if !values.iter().eq(members.iter().map(|m| &m.name)) {
                        return Err(SchemaError::Invalid {
                            entity: entry.entity.clone(),
                            problem: "'values' and 'members' disagree".into(),
                        });
                    }
                    (values, members)
                }
                (Some(values), None) => {
                    let members = values
                        .iter()
                        .map(|v| EnumMember {
                            name: v.clone(),
                            features: Vec::new(),
                        })
                        .collect();
                    (values, members)
                }
                (None, Some(members)) => {
                    (members.iter().map(|m| m.name.clone()).collect(), members)
                }
                (None, None) => {
                    return Err(SchemaError::MissingKey {
                        entity: entry.entity.clone(),
                        key: "values",
                    })
                }
            };
            let mut seen = HashSet::new();
            if let Some(dup) = values.iter().find(|v| !seen.insert(v.as_str())) {
                return Err(SchemaError::Invalid {
                    entity: entry.entity.clone(),
                    problem: format!("value '{dup}' appears twice"),
                });
            }
            TypeDef::Enum(EnumType {
                name,
                values,
                members,
            })
        }
        "array" => TypeDef::Array(ArrayType {
            name,
            element_type: entry.str("element-type")?.to_string(),
        }),
        "object" => {
            let ms = entry.required_array("members")?;
            let mut members = Vec::with_capacity(ms.len());
            let mut seen = HashSet::new();
            for (i, m) in ms.iter().enumerate() {
                let m = entry.sub("members", i, m)?;
                let member = Member {
                    name: m.str("name")?.to_string(),
                    ty: m.str("type")?.to_string(),
                    optional: m.obj.contains_key("default"),
                    features: m.features()?,
                };
                if !seen.insert(member.name.clone()) {
                    return Err(SchemaError::Invalid {
                        entity: entry.entity.clone(),
                        problem: format!("member '{}' appears twice", member.name),
                    });
                }
                members.push(member);
            }
            let tag = match entry.obj.get("tag") {
                None => None,
                Some(_) => Some(entry.str("tag")?.to_string()),
            };
            let mut variants = Vec::new();
            if let Some(vs) = entry.array("variants")? {
                for (i, v) in vs.iter().enumerate() {
                    let v = entry.sub("variants", i, v)?;
                    variants.push(Variant {
                        case: v.str("case")?.to_string(),
                        ty: v.str("type")?.to_string(),
                    });
                }
            }
            if tag.is_none() && !variants.is_empty() {
                return Err(SchemaError::Invalid {
                    entity: entry.entity.clone(),
                    problem: "has variants but no tag".into(),
                });
            }
            TypeDef::Object(ObjectType {
                name,
                members,
                tag,
                variants,
                features: entry.features()?,
            })
        }
        "alternate" => {
            let ms = entry.required_array("members")?;
            let mut members = Vec::with_capacity(ms.len());
            for (i, m) in ms.iter().enumerate() {
                members.push(entry.sub("members", i, m)?.str("type")?.to_string());
            }
            if members.is_empty() {
                return Err(SchemaError::Invalid {
                    entity: entry.entity.clone(),
                    problem: "has no branches".into(),
                });
            }
            TypeDef::Alternate(AlternateType { name, members })
        }
        _ => unreachable!("parse_type is called for type meta-types only"),
    })
}

/// Every reference resolves, with the meta-type the walkers rely on.
fn check_references(p: &Parsed) -> Result<(), SchemaError> {
    let resolve = |entity: &str, context: String, ty: &str| -> Result<&TypeDef, SchemaError> {
        p.types.get(ty).ok_or_else(|| SchemaError::DanglingType {
            entity: entity.to_string(),
            context,
            ty: ty.to_string(),
        })
    };
    let want_object =
        |entity: &str, context: String, ty: &str| -> Result<&ObjectType, SchemaError> {
            match resolve(entity, context.clone(), ty)? {
                TypeDef::Object(o) => Ok(o),
                other => Err(SchemaError::WrongMetaType {
                    entity: entity.to_string(),
                    context,
                    ty: ty.to_string(),
                    expected: "object",
                    actual: other.meta_type(),
                }),
            }
        };
    for c in &p.commands {
        let entity = format!("command '{}'", c.name);
        want_object(&entity, "arg-type".into(), &c.arg_type)?;
        resolve(&entity, "ret-type".into(), &c.ret_type)?;
    }
    for e in &p.events {
        want_object(
            &format!("event '{}'", e.name),
            "arg-type".into(),
            &e.arg_type,
        )?;
    }
    // Sorted for deterministic error reports.
    let mut names: Vec<&String> = p.types.keys().collect();
    names.sort();
    for name in names {
        let entity = format!("{} '{name}'", p.types[name].meta_type());
        match &p.types[name] {
            TypeDef::Builtin(_) | TypeDef::Enum(_) => {}
            TypeDef::Array(a) => {
                resolve(&entity, "element-type".into(), &a.element_type)?;
            }
            TypeDef::Object(o) => {
                for m in &o.members {
                    resolve(&entity, format!("member '{}'", m.name), &m.ty)?;
                }
                if let Some(tag) = &o.tag {
                    let member = o.member(tag).ok_or_else(|| SchemaError::Invalid {
                        entity: entity.clone(),
                        problem: format!("tag '{tag}' is not a member"),
                    })?;
                    let TypeDef::Enum(en) = &p.types[&member.ty] else {
                        return Err(SchemaError::WrongMetaType {
                            entity,
                            context: format!("tag member '{tag}'"),
                            ty: member.ty.clone(),
                            expected: "enum",
                            actual: p.types[&member.ty].meta_type(),
                        });
                    };
                    let mut seen = HashSet::new();
                    for v in &o.variants {
                        want_object(&entity, format!("variant '{}'", v.case), &v.ty)?;
                        if !en.values.contains(&v.case) {
                            return Err(SchemaError::Invalid {
                                entity,
                                problem: format!(
                                    "variant '{}' is not a value of the tag's enum",
                                    v.case
                                ),
                            });
                        }
                        if !seen.insert(v.case.as_str()) {
                            return Err(SchemaError::Invalid {
                                entity,
                                problem: format!("variant '{}' appears twice", v.case),
                            });
                        }
                    }
                }
            }
            TypeDef::Alternate(a) => {
                for (i, m) in a.members.iter().enumerate() {
                    if let TypeDef::Alternate(_) = resolve(&entity, format!("branch #{i}"), m)? {
                        return Err(SchemaError::WrongMetaType {
                            entity,
                            context: format!("branch #{i}"),
                            ty: m.clone(),
                            expected: "builtin, enum, array or object",
                            actual: "alternate",
                        });
                    }
                }
            }
        }
    }
    check_variant_cycles(p)
}

/// Variant members are read from the same JSON object as the union's own members, so a union
/// whose variants lead back to itself would make every walk loop without consuming input.
fn check_variant_cycles(p: &Parsed) -> Result<(), SchemaError> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Active,
        Done,
    }
    let mut marks: HashMap<&str, Mark> = HashMap::new();
    let mut names: Vec<&String> = p.types.keys().collect();
    names.sort();
    for root in names {
        if !matches!(p.types[root], TypeDef::Object(_)) || marks.contains_key(root.as_str()) {
            continue;
        }
        // Iterative DFS: (type name, index of the next variant to follow).
        let mut stack: Vec<(&str, usize)> = vec![(root.as_str(), 0)];
        marks.insert(root, Mark::Active);
        while let Some((name, next)) = stack.pop() {
            let TypeDef::Object(o) = &p.types[name] else {
                unreachable!("variants are objects")
            };
            if let Some(v) = o.variants.get(next) {
                stack.push((name, next + 1));
                match marks.get(v.ty.as_str()) {
                    Some(Mark::Active) => {
                        return Err(SchemaError::Invalid {
                            entity: format!("object '{name}'"),
                            problem: format!(
                                "variant '{}' leads back to object '{}'",
                                v.case, v.ty
                            ),
                        })
                    }
                    Some(Mark::Done) => {}
                    None => {
                        marks.insert(&v.ty, Mark::Active);
                        stack.push((&v.ty, 0));
                    }
                }
            } else {
                marks.insert(name, Mark::Done);
            }
        }
    }
    Ok(())
}
