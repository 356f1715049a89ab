use super::*;
use serde_json::json;

const STORAGE_DAEMON_JSON: &str =
    include_str!("../../../specs/qemu-7.2/storage-daemon.schema.json");

fn storage_daemon() -> Schema {
    Schema::from_value(&serde_json::from_str(STORAGE_DAEMON_JSON).unwrap()).unwrap()
}

fn snapshots() -> Vec<(&'static str, Schema)> {
    vec![
        ("system-x86_64", Schema::qemu_7_2().clone()),
        ("storage-daemon", storage_daemon()),
    ]
}

/// The check's result, its error as QEMU's text.
fn check(command: &str, args: Value) -> Result<(), String> {
    Schema::qemu_7_2()
        .check_arguments(command, args.as_object())
        .map_err(|e| e.to_string())
}

fn err(desc: &str) -> Result<(), String> {
    Err(desc.to_string())
}

// ---- loading -------------------------------------------------------------------------------

#[test]
fn loads_the_system_snapshot() {
    let s = Schema::qemu_7_2();
    assert_eq!(s.commands().count(), 216);
    assert_eq!(s.events().count(), 52);
    assert_eq!(
        s.types()
            .filter(|t| matches!(t, TypeDef::Object(_)))
            .count(),
        553
    );
    assert_eq!(
        s.types()
            .filter(|t| matches!(t, TypeDef::Alternate(_)))
            .count(),
        6
    );
    assert_eq!(
        s.types()
            .filter(|t| matches!(t, TypeDef::Builtin(_)))
            .count(),
        6
    );
    let q = s.command("query-status").unwrap();
    assert_eq!(q.arg_type, "0");
    assert_eq!(q.ret_type, "1");
    assert!(!q.allow_oob);
    let oob: Vec<&str> = s
        .commands()
        .filter(|c| c.allow_oob)
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(
        oob,
        ["migrate-recover", "migrate-pause", "yank", "query-yank"]
    );
    assert_eq!(
        s.command("device_add").unwrap().features,
        ["json-cli", "json-cli-hotplug"]
    );
    assert_eq!(s.event("SHUTDOWN").unwrap().arg_type, "2");
    assert!(s.command("no-such-command").is_none());
    assert!(s.event("NO_SUCH_EVENT").is_none());
    assert_eq!(
        s.commands().next().unwrap().name,
        "query-status",
        "schema order is kept"
    );
    match s.ty("str") {
        Some(TypeDef::Builtin(b)) => assert_eq!(b.json_type, JsonType::String),
        other => panic!("str: {other:?}"),
    }
}

#[test]
fn loads_the_storage_daemon_snapshot() {
    let s = storage_daemon();
    assert_eq!(s.commands().count(), 74);
    assert_eq!(s.events().count(), 13);
    assert!(s.commands().all(|c| !c.allow_oob));
    assert!(s.command("blockdev-add").is_some());
    assert!(s.command("human-monitor-command").is_none());
}

#[test]
fn to_value_is_the_input() {
    let v: Value = serde_json::from_str(STORAGE_DAEMON_JSON).unwrap();
    assert_eq!(Schema::from_value(&v).unwrap().to_value(), &v);
    assert_eq!(
        Schema::qemu_7_2().to_value().as_array().unwrap().len(),
        1051
    );
}

#[test]
fn model_of_a_union_and_an_enum() {
    let s = Schema::qemu_7_2();
    let add = s.command("blockdev-add").unwrap();
    let Some(TypeDef::Object(o)) = s.ty(&add.arg_type) else {
        panic!("blockdev-add arg-type")
    };
    assert_eq!(o.tag.as_deref(), Some("driver"));
    assert!(!o.member("driver").unwrap().optional);
    assert!(o.member("node-name").unwrap().optional);
    let raw = o.variant("raw").unwrap();
    let Some(TypeDef::Object(raw)) = s.ty(&raw.ty) else {
        panic!("raw variant")
    };
    assert!(!raw.member("file").unwrap().optional);
    let Some(TypeDef::Enum(drivers)) = s.ty(&o.member("driver").unwrap().ty) else {
        panic!("driver enum")
    };
    assert_eq!(
        drivers.values.len(),
        o.variants.len(),
        "every case has a variant in introspection"
    );
    assert_eq!(drivers.values.len(), drivers.members.len());
    assert_eq!(drivers.values[0], "blkdebug");
}

fn load_err(v: Value) -> String {
    match Schema::from_value(&v) {
        Ok(_) => panic!("loaded {v}"),
        Err(e) => e.to_string(),
    }
}

/// A valid minimal schema, to break in one place.
fn minimal() -> Value {
    json!([
        {"name": "c", "meta-type": "command", "arg-type": "0", "ret-type": "0"},
        {"name": "E", "meta-type": "event", "arg-type": "0"},
        {"name": "0", "meta-type": "object", "members": []},
        {"name": "str", "meta-type": "builtin", "json-type": "string"},
    ])
}

/// Why [`minimal`] fails to load once `edit` changed it.
fn edited(edit: impl FnOnce(&mut Value)) -> String {
    let mut v = minimal();
    edit(&mut v);
    load_err(v)
}

/// [`minimal`] with `entry` appended.
fn with_entry(entry: Value) -> Value {
    let mut v = minimal();
    v.as_array_mut().expect("an array").push(entry);
    v
}

#[test]
fn minimal_schema_loads() {
    let s = Schema::from_value(&minimal()).unwrap();
    assert_eq!(s.commands().count(), 1);
    assert_eq!(s.check_arguments("c", None), Ok(()));
}

#[test]
fn malformed_schemas_are_errors() {
    assert_eq!(
        load_err(json!({"name": "x"})),
        "introspection data must be a JSON array, got an object"
    );
    assert_eq!(
        load_err(json!([1])),
        "entry #0 must be a JSON object, got a number"
    );
    assert_eq!(
        load_err(json!([{"name": "x"}])),
        "entry #0 ('x'): missing key 'meta-type'"
    );
    assert_eq!(
        load_err(json!([{"meta-type": "event"}])),
        "entry #0: missing key 'name'"
    );
    assert_eq!(
        load_err(json!([{"name": 5, "meta-type": "event"}])),
        "entry #0: 'name' must be a string, got a number"
    );
    assert_eq!(
        load_err(json!([{"name": "x", "meta-type": "thing"}])),
        "entry #0 ('x'): unknown meta-type 'thing'"
    );
    assert_eq!(
        load_err(json!([{"name": "x", "meta-type": "builtin", "json-type": "blob"}])),
        "builtin 'x': unknown json-type 'blob'"
    );
    assert_eq!(
        load_err(json!([{"name": "c", "meta-type": "command", "arg-type": "0"}])),
        "command 'c': missing key 'ret-type'"
    );

    assert_eq!(
        edited(|v| v[0]["ret-type"] = json!("99")),
        "command 'c': ret-type refers to undefined type '99'"
    );
    assert_eq!(
        edited(|v| v[1]["arg-type"] = json!("str")),
        "event 'E': arg-type must be of meta-type object, but 'str' is builtin"
    );
    assert_eq!(
        edited(|v| v[2]["members"] = json!([{"name": "a", "type": "7"}])),
        "object '0': member 'a' refers to undefined type '7'"
    );
    assert_eq!(
        edited(|v| v[2]["members"] = json!([{"name": "a"}])),
        "object '0' members[0]: missing key 'type'"
    );
    assert_eq!(
        edited(|v| v[2]["members"] = json!("a")),
        "object '0': 'members' must be an array, got a string"
    );
    assert_eq!(
        edited(|v| v[0]["allow-oob"] = json!("yes")),
        "command 'c': 'allow-oob' must be a boolean, got a string"
    );
    assert_eq!(
        load_err(with_entry(
            json!({"name": "c", "meta-type": "command", "arg-type": "0", "ret-type": "0"})
        )),
        "duplicate command 'c'"
    );
    assert_eq!(
        load_err(with_entry(
            json!({"name": "L", "meta-type": "array", "element-type": "[x]"})
        )),
        "array 'L': element-type refers to undefined type '[x]'"
    );
    assert_eq!(
        load_err(with_entry(
            json!({"name": "A", "meta-type": "alternate", "members": [{"type": "nope"}]})
        )),
        "alternate 'A': branch #0 refers to undefined type 'nope'"
    );
    assert_eq!(
        load_err(with_entry(json!({"name": "N", "meta-type": "enum"}))),
        "enum 'N': missing key 'values'"
    );
}

/// A schema with a union `U` (tag `t`, enum `T`) for the structural load checks and the
/// validator tests.
fn union_schema(extra: Value) -> Value {
    let mut v = json!([
        {"name": "cmd", "meta-type": "command", "arg-type": "U", "ret-type": "U"},
        {"name": "str", "meta-type": "builtin", "json-type": "string"},
        {"name": "int", "meta-type": "builtin", "json-type": "int"},
        {"name": "null", "meta-type": "builtin", "json-type": "null"},
        {"name": "T", "meta-type": "enum", "values": ["a", "b"]},
        {"name": "U", "meta-type": "object", "tag": "t",
         "members": [{"name": "t", "type": "T"}, {"name": "opt", "type": "int", "default": null}],
         "variants": [{"case": "a", "type": "VA"}, {"case": "b", "type": "VB"}]},
        {"name": "VA", "meta-type": "object", "members": [{"name": "x", "type": "int"}]},
        {"name": "VB", "meta-type": "object", "members": [{"name": "alt", "type": "ALT"}]},
        {"name": "ALT", "meta-type": "alternate", "members": [{"type": "str"}, {"type": "null"}, {"type": "VA"}]},
    ]);
    v.as_array_mut()
        .unwrap()
        .extend(extra.as_array().unwrap().iter().cloned());
    v
}

#[test]
fn inconsistent_unions_are_errors() {
    assert!(Schema::from_value(&union_schema(json!([]))).is_ok());
    let mut v = union_schema(json!([]));
    v[5]["tag"] = json!("nope");
    assert_eq!(load_err(v), "object 'U': tag 'nope' is not a member");
    let mut v = union_schema(json!([]));
    v[5]["tag"] = json!("opt");
    assert_eq!(
        load_err(v),
        "object 'U': tag member 'opt' must be of meta-type enum, but 'int' is builtin"
    );
    let mut v = union_schema(json!([]));
    v[5]["variants"][1]["case"] = json!("c");
    assert_eq!(
        load_err(v),
        "object 'U': variant 'c' is not a value of the tag's enum"
    );
    let mut v = union_schema(json!([]));
    v[5]["variants"][1]["type"] = json!("T");
    assert_eq!(
        load_err(v),
        "object 'U': variant 'b' must be of meta-type object, but 'T' is enum"
    );
    // A variant leading back to the union would make every walk loop on the same object.
    let mut v = union_schema(json!([]));
    v[5]["variants"][1]["type"] = json!("U");
    assert_eq!(
        load_err(v),
        "object 'U': variant 'b' leads back to object 'U'"
    );
    let v = union_schema(
        json!([{"name": "A2", "meta-type": "alternate", "members": [{"type": "ALT"}]}]),
    );
    assert_eq!(
        load_err(v),
        "alternate 'A2': branch #0 must be of meta-type builtin, enum, array or object, but 'ALT' is alternate"
    );
}

#[test]
fn from_file_names_the_file() {
    let dir = std::env::temp_dir().join(format!("qmpspec-schema-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let missing = dir.join("missing.json");
    let e = Schema::from_file(&missing).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!("{}: cannot read: ", missing.display())),
        "{e}"
    );
    let bad = dir.join("bad.json");
    std::fs::write(&bad, "[{").unwrap();
    let e = Schema::from_file(&bad).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!("{}: not valid JSON: ", bad.display())),
        "{e}"
    );
    let dangling = dir.join("dangling.json");
    std::fs::write(
        &dangling,
        r#"[{"name":"E","meta-type":"event","arg-type":"9"}]"#,
    )
    .unwrap();
    let e = Schema::from_file(&dangling).unwrap_err().to_string();
    assert_eq!(
        e,
        format!(
            "{}: event 'E': arg-type refers to undefined type '9'",
            dangling.display()
        )
    );
    let good = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../specs/qemu-7.2/storage-daemon.schema.json");
    assert_eq!(Schema::from_file(&good).unwrap().commands().count(), 74);
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---- check_arguments (texts seen from QEMU 7.2) -------------------------------------------

#[test]
fn top_level_argument_errors() {
    assert_eq!(
        check("query-version", json!({"a": 1})),
        err("Parameter 'a' is unexpected")
    );
    assert_eq!(check("query-version", json!({})), Ok(()));
    assert_eq!(
        Schema::qemu_7_2().check_arguments("query-version", None),
        Ok(())
    );
    assert_eq!(
        check("human-monitor-command", json!({})),
        err("Parameter 'command-line' is missing")
    );
    assert_eq!(
        Schema::qemu_7_2()
            .check_arguments("human-monitor-command", None)
            .map_err(|e| e.to_string()),
        err("Parameter 'command-line' is missing")
    );
    assert_eq!(
        check("human-monitor-command", json!({"command-line": 1})),
        err("Invalid parameter type for 'command-line', expected: string")
    );
    assert_eq!(
        check(
            "human-monitor-command",
            json!({"command-line": "info version"})
        ),
        Ok(())
    );
    // Missing members are found before unexpected ones.
    assert_eq!(
        check("human-monitor-command", json!({"x": 1})),
        err("Parameter 'command-line' is missing")
    );
    assert_eq!(
        check(
            "human-monitor-command",
            json!({"command-line": "info version", "x": 1})
        ),
        err("Parameter 'x' is unexpected")
    );
    assert_eq!(
        check("no-such-command", json!({})),
        err("The command no-such-command has not been found")
    );
}

#[test]
fn qmp_capabilities_enable() {
    assert_eq!(
        check("qmp_capabilities", json!({"enable": ["oob"]})),
        Ok(())
    );
    // The enum error names a list element 'null'.
    assert_eq!(
        check("qmp_capabilities", json!({"enable": ["foo"]})),
        err("Parameter 'null' does not accept value 'foo'")
    );
    assert_eq!(
        check("qmp_capabilities", json!({"enable": "oob"})),
        err("Invalid parameter type for 'enable', expected: array")
    );
    assert_eq!(
        check("qmp_capabilities", json!({"enable": [1]})),
        err("Invalid parameter type for 'enable[0]', expected: string")
    );
}

#[test]
fn integers_and_other_builtins() {
    let vt = |v: Value| {
        check(
            "blockdev-add",
            json!({"driver": "quorum", "children": [], "vote-threshold": v}),
        )
    };
    assert_eq!(vt(json!(2)), Ok(()));
    assert_eq!(vt(json!(-0)), Ok(()));
    let int_err = err("Invalid parameter type for 'vote-threshold', expected: integer");
    assert_eq!(vt(json!(1.5)), int_err);
    assert_eq!(vt(serde_json::from_str("1e3").unwrap()), int_err);
    assert_eq!(vt(serde_json::from_str("1.0").unwrap()), int_err);
    assert_eq!(
        vt(serde_json::from_str("123456789012345678901234567890").unwrap()),
        int_err
    );
    assert_eq!(vt(Value::Null), int_err);
    assert_eq!(vt(json!("1")), int_err);
    assert_eq!(
        check(
            "blockdev-add",
            json!({"driver": "raw", "file": "x", "read-only": "yes"})
        ),
        err("Invalid parameter type for 'read-only', expected: boolean")
    );
    assert_eq!(
        check(
            "blockdev-add",
            json!({"driver": "raw", "file": "x", "read-only": null})
        ),
        err("Invalid parameter type for 'read-only', expected: boolean")
    );
    // 'any' takes everything.
    assert_eq!(
        check(
            "qom-set",
            json!({"path": "/machine", "property": "x", "value": {"a": [1]}})
        ),
        Ok(())
    );
    assert_eq!(
        check("qom-set", json!({"path": "/machine", "property": "x"})),
        err("Parameter 'value' is missing")
    );
}

#[test]
fn blockdev_add_unions_and_nesting() {
    assert_eq!(
        check("blockdev-add", json!({})),
        err("Parameter 'driver' is missing")
    );
    assert_eq!(
        check("blockdev-add", json!({"driver": "foo"})),
        err("Parameter 'driver' does not accept value 'foo'")
    );
    assert_eq!(
        check("blockdev-add", json!({"driver": 1})),
        err("Invalid parameter type for 'driver', expected: string")
    );
    assert_eq!(
        check("blockdev-add", json!({"driver": "raw"})),
        err("Parameter 'file' is missing")
    );
    assert_eq!(
        check("blockdev-add", json!({"driver": "raw", "file": "x"})),
        Ok(())
    );
    assert_eq!(
        check(
            "blockdev-add",
            json!({"driver": "raw", "file": {"driver": "qcow2"}})
        ),
        err("Parameter 'file.file' is missing")
    );
    assert_eq!(
        check(
            "blockdev-add",
            json!({"driver": "raw", "file": {"driver": "file", "filename": 1}})
        ),
        err("Invalid parameter type for 'file.filename', expected: string")
    );
    assert_eq!(
        check(
            "blockdev-add",
            json!({"driver": "raw", "file": {"driver": "file", "filename": "x", "foo": 1}})
        ),
        err("Parameter 'file.foo' is unexpected")
    );
    // Enum errors name the innermost member only.
    assert_eq!(
        check(
            "blockdev-add",
            json!({"driver": "raw", "file": {"driver": "file", "filename": "x", "aio": "foo"}})
        ),
        err("Parameter 'aio' does not accept value 'foo'")
    );
    assert_eq!(
        check(
            "blockdev-add",
            json!({"driver": "raw", "file": {"driver": "file", "filename": "x"}, "bar": 1})
        ),
        err("Parameter 'bar' is unexpected")
    );
    assert_eq!(
        check(
            "blockdev-add",
            json!({"driver": "raw", "file": "x", "discard": "foo"})
        ),
        err("Parameter 'discard' does not accept value 'foo'")
    );
    assert_eq!(
        check(
            "blockdev-add",
            json!({"driver": "raw", "file": "x", "cache": {"direct": 1}})
        ),
        err("Invalid parameter type for 'cache.direct', expected: boolean")
    );
    assert_eq!(
        check(
            "blockdev-add",
            json!({"driver": "raw", "file": {"driver": "nbd", "server": {"type": "unix"}}})
        ),
        err("Parameter 'file.server.path' is missing")
    );
    assert_eq!(
        check(
            "blockdev-add",
            json!({"driver": "raw", "file": {"driver": "nbd", "server": {"type": "inet", "host": "h", "port": 1}}})
        ),
        err("Invalid parameter type for 'file.server.port', expected: string")
    );
}

#[test]
fn list_elements_are_named_by_index() {
    let q = |children: Value| {
        check(
            "blockdev-add",
            json!({"driver": "quorum", "children": children, "vote-threshold": 1}),
        )
    };
    assert_eq!(q(json!(["a", {"driver": "file", "filename": "f"}])), Ok(()));
    assert_eq!(
        q(json!(["a", {"driver": "file", "filename": 2}])),
        err("Invalid parameter type for 'children[1].filename', expected: string")
    );
    assert_eq!(
        q(json!(["a", {"driver": "file"}])),
        err("Parameter 'children[1].filename' is missing")
    );
    assert_eq!(
        q(json!(["a", {"driver": "file", "filename": "f", "x": 1}])),
        err("Parameter 'children[1].x' is unexpected")
    );
    assert_eq!(
        q(json!("a")),
        err("Invalid parameter type for 'children', expected: array")
    );
    // An alternate type error names a list element 'null', and the QAPI type.
    assert_eq!(
        q(json!([1])),
        err("Invalid parameter type for 'null', expected: BlockdevRef")
    );
    let m = |mapping: Value| {
        check(
            "migrate-set-parameters",
            json!({"block-bitmap-mapping": mapping}),
        )
    };
    assert_eq!(
        m(json!([{"node-name": "a", "alias": "b", "bitmaps": [{"name": "x", "alias": "y", "transform": {"persistent": 1}}]}])),
        err("Invalid parameter type for 'block-bitmap-mapping[0].bitmaps[0].transform.persistent', expected: boolean")
    );
    assert_eq!(
        m(json!([{"node-name": "a", "alias": "b", "bitmaps": [{"name": "x", "alias": "y"}, {"name": "x", "alias": 2}]}])),
        err("Invalid parameter type for 'block-bitmap-mapping[0].bitmaps[1].alias', expected: string")
    );
    assert_eq!(
        m(json!([{"node-name": "a", "alias": "b", "bitmaps": [[1]]}])),
        err("Invalid parameter type for 'block-bitmap-mapping[0].bitmaps[0]', expected: object")
    );
    assert_eq!(
        m(json!([{}])),
        err("Parameter 'block-bitmap-mapping[0].node-name' is missing")
    );
    assert_eq!(
        check(
            "netdev_add",
            json!({"type": "user", "id": "n", "hostfwd": [{"str": 1}]})
        ),
        err("Invalid parameter type for 'hostfwd[0].str', expected: string")
    );
}

#[test]
fn alternates_name_their_qapi_type() {
    let raw = |k: &str, v: Value| {
        let mut a = json!({"driver": "qcow2", "file": "x"});
        a[k] = v;
        check("blockdev-add", a)
    };
    assert_eq!(
        raw("file", json!(1)),
        err("Invalid parameter type for 'file', expected: BlockdevRef")
    );
    assert_eq!(
        raw("file", Value::Null),
        err("Invalid parameter type for 'file', expected: BlockdevRef")
    );
    assert_eq!(
        raw("backing", json!(1)),
        err("Invalid parameter type for 'backing', expected: BlockdevRefOrNull")
    );
    assert_eq!(raw("backing", Value::Null), Ok(()));
    assert_eq!(
        raw("overlap-check", json!(1)),
        err("Invalid parameter type for 'overlap-check', expected: Qcow2OverlapChecks")
    );
    assert_eq!(
        raw("overlap-check", json!("foo")),
        err("Parameter 'overlap-check' does not accept value 'foo'")
    );
    assert_eq!(raw("overlap-check", json!("all")), Ok(()));
    assert_eq!(
        raw("overlap-check", json!({"template": "foo"})),
        err("Parameter 'template' does not accept value 'foo'")
    );
    assert_eq!(
        check("migrate-set-parameters", json!({"tls-creds": 1})),
        err("Invalid parameter type for 'tls-creds', expected: StrOrNull")
    );
    assert_eq!(
        check("migrate-set-parameters", json!({"tls-creds": null})),
        Ok(())
    );
    let merge = |b: Value| {
        check(
            "block-dirty-bitmap-merge",
            json!({"node": "n", "target": "t", "bitmaps": b}),
        )
    };
    assert_eq!(
        merge(json!([1])),
        err("Invalid parameter type for 'null', expected: BlockDirtyBitmapOrStr")
    );
    assert_eq!(
        merge(json!([{"node": "a"}])),
        err("Parameter 'bitmaps[0].name' is missing")
    );
    assert_eq!(
        merge(json!([{"node": "a", "name": "b", "c": 1}])),
        err("Parameter 'bitmaps[0].c' is unexpected")
    );
    assert_eq!(merge(json!(["a", {"node": "a", "name": "b"}])), Ok(()));
}

#[test]
fn simple_unions_with_data_wrappers() {
    let c = |backend: Value| check("chardev-add", json!({"id": "c", "backend": backend}));
    assert_eq!(
        c(json!({"type": "file", "data": {}})),
        err("Parameter 'backend.data.out' is missing")
    );
    assert_eq!(
        c(json!({"type": "file", "data": {"out": "/dev/null", "x": 1}})),
        err("Parameter 'backend.data.x' is unexpected")
    );
    assert_eq!(
        c(json!({"type": "nope", "data": {}})),
        err("Parameter 'type' does not accept value 'nope'")
    );
    assert_eq!(
        c(json!({"type": "file"})),
        err("Parameter 'backend.data' is missing")
    );
    assert_eq!(
        c(json!({"type": "file", "data": {"out": "/dev/null"}, "y": 2})),
        err("Parameter 'backend.y' is unexpected")
    );
    assert_eq!(
        c(json!("file")),
        err("Invalid parameter type for 'backend', expected: object")
    );
    assert_eq!(
        c(json!({"type": "socket", "data": {"addr": {"type": "inet", "data": {"host": "h"}}}})),
        err("Parameter 'backend.data.addr.data.port' is missing")
    );
    assert_eq!(
        c(json!({"type": "file", "data": {"out": "/dev/null"}})),
        Ok(())
    );
}

#[test]
fn object_add_and_device_add() {
    assert_eq!(
        check("object-add", json!({"id": "x"})),
        err("Parameter 'qom-type' is missing")
    );
    assert_eq!(
        check("object-add", json!({"qom-type": "nope", "id": "x"})),
        err("Parameter 'qom-type' does not accept value 'nope'")
    );
    assert_eq!(
        check(
            "object-add",
            json!({"qom-type": "memory-backend-ram", "id": "m", "size": 1, "foo": 1})
        ),
        err("Parameter 'foo' is unexpected")
    );
    // device_add is 'gen': false in QEMU 7.2: only 'driver' is checked by QMP.
    assert_eq!(
        check("device_add", json!({"x": 1})),
        err("Parameter 'driver' is missing")
    );
    assert_eq!(
        Schema::qemu_7_2()
            .check_arguments("device_add", None)
            .map_err(|e| e.to_string()),
        err("Parameter 'driver' is missing")
    );
    assert_eq!(
        check("device_add", json!({"driver": "foo", "x": 1})),
        Ok(())
    );
    assert_eq!(check("device_add", json!({"driver": 1})), Ok(()));
    assert_eq!(check("device_add", json!({"driver": true})), Ok(()));
    for missing in [json!(null), json!([1]), json!({"a": 1})] {
        assert_eq!(
            check("device_add", json!({"driver": missing})),
            err("Parameter 'driver' is missing")
        );
    }
    // A string id must be an identifier, and is checked before the driver.
    let bad_id = err("Parameter 'id' expects an identifier");
    for id in ["a b", "1a", "", "é"] {
        assert_eq!(check("device_add", json!({"id": id})), bad_id, "{id:?}");
    }
    assert_eq!(
        check("device_add", json!({"id": "1a", "driver": "foo"})),
        bad_id
    );
    assert_eq!(
        check("device_add", json!({"id": "a-b.c_d"})),
        err("Parameter 'driver' is missing")
    );
    assert_eq!(
        check("device_add", json!({"id": 1})),
        err("Parameter 'driver' is missing")
    );
    assert_eq!(
        check("device_add", json!({"id": {"a": 1}, "driver": "x"})),
        Ok(())
    );
}

#[test]
fn unexpected_member_order_matches_recorded_qemu() {
    // QEMU 7.2's answers for 100 objects with 1 to 100 unexpected keys, some of them mixed
    // with consumed members: the reported key follows GLib's hash table, not the input order.
    let cases: Value =
        serde_json::from_str(include_str!("testdata/unexpected-keys-qemu-7.2.json")).unwrap();
    let s = Schema::qemu_7_2();
    let mut bad = Vec::new();
    let mut not_first = 0;
    for c in cases.as_array().unwrap() {
        let args = c["arguments"].as_object().unwrap();
        let want = c["desc"].as_str().unwrap();
        let got = s
            .check_arguments(c["command"].as_str().unwrap(), Some(args))
            .map_err(|e| e.to_string());
        if got != Err(want.to_string()) {
            bad.push(format!("{} keys: want {want:?}, got {got:?}", args.len()));
        }
        let first = args
            .keys()
            .find(|k| *k != "driver" && *k != "file")
            .unwrap();
        if want != format!("Parameter '{first}' is unexpected") {
            not_first += 1;
        }
    }
    assert!(
        bad.is_empty(),
        "{} mismatches:\n{}",
        bad.len(),
        bad.join("\n")
    );
    assert!(
        not_first > 50,
        "the recording must exercise the hash order ({not_first})"
    );
    // Both orders of two keys name the same one.
    assert_eq!(
        check(
            "blockdev-add",
            json!({"driver": "raw", "file": "x", "bar": 1, "baz": 2})
        ),
        err("Parameter 'baz' is unexpected")
    );
    assert_eq!(
        check(
            "blockdev-add",
            json!({"driver": "raw", "file": "x", "baz": 2, "bar": 1})
        ),
        err("Parameter 'baz' is unexpected")
    );
}

#[test]
fn absurd_nesting_is_refused_without_recursing() {
    // Built by hand: json!() would copy (and drop) the value recursively at every level.
    let mut v = Value::String("x".into());
    for _ in 0..5000 {
        let mut m = Map::new();
        m.insert("data".to_string(), v);
        v = Value::Object(m);
    }
    let s = Schema::from_value(&json!([
        {"name": "c", "meta-type": "command", "arg-type": "O", "ret-type": "O"},
        {"name": "any", "meta-type": "builtin", "json-type": "value"},
        {"name": "O", "meta-type": "object", "members": [{"name": "data", "type": "O", "default": null}]},
    ]))
    .unwrap();
    assert_eq!(
        s.check_arguments("c", v.as_object())
            .map_err(|e| e.to_string()),
        err("JSON nesting depth limit exceeded")
    );
    let issues = s.validate("O", &v, "return");
    assert_eq!(issues.len(), 1);
    assert!(issues[0].message.contains("nested deeper"), "{}", issues[0]);
    // Dropping such a value recursively is serde_json's business; keep it from overflowing here.
    std::mem::forget(v);
}

#[test]
fn integer_widths_match_recorded_qemu() {
    // For every integer argument member reachable from a command, QEMU 7.2's answers to ten
    // probe values (wrong type, -1, 2^7 ... 2^64).
    let rec: Value =
        serde_json::from_str(include_str!("testdata/int-probes-qemu-7.2.json")).unwrap();
    let probes: Vec<&str> = rec["probes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    let s = Schema::qemu_7_2();
    let mut bad = Vec::new();
    let mut narrow = 0;
    for site in rec["sites"].as_array().unwrap() {
        let command = site["command"].as_str().unwrap();
        let template = serde_json::to_string(&site["arguments"]).unwrap();
        for (probe, answer) in probes.iter().zip(site["answers"].as_array().unwrap()) {
            let args: Value =
                serde_json::from_str(&template.replace("\"@@PROBE@@\"", probe)).unwrap();
            let want = match answer.as_str() {
                Some(desc) => desc.to_string(),
                None => "Parameter 'zzz-probe' is unexpected".to_string(),
            };
            if answer.as_str().is_some_and(|d| d.ends_with("_t")) {
                narrow += 1;
            }
            let got = s
                .check_arguments(command, args.as_object())
                .map_err(|e| e.to_string());
            if got != Err(want.clone()) {
                bad.push(format!(
                    "{command} {probe} {template}: want {want:?}, got {got:?}"
                ));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "{} mismatches:\n{}",
        bad.len(),
        bad[..bad.len().min(10)].join("\n")
    );
    assert!(narrow > 300, "{narrow}");
}

#[test]
fn integer_kinds() {
    let s = Schema::qemu_7_2();
    let q = |v: Value| {
        check(
            "x-query-virtio-queue-status",
            json!({"path": "/p", "queue": v}),
        )
    };
    assert_eq!(q(json!("1")), err("Parameter 'queue' expects uint64"));
    assert_eq!(q(json!(65536)), err("Parameter 'queue' expects uint16_t"));
    assert_eq!(
        q(json!(-1)),
        err("Parameter 'queue' expects uint16_t"),
        "-1 is 2^64-1 to QEMU"
    );
    let hist = |v: Value| {
        check(
            "block-latency-histogram-set",
            json!({"id": "d", "boundaries": [1, v]}),
        )
    };
    assert_eq!(hist(json!(-1)), Ok(()), "uint64 takes negative numbers");
    assert_eq!(hist(json!(u64::MAX)), Ok(()));
    assert_eq!(
        hist(json!(1.5)),
        err("Parameter 'boundaries[1]' expects uint64")
    );
    let numa = |v: Value| check("set-numa-node", json!({"type": "node", "cpus": [v]}));
    assert_eq!(
        numa(json!(65536)),
        err("Parameter 'null' expects uint16_t"),
        "range errors name list elements 'null'"
    );
    let vt = |v: Value| {
        check(
            "blockdev-add",
            json!({"driver": "quorum", "children": [], "vote-threshold": v}),
        )
    };
    assert_eq!(
        vt(json!(u64::MAX)),
        err("Invalid parameter type for 'vote-threshold', expected: integer")
    );
    assert_eq!(vt(json!(i64::MIN)), Ok(()));
    let server = |port: Value| json!({"driver": "raw", "file": {"driver": "nbd", "server": {"type": "inet", "host": "h", "port": "1", "to": port}}});
    assert_eq!(
        check("blockdev-add", server(json!(65536))),
        err("Parameter 'to' expects uint16_t")
    );
    assert_eq!(
        check("blockdev-add", server(json!("x"))),
        err("Parameter 'file.server.to' expects uint64")
    );
    // The kinds come with the QEMU 7.2 schema, also when it is loaded from its file.
    let add = s.command("blockdev-add").unwrap();
    let loaded = Schema::from_value(s.to_value()).unwrap();
    let Some(TypeDef::Object(o)) = s.ty(&add.arg_type) else {
        panic!()
    };
    let quorum = &o.variant("quorum").unwrap().ty;
    assert_eq!(s.int_kind(quorum, "vote-threshold"), Some(IntKind::Int64));
    assert_eq!(
        loaded.int_kind(quorum, "vote-threshold"),
        Some(IntKind::Int64)
    );
    assert_eq!(storage_daemon().int_kind(quorum, "vote-threshold"), None);
    assert_eq!(IntKind::Uint16.c_name(), "uint16_t");
    assert!(!IntKind::Uint8.is_signed() && IntKind::Int32.is_signed());
}

// ---- validate ------------------------------------------------------------------------------

fn ret_type(command: &str) -> &'static str {
    &Schema::qemu_7_2().command(command).unwrap().ret_type
}

fn issues(ty: &str, v: Value) -> Vec<String> {
    Schema::qemu_7_2()
        .validate(ty, &v, "return")
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn validates_recorded_qemu_returns() {
    let returns: Value =
        serde_json::from_str(include_str!("testdata/returns-qemu-7.2.json")).unwrap();
    let s = Schema::qemu_7_2();
    // Every query command without mandatory arguments that QEMU 7.2 -machine none answers.
    assert_eq!(returns.as_object().unwrap().len(), 57);
    for (command, ret) in returns.as_object().unwrap() {
        let issues = s.validate(ret_type(command), ret, "return");
        assert!(issues.is_empty(), "{command}: {issues:?}");
    }
    // The schema describes itself.
    let issues = s.validate(ret_type("query-qmp-schema"), s.to_value(), "return");
    assert!(issues.is_empty(), "{:?}", &issues[..issues.len().min(5)]);
    let sd = storage_daemon();
    let issues = sd.validate(
        &sd.command("query-qmp-schema").unwrap().ret_type,
        sd.to_value(),
        "return",
    );
    assert!(issues.is_empty(), "{:?}", &issues[..issues.len().min(5)]);
}

#[test]
fn validates_events_seen_from_qemu() {
    let s = Schema::qemu_7_2();
    let data = |e: &str| &s.event(e).unwrap().arg_type;
    // `quit` sends this SHUTDOWN; STOP and RESUME carry no data (QEMU omits `data`).
    assert!(s
        .validate(
            data("SHUTDOWN"),
            &json!({"guest": false, "reason": "host-qmp-quit"}),
            "data"
        )
        .is_empty());
    assert!(s.validate(data("STOP"), &json!({}), "data").is_empty());
    assert!(s.validate(data("RESUME"), &json!({}), "data").is_empty());
    let bad: Vec<String> = s
        .validate(
            data("SHUTDOWN"),
            &json!({"guest": "no", "reason": "bored"}),
            "data",
        )
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(bad.len(), 2, "{bad:?}");
    assert_eq!(bad[0], "data.guest: expected bool, got string");
    assert!(
        bad[1].starts_with(
            "data.reason: 'bored' is not a value of the enum (none, host-error, host-qmp-quit,"
        ),
        "{}",
        bad[1]
    );
}

#[test]
fn validate_names_paths() {
    let v = ret_type("query-version");
    assert_eq!(
        issues(
            v,
            json!({"qemu": {"major": 7, "minor": 2, "micro": "22"}, "package": ""})
        ),
        ["return.qemu.micro: expected int, got string"]
    );
    assert_eq!(
        issues(v, json!({"qemu": {"major": 7, "minor": 2.5}, "package": 1})),
        [
            "return.qemu.minor: expected int, got number",
            "return.qemu.micro: missing mandatory member",
            "return.package: expected string, got int",
        ]
    );
    assert_eq!(issues(v, json!([])), ["return: expected object, got array"]);
    let extra = Schema::qemu_7_2().validate(
        v,
        &json!({"qemu": {"major": 7, "minor": 2, "micro": 0}, "package": "", "new": 1}),
        "return",
    );
    assert_eq!(extra.len(), 1);
    assert_eq!(extra[0].severity, Severity::Extra);
    assert_eq!(extra[0].to_string(), "return.new: member not in the schema");
    assert_eq!(
        Schema::qemu_7_2().validate(v, &json!({}), "")[0].path,
        "qemu",
        "an empty root adds no dot"
    );
    assert_eq!(issues("nope", json!(1)), ["return: unknown type 'nope'"]);
}

#[test]
fn validate_enums_arrays_and_numbers() {
    let status = ret_type("query-status");
    assert_eq!(
        issues(
            status,
            json!({"status": "running", "singlestep": false, "running": true})
        ),
        Vec::<String>::new()
    );
    let bad = issues(
        status,
        json!({"status": "flying", "singlestep": false, "running": true}),
    );
    assert_eq!(bad.len(), 1);
    assert!(
        bad[0].starts_with("return.status: 'flying' is not a value of the enum (debug, "),
        "{}",
        bad[0]
    );
    assert_eq!(
        issues(
            status,
            json!({"status": 1, "singlestep": false, "running": true})
        ),
        ["return.status: expected string (enum value), got int"]
    );
    let chardev = ret_type("query-chardev");
    assert_eq!(
        issues(
            chardev,
            json!([{"frontend-open": true, "filename": "stdio", "label": "m"}, {"frontend-open": 1, "label": "n"}])
        ),
        [
            "return[1].filename: missing mandatory member",
            "return[1].frontend-open: expected bool, got int"
        ]
    );
    // 'number' takes integers and floats, 'int' no floats and no huge integers.
    let s = Schema::qemu_7_2();
    assert!(s.validate("number", &json!(1), "x").is_empty());
    assert!(s.validate("number", &json!(1.5), "x").is_empty());
    assert!(s.validate("int", &json!(-5), "x").is_empty());
    assert!(s.validate("int", &json!(u64::MAX), "x").is_empty());
    assert_eq!(
        s.validate("int", &serde_json::from_str::<Value>("1e2").unwrap(), "x")[0].to_string(),
        "x: expected int, got number"
    );
    assert_eq!(
        s.validate(
            "int",
            &serde_json::from_str::<Value>("1234567890123456789012").unwrap(),
            "x"
        )
        .len(),
        1
    );
    assert!(s.validate("any", &json!({"a": [null]}), "x").is_empty());
    assert_eq!(
        s.validate("null", &json!(0), "x")[0].to_string(),
        "x: expected null, got int"
    );
}

#[test]
fn validate_unions_and_alternates() {
    let s = Schema::from_value(&union_schema(json!([]))).unwrap();
    let iss = |v: Value| {
        s.validate("U", &v, "data")
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(iss(json!({"t": "a", "x": 1})), Vec::<String>::new());
    assert_eq!(iss(json!({"t": "a"})), ["data.x: missing mandatory member"]);
    assert_eq!(
        iss(json!({"t": "a", "x": 1, "alt": "s"})),
        ["data.alt: member not in the schema"],
        "'alt' belongs to variant b"
    );
    assert_eq!(iss(json!({"t": "b", "alt": "s"})), Vec::<String>::new());
    assert_eq!(iss(json!({"t": "b", "alt": null})), Vec::<String>::new());
    assert_eq!(
        iss(json!({"t": "b", "alt": {"x": 2}})),
        Vec::<String>::new()
    );
    assert_eq!(
        iss(json!({"t": "b", "alt": {"x": "2"}})),
        ["data.alt.x: expected int, got string"]
    );
    assert_eq!(
        iss(json!({"t": "b", "alt": 5})),
        ["data.alt: expected one of string, null, object, got int"]
    );
    assert_eq!(
        iss(json!({"t": "c", "x": 1})),
        [
            "data.t: 'c' is not a value of the enum (a, b)",
            "data.x: member not in the schema"
        ]
    );
    assert_eq!(
        iss(json!({"x": 1})),
        [
            "data.t: missing mandatory member",
            "data.x: member not in the schema"
        ]
    );
    assert_eq!(
        iss(json!({"t": "a", "x": 1, "opt": true})),
        ["data.opt: expected int, got bool"]
    );
    // The real thing: a blockdev node description with nested unions and alternates.
    let q = Schema::qemu_7_2();
    let add = &q.command("blockdev-add").unwrap().arg_type;
    let good = json!({"driver": "qcow2", "file": {"driver": "file", "filename": "a"}, "backing": null, "overlap-check": "all"});
    assert!(q.validate(add, &good, "args").is_empty());
    let bad = json!({"driver": "qcow2", "file": {"driver": "file", "filename": 1}, "backing": 3});
    let got: Vec<String> = q
        .validate(add, &bad, "args")
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        got,
        [
            "args.file.filename: expected string, got int",
            "args.backing: expected one of object, string, null, got int"
        ]
    );
}

// ---- example_value -------------------------------------------------------------------------

#[test]
fn example_values_validate_for_every_type() {
    for (which, s) in snapshots() {
        let mut n = 0;
        for t in s.types() {
            let v = s.example_value(t.name());
            let issues = s.validate(t.name(), &v, "x");
            assert!(
                issues.is_empty(),
                "{which}: type {} example {v}: {issues:?}",
                t.name()
            );
            n += 1;
        }
        assert!(n > 400, "{which}: {n} types");
    }
}

#[test]
fn example_arguments_pass_the_argument_check() {
    for (which, s) in snapshots() {
        for c in s.commands() {
            let args = s.example_value(&c.arg_type);
            let res = s.check_arguments(&c.name, args.as_object());
            assert_eq!(res, Ok(()), "{which}: {} with {args}", c.name);
        }
        for e in s.events() {
            assert!(
                s.example_value(&e.arg_type).is_object(),
                "{which}: {}",
                e.name
            );
        }
    }
}

#[test]
fn example_values_are_cheap_for_real_schemas() {
    for (which, s) in snapshots() {
        let worst = s
            .types()
            .map(|t| example::steps_for(&s, t.name()))
            .max()
            .unwrap();
        assert!(worst * 20 < example::MAX_STEPS, "{which}: {worst} steps");
    }
}

#[test]
fn example_value_gives_up_on_exponential_schemas() {
    // X0 = {a: X1, b: X1}, X1 = {a: X2, b: X2}, ... : the minimal X0 has 2^60 leaves.
    let mut v = vec![json!({"name": "int", "meta-type": "builtin", "json-type": "int"})];
    for i in 0..60 {
        v.push(json!({"name": format!("X{i}"), "meta-type": "object",
                      "members": [{"name": "a", "type": format!("X{}", i + 1)}, {"name": "b", "type": format!("X{}", i + 1)}]}));
    }
    v.push(
        json!({"name": "X60", "meta-type": "object", "members": [{"name": "n", "type": "int"}]}),
    );
    let s = Schema::from_value(&Value::Array(v)).unwrap();
    assert_eq!(s.example_value("X0"), Value::Null);
    assert_eq!(
        s.example_value("X58"),
        json!({"a": {"a": {"n": 0}, "b": {"n": 0}}, "b": {"a": {"n": 0}, "b": {"n": 0}}})
    );
}

#[test]
fn example_value_of_an_unconstructible_type_is_null() {
    // A mandatory member of its own type, and an empty enum: no finite value exists.
    let s = Schema::from_value(&json!([
        {"name": "L", "meta-type": "object", "members": [{"name": "next", "type": "L"}]},
        {"name": "E", "meta-type": "enum", "values": []},
    ]))
    .unwrap();
    assert_eq!(s.example_value("L"), Value::Null);
    assert_eq!(s.example_value("E"), Value::Null);
}

#[test]
fn example_values_are_minimal() {
    let s = Schema::qemu_7_2();
    assert_eq!(
        s.example_value(ret_type("query-version")),
        json!({"qemu": {"major": 0, "minor": 0, "micro": 0}, "package": ""})
    );
    assert_eq!(
        s.example_value(ret_type("query-status")),
        json!({"running": false, "singlestep": false, "status": "debug"})
    );
    assert_eq!(s.example_value(ret_type("query-chardev")), json!([]));
    assert_eq!(s.example_value("nope"), Value::Null);
    // The first variant; its mandatory BlockdevRef cannot recurse into BlockdevOptions, so it
    // takes the string branch.
    assert_eq!(
        s.example_value(&s.command("blockdev-add").unwrap().arg_type),
        json!({"driver": "blkdebug", "image": ""})
    );
    let u = Schema::from_value(&union_schema(json!([]))).unwrap();
    assert_eq!(u.example_value("U"), json!({"t": "a", "x": 0}));
    assert_eq!(u.example_value("ALT"), json!(""));
}

// ---- robustness ----------------------------------------------------------------------------

mod mutated {
    use super::*;
    use proptest::prelude::*;

    fn base() -> &'static Value {
        static BASE: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
        BASE.get_or_init(|| serde_json::from_str(STORAGE_DAEMON_JSON).unwrap())
    }

    /// One edit of the introspection data, at entry `entry` (modulo the length).
    #[derive(Debug, Clone)]
    enum Edit {
        RemoveEntry,
        RemoveKey(prop::sample::Index),
        SetKey(prop::sample::Index, Value),
        SetMemberKey(prop::sample::Index, prop::sample::Index, Value),
    }

    fn some_value() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            Just(json!(1)),
            Just(json!([])),
            Just(json!({})),
            Just(json!("0")),
            Just(json!("1")),
            Just(json!("str")),
            Just(json!("nope")),
            Just(json!("object")),
            Just(json!([{"name": "x", "type": "int"}])),
            Just(json!([{"case": "x", "type": "0"}])),
        ]
    }

    fn edit() -> impl Strategy<Value = Edit> {
        prop_oneof![
            Just(Edit::RemoveEntry),
            any::<prop::sample::Index>().prop_map(Edit::RemoveKey),
            (any::<prop::sample::Index>(), some_value()).prop_map(|(k, v)| Edit::SetKey(k, v)),
            (
                any::<prop::sample::Index>(),
                any::<prop::sample::Index>(),
                some_value()
            )
                .prop_map(|(k, m, v)| Edit::SetMemberKey(k, m, v)),
        ]
    }

    fn apply(v: &mut Value, entry: prop::sample::Index, edit: &Edit) {
        let entries = v.as_array_mut().unwrap();
        let i = entry.index(entries.len());
        let obj = entries[i].as_object_mut().unwrap();
        let keys: Vec<String> = obj.keys().cloned().collect();
        match edit {
            Edit::RemoveEntry => {
                entries.remove(i);
            }
            Edit::RemoveKey(k) => {
                obj.shift_remove(&keys[k.index(keys.len())]);
            }
            Edit::SetKey(k, val) => {
                obj.insert(keys[k.index(keys.len())].clone(), val.clone());
            }
            Edit::SetMemberKey(k, m, val) => {
                // Inside an array-valued key (members, variants): change one key of one element.
                let key = &keys[k.index(keys.len())];
                if let Some(Value::Array(items)) = obj.get_mut(key) {
                    if !items.is_empty() {
                        let n = items.len();
                        if let Some(item) = items[m.index(n)].as_object_mut() {
                            let ikeys: Vec<String> = item.keys().cloned().collect();
                            let ik = ikeys[m.index(ikeys.len())].clone();
                            item.insert(ik, val.clone());
                        }
                    }
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })]

        /// Loading never panics, and whatever loads is consistent enough for every walker.
        #[test]
        fn edited_schemas_load_or_fail_cleanly(edits in proptest::collection::vec((any::<prop::sample::Index>(), edit()), 1..4)) {
            let mut v = base().clone();
            for (entry, e) in &edits {
                apply(&mut v, *entry, e);
            }
            if let Ok(s) = Schema::from_value(&v) {
                for c in s.commands().take(30) {
                    let args = s.example_value(&c.arg_type);
                    prop_assert_eq!(s.check_arguments(&c.name, args.as_object()), Ok(()), "{}", c.name);
                    let ret = s.example_value(&c.ret_type);
                    let issues = s.validate(&c.ret_type, &ret, "return");
                    prop_assert!(issues.is_empty(), "{}: {:?}", c.name, issues);
                }
            }
        }
    }
}

/// Regression (schema fuzz target): an enum without values loads, but no value satisfies it,
/// so its example value cannot validate and validation says why rather than passing.
#[test]
fn an_empty_enum_admits_no_value() {
    let s = Schema::from_value(&json!([
        {"name": "str", "meta-type": "builtin", "json-type": "string"},
        {"name": "E", "meta-type": "enum", "values": []},
    ]))
    .unwrap();
    let example = s.example_value("E");
    assert!(s
        .validate("E", &example, "x")
        .iter()
        .any(|i| i.severity == Severity::Error));
    assert!(!s.validate("E", &json!("anything"), "x").is_empty());
}

/// Regression (schema fuzz target): an object whose mandatory member is of its own type has
/// no finite value; loading and example building terminate, and validation says why.
#[test]
fn an_object_that_must_contain_itself_admits_no_value() {
    let s = Schema::from_value(&json!([
        {"name": "str", "meta-type": "object", "members": [{"name": "", "type": "str"}]},
    ]))
    .unwrap();
    let example = s.example_value("str");
    assert!(s
        .validate("str", &example, "x")
        .iter()
        .any(|i| i.severity == Severity::Error));
}
