//! TEMPORARY private adapter with the API of `crate::schema` (branch `schema`), so the
//! monitor compiles before that module lands. Delete after merging `schema`.

use serde_json::{Map, Value};
use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

#[derive(Debug, Clone)]
pub struct CommandInfo {
    pub name: String,
    pub arg_type: String,
    pub ret_type: String,
    pub allow_oob: bool,
    pub features: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct EventInfo {
    pub name: String,
    pub arg_type: String,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SchemaError(pub String);

#[derive(Debug, Clone)]
pub struct Schema {
    value: Value,
    commands: Vec<CommandInfo>,
    events: Vec<EventInfo>,
    types: HashMap<String, Value>,
}

const QEMU_7_2: &str = include_str!("../../../specs/qemu-7.2/system-x86_64.schema.json");

impl Schema {
    pub fn qemu_7_2() -> &'static Schema {
        static S: OnceLock<Schema> = OnceLock::new();
        S.get_or_init(|| {
            let v: Value = serde_json::from_str(QEMU_7_2).expect("embedded schema parses");
            Schema::from_value(&v).expect("embedded schema is valid")
        })
    }

    pub fn from_file(path: &Path) -> Result<Schema, SchemaError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| SchemaError(format!("{}: {e}", path.display())))?;
        let v: Value = serde_json::from_str(&text)
            .map_err(|e| SchemaError(format!("{}: {e}", path.display())))?;
        Schema::from_value(&v)
    }

    pub fn from_value(v: &Value) -> Result<Schema, SchemaError> {
        let arr = v
            .as_array()
            .ok_or_else(|| SchemaError("schema is not an array".into()))?;
        let mut s = Schema {
            value: v.clone(),
            commands: Vec::new(),
            events: Vec::new(),
            types: HashMap::new(),
        };
        for e in arr {
            let name = e["name"]
                .as_str()
                .ok_or_else(|| SchemaError("entity without name".into()))?
                .to_string();
            let s_of = |k: &str| e[k].as_str().unwrap_or("0").to_string();
            match e["meta-type"].as_str() {
                Some("command") => s.commands.push(CommandInfo {
                    name,
                    arg_type: s_of("arg-type"),
                    ret_type: s_of("ret-type"),
                    allow_oob: e["allow-oob"].as_bool().unwrap_or(false),
                    features: Vec::new(),
                }),
                Some("event") => s.events.push(EventInfo {
                    name,
                    arg_type: s_of("arg-type"),
                }),
                Some(_) => {
                    s.types.insert(name, e.clone());
                }
                None => return Err(SchemaError(format!("{name}: no meta-type"))),
            }
        }
        Ok(s)
    }

    pub fn to_value(&self) -> &Value {
        &self.value
    }

    pub fn commands(&self) -> impl Iterator<Item = &CommandInfo> {
        self.commands.iter()
    }

    pub fn command(&self, name: &str) -> Option<&CommandInfo> {
        self.commands.iter().find(|c| c.name == name)
    }

    pub fn events(&self) -> impl Iterator<Item = &EventInfo> {
        self.events.iter()
    }

    pub fn event(&self, name: &str) -> Option<&EventInfo> {
        self.events.iter().find(|c| c.name == name)
    }

    pub fn check_arguments(
        &self,
        command: &str,
        args: Option<&Map<String, Value>>,
    ) -> Result<(), String> {
        let Some(cmd) = self.command(command) else {
            return Err(format!("The command {command} has not been found"));
        };
        let empty = Map::new();
        self.check_object(&cmd.arg_type, args.unwrap_or(&empty), "")
    }

    fn check_object(&self, ty: &str, m: &Map<String, Value>, prefix: &str) -> Result<(), String> {
        let Some(t) = self.types.get(ty) else {
            return Ok(());
        };
        let members = t["members"].as_array().cloned().unwrap_or_default();
        for mem in &members {
            let name = mem["name"].as_str().unwrap_or("");
            let full = format!("{prefix}{name}");
            match m.get(name) {
                None if mem.get("default").is_none() => {
                    return Err(format!("Parameter '{full}' is missing"))
                }
                None => {}
                Some(v) => self.check(mem["type"].as_str().unwrap_or("any"), v, &full)?,
            }
        }
        if t.get("variants").is_none() {
            for k in m.keys() {
                if !members.iter().any(|x| x["name"] == k.as_str()) {
                    return Err(format!("Parameter '{prefix}{k}' is unexpected"));
                }
            }
        }
        Ok(())
    }

    fn check(&self, ty: &str, v: &Value, name: &str) -> Result<(), String> {
        let bad = |exp: &str| {
            Err(format!(
                "Invalid parameter type for '{name}', expected: {exp}"
            ))
        };
        match ty {
            "str" => return if v.is_string() { Ok(()) } else { bad("string") },
            "int" => {
                return if v.is_i64() || v.is_u64() {
                    Ok(())
                } else {
                    bad("integer")
                }
            }
            "number" => return if v.is_number() { Ok(()) } else { bad("number") },
            "bool" => {
                return if v.is_boolean() {
                    Ok(())
                } else {
                    bad("boolean")
                }
            }
            "null" => return if v.is_null() { Ok(()) } else { bad("null") },
            "any" => return Ok(()),
            _ => {}
        }
        let Some(t) = self.types.get(ty) else {
            return Ok(());
        };
        match t["meta-type"].as_str() {
            Some("enum") => {
                let Some(s) = v.as_str() else {
                    return bad("string");
                };
                let ok = t["values"]
                    .as_array()
                    .is_some_and(|vals| vals.iter().any(|x| x == s));
                if ok {
                    Ok(())
                } else {
                    Err(format!("Parameter '{name}' does not accept value '{s}'"))
                }
            }
            Some("array") => {
                let Some(items) = v.as_array() else {
                    return bad("array");
                };
                let el = t["element-type"].as_str().unwrap_or("any");
                for x in items {
                    self.check(el, x, "null")?;
                }
                Ok(())
            }
            Some("object") => match v.as_object() {
                Some(m) => self.check_object(ty, m, &format!("{name}.")),
                None => bad("object"),
            },
            _ => Ok(()),
        }
    }

    pub fn example_value(&self, type_name: &str) -> Value {
        self.example(type_name, 0)
    }

    fn example(&self, ty: &str, depth: usize) -> Value {
        match ty {
            "str" => return Value::String(String::new()),
            "int" | "number" => return Value::from(0),
            "bool" => return Value::Bool(false),
            "null" => return Value::Null,
            "any" => return Value::Object(Map::new()),
            _ => {}
        }
        let Some(t) = self.types.get(ty) else {
            return Value::Object(Map::new());
        };
        match t["meta-type"].as_str() {
            Some("enum") => t["values"][0].clone(),
            Some("array") => Value::Array(Vec::new()),
            Some("alternate") => {
                let first = t["members"][0]["type"]
                    .as_str()
                    .unwrap_or("any")
                    .to_string();
                self.example(&first, depth + 1)
            }
            Some("builtin") => Value::Null,
            _ => {
                let mut m = Map::new();
                if depth > 32 {
                    return Value::Object(m);
                }
                for mem in t["members"].as_array().into_iter().flatten() {
                    if mem.get("default").is_none() {
                        let n = mem["name"].as_str().unwrap_or("").to_string();
                        let ty = mem["type"].as_str().unwrap_or("any").to_string();
                        m.insert(n, self.example(&ty, depth + 1));
                    }
                }
                if let (Some(tag), Some(v0)) = (t["tag"].as_str(), t["variants"].get(0)) {
                    m.insert(tag.to_string(), v0["case"].clone());
                    if let Value::Object(extra) =
                        self.example(v0["type"].as_str().unwrap_or("0"), depth + 1)
                    {
                        m.extend(extra);
                    }
                }
                Value::Object(m)
            }
        }
    }
}
