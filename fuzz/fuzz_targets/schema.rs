//! Fuzz the schema layer: arbitrary bytes as an introspection schema (must load or give a
//! precise error), and arbitrary JSON validated and argument-checked against QEMU 7.2's
//! schema (never a panic; example values always validate).
#![no_main]

use libfuzzer_sys::fuzz_target;
use qmpspec::schema::{Schema, Severity, TypeDef};
use qmpspec::wire::parse_value;

fuzz_target!(|data: &[u8]| {
    let Ok(v) = parse_value(data, true) else { return };
    // As a schema of its own. An enum without values admits no value at all, nor does
    // anything that needs one: example values are only held to validate without such enums.
    if let Ok(s) = Schema::from_value(&v) {
        let uninhabited = s
            .types()
            .any(|t| matches!(t, TypeDef::Enum(e) if e.values.is_empty()));
        for t in s.types().take(if uninhabited { 0 } else { 64 }) {
            let name = t.name().to_string();
            let ex = s.example_value(&name);
            let issues = s.validate(&name, &ex, "x");
            assert!(
                issues.iter().all(|i| i.severity != Severity::Error),
                "example of {name} does not validate: {issues:?}"
            );
        }
    }
    // As a value and as arguments, against QEMU 7.2's schema.
    let qemu = Schema::qemu_7_2();
    for c in qemu.commands().take(40) {
        let _ = qemu.validate(&c.ret_type, &v, "return");
        let _ = qemu.check_arguments(&c.name, v.as_object());
    }
});
