//! proptest strategies for command arguments: valid ones (they pass QEMU's argument check) and
//! invalid ones (exactly one defect of a known kind, so the check must fail).
//!
//! Values are generated from the schema with a nesting budget: below it, objects take their
//! [`Schema::example_value`], arrays are empty and optional members are left out, so
//! recursive types (a `BlockdevRef` holding `BlockdevOptions` holding `BlockdevRef` ...) stay
//! finite. Unions and alternates choose their branch first and only build that branch.

use super::args::{alternate_branch, unvisited_required};
use super::{JsonType, ObjectType, Schema, TypeDef};
use proptest::prelude::*;
use proptest::sample::{select, Index};
use serde_json::{Map, Number, Value};
use std::collections::HashSet;
use std::sync::Arc;

/// How many objects or arrays deep generated values go.
const NESTING_BUDGET: u32 = 3;

/// The defect an invalid argument set carries, and the shape of QEMU's complaint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InvalidKind {
    /// A mandatory member left out: `Parameter 'x' is missing`.
    MissingMember,
    /// A member the schema does not know: `Parameter 'x' is unexpected`.
    UnexpectedMember,
    /// A value of a JSON type the member does not accept:
    /// `Invalid parameter type for 'x', expected: ...` — or, from QEMU, for an unsigned
    /// integer member, `Parameter 'x' expects uint64` (introspection cannot tell which).
    WrongType,
    /// A string that is not a value of the enum: `Parameter 'x' does not accept value 'y'`.
    UnknownEnumValue,
}

impl InvalidKind {
    /// Whether `desc` is QEMU's wording for this kind of defect.
    pub fn matches_error(self, desc: &str) -> bool {
        match self {
            InvalidKind::MissingMember => {
                desc.starts_with("Parameter '") && desc.ends_with("' is missing")
            }
            InvalidKind::UnexpectedMember => {
                desc.starts_with("Parameter '") && desc.ends_with("' is unexpected")
            }
            InvalidKind::WrongType => {
                desc.starts_with("Invalid parameter type for '")
                    || (desc.starts_with("Parameter '") && desc.ends_with("' expects uint64"))
            }
            InvalidKind::UnknownEnumValue => {
                desc.starts_with("Parameter '") && desc.contains("' does not accept value '")
            }
        }
    }
}

/// Arguments for `command` that QEMU's argument check accepts.
///
/// Panics if `command` is not in the schema.
pub fn valid_arguments(schema: &Schema, command: &str) -> BoxedStrategy<Map<String, Value>> {
    let info = schema
        .command(command)
        .unwrap_or_else(|| panic!("no command '{command}' in the schema"));
    let schema = Arc::new(schema.clone());
    let TypeDef::Object(o) = &schema.types[&info.arg_type] else {
        unreachable!("arg-type is checked to be an object at load")
    };
    object_strategy(&schema, o, NESTING_BUDGET)
        .prop_map(|v| match v {
            Value::Object(m) => m,
            _ => unreachable!("object strategies make objects"),
        })
        .boxed()
}

/// Arguments for `command` with exactly one defect, and its kind. The defect may sit at any
/// depth (a missing member of a list element, an unknown enum value in a nested union ...).
///
/// Panics if `command` is not in the schema.
pub fn invalid_arguments(
    schema: &Schema,
    command: &str,
) -> BoxedStrategy<(Map<String, Value>, InvalidKind)> {
    let info = schema
        .command(command)
        .unwrap_or_else(|| panic!("no command '{command}' in the schema"));
    let arg_type = info.arg_type.clone();
    let unvisited = unvisited_required(command);
    let shared = Arc::new(schema.clone());
    (
        valid_arguments(schema, command),
        any::<Index>(),
        any::<Index>(),
        "[a-z][a-z0-9-]{0,10}",
    )
        .prop_map(move |(args, site_pick, value_pick, name)| {
            let mut sites = Vec::new();
            match unvisited {
                // QEMU leaves these arguments to the command itself: only its own requirements.
                Some(required) => {
                    for m in required {
                        sites.push(Site {
                            path: Vec::new(),
                            defect: Defect::Remove((*m).to_string()),
                        });
                    }
                }
                None => {
                    let v = Value::Object(args.clone());
                    collect_sites(&shared, &arg_type, &v, &mut Vec::new(), false, &mut sites);
                }
            }
            let site = &sites[site_pick.index(sites.len())];
            let mut v = Value::Object(args);
            let kind = apply(&mut v, site, value_pick, &name);
            match v {
                Value::Object(m) => (m, kind),
                _ => unreachable!("the root stays an object"),
            }
        })
        .boxed()
}

fn value_strategy(schema: &Arc<Schema>, ty: &str, budget: u32) -> BoxedStrategy<Value> {
    match &schema.types[ty] {
        TypeDef::Builtin(b) => builtin_strategy(b.json_type),
        TypeDef::Enum(e) => select(e.values.clone()).prop_map(Value::String).boxed(),
        TypeDef::Array(a) => {
            if budget == 0 {
                Just(Value::Array(Vec::new())).boxed()
            } else {
                proptest::collection::vec(value_strategy(schema, &a.element_type, budget - 1), 0..3)
                    .prop_map(Value::Array)
                    .boxed()
            }
        }
        TypeDef::Object(o) => {
            if budget == 0 {
                Just(schema.example_value(ty)).boxed()
            } else {
                object_strategy(schema, o, budget - 1)
            }
        }
        TypeDef::Alternate(a) => {
            let schema = Arc::clone(schema);
            select(a.members.clone())
                .prop_flat_map(move |branch| {
                    if budget == 0 {
                        Just(schema.example_value(&branch)).boxed()
                    } else {
                        value_strategy(&schema, &branch, budget)
                    }
                })
                .boxed()
        }
    }
}

fn builtin_strategy(t: JsonType) -> BoxedStrategy<Value> {
    match t {
        // Identifiers: QEMU checks many strings to be ids or node names after the argument
        // check, and valid arguments should get past that too.
        JsonType::String => "[a-z][a-z0-9_.-]{0,10}".prop_map(Value::String).boxed(),
        // Introspection hides the width of integer members: 0..=127 fits every one of them.
        JsonType::Int => (0..=127i64).prop_map(Value::from).boxed(),
        JsonType::Number => prop_oneof![
            (0..=127i64).prop_map(Value::from),
            (-1.0e12..1.0e12f64)
                .prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ]
        .boxed(),
        JsonType::Boolean => any::<bool>().prop_map(Value::Bool).boxed(),
        JsonType::Null => Just(Value::Null).boxed(),
        JsonType::Value => prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            "[a-z]{0,6}".prop_map(Value::String),
            Just(serde_json::json!({"k": [1, "v"]})),
        ]
        .boxed(),
    }
}

/// An object of type `o`: its members (optional ones only while budget remains) and, for a
/// union, the members of one variant chosen first.
fn object_strategy(schema: &Arc<Schema>, o: &ObjectType, budget: u32) -> BoxedStrategy<Value> {
    let base = members_strategy(schema, o, budget);
    let Some(tag) = o.tag.clone() else {
        return base.prop_map(Value::Object).boxed();
    };
    let tag_type = &o
        .member(&tag)
        .expect("tag is checked to be a member at load")
        .ty;
    let TypeDef::Enum(cases) = &schema.types[tag_type] else {
        unreachable!("tags are checked to be enums at load")
    };
    let schema = Arc::clone(schema);
    let variants: Vec<(String, Option<String>)> = cases
        .values
        .iter()
        .map(|c| (c.clone(), o.variant(c).map(|v| v.ty.clone())))
        .collect();
    (base, select(variants))
        .prop_flat_map(move |(mut map, (case, variant))| {
            map.insert(tag.clone(), Value::String(case));
            let extra = match variant.as_deref().map(|t| &schema.types[t]) {
                Some(TypeDef::Object(vo)) => object_strategy(&schema, vo, budget),
                _ => Just(Value::Object(Map::new())).boxed(),
            };
            extra.prop_map(move |extra| {
                let mut map = map.clone();
                if let Value::Object(extra) = extra {
                    map.extend(extra);
                }
                Value::Object(map)
            })
        })
        .boxed()
}

fn members_strategy(
    schema: &Arc<Schema>,
    o: &ObjectType,
    budget: u32,
) -> BoxedStrategy<Map<String, Value>> {
    let mut parts: Vec<BoxedStrategy<Option<(String, Value)>>> = Vec::new();
    for m in &o.members {
        if Some(&m.name) == o.tag.as_ref() {
            continue; // set by the union's choice of variant
        }
        let name = m.name.clone();
        let value =
            value_strategy(schema, &m.ty, budget).prop_map(move |v| Some((name.clone(), v)));
        if !m.optional {
            parts.push(value.boxed());
        } else if budget > 0 {
            parts.push(prop_oneof![Just(None), value].boxed());
        }
    }
    parts
        .prop_map(|members| {
            members
                .into_iter()
                .flatten()
                .collect::<Map<String, Value>>()
        })
        .boxed()
}

// ---- invalid arguments ---------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Index(usize),
}

#[derive(Debug, Clone)]
enum Defect {
    /// Remove this mandatory member of the object at the path.
    Remove(String),
    /// Add a member none of these names.
    Add(HashSet<String>),
    /// Replace the value at the path by one of these (all rejected by its type).
    Replace(Vec<Value>),
    /// Replace the enum value at the path by a string not among these.
    BadEnum(HashSet<String>),
}

#[derive(Debug, Clone)]
struct Site {
    path: Vec<Step>,
    defect: Defect,
}

/// One value of each JSON kind, to pick wrong types from.
fn samples() -> [Value; 7] {
    [
        Value::Null,
        Value::Bool(true),
        Value::from(7),
        Value::Number(Number::from_f64(1.5).expect("finite")),
        Value::String("wrong".into()),
        Value::Array(Vec::new()),
        Value::Object(Map::new()),
    ]
}

/// Whether QEMU's visit of type `ty` accepts `v`'s JSON kind (without looking inside).
fn kind_accepted(schema: &Schema, ty: &str, v: &Value) -> bool {
    match &schema.types[ty] {
        TypeDef::Builtin(b) => match b.json_type {
            JsonType::String => v.is_string(),
            JsonType::Int => matches!(v, Value::Number(n) if super::is_qemu_int(n)),
            JsonType::Number => v.is_number(),
            JsonType::Boolean => v.is_boolean(),
            JsonType::Null => v.is_null(),
            JsonType::Value => true,
        },
        TypeDef::Enum(_) => v.is_string(),
        TypeDef::Array(_) => v.is_array(),
        TypeDef::Object(_) => v.is_object(),
        TypeDef::Alternate(a) => match alternate_branch(schema, a, v) {
            Some(branch) => kind_accepted(schema, branch, v),
            None => false,
        },
    }
}

/// Every place in the valid value `v` (of type `ty`) where one defect can be planted.
fn collect_sites(
    schema: &Schema,
    ty: &str,
    v: &Value,
    path: &mut Vec<Step>,
    in_alternate: bool,
    sites: &mut Vec<Site>,
) {
    if !path.is_empty() && !in_alternate {
        let wrong: Vec<Value> = samples()
            .into_iter()
            .filter(|s| !kind_accepted(schema, ty, s))
            .collect();
        if !wrong.is_empty() {
            sites.push(Site {
                path: path.clone(),
                defect: Defect::Replace(wrong),
            });
        }
    }
    match (&schema.types[ty], v) {
        (TypeDef::Enum(e), Value::String(_)) => sites.push(Site {
            path: path.clone(),
            defect: Defect::BadEnum(e.values.iter().cloned().collect()),
        }),
        (TypeDef::Array(a), Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                path.push(Step::Index(i));
                collect_sites(schema, &a.element_type, item, path, false, sites);
                path.pop();
            }
        }
        (TypeDef::Object(o), Value::Object(map)) => {
            let mut names = HashSet::new();
            object_sites(schema, o, map, path, &mut names, sites);
            sites.push(Site {
                path: path.clone(),
                defect: Defect::Add(names),
            });
        }
        (TypeDef::Alternate(a), v) => {
            if let Some(branch) = alternate_branch(schema, a, v) {
                collect_sites(schema, branch, v, path, true, sites);
            }
        }
        _ => {}
    }
}

fn object_sites(
    schema: &Schema,
    o: &ObjectType,
    map: &Map<String, Value>,
    path: &mut Vec<Step>,
    names: &mut HashSet<String>,
    sites: &mut Vec<Site>,
) {
    for m in &o.members {
        names.insert(m.name.clone());
        let Some(v) = map.get(&m.name) else { continue };
        if !m.optional {
            sites.push(Site {
                path: path.clone(),
                defect: Defect::Remove(m.name.clone()),
            });
        }
        path.push(Step::Key(m.name.clone()));
        collect_sites(schema, &m.ty, v, path, false, sites);
        path.pop();
    }
    if let Some(variant) = o.variant_of(map) {
        if let TypeDef::Object(vo) = &schema.types[&variant.ty] {
            object_sites(schema, vo, map, path, names, sites);
        }
    }
}

fn apply(root: &mut Value, site: &Site, pick: Index, name: &str) -> InvalidKind {
    let mut at = root;
    for step in &site.path {
        at = match (step, at) {
            (Step::Key(k), Value::Object(m)) => m.get_mut(k).expect("sites follow the value"),
            (Step::Index(i), Value::Array(a)) => &mut a[*i],
            _ => unreachable!("sites follow the value"),
        };
    }
    match &site.defect {
        Defect::Remove(member) => {
            if let Value::Object(m) = at {
                m.shift_remove(member);
            }
            InvalidKind::MissingMember
        }
        Defect::Add(known) => {
            let mut key = name.to_string();
            while known.contains(&key) {
                key.push('_');
            }
            if let Value::Object(m) = at {
                m.insert(key, Value::from(1));
            }
            InvalidKind::UnexpectedMember
        }
        Defect::Replace(wrong) => {
            *at = pick.get(wrong).clone();
            InvalidKind::WrongType
        }
        Defect::BadEnum(values) => {
            let mut s = format!("no-{name}");
            while values.contains(&s) {
                s.push('_');
            }
            *at = Value::String(s);
            InvalidKind::UnknownEnumValue
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::test_runner::{Config, TestRunner};
    use std::cell::RefCell;
    use std::collections::HashMap;

    fn storage_daemon() -> Schema {
        let v: Value = serde_json::from_str(include_str!(
            "../../../specs/qemu-7.2/storage-daemon.schema.json"
        ))
        .unwrap();
        Schema::from_value(&v).unwrap()
    }

    /// A runner of `cases` cases that keeps no failure files.
    fn runner_of(cases: u32) -> TestRunner {
        TestRunner::new(Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        })
    }

    /// Runs `cases` generations of both strategies for every command of `schema`; returns how
    /// often each kind of defect was planted.
    fn every_command(schema: &Schema, cases: u32) -> HashMap<InvalidKind, usize> {
        // A runner counts its successes across runs: one runner per run.
        let runner = || runner_of(cases);
        let seen = RefCell::new(HashMap::new());
        for c in schema.commands() {
            let name = c.name.clone();
            runner()
                .run(&valid_arguments(schema, &c.name), |args| {
                    let res = schema.check_arguments(&name, Some(&args));
                    prop_assert_eq!(res, Ok(()), "{} {:?}", name, args);
                    Ok(())
                })
                .unwrap();
            runner()
                .run(&invalid_arguments(schema, &c.name), |(args, kind)| {
                    *seen.borrow_mut().entry(kind).or_insert(0) += 1;
                    match schema.check_arguments(&name, Some(&args)) {
                        Ok(()) => prop_assert!(false, "{} accepted {:?} ({:?})", name, args, kind),
                        Err(desc) => prop_assert!(
                            kind.matches_error(&desc.to_string()),
                            "{} {:?}: {:?} for {:?}",
                            name,
                            kind,
                            desc,
                            args
                        ),
                    }
                    Ok(())
                })
                .unwrap();
        }
        seen.into_inner()
    }

    #[test]
    fn every_system_command() {
        let seen = every_command(Schema::qemu_7_2(), 16);
        assert!(
            seen.len() == 4 && seen.values().all(|&n| n > 50),
            "{seen:?}"
        );
    }

    #[test]
    fn every_storage_daemon_command() {
        let seen = every_command(&storage_daemon(), 16);
        assert!(
            seen.len() == 4 && seen.values().all(|&n| n > 20),
            "{seen:?}"
        );
    }

    #[test]
    fn every_kind_is_generated_for_blockdev_add() {
        let s = Schema::qemu_7_2();
        let mut runner = runner_of(1);
        let strategy = invalid_arguments(s, "blockdev-add");
        let mut seen = HashSet::new();
        let mut nested = false;
        for _ in 0..400 {
            let (args, kind) = strategy.new_tree(&mut runner).unwrap().current();
            seen.insert(kind);
            let desc = s
                .check_arguments("blockdev-add", Some(&args))
                .unwrap_err()
                .to_string();
            assert!(kind.matches_error(&desc), "{kind:?}: {desc}");
            nested |= desc.contains('.') || desc.contains('[');
        }
        assert_eq!(seen.len(), 4, "{seen:?}");
        assert!(nested, "defects are planted below the top level too");
    }

    #[test]
    fn valid_blockdev_add_covers_many_drivers() {
        let s = Schema::qemu_7_2();
        let mut runner = runner_of(1);
        let strategy = valid_arguments(s, "blockdev-add");
        let drivers: HashSet<String> = (0..300)
            .map(|_| {
                strategy.new_tree(&mut runner).unwrap().current()["driver"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert!(drivers.len() > 20, "{drivers:?}");
    }

    #[test]
    fn device_add_only_misses_its_driver() {
        let s = Schema::qemu_7_2();
        let mut runner = runner_of(1);
        let strategy = invalid_arguments(s, "device_add");
        for _ in 0..20 {
            let (args, kind) = strategy.new_tree(&mut runner).unwrap().current();
            assert_eq!(kind, InvalidKind::MissingMember);
            assert!(!args.contains_key("driver"));
        }
    }

    #[test]
    fn kinds_recognise_qemu_texts() {
        assert!(InvalidKind::MissingMember.matches_error("Parameter 'a.b' is missing"));
        assert!(!InvalidKind::MissingMember.matches_error("Parameter 'a.b' is unexpected"));
        assert!(InvalidKind::UnexpectedMember.matches_error("Parameter 'x' is unexpected"));
        assert!(InvalidKind::WrongType
            .matches_error("Invalid parameter type for 'null', expected: BlockdevRef"));
        assert!(InvalidKind::UnknownEnumValue
            .matches_error("Parameter 'null' does not accept value 'foo'"));
        assert!(!InvalidKind::UnknownEnumValue.matches_error("Parameter 'x' is missing"));
    }
}
