//! QAPI introspection: the model of a `query-qmp-schema` return, QEMU's argument check, a value
//! validator for what a server sends, and minimal example values.
//!
//! Everything here is pure: no I/O except [`Schema::from_file`].
//!
//! ```
//! use qmpspec::schema::Schema;
//! let s = Schema::qemu_7_2();
//! let args = serde_json::json!({"command-line": 1});
//! assert_eq!(
//!     s.check_arguments("human-monitor-command", args.as_object()).unwrap_err().to_string(),
//!     "Invalid parameter type for 'command-line', expected: string",
//! );
//! ```

mod args;
pub mod diff;
mod example;
mod ghash;
mod model;
mod queries;
pub mod strategy;
mod validate;

pub use args::ArgumentError;
pub use model::{
    AlternateType, ArrayType, BuiltinType, CommandInfo, EnumMember, EnumType, EventInfo, JsonType,
    Member, ObjectType, TypeDef, Variant,
};
pub use queries::{is_side_effect_free_query, NOT_SIDE_EFFECT_FREE, READERS};
pub use validate::{Issue, Severity};

/// The C integer type behind an introspection `int`, which QEMU's argument check enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IntKind {
    Int8,
    Int16,
    Int32,
    Int64,
    Uint8,
    Uint16,
    Uint32,
    /// Also QAPI's `size`.
    Uint64,
}

impl IntKind {
    fn parse(s: &str) -> Option<IntKind> {
        Some(match s {
            "int8" => IntKind::Int8,
            "int16" => IntKind::Int16,
            "int32" => IntKind::Int32,
            "int64" => IntKind::Int64,
            "uint8" => IntKind::Uint8,
            "uint16" => IntKind::Uint16,
            "uint32" => IntKind::Uint32,
            "uint64" => IntKind::Uint64,
            _ => return None,
        })
    }

    pub fn is_signed(self) -> bool {
        matches!(
            self,
            IntKind::Int8 | IntKind::Int16 | IntKind::Int32 | IntKind::Int64
        )
    }

    /// The C type QEMU names in range errors (`Parameter 'x' expects uint8_t`).
    pub fn c_name(self) -> &'static str {
        match self {
            IntKind::Int8 => "int8_t",
            IntKind::Int16 => "int16_t",
            IntKind::Int32 => "int32_t",
            IntKind::Int64 => "int64_t",
            IntKind::Uint8 => "uint8_t",
            IntKind::Uint16 => "uint16_t",
            IntKind::Uint32 => "uint32_t",
            IntKind::Uint64 => "uint64_t",
        }
    }

    /// The accepted range, as i128.
    pub fn range(self) -> std::ops::RangeInclusive<i128> {
        match self {
            IntKind::Int8 => i8::MIN.into()..=i8::MAX.into(),
            IntKind::Int16 => i16::MIN.into()..=i16::MAX.into(),
            IntKind::Int32 => i32::MIN.into()..=i32::MAX.into(),
            IntKind::Int64 => i64::MIN.into()..=i64::MAX.into(),
            IntKind::Uint8 => 0..=u8::MAX.into(),
            IntKind::Uint16 => 0..=u16::MAX.into(),
            IntKind::Uint32 => 0..=u32::MAX.into(),
            IntKind::Uint64 => 0..=u64::MAX.into(),
        }
    }
}

/// Integer kinds of QEMU 7.2's argument members (probed from live QEMU; see the unit tests).
const QEMU_7_2_INT_KINDS_JSON: &str = include_str!("qemu-7.2-int-kinds.json");

type IntKinds = HashMap<String, HashMap<String, IntKind>>;

fn qemu_7_2_int_kinds() -> IntKinds {
    let v: Value =
        serde_json::from_str(QEMU_7_2_INT_KINDS_JSON).expect("the embedded integer kinds parse");
    let mut kinds = IntKinds::new();
    for (ty, members) in v["kinds"].as_object().expect("kinds is an object") {
        let members = members.as_object().expect("members are an object");
        let entry = kinds.entry(ty.clone()).or_default();
        for (member, kind) in members {
            let kind = kind
                .as_str()
                .and_then(IntKind::parse)
                .expect("known integer kind");
            entry.insert(member.clone(), kind);
        }
    }
    kinds
}

fn qemu_7_2_value() -> &'static Value {
    static VALUE: OnceLock<Value> = OnceLock::new();
    VALUE.get_or_init(|| {
        serde_json::from_str(QEMU_7_2_JSON)
            .expect("specs/qemu-7.2/system-x86_64.schema.json is part of the build and must parse")
    })
}

use serde_json::{Map, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// Why introspection data could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not valid JSON: {source}", path.display())]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// A structural error in a file.
    #[error("{}: {source}", path.display())]
    InFile {
        path: PathBuf,
        #[source]
        source: Box<SchemaError>,
    },
    #[error("introspection data must be a JSON array, got {got}")]
    NotAnArray { got: &'static str },
    #[error("entry #{index} must be a JSON object, got {got}")]
    EntryNotObject { index: usize, got: &'static str },
    #[error("{entity}: missing key '{key}'")]
    MissingKey { entity: String, key: &'static str },
    #[error("{entity}: '{key}' must be {expected}, got {got}")]
    BadKey {
        entity: String,
        key: String,
        expected: &'static str,
        got: &'static str,
    },
    #[error("{entity}: unknown meta-type '{meta_type}'")]
    UnknownMetaType { entity: String, meta_type: String },
    #[error("{entity}: unknown json-type '{json_type}'")]
    UnknownJsonType { entity: String, json_type: String },
    #[error("duplicate {kind} '{name}'")]
    Duplicate { kind: &'static str, name: String },
    #[error("{entity}: {context} refers to undefined type '{ty}'")]
    DanglingType {
        entity: String,
        context: String,
        ty: String,
    },
    #[error("{entity}: {context} must be of meta-type {expected}, but '{ty}' is {actual}")]
    WrongMetaType {
        entity: String,
        context: String,
        ty: String,
        expected: &'static str,
        actual: &'static str,
    },
    #[error("{entity}: {problem}")]
    Invalid { entity: String, problem: String },
}

/// A loaded QAPI schema (the return of `query-qmp-schema`).
#[derive(Debug, Clone)]
pub struct Schema {
    raw: Arc<Value>,
    commands: Vec<CommandInfo>,
    command_index: HashMap<String, usize>,
    events: Vec<EventInfo>,
    event_index: HashMap<String, usize>,
    types: HashMap<String, TypeDef>,
    /// What introspection cannot say: the C integer types of members (object type -> member).
    int_kinds: Arc<IntKinds>,
}

const QEMU_7_2_JSON: &str = include_str!("../../../specs/qemu-7.2/system-x86_64.schema.json");
const QEMU_10_0_JSON: &str = include_str!("../../../specs/qemu-10.0/system-x86_64.schema.json");

/// Where each name stands in `names`: the index behind [`Schema::command`] and
/// [`Schema::event`].
fn index_by_name<'a>(names: impl Iterator<Item = &'a String>) -> HashMap<String, usize> {
    names.cloned().enumerate().map(|(i, n)| (n, i)).collect()
}

impl Schema {
    /// Loads the return array of `query-qmp-schema`; every type reference must resolve.
    ///
    /// The QEMU 7.2 system-x86_64 schema (equal to [`Schema::qemu_7_2`]'s) also gets the integer
    /// widths of its argument members, probed from QEMU, so its range errors come out exact.
    pub fn from_value(v: &Value) -> Result<Schema, SchemaError> {
        let int_kinds = if v == qemu_7_2_value() {
            qemu_7_2_int_kinds()
        } else {
            IntKinds::new()
        };
        Schema::build(v, int_kinds)
    }

    fn build(v: &Value, int_kinds: IntKinds) -> Result<Schema, SchemaError> {
        let parsed = model::parse(v)?;
        let command_index = index_by_name(parsed.commands.iter().map(|c| &c.name));
        let event_index = index_by_name(parsed.events.iter().map(|e| &e.name));
        Ok(Schema {
            raw: Arc::new(v.clone()),
            commands: parsed.commands,
            command_index,
            events: parsed.events,
            event_index,
            types: parsed.types,
            int_kinds: Arc::new(int_kinds),
        })
    }

    /// Loads a file holding the return array of `query-qmp-schema` (as specs/ holds it), or
    /// the whole reply that carried it (`{"return": [...], ...}`); errors name the file.
    pub fn from_file(path: &Path) -> Result<Schema, SchemaError> {
        let text = std::fs::read(path).map_err(|source| SchemaError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let v: Value = serde_json::from_slice(&text).map_err(|source| SchemaError::Json {
            path: path.to_path_buf(),
            source,
        })?;
        let entries = match v.get("return") {
            Some(r) if r.is_array() => r,
            _ => &v,
        };
        Schema::from_value(entries).map_err(|e| SchemaError::InFile {
            path: path.to_path_buf(),
            source: Box::new(e),
        })
    }

    /// QEMU 7.2's `qemu-system-x86_64 -machine none` schema (embedded snapshot).
    pub fn qemu_7_2() -> &'static Schema {
        static SCHEMA: OnceLock<Schema> = OnceLock::new();
        SCHEMA.get_or_init(|| {
            Schema::build(qemu_7_2_value(), qemu_7_2_int_kinds())
                .expect("the embedded QEMU 7.2 schema is valid (unit-tested)")
        })
    }

    /// QEMU 10.0.2's `qemu-system-x86_64 -machine none` schema (embedded snapshot). It gets
    /// the integer widths QEMU 7.2's members have, carried over to the corresponding members
    /// ([`diff`]'s structural correspondence); members new since 7.2 are checked as int64.
    pub fn qemu_10_0() -> &'static Schema {
        static SCHEMA: OnceLock<Schema> = OnceLock::new();
        SCHEMA.get_or_init(|| {
            let v: Value = serde_json::from_str(QEMU_10_0_JSON).expect(
                "specs/qemu-10.0/system-x86_64.schema.json is part of the build and must parse",
            );
            let bare = Schema::build(&v, IntKinds::new())
                .expect("the embedded QEMU 10.0 schema is valid (unit-tested)");
            let kinds = carried_int_kinds(Schema::qemu_7_2(), &bare);
            Schema {
                int_kinds: Arc::new(kinds),
                ..bare
            }
        })
    }

    /// The introspection array exactly as loaded, to answer `query-qmp-schema`.
    pub fn to_value(&self) -> &Value {
        &self.raw
    }

    /// Every command, in schema order.
    pub fn commands(&self) -> impl Iterator<Item = &CommandInfo> {
        self.commands.iter()
    }

    pub fn command(&self, name: &str) -> Option<&CommandInfo> {
        self.command_index.get(name).map(|&i| &self.commands[i])
    }

    /// Every event, in schema order.
    pub fn events(&self) -> impl Iterator<Item = &EventInfo> {
        self.events.iter()
    }

    pub fn event(&self, name: &str) -> Option<&EventInfo> {
        self.event_index.get(name).map(|&i| &self.events[i])
    }

    pub fn ty(&self, name: &str) -> Option<&TypeDef> {
        self.types.get(name)
    }

    /// The C integer type of member `member` of object type `object_type` (or of its elements,
    /// for a list), when known: introspection says only `int`. Known for the argument members
    /// of QEMU 7.2's system-x86_64 schema.
    pub fn int_kind(&self, object_type: &str, member: &str) -> Option<IntKind> {
        self.int_kinds.get(object_type)?.get(member).copied()
    }

    /// Every type, in no particular order.
    pub fn types(&self) -> impl Iterator<Item = &TypeDef> {
        self.types.values()
    }

    /// QEMU's argument check for `command` (what `qobject-input-visitor` reports before the
    /// command runs): the error's `Display` is the `desc` of QEMU 7.2's `GenericError`, e.g.
    /// `Parameter 'a' is unexpected`, `Parameter 'path' is missing`,
    /// `Invalid parameter type for 'path', expected: string`,
    /// `Parameter 'x' does not accept value 'foo'`.
    ///
    /// An unknown command gives QEMU's `CommandNotFound` text, `The command X has not been found`.
    /// `args: None` is the same as `{}`. See `args.rs` for what introspection cannot tell.
    pub fn check_arguments(
        &self,
        command: &str,
        args: Option<&Map<String, Value>>,
    ) -> Result<(), ArgumentError> {
        let depth = args.map_or(0, |m| m.values().map(value_depth).max().unwrap_or(0));
        with_stack_for(
            depth,
            || args::check_arguments(self, command, args),
            || Err(ArgumentError::TooDeep),
        )
    }

    /// Validates a value a server sent against a type. Issues name the path below `path`
    /// (`return.qemu.micro: expected int, got string`); members the schema does not list are
    /// [`Severity::Extra`] (clients must ignore them), everything else [`Severity::Error`].
    pub fn validate(&self, type_name: &str, v: &Value, path: &str) -> Vec<Issue> {
        with_stack_for(
            value_depth(v),
            || validate::validate(self, type_name, v, path),
            || {
                vec![Issue {
                    severity: Severity::Error,
                    path: path.to_string(),
                    message: "nested too deeply to validate".to_string(),
                }]
            },
        )
    }

    /// A minimal value of the type: mandatory members only, the first enum value, the first
    /// variant (or alternate branch) that can be built without recursing, `0`, `""`, `false`,
    /// `null` for builtins and `any`, `[]` for arrays. `null` for an unknown type name.
    pub fn example_value(&self, type_name: &str) -> Value {
        example::example_value(self, type_name)
    }
}

/// `old`'s integer kinds, carried over to the corresponding object types of `new` (for the
/// members both have).
fn carried_int_kinds(old: &Schema, new: &Schema) -> IntKinds {
    let mut kinds = IntKinds::new();
    for (o, n) in diff::corresponding_objects(old, new) {
        let (Some(known), Some(TypeDef::Object(obj))) = (old.int_kinds.get(&o), new.ty(&n)) else {
            continue;
        };
        for (member, kind) in known {
            if obj.member(member).is_some() {
                kinds
                    .entry(n.clone())
                    .or_default()
                    .insert(member.clone(), *kind);
            }
        }
    }
    kinds
}

/// Nesting depth of a value (scalars 0), without recursion.
pub(crate) fn value_depth(v: &Value) -> usize {
    let mut max = 0;
    let mut stack = vec![(v, 0usize)];
    while let Some((v, d)) = stack.pop() {
        max = max.max(d);
        match v {
            Value::Array(a) => stack.extend(a.iter().map(|x| (x, d + 1))),
            Value::Object(m) => stack.extend(m.values().map(|x| (x, d + 1))),
            _ => {}
        }
    }
    max
}

/// Values nested deeper than this are walked on a thread with a large stack: the walkers
/// recurse once or more per level, and QEMU accepts values nested 1024 levels deep.
const SHALLOW_DEPTH: usize = 64;
const DEEP_STACK_BYTES: usize = 64 << 20;

/// Runs `f`, on a helper thread with a large stack when `depth` asks for it; `fallback` when
/// no such thread can be started.
fn with_stack_for<R: Send>(
    depth: usize,
    f: impl FnOnce() -> R + Send,
    fallback: impl FnOnce() -> R,
) -> R {
    if depth <= SHALLOW_DEPTH {
        return f();
    }
    std::thread::scope(|scope| {
        match std::thread::Builder::new()
            .name("qmpspec-schema-deep".into())
            .stack_size(DEEP_STACK_BYTES)
            .spawn_scoped(scope, f)
        {
            Ok(handle) => handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            Err(_) => fallback(),
        }
    })
}

/// The JSON kind of a value, as issues and generators name it.
pub(crate) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(n) if is_qemu_int(n) => "int",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Whether QEMU's parser makes this number an integer QNum (int64 or uint64) rather than a
/// double: no fraction or exponent, and in range.
pub(crate) fn is_qemu_int(n: &serde_json::Number) -> bool {
    n.is_i64() || n.is_u64()
}

#[cfg(test)]
mod tests;
