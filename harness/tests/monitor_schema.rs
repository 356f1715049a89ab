//! Schema-driven: every command of the schema gets a reply the schema allows — a return
//! valid for its ret-type, or an error — and events carry data valid for their arg-type.
//! Also for the storage daemon's schema.

use qmpspec::monitor::{Fault, Monitor, MonitorConfig, Schema};
use qmpspec::schema::Severity;
use serde_json::{json, Value};
use std::sync::Arc;

fn replies(cfg: &Arc<MonitorConfig>, input: &[u8]) -> Vec<Value> {
    let mut m = Monitor::new(Arc::clone(cfg));
    let mut out = m.take_output();
    out.extend(m.feed(input));
    out.split(|&b| b == b'\n')
        .filter_map(|l| serde_json::from_slice(l.strip_suffix(b"\r").unwrap_or(l)).ok())
        .collect()
}

fn check_every_command(schema: Arc<Schema>, faults: &[Fault]) -> (usize, usize) {
    let cfg = Arc::new(MonitorConfig::new(faults, Some(Arc::clone(&schema))));
    let (mut ok, mut errors) = (0, 0);
    for c in schema.commands() {
        let args = schema.example_value(&c.arg_type);
        let cmd = json!({"execute": c.name, "arguments": args, "id": "x"});
        let input = format!("{{\"execute\":\"qmp_capabilities\"}}\n{cmd}\n");
        let msgs = replies(&cfg, input.as_bytes());
        let reply = msgs
            .iter()
            .find(|v| v.get("id") == Some(&json!("x")))
            .unwrap_or_else(|| panic!("{}: no reply in {msgs:?}", c.name));
        if let Some(ret) = reply.get("return") {
            let issues: Vec<_> = schema
                .validate(&c.ret_type, ret, "return")
                .into_iter()
                .filter(|i| i.severity == Severity::Error)
                .collect();
            assert!(issues.is_empty(), "{}: {issues:?}", c.name);
            ok += 1;
        } else {
            let e = &reply["error"];
            assert!(
                e["class"].is_string() && e["desc"].is_string(),
                "{}: {reply}",
                c.name
            );
            errors += 1;
        }
        for ev in msgs.iter().filter(|v| v.get("event").is_some()) {
            let name = ev["event"].as_str().unwrap();
            let info = schema.event(name).expect("only schema events are sent");
            let data = ev.get("data").cloned().unwrap_or(json!({}));
            let issues: Vec<_> = schema
                .validate(&info.arg_type, &data, "data")
                .into_iter()
                .filter(|i| i.severity == Severity::Error)
                .collect();
            assert!(issues.is_empty(), "{name}: {issues:?}");
        }
    }
    (ok, errors)
}

#[test]
fn every_system_command_gets_a_schema_valid_reply() {
    let schema = Arc::new(Schema::qemu_7_2().clone());
    let (ok, errors) = check_every_command(Arc::clone(&schema), &[]);
    assert_eq!(ok + errors, schema.commands().count());
    assert!(
        ok > 150,
        "most commands succeed with example arguments ({ok} did)"
    );
}

#[test]
fn every_storage_daemon_command_gets_a_schema_valid_reply() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../specs/qemu-7.2/storage-daemon.schema.json"
    );
    let schema = Arc::new(Schema::from_file(std::path::Path::new(path)).unwrap());
    let (ok, errors) = check_every_command(Arc::clone(&schema), &[]);
    assert_eq!(ok + errors, schema.commands().count());
}

#[test]
fn wrong_return_type_is_caught_by_the_schema() {
    let schema = Arc::new(Schema::qemu_7_2().clone());
    let cfg = Arc::new(MonitorConfig::new(
        &[Fault::WrongReturnType],
        Some(Arc::clone(&schema)),
    ));
    let msgs = replies(
        &cfg,
        b"{\"execute\":\"qmp_capabilities\"}\n{\"execute\":\"query-version\",\"id\":1}\n",
    );
    let ret = &msgs.iter().find(|v| v["id"] == 1).unwrap()["return"];
    let ret_type = &schema.command("query-version").unwrap().ret_type;
    assert!(schema
        .validate(ret_type, ret, "return")
        .iter()
        .any(|i| i.severity == Severity::Error && i.path.contains("micro")));
}

#[test]
fn unknown_commands_are_command_not_found() {
    let cfg = Arc::new(MonitorConfig::new(&[], None));
    let msgs = replies(
        &cfg,
        b"{\"execute\":\"qmp_capabilities\"}\n{\"execute\":\"x-no-such\",\"id\":1}\n",
    );
    assert_eq!(
        msgs.last().unwrap(),
        &json!({"id": 1, "error": {"class": "CommandNotFound", "desc": "The command x-no-such has not been found"}})
    );
}
