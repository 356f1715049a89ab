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

use qmpspec::checks::{self, CheckResult, Ctx, Outcome, Status, TranscriptEntry};
use qmpspec::endpoint::Dir;
use qmpspec::monitor::emulated_target;
use qmpspec::report::{self, rfc3339, Format, RunReport};
use serde_json::json;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn entry(dir: Dir, at_ms: u64, bytes: &[u8]) -> TranscriptEntry {
    TranscriptEntry {
        dir,
        at: Duration::from_millis(at_ms),
        bytes: bytes.to_vec(),
    }
}

fn result(id: &str, status: Status, message: &str, t: Vec<TranscriptEntry>) -> CheckResult {
    let mut outcome = match status {
        Status::Pass => Outcome::pass(message),
        Status::Fail => Outcome::fail(checks::by_id(id).unwrap().clause, message),
        Status::Warn => Outcome::warn(checks::by_id(id).unwrap().clause, message),
        Status::Skip => Outcome::skip(message),
        Status::Error => Outcome::error(message),
    };
    outcome.transcript = t;
    CheckResult {
        check: *checks::by_id(id).unwrap(),
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
