//! Generates the `Clause` enum from `specs/clauses.json`, the specification as data: one
//! variant per clause, with its id, section, strength, rule and note, so that the code can
//! only name clauses that exist and reads their strength from the one source.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let path = Path::new(&manifest).join("../specs/clauses.json");
    println!("cargo:rerun-if-changed={}", path.display());
    println!("cargo:rerun-if-changed=build.rs");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let json: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
    let clauses = json["clauses"]
        .as_array()
        .unwrap_or_else(|| panic!("{}: no \"clauses\" array", path.display()));

    let field = |c: &serde_json::Value, k: &str| -> String {
        c[k].as_str()
            .unwrap_or_else(|| panic!("{}: a clause lacks the string {k:?}: {c}", path.display()))
            .to_string()
    };
    let mut rows = Vec::new();
    for c in clauses {
        let id = field(c, "id");
        let strength = match field(c, "strength").as_str() {
            "must" => "Must",
            "client-must" => "ClientMust",
            "client-should" => "ClientShould",
            "allowed" => "Allowed",
            "extension" => "Extension",
            "informational" => "Informational",
            other => panic!("{id}: unknown strength {other:?}"),
        };
        rows.push((
            variant(&id),
            id.clone(),
            field(c, "section"),
            strength,
            field(c, "rule"),
            field(c, "note"),
        ));
    }

    let mut out = String::new();
    out.push_str("/// A clause of the QMP specification, generated from `specs/clauses.json`.\n");
    out.push_str("#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]\n");
    out.push_str("pub enum Clause {\n");
    for (v, id, _, _, rule, _) in &rows {
        let doc = format!("`{id}`: {rule}");
        let _ = writeln!(out, "    #[doc = {doc:?}]\n    {v},");
    }
    out.push_str("}\n\nimpl Clause {\n");
    out.push_str("    /// Every clause, in specification order.\n");
    out.push_str("    pub const ALL: &'static [Clause] = &[\n");
    for (v, ..) in &rows {
        let _ = writeln!(out, "        Clause::{v},");
    }
    out.push_str("    ];\n");
    let accessor =
        |out: &mut String, doc: &str, name: &str, ty: &str, pick: &dyn Fn(&Row) -> String| {
            let _ = writeln!(
                out,
                "\n    /// {doc}\n    pub const fn {name}(self) -> {ty} {{\n        match self {{"
            );
            for r in &rows {
                let _ = writeln!(out, "            Clause::{} => {},", r.0, pick(r));
            }
            out.push_str("        }\n    }\n");
        };
    accessor(
        &mut out,
        "The stable id, e.g. `cmd.id-echo`.",
        "id",
        "&'static str",
        &|r| format!("{:?}", r.1),
    );
    accessor(
        &mut out,
        "The section of the specification it belongs to.",
        "section",
        "&'static str",
        &|r| format!("{:?}", r.2),
    );
    accessor(
        &mut out,
        "How binding it is.",
        "strength",
        "Strength",
        &|r| format!("Strength::{}", r.3),
    );
    accessor(
        &mut out,
        "The rule, paraphrased.",
        "rule",
        "&'static str",
        &|r| format!("{:?}", r.4),
    );
    accessor(
        &mut out,
        "The strength as the notes word it.",
        "note",
        "&'static str",
        &|r| format!("{:?}", r.5),
    );
    out.push_str("}\n");

    let dest = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("clauses.rs");
    std::fs::write(&dest, out).unwrap_or_else(|e| panic!("cannot write {}: {e}", dest.display()));
}

type Row = (String, String, String, &'static str, String, String);

/// `neg.enter-command-mode` -> `NegEnterCommandMode`.
fn variant(id: &str) -> String {
    let mut s = String::new();
    for part in id.split(['.', '-']) {
        let mut chars = part.chars();
        match chars.next() {
            Some(c) if c.is_ascii_alphabetic() => {
                s.push(c.to_ascii_uppercase());
                s.extend(chars);
            }
            _ => panic!("clause id {id:?}: every part must start with a letter"),
        }
    }
    s
}
