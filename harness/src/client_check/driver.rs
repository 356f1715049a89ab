//! The I/O side of `check-client`: sockets, the client's process, deadlines. Everything here
//! is bounded: every wait ends at the scenario's deadline, a client still running then is
//! killed with its whole process group, and a connection still open is closed.

use super::observe::ConnLog;
use super::scenario::Scenario;
use super::server::ScenarioServer;
use super::verdict::{ClientRun, Ended, ScenarioRun};
use crate::monitor::serve::{bind_tcp, bind_unix, ServeError};
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How often the driver looks for a new connection or the client's exit.
const POLL: Duration = Duration::from_millis(5);
/// Connections a scenario serves at most (a client reconnecting in a loop is cut off).
const MAX_CONNECTIONS: usize = 16;
/// Output kept of a client's stdout and of its stderr.
const OUTPUT_KEEP: usize = 4 << 20;

/// Where the client finds the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    Unix(PathBuf),
    /// `HOST:PORT`.
    Tcp(String),
}

/// A socket a scenario's connections run on.
trait Conn: Read + Write + Send {
    fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()>;
    fn set_write_timeout(&self, t: Option<Duration>) -> io::Result<()>;
    fn close(&self);
}

macro_rules! conn {
    ($t:ty) => {
        impl Conn for $t {
            fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
                <$t>::set_read_timeout(self, t)
            }
            fn set_write_timeout(&self, t: Option<Duration>) -> io::Result<()> {
                <$t>::set_write_timeout(self, t)
            }
            fn close(&self) {
                let _ = self.shutdown(std::net::Shutdown::Both);
            }
        }
    };
}
conn!(UnixStream);
conn!(TcpStream);

/// An address for `--listen` that cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    #[error("unix: needs a socket path")]
    NoSocketPath,
    #[error("{0}: expected unix:PATH or tcp:ADDR")]
    UnknownScheme(String),
    #[error(transparent)]
    Bind(#[from] ServeError),
}

/// A `--spawn` command line (or its `--stdin`) that cannot start a client.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    #[error("--spawn: {0}")]
    Words(#[from] shell_words::ParseError),
    #[error("--spawn needs a client command line")]
    Empty,
    #[error(
        "--spawn: the command line must say where the server's address goes, with {{socket}} \
         (a unix socket path) or with {{addr}} (HOST:PORT; also {{host}}, {{port}}), not both: \
         {0}"
    )]
    NoAddress(String),
    #[error("--spawn: program {0} not found")]
    NoProgram(String),
    #[error("--stdin {}: no such file", .0.display())]
    NoStdin(PathBuf),
}

/// A listening socket.
pub enum Listener {
    Unix(UnixListener, PathBuf),
    Tcp(TcpListener),
}

impl Listener {
    /// Bind `unix:PATH` or `tcp:ADDR` (`--listen`).
    pub fn bind(spec: &str) -> Result<Listener, ListenError> {
        if let Some(p) = spec.strip_prefix("unix:") {
            if p.is_empty() {
                return Err(ListenError::NoSocketPath);
            }
            let path = PathBuf::from(p);
            return Ok(Listener::Unix(bind_unix(&path)?, path));
        }
        if let Some(a) = spec.strip_prefix("tcp:") {
            return Ok(Listener::Tcp(bind_tcp(a)?));
        }
        Err(ListenError::UnknownScheme(spec.to_string()))
    }

    /// A fresh unix socket in `dir`.
    fn unix_in(dir: &Path, name: &str) -> io::Result<Listener> {
        let path = dir.join(name);
        Ok(Listener::Unix(UnixListener::bind(&path)?, path))
    }

    fn tcp_loopback() -> io::Result<Listener> {
        Ok(Listener::Tcp(TcpListener::bind(("127.0.0.1", 0))?))
    }

    /// Where clients connect.
    pub fn address(&self) -> Address {
        match self {
            Listener::Unix(_, p) => Address::Unix(p.clone()),
            Listener::Tcp(l) => Address::Tcp(
                l.local_addr()
                    .map_or_else(|_| "127.0.0.1:0".into(), |a| a.to_string()),
            ),
        }
    }

    /// `unix:PATH` or `tcp:HOST:PORT`.
    pub fn describe(&self) -> String {
        match self.address() {
            Address::Unix(p) => format!("unix:{}", p.display()),
            Address::Tcp(a) => format!("tcp:{a}"),
        }
    }

    fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        match self {
            Listener::Unix(l, _) => l.set_nonblocking(on),
            Listener::Tcp(l) => l.set_nonblocking(on),
        }
    }

    /// A connection, if one is waiting (the listener is non-blocking).
    fn try_accept(&self) -> io::Result<Option<Box<dyn Conn>>> {
        let r: io::Result<Box<dyn Conn>> = match self {
            Listener::Unix(l, _) => l.accept().and_then(|(s, _)| {
                s.set_nonblocking(false)?;
                Ok(Box::new(s) as Box<dyn Conn>)
            }),
            Listener::Tcp(l) => l.accept().and_then(|(s, _)| {
                s.set_nonblocking(false)?;
                let _ = s.set_nodelay(true);
                Ok(Box::new(s) as Box<dyn Conn>)
            }),
        };
        match r {
            Ok(c) => Ok(Some(c)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Wait for a connection until `deadline`.
    fn accept_until(&self, deadline: Instant) -> io::Result<Option<Box<dyn Conn>>> {
        self.set_nonblocking(true)?;
        loop {
            if let Some(c) = self.try_accept()? {
                return Ok(Some(c));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            thread::sleep(POLL);
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Listener::Unix(_, p) = self {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Serve one connection until it is over or `deadline` passes; `idle`: end when nothing is
/// due and the client has been silent this long (clients started by hand).
fn serve(
    mut conn: Box<dyn Conn>,
    behaviour: super::scenario::Behaviour,
    index: usize,
    epoch: Instant,
    deadline: Instant,
    idle: Option<Duration>,
) -> ConnLog {
    let mut server = ScenarioServer::new(behaviour, index, epoch, Instant::now());
    let mut buf = vec![0u8; 64 * 1024];
    let mut eof = false;
    let mut last_input = Instant::now();
    loop {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        while let Some(piece) = server.poll_write(now) {
            let _ = conn.set_write_timeout(Some(deadline.saturating_duration_since(now).max(POLL)));
            if conn.write_all(&piece).and_then(|_| conn.flush()).is_err() {
                server.write_failed(Instant::now());
                break;
            }
        }
        let now = Instant::now();
        if server.should_close(now) {
            break;
        }
        let mut wake = server.next_wakeup().unwrap_or(deadline).min(deadline);
        if let Some(idle) = idle {
            if server.next_wakeup().is_none() && now >= last_input + idle {
                break;
            }
            wake = wake.min(last_input + idle);
        }
        let wait = wake
            .saturating_duration_since(now)
            .max(Duration::from_millis(1));
        if eof {
            thread::sleep(wait.min(Duration::from_millis(50)));
            continue;
        }
        let _ = conn.set_read_timeout(Some(wait));
        match conn.read(&mut buf) {
            Ok(0) => {
                eof = true;
                server.client_closed(Instant::now());
            }
            Ok(n) => {
                last_input = Instant::now();
                server.receive(&buf[..n], last_input);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) => {}
            Err(_) => {
                eof = true;
                server.client_closed(Instant::now());
            }
        }
    }
    conn.close();
    let now = Instant::now();
    server.write_failed(now);
    server.into_log()
}

/// How `--spawn` starts the client.
#[derive(Debug, Clone)]
pub struct SpawnSpec {
    /// The command line, split, with placeholders.
    pub argv: Vec<String>,
    /// Serve on TCP (the command line names `{addr}`, `{host}` or `{port}`) or on a unix
    /// socket (`{socket}`).
    pub tcp: bool,
    /// The client's standard input.
    pub stdin: Option<PathBuf>,
}

/// The placeholders a `--spawn` command line may hold.
pub const PLACEHOLDERS: [&str; 4] = ["{socket}", "{addr}", "{host}", "{port}"];

impl SpawnSpec {
    /// Parse a `--spawn` command line: it must name where the address goes.
    pub fn parse(cmd: &str, stdin: Option<PathBuf>) -> Result<SpawnSpec, SpawnError> {
        let argv = shell_words::split(cmd)?;
        if argv.is_empty() {
            return Err(SpawnError::Empty);
        }
        let has = |p: &str| argv.iter().any(|w| w.contains(p));
        let unix = has("{socket}");
        let tcp = has("{addr}") || has("{host}") || has("{port}");
        if unix == tcp {
            return Err(SpawnError::NoAddress(cmd.to_string()));
        }
        if !program_exists(&argv[0]) {
            return Err(SpawnError::NoProgram(argv[0].clone()));
        }
        if let Some(f) = &stdin {
            if !f.is_file() {
                return Err(SpawnError::NoStdin(f.clone()));
            }
        }
        Ok(SpawnSpec { argv, tcp, stdin })
    }

    /// The command line with the address filled in.
    pub fn argv_for(&self, addr: &Address) -> Vec<String> {
        let (socket, host, port) = match addr {
            Address::Unix(p) => (p.display().to_string(), String::new(), String::new()),
            Address::Tcp(a) => {
                let (h, p) = a.rsplit_once(':').unwrap_or((a, ""));
                (String::new(), h.to_string(), p.to_string())
            }
        };
        let full = match addr {
            Address::Tcp(a) => a.clone(),
            Address::Unix(_) => String::new(),
        };
        self.argv
            .iter()
            .map(|w| {
                w.replace("{socket}", &socket)
                    .replace("{addr}", &full)
                    .replace("{host}", &host)
                    .replace("{port}", &port)
            })
            .collect()
    }
}

fn program_exists(program: &str) -> bool {
    if program.contains('/') {
        return Path::new(program).is_file();
    }
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
}

/// A scratch directory for the unix sockets of a run, removed on drop.
pub struct RunDir(pub PathBuf);

impl RunDir {
    pub fn new() -> io::Result<RunDir> {
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "qmpspec-client-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&p)?;
        Ok(RunDir(p))
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A client process in its own process group; the group is killed on drop.
struct ClientProcess {
    child: Child,
    /// The client has been waited for: its pid (and so its group id) may be reused, and
    /// nothing is signalled any more.
    reaped: bool,
    stdout: Output,
    stderr: Output,
}

/// A pipe read to its end by a thread, capped at [`OUTPUT_KEEP`].
struct Output {
    text: Arc<Mutex<Vec<u8>>>,
    done: mpsc::Receiver<()>,
}

impl Output {
    fn read_from(mut r: impl Read + Send + 'static) -> Output {
        let text = Arc::new(Mutex::new(Vec::new()));
        let keep = Arc::clone(&text);
        let (tx, done) = mpsc::channel();
        let _ = thread::Builder::new()
            .name("qmpspec-client-output".into())
            .spawn(move || {
                let mut buf = [0u8; 8192];
                loop {
                    match r.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            let mut k = keep.lock().unwrap_or_else(|p| p.into_inner());
                            let room = OUTPUT_KEEP.saturating_sub(k.len());
                            k.extend_from_slice(&buf[..n.min(room)]);
                        }
                    }
                }
                let _ = tx.send(());
            });
        Output { text, done }
    }

    /// What was read, once the pipe closed or `wait` passed.
    fn take(&self, wait: Duration) -> String {
        let _ = self.done.recv_timeout(wait);
        let k = self.text.lock().unwrap_or_else(|p| p.into_inner());
        String::from_utf8_lossy(&k).into_owned()
    }
}

impl ClientProcess {
    fn start(argv: &[String], stdin: Option<&Path>) -> io::Result<ClientProcess> {
        let input = match stdin {
            Some(f) => Stdio::from(std::fs::File::open(f)?),
            None => Stdio::null(),
        };
        let mut child = Command::new(&argv[0])
            .args(&argv[1..])
            .stdin(input)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()?;
        let stdout = Output::read_from(child.stdout.take().expect("piped"));
        let stderr = Output::read_from(child.stderr.take().expect("piped"));
        Ok(ClientProcess {
            child,
            reaped: false,
            stdout,
            stderr,
        })
    }

    /// How the client ended, once it has: everything it started is killed first, while
    /// the client, not yet waited for, still holds its group id.
    fn poll_exit(&mut self) -> Option<Ended> {
        let pid = self.child.id() as libc::id_t;
        // SAFETY: an all-zero siginfo_t is a valid value for waitid(2) to fill in.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: waitid(2) on our own child with WNOWAIT leaves it unreaped; `info` is a
        // valid, writable siginfo_t.
        let r = unsafe {
            libc::waitid(
                libc::P_PID,
                pid,
                &mut info,
                libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
            )
        };
        // SAFETY: waitid filled `info` (si_pid is 0 when the child has not exited yet).
        if r != 0 || unsafe { info.si_pid() } == 0 {
            return None;
        }
        self.kill_group();
        self.reaped = true;
        Some(match self.child.wait() {
            Ok(status) => match (status.code(), status.signal()) {
                (Some(c), _) => Ended::Exited(c),
                (None, Some(s)) => Ended::Signal(s),
                _ => Ended::Exited(-1),
            },
            Err(e) => Ended::NotStarted(e.to_string()),
        })
    }

    /// Kill the client and everything it started (its process group), unless the client
    /// was already waited for.
    fn kill_group(&mut self) {
        if self.reaped {
            return;
        }
        let pgid = self.child.id() as libc::pid_t;
        // SAFETY: kill(2) with a negative pid signals the process group this client leads
        // (the client is not reaped, so the group id is still its own); no pointers.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
    }

    /// Kill everything and wait for the client.
    fn kill_and_reap(&mut self) {
        self.kill_group();
        if !self.reaped {
            self.reaped = true;
            let _ = self.child.wait();
        }
    }
}

impl Drop for ClientProcess {
    fn drop(&mut self) {
        self.kill_and_reap();
    }
}

/// Run one scenario with a spawned client: serve a fresh socket, start the client with its
/// address, serve every connection it opens, until it exits or the deadline passes.
pub fn run_spawned(
    scenario: &'static Scenario,
    spec: &SpawnSpec,
    dir: &Path,
    timeout: Duration,
) -> ScenarioRun {
    let epoch = Instant::now();
    let deadline = epoch + timeout;
    let listener = if spec.tcp {
        Listener::tcp_loopback()
    } else {
        Listener::unix_in(dir, &format!("{}.sock", scenario.id))
    };
    let mut run = ScenarioRun::new(scenario);
    let listener = match listener.and_then(|l| l.set_nonblocking(true).map(|_| l)) {
        Ok(l) => l,
        Err(e) => {
            run.no_connection = Some(format!("cannot listen: {e}"));
            return run;
        }
    };
    let argv = spec.argv_for(&listener.address());
    let mut proc = match ClientProcess::start(&argv, spec.stdin.as_deref()) {
        Ok(p) => p,
        Err(e) => {
            run.client = Some(ClientRun {
                argv,
                ended: Ended::NotStarted(e.to_string()),
                stdout: String::new(),
                stderr: String::new(),
            });
            run.no_connection = Some("it did not start".into());
            return run;
        }
    };
    let mut conns: Vec<thread::JoinHandle<ConnLog>> = Vec::new();
    let behaviour = scenario.behaviour;
    let ended = loop {
        let now = Instant::now();
        if now >= deadline {
            break Ended::Killed(timeout);
        }
        if conns.len() < MAX_CONNECTIONS {
            if let Ok(Some(c)) = listener.try_accept() {
                let index = conns.len();
                if let Ok(h) = thread::Builder::new()
                    .name("qmpspec-client-conn".into())
                    .spawn(move || serve(c, behaviour, index, epoch, deadline, None))
                {
                    conns.push(h);
                }
                continue;
            }
        }
        match proc.poll_exit() {
            Some(ended) => break ended,
            None => thread::sleep(POLL),
        }
    };
    // A client that exited closed its sockets; one that was killed has them closed now.
    proc.kill_and_reap();
    for h in conns {
        if let Ok(log) = h.join() {
            run.conns.push(log);
        }
    }
    if run.conns.is_empty() {
        run.no_connection = Some(format!("the client ended: {}", ended.describe()));
    }
    run.client = Some(ClientRun {
        argv,
        ended,
        stdout: proc.stdout.take(Duration::from_millis(500)),
        stderr: proc.stderr.take(Duration::from_millis(500)),
    });
    run.duration = epoch.elapsed();
    run
}

/// Run one scenario on the next connection to `listener` (a client started by hand): it
/// ends when the client hangs up, has been silent for `idle` with nothing due to it, or at
/// the deadline.
pub fn run_listening(
    scenario: &'static Scenario,
    listener: &Listener,
    timeout: Duration,
    idle: Duration,
) -> ScenarioRun {
    let epoch = Instant::now();
    let mut run = ScenarioRun::new(scenario);
    match listener.accept_until(epoch + timeout) {
        Ok(Some(c)) => {
            let start = Instant::now();
            run.conns.push(serve(
                c,
                scenario.behaviour,
                0,
                start,
                start + timeout,
                Some(idle),
            ));
        }
        Ok(None) => {
            run.no_connection = Some(format!(
                "no connection within {:.1} s",
                timeout.as_secs_f64()
            ))
        }
        Err(e) => run.no_connection = Some(format!("accept: {e}")),
    }
    run.duration = epoch.elapsed();
    run
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spawn_command_lines_name_where_the_address_goes() {
        let s = SpawnSpec::parse("sh -c 'exec nc -U {socket}'", None).unwrap();
        assert!(!s.tcp);
        assert_eq!(
            s.argv_for(&Address::Unix("/tmp/a.sock".into())),
            ["sh", "-c", "exec nc -U /tmp/a.sock"]
        );
        let s = SpawnSpec::parse("sh {addr} {host} {port}", None).unwrap();
        assert!(s.tcp);
        assert_eq!(
            s.argv_for(&Address::Tcp("127.0.0.1:4444".into())),
            ["sh", "127.0.0.1:4444", "127.0.0.1", "4444"]
        );
        for bad in [
            "sh",
            "sh {socket} {addr}",
            "",
            "qmpspec-no-such-client {socket}",
        ] {
            assert!(SpawnSpec::parse(bad, None).is_err(), "{bad}");
        }
        assert!(SpawnSpec::parse("sh {socket}", Some("/nonexistent/in".into())).is_err());
    }

    #[test]
    fn listen_addresses() {
        assert!(Listener::bind("bogus").is_err());
        assert!(Listener::bind("unix:").is_err());
        assert!(Listener::bind("unix:/nonexistent/dir/x.sock").is_err());
        let l = Listener::bind("tcp:0").unwrap();
        assert!(l.describe().starts_with("tcp:127.0.0.1:"));
    }
}
