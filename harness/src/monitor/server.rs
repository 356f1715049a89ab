//! The sans-IO server session: bytes in, bytes out, nothing about sockets.
//!
//! [`Monitor::receive`] takes client bytes, [`Monitor::process`] runs the protocol as far as
//! it can, [`Monitor::output`] holds what to send. The session behaves like QEMU 7.2's QMP
//! monitor (monitor/qmp.c, qapi/qmp-dispatch.c): greeting, negotiation mode, command mode,
//! in-band queue (one request without `oob`, eight with it) with out-of-band commands run at
//! once, QEMU's parser and error texts ([`super::json`]), QEMU's output bytes
//! ([`super::qobject`]). Commands and events come from a QAPI schema. [`Fault`]s make it
//! deviate on purpose.
//!
//! Bounds: input is parsed only while the in-band queue has room, output stops growing past
//! [`OUTPUT_HIGH_WATER`] until it is drained, a message in progress is capped by [`Limits`].
//! Nothing here panics on any input.

use super::commands;
use super::fault::{Fault, FaultSet};
use super::json::{Deviations, JsonStream, Parsed};
use super::qobject::{qdict_order, QObj};
use super::release::QemuRelease;
use super::Schema;
use crate::wire::Limits;
use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

/// Output above this many bytes pauses processing until the caller drains it.
pub const OUTPUT_HIGH_WATER: usize = 1 << 20;
/// Unparsed input above this many bytes makes [`Monitor::wants_input`] false.
pub const INPUT_HIGH_WATER: usize = 1 << 16;
/// QEMU's in-band queue length with `oob` enabled (QMP_REQ_QUEUE_LEN_MAX).
pub const QUEUE_LEN_OOB: usize = 8;

/// Wall-clock source for event timestamps: `(seconds, microseconds)`.
pub type Clock = Arc<dyn Fn() -> (i64, i64) + Send + Sync>;

/// The system clock, like QEMU's `g_get_real_time()`.
pub fn system_clock() -> Clock {
    Arc::new(|| match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => (d.as_secs() as i64, d.subsec_micros() as i64),
        Err(_) => (-1, -1),
    })
}

/// Everything a monitor session is configured with; shared by all sessions of a server.
#[derive(Clone)]
pub struct MonitorConfig {
    /// The QEMU release answered as: version and recorded query answers.
    pub release: QemuRelease,
    pub faults: FaultSet,
    pub schema: Arc<Schema>,
    /// Offer the `oob` capability in the greeting (QEMU does when the monitor has an I/O thread).
    pub offer_oob: bool,
    /// `(major, minor, micro)` for the greeting and `query-version`.
    pub version: (i64, i64, i64),
    /// `package` for the greeting and `query-version` (kept distinct from QEMU's).
    pub package: String,
    pub limits: Limits,
    pub clock: Clock,
    /// The character device the monitor sits on (seen in `query-chardev`, `query-yank`,
    /// `qom-list /chardevs`).
    pub chardev: Chardev,
    /// `query-qmp-schema`'s return, built once.
    pub(crate) schema_qobj: Arc<OnceLock<QObj>>,
    /// `wedge-on-disconnect` fired: every later session of this server stays silent.
    pub(crate) wedged: Arc<AtomicBool>,
}

impl fmt::Debug for MonitorConfig {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.debug_struct("MonitorConfig")
            .field("release", &self.release)
            .field("faults", &self.faults)
            .field("offer_oob", &self.offer_oob)
            .field("version", &self.version)
            .field("package", &self.package)
            .finish()
    }
}

/// The default package string: not QEMU's, so nobody mistakes the emulation for QEMU.
pub const PACKAGE: &str = "qmpspec emulated";

impl MonitorConfig {
    /// QEMU 7.2-like defaults, with the given faults and schema (QEMU 7.2's system schema when
    /// `None`).
    pub fn new(faults: &[Fault], schema: Option<Arc<Schema>>) -> MonitorConfig {
        MonitorConfig::for_release(QemuRelease::V7_2, faults, schema)
    }

    /// Defaults of `release` (its version, recorded answers and, when `schema` is `None`, its
    /// schema), with the given faults.
    pub fn for_release(
        release: QemuRelease,
        faults: &[Fault],
        schema: Option<Arc<Schema>>,
    ) -> MonitorConfig {
        MonitorConfig {
            release,
            faults: FaultSet::new(faults),
            schema: schema.unwrap_or_else(|| release.schema()),
            offer_oob: true,
            version: release.version(),
            package: PACKAGE.to_string(),
            limits: Limits::QEMU,
            clock: system_clock(),
            chardev: Chardev::Stdio,
            schema_qobj: Arc::new(OnceLock::new()),
            wedged: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Builder: a fixed clock (tests).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    pub(crate) fn has(&self, f: Fault) -> bool {
        self.faults.has(f)
    }
}

/// The monitor's character device, as QEMU would describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chardev {
    /// `-qmp stdio`
    Stdio,
    /// `-qmp unix:...` or `tcp:...`; `filename` as `query-chardev` shows it, e.g.
    /// `unix:/tmp/qmp.sock,server=on`.
    Socket { filename: String },
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// `quit` was executed.
    Quit,
    /// The `crash-on-deep` fault fired.
    Crash,
}

/// One queued in-band request: a parsed value, or a parse error to report.
#[derive(Debug)]
enum Request {
    Value(QObj),
    Error(String),
}

/// What a command handler answers.
pub(crate) type Outcome = Result<QObj, (&'static str, String)>;

/// One QMP monitor session.
pub struct Monitor {
    pub(crate) cfg: Arc<MonitorConfig>,
    json: JsonStream,
    input: Vec<u8>,
    in_pos: usize,
    queue: VecDeque<Request>,
    out: Vec<u8>,
    /// `qmp_capabilities` succeeded.
    pub(crate) negotiated: bool,
    /// `oob` was enabled.
    pub(crate) oob: bool,
    /// VM run state (`stop` / `cont`).
    pub(crate) running: bool,
    closed: Option<Closed>,
    /// Close once the current reply is written (`quit`).
    pub(crate) closing: bool,
    stalled: bool,
    /// `reorder`: a reply held back to go out after the next one.
    held: Option<Vec<u8>>,
    /// `no-reply`: replies counted in command mode.
    replies_in_command_mode: u64,
    /// `read-is-message`: where each read received so far ends in `input`.
    read_ends: VecDeque<usize>,
    /// `wedge-on-disconnect` fired before this session began: it says and reads nothing.
    silent: bool,
}

impl fmt::Debug for Monitor {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.debug_struct("Monitor")
            .field("negotiated", &self.negotiated)
            .field("oob", &self.oob)
            .field("running", &self.running)
            .field("closed", &self.closed)
            .field("queued", &self.queue.len())
            .field("output", &self.out.len())
            .finish()
    }
}

impl Monitor {
    /// A new session; the greeting is already in [`Monitor::output`].
    pub fn new(cfg: Arc<MonitorConfig>) -> Monitor {
        let dev = Deviations {
            no_reset: cfg.has(Fault::NoReset),
            no_single_quotes: cfg.has(Fault::NoSingleQuotes),
            accept_bad_utf8: cfg.has(Fault::AcceptBadUtf8),
            inf_numbers: cfg.has(Fault::InfNumbers),
        };
        let mut m = Monitor {
            json: JsonStream::new(cfg.limits, dev),
            cfg,
            input: Vec::new(),
            in_pos: 0,
            queue: VecDeque::new(),
            out: Vec::new(),
            negotiated: false,
            oob: false,
            running: true,
            closed: None,
            closing: false,
            stalled: false,
            held: None,
            replies_in_command_mode: 0,
            read_ends: VecDeque::new(),
            silent: false,
        };
        if m.cfg.has(Fault::WedgeOnDisconnect) && m.cfg.wedged.load(Ordering::SeqCst) {
            m.silent = true;
            return m;
        }
        if !m.cfg.has(Fault::NoGreeting) {
            let g = m.greeting();
            m.write_msg(&g);
        }
        if m.cfg.has(Fault::NonObject) {
            m.write_msg(&QObj::List(vec![QObj::str("qmpspec")]));
        }
        if m.cfg.has(Fault::EarlyEvents) {
            m.early_event();
        }
        m
    }

    /// The greeting QEMU 7.2 sends: `{"QMP": {"version": ..., "capabilities": [...]}}`.
    pub fn greeting(&self) -> QObj {
        let mut version = commands::version_info(&self.cfg, false);
        if self.cfg.has(Fault::BadGreeting) {
            version.remove("package");
        }
        let mut caps: Vec<QObj> = Vec::new();
        if self.cfg.has(Fault::UnknownCapability) {
            caps.push(QObj::str(UNKNOWN_CAPABILITY));
        }
        if self.cfg.offer_oob {
            caps.push(QObj::str("oob"));
        }
        if self.cfg.has(Fault::CapsNotStrings) {
            caps.push(QObj::Int(1));
        }
        QObj::dict([(
            "QMP",
            QObj::dict([("version", version), ("capabilities", QObj::List(caps))]),
        )])
    }

    /// Take client bytes. Respect [`Monitor::wants_input`] to keep memory bounded.
    pub fn receive(&mut self, bytes: &[u8]) {
        if self.closed.is_some() || self.silent {
            return;
        }
        if self.in_pos > 0 && (self.in_pos == self.input.len() || self.in_pos > INPUT_HIGH_WATER) {
            self.input.drain(..self.in_pos);
            for end in &mut self.read_ends {
                *end -= self.in_pos;
            }
            self.in_pos = 0;
        }
        self.input.extend_from_slice(bytes);
        if self.cfg.has(Fault::ReadIsMessage) && !bytes.is_empty() {
            self.read_ends.push_back(self.input.len());
        }
    }

    /// The client closed its end. With `wedge-on-disconnect`, leaving in the middle of a
    /// command wedges the whole server.
    pub fn hang_up(&mut self) {
        let mid_command = !self.json.at_boundary() || self.in_pos < self.input.len();
        if self.cfg.has(Fault::WedgeOnDisconnect) && mid_command {
            self.cfg.wedged.store(true, Ordering::SeqCst);
        }
    }

    /// True when the session can take more input without growing past its bounds.
    pub fn wants_input(&self) -> bool {
        self.closed.is_none()
            && self.input.len() - self.in_pos < INPUT_HIGH_WATER
            && self.out.len() < OUTPUT_HIGH_WATER
    }

    /// True while received input or queued requests wait for [`Monitor::process`].
    pub fn has_work(&self) -> bool {
        let input = if self.naive_framing() {
            self.next_unit().is_some()
        } else {
            self.in_pos < self.input.len()
        };
        self.closed.is_none() && (input || !self.queue.is_empty())
    }

    /// `line-based` or `read-is-message`: input is cut into whole texts by lines or reads.
    fn naive_framing(&self) -> bool {
        self.cfg.has(Fault::LineBased) || self.cfg.has(Fault::ReadIsMessage)
    }

    /// Where the next whole unit of naive framing ends in `input`, once it is complete.
    fn next_unit(&self) -> Option<usize> {
        let rest = &self.input[self.in_pos..];
        if self.cfg.has(Fault::ReadIsMessage) {
            return self.read_ends.front().copied();
        }
        rest.iter()
            .position(|&b| b == b'\n')
            .map(|i| self.in_pos + i + 1)
    }

    /// Parse one unit of naive framing as a whole text: exactly one value, or an error.
    fn naive_unit(&mut self, end: usize) {
        let mut json = JsonStream::new(self.cfg.limits, Deviations::default());
        let len = end - self.in_pos;
        for &b in &self.input[self.in_pos..end] {
            json.feed(b);
        }
        self.in_pos = end;
        if self.cfg.has(Fault::ReadIsMessage) {
            self.read_ends.pop_front();
        }
        let mut values = Vec::new();
        let mut errors = 0;
        while let Some(p) = json.pop() {
            match p {
                Parsed::Value { value, .. } => values.push(value),
                Parsed::Error(_) => errors += 1,
            }
        }
        match (values.pop(), values.is_empty(), errors, json.at_boundary()) {
            (Some(v), true, 0, true) => self.accept(Parsed::Value {
                value: v,
                bytes: len,
            }),
            _ => self.accept(Parsed::Error("JSON parse error, expecting value".into())),
        }
    }

    /// Everything the session holds: unparsed input, the message in progress, pending
    /// output. Bounded whatever the input (see the module docs).
    pub fn buffered_bytes(&self) -> usize {
        (self.input.len() - self.in_pos) + self.json.pending_bytes() + self.out.len()
    }

    /// Bytes to send.
    pub fn output(&self) -> &[u8] {
        &self.out
    }

    /// Mark `n` bytes of [`Monitor::output`] as sent.
    pub fn consume_output(&mut self, n: usize) {
        let n = n.min(self.out.len());
        self.out.drain(..n);
    }

    /// Take all pending output.
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    /// `Some` once the session is over: send the remaining output, then close.
    pub fn closed(&self) -> Option<Closed> {
        self.closed
    }

    /// Convenience for tests and simple drivers: receive, process everything, return all
    /// output produced.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<u8> {
        self.receive(bytes);
        let mut all = Vec::new();
        loop {
            self.process();
            all.extend(self.take_output());
            // `process` only pauses with work left when output passed the high-water mark,
            // which was just drained; `has_work` is false once the session is closed.
            if !self.has_work() {
                return all;
            }
        }
    }

    fn queue_cap(&self) -> usize {
        if self.oob {
            QUEUE_LEN_OOB
        } else {
            1
        }
    }

    /// Run the protocol as far as input, queue and output bounds allow.
    pub fn process(&mut self) {
        let naive = self.naive_framing();
        loop {
            if self.closed.is_some() || self.out.len() >= OUTPUT_HIGH_WATER {
                return;
            }
            // Read while the in-band queue has room (QEMU suspends the monitor when it is full
            // and reads one byte at a time).
            while naive && self.queue.len() < self.queue_cap() {
                let Some(end) = self.next_unit() else { break };
                self.naive_unit(end);
            }
            while !naive && self.queue.len() < self.queue_cap() && self.in_pos < self.input.len() {
                let b = self.input[self.in_pos];
                self.in_pos += 1;
                self.json.feed(b);
                if self.cfg.has(Fault::CrashOnDeep) && self.json.depth() > 100 {
                    self.closed = Some(Closed::Crash);
                    return;
                }
                if self.cfg.has(Fault::StallOnLarge) && self.json.pending_bytes() > 64 * 1024 {
                    self.stalled = true;
                }
                while let Some(p) = self.json.pop() {
                    self.accept(p);
                    if self.closed.is_some() {
                        return;
                    }
                }
            }
            if let Some(req) = self.queue.pop_front() {
                self.dispatch(req, false);
                if self.closing {
                    self.finish_close();
                    return;
                }
                continue;
            }
            // With naive framing, an incomplete line or read waits for more input.
            if naive || self.in_pos >= self.input.len() {
                if !naive {
                    self.input.clear();
                    self.in_pos = 0;
                }
                if let Some(h) = self.held.take() {
                    self.out.extend_from_slice(&h);
                }
                return;
            }
        }
    }

    fn finish_close(&mut self) {
        if let Some(h) = self.held.take() {
            self.out.extend_from_slice(&h);
        }
        self.closed = Some(Closed::Quit);
        self.queue.clear();
    }

    /// A parsed item: out-of-band commands run at once (QEMU's `qmp_is_oob`), everything
    /// else joins the in-band queue.
    fn accept(&mut self, p: Parsed) {
        match p {
            Parsed::Value { value, bytes } => {
                if self.cfg.has(Fault::StallOnLarge) && bytes > 64 * 1024 {
                    self.stalled = true;
                }
                let oob = value.get("exec-oob").is_some() && value.get("execute").is_none();
                if oob && !self.cfg.has(Fault::OobBlocked) {
                    self.dispatch(Request::Value(value), true);
                    if self.closing {
                        self.finish_close();
                    }
                } else {
                    self.queue.push_back(Request::Value(value));
                }
            }
            Parsed::Error(e) => self.queue.push_back(Request::Error(e)),
        }
    }

    fn dispatch(&mut self, req: Request, out_of_band: bool) {
        let command_mode = self.negotiated || self.cfg.has(Fault::NoNegotiation);
        let (rsp, name) = match req {
            Request::Error(_) if self.cfg.has(Fault::SilentParseError) => return,
            Request::Error(e) => (error_response("GenericError", e), None),
            Request::Value(v) => {
                let (rsp, name) = self.qmp_dispatch(v);
                (rsp, name)
            }
        };
        if !command_mode && self.cfg.has(Fault::EarlyEvents) {
            self.early_event();
        }
        self.respond(rsp, name.as_deref(), command_mode, out_of_band);
    }

    /// QEMU's `qmp_dispatch` plus `monitor_qmp_dispatch`'s negotiation-mode rewrite.
    fn qmp_dispatch(&mut self, req: QObj) -> (QObj, Option<String>) {
        let lenient = self.cfg.has(Fault::LenientEnvelope);
        let QObj::Dict(members) = &req else {
            if lenient {
                return (QObj::dict([("return", QObj::Dict(Vec::new()))]), None);
            }
            return (
                error_response("GenericError", "QMP input must be a JSON object".into()),
                None,
            );
        };
        let id = req.get("id").cloned();
        let with_id = |mut rsp: QObj| {
            if let Some(id) = &id {
                rsp.put("id", id.clone());
            }
            rsp
        };
        let allow_oob = self.oob || self.cfg.has(Fault::OobAny);
        let keys: Vec<&str> = members.iter().map(|(k, _)| k.as_str()).collect();
        let mut exec_key: Option<&str> = None;
        let mut envelope_error = None;
        for i in qdict_order(&keys) {
            let (k, v) = &members[i];
            let k = k.as_str();
            if k == "execute" || (k == "exec-oob" && allow_oob) {
                if !matches!(v, QObj::Str(_)) {
                    envelope_error = Some(format!("QMP input member '{k}' must be a string"));
                    break;
                }
                if let Some(prev) = exec_key {
                    envelope_error = Some(format!("QMP input member '{k}' clashes with '{prev}'"));
                    break;
                }
                exec_key = Some(k);
            } else if k == "arguments" {
                if !matches!(v, QObj::Dict(_)) {
                    envelope_error = Some("QMP input member 'arguments' must be an object".into());
                    break;
                }
            } else if k != "id" {
                envelope_error = Some(format!("QMP input member '{k}' is unexpected"));
                break;
            }
        }
        if envelope_error.is_none() && exec_key.is_none() {
            envelope_error = Some("QMP input lacks member 'execute'".into());
        }
        let first = members.first().map(|(k, _)| k.as_str());
        if envelope_error.is_none()
            && self.cfg.has(Fault::OrderSensitive)
            && !matches!(first, Some("execute" | "exec-oob"))
        {
            envelope_error = Some("QMP input member 'execute' must come first".into());
        }
        if envelope_error.is_none()
            && self.cfg.has(Fault::RejectEmptyArgs)
            && matches!(req.get("arguments"), Some(QObj::Dict(a)) if a.is_empty())
        {
            envelope_error = Some("QMP input member 'arguments' must not be empty".into());
        }
        if let Some(e) = envelope_error {
            if lenient {
                return (
                    with_id(QObj::dict([("return", QObj::Dict(Vec::new()))])),
                    None,
                );
            }
            return (with_id(error_response("GenericError", e)), None);
        }
        let (name, oob) = match req.get("execute") {
            Some(QObj::Str(s)) => (s.clone(), false),
            _ => match req.get("exec-oob") {
                Some(QObj::Str(s)) => (s.clone(), true),
                _ => (String::new(), true),
            },
        };
        let args = match req.get("arguments") {
            Some(QObj::Dict(a)) => a.clone(),
            _ => Vec::new(),
        };
        let in_negotiation = !self.negotiated && !self.cfg.has(Fault::NoNegotiation);
        let outcome = self.run(&name, oob, args, in_negotiation);
        let rsp = match outcome {
            Ok(ret) => QObj::dict([("return", ret)]),
            Err((class, mut desc)) => {
                // monitor_qmp_dispatch: in negotiation mode, CommandNotFound gets a more
                // useful text (unless this very command ended negotiation).
                if in_negotiation && !self.negotiated && class == "CommandNotFound" {
                    desc = "Expecting capabilities negotiation with 'qmp_capabilities'".into();
                }
                error_response(class, desc)
            }
        };
        (with_id(rsp), Some(name))
    }

    fn run(&mut self, name: &str, oob: bool, args: Vec<(String, QObj)>, neg: bool) -> Outcome {
        let schema = Arc::clone(&self.cfg.schema);
        let info = if neg && name != "qmp_capabilities" {
            None
        } else {
            schema.command(name)
        };
        let Some(info) = info else {
            let class = if self.cfg.has(Fault::UnknownGeneric) && !neg {
                "GenericError"
            } else {
                "CommandNotFound"
            };
            return Err((class, format!("The command {name} has not been found")));
        };
        if oob && !info.allow_oob && !self.cfg.has(Fault::OobAny) {
            return Err((
                "GenericError",
                format!("The command {name} does not support OOB"),
            ));
        }
        if !self.cfg.has(Fault::NoArgCheck) {
            let mut v = QObj::Dict(args.clone()).to_value();
            if name == "qmp_capabilities" {
                unknown_capabilities_pass(&self.cfg, &mut v);
            }
            let map = v.as_object();
            let given = map.filter(|m| !m.is_empty());
            schema
                .check_arguments(name, given)
                .map_err(|e| ("GenericError", e.to_string()))?;
        }
        if self.cfg.has(Fault::PickyStrings) {
            let picky = args
                .iter()
                .find(|(_, v)| matches!(v, QObj::Str(s) if s.bytes().any(|b| b.is_ascii_digit())));
            if let Some((k, _)) = picky {
                let desc = format!("Invalid parameter type for '{k}', expected: string");
                return Err(("GenericError", desc));
            }
        }
        commands::run(self, info.name.as_str(), &info.ret_type, &args)
    }

    /// Emit an event (dropped in negotiation mode, as QEMU does, unless a fault says so).
    pub(crate) fn event(&mut self, name: &str, data: Option<QObj>) {
        if self.cfg.schema.event(name).is_none() {
            return;
        }
        let command_mode = self.negotiated || self.cfg.has(Fault::NoNegotiation);
        if !command_mode && !self.cfg.has(Fault::EarlyEvents) {
            return;
        }
        let (seconds, microseconds) = (self.cfg.clock)();
        let mut ev = QObj::Dict(Vec::new());
        ev.put("event", QObj::str(name));
        if !self.cfg.has(Fault::BadEvent) {
            ev.put(
                "timestamp",
                QObj::dict([
                    ("seconds", QObj::Int(seconds)),
                    ("microseconds", QObj::Int(microseconds)),
                ]),
            );
        }
        if let Some(d) = data {
            ev.put("data", d);
        }
        self.write_msg(&ev);
    }

    /// `early-events`: an event in negotiation mode.
    fn early_event(&mut self) {
        let schema = Arc::clone(&self.cfg.schema);
        let name = if schema.event("RESUME").is_some() {
            "RESUME".to_string()
        } else {
            match schema.events().next() {
                Some(e) => e.name.clone(),
                None => return,
            }
        };
        let data = schema
            .event(&name)
            .map(|e| QObj::from_value(&schema.example_value(&e.arg_type)))
            .filter(|d| !matches!(d, QObj::Dict(m) if m.is_empty()));
        self.event(&name, data);
    }

    fn respond(&mut self, mut rsp: QObj, name: Option<&str>, command_mode: bool, oob: bool) {
        let cfg = Arc::clone(&self.cfg);
        let f = |x| cfg.has(x);
        if f(Fault::DropId) {
            rsp.remove("id");
        } else if f(Fault::InventId) && rsp.get("id").is_none() {
            rsp.put("id", QObj::str("qmpspec-invented"));
        }
        if f(Fault::WrongId) {
            if let Some(id) = rsp.get("id").cloned() {
                let wrong = match id {
                    QObj::Int(i) => QObj::Int(i.wrapping_add(1)),
                    QObj::Str(s) => QObj::Str(format!("{s}-wrong")),
                    other => QObj::List(vec![QObj::str("wrong"), other]),
                };
                rsp.put("id", wrong);
            }
        }
        if let Some(err) = rsp.get("error").cloned() {
            let mut err = err;
            if f(Fault::BadError) {
                err.remove("desc");
            }
            if f(Fault::InventedClass) {
                err.put("class", QObj::str("ProtocolError"));
            }
            rsp.put("error", err);
        } else if f(Fault::BadReturn) && name != Some("qmp_capabilities") {
            rsp.put("return", QObj::Null);
        }
        if command_mode {
            self.replies_in_command_mode += 1;
            if f(Fault::NoReply) && self.replies_in_command_mode % 2 == 1 {
                return;
            }
        }
        let mut bytes = self.encode(&rsp);
        if command_mode && f(Fault::EventInReply) && rsp.get("return").is_some() {
            let event = QObj::dict([
                (
                    "timestamp",
                    QObj::dict([("seconds", QObj::Int(0)), ("microseconds", QObj::Int(0))]),
                ),
                ("event", QObj::str("QMPSPEC_SPLICED")),
            ]);
            let half = bytes.len() / 2;
            let tail = bytes.split_off(half);
            bytes.extend(self.encode(&event));
            bytes.extend(tail);
        }
        if command_mode && f(Fault::DoubleReply) {
            bytes.extend_from_slice(&bytes.clone());
        }
        if self.stalled {
            return;
        }
        if command_mode && !oob && f(Fault::Reorder) {
            let more = !self.queue.is_empty()
                || self.input[self.in_pos..]
                    .iter()
                    .any(|b| !b" \t\r\n".contains(b));
            match self.held.take() {
                Some(h) => {
                    self.out.extend_from_slice(&bytes);
                    self.out.extend_from_slice(&h);
                }
                None if more && !self.closing => self.held = Some(bytes),
                None => self.out.extend_from_slice(&bytes),
            }
            return;
        }
        self.out.extend_from_slice(&bytes);
    }

    fn encode(&self, msg: &QObj) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(64);
        encode_into(&self.cfg, msg, &mut bytes);
        bytes
    }

    fn write_msg(&mut self, msg: &QObj) {
        if self.stalled {
            return;
        }
        encode_into(&self.cfg, msg, &mut self.out);
    }
}

/// The capability `unknown-capability` offers besides (and before) `oob`.
pub(crate) const UNKNOWN_CAPABILITY: &str = "x-future";

/// Append `msg` as this monitor writes it (ASCII unless `non-ascii`, CRLF unless `lf-only`,
/// reshaped by the variations the specification allows).
fn encode_into(cfg: &MonitorConfig, msg: &QObj, out: &mut Vec<u8>) {
    if let Some(bytes) = super::fault::vary(cfg.faults, msg) {
        out.extend_from_slice(&bytes);
        return;
    }
    msg.write(out, !cfg.has(Fault::NonAscii));
    out.extend_from_slice(if cfg.has(Fault::LfOnly) {
        b"\n"
    } else {
        b"\r\n"
    });
}

/// With `accept-unknown-cap` or `unknown-capability`, the capabilities `qmp_capabilities` is
/// asked to enable need not be values of QMPCapability: they are left out of the check.
fn unknown_capabilities_pass(cfg: &MonitorConfig, args: &mut serde_json::Value) {
    if !(cfg.has(Fault::AcceptUnknownCap) || cfg.has(Fault::UnknownCapability)) {
        return;
    }
    if let Some(serde_json::Value::Array(caps)) = args.get_mut("enable") {
        caps.retain(|c| c == "oob");
    }
}

/// QEMU's `qmp_error_response`.
fn error_response(class: &str, desc: String) -> QObj {
    QObj::dict([(
        "error",
        QObj::dict([("class", QObj::str(class)), ("desc", QObj::Str(desc))]),
    )])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(cfg: MonitorConfig, input: &[u8]) -> String {
        let mut m = Monitor::new(Arc::new(cfg.with_clock(Arc::new(|| (5, 6)))));
        let mut out = m.take_output();
        out.extend(m.feed(input));
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn without_oob_offered_enable_is_refused_with_qemus_text() {
        let mut cfg = MonitorConfig::new(&[], None);
        cfg.offer_oob = false;
        let out = session(
            cfg,
            b"{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[\"oob\",\"oob\"]}}\n\
              {\"execute\":\"qmp_capabilities\"}\n{\"exec-oob\":\"query-yank\",\"id\":1}\n",
        );
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[0].ends_with("\"capabilities\": []}}"), "{}", lines[0]);
        assert_eq!(
            lines[1],
            "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Capability oob, oob not available\"}}"
        );
        assert_eq!(lines[2], "{\"return\": {}}");
        // oob was not enabled: exec-oob is an unexpected member.
        assert_eq!(
            lines[3],
            "{\"id\": 1, \"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input member 'exec-oob' is unexpected\"}}"
        );
    }

    #[test]
    fn events_carry_the_clock_and_skip_negotiation_mode() {
        let out = session(
            MonitorConfig::new(&[], None),
            b"{\"execute\":\"stop\"}\n{\"execute\":\"qmp_capabilities\"}\n{\"execute\":\"stop\"}\n",
        );
        assert_eq!(out.matches("\"event\"").count(), 1, "{out}");
        assert!(out.contains(
            "{\"timestamp\": {\"seconds\": 5, \"microseconds\": 6}, \"event\": \"STOP\"}\r\n"
        ));
    }

    #[test]
    fn in_band_queue_holds_eight_with_oob_and_oob_overtakes() {
        let mut input = Vec::new();
        for i in 1..=9 {
            input.extend(format!("{{\"execute\":\"query-name\",\"id\":{i}}}\n").bytes());
        }
        input.extend(b"{\"exec-oob\":\"query-yank\",\"id\":\"oob\"}\n");
        let ids = |out: &str| -> Vec<String> {
            out.lines()
                .filter_map(|l| l.split("\"id\": ").nth(1))
                .map(|s| s.split([',', '}']).next().unwrap_or("").to_string())
                .collect()
        };
        // With oob: eight queued, one dispatched, the ninth queued, one more dispatched,
        // then the exec-oob runs at once, ahead of the seven still queued.
        let mut neg =
            b"{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[\"oob\"]}}\n".to_vec();
        neg.extend(&input);
        let out = session(MonitorConfig::new(&[], None), &neg);
        assert_eq!(
            ids(&out),
            ["1", "2", "\"oob\"", "3", "4", "5", "6", "7", "8", "9"]
        );
        // Without oob, one request at a time: everything in order.
        let mut neg = b"{\"execute\":\"qmp_capabilities\"}\n".to_vec();
        neg.extend(&input);
        let out = session(MonitorConfig::new(&[], None), &neg);
        assert_eq!(
            ids(&out),
            ["1", "2", "3", "4", "5", "6", "7", "8", "9", "\"oob\""]
        );
    }
}
