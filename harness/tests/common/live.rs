//! Driving live servers (QEMU, the `qmpspec` binary) for the differential tests.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use qmpspec::endpoint::Target;
pub use qmpspec::endpoint::QEMU_MACHINE_ARGS;
pub use qmpspec::monitor::QemuRelease;

/// A program on PATH, if present.
pub fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(program))
        .find(|p| p.is_file())
}

/// A QEMU build the live tests run against: its system emulator and storage daemon, as they
/// are invoked (7.2's by name, from PATH; 10.0's by path, from its prefix).
pub struct Qemu {
    pub release: QemuRelease,
    pub system: String,
    pub storage_daemon: String,
}

/// The environment variable naming the directory of QEMU 10.0's binaries (wrappers).
pub const QEMU10_ENV: &str = "QMPSPEC_QEMU10";

/// Where QEMU 10.0's binaries are: `$QMPSPEC_QEMU10`, or the prefix ci/setup.sh fills
/// (`target/qemu-10.0/bin`).
pub fn qemu10_dir() -> PathBuf {
    match std::env::var_os(QEMU10_ENV) {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/qemu-10.0/bin"),
    }
}

impl Qemu {
    /// `release`'s binaries, or why they cannot stand for it here (not installed, or another
    /// version, whose behaviour and deviations differ from the ones the tests pin).
    pub fn find(release: QemuRelease) -> Result<Qemu, String> {
        let program = |name: &str| match release {
            QemuRelease::V7_2 => name.to_string(),
            _ => qemu10_dir().join(name).to_string_lossy().into_owned(),
        };
        let (system, storage_daemon) = (
            program("qemu-system-x86_64"),
            program("qemu-storage-daemon"),
        );
        let setup = match release {
            QemuRelease::V7_2 => "ci/setup.sh installs it",
            _ => "ci/setup.sh installs it into target/qemu-10.0, or set QMPSPEC_QEMU10 to a directory holding it",
        };
        for p in [&system, &storage_daemon] {
            let out = Command::new(p)
                .arg("--version")
                .output()
                .map_err(|e| format!("{p} not found ({e}); {setup}"))?;
            let version = String::from_utf8_lossy(&out.stdout);
            let first = version.lines().next().unwrap_or("no version").to_string();
            if !first.contains(&format!("version {release}.")) {
                return Err(format!(
                    "{p} is `{first}`; these tests pin QEMU {release}'s behaviour"
                ));
            }
        }
        Ok(Qemu {
            release,
            system,
            storage_daemon,
        })
    }

    /// The system emulator with no machine, QMP on stdio (`--qemu BINARY`).
    pub fn system_target(&self) -> Target {
        Target::qemu(Some(&self.system))
    }

    /// The storage daemon with its monitor on stdio.
    pub fn storage_daemon_target(&self) -> Target {
        Target::Spawn(
            [
                &self.storage_daemon,
                "--chardev",
                "stdio,id=m",
                "--monitor",
                "chardev=m",
            ]
            .map(String::from)
            .to_vec(),
        )
    }
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
    serve_on_unix_as(sock, QemuRelease::V7_2)
}

/// `qmpspec serve --unix SOCK --qemu-version RELEASE`, reaped on drop.
pub fn serve_on_unix_as(sock: &Path, release: QemuRelease) -> Reaper {
    Reaper(
        Command::new(qmpspec())
            .args(["serve", "--qemu-version", release.as_str(), "--unix"])
            .arg(sock)
            .stderr(Stdio::null())
            .spawn()
            .expect("start qmpspec serve"),
    )
}

/// Run a QMP server on stdio, wait for its greeting (as a client would: how long a server takes
/// to start must not decide what it reads at once), write `chunks` (keeping stdin open), read
/// its output to the end (every script ends in `quit`).
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
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match stdout.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if tx.send(buf[..n].to_vec()).is_err() {
                        return;
                    }
                }
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut out = Vec::new();
    let next = |out: &mut Vec<u8>| {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(chunk) => {
                out.extend(chunk);
                true
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => false,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                panic!("{}: no end of output within 60 s", argv[0])
            }
        }
    };
    while !out.contains(&b'\n') && next(&mut out) {}
    let mut stdin = child.0.stdin.take().expect("piped");
    for c in chunks {
        stdin.write_all(c).expect("write");
        stdin.flush().expect("flush");
        thread::sleep(Duration::from_millis(10));
    }
    while next(&mut out) {}
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

/// A QEMU and `qmpspec serve` answering as the same release, side by side on unix sockets,
/// each with a connected client, for differential tests. Fields drop in order: clients, then
/// the servers, then the folder.
pub struct Pair {
    pub qemu: Lines,
    pub ours: Lines,
    _servers: (Reaper, Reaper),
    _dir: TempDir,
}

impl Pair {
    /// Start both; `None`, after saying SKIPPED, when that QEMU is not installed.
    pub fn start(test: &str, release: QemuRelease) -> Option<Pair> {
        let qemu = match Qemu::find(release) {
            Ok(q) => q,
            Err(why) => {
                skipped(test, &why);
                return None;
            }
        };
        let dir = TempDir::new(test);
        let (qsock, esock) = (dir.0.join("qemu.sock"), dir.0.join("emul.sock"));
        let servers = (
            qemu_on_unix(Path::new(&qemu.system), &qsock),
            serve_on_unix_as(&esock, release),
        );
        Some(Pair {
            qemu: Lines::new(connect(&qsock)),
            ours: Lines::new(connect(&esock)),
            _servers: servers,
            _dir: dir,
        })
    }
}
