//! Commands with real behaviour, QEMU's recorded answers to argument-less queries (of the
//! release answered as), and the schema-driven answer (the ret-type's example value) for
//! every other command.

use super::fault::Fault;
use super::qobject::QObj;
use super::release::QemuRelease;
use super::server::{Chardev, Monitor, MonitorConfig, Outcome, UNKNOWN_CAPABILITY};
use crate::schema::{Schema, Severity, TypeDef};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

/// `query-version`'s return (also the greeting's `version`). `for_query` applies the
/// `wrong-return-type` fault, which only touches the command's reply.
pub(crate) fn version_info(cfg: &MonitorConfig, for_query: bool) -> QObj {
    let (major, minor, micro) = cfg.version;
    let mut package = cfg.package.clone();
    if cfg.has(Fault::NonAscii) {
        package.push_str(" \u{e9}");
    }
    let micro = if for_query && cfg.has(Fault::WrongReturnType) {
        QObj::Str(micro.to_string())
    } else {
        QObj::Int(micro)
    };
    QObj::dict([
        (
            "qemu",
            QObj::dict([
                ("major", QObj::Int(major)),
                ("minor", QObj::Int(minor)),
                ("micro", micro),
            ]),
        ),
        ("package", QObj::Str(package)),
    ])
}

fn arg<'a>(args: &'a [(String, QObj)], name: &str) -> Option<&'a QObj> {
    args.iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

/// Run command `name` (known to the schema, arguments already checked).
pub(crate) fn run(
    mon: &mut Monitor,
    name: &str,
    ret_type: &str,
    args: &[(String, QObj)],
) -> Outcome {
    let empty = || QObj::Dict(Vec::new());
    match name {
        "qmp_capabilities" => qmp_capabilities(mon, args),
        "query-version" => Ok(version_info(&mon.cfg, true)),
        "query-status" => {
            let mut status = vec![("running", QObj::Bool(mon.running))];
            // (QEMU 10.0 dropped the deprecated `singlestep`: answer as the schema has it.)
            if has_member(&mon.cfg.schema, ret_type, "singlestep") {
                status.push(("singlestep", QObj::Bool(false)));
            }
            status.push((
                "status",
                QObj::str(if mon.running { "running" } else { "paused" }),
            ));
            Ok(QObj::dict(status))
        }
        "stop" => {
            if mon.running {
                mon.running = false;
                mon.event("STOP", None);
            }
            Ok(empty())
        }
        "cont" => {
            if !mon.running {
                mon.running = true;
                mon.event("RESUME", None);
            }
            Ok(empty())
        }
        "query-name" => Ok(empty()),
        "quit" => {
            host_request(mon, "SHUTDOWN", "host-qmp-quit");
            mon.closing = true;
            Ok(empty())
        }
        "query-commands" => {
            // QEMU lists commands newest-registered first: the reverse of the schema order,
            // except that device_add is registered by hand, after all generated commands.
            let schema = Arc::clone(&mon.cfg.schema);
            let mut names: Vec<&str> = schema.commands().map(|c| c.name.as_str()).collect();
            names.reverse();
            if let Some(pos) = names.iter().position(|n| *n == "device_add") {
                let d = names.remove(pos);
                names.insert(0, d);
            }
            if mon.cfg.has(Fault::BadDownstreamName) {
                names.push("__drive-mirror");
            }
            let list = names
                .into_iter()
                .map(|n| {
                    if mon.cfg.has(Fault::BadQueryCommands) {
                        QObj::str(n)
                    } else {
                        QObj::dict([("name", QObj::str(n))])
                    }
                })
                .collect();
            Ok(QObj::List(list))
        }
        "query-qmp-schema" => {
            let cfg = Arc::clone(&mon.cfg);
            let v = cfg
                .schema_qobj
                .get_or_init(|| QObj::from_value(cfg.schema.to_value()));
            match v {
                QObj::List(entries) if cfg.has(Fault::SchemaMissesCommand) => Ok(QObj::List(
                    entries
                        .iter()
                        .filter(|e| e.get("name") != Some(&QObj::str("query-name")))
                        .cloned()
                        .collect(),
                )),
                v => Ok(v.clone()),
            }
        }
        "qom-list" => {
            // Without the argument check, a missing or ill-typed path reads as the root.
            let root = QObj::str("/");
            let path = match arg(args, "path") {
                Some(QObj::Str(_)) => arg(args, "path"),
                _ if mon.cfg.has(Fault::NoArgCheck) => Some(&root),
                other => other,
            };
            qom_list(path, &mon.cfg.chardev, mon.cfg.release)
        }
        "qom-get" => qom_get(arg(args, "path"), arg(args, "property"), mon.cfg.release),
        "query-chardev" => Ok(QObj::List(vec![QObj::dict([
            ("label", QObj::str("compat_monitor0")),
            (
                "filename",
                QObj::str(match &mon.cfg.chardev {
                    Chardev::Stdio => "stdio",
                    Chardev::Socket { filename } => filename,
                }),
            ),
            ("frontend-open", QObj::Bool(true)),
        ])])),
        "query-yank" => Ok(QObj::List(match mon.cfg.chardev {
            Chardev::Stdio => vec![],
            Chardev::Socket { .. } => vec![QObj::dict([
                ("type", QObj::str("chardev")),
                ("id", QObj::str("compat_monitor0")),
            ])],
        })),
        "human-monitor-command" => {
            let line = match arg(args, "command-line") {
                Some(QObj::Str(s)) => s.trim().to_string(),
                _ => String::new(),
            };
            let (ma, mi, mc) = mon.cfg.version;
            let text = match line.as_str() {
                "info version" => format!("{ma}.{mi}.{mc}{}\r\n", mon.cfg.package),
                "info status" => format!(
                    "VM status: {}\r\n",
                    if mon.running { "running" } else { "paused" }
                ),
                "" => String::new(),
                other => {
                    let cmd = other.split_whitespace().next().unwrap_or(other);
                    format!("unknown command: '{cmd}'\r\n")
                }
            };
            Ok(QObj::Str(text))
        }
        "system_reset" => {
            host_request(mon, "RESET", "host-qmp-system-reset");
            Ok(empty())
        }
        "system_powerdown" => {
            mon.event("POWERDOWN", None);
            Ok(empty())
        }
        "inject-nmi" => Err((
            "GenericError",
            "this feature or command is not currently supported".into(),
        )),
        "balloon" => Err((
            "DeviceNotActive",
            "No balloon device has been activated".into(),
        )),
        "device_del" | "netdev_del" => Err((
            "DeviceNotFound",
            format!("Device '{}' not found", str_arg(args, "id")),
        )),
        "object-del" => Err((
            "GenericError",
            format!("object '{}' not found", str_arg(args, "id")),
        )),
        "chardev-remove" => Err((
            "GenericError",
            format!("Chardev '{}' not found", str_arg(args, "id")),
        )),
        "query-uuid" => Ok(QObj::dict([(
            "UUID",
            QObj::str("00000000-0000-0000-0000-000000000000"),
        )])),
        _ => {
            if let Some(recorded) = recorded_reply(mon, name, ret_type) {
                return recorded;
            }
            let v = mon.cfg.schema.example_value(ret_type);
            Ok(QObj::from_value(&v))
        }
    }
}

/// What QEMU answered to argument-less queries (specs/qemu-<version>/system-x86_64.returns.json,
/// recorded by ci/record-qemu-returns.py), per release.
fn recorded(release: QemuRelease) -> &'static HashMap<String, Outcome> {
    static R: [OnceLock<HashMap<String, Outcome>>; 2] = [OnceLock::new(), OnceLock::new()];
    let slot = match release {
        QemuRelease::V7_2 => &R[0],
        QemuRelease::V10_0 => &R[1],
    };
    slot.get_or_init(|| {
        let v: Value = serde_json::from_str(release.returns_json()).unwrap_or(Value::Null);
        let mut map = HashMap::new();
        for (name, reply) in v["replies"].as_object().into_iter().flatten() {
            let outcome = if let Some(ret) = reply.get("return") {
                Ok(QObj::from_qemu_output(ret))
            } else {
                let class = match reply["error"]["class"].as_str() {
                    Some("CommandNotFound") => "CommandNotFound",
                    Some("DeviceNotActive") => "DeviceNotActive",
                    Some("DeviceNotFound") => "DeviceNotFound",
                    Some("KVMMissingCap") => "KVMMissingCap",
                    _ => "GenericError",
                };
                let desc = reply["error"]["desc"].as_str().unwrap_or_default();
                Err((class, desc.to_string()))
            };
            map.insert(name.clone(), outcome);
        }
        map
    })
}

/// Whether object type `ty` of `schema` has a member `member`.
fn has_member(schema: &Schema, ty: &str, member: &str) -> bool {
    matches!(schema.ty(ty), Some(TypeDef::Object(o)) if o.member(member).is_some())
}

/// QEMU's recorded reply to `name`, when there is one and the served schema allows it.
fn recorded_reply(mon: &Monitor, name: &str, ret_type: &str) -> Option<Outcome> {
    let r = recorded(mon.cfg.release).get(name)?;
    if let Ok(ret) = r {
        let allowed = mon
            .cfg
            .schema
            .validate(ret_type, &ret.to_value(), "return")
            .iter()
            .all(|i| i.severity != Severity::Error);
        if !allowed {
            return None;
        }
    }
    Some(r.clone())
}

fn str_arg<'a>(args: &'a [(String, QObj)], name: &str) -> &'a str {
    match arg(args, name) {
        Some(QObj::Str(s)) => s,
        _ => "",
    }
}

/// The children of the QOM root under `-machine none`, as `qom-list /` names them (besides
/// `type`): QEMU 10.0 also creates the `backend` and `objects` containers up front.
fn qom_root(release: QemuRelease) -> &'static [(&'static str, &'static str)] {
    match release {
        QemuRelease::V7_2 => &[
            ("machine", "child<none-machine>"),
            ("chardevs", "child<container>"),
        ],
        QemuRelease::V10_0 => &[
            ("backend", "child<container>"),
            ("machine", "child<none-machine>"),
            ("objects", "child<container>"),
            ("chardevs", "child<container>"),
        ],
    }
}

/// Whether `path` is one of the root's empty containers (`/objects`, `/backend`).
fn empty_container(path: &str, release: QemuRelease) -> bool {
    let name = path.strip_prefix('/').unwrap_or("");
    name != "chardevs"
        && qom_root(release)
            .iter()
            .any(|(n, t)| *n == name && *t == "child<container>")
}

fn qom_get(path: Option<&QObj>, prop: Option<&QObj>, release: QemuRelease) -> Outcome {
    let (Some(QObj::Str(path)), Some(QObj::Str(prop))) = (path, prop) else {
        return Err(("GenericError", "Parameter 'path' is missing".into()));
    };
    let class = match path.as_str() {
        "/" | "/chardevs" => "container",
        p if empty_container(p, release) => "container",
        "/machine" => "none-machine",
        "" => return Err(("GenericError", "Path '' is ambiguous".into())),
        p => return Err(("DeviceNotFound", format!("Device '{p}' not found"))),
    };
    if prop == "type" {
        Ok(QObj::str(class))
    } else {
        Err((
            "GenericError",
            format!("Property '{class}.{prop}' not found"),
        ))
    }
}

fn qmp_capabilities(mon: &mut Monitor, args: &[(String, QObj)]) -> Outcome {
    if mon.negotiated && mon.cfg.has(Fault::CapsTwice) {
        return Ok(QObj::Dict(Vec::new()));
    }
    if mon.negotiated {
        return Err((
            "CommandNotFound",
            "Capabilities negotiation is already complete, command ignored".into(),
        ));
    }
    let mut enable: Vec<String> = Vec::new();
    if let Some(QObj::List(l)) = arg(args, "enable") {
        for c in l {
            if let QObj::Str(s) = c {
                enable.push(s.clone());
            }
        }
    }
    let cfg = &mon.cfg;
    let offered = |c: &str| match c {
        "oob" => cfg.offer_oob && !cfg.has(Fault::RejectEnable),
        UNKNOWN_CAPABILITY if cfg.has(Fault::UnknownCapability) => true,
        _ => cfg.has(Fault::AcceptUnknownCap),
    };
    let unavailable: Vec<&str> = enable
        .iter()
        .map(String::as_str)
        .filter(|c| !offered(c))
        .collect();
    if !unavailable.is_empty() {
        return Err((
            "GenericError",
            format!("Capability {} not available", unavailable.join(", ")),
        ));
    }
    if !mon.cfg.has(Fault::CapsNoEffect) {
        mon.negotiated = true;
        mon.oob = enable.iter().any(|c| c == "oob");
    }
    Ok(QObj::Dict(Vec::new()))
}

fn qom_list(path: Option<&QObj>, chardev: &Chardev, release: QemuRelease) -> Outcome {
    let prop = |n: &str, t: &str| QObj::dict([("name", QObj::str(n)), ("type", QObj::str(t))]);
    match path {
        Some(QObj::Str(p)) if p == "/" => Ok(QObj::List(
            std::iter::once(prop("type", "string"))
                .chain(qom_root(release).iter().map(|(n, t)| prop(n, t)))
                .collect(),
        )),
        Some(QObj::Str(p)) if empty_container(p, release) => {
            Ok(QObj::List(vec![prop("type", "string")]))
        }
        Some(QObj::Str(p)) if p == "/chardevs" => Ok(QObj::List(vec![
            prop("type", "string"),
            prop(
                "compat_monitor0",
                match chardev {
                    Chardev::Stdio => "child<chardev-stdio>",
                    Chardev::Socket { .. } => "child<chardev-socket>",
                },
            ),
        ])),
        Some(QObj::Str(p)) if p.is_empty() => {
            Err(("GenericError", "Path '' is ambiguous".to_string()))
        }
        Some(QObj::Str(p)) => Err(("DeviceNotFound", format!("Device '{p}' not found"))),
        _ => Err(("GenericError", "Parameter 'path' is missing".to_string())),
    }
}

/// Emit `event` (SHUTDOWN, RESET) as QEMU does for a request of the host's, not the guest's:
/// its data is the shutdown cause.
fn host_request(mon: &mut Monitor, event: &str, reason: &str) {
    mon.event(
        event,
        Some(QObj::dict([
            ("guest", QObj::Bool(false)),
            ("reason", QObj::str(reason)),
        ])),
    );
}
