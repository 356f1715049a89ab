//! The client session against a live QEMU 7.2: the whole greeting -> negotiation -> command
//! mode path, events between replies, ids of every JSON type, pipelining, and error replies,
//! with no protocol violation reported. Skips loudly when QEMU is not installed.

/// Say loudly that a test did not run: written straight to stderr, past libtest's capture
/// (which hides `eprintln!` of passing tests).
macro_rules! skipped {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($t)*);
    }};
}

use qmpspec::endpoint::{Client, Target};
use qmpspec::message::Command;
use qmpspec::session::Phase;
use serde_json::json;
use std::time::Duration;

const T: Duration = Duration::from_secs(5);

fn qemu_client() -> Option<Client> {
    let target = Target::qemu(None);
    match Client::connect(&target) {
        Ok(c) => Some(c),
        Err(e) => {
            skipped!(
                "SKIPPED: live QEMU session test: {e} (install qemu-system-x86 7.2: ci/setup.sh)"
            );
            None
        }
    }
}

#[test]
fn live_qemu_session_is_clean() {
    let Some(mut c) = qemu_client() else { return };
    let g = c.greeting(T).expect("greeting");
    assert_eq!(g.version.major, 7, "expected QEMU 7.x, got {:?}", g.version);
    assert_eq!(c.session.phase(), Phase::Negotiation);

    // Before negotiation: CommandNotFound, id echoed.
    let r = c.execute(Command::new("query-version").id(7), T).unwrap();
    assert_eq!(r.error().unwrap().class, "CommandNotFound");

    let r = c.handshake(&[], T).unwrap();
    assert!(r.error().is_none());
    assert_eq!(c.session.phase(), Phase::CommandMode);

    let v = c.execute(Command::new("query-version").id(1), T).unwrap();
    assert_eq!(v.return_value().unwrap()["qemu"]["major"], json!(7));

    // stop/cont: STOP and RESUME events arrive between replies.
    c.execute(Command::new("stop").id("s"), T).unwrap();
    c.execute(Command::new("cont").id("c"), T).unwrap();
    c.wait_until(T, |c| c.events.len() >= 2).unwrap();
    let names: Vec<_> = c.events.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["STOP", "RESUME"]);

    // Ids of every JSON type come back.
    for id in [
        json!(null),
        json!(true),
        json!(-3),
        json!(1.5),
        json!("é"),
        json!([1, {"a": []}]),
        json!({"k": "v"}),
    ] {
        let r = c
            .execute(Command::new("query-name").id(id.clone()), T)
            .unwrap();
        assert_eq!(r.id, Some(id));
    }

    // Pipelined commands are answered in order.
    for i in 0..8 {
        c.send(Command::new("query-status").id(i), T).unwrap();
    }
    c.wait_replies(8, T).unwrap();
    let ids: Vec<_> = c.take_replies().into_iter().map(|(_, r)| r.id).collect();
    assert_eq!(ids, (0..8).map(|i| Some(json!(i))).collect::<Vec<_>>());

    // Error replies are well-formed.
    let r = c.execute(Command::new("no-such-command").id(9), T).unwrap();
    assert_eq!(
        r.error().unwrap().desc,
        "The command no-such-command has not been found"
    );

    assert!(c.violations.is_empty(), "violations: {:?}", c.violations);
}
