//! Minimal example values, used by the emulated monitor to answer commands and events.

use super::{JsonType, ObjectType, Schema, TypeDef};
use serde_json::{Map, Number, Value};

pub(super) fn example_value(schema: &Schema, type_name: &str) -> Value {
    if schema.ty(type_name).is_none() {
        return Value::Null;
    }
    build(schema, type_name, &mut Vec::new()).unwrap_or(Value::Null)
}

/// `None` when every way of building the value leads back into an object already being built
/// (a mandatory cycle) or into an empty enum.
fn build<'s>(schema: &'s Schema, ty: &'s str, stack: &mut Vec<&'s str>) -> Option<Value> {
    match &schema.types[ty] {
        TypeDef::Builtin(b) => Some(match b.json_type {
            JsonType::String => Value::String(String::new()),
            JsonType::Int | JsonType::Number => Value::Number(Number::from(0)),
            JsonType::Boolean => Value::Bool(false),
            JsonType::Null | JsonType::Value => Value::Null,
        }),
        TypeDef::Enum(e) => e.values.first().map(|v| Value::String(v.clone())),
        TypeDef::Array(_) => Some(Value::Array(Vec::new())),
        TypeDef::Alternate(a) => a.members.iter().find_map(|b| build(schema, b, stack)),
        TypeDef::Object(o) => {
            if stack.contains(&ty) {
                return None;
            }
            stack.push(ty);
            let mut map = Map::new();
            let built = add_members(schema, o, &mut map, stack);
            stack.pop();
            built.map(|()| Value::Object(map))
        }
    }
}

/// The mandatory members of `o` and, for a union, of the first variant that can be built.
fn add_members<'s>(
    schema: &'s Schema,
    o: &'s ObjectType,
    map: &mut Map<String, Value>,
    stack: &mut Vec<&'s str>,
) -> Option<()> {
    for m in &o.members {
        if Some(&m.name) == o.tag.as_ref() {
            map.insert(m.name.clone(), Value::Null); // placeholder, keeps the member order
        } else if !m.optional {
            map.insert(m.name.clone(), build(schema, &m.ty, stack)?);
        }
    }
    let Some(tag) = &o.tag else { return Some(()) };
    let tag_member = o.member(tag)?;
    let TypeDef::Enum(cases) = &schema.types[&tag_member.ty] else {
        return None;
    };
    for case in &cases.values {
        let mut attempt = map.clone();
        attempt.insert(tag.clone(), Value::String(case.clone()));
        let ok = match o.variant(case) {
            None => Some(()),
            Some(v) => match &schema.types[&v.ty] {
                TypeDef::Object(vo) => add_members(schema, vo, &mut attempt, stack),
                _ => None,
            },
        };
        if ok.is_some() {
            *map = attempt;
            return Some(());
        }
    }
    None
}
