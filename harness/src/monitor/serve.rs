//! I/O adapters for the emulated monitor: `qmpspec serve --stdio | --unix PATH | --tcp ADDR`.
//!
//! Each connection gets its own [`Monitor`] session and one thread that reads, processes and
//! writes (reading only when there is nothing left to write, so a flooding client is held
//! back by the socket, not buffered without bound). Unix and TCP servers take many clients
//! at once; `quit` ends only its own session (with `--stdio` that is the whole server).

use super::fault::{list_faults, Fault};
use super::release::QemuRelease;
use super::server::{Chardev, Closed, Monitor, MonitorConfig};
use super::Schema;
use clap::{ArgGroup, Args};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// `qmpspec serve` arguments.
#[derive(Args, Debug, Clone, Default)]
#[command(group(ArgGroup::new("endpoint").args(["stdio", "unix", "tcp", "list_faults"]).required(true)))]
pub struct ServeArgs {
    /// Serve one session on stdin/stdout.
    #[arg(long)]
    pub stdio: bool,
    /// Listen on a unix socket at PATH (many clients at once).
    #[arg(long, value_name = "PATH")]
    pub unix: Option<PathBuf>,
    /// Listen on TCP: PORT or HOST:PORT (a bare port binds 127.0.0.1).
    #[arg(long, value_name = "ADDR")]
    pub tcp: Option<String>,
    /// A query-qmp-schema snapshot (JSON) to serve instead of the QEMU release's
    /// system-x86_64 one.
    #[arg(long, value_name = "FILE")]
    pub schema: Option<PathBuf>,
    /// Answer as this QEMU release: its schema (unless --schema), the version in the greeting
    /// and query-version, and its recorded answers to queries [default: 7.2]
    #[arg(long, value_name = "7.2|10.0")]
    pub qemu_version: Option<String>,
    /// Deviate from QEMU on purpose (repeatable; see --list-faults).
    #[arg(long = "fault", value_name = "NAME")]
    pub faults: Vec<String>,
    /// Print every fault: name, clause, description.
    #[arg(long)]
    pub list_faults: bool,
    /// Do not offer the oob capability.
    #[arg(long)]
    pub no_oob: bool,
}

/// Why the server could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Fault(#[from] super::fault::UnknownFault),
    #[error("--schema: {0}")]
    Schema(#[from] crate::schema::SchemaError),
    #[error("--qemu-version: {0}")]
    Release(#[from] super::UnknownRelease),
    /// Binding an address failed, for the reason given (`unix:PATH` or `tcp:ADDR`).
    #[error("{address}: {reason}")]
    Bind { address: String, reason: String },
    #[error("one of --stdio, --unix PATH, --tcp ADDR is needed")]
    NoEndpoint,
}

fn bind_error(address: String, reason: impl ToString) -> ServeError {
    ServeError::Bind {
        address,
        reason: reason.to_string(),
    }
}

/// Run `qmpspec serve` until it is done (`--stdio`: the session ended); `Err` when the
/// server could not be set up.
pub fn run(args: ServeArgs) -> Result<(), ServeError> {
    if args.list_faults {
        print!("{}", list_faults());
        return Ok(());
    }
    let cfg = Arc::new(config(&args)?);
    let socket = |filename: String| {
        let mut c = (*cfg).clone();
        c.chardev = Chardev::Socket { filename };
        Arc::new(c)
    };
    if args.stdio {
        serve_stdio(cfg)
    } else if let Some(path) = &args.unix {
        bind_unix(path).and_then(|l| {
            eprintln!("qmpspec serve: listening on unix:{}", path.display());
            serve_unix(l, socket(format!("unix:{},server=on", path.display())))
        })
    } else if let Some(addr) = &args.tcp {
        bind_tcp(addr).and_then(|l| {
            let a = l
                .local_addr()
                .map_err(|e| bind_error(format!("tcp:{addr}"), e))?;
            eprintln!("qmpspec serve: listening on tcp:{a}");
            serve_tcp(l, socket(format!("tcp:{a},server=on")))
        })
    } else {
        Err(ServeError::NoEndpoint)
    }
}

/// The session configuration the arguments describe.
pub fn config(args: &ServeArgs) -> Result<MonitorConfig, ServeError> {
    let faults = args
        .faults
        .iter()
        .map(|n| n.parse::<Fault>())
        .collect::<Result<Vec<_>, _>>()?;
    let schema = match &args.schema {
        Some(p) => Some(Arc::new(Schema::from_file(p)?)),
        None => None,
    };
    let release = match &args.qemu_version {
        Some(v) => v.parse::<QemuRelease>()?,
        None => QemuRelease::default(),
    };
    let mut cfg = MonitorConfig::for_release(release, &faults, schema);
    cfg.offer_oob = !args.no_oob;
    Ok(cfg)
}

/// Bind a unix socket; a stale socket file (nobody listening) is replaced.
pub fn bind_unix(path: &Path) -> Result<UnixListener, ServeError> {
    let fail =
        |reason: &dyn std::fmt::Display| bind_error(format!("unix:{}", path.display()), reason);
    match UnixListener::bind(path) {
        Ok(l) => Ok(l),
        Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
            if UnixStream::connect(path).is_ok() {
                return Err(fail(&"address in use"));
            }
            let is_socket = std::fs::symlink_metadata(path).is_ok_and(|m| {
                use std::os::unix::fs::FileTypeExt;
                m.file_type().is_socket()
            });
            if !is_socket {
                return Err(fail(&"exists and is not a socket"));
            }
            std::fs::remove_file(path).map_err(|e| fail(&e))?;
            UnixListener::bind(path).map_err(|e| fail(&e))
        }
        Err(e) => Err(fail(&io_reason(&e))),
    }
}

fn io_reason(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such directory".into(),
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// Resolve `--tcp ADDR`: `PORT` binds loopback, `HOST:PORT` binds HOST.
pub fn tcp_addr(addr: &str) -> Result<SocketAddr, ServeError> {
    if let Ok(port) = addr.parse::<u16>() {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    let spec = match addr.strip_prefix(':') {
        Some(port) => format!("127.0.0.1:{port}"),
        None => addr.to_string(),
    };
    let shown = format!("tcp:{addr}");
    spec.to_socket_addrs()
        .map_err(|e| bind_error(shown.clone(), format!("bad address ({e})")))?
        .next()
        .ok_or_else(|| bind_error(shown, "address resolves to nothing"))
}

pub fn bind_tcp(addr: &str) -> Result<TcpListener, ServeError> {
    let a = tcp_addr(addr)?;
    TcpListener::bind(a).map_err(|e| bind_error(format!("tcp:{addr}"), io_reason(&e)))
}

fn serve_stdio(cfg: Arc<MonitorConfig>) -> Result<(), ServeError> {
    let (stdin, stdout) = (io::stdin(), io::stdout());
    let mut io = Split {
        r: stdin.lock(),
        w: stdout.lock(),
    };
    drive(&mut io, cfg, |_| {});
    Ok(())
}

/// A reader and a writer used as one duplex stream (stdin and stdout).
struct Split<R, W> {
    r: R,
    w: W,
}

impl<R: Read, W> Read for Split<R, W> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.r.read(buf)
    }
}

impl<R, W: Write> Write for Split<R, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.w.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }
}

/// Accept unix clients forever, a thread per session.
pub fn serve_unix(listener: UnixListener, cfg: Arc<MonitorConfig>) -> Result<(), ServeError> {
    for conn in listener.incoming() {
        match conn {
            Ok(s) => {
                if let Err(e) = spawn_session(s, Arc::clone(&cfg)) {
                    eprintln!("qmpspec serve: cannot start a session: {e}");
                }
            }
            Err(e) => eprintln!("qmpspec serve: accept: {e}"),
        }
    }
    Ok(())
}

/// Accept TCP clients forever, a thread per session.
pub fn serve_tcp(listener: TcpListener, cfg: Arc<MonitorConfig>) -> Result<(), ServeError> {
    for conn in listener.incoming() {
        match conn {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                if let Err(e) = spawn_session(s, Arc::clone(&cfg)) {
                    eprintln!("qmpspec serve: cannot start a session: {e}");
                }
            }
            Err(e) => eprintln!("qmpspec serve: accept: {e}"),
        }
    }
    Ok(())
}

/// A socket a session can run on.
pub trait Duplex: Read + Write + Send + 'static {
    fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()>;
    fn close(&self);
}

impl Duplex for UnixStream {
    fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        UnixStream::set_read_timeout(self, t)
    }
    fn close(&self) {
        let _ = self.shutdown(Shutdown::Both);
    }
}

impl Duplex for TcpStream {
    fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, t)
    }
    fn close(&self) {
        let _ = self.shutdown(Shutdown::Both);
    }
}

/// Serve one session on `stream` in a new thread; the stream is closed when it ends.
///
/// One thread does everything (read, process, write): no hand-off between threads on the
/// hot path. The session reads only when it has nothing left to write or process, so a
/// client that never reads is held back by the socket, and memory stays bounded.
pub fn spawn_session<S: Duplex>(stream: S, cfg: Arc<MonitorConfig>) -> io::Result<()> {
    thread::Builder::new()
        .name("qmpspec-session".into())
        .stack_size(4 << 20)
        .spawn(move || {
            let mut stream = stream;
            drive(&mut stream, cfg, |s| linger(s));
            stream.close();
        })?;
    Ok(())
}

/// How long a session stays open after `quit` unless the client hangs up first. QEMU's
/// connection closes when the process has torn down, a little after the reply; clients
/// (qemu.qmp) that disconnect right after `quit` expect to be first.
pub const QUIT_LINGER: Duration = Duration::from_millis(100);

fn linger<S: Duplex>(s: &mut S) {
    let deadline = Instant::now() + QUIT_LINGER;
    let mut buf = [0u8; 4096];
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        if s.set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .is_err()
        {
            return;
        }
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(_) => {} // input after quit is ignored
        }
    }
}

/// The session loop: write what is pending, process, read more input.
fn drive<S: Read + Write>(io: &mut S, cfg: Arc<MonitorConfig>, after_quit: impl FnOnce(&mut S)) {
    let mut mon = Monitor::new(cfg);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        if !mon.output().is_empty() {
            let n = mon.output().len();
            if io.write_all(mon.output()).and_then(|_| io.flush()).is_err() {
                return;
            }
            mon.consume_output(n);
        }
        match mon.closed() {
            Some(Closed::Quit) => return after_quit(io),
            Some(Closed::Crash) => return,
            None => {}
        }
        if mon.has_work() {
            mon.process();
            continue;
        }
        match io.read(&mut buf) {
            // The client closed its end: QEMU drops whatever is still queued.
            Ok(0) => return mon.hang_up(),
            Ok(n) => {
                mon.receive(&buf[..n]);
                mon.process();
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}
