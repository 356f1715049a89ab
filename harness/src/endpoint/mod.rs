//! Endpoints: where a QMP server lives and how to reach it. This is the only part of qmpspec
//! that touches sockets and processes.
//!
//! A [`Target`] opens a fresh [`Connection`] (or process) for every check, so one check's
//! damage never leaks into the next. A connection records everything sent and received in a
//! [`Transcript`]. A [`Client`] drives the sans-IO [`ClientSession`] over a connection, with a
//! deadline on every wait.

mod transport;

pub use transport::{ProcessTransport, Transport};

use crate::message::{Command, Event, Greeting, Reply};
use crate::session::{ClientSession, InFlight, ReceivedFrame, SessionEvent, Violation};
use crate::wire::FrameError;
use std::fmt;
use std::io;
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use thiserror::Error;

/// QEMU with no machine, no default devices and no display: what `--qemu` runs (followed by
/// `-qmp stdio`), and what tests and benches start with a QMP socket of their own.
pub const QEMU_MACHINE_ARGS: &[&str] = &["-machine", "none", "-nodefaults", "-display", "none"];

/// Opens a transport to an in-process server (the emulated monitor, test servers).
pub type Connector = Arc<dyn Fn() -> io::Result<Box<dyn Transport>> + Send + Sync>;

/// Where the server under test is.
#[derive(Clone)]
pub enum Target {
    /// `unix:PATH`
    Unix(PathBuf),
    /// `tcp:HOST:PORT`
    Tcp(String),
    /// A program speaking QMP on stdin/stdout, started afresh for every connection.
    Spawn(Vec<String>),
    /// An in-process server.
    InProcess {
        description: String,
        connect: Connector,
    },
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.description())
    }
}

/// The user named a target that cannot be reached. Exit code 2.
#[derive(Debug, Error)]
#[error("{target}: {reason}")]
pub struct ConnectError {
    pub target: String,
    pub reason: String,
}

/// A target named in a way that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TargetError {
    #[error("unix: needs a socket path")]
    NoSocketPath,
    #[error("tcp:{0}: expected tcp:HOST:PORT")]
    NotHostPort(String),
    #[error("{0}: expected unix:PATH or tcp:HOST:PORT")]
    UnknownScheme(String),
    #[error("{0}")]
    Words(#[from] shell_words::ParseError),
    #[error("no program to run")]
    NoProgram,
}

impl Target {
    /// Parse `unix:PATH` or `tcp:HOST:PORT` (the `--connect` argument).
    pub fn parse_connect(s: &str) -> Result<Target, TargetError> {
        if let Some(p) = s.strip_prefix("unix:") {
            if p.is_empty() {
                return Err(TargetError::NoSocketPath);
            }
            Ok(Target::Unix(PathBuf::from(p)))
        } else if let Some(a) = s.strip_prefix("tcp:") {
            match a.rsplit_once(':') {
                Some((h, port)) if !h.is_empty() && port.parse::<u16>().is_ok() => {
                    Ok(Target::Tcp(a.to_string()))
                }
                _ => Err(TargetError::NotHostPort(a.to_string())),
            }
        } else {
            Err(TargetError::UnknownScheme(s.to_string()))
        }
    }

    /// Split a `--spawn` command line like a POSIX shell would (quotes, backslashes), without
    /// a shell and without expansions.
    pub fn parse_spawn(s: &str) -> Result<Target, TargetError> {
        let argv = shell_words::split(s)?;
        if argv.is_empty() {
            return Err(TargetError::NoProgram);
        }
        Ok(Target::Spawn(argv))
    }

    /// `--qemu [BINARY]`: QEMU with no machine, QMP on stdio.
    pub fn qemu(binary: Option<&str>) -> Target {
        let mut argv = vec![binary.unwrap_or("qemu-system-x86_64").to_string()];
        argv.extend(QEMU_MACHINE_ARGS.iter().map(|s| s.to_string()));
        argv.extend(["-qmp".to_string(), "stdio".to_string()]);
        Target::Spawn(argv)
    }

    /// Whether the target is a socket (`unix:`, `tcp:`): like QEMU's monitor socket, it may
    /// serve one client at a time, and a second connection waits until the first closes.
    pub fn is_socket(&self) -> bool {
        matches!(self, Target::Unix(_) | Target::Tcp(_))
    }

    /// A one-line description for reports.
    pub fn description(&self) -> String {
        match self {
            Target::Unix(p) => format!("unix:{}", p.display()),
            Target::Tcp(a) => format!("tcp:{a}"),
            Target::Spawn(argv) => format!("spawn:{}", argv.join(" ")),
            Target::InProcess { description, .. } => description.clone(),
        }
    }

    /// Open a fresh connection (or start a fresh process).
    pub fn connect(&self) -> Result<Connection, ConnectError> {
        let err = |e: io::Error| ConnectError {
            target: self.description(),
            reason: match e.kind() {
                io::ErrorKind::NotFound => match self {
                    Target::Spawn(argv) => format!("program {} not found", argv[0]),
                    _ => "no such socket".into(),
                },
                io::ErrorKind::ConnectionRefused => "connection refused".into(),
                io::ErrorKind::PermissionDenied => "permission denied".into(),
                _ => e.to_string(),
            },
        };
        let transport: Box<dyn Transport> = match self {
            Target::Unix(p) => Box::new(UnixStream::connect(p).map_err(err)?),
            Target::Tcp(a) => Box::new(tcp_connect(a).map_err(err)?),
            Target::Spawn(argv) => Box::new(ProcessTransport::spawn(argv).map_err(err)?),
            Target::InProcess { connect, .. } => connect().map_err(err)?,
        };
        Ok(Connection::new(transport))
    }
}

/// How long a TCP connection attempt may take (an unroutable host must not hang a run).
const TCP_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Connect to `HOST:PORT`, trying each address with a timeout.
fn tcp_connect(addr: &str) -> io::Result<TcpStream> {
    use std::net::ToSocketAddrs;
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
    for a in addr.to_socket_addrs()? {
        match TcpStream::connect_timeout(&a, TCP_CONNECT_TIMEOUT) {
            Ok(s) => return Ok(s),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Direction of a transcript entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    Send,
    Recv,
}

impl Dir {
    pub fn as_str(self) -> &'static str {
        match self {
            Dir::Send => "send",
            Dir::Recv => "recv",
        }
    }
}

/// One transcript entry: the exact bytes of one write or one read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub dir: Dir,
    /// Time since the connection opened.
    pub at: Duration,
    pub bytes: Vec<u8>,
}

/// Everything exchanged on one connection, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transcript {
    pub entries: Vec<Entry>,
}

impl Transcript {
    /// Bytes as text; invalid UTF-8 escaped, and what is not text but CR/LF/tab
    /// ([`crate::text::escape_controls`]).
    pub fn text(bytes: &[u8]) -> String {
        let mut out = String::with_capacity(bytes.len());
        for chunk in bytes.utf8_chunks() {
            out.push_str(&crate::text::escape_controls(
                chunk.valid(),
                &['\r', '\n', '\t'],
            ));
            for b in chunk.invalid() {
                out.push_str(&format!("\\x{b:02x}"));
            }
        }
        out
    }

    /// Entries merged so that consecutive reads (or writes) form one entry each, which is how
    /// people read a transcript.
    pub fn coalesced(&self) -> Vec<Entry> {
        let mut out: Vec<Entry> = Vec::new();
        for e in &self.entries {
            match out.last_mut() {
                Some(last) if last.dir == e.dir && e.dir == Dir::Recv => {
                    last.bytes.extend_from_slice(&e.bytes)
                }
                _ => out.push(e.clone()),
            }
        }
        out
    }
}

/// How waiting on the server ended, when it did not deliver.
#[derive(Debug, Clone, Error, PartialEq)]
pub enum Stall {
    #[error("no reply within {0:?}")]
    Timeout(Duration),
    #[error("the server closed the connection")]
    Closed,
    #[error("I/O error: {0}")]
    Io(String),
    #[error("the server sent more than {0} bytes without completing")]
    Flood(usize),
}

/// A wait that did not deliver, as people read it (in checks and fuzz findings alike): how
/// it ended, and what the peer said on stderr.
#[derive(Debug, Clone, PartialEq)]
pub struct Stalled {
    pub stall: Stall,
    /// The first line the peer printed on stderr, if any.
    pub stderr: Option<String>,
}

impl fmt::Display for Stalled {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match &self.stall {
            Stall::Timeout(d) => write!(f, "no answer within {} ms", d.as_millis())?,
            Stall::Closed => f.write_str("the endpoint closed the connection")?,
            other => write!(f, "{other}")?,
        }
        match &self.stderr {
            Some(l) => write!(f, " (stderr: {l})"),
            None => Ok(()),
        }
    }
}

impl std::error::Error for Stalled {}

/// A connection with a transcript. Every operation has a deadline.
pub struct Connection {
    transport: Box<dyn Transport>,
    transcript: Transcript,
    opened: Instant,
    eof: bool,
}

impl Connection {
    pub fn new(transport: Box<dyn Transport>) -> Self {
        Connection {
            transport,
            transcript: Transcript::default(),
            opened: Instant::now(),
            eof: false,
        }
    }

    /// Send bytes (recorded in the transcript).
    pub fn send(&mut self, bytes: &[u8], timeout: Duration) -> Result<(), Stall> {
        self.transcript.entries.push(Entry {
            dir: Dir::Send,
            at: self.opened.elapsed(),
            bytes: bytes.to_vec(),
        });
        self.transport
            .write_all(bytes, Instant::now() + timeout)
            .map_err(|e| match e.kind() {
                io::ErrorKind::TimedOut => Stall::Timeout(timeout),
                io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset => Stall::Closed,
                _ => Stall::Io(e.to_string()),
            })
    }

    /// Receive what arrives before `deadline`; an empty vector means end of stream.
    pub fn recv(&mut self, deadline: Instant) -> Result<Vec<u8>, Stall> {
        if self.eof {
            return Ok(Vec::new());
        }
        let mut buf = vec![0u8; 64 * 1024];
        match self.transport.read(&mut buf, deadline) {
            Ok(0) => {
                self.eof = true;
                Ok(Vec::new())
            }
            Ok(n) => {
                buf.truncate(n);
                self.transcript.entries.push(Entry {
                    dir: Dir::Recv,
                    at: self.opened.elapsed(),
                    bytes: buf.clone(),
                });
                Ok(buf)
            }
            Err(e) if e.kind() == io::ErrorKind::TimedOut => Err(Stall::Timeout(
                deadline.saturating_duration_since(self.opened),
            )),
            Err(e) => Err(Stall::Io(e.to_string())),
        }
    }

    /// Close our sending half.
    pub fn shutdown_write(&mut self) {
        self.transport.shutdown_write();
    }

    /// True once the server closed its end.
    pub fn at_eof(&self) -> bool {
        self.eof
    }

    pub fn transcript(&self) -> &Transcript {
        &self.transcript
    }

    /// What the peer printed out of band (a process's stderr).
    pub fn diagnostics(&self) -> String {
        self.transport.diagnostics()
    }
}

/// A QMP client: a [`Connection`] driven by a [`ClientSession`]. It keeps every event and
/// violation the session reported, for the check to judge.
pub struct Client {
    conn: Connection,
    session: ClientSession,
    /// Every violation seen so far.
    violations: Vec<Violation>,
    /// Every asynchronous event received so far.
    events: Vec<Event>,
    /// Replies that arrived while nobody was waiting for them (oldest first).
    replies: Vec<(Option<InFlight>, Reply)>,
    greeting: Option<Greeting>,
    /// Cap on bytes received while waiting for one thing (a flooding server is a finding).
    max_wait_bytes: usize,
}

impl Client {
    /// Connect to `target`.
    pub fn connect(target: &Target) -> Result<Client, ConnectError> {
        Ok(Client::over(target.connect()?))
    }

    /// Wrap an open connection.
    pub fn over(conn: Connection) -> Client {
        Client {
            conn,
            session: ClientSession::new(),
            violations: Vec::new(),
            events: Vec::new(),
            replies: Vec::new(),
            greeting: None,
            max_wait_bytes: 256 << 20,
        }
    }

    fn absorb(&mut self) {
        while let Some(ev) = self.session.poll() {
            match ev {
                SessionEvent::Greeting(g) => {
                    if self.greeting.is_none() {
                        self.greeting = Some(g)
                    }
                }
                SessionEvent::Reply { command, reply } => self.replies.push((command, reply)),
                SessionEvent::Event(e) => self.events.push(e),
                SessionEvent::Violation(v) => self.violations.push(v),
                SessionEvent::Closed { .. } => {}
            }
        }
    }

    /// Read until `done` says so, the deadline passes, or the server closes.
    pub fn wait_until(
        &mut self,
        timeout: Duration,
        mut done: impl FnMut(&Client) -> bool,
    ) -> Result<(), Stall> {
        let deadline = Instant::now() + timeout;
        let mut received = 0usize;
        loop {
            self.absorb();
            if done(self) {
                return Ok(());
            }
            let bytes = match self.conn.recv(deadline) {
                Ok(b) => b,
                Err(Stall::Timeout(_)) => return Err(Stall::Timeout(timeout)),
                Err(e) => return Err(e),
            };
            if bytes.is_empty() {
                self.session.close();
                self.absorb();
                return if done(self) {
                    Ok(())
                } else {
                    Err(Stall::Closed)
                };
            }
            received += bytes.len();
            if received > self.max_wait_bytes {
                return Err(Stall::Flood(self.max_wait_bytes));
            }
            self.session.receive(&bytes);
        }
    }

    /// Wait for the greeting.
    pub fn greeting(&mut self, timeout: Duration) -> Result<Greeting, Stall> {
        self.wait_until(timeout, |c| c.greeting.is_some())?;
        Ok(self.greeting.clone().expect("waited for it"))
    }

    /// The greeting, if it arrived.
    pub fn greeting_seen(&self) -> Option<&Greeting> {
        self.greeting.as_ref()
    }

    /// Send a command without waiting.
    pub fn send(&mut self, cmd: Command, timeout: Duration) -> Result<(), Stall> {
        let bytes = self.session.send(cmd);
        self.conn.send(&bytes, timeout)
    }

    /// Send every command in one write (pipelined), without waiting.
    pub fn send_all(&mut self, cmds: &[Command], timeout: Duration) -> Result<(), Stall> {
        let mut bytes = Vec::new();
        for c in cmds {
            bytes.extend(self.session.send(c.clone()));
        }
        self.conn.send(&bytes, timeout)
    }

    /// Send bytes that continue earlier raw input: they draw no reply of their own.
    pub fn send_more(&mut self, bytes: &[u8], timeout: Duration) -> Result<(), Stall> {
        self.conn.send(bytes, timeout)
    }

    /// Count on `replies` more replies of any shape, to raw input sent (or about to be sent)
    /// with [`Client::send_more`].
    pub fn expect_raw_replies(&mut self, replies: usize) {
        self.session.send_raw(replies);
    }

    /// Forget every command still waiting for a reply (after input whose replies are not
    /// all expected to come).
    pub fn forget_in_flight(&mut self) -> Vec<InFlight> {
        self.session.forget_in_flight()
    }

    /// Send raw bytes that should draw `replies` replies of any shape.
    pub fn send_raw(
        &mut self,
        bytes: &[u8],
        replies: usize,
        timeout: Duration,
    ) -> Result<(), Stall> {
        self.session.send_raw(replies);
        self.conn.send(bytes, timeout)
    }

    /// Send a command and wait for its reply.
    pub fn execute(&mut self, cmd: Command, timeout: Duration) -> Result<Reply, Stall> {
        let mark = self.replies.len();
        let want_id = cmd.id.clone();
        let name = cmd.name.clone();
        self.send(cmd, timeout)?;
        let matches = move |c: &Option<InFlight>| {
            c.as_ref()
                .and_then(|f| f.command.as_ref())
                .is_some_and(|x| x.name == name && x.id == want_id)
        };
        self.wait_until(timeout, |c| {
            c.replies[mark..].iter().any(|(f, _)| matches(f))
        })?;
        let pos = mark
            + self.replies[mark..]
                .iter()
                .position(|(f, _)| matches(f))
                .expect("waited");
        Ok(self.replies.remove(pos).1)
    }

    /// Wait for the greeting, then negotiate, enabling `enable`.
    pub fn handshake(&mut self, enable: &[&str], timeout: Duration) -> Result<Reply, Stall> {
        self.greeting(timeout)?;
        let mut cmd = Command::new("qmp_capabilities");
        if !enable.is_empty() {
            cmd = cmd.arg(
                "enable",
                enable.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            );
        }
        self.execute(cmd, timeout)
    }

    /// Wait until `n` replies are waiting in [`Client::take_replies`].
    pub fn wait_replies(&mut self, n: usize, timeout: Duration) -> Result<(), Stall> {
        self.wait_until(timeout, |c| c.replies.len() >= n)
    }

    /// Replies received and not yet taken (oldest first).
    pub fn pending_replies(&self) -> &[(Option<InFlight>, Reply)] {
        &self.replies
    }

    /// Take every reply received and not yet taken.
    pub fn take_replies(&mut self) -> Vec<(Option<InFlight>, Reply)> {
        std::mem::take(&mut self.replies)
    }

    /// Wait (up to `timeout`) for the server to close the connection.
    pub fn wait_closed(&mut self, timeout: Duration) -> Result<(), Stall> {
        self.wait_until(timeout, |c| c.conn.at_eof())
    }

    pub fn transcript(&self) -> &Transcript {
        self.conn.transcript()
    }

    /// The session state machine (its phase, what is in flight, whether oob is on).
    pub fn session(&self) -> &ClientSession {
        &self.session
    }

    /// Every violation the session reported so far.
    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }

    /// Every asynchronous event received so far.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// Everything the server sent, as the session's framer cut it.
    pub fn frames(&self) -> Vec<Result<ReceivedFrame, FrameError>> {
        self.session.frames()
    }

    /// True once the server closed its end.
    pub fn at_eof(&self) -> bool {
        self.conn.at_eof()
    }

    /// Close our sending half (the server sees end of input).
    pub fn shutdown_write(&mut self) {
        self.conn.shutdown_write();
    }

    /// What the server printed out of band (a process's stderr).
    pub fn diagnostics(&self) -> String {
        self.conn.diagnostics()
    }

    /// A wait that ended in `stall`, with the first line the peer printed on stderr (a
    /// process that died usually says why).
    pub fn stalled(&self, stall: Stall) -> Stalled {
        let diag = self.diagnostics();
        let stderr = diag
            .lines()
            .find(|l| !l.trim().is_empty())
            .map(str::to_string);
        Stalled { stall, stderr }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spawn_splits_like_a_shell() {
        let t =
            Target::parse_spawn(r#"qemu-storage-daemon --chardev stdio,id=m  'a b' "c\"d" e\ f"#);
        let Ok(Target::Spawn(argv)) = t else {
            panic!("{t:?}")
        };
        assert_eq!(
            argv,
            [
                "qemu-storage-daemon",
                "--chardev",
                "stdio,id=m",
                "a b",
                "c\"d",
                "e f"
            ]
        );
        assert!(Target::parse_spawn("'open").is_err());
        assert!(matches!(
            Target::parse_spawn("  "),
            Err(TargetError::NoProgram)
        ));
    }

    #[test]
    fn connect_targets_parse() {
        assert!(Target::parse_connect("unix:/tmp/x").is_ok());
        assert!(Target::parse_connect("tcp:127.0.0.1:4444").is_ok());
        assert!(Target::parse_connect("tcp:127.0.0.1").is_err());
        assert!(Target::parse_connect("/tmp/x").is_err());
    }

    #[test]
    fn missing_socket_and_program_are_clear_errors() {
        let e = Target::Unix("/nonexistent/qmp.sock".into())
            .connect()
            .err()
            .unwrap();
        assert_eq!(e.to_string(), "unix:/nonexistent/qmp.sock: no such socket");
        let e = Target::parse_spawn("no-such-program-qmpspec")
            .unwrap()
            .connect()
            .err()
            .unwrap();
        assert!(
            e.to_string()
                .contains("program no-such-program-qmpspec not found"),
            "{e}"
        );
    }

    #[test]
    fn transcript_text_escapes() {
        assert_eq!(Transcript::text(b"a\x01\xff\r\n"), "a\\u{1}\\xff\r\n");
    }

    #[test]
    fn silent_process_times_out_and_is_reaped() {
        let target = Target::parse_spawn("sleep 30").unwrap();
        let mut c = Client::connect(&target).unwrap();
        let t = Instant::now();
        let r = c.greeting(Duration::from_millis(200));
        assert_eq!(r.unwrap_err(), Stall::Timeout(Duration::from_millis(200)));
        assert!(t.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn process_that_exits_is_closed() {
        let target = Target::parse_spawn("true").unwrap();
        let mut c = Client::connect(&target).unwrap();
        assert_eq!(
            c.greeting(Duration::from_secs(5)).unwrap_err(),
            Stall::Closed
        );
    }
}
