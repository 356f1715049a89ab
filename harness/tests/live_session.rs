//! The client session against a live QEMU, 7.2 and 10.0.2: the whole greeting -> negotiation
//! -> command mode path, events between replies, ids of every JSON type, pipelining, and error
//! replies, with no protocol violation reported. Skips loudly when that QEMU is not installed.

mod common;

use common::live::{skipped, Qemu, QemuRelease};
use qmpspec::endpoint::Client;
use qmpspec::message::Command;
use qmpspec::session::Phase;
use serde_json::json;
use std::time::Duration;

const T: Duration = Duration::from_secs(5);

#[test]
fn live_qemu_7_2_session_is_clean() {
    session_is_clean("live_qemu_7_2_session_is_clean", QemuRelease::V7_2)
}

#[test]
fn live_qemu_10_0_session_is_clean() {
    session_is_clean("live_qemu_10_0_session_is_clean", QemuRelease::V10_0)
}

fn session_is_clean(test: &str, release: QemuRelease) {
    let qemu = match Qemu::find(release) {
        Ok(q) => q,
        Err(why) => return skipped(test, &why),
    };
    let mut c = Client::connect(&qemu.system_target()).expect("QEMU starts");
    let g = c.greeting(T).expect("greeting");
    let (major, minor, _) = release.version();
    assert_eq!(
        (g.version.major, g.version.minor),
        (major, minor),
        "{:?}",
        g.version
    );
    assert_eq!(c.session().phase(), Phase::Negotiation);

    // Before negotiation: CommandNotFound, id echoed.
    let r = c.execute(Command::new("query-version").id(7), T).unwrap();
    assert_eq!(r.error().unwrap().class, "CommandNotFound");

    let r = c.handshake(&[], T).unwrap();
    assert!(r.error().is_none());
    assert_eq!(c.session().phase(), Phase::CommandMode);

    let v = c.execute(Command::new("query-version").id(1), T).unwrap();
    assert_eq!(v.return_value().unwrap()["qemu"]["major"], json!(major));

    // stop/cont: STOP and RESUME events arrive between replies.
    c.execute(Command::new("stop").id("s"), T).unwrap();
    c.execute(Command::new("cont").id("c"), T).unwrap();
    c.wait_until(T, |c| c.events().len() >= 2).unwrap();
    let names: Vec<_> = c.events().iter().map(|e| e.name.as_str()).collect();
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

    assert!(
        c.violations().is_empty(),
        "violations: {:?}",
        c.violations()
    );
}
