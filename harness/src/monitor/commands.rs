//! Commands with real behaviour, and the schema-driven answer for every other command.

use super::fault::Fault;
use super::qobject::QObj;
use super::server::{Chardev, Monitor, MonitorConfig, Outcome};
use std::sync::Arc;

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
        "query-status" => Ok(QObj::dict([
            ("running", QObj::Bool(mon.running)),
            ("singlestep", QObj::Bool(false)),
            (
                "status",
                QObj::str(if mon.running { "running" } else { "paused" }),
            ),
        ])),
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
            mon.event(
                "SHUTDOWN",
                Some(QObj::dict([
                    ("guest", QObj::Bool(false)),
                    ("reason", QObj::str("host-qmp-quit")),
                ])),
            );
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
            let list = names
                .into_iter()
                .map(|n| QObj::dict([("name", QObj::str(n))]))
                .collect();
            Ok(QObj::List(list))
        }
        "query-qmp-schema" => {
            let cfg = Arc::clone(&mon.cfg);
            let v = cfg
                .schema_qobj
                .get_or_init(|| QObj::from_value(cfg.schema.to_value()));
            Ok(v.clone())
        }
        "qom-list" => qom_list(arg(args, "path"), &mon.cfg.chardev),
        "qom-get" => qom_get(arg(args, "path"), arg(args, "property")),
        "query-kvm" => Ok(QObj::dict([
            ("enabled", QObj::Bool(false)),
            ("present", QObj::Bool(true)),
        ])),
        "query-uuid" => Ok(QObj::dict([(
            "UUID",
            QObj::str("00000000-0000-0000-0000-000000000000"),
        )])),
        "query-target" => Ok(QObj::dict([("arch", QObj::str("x86_64"))])),
        "query-current-machine" => Ok(QObj::dict([("wakeup-suspend-support", QObj::Bool(false))])),
        "query-memory-size-summary" => Ok(QObj::dict([
            ("base-memory", QObj::Int(0)),
            ("plugged-memory", QObj::Int(0)),
        ])),
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
            mon.event(
                "RESET",
                Some(QObj::dict([
                    ("guest", QObj::Bool(false)),
                    ("reason", QObj::str("host-qmp-system-reset")),
                ])),
            );
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
        "query-balloon" | "balloon" => Err((
            "DeviceNotActive",
            "No balloon device has been activated".into(),
        )),
        "query-vm-generation-id" => {
            Err(("GenericError", "VM Generation ID device not found".into()))
        }
        "query-hotpluggable-cpus" => Err((
            "GenericError",
            "The feature 'query-hotpluggable-cpus' is not enabled".into(),
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
        _ => {
            let v = mon.cfg.schema.example_value(ret_type);
            Ok(QObj::from_value(&v))
        }
    }
}

fn str_arg<'a>(args: &'a [(String, QObj)], name: &str) -> &'a str {
    match arg(args, name) {
        Some(QObj::Str(s)) => s,
        _ => "",
    }
}

fn qom_get(path: Option<&QObj>, prop: Option<&QObj>) -> Outcome {
    let (Some(QObj::Str(path)), Some(QObj::Str(prop))) = (path, prop) else {
        return Err(("GenericError", "Parameter 'path' is missing".into()));
    };
    let class = match path.as_str() {
        "/" | "/chardevs" => "container",
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
    let offered = |c: &str| c == "oob" && mon.cfg.offer_oob && !mon.cfg.has(Fault::RejectEnable);
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
    mon.negotiated = true;
    mon.oob = enable.iter().any(|c| c == "oob");
    Ok(QObj::Dict(Vec::new()))
}

fn qom_list(path: Option<&QObj>, chardev: &Chardev) -> Outcome {
    let prop = |n: &str, t: &str| QObj::dict([("name", QObj::str(n)), ("type", QObj::str(t))]);
    match path {
        Some(QObj::Str(p)) if p == "/" => Ok(QObj::List(vec![
            prop("type", "string"),
            prop("machine", "child<none-machine>"),
            prop("chardevs", "child<container>"),
        ])),
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
