//! Minimal example values, used by the emulated monitor to answer commands and events.

use super::{JsonType, ObjectType, Schema, TypeDef};
use serde_json::{Map, Number, Value};

/// Building gives up after this many steps (a step is one type visited): a crafted schema can
/// make the minimal value exponentially large (`{a: T, b: T}` nested 60 times). QEMU 7.2's
/// largest example takes a few hundred steps.
pub(super) const MAX_STEPS: usize = 100_000;

pub(super) fn example_value(schema: &Schema, type_name: &str) -> Value {
    if schema.ty(type_name).is_none() {
        return Value::Null;
    }
    let mut b = Builder {
        schema,
        stack: Vec::new(),
        steps: 0,
    };
    let v = b.build(type_name);
    if b.steps > MAX_STEPS {
        return Value::Null;
    }
    v.unwrap_or(Value::Null)
}

#[cfg(test)]
pub(super) fn steps_for(schema: &Schema, type_name: &str) -> usize {
    let mut b = Builder {
        schema,
        stack: Vec::new(),
        steps: 0,
    };
    b.build(type_name);
    b.steps
}

struct Builder<'s> {
    schema: &'s Schema,
    /// The objects being built: meeting one again is a cycle, that way does not work.
    stack: Vec<&'s str>,
    steps: usize,
}

impl<'s> Builder<'s> {
    /// `None` when every way of building the value leads back into an object already being built
    /// (a mandatory cycle) or into an empty enum, or when the step budget is spent.
    fn build(&mut self, ty: &'s str) -> Option<Value> {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return None;
        }
        let schema = self.schema;
        match &schema.types[ty] {
            TypeDef::Builtin(b) => Some(match b.json_type {
                JsonType::String => Value::String(String::new()),
                JsonType::Int | JsonType::Number => Value::Number(Number::from(0)),
                JsonType::Boolean => Value::Bool(false),
                JsonType::Null | JsonType::Value => Value::Null,
            }),
            TypeDef::Enum(e) => e.values.first().map(|v| Value::String(v.clone())),
            TypeDef::Array(_) => Some(Value::Array(Vec::new())),
            TypeDef::Alternate(a) => a.members.iter().find_map(|b| self.build(b)),
            TypeDef::Object(o) => {
                if self.stack.contains(&ty) {
                    return None;
                }
                self.stack.push(ty);
                let mut map = Map::new();
                let built = self.add_members(o, &mut map);
                self.stack.pop();
                built.map(|()| Value::Object(map))
            }
        }
    }

    /// The mandatory members of `o` and, for a union, of the first variant that can be built.
    fn add_members(&mut self, o: &'s ObjectType, map: &mut Map<String, Value>) -> Option<()> {
        let schema = self.schema;
        for m in &o.members {
            if Some(&m.name) == o.tag.as_ref() {
                map.insert(m.name.clone(), Value::Null); // placeholder, keeps the member order
            } else if !m.optional {
                map.insert(m.name.clone(), self.build(&m.ty)?);
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
                    TypeDef::Object(vo) => self.add_members(vo, &mut attempt),
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
}
