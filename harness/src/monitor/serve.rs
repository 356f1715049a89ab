//! I/O adapters for the emulated monitor: `qmpspec serve --stdio | --unix PATH | --tcp ADDR`.
//!
//! Each connection gets its own [`Monitor`] session and two threads: a reader that hands
//! chunks to the session through a small bounded channel (so a client that floods input is
//! slowed down, not buffered without bound), and the session thread, which processes and
//! writes. Unix and TCP servers take many clients at once; `quit` ends only its own session
//! (with `--stdio` that is the whole server).

use super::fault::{list_faults, Fault};
use super::server::{Chardev, Closed, Monitor, MonitorConfig};
use super::Schema;
use clap::{ArgGroup, Args};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver};
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
    /// A query-qmp-schema snapshot (JSON) to serve instead of QEMU 7.2's system-x86_64 one.
    #[arg(long, value_name = "FILE")]
    pub schema: Option<PathBuf>,
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

/// Run `qmpspec serve`; returns the exit code (2 when the server could not be set up).
pub fn run(args: ServeArgs) -> i32 {
    if args.list_faults {
        print!("{}", list_faults());
        return 0;
    }
    let cfg = match config(&args) {
        Ok(c) => Arc::new(c),
        Err(e) => {
            eprintln!("qmpspec serve: {e}");
            return 2;
        }
    };
    let socket = |filename: String| {
        let mut c = (*cfg).clone();
        c.chardev = Chardev::Socket { filename };
        Arc::new(c)
    };
    let result = if args.stdio {
        serve_stdio(cfg)
    } else if let Some(path) = &args.unix {
        bind_unix(path).and_then(|l| {
            eprintln!("qmpspec serve: listening on unix:{}", path.display());
            serve_unix(l, socket(format!("unix:{},server=on", path.display())))
        })
    } else if let Some(addr) = &args.tcp {
        bind_tcp(addr).and_then(|l| {
            let a = l.local_addr().map_err(|e| e.to_string())?;
            eprintln!("qmpspec serve: listening on tcp:{a}");
            serve_tcp(l, socket(format!("tcp:{a},server=on")))
        })
    } else {
        Err("one of --stdio, --unix PATH, --tcp ADDR is needed".into())
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("qmpspec serve: {e}");
            2
        }
    }
}

/// The session configuration the arguments describe.
pub fn config(args: &ServeArgs) -> Result<MonitorConfig, String> {
    let faults = args
        .faults
        .iter()
        .map(|n| n.parse::<Fault>().map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    let schema = match &args.schema {
        Some(p) => Some(Arc::new(
            Schema::from_file(p).map_err(|e| format!("--schema: {e}"))?,
        )),
        None => None,
    };
    let mut cfg = MonitorConfig::new(&faults, schema);
    cfg.offer_oob = !args.no_oob;
    Ok(cfg)
}

/// Bind a unix socket; a stale socket file (nobody listening) is replaced.
pub fn bind_unix(path: &Path) -> Result<UnixListener, String> {
    let shown = path.display();
    match UnixListener::bind(path) {
        Ok(l) => Ok(l),
        Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
            if UnixStream::connect(path).is_ok() {
                return Err(format!("unix:{shown}: address in use"));
            }
            let is_socket = std::fs::symlink_metadata(path).is_ok_and(|m| {
                use std::os::unix::fs::FileTypeExt;
                m.file_type().is_socket()
            });
            if !is_socket {
                return Err(format!("unix:{shown}: exists and is not a socket"));
            }
            std::fs::remove_file(path).map_err(|e| format!("unix:{shown}: {e}"))?;
            UnixListener::bind(path).map_err(|e| format!("unix:{shown}: {e}"))
        }
        Err(e) => Err(format!("unix:{shown}: {}", io_reason(&e))),
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
pub fn tcp_addr(addr: &str) -> Result<SocketAddr, String> {
    if let Ok(port) = addr.parse::<u16>() {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    let spec = match addr.strip_prefix(':') {
        Some(port) => format!("127.0.0.1:{port}"),
        None => addr.to_string(),
    };
    spec.to_socket_addrs()
        .map_err(|e| format!("tcp:{addr}: bad address ({e})"))?
        .next()
        .ok_or_else(|| format!("tcp:{addr}: address resolves to nothing"))
}

pub fn bind_tcp(addr: &str) -> Result<TcpListener, String> {
    let a = tcp_addr(addr)?;
    TcpListener::bind(a).map_err(|e| format!("tcp:{addr}: {}", io_reason(&e)))
}

fn serve_stdio(cfg: Arc<MonitorConfig>) -> Result<(), String> {
    let stdout = io::stdout();
    let (rx, _reader) = spawn_reader(io::stdin()).map_err(|e| e.to_string())?;
    drive(rx, stdout.lock(), cfg);
    Ok(())
}

/// Accept unix clients forever, a thread per session.
pub fn serve_unix(listener: UnixListener, cfg: Arc<MonitorConfig>) -> Result<(), String> {
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
pub fn serve_tcp(listener: TcpListener, cfg: Arc<MonitorConfig>) -> Result<(), String> {
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

/// A stream that can be split into a reader and a writer and shut down.
pub trait Duplex: Read + Write + Send + 'static {
    fn split(&self) -> io::Result<Self>
    where
        Self: Sized;
    fn close(&self);
}

impl Duplex for UnixStream {
    fn split(&self) -> io::Result<Self> {
        self.try_clone()
    }
    fn close(&self) {
        let _ = self.shutdown(Shutdown::Both);
    }
}

impl Duplex for TcpStream {
    fn split(&self) -> io::Result<Self> {
        self.try_clone()
    }
    fn close(&self) {
        let _ = self.shutdown(Shutdown::Both);
    }
}

/// Serve one session on `stream` in a new thread; the stream is closed when it ends.
pub fn spawn_session<S: Duplex>(stream: S, cfg: Arc<MonitorConfig>) -> io::Result<()> {
    let reader = stream.split()?;
    thread::Builder::new()
        .name("qmpspec-session".into())
        .stack_size(4 << 20)
        .spawn(move || {
            let mut stream = stream;
            if let Ok((rx, _r)) = spawn_reader(reader) {
                drive(rx, &mut stream, cfg);
            }
            stream.close();
        })?;
    Ok(())
}

/// Input chunks from a reader thread; `None` marks the end of the stream.
type Chunks = Receiver<Option<Vec<u8>>>;

/// Reader thread: chunks of input, `None` at end of stream. The channel is small, so a
/// flooding client is held back by the socket instead of filling memory.
fn spawn_reader<R: Read + Send + 'static>(
    mut r: R,
) -> io::Result<(Chunks, thread::JoinHandle<()>)> {
    let (tx, rx) = sync_channel::<Option<Vec<u8>>>(4);
    let h = thread::Builder::new()
        .name("qmpspec-reader".into())
        .spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match r.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        if tx.send(Some(buf[..n].to_vec())).is_err() {
                            return;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
            let _ = tx.send(None);
        })?;
    Ok((rx, h))
}

/// How long a session stays open after `quit` unless the client hangs up first. QEMU's
/// connection closes when the process has torn down, a little after the reply; clients
/// (qemu.qmp) that disconnect right after `quit` expect to be first.
pub const QUIT_LINGER: Duration = Duration::from_millis(100);

fn linger(rx: &Chunks) {
    let deadline = Instant::now() + QUIT_LINGER;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(Some(_)) => {} // input after quit is ignored
            _ => return,
        }
    }
}

/// The session loop: write what is pending, process, wait for input.
fn drive<W: Write>(rx: Chunks, mut w: W, cfg: Arc<MonitorConfig>) {
    let mut mon = Monitor::new(cfg);
    loop {
        if !mon.output().is_empty() {
            let n = mon.output().len();
            if w.write_all(mon.output()).and_then(|_| w.flush()).is_err() {
                return;
            }
            mon.consume_output(n);
        }
        match mon.closed() {
            Some(Closed::Quit) => return linger(&rx),
            Some(Closed::Crash) => return,
            None => {}
        }
        if mon.has_work() {
            mon.process();
            if !mon.output().is_empty() || mon.closed().is_some() {
                continue;
            }
            if mon.has_work() {
                continue;
            }
        }
        // Take everything already queued, then process it as one batch (pipelined input
        // behaves as if it had arrived in one read).
        match rx.recv() {
            Ok(Some(chunk)) => {
                mon.receive(&chunk);
                while mon.wants_input() {
                    match rx.try_recv() {
                        Ok(Some(more)) => mon.receive(&more),
                        Ok(None) => break,
                        Err(_) => break,
                    }
                }
                mon.process();
            }
            Ok(None) | Err(_) => {
                // The client closed its end: QEMU drops whatever is still queued.
                return;
            }
        }
    }
}
