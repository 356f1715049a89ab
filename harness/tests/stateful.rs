//! Stateful property test: random sequences of commands (stop/cont, queries, unknown
//! commands, bad arguments, pipelined batches, out-of-band requests) with ids of every JSON
//! type, run against live QEMU 7.2 (when installed) and the emulated monitor (always), and
//! checked against a reference model of the run state and against the session model (which
//! must report no violation). proptest shrinks a failing sequence to a minimal transcript.

/// Say loudly that a test did not run: written straight to stderr, past libtest's capture
/// (which hides `eprintln!` of passing tests).
macro_rules! skipped {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($t)*);
    }};
}

use proptest::prelude::*;
use proptest_state_machine::{prop_state_machine, ReferenceStateMachine, StateMachineTest};
use qmpspec::endpoint::{Client, Target};
use qmpspec::message::Command;
use serde_json::{json, Value};
use std::time::Duration;

const T: Duration = Duration::from_secs(5);

/// The reference model: is the VM running, and did the last transition change that.
#[derive(Debug, Clone)]
pub struct Model {
    running: bool,
    changed: bool,
}

#[derive(Debug, Clone)]
pub enum Op {
    Stop(Value),
    Cont(Value),
    QueryStatus(Value),
    QueryName(Value),
    Unknown(String, Value),
    BadArgs(Value),
    /// `n` query-status commands in one write.
    Pipeline(usize),
    /// exec-oob of a command without allow-oob (rejected with QEMU's text).
    OobNotAllowed(Value),
}

fn any_id() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i32>().prop_map(Value::from),
        (-1000i32..1000).prop_map(|x| json!(x as f64 + 0.25)),
        "[a-zé€ ]{0,8}".prop_map(Value::from),
        prop::collection::vec(any::<u8>(), 0..3).prop_map(|v| json!(v)),
        "[a-z]{1,4}".prop_map(|k| json!({ k: [1, {"x": null}] })),
    ]
}

pub struct Reference;

impl ReferenceStateMachine for Reference {
    type State = Model;
    type Transition = Op;

    fn init_state() -> BoxedStrategy<Model> {
        Just(Model {
            running: true,
            changed: false,
        })
        .boxed()
    }

    fn transitions(_: &Model) -> BoxedStrategy<Op> {
        prop_oneof![
            3 => any_id().prop_map(Op::Stop),
            3 => any_id().prop_map(Op::Cont),
            2 => any_id().prop_map(Op::QueryStatus),
            1 => any_id().prop_map(Op::QueryName),
            1 => ("[a-z]{1,10}", any_id()).prop_map(|(n, id)| Op::Unknown(format!("no-such-{n}"), id)),
            1 => any_id().prop_map(Op::BadArgs),
            1 => (1usize..8).prop_map(Op::Pipeline),
            1 => any_id().prop_map(Op::OobNotAllowed),
        ]
        .boxed()
    }

    fn apply(mut s: Model, op: &Op) -> Model {
        let before = s.running;
        match op {
            Op::Stop(_) => s.running = false,
            Op::Cont(_) => s.running = true,
            _ => {}
        }
        s.changed = before != s.running;
        s
    }
}

/// The system under test: a negotiated client, and how many events were seen.
pub struct Live {
    client: Client,
    events_seen: usize,
}

fn connect(target: &Target) -> Live {
    let mut client = Client::connect(target).expect("target reachable");
    let g = client.greeting(T).expect("greeting");
    let enable: &[&str] = if g.offers("oob") { &["oob"] } else { &[] };
    client.handshake(enable, T).expect("negotiation");
    Live {
        client,
        events_seen: 0,
    }
}

fn expect_ok(live: &mut Live, cmd: Command) -> Value {
    let id = cmd.id.clone();
    let r = live.client.execute(cmd, T).expect("reply");
    assert_eq!(r.id, id, "id echoed");
    assert!(r.error().is_none(), "unexpected error {:?}", r.error());
    r.return_value().expect("return value")
}

fn expect_err(live: &mut Live, cmd: Command, class: &str, desc: &str) {
    let id = cmd.id.clone();
    let r = live.client.execute(cmd, T).expect("reply");
    assert_eq!(r.id, id, "id echoed");
    let e = r.error().expect("an error reply");
    assert_eq!((e.class.as_str(), e.desc.as_str()), (class, desc));
}

/// stop/cont: `{}` back, and the event exactly when the state changed (before the reply,
/// as QEMU emits it while running the command).
fn run_state_change(live: &mut Live, s: &Model, cmd: Command, event: &str) {
    assert_eq!(expect_ok(live, cmd), json!({}));
    if s.changed {
        let e = live
            .client
            .events()
            .get(live.events_seen)
            .expect("event before reply");
        assert_eq!(e.name, event);
        live.events_seen += 1;
    }
    assert_eq!(
        live.client.events().len(),
        live.events_seen,
        "no other event"
    );
}

fn run_op(mut live: Live, s: &Model, op: Op) -> Live {
    match op {
        Op::Stop(id) => run_state_change(&mut live, s, Command::new("stop").id(id), "STOP"),
        Op::Cont(id) => run_state_change(&mut live, s, Command::new("cont").id(id), "RESUME"),
        Op::QueryStatus(id) => {
            let v = expect_ok(&mut live, Command::new("query-status").id(id));
            assert_eq!(v["running"], json!(s.running));
            assert_eq!(
                v["status"],
                json!(if s.running { "running" } else { "paused" })
            );
        }
        Op::QueryName(id) => {
            assert!(expect_ok(&mut live, Command::new("query-name").id(id)).is_object());
        }
        Op::Unknown(name, id) => {
            let desc = format!("The command {name} has not been found");
            expect_err(
                &mut live,
                Command::new(name).id(id),
                "CommandNotFound",
                &desc,
            );
        }
        Op::BadArgs(id) => {
            let cmd = Command::new("query-status").id(id).arg("bogus", 1);
            expect_err(
                &mut live,
                cmd,
                "GenericError",
                "Parameter 'bogus' is unexpected",
            );
        }
        Op::Pipeline(n) => {
            for i in 0..n {
                live.client
                    .send(Command::new("query-status").id(json!(["p", i])), T)
                    .unwrap();
            }
            live.client
                .wait_replies(n, T)
                .expect("all pipelined replies");
            let ids: Vec<Value> = live
                .client
                .take_replies()
                .into_iter()
                .map(|(_, r)| r.id.unwrap())
                .collect();
            let want: Vec<Value> = (0..n).map(|i| json!(["p", i])).collect();
            assert_eq!(ids, want, "answered in order");
        }
        Op::OobNotAllowed(id) => {
            let cmd = Command::new("query-status").id(id).out_of_band();
            if live.client.session().oob_enabled() {
                let desc = "The command query-status does not support OOB";
                expect_err(&mut live, cmd, "GenericError", desc);
            } else {
                let desc = "QMP input member 'exec-oob' is unexpected";
                expect_err(&mut live, cmd, "GenericError", desc);
            }
        }
    }
    assert!(
        live.client.violations().is_empty(),
        "violations: {:?}",
        live.client.violations()
    );
    live
}

fn qemu_available() -> bool {
    let ok = std::process::Command::new("qemu-system-x86_64")
        .arg("--version")
        .output()
        .is_ok();
    // Asked once per generated case: say it once.
    static SAID: std::sync::Once = std::sync::Once::new();
    if !ok {
        SAID.call_once(|| {
            skipped!("SKIPPED: stateful test against QEMU: qemu-system-x86_64 not found (ci/setup.sh installs it)")
        });
    }
    ok
}

pub struct AgainstQemu;

impl StateMachineTest for AgainstQemu {
    type SystemUnderTest = Option<Live>;
    type Reference = Reference;

    fn init_test(_: &Model) -> Option<Live> {
        qemu_available().then(|| connect(&Target::qemu(None)))
    }

    fn apply(live: Option<Live>, s: &Model, op: Op) -> Option<Live> {
        live.map(|l| run_op(l, s, op))
    }
}

/// The same state machine against the built-in emulated monitor: needs no QEMU, so it always
/// runs in `cargo test`.
pub struct AgainstEmulated;

impl StateMachineTest for AgainstEmulated {
    type SystemUnderTest = Option<Live>;
    type Reference = Reference;

    fn init_test(_: &Model) -> Option<Live> {
        Some(connect(&qmpspec::monitor::emulated_target(&[], None)))
    }

    fn apply(live: Option<Live>, s: &Model, op: Op) -> Option<Live> {
        live.map(|l| run_op(l, s, op))
    }
}

prop_state_machine! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, .. ProptestConfig::default() })]
    #[test]
    fn qemu_follows_the_model(sequential 1..24 => AgainstQemu);
}

prop_state_machine! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, .. ProptestConfig::default() })]
    #[test]
    fn emulated_monitor_follows_the_model(sequential 1..32 => AgainstEmulated);
}

/// The emulated monitor with a fault that breaks the model: errors carry the invented class
/// `ProtocolError` (`invented-class`).
pub struct AgainstFaultyEmulated;

impl StateMachineTest for AgainstFaultyEmulated {
    type SystemUnderTest = Option<Live>;
    type Reference = Reference;

    fn init_test(_: &Model) -> Option<Live> {
        let faulty =
            qmpspec::monitor::emulated_target(&[qmpspec::monitor::Fault::InventedClass], None);
        Some(connect(&faulty))
    }

    fn apply(live: Option<Live>, s: &Model, op: Op) -> Option<Live> {
        live.map(|l| run_op(l, s, op))
    }
}

/// The emulated run can fail: against a monitor with an invented error class, proptest
/// finds a failing sequence, and the model names what broke.
#[test]
fn the_state_machine_catches_a_faulty_monitor() {
    use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};
    let mut runner = TestRunner::new(Config {
        cases: 16,
        failure_persistence: None,
        ..Config::default()
    });
    let r = runner.run(
        &Reference::sequential_strategy(1..8),
        |(init, transitions, seen)| {
            let done = std::panic::catch_unwind(|| {
                AgainstFaultyEmulated::test_sequential(Config::default(), init, transitions, seen)
            });
            done.map_err(|e| {
                let msg = e
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                TestCaseError::fail(msg)
            })
        },
    );
    match r {
        Err(TestError::Fail(reason, _)) => {
            assert!(reason.message().contains("ProtocolError"), "{reason}")
        }
        other => panic!("expected a failure, got {other:?}"),
    }
}
