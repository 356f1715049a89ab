//! Byte transports: a unix socket, a TCP connection, or a spawned process's stdin/stdout.
//! Each is a thin adapter; every read and write is bounded by a deadline.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::process::{Child, ChildStdin, Command as Process, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Instant;

/// A duplex byte stream with deadlines. `read` returns `Ok(0)` at end of stream and an error
/// of kind `TimedOut` when the deadline passes first.
pub trait Transport: Send {
    /// Write every byte, or fail.
    fn write_all(&mut self, bytes: &[u8], deadline: Instant) -> io::Result<()>;
    /// Read what is available (at least one byte), `Ok(0)` at end of stream.
    fn read(&mut self, buf: &mut [u8], deadline: Instant) -> io::Result<usize>;
    /// Close our sending half (the peer sees end of input).
    fn shutdown_write(&mut self);
    /// Diagnostics the peer produced out of band (a process's stderr), if any.
    fn diagnostics(&self) -> String {
        String::new()
    }
}

fn remaining(deadline: Instant) -> io::Result<std::time::Duration> {
    let now = Instant::now();
    if now >= deadline {
        return Err(io::Error::new(io::ErrorKind::TimedOut, "deadline passed"));
    }
    Ok((deadline - now).max(std::time::Duration::from_millis(1)))
}

fn timed_out(e: io::Error) -> io::Error {
    match e.kind() {
        io::ErrorKind::WouldBlock => io::Error::new(io::ErrorKind::TimedOut, "deadline passed"),
        _ => e,
    }
}

macro_rules! socket_transport {
    ($ty:ty) => {
        impl Transport for $ty {
            fn write_all(&mut self, bytes: &[u8], deadline: Instant) -> io::Result<()> {
                let mut done = 0;
                while done < bytes.len() {
                    self.set_write_timeout(Some(remaining(deadline)?))?;
                    match Write::write(self, &bytes[done..]) {
                        Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                        Ok(n) => done += n,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(timed_out(e)),
                    }
                }
                Ok(())
            }
            fn read(&mut self, buf: &mut [u8], deadline: Instant) -> io::Result<usize> {
                loop {
                    self.set_read_timeout(Some(remaining(deadline)?))?;
                    match Read::read(self, buf) {
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return Ok(0),
                        r => return r.map_err(timed_out),
                    }
                }
            }
            fn shutdown_write(&mut self) {
                let _ = self.shutdown(std::net::Shutdown::Write);
            }
        }
    };
}

socket_transport!(UnixStream);
socket_transport!(TcpStream);

/// How much of a process's stderr is kept for diagnostics.
const STDERR_KEEP: usize = 16 * 1024;

/// A spawned program speaking QMP on stdin/stdout. Reads go through a pump thread so they
/// can time out; the process is killed and reaped on drop.
pub struct ProcessTransport {
    child: Child,
    /// Writes go through a writer thread so that a process that stops reading cannot block
    /// the caller past its deadline.
    stdin: Option<Sender<Vec<u8>>>,
    written: Receiver<io::Result<()>>,
    /// Writes handed to the writer thread and not yet acknowledged.
    unacked: usize,
    chunks: Receiver<io::Result<Vec<u8>>>,
    leftover: Vec<u8>,
    eof: bool,
    stderr: Arc<Mutex<Vec<u8>>>,
}

impl ProcessTransport {
    /// Start `argv[0]` with the remaining arguments, no shell involved.
    pub fn spawn(argv: &[String]) -> io::Result<Self> {
        let (program, args) = argv
            .split_first()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty command"))?;
        let mut child = Process::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let mut stdout = child.stdout.take().expect("stdout was piped");
        let (tx, rx): (Sender<io::Result<Vec<u8>>>, _) = mpsc::channel();
        thread::Builder::new()
            .name("qmpspec-stdout".into())
            .spawn(move || {
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    match stdout.read(&mut buf) {
                        Ok(0) => {
                            let _ = tx.send(Ok(Vec::new()));
                            return;
                        }
                        Ok(n) => {
                            if tx.send(Ok(buf[..n].to_vec())).is_err() {
                                return;
                            }
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            return;
                        }
                    }
                }
            })?;
        let stdin = child.stdin.take().expect("stdin was piped");
        let (stdin_tx, written) = spawn_writer(stdin)?;
        let stderr_buf = Arc::new(Mutex::new(Vec::new()));
        if let Some(mut err) = child.stderr.take() {
            let keep = Arc::clone(&stderr_buf);
            thread::Builder::new()
                .name("qmpspec-stderr".into())
                .spawn(move || {
                    let mut buf = [0u8; 4096];
                    while let Ok(n) = err.read(&mut buf) {
                        if n == 0 {
                            break;
                        }
                        let mut k = keep.lock().unwrap_or_else(|p| p.into_inner());
                        let room = STDERR_KEEP.saturating_sub(k.len());
                        k.extend_from_slice(&buf[..n.min(room)]);
                    }
                })?;
        }
        Ok(ProcessTransport {
            stdin: Some(stdin_tx),
            written,
            unacked: 0,
            child,
            chunks: rx,
            leftover: Vec::new(),
            eof: false,
            stderr: stderr_buf,
        })
    }

    /// The process id (for diagnostics).
    pub fn id(&self) -> u32 {
        self.child.id()
    }
}

impl Transport for ProcessTransport {
    fn write_all(&mut self, bytes: &[u8], deadline: Instant) -> io::Result<()> {
        let stdin = self
            .stdin
            .as_ref()
            .ok_or_else(|| io::Error::new(io::ErrorKind::BrokenPipe, "stdin closed"))?;
        stdin
            .send(bytes.to_vec())
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "stdin closed"))?;
        self.unacked += 1;
        while self.unacked > 0 {
            match self.written.recv_timeout(remaining(deadline)?) {
                Ok(r) => {
                    self.unacked -= 1;
                    r?
                }
                Err(RecvTimeoutError::Timeout) => {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the process stopped reading its input",
                    ))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(io::Error::new(io::ErrorKind::BrokenPipe, "stdin closed"))
                }
            }
        }
        Ok(())
    }

    fn read(&mut self, buf: &mut [u8], deadline: Instant) -> io::Result<usize> {
        if self.leftover.is_empty() {
            if self.eof {
                return Ok(0);
            }
            match self.chunks.recv_timeout(remaining(deadline)?) {
                Ok(Ok(chunk)) if chunk.is_empty() => {
                    self.eof = true;
                    return Ok(0);
                }
                Ok(Ok(chunk)) => self.leftover = chunk,
                Ok(Err(e)) => return Err(e),
                Err(RecvTimeoutError::Timeout) => {
                    return Err(io::Error::new(io::ErrorKind::TimedOut, "deadline passed"))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    self.eof = true;
                    return Ok(0);
                }
            }
        }
        let n = buf.len().min(self.leftover.len());
        buf[..n].copy_from_slice(&self.leftover[..n]);
        self.leftover.drain(..n);
        Ok(n)
    }

    fn shutdown_write(&mut self) {
        self.stdin = None;
    }

    fn diagnostics(&self) -> String {
        let k = self.stderr.lock().unwrap_or_else(|p| p.into_inner());
        String::from_utf8_lossy(&k).into_owned()
    }
}

/// The writer thread: writes what it is sent, acknowledges each write, and closes the
/// process's stdin when the sender is dropped.
#[allow(clippy::type_complexity)]
fn spawn_writer(mut stdin: ChildStdin) -> io::Result<(Sender<Vec<u8>>, Receiver<io::Result<()>>)> {
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    let (ack_tx, ack_rx) = mpsc::channel();
    thread::Builder::new()
        .name("qmpspec-stdin".into())
        .spawn(move || {
            for bytes in rx {
                let r = stdin.write_all(&bytes).and_then(|_| stdin.flush());
                let failed = r.is_err();
                if ack_tx.send(r).is_err() || failed {
                    return;
                }
            }
        })?;
    Ok((tx, ack_rx))
}

impl Drop for ProcessTransport {
    fn drop(&mut self) {
        self.stdin = None;
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
