//! The README's check list is generated (`ci/update-readme.py`): this fails when it no longer
//! matches `qmpspec list --format markdown`, so the README never lists checks that are not
//! there or misses new ones.

#[test]
fn readme_check_list_is_current() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md at the repository root");
    let (_, rest) = readme
        .split_once("<!-- checks:begin -->\n")
        .expect("README has the checks:begin marker");
    let (listed, _) = rest
        .split_once("<!-- checks:end -->")
        .expect("README has the checks:end marker");
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
