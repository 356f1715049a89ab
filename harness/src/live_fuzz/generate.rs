//! Input generation for live fuzzing: grammar-aware commands built from what the endpoint
//! itself publishes (its command list), envelope variations from the session model, and
//! byte-level mutations of real client transcripts.

use crate::message::Command;
use crate::rng::Rng;
use serde_json::{json, Map, Value};

/// One thing sent to the endpoint.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// A well-formed command; its reply is matched by id.
    Command(Command),
    /// Raw bytes; they may draw any number of replies (or none).
    Raw(Vec<u8>),
}

impl Input {
    /// The bytes on the wire.
    pub fn bytes(&self) -> Vec<u8> {
        match self {
            Input::Command(c) => c.encode(),
            Input::Raw(b) => b.clone(),
        }
    }
}

/// What kind of input was generated, for coverage reporting.
pub const KINDS: &[&str] = &[
    "query",
    "bad-arguments",
    "unknown-command",
    "envelope",
    "out-of-band",
    "mutated-transcript",
    "junk-json",
    "deep-nesting",
];

/// Client lines QEMU was recorded answering: the seeds of byte-level mutation.
const SEED_TRANSCRIPT: &[u8] = include_bytes!("../../../corpus/qemu-7.2/system-x86_64.in");

/// Commands that may run with generated arguments: they only read state (or toggle the
/// run state, which the probe tolerates). Everything else only gets arguments that carry
/// an unknown member, which a conforming server rejects before running anything.
fn runnable(name: &str) -> bool {
    (name.starts_with("query-") || name.starts_with("x-query-"))
        || matches!(
            name,
            "stop" | "cont" | "qmp_capabilities" | "qom-list" | "qom-get" | "qom-list-types"
        )
}

/// Commands never sent, even with invalid arguments: they end the session by design.
fn never(name: &str) -> bool {
    matches!(name, "quit" | "system_powerdown" | "x-exit-preconfig")
}

/// The generator. Deterministic for a given seed and command list.
pub struct Generator {
    rng: Rng,
    runnable: Vec<String>,
    others: Vec<String>,
    seeds: Vec<Vec<u8>>,
    oob: bool,
    next_id: u64,
}

impl Generator {
    /// `commands` is what the endpoint lists (`query-commands`); `oob` says whether out-of-band
    /// execution was negotiated.
    pub fn new(seed: u64, commands: &[String], oob: bool) -> Self {
        let (runnable_cmds, others): (Vec<String>, Vec<String>) = commands
            .iter()
            .filter(|c| !never(c))
            .cloned()
            .partition(|c| runnable(c));
        let seeds = SEED_TRANSCRIPT
            .split_inclusive(|&b| b == b'\n')
            .filter(|l| !l.windows(4).any(|w| w == b"quit"))
            .map(<[u8]>::to_vec)
            .collect();
        Generator {
            rng: Rng::new(seed),
            runnable: runnable_cmds,
            others,
            seeds,
            oob,
            next_id: 0,
        }
    }

    /// The next test case: one to six inputs, with the kind of each.
    pub fn case(&mut self) -> Vec<(Input, &'static str)> {
        let n = 1 + self.rng.below(6);
        (0..n).map(|_| self.input()).collect()
    }

    fn id(&mut self) -> Value {
        self.next_id += 1;
        match self.rng.below(6) {
            0 => json!(self.next_id),
            1 => json!(format!("fz-{}", self.next_id)),
            2 => json!([self.next_id, "fz"]),
            3 => json!({"fz": self.next_id}),
            4 => json!(self.next_id as f64 + 0.5),
            _ => json!(format!("fz-é€-{}", self.next_id)),
        }
    }

    fn input(&mut self) -> (Input, &'static str) {
        match self.rng.below(16) {
            0..=3 if !self.runnable.is_empty() => {
                let name = self.rng.pick(&self.runnable).clone();
                let mut c = Command::new(name).id(self.id());
                if self.rng.chance(1, 3) {
                    c.arguments = Some(self.junk_object(2));
                }
                (Input::Command(c), "query")
            }
            4..=5 if !self.others.is_empty() => {
                let name = self.rng.pick(&self.others).clone();
                let mut args = self.junk_object(2);
                args.insert("__qmpspec-unknown".into(), self.junk(1));
                let mut c = Command::new(name).id(self.id());
                c.arguments = Some(args);
                (Input::Command(c), "bad-arguments")
            }
            6 => {
                let name = format!("qmpspec-no-such-{}", self.rng.below(1000));
                (
                    Input::Command(Command::new(name).id(self.id())),
                    "unknown-command",
                )
            }
            7..=8 => (Input::Raw(self.envelope()), "envelope"),
            9 if self.oob && !self.runnable.is_empty() => {
                let name = self.rng.pick(&self.runnable).clone();
                let c = Command::new(name).id(self.id()).out_of_band();
                (Input::Command(c), "out-of-band")
            }
            10..=12 => (Input::Raw(self.mutated()), "mutated-transcript"),
            13..=14 => {
                let mut b = crate::wire::encode(&self.junk(3), crate::wire::Style::Compact);
                if self.rng.chance(1, 2) {
                    b.pop();
                    b.extend_from_slice(b"\r\n");
                }
                (Input::Raw(b), "junk-json")
            }
            _ => {
                let depth = 1 + self.rng.below(3000);
                let mut b = Vec::new();
                b.extend_from_slice(b"{\"execute\":\"query-status\",\"arguments\":{\"a\":");
                b.extend(std::iter::repeat_n(b'[', depth));
                b.extend(std::iter::repeat_n(b']', depth));
                b.extend_from_slice(b"}}\n");
                (Input::Raw(b), "deep-nesting")
            }
        }
    }

    /// A command envelope with a rule broken (or bent: members reordered, extra spaces).
    fn envelope(&mut self) -> Vec<u8> {
        let name = if self.runnable.is_empty() {
            "query-version".to_string()
        } else {
            self.rng.pick(&self.runnable).clone()
        };
        let id = self.id();
        let v = match self.rng.below(8) {
            0 => json!({"arguments": {}, "id": id, "execute": name}),
            1 => json!({"execute": name, "id": id, "control": {"run-oob": true}}),
            2 => json!({"execute": self.junk(1), "id": id}),
            3 => json!({"execute": name, "arguments": self.junk(1), "id": id}),
            4 => json!({"exec-oob": name, "execute": name, "id": id}),
            5 => json!({"id": id}),
            6 => self.junk(2),
            _ => json!({"exec-oob": name, "id": id}),
        };
        let mut b = crate::wire::encode(&v, crate::wire::Style::Compact);
        if self.rng.chance(1, 4) {
            // QEMU's dialect: single quotes.
            for x in b.iter_mut() {
                if *x == b'"' {
                    *x = b'\'';
                }
            }
        }
        b
    }

    /// A recorded client line, mutated at the byte level.
    fn mutated(&mut self) -> Vec<u8> {
        let mut b = self.rng.pick(&self.seeds).clone();
        for _ in 0..1 + self.rng.below(4) {
            let len = b.len().max(1);
            let at = self.rng.below(len);
            match self.rng.below(7) {
                0 => {
                    if let Some(x) = b.get_mut(at) {
                        *x ^= 1 << self.rng.below(8);
                    }
                }
                1 => {
                    let special = *self.rng.pick(&[
                        0x01, 0x1f, 0xff, 0xfe, 0xc3, b'{', b'}', b'[', b']', b'"', b'\'', b'\\',
                        b',', b':', b'\n', 0x00, 0x7f,
                    ]);
                    b.insert(at.min(b.len()), special);
                }
                2 => {
                    let end = (at + 1 + self.rng.below(8)).min(b.len());
                    b.drain(at.min(end)..end);
                }
                3 => {
                    let end = (at + 1 + self.rng.below(16)).min(b.len());
                    let piece = b[at.min(end)..end].to_vec();
                    let pos = self.rng.below(b.len() + 1);
                    b.splice(pos..pos, piece);
                }
                4 => b.truncate(at),
                5 => {
                    let other = self.rng.pick(&self.seeds).clone();
                    let cut = self.rng.below(other.len() + 1);
                    b.truncate(at);
                    b.extend_from_slice(&other[cut..]);
                }
                _ => {
                    let n = 1 << self.rng.below(17);
                    let pos = self.rng.below(b.len() + 1);
                    b.splice(pos..pos, std::iter::repeat_n(b'x', n));
                }
            }
        }
        if b.last() != Some(&b'\n') {
            b.push(b'\n');
        }
        b
    }

    fn junk_object(&mut self, depth: usize) -> Map<String, Value> {
        let n = self.rng.below(4);
        (0..n).map(|_| (self.key(), self.junk(depth))).collect()
    }

    fn key(&mut self) -> String {
        self.rng
            .pick(&[
                "id", "name", "path", "enable", "device", "x", "", "é", "__a",
            ])
            .to_string()
    }

    fn junk(&mut self, depth: usize) -> Value {
        match self.rng.below(if depth == 0 { 6 } else { 8 }) {
            0 => Value::Null,
            1 => json!(self.rng.chance(1, 2)),
            2 => json!(self.rng.next_u64() as i64),
            3 => json!(*self.rng.pick(&[0.5, -1e300, 1e-300, 3.0])),
            4 => json!(*self.rng.pick(&["", "/", "oob", "é€", "\u{1}", "running"])),
            5 => json!(self.rng.below(100)),
            6 => Value::Array(
                (0..self.rng.below(4))
                    .map(|_| self.junk(depth - 1))
                    .collect(),
            ),
            _ => Value::Object(self.junk_object(depth - 1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commands() -> Vec<String> {
        [
            "query-status",
            "query-version",
            "stop",
            "cont",
            "quit",
            "device_add",
            "qmp_capabilities",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    #[test]
    fn deterministic_for_a_seed() {
        let a: Vec<_> = (0..20)
            .flat_map(|_| Generator::new(3, &commands(), true).case())
            .collect();
        let b: Vec<_> = (0..20)
            .flat_map(|_| Generator::new(3, &commands(), true).case())
            .collect();
        assert_eq!(a, b);
    }

    #[test]
    fn never_runs_quit_and_only_runs_safe_commands_with_valid_envelopes() {
        let mut g = Generator::new(1, &commands(), true);
        let mut kinds = std::collections::BTreeSet::new();
        for _ in 0..2000 {
            for (input, kind) in g.case() {
                kinds.insert(kind);
                if let Input::Command(c) = &input {
                    assert_ne!(c.name, "quit");
                    if c.name == "device_add" {
                        assert!(c
                            .arguments
                            .as_ref()
                            .unwrap()
                            .contains_key("__qmpspec-unknown"));
                    }
                }
                let bytes = input.bytes();
                assert!(!bytes.windows(6).any(|w| w == b"\"quit\""));
            }
        }
        assert_eq!(kinds.len(), KINDS.len(), "{kinds:?}");
    }
}
