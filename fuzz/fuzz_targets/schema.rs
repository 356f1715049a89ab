//! Fuzz the schema layer: arbitrary bytes as an introspection schema (must load or give a
//! precise error), and arbitrary JSON validated and argument-checked against QEMU 7.2's
//! schema (never a panic). In a fuzzed schema, the example value of every type that surely
//! has finite values must validate.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qmpspec::schema::{JsonType, Schema, Severity, TypeDef};
use qmpspec::wire::parse_value;
use serde_json::Value;
use std::collections::BTreeSet;

/// Types that surely admit a finite value, by fixpoint; on the safe side: an object needs
/// every mandatory member and every union branch inhabited, an alternate every branch. An
/// enum without values, or an object that must contain itself, admits none.
fn surely_inhabited(s: &Schema) -> BTreeSet<String> {
    let mut known: BTreeSet<String> = BTreeSet::new();
    loop {
        let before = known.len();
        for t in s.types() {
            let ok = |name: &str| known.contains(name);
            let inhabited = match t {
                TypeDef::Builtin(_) | TypeDef::Array(_) => true,
                TypeDef::Enum(e) => !e.values.is_empty(),
                TypeDef::Object(o) => {
                    o.members.iter().all(|m| m.optional || ok(&m.ty))
                        && o.variants.iter().all(|v| ok(&v.ty))
                }
                TypeDef::Alternate(a) => !a.members.is_empty() && a.members.iter().all(|m| ok(m)),
            };
            if inhabited {
                known.insert(t.name().to_string());
            }
        }
        if known.len() == before {
            return known;
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(v) = parse_value(data, true) else {
        return;
    };
    // As a schema of its own.
    if let Ok(s) = Schema::from_value(&v) {
        let inhabited = surely_inhabited(&s);
        for t in s.types().take(64) {
            let name = t.name().to_string();
            let ex = s.example_value(&name);
            let issues = s.validate(&name, &ex, "x");
            // `null` is also how example_value says it gave up (its step budget).
            let gave_up = ex == Value::Null
                && !matches!(t, TypeDef::Builtin(b) if matches!(b.json_type, JsonType::Null | JsonType::Value));
            if inhabited.contains(&name) && !gave_up {
                assert!(
                    issues.iter().all(|i| i.severity != Severity::Error),
                    "example of {name} does not validate: {issues:?}"
                );
            }
        }
    }
    // As a value and as arguments, against QEMU 7.2's schema.
    let qemu = Schema::qemu_7_2();
    for c in qemu.commands().take(40) {
        let _ = qemu.validate(&c.ret_type, &v, "return");
        let _ = qemu.check_arguments(&c.name, v.as_object());
    }
});
