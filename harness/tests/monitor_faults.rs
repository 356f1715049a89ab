//! Every fault knob is observable: the same input gives a reply that breaks the fault's
//! clause, while the fault-free monitor keeps it. Faults combine. The client stack
//! (endpoint::Client over `Target::emulated`) sees the deviations too.

mod common;

use qmpspec::endpoint::{Client, Stall};
use qmpspec::message::{Command, Malformed, ServerMessage};
use qmpspec::monitor::{emulated_target, Closed, Fault, Monitor, MonitorConfig};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

const NEG: &[u8] = b"{\"execute\":\"qmp_capabilities\"}\n";
const NEG_OOB: &[u8] = b"{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[\"oob\"]}}\n";

/// An input that is not sent: the client hangs up and connects again (a new session of the
/// same server).
const RECONNECT: &[u8] = b"\0reconnect\0";

/// Each input is one read of the session.
fn session(faults: &[Fault], inputs: &[&[u8]]) -> (Vec<u8>, Option<Closed>) {
    let cfg = Arc::new(MonitorConfig::new(faults, None).with_clock(Arc::new(|| (1, 2))));
    let mut m = Monitor::new(Arc::clone(&cfg));
    let mut out = m.take_output();
    for i in inputs {
        if *i == RECONNECT {
            m.hang_up();
            m = Monitor::new(Arc::clone(&cfg));
            out.extend(m.take_output());
            continue;
        }
        out.extend(m.feed(i));
    }
    (out, m.closed())
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

fn reply_with_id(out: &[u8], id: Value) -> Option<Value> {
    values(out).into_iter().find(|v| v.get("id") == Some(&id))
}

/// Messages as JSON values (lines that do not parse are skipped).
fn values(out: &[u8]) -> Vec<Value> {
    out.split(|&b| b == b'\n')
        .filter_map(|l| serde_json::from_slice(l.strip_suffix(b"\r").unwrap_or(l)).ok())
        .collect()
}

fn replies_with_id(out: &[u8], id: Value) -> usize {
    values(out)
        .iter()
        .filter(|v| v.get("id") == Some(&id))
        .count()
}

fn greeting(out: &[u8]) -> Result<ServerMessage, Malformed> {
    let first = out.split(|&b| b == b'\n').next().unwrap_or_default();
    ServerMessage::classify(first.strip_suffix(b"\r").unwrap_or(first))
}

type Observed = fn(&[u8], Option<Closed>) -> bool;

/// For each fault: the input, and a predicate that is true when the deviation is visible.
fn scenarios() -> Vec<(Fault, Vec<&'static [u8]>, Observed)> {
    vec![
        (Fault::NoGreeting, vec![], |o, _| o.is_empty()),
        (
            Fault::BadGreeting,
            vec![],
            |o, _| matches!(greeting(o), Err(Malformed::MissingMember { ref path, .. }) if path == "QMP.version.package"),
        ),
        (
            Fault::CapsNotStrings,
            vec![],
            |o, _| matches!(greeting(o), Err(Malformed::WrongType { ref path, .. }) if path.starts_with("QMP.capabilities[")),
        ),
        (Fault::LfOnly, vec![NEG], |o, _| {
            o.windows(2).any(|w| w[0] != b'\r' && w[1] == b'\n') || o.first() == Some(&b'\n')
        }),
        (Fault::NonAscii, vec![], |o, _| !o.is_ascii()),
        (Fault::NonObject, vec![], |o, _| {
            values(o).iter().any(|v| v.is_array())
        }),
        (
            Fault::DropId,
            vec![NEG, b"{\"execute\":\"query-status\",\"id\":1}\n"],
            |o, _| {
                replies_with_id(o, 1.into()) == 0
                    && values(o)
                        .iter()
                        .any(|v| v.get("return").is_some_and(|r| r.get("status").is_some()))
            },
        ),
        (
            Fault::WrongId,
            vec![NEG, b"{\"execute\":\"query-status\",\"id\":1}\n"],
            |o, _| {
                replies_with_id(o, 1.into()) == 0
                    && values(o).iter().filter(|v| v.get("id").is_some()).count() == 1
            },
        ),
        (
            Fault::NoNegotiation,
            vec![b"{\"execute\":\"query-status\",\"id\":1}\n"],
            |o, _| {
                values(o)
                    .iter()
                    .any(|v| v.get("id") == Some(&1.into()) && v.get("return").is_some())
            },
        ),
        (
            Fault::EarlyEvents,
            vec![b"{\"execute\":\"query-status\",\"id\":1}\n"],
            |o, _| values(o).iter().any(|v| v.get("event").is_some()),
        ),
        (Fault::RejectEnable, vec![NEG_OOB], |o, _| {
            values(o)
                .iter()
                .any(|v| v["error"]["desc"] == "Capability oob not available")
        }),
        (
            Fault::BadError,
            vec![NEG, b"{\"execute\":\"nope\",\"id\":1}\n"],
            |o, _| {
                values(o)
                    .iter()
                    .any(|v| v.get("error").is_some_and(|e| e.get("desc").is_none()))
            },
        ),
        (
            Fault::BadReturn,
            vec![NEG, b"{\"execute\":\"query-status\",\"id\":1}\n"],
            |o, _| {
                values(o)
                    .iter()
                    .any(|v| v.get("id") == Some(&1.into()) && v["return"].is_null())
            },
        ),
        (
            Fault::DoubleReply,
            vec![NEG, b"{\"execute\":\"query-name\",\"id\":1}\n"],
            |o, _| replies_with_id(o, 1.into()) == 2,
        ),
        (
            Fault::NoReply,
            vec![NEG, b"{\"execute\":\"query-name\",\"id\":1}\n"],
            |o, _| replies_with_id(o, 1.into()) == 0,
        ),
        (
            Fault::Reorder,
            vec![
                NEG,
                b"{\"execute\":\"query-name\",\"id\":1}\n{\"execute\":\"query-name\",\"id\":2}\n",
            ],
            |o, _| {
                let ids: Vec<Value> = values(o)
                    .iter()
                    .filter_map(|v| v.get("id").cloned())
                    .collect();
                ids == vec![Value::from(2), Value::from(1)]
            },
        ),
        (
            Fault::BadEvent,
            vec![NEG, b"{\"execute\":\"stop\"}\n"],
            |o, _| {
                values(o)
                    .iter()
                    .any(|v| v.get("event").is_some() && v.get("timestamp").is_none())
            },
        ),
        (
            Fault::OobBlocked,
            vec![
                NEG_OOB,
                b"{\"execute\":\"query-name\",\"id\":1}\n{\"exec-oob\":\"query-yank\",\"id\":2}\n",
            ],
            |o, _| {
                let ids: Vec<Value> = values(o)
                    .iter()
                    .filter_map(|v| v.get("id").cloned())
                    .collect();
                ids == vec![Value::from(1), Value::from(2)]
            },
        ),
        (
            Fault::OobAny,
            vec![NEG_OOB, b"{\"exec-oob\":\"query-version\",\"id\":1}\n"],
            |o, _| {
                values(o)
                    .iter()
                    .any(|v| v.get("id") == Some(&1.into()) && v.get("return").is_some())
            },
        ),
        (
            Fault::NoReset,
            vec![
                NEG,
                b"{\"execute\":\"query-name\"\n\x01{\"execute\":\"query-name\",\"id\":2}\n",
            ],
            |o, _| replies_with_id(o, 2.into()) == 0,
        ),
        (
            Fault::NoArgCheck,
            vec![
                NEG,
                b"{\"execute\":\"query-status\",\"arguments\":{\"bogus\":1},\"id\":1}\n",
            ],
            |o, _| {
                values(o)
                    .iter()
                    .any(|v| v.get("id") == Some(&1.into()) && v.get("return").is_some())
            },
        ),
        (
            Fault::InventedClass,
            vec![NEG, b"{\"execute\":\"nope\",\"id\":1}\n"],
            |o, _| {
                values(o)
                    .iter()
                    .any(|v| v["error"]["class"] == "ProtocolError")
            },
        ),
        (
            Fault::NoSingleQuotes,
            vec![NEG, b"{'execute':'query-name','id':1}\n"],
            |o, _| replies_with_id(o, 1.into()) == 0,
        ),
        (
            Fault::AcceptBadUtf8,
            vec![NEG, b"{\"execute\":\"query-name\",\"id\":\"\xc3(\"}\n"],
            |o, _| {
                values(o)
                    .iter()
                    .any(|v| v.get("return").is_some() && v["id"] == "\u{FFFD}(")
            },
        ),
        (
            Fault::CrashOnDeep,
            vec![
                NEG,
                &[b'['; 101],
                b"{\"execute\":\"query-name\",\"id\":1}\n",
            ],
            |o, c| c == Some(Closed::Crash) && replies_with_id(o, 1.into()) == 0,
        ),
        (
            Fault::StallOnLarge,
            vec![NEG, LARGE, b"{\"execute\":\"query-name\",\"id\":1}\n"],
            |o, _| replies_with_id(o, 1.into()) == 0 && replies_with_id(o, "big".into()) == 0,
        ),
        (
            Fault::WrongReturnType,
            vec![NEG, b"{\"execute\":\"query-version\",\"id\":1}\n"],
            |o, _| {
                values(o)
                    .iter()
                    .any(|v| v["return"]["qemu"]["micro"].is_string())
            },
        ),
        (
            Fault::OrderSensitive,
            vec![NEG, b"{\"id\":1,\"execute\":\"query-name\"}\n"],
            |o, _| reply_with_id(o, 1.into()).is_some_and(|v| v.get("error").is_some()),
        ),
        (
            Fault::LineBased,
            vec![NEG, b"{\"execute\":\"query-name\",\n\"id\":1}\n"],
            |o, _| replies_with_id(o, 1.into()) == 0,
        ),
        (
            Fault::ReadIsMessage,
            vec![NEG, b"{\"execute\":\"query-", b"name\",\"id\":1}\n"],
            |o, _| replies_with_id(o, 1.into()) == 0,
        ),
        (
            Fault::CapsTwice,
            vec![NEG, b"{\"execute\":\"qmp_capabilities\",\"id\":1}\n"],
            |o, _| reply_with_id(o, 1.into()).is_some_and(|v| v.get("return").is_some()),
        ),
        (
            Fault::CapsNoEffect,
            vec![NEG, b"{\"execute\":\"query-name\",\"id\":1}\n"],
            |o, _| {
                reply_with_id(o, 1.into()).is_some_and(|v| v["error"]["class"] == "CommandNotFound")
            },
        ),
        (
            Fault::AcceptUnknownCap,
            vec![b"{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[\"x-bogus\"]},\"id\":1}\n"],
            |o, _| reply_with_id(o, 1.into()).is_some_and(|v| v.get("return").is_some()),
        ),
        (
            Fault::UnknownGeneric,
            vec![NEG, b"{\"execute\":\"nope\",\"id\":1}\n"],
            |o, _| reply_with_id(o, 1.into()).is_some_and(|v| v["error"]["class"] == "GenericError"),
        ),
        (
            Fault::InventId,
            vec![NEG, b"{\"execute\":\"query-name\"}\n"],
            |o, _| replies_with_id(o, "qmpspec-invented".into()) > 0,
        ),
        (
            Fault::RejectEmptyArgs,
            vec![NEG, b"{\"execute\":\"query-name\",\"arguments\":{},\"id\":1}\n"],
            |o, _| reply_with_id(o, 1.into()).is_some_and(|v| v.get("error").is_some()),
        ),
        (
            Fault::BadQueryCommands,
            vec![NEG, b"{\"execute\":\"query-commands\",\"id\":1}\n"],
            |o, _| reply_with_id(o, 1.into()).is_some_and(|v| v["return"][0].is_string()),
        ),
        (
            Fault::LenientEnvelope,
            vec![NEG, b"{\"execute\":\"query-name\",\"bogus\":1,\"id\":1}\n"],
            |o, _| reply_with_id(o, 1.into()).is_some_and(|v| v.get("return").is_some()),
        ),
        (
            Fault::EventInReply,
            vec![NEG, b"{\"execute\":\"query-name\",\"id\":1}\n"],
            |o, _| text(o).contains("QMPSPEC_SPLICED") && replies_with_id(o, 1.into()) == 0,
        ),
        (
            Fault::SilentParseError,
            vec![NEG, b"{\"execute\":}\n", b"{\"execute\":\"query-name\",\"id\":1}\n"],
            |o, _| !text(o).contains("JSON parse error") && replies_with_id(o, 1.into()) == 1,
        ),
        (
            Fault::WedgeOnDisconnect,
            vec![NEG, b"{\"execute\":\"query-", RECONNECT, NEG],
            |o, _| text(o).matches("\"QMP\"").count() == 1,
        ),
        (
            Fault::SchemaMissesCommand,
            vec![NEG, b"{\"execute\":\"query-qmp-schema\",\"id\":1}\n"],
            |o, _| {
                reply_with_id(o, 1.into()).is_some_and(|v| {
                    !v["return"]
                        .as_array()
                        .is_some_and(|a| a.iter().any(|e| e["name"] == "query-name"))
                })
            },
        ),
        (
            Fault::BadDownstreamName,
            vec![NEG, b"{\"execute\":\"query-commands\",\"id\":1}\n"],
            |o, _| text(o).contains("{\"name\": \"__drive-mirror\"}"),
        ),
        (
            Fault::InfNumbers,
            vec![NEG, b"{\"execute\":\"query-name\",\"id\":1e400}\n"],
            |o, _| text(o).contains("\"id\": inf"),
        ),
        (
            Fault::PickyStrings,
            vec![NEG, b"{\"execute\":\"qom-list\",\"arguments\":{\"path\":\"/a1\"},\"id\":1}\n"],
            |o, _| text(o).contains("Invalid parameter type for 'path'"),
        ),
        (Fault::ExtraMembers, vec![], |o, _| {
            text(o).contains("x-qmpspec-extra")
        }),
        (Fault::ReversedMembers, vec![], |o, _| {
            o.starts_with(b"{\"QMP\": {\"capabilities\"")
        }),
        (Fault::PrettyPrinted, vec![], |o, _| {
            o.starts_with(b"{\r\n  \"QMP\"")
        }),
        (Fault::UnknownCapability, vec![], |o, _| {
            text(o).contains("\"x-future\"")
        }),
    ]
}

/// A 70 KiB command.
const LARGE: &[u8] = {
    const N: usize = 70 * 1024;
    const HEAD: &[u8] = b"{\"execute\":\"query-name\",\"id\":\"big\",\"arguments\":{\"pad\":";
    const fn build() -> [u8; N] {
        let mut a = [b' '; N];
        let mut i = 0;
        while i < HEAD.len() {
            a[i] = HEAD[i];
            i += 1;
        }
        // One message: an over-long argument string `"xxxx...x"`.
        a[HEAD.len()] = b'"';
        let mut j = HEAD.len() + 1;
        while j < N - 2 {
            a[j] = b'x';
            j += 1;
        }
        a[N - 3] = b'"';
        a[N - 2] = b'}';
        a[N - 1] = b'}';
        a
    }
    &build()
};

#[test]
fn every_fault_is_observable_and_absent_without_it() {
    let table = scenarios();
    for f in Fault::ALL {
        assert!(
            table.iter().any(|(g, _, _)| g == f),
            "fault {f} has no scenario"
        );
    }
    for (fault, input, observed) in &table {
        let (clean, closed) = session(&[], input);
        assert!(
            !observed(&clean, closed),
            "{fault}: the fault-free monitor already shows the deviation"
        );
        let (faulty, closed) = session(&[*fault], input);
        assert!(
            observed(&faulty, closed),
            "{fault}: deviation not visible in {}",
            String::from_utf8_lossy(&faulty[..faulty.len().min(600)])
        );
    }
}

#[test]
fn faults_combine() {
    let all = [
        Fault::DropId,
        Fault::LfOnly,
        Fault::BadEvent,
        Fault::InventedClass,
    ];
    let (o, _) = session(
        &all,
        &[
            NEG,
            b"{\"execute\":\"stop\",\"id\":1}\n{\"execute\":\"nope\",\"id\":2}\n",
        ],
    );
    let text = String::from_utf8_lossy(&o);
    assert!(!text.contains("\r\n"), "lf-only");
    assert!(!text.contains("\"id\""), "drop-id");
    assert!(
        text.contains("\"event\": \"STOP\"") && !text.contains("timestamp"),
        "bad-event"
    );
    assert!(text.contains("ProtocolError"), "invented-class");
    // Every deviating fault at once: no greeting, but the bare array line (non-object) is
    // there.
    let deviations: Vec<Fault> = Fault::ALL.iter().copied().filter(|f| f.breaks()).collect();
    let (o, _) = session(
        &deviations,
        &[NEG, b"{\"execute\":\"query-status\",\"id\":1}\n"],
    );
    assert!(!o.starts_with(b"{\"QMP\""));
    assert!(values(&o).iter().any(|v| v.is_array()));
}

#[test]
fn list_faults_names_clause_and_description() {
    let text = qmpspec::monitor::list_faults();
    for f in Fault::ALL {
        let line = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some(f.name()))
            .unwrap_or_else(|| panic!("{f} missing from the list"));
        assert!(line.contains(f.clause().id()) && line.contains(f.description()));
    }
}

/// The client stack sees the faults over a real socket pair.
#[test]
fn client_over_emulated_target_sees_faults() {
    let t = Duration::from_secs(5);
    // Fault-free: handshake and a query work, no violations.
    let mut c = Client::connect(&emulated_target(&[], None)).unwrap();
    c.handshake(&["oob"], t).unwrap();
    let r = c.execute(Command::new("query-status").id(1), t).unwrap();
    assert_eq!(r.return_value().unwrap()["status"], "running");
    assert!(c.violations().is_empty(), "{:?}", c.violations());

    // drop-id: the session reports a cmd.id-echo violation.
    let mut c = Client::connect(&emulated_target(&[Fault::DropId], None)).unwrap();
    c.handshake(&[], t).unwrap();
    c.send(Command::new("query-name").id(7), t).unwrap();
    c.wait_replies(1, t).unwrap();
    assert!(
        c.violations()
            .iter()
            .any(|v| v.clause == qmpspec::spec::Clause::CmdIdEcho),
        "{:?}",
        c.violations()
    );

    // no-greeting: nothing arrives.
    let mut c = Client::connect(&emulated_target(&[Fault::NoGreeting], None)).unwrap();
    assert!(matches!(
        c.greeting(Duration::from_millis(300)),
        Err(Stall::Timeout(_))
    ));

    // crash-on-deep: the connection closes.
    let mut c = Client::connect(&emulated_target(&[Fault::CrashOnDeep], None)).unwrap();
    c.handshake(&[], t).unwrap();
    c.send_raw(&[b'['; 200], 1, t).unwrap();
    c.wait_closed(t).unwrap();
}
