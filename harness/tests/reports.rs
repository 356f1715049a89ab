//! Snapshot tests of the four report formats (timestamps, durations and versions redacted),
//! and properties every report must have whatever the endpoint sent: well-formed XML, no
//! unescaped markup, no network assets.

/// Say loudly that a test did not run: written straight to stderr, past libtest's capture
/// (which hides `eprintln!` of passing tests).
macro_rules! skipped {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($t)*);
    }};
}

use qmpspec::checks::{self, CheckResult, Ctx, Outcome, Reason, Status};
use qmpspec::endpoint::{Dir, Entry};
use qmpspec::monitor::emulated_target;
use qmpspec::report::{self, rfc3339, Format, MatrixReport, RunReport};
use qmpspec::spec::{Clause, Party};
use serde_json::json;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn entry(dir: Dir, at_ms: u64, bytes: &[u8]) -> Entry {
    Entry {
        dir,
        at: Duration::from_millis(at_ms),
        bytes: bytes.to_vec(),
    }
}

fn result(id: &str, status: Status, message: &str, t: Vec<Entry>) -> CheckResult {
    let mut outcome = match status {
        Status::Pass => Outcome::pass(message),
        Status::Fail => Outcome::broken(checks::by_id(id).unwrap().clause, message),
        // A MUST reported as a warning, with the reason, and another clause than the check's.
        Status::Warn => Outcome::warn_because(Clause::ReplyError, Reason::QemuConvention, message),
        Status::Skip => Outcome::skip(message),
        Status::Error => Outcome::error(message),
    };
    outcome.transcript = t;
    CheckResult {
        check: checks::by_id(id).unwrap().subject(),
        outcome,
        duration: Duration::from_millis(12),
    }
}

/// A run with every outcome and a hostile endpoint: invalid UTF-8, control characters,
/// markup, CDATA ends, table pipes and backticks.
fn hostile_run() -> RunReport {
    let greeting = br#"{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "<b>&\"x\"</b>"}, "capabilities": ["oob"]}}"#;
    RunReport {
        tool_version: "9.9.9".into(),
        judged: Party::Server,
        target: "spawn:evil <server> & 'co'".into(),
        greeting: Some(
            json!({"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "<b>&\"x\"</b>"}, "capabilities": ["oob"]}}),
        ),
        started: UNIX_EPOCH + Duration::from_secs(1_795_604_760),
        duration: Duration::from_millis(1234),
        results: vec![
            result(
                "greeting.first",
                Status::Pass,
                "greeting arrived first",
                vec![entry(Dir::Recv, 3, greeting), entry(Dir::Recv, 3, b"\r\n")],
            ),
            result(
                "framing.objects-only",
                Status::Fail,
                "server sent invalid JSON: ]]> <script>alert(1)</script> | `x` \u{1b}[31m",
                vec![
                    entry(Dir::Send, 5, b"{\"execute\":\"qmp_capabilities\"}\n"),
                    entry(
                        Dir::Recv,
                        6,
                        b"{\"return\": {}}\r\n\x01\x00\xff\xfe]]></testcase>\x1b[0m ``` |a|b|\r\n",
                    ),
                ],
            ),
            result(
                "encoding.single-quotes",
                Status::Warn,
                "a command in single quotes was refused",
                vec![entry(Dir::Send, 1, b"{'execute':'query-version'}\n")],
            ),
            result(
                "events.shape",
                Status::Skip,
                "the endpoint has no stop/cont",
                vec![],
            ),
            result(
                "oob.overtake",
                Status::Error,
                "cannot connect: refused",
                vec![],
            ),
        ],
    }
}

/// Replace the run's volatile parts (time, version) by placeholders.
fn redact_text(s: &str, run: &RunReport) -> String {
    s.replace(&rfc3339(run.started), "[started]")
        .replace(&run.tool_version, "[version]")
}

#[test]
fn json_report_snapshot() {
    let run = hostile_run();
    let v: serde_json::Value = serde_json::from_str(&report::render(&run, Format::Json)).unwrap();
    insta::assert_json_snapshot!("hostile_json", v, {
        ".started" => "[started]",
        ".duration_ms" => "[duration]",
        ".tool.version" => "[version]",
        ".checks[].duration_ms" => "[duration]",
    });
}

#[test]
fn junit_report_snapshot_and_well_formed() {
    let run = hostile_run();
    let x = report::render(&run, Format::Junit);
    let doc = roxmltree::Document::parse(&x).expect("well-formed XML");
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), run.results.len());
    assert_eq!(cases[1].attribute("classname"), Some("framing"));
    let failure = cases[1]
        .children()
        .find(|n| n.has_tag_name("failure"))
        .expect("a failure element");
    assert!(failure.text().unwrap().contains("]]></testcase>"));
    assert!(failure
        .attribute("message")
        .unwrap()
        .starts_with("[frame.objects-only]"));
    assert!(cases[3].children().any(|n| n.has_tag_name("skipped")));
    assert!(cases[4].children().any(|n| n.has_tag_name("error")));
    insta::assert_snapshot!("hostile_junit", redact_text(&x, &run));
}

/// The text report (the console's) shows the endpoint's control characters escaped: an
/// endpoint cannot drive the terminal through it, coloured or not.
#[test]
fn text_report_snapshot_escapes_control_characters() {
    let run = hostile_run();
    let t = report::render(&run, Format::Text);
    assert!(!t.contains('\u{1b}') && !t.contains('\u{1}'), "{t}");
    assert!(t.contains("`x` \\u{1b}[31m"), "{t}");
    let painted = report::text::render_painted(&run, true);
    assert_eq!(
        painted.matches('\u{1b}').count(),
        2 * (run.results.len() + 1)
    );
    insta::assert_snapshot!("hostile_text", t);
}

#[test]
fn markdown_report_snapshot() {
    let run = hostile_run();
    let m = report::render(&run, Format::Markdown);
    assert!(!m.contains("<script>"));
    insta::assert_snapshot!("hostile_markdown", redact_text(&m, &run));
}

#[test]
fn html_report_snapshot_is_self_contained_and_escaped() {
    let run = hostile_run();
    let h = report::render(&run, Format::Html);
    for bad in [
        "<script", "http://", "https://", "src=", "<b>", "\u{1b}", "\u{1}",
    ] {
        assert!(!h.contains(bad), "the HTML report contains {bad:?}");
    }
    insta::assert_snapshot!("hostile_html", redact_text(&h, &run));
}

/// Run the checks `ids` one at a time against `target` and render the JSON report.
fn json_report_of(target: qmpspec::endpoint::Target, ids: &[&str]) -> serde_json::Value {
    let ctx = Ctx::new(target, Duration::from_millis(2000));
    let selected: Vec<_> = ids.iter().map(|id| checks::by_id(id).unwrap()).collect();
    let started = SystemTime::now();
    let results = checks::run(&ctx, &selected, 1, |_| {});
    let run = RunReport {
        tool_version: env!("CARGO_PKG_VERSION").into(),
        judged: Party::Server,
        target: ctx.target.description(),
        greeting: None,
        started,
        duration: Duration::from_millis(1),
        results,
    };
    serde_json::from_str(&report::render(&run, Format::Json)).unwrap()
}

#[test]
fn json_report_of_a_real_run_against_the_emulated_monitor() {
    let v = json_report_of(
        emulated_target(&[], None),
        &["greeting.first", "errors.non-object", "ids.every-json-type"],
    );
    assert_eq!(v["summary"]["pass"], 3);
    insta::assert_json_snapshot!("emulated_json", v, {
        ".started" => "[started]",
        ".duration_ms" => "[duration]",
        ".tool.version" => "[version]",
        ".checks[].duration_ms" => "[duration]",
        ".checks[].transcript[].at_ms" => "[at]",
    });
}

/// Version numbers and the package string a QEMU build puts in its greeting and replies.
fn redact_versions(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("\"package\": \"") {
        let start = i + "\"package\": \"".len();
        out.push_str(&rest[..start]);
        let end = rest[start..].find('"').map_or(rest.len(), |j| start + j);
        out.push_str("[package]");
        rest = &rest[end..];
    }
    out.push_str(rest);
    out.replace("\"micro\": 22", "\"micro\": [micro]")
        .replace("QEMU 7.2.22", "QEMU 7.2.[micro]")
}

/// Apply [`redact_versions`] to every string in a JSON value (transcripts are strings).
fn redact_strings(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::String(s) => *s = redact_versions(s),
        serde_json::Value::Array(a) => a.iter_mut().for_each(redact_strings),
        serde_json::Value::Object(m) => m.values_mut().for_each(redact_strings),
        _ => {}
    }
}

#[test]
fn json_report_of_a_real_run_against_qemu_7_2() {
    let on_path = std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|d| d.join("qemu-system-x86_64").is_file())
    });
    if !on_path {
        skipped!(
            "SKIPPED: json_report_of_a_real_run_against_qemu_7_2: qemu-system-x86_64 not found"
        );
        return;
    }
    let mut v = json_report_of(
        qmpspec::endpoint::Target::qemu(None),
        &[
            "greeting.first",
            "errors.non-object",
            "ids.every-json-type",
            "ids.out-of-range-number",
        ],
    );
    redact_strings(&mut v);
    // QEMU 7.2's one known deviation shows as a fail naming its clause.
    assert_eq!(
        (v["summary"]["pass"].as_u64(), v["summary"]["fail"].as_u64()),
        (Some(3), Some(1))
    );
    insta::assert_json_snapshot!("qemu_7_2_json", v, {
        ".started" => "[started]",
        ".duration_ms" => "[duration]",
        ".tool.version" => "[version]",
        ".checks[].duration_ms" => "[duration]",
        ".checks[].transcript[].at_ms" => "[at]",
    });
}

// ---- matrix reports ----------------------------------------------------------------------

/// The hostile run beside a calm one of the same checks (another version, other outcomes):
/// a matrix whose rows agree on some checks and differ on others.
fn hostile_matrix() -> MatrixReport {
    let hostile = hostile_run();
    let mut calm = hostile_run();
    calm.target = "spawn:calm-qmp-server --stdio".into();
    calm.greeting = Some(
        json!({"QMP": {"version": {"qemu": {"micro": 2, "minor": 0, "major": 10}, "package": "calm"}, "capabilities": []}}),
    );
    calm.duration = Duration::from_millis(987);
    let statuses = [
        Status::Pass,
        Status::Pass,
        Status::Warn,
        Status::Error,
        Status::Error,
    ];
    for (r, s) in calm.results.iter_mut().zip(statuses) {
        let mut again = result(r.check.id, s, &format!("calm: {s}"), vec![]);
        again.outcome.transcript = r.outcome.transcript.clone();
        *r = again;
    }
    MatrixReport {
        tool_version: hostile.tool_version.clone(),
        started: hostile.started,
        duration: Duration::from_millis(1500),
        runs: vec![hostile, calm],
    }
}

fn redact_matrix(s: &str, m: &MatrixReport) -> String {
    s.replace(&rfc3339(m.started), "[started]")
        .replace(&m.tool_version, "[version]")
}

#[test]
fn matrix_text_snapshot_marks_the_rows_that_differ() {
    let m = hostile_matrix();
    let t = report::render_matrix(&m, Format::Text);
    let row = |id: &str| t.lines().find(|l| l.starts_with(id)).unwrap().to_string();
    assert!(row("greeting.first").ends_with("PASS         PASS"), "{t}");
    assert!(row("framing.objects-only").ends_with("FAIL         PASS         <- differs"));
    assert!(row("encoding.single-quotes").ends_with("WARN         WARN"));
    assert!(row("oob.overtake").ends_with("ERROR        ERROR"));
    assert!(t.ends_with("outcomes differ on 2 checks\n"), "{t}");
    assert!(!t.contains('\u{1b}'), "an escape reached the console: {t}");
    insta::assert_snapshot!("matrix_text", t);
}

#[test]
fn matrix_json_snapshot() {
    let m = hostile_matrix();
    let v: serde_json::Value =
        serde_json::from_str(&report::render_matrix(&m, Format::Json)).unwrap();
    assert_eq!(v["columns"], json!(["QEMU 7.2.22", "QEMU 10.0.2"]));
    assert_eq!(
        v["differing"],
        json!(["framing.objects-only", "events.shape"])
    );
    assert_eq!(v["matrix"][1]["outcomes"], json!(["fail", "pass"]));
    assert_eq!(v["matrix"][1]["differs"], true);
    assert_eq!(v["summary"]["error"], 3);
    // Each run is the single-target report, as the contract has it, plus its column.
    let single = report::json_value(&m.runs[1]);
    let mut run = v["runs"][1].clone();
    assert_eq!(run["column"], "QEMU 10.0.2");
    run.as_object_mut().unwrap().remove("column");
    assert_eq!(run, single);
    insta::assert_json_snapshot!("matrix_json", v, {
        ".started" => "[started]",
        ".tool.version" => "[version]",
        ".runs[].started" => "[started]",
        ".runs[].tool.version" => "[version]",
    });
}

#[test]
fn matrix_junit_has_a_suite_per_target() {
    let m = hostile_matrix();
    let x = report::render_matrix(&m, Format::Junit);
    let doc = roxmltree::Document::parse(&x).expect("well-formed XML");
    let suites: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    assert_eq!(suites.len(), 2);
    assert_eq!(
        suites[1].attribute("name"),
        Some("qmpspec QEMU 10.0.2 (spawn:calm-qmp-server --stdio)")
    );
    for (s, failures) in suites.iter().zip(["1", "0"]) {
        assert_eq!(s.attribute("tests"), Some("5"));
        assert_eq!(s.attribute("failures"), Some(failures));
    }
    insta::assert_snapshot!("matrix_junit", redact_matrix(&x, &m));
}

#[test]
fn matrix_markdown_links_cells_to_findings() {
    let m = hostile_matrix();
    let md = report::render_matrix(&m, Format::Markdown);
    assert!(!md.contains("<script>"));
    assert!(md.contains(
        "| `framing.objects-only` | `frame.objects-only` | **[fail](#c1-framing.objects-only)** | **pass** | **differs** |"
    ), "{md}");
    // Every linked finding is there, with its transcript.
    for anchor in [
        "c1-framing.objects-only",
        "c1-oob.overtake",
        "c2-encoding.single-quotes",
        "c2-events.shape",
    ] {
        assert!(md.contains(&format!("(#{anchor})")), "{anchor}");
        assert!(md.contains(&format!("<a id=\"{anchor}\"></a>")), "{anchor}");
    }
    assert!(md.contains("## Outcomes that differ"));
    insta::assert_snapshot!("matrix_markdown", redact_matrix(&md, &m));
}

#[test]
fn matrix_html_is_self_contained_and_every_cell_reachable() {
    let m = hostile_matrix();
    let h = report::render_matrix(&m, Format::Html);
    for bad in [
        "<script", "http://", "https://", "src=", "<b>", "\u{1b}", "\u{1}",
    ] {
        assert!(!h.contains(bad), "the HTML report contains {bad:?}");
    }
    for (c, run) in m.runs.iter().enumerate() {
        for r in &run.results {
            let id = format!("c{}-{}", c + 1, r.check.id);
            assert!(h.contains(&format!("href=\"#{id}\"")), "{id}");
            assert!(h.contains(&format!("<details id=\"{id}\"")), "{id}");
        }
    }
    assert_eq!(h.matches("<tr class=\"differs\">").count(), 2);
    insta::assert_snapshot!("matrix_html", redact_matrix(&h, &m));
}

/// The same checks against the emulated monitor as QEMU 7.2 and as QEMU 10.0.2 with
/// `drop-id`: real runs, side by side.
#[test]
fn a_real_matrix_of_two_emulated_monitors() {
    use qmpspec::monitor::{emulated_target_as, Fault, QemuRelease};
    let targets = [
        emulated_target(&[], None),
        emulated_target_as(QemuRelease::V10_0, &[Fault::DropId], None),
    ];
    let m = qmpspec::CheckRun::new()
        .only(["greeting.first", "greeting.shape", "ids.echo-on-error"])
        .run_matrix(&targets)
        .unwrap();
    assert_eq!(m.columns(), ["QEMU 7.2.22", "QEMU 10.0.2"]);
    let rows = m.rows();
    let cells = |id: &str| -> Vec<Status> {
        rows.iter()
            .find(|r| r.check.id == id)
            .unwrap()
            .cells
            .iter()
            .map(|c| c.outcome.status)
            .collect()
    };
    assert_eq!(cells("greeting.first"), [Status::Pass, Status::Pass]);
    assert_eq!(cells("ids.echo-on-error"), [Status::Pass, Status::Fail]);
    assert_eq!(cells("greeting.shape"), [Status::Pass, Status::Pass]);
    let differing: Vec<&str> = m.differing().iter().map(|r| r.check.id).collect();
    assert_eq!(differing, ["ids.echo-on-error"]);
    let v: serde_json::Value =
        serde_json::from_str(&report::render_matrix(&m, Format::Json)).unwrap();
    insta::assert_json_snapshot!("emulated_matrix_json", v, {
        ".started" => "[started]",
        ".duration_ms" => "[duration]",
        ".tool.version" => "[version]",
        ".runs[].started" => "[started]",
        ".runs[].duration_ms" => "[duration]",
        ".runs[].tool.version" => "[version]",
        ".runs[].checks[].duration_ms" => "[duration]",
        ".runs[].checks[].transcript[].at_ms" => "[at]",
    });
}
