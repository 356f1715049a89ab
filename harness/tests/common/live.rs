//! Driving live servers (QEMU, the `qmpspec` binary) for the differential tests.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

pub use qmpspec::endpoint::QEMU_MACHINE_ARGS;

/// A program on PATH, if present.
pub fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(program))
        .find(|p| p.is_file())
}

/// Why `program` cannot stand for QEMU 7.2 here: not installed, or another version (whose
/// behaviour and deviations differ from the ones the tests pin).
pub fn not_qemu_7_2(program: &str) -> Option<String> {
    let out = match Command::new(program).arg("--version").output() {
        Ok(out) => out,
        Err(e) => {
            return Some(format!(
                "{program} not found ({e}); ci/setup.sh installs it"
            ))
        }
    };
    let version = String::from_utf8_lossy(&out.stdout);
    let first = version.lines().next().unwrap_or("no version").to_string();
    (!first.contains("version 7.2."))
        .then(|| format!("{program} is `{first}`; these tests pin QEMU 7.2's behaviour"))
}

/// Say loudly that a test did not run (written past libtest's output capture).
pub fn skipped(test: &str, reason: &str) {
    let _ = writeln!(std::io::stderr(), "SKIPPED: {test}: {reason}");
}

/// The `qmpspec` binary under test.
pub fn qmpspec() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_qmpspec"))
}

/// Kill and reap on drop.
pub struct Reaper(pub Child);

impl Drop for Reaper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// QEMU 7.2 with no machine, serving QMP on a unix socket (reconnectable), reaped on drop.
pub fn qemu_on_unix(qemu: &Path, sock: &Path) -> Reaper {
    Reaper(
        Command::new(qemu)
            .args(QEMU_MACHINE_ARGS)
            .arg("-qmp")
            .arg(format!("unix:{},server=on,wait=off", sock.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start QEMU"),
    )
}

/// `qmpspec serve --unix SOCK`, reaped on drop.
pub fn serve_on_unix(sock: &Path) -> Reaper {
    Reaper(
        Command::new(qmpspec())
            .args(["serve", "--unix"])
            .arg(sock)
            .stderr(Stdio::null())
            .spawn()
            .expect("start qmpspec serve"),
    )
}

/// Run a QMP server on stdio, write `chunks` (keeping stdin open), read its output to the
/// end (every script ends in `quit`).
pub fn run_stdio(argv: &[&str], chunks: &[&[u8]]) -> Vec<u8> {
    let child = Command::new(argv[0])
        .args(&argv[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", argv[0]));
    let mut child = Reaper(child);
    let mut stdout = child.0.stdout.take().expect("piped");
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut out = Vec::new();
        let _ = stdout.read_to_end(&mut out);
        let _ = tx.send(out);
    });
    let mut stdin = child.0.stdin.take().expect("piped");
    for c in chunks {
        stdin.write_all(c).expect("write");
        stdin.flush().expect("flush");
        thread::sleep(Duration::from_millis(10));
    }
    let out = rx
        .recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("{}: no end of output within 60 s", argv[0]));
    drop(stdin);
    out
}

/// Connect to a unix socket, waiting up to 10 s for it to appear.
pub fn connect(path: &Path) -> UnixStream {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match UnixStream::connect(path) {
            Ok(s) => {
                s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
                return s;
            }
            Err(e) if Instant::now() > deadline => panic!("{}: {e}", path.display()),
            Err(_) => thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// A line-oriented QMP conversation over a socket.
pub struct Lines {
    r: BufReader<UnixStream>,
    w: UnixStream,
}

impl Lines {
    pub fn new(s: UnixStream) -> Lines {
        Lines {
            w: s.try_clone().unwrap(),
            r: BufReader::new(s),
        }
    }
    pub fn read(&mut self) -> Vec<u8> {
        let mut line = Vec::new();
        self.r.read_until(b'\n', &mut line).expect("read");
        line
    }
    pub fn send(&mut self, b: &[u8]) {
        self.w.write_all(b).expect("write");
    }
    /// Send a command and return the next line.
    pub fn ask(&mut self, b: &[u8]) -> Vec<u8> {
        self.send(b);
        self.read()
    }
}

/// A scratch directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!(
            "qmpspec-{tag}-{}-{}",
            std::process::id(),
            Instant::now().elapsed().as_nanos()
        ));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// QEMU 7.2 and `qmpspec serve` side by side on unix sockets, each with a connected client,
/// for differential tests. Fields drop in order: clients, then the servers, then the folder.
pub struct Pair {
    pub qemu: Lines,
    pub ours: Lines,
    _servers: (Reaper, Reaper),
    _dir: TempDir,
}

impl Pair {
    /// Start both; `None`, after saying SKIPPED, when QEMU is not installed.
    pub fn start(test: &str) -> Option<Pair> {
        let Some(qemu) = which("qemu-system-x86_64") else {
            skipped(test, "qemu-system-x86_64 not found in PATH");
            return None;
        };
        let dir = TempDir::new(test);
        let (qsock, esock) = (dir.0.join("qemu.sock"), dir.0.join("emul.sock"));
        let servers = (qemu_on_unix(&qemu, &qsock), serve_on_unix(&esock));
        Some(Pair {
            qemu: Lines::new(connect(&qsock)),
            ours: Lines::new(connect(&esock)),
            _servers: servers,
            _dir: dir,
        })
    }
}
