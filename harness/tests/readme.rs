//! The README's check list and check-client scenario list are generated
//! (`ci/update-readme.py`): this fails when they no longer match `qmpspec list --format
//! markdown` and `qmpspec check-client --list --format markdown`, so the README never lists
//! checks or scenarios that are not there or misses new ones.

/// The README's generated part between `<!-- NAME:begin -->` and `<!-- NAME:end -->`.
fn generated(name: &str) -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md at the repository root");
    let (_, rest) = readme
        .split_once(&format!("<!-- {name}:begin -->\n"))
        .unwrap_or_else(|| panic!("README has the {name}:begin marker"));
    let (part, _) = rest
        .split_once(&format!("<!-- {name}:end -->"))
        .unwrap_or_else(|| panic!("README has the {name}:end marker"));
    part.to_string()
}

#[test]
fn readme_check_list_is_current() {
    let listed = generated("checks");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_qmpspec"))
        .args(["list", "--format", "markdown"])
        .output()
        .unwrap();
    let generated = String::from_utf8(out.stdout).unwrap();
    assert!(
        listed == generated,
        "README.md's check list is stale: run ci/update-readme.py"
    );
}

#[test]
fn readme_client_scenario_list_is_current() {
    let listed = generated("client-scenarios");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_qmpspec"))
        .args(["check-client", "--list", "--format", "markdown"])
        .output()
        .unwrap();
    let generated = String::from_utf8(out.stdout).unwrap();
    assert!(
        listed == generated,
        "README.md's check-client scenario list is stale: run ci/update-readme.py"
    );
}

/// The README's schema diff is an excerpt of what `qmpspec schema-diff` says between the
/// recorded schemas of QEMU 7.2 and 10.0.2: each of its lines (but the `... (N more)` that
/// mark a cut) is a line of the real output, in the same order.
#[test]
fn readme_schema_diff_is_the_tools_output() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let shown = generated("schema-diff");
    let mut lines = shown.lines();
    assert_eq!(lines.next(), Some("```text"));
    let command = lines.next().unwrap().strip_prefix("$ qmpspec ").unwrap();
    let args: Vec<&str> = command.split(' ').collect();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_qmpspec"))
        .args(&args)
        .current_dir(root)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "the schemas differ");
    let real = String::from_utf8(out.stdout).unwrap();
    let mut real_lines = real.lines();
    for line in lines.filter(|l| *l != "```" && !l.starts_with("  ... (")) {
        assert!(
            real_lines.any(|r| r == line),
            "README.md's schema diff shows {line:?}, which `qmpspec {command}` does not say \
             (in this order): run ci/update-readme.py"
        );
    }
    assert!(real.contains("  commands  216 -> 233 (19 added, 2 removed)\n"));
}
