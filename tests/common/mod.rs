//! Shared helpers for the integration tests: a temporary site root, a running server, a raw
//! HTTP/1.1 client that reads exact responses (pipelined ones too), and curl.
//!
//! Every socket has a read and write timeout (`IO_TIMEOUT`), so a test never hangs: a server
//! that does not answer makes the test fail with a message saying what it waited for.

#![allow(dead_code)]

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Read/write timeout of every test socket, and the longest wait for anything.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the server may take to print its listening line.
pub const START_TIMEOUT: Duration = Duration::from_secs(10);

pub const BIN: &str = env!("CARGO_BIN_EXE_tinyhttpd");

// ---------------------------------------------------------------------------------------------
// Temporary directories
// ---------------------------------------------------------------------------------------------

static DIR_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A directory under the system temp dir, unique per process, call and time; removed on drop.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new() -> TempDir {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let name = format!(
            "tinyhttpd-test-{}-{}-{}",
            std::process::id(),
            DIR_COUNTER.fetch_add(1, Ordering::Relaxed),
            nanos
        );
        let path = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&path)
            .unwrap_or_else(|e| panic!("cannot create temp dir {}: {e}", path.display()));
        // Canonical, so paths we compare with what the server sees are the real ones.
        let path = path.canonicalize().expect("canonicalize temp dir");
        TempDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Default for TempDir {
    fn default() -> Self {
        TempDir::new()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Writes `contents` to `dir/rel`, creating parent directories.
pub fn write_file_in(dir: &Path, rel: &str, contents: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .unwrap_or_else(|e| panic!("mkdir {}: {e}", parent.display()));
    }
    std::fs::write(&path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    path
}

/// Deterministic pseudo-random bytes (xorshift64*), so big files need no crate and no I/O.
pub fn pseudo_random_bytes(len: usize, seed: u64) -> Vec<u8> {
    // Spread the seed so nearby seeds give unrelated streams; xorshift needs a non-zero state.
    let mut state = (seed ^ 0xD1B5_4A32_D192_ED03).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    if state == 0 {
        state = 1;
    }
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let word = state.wrapping_mul(0x2545_F491_4F6C_DD1D);
        out.extend_from_slice(&word.to_le_bytes());
    }
    out.truncate(len);
    out
}

// ---------------------------------------------------------------------------------------------
// The server process
// ---------------------------------------------------------------------------------------------

/// Bytes collected from a child's pipe by a background thread.
pub type SharedBuf = Arc<Mutex<Vec<u8>>>;

/// A running tinyhttpd serving `root()`, a fresh directory inside a private temp area
/// (`base()`), so tests can put files *outside* the root next to it. Killed on drop.
pub struct Server {
    child: Child,
    addr: SocketAddr,
    stderr: SharedBuf,
    root: PathBuf,
    // Dropped after `drop` above has killed the child.
    dir: TempDir,
}

impl Server {
    /// Starts the server with `--port 0 --bind 127.0.0.1 --root <fresh dir>` and `extra`.
    pub fn start(extra: &[&str]) -> Server {
        Server::start_via(&[], extra)
    }

    /// Like `start`, but runs the binary through `wrapper`, a command that `exec`s it (see
    /// `try_spawn_listening_via`), e.g. `["prlimit", "--nofile=40:40"]`.
    pub fn start_via(wrapper: &[&str], extra: &[&str]) -> Server {
        let dir = TempDir::new();
        let root = dir.path().join("root");
        std::fs::create_dir(&root).expect("create root");
        let mut args: Vec<String> = vec![
            "--port".into(),
            "0".into(),
            "--bind".into(),
            "127.0.0.1".into(),
            "--root".into(),
            root.to_str().expect("utf-8 temp path").into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let (child, line, stderr) = match try_spawn_listening_via(wrapper, &args) {
            Ok(started) => started,
            Err(message) => panic!("{message}"),
        };
        let addr = parse_listening_line(&line);
        Server {
            child,
            addr,
            stderr,
            root,
            dir,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The private temp area that contains the root (and nothing the server should serve).
    pub fn base(&self) -> &Path {
        self.dir.path()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Writes a file beneath the root.
    pub fn write(&self, rel: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        write_file_in(&self.root, rel, contents)
    }

    pub fn mkdir(&self, rel: &str) -> PathBuf {
        let path = self.root.join(rel);
        std::fs::create_dir_all(&path).unwrap_or_else(|e| panic!("mkdir {}: {e}", path.display()));
        path
    }

    /// Creates the symlink `root/rel -> target` (target taken literally).
    pub fn symlink(&self, target: impl AsRef<Path>, rel: &str) -> PathBuf {
        let link = self.root.join(rel);
        std::os::unix::fs::symlink(target.as_ref(), &link).unwrap_or_else(|e| {
            panic!(
                "symlink {} -> {}: {e}",
                link.display(),
                target.as_ref().display()
            )
        });
        link
    }

    pub fn connect(&self) -> Conn {
        Conn::connect(self.addr)
    }

    /// One request on a fresh connection: `METHOD target HTTP/1.1`, Host, and `Connection:
    /// close`; returns the response (body read unless the method is HEAD).
    pub fn request(&self, method: &str, target: &str) -> Response {
        let mut conn = self.connect();
        conn.send(format!(
            "{method} {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        ));
        if method == "HEAD" {
            conn.read_head_response()
        } else {
            conn.read_response()
        }
    }

    pub fn get(&self, target: &str) -> Response {
        self.request("GET", target)
    }

    /// Asserts the server is alive and answering: GET of a missing file on a new connection
    /// gets its 404 within the socket timeout.
    pub fn assert_alive(&self) {
        let response = self.get("/__alive_check__");
        assert_eq!(
            response.status, 404,
            "server should still answer new connections"
        );
    }

    /// What the server wrote to stderr so far.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned()
    }

    /// The server's process id.
    pub fn pid(&self) -> libc::pid_t {
        libc::pid_t::try_from(self.child.id()).expect("pid fits pid_t")
    }

    /// Sends `signal` (e.g. `libc::SIGTERM`) to the server. Panics if the process has already
    /// been reaped (its pid could belong to someone else by now) or `kill` fails.
    pub fn signal(&mut self, signal: libc::c_int) {
        assert!(
            self.child.try_wait().expect("try_wait").is_none(),
            "cannot send signal {signal}: the server has already exited"
        );
        // SAFETY: kill has no memory-safety preconditions; the pid is our unreaped child.
        let ret = unsafe { libc::kill(self.pid(), signal) };
        assert_eq!(
            ret,
            0,
            "kill({}, {signal}): {}",
            self.pid(),
            io::Error::last_os_error()
        );
    }

    /// The exit status if the server has exited (reaping it), `None` while it runs.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("try_wait")
    }

    /// Waits up to `timeout` for the server to exit; `None` if it is still running then.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.try_wait() {
                return Some(status);
            }
            if started.elapsed() >= timeout {
                return None;
            }
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// CPU time (user + system) the server has used so far, from `/proc/PID/stat`.
    pub fn cpu_time(&self) -> Duration {
        process_cpu_time(self.pid())
    }

    /// Inodes of the sockets the server has open (its listener among them), from
    /// `/proc/PID/fd`: cheap enough to poll. Empty once the process is gone.
    pub fn socket_inodes(&self) -> Vec<u64> {
        let Ok(entries) = std::fs::read_dir(format!("/proc/{}/fd", self.pid())) else {
            return Vec::new();
        };
        entries
            .filter_map(Result::ok)
            .filter_map(|entry| std::fs::read_link(entry.path()).ok())
            .filter_map(|target| {
                target
                    .to_str()?
                    .strip_prefix("socket:[")?
                    .strip_suffix(']')?
                    .parse()
                    .ok()
            })
            .collect()
    }

    /// Waits up to `timeout` for the server to open exactly one socket that is not in `known`
    /// (the connection it accepts after `known` was taken) and returns its inode; panics if
    /// none or several appear. Only for a test that makes one connection at a time.
    pub fn wait_for_new_socket(&self, known: &[u64], timeout: Duration) -> u64 {
        let started = Instant::now();
        loop {
            let new: Vec<u64> = self
                .socket_inodes()
                .into_iter()
                .filter(|inode| !known.contains(inode))
                .collect();
            match new[..] {
                [inode] => return inode,
                [] if started.elapsed() < timeout => thread::sleep(Duration::from_millis(2)),
                [] => panic!("the server took no new connection within {timeout:?}"),
                _ => panic!("the server took several new connections: {new:?}"),
            }
        }
    }

    /// Whether the server still has the socket `inode` open.
    pub fn has_socket(&self, inode: u64) -> bool {
        self.socket_inodes().contains(&inode)
    }

    /// How many file descriptors the server has open, from `/proc/PID/fd`.
    pub fn open_fds(&self) -> usize {
        let dir = format!("/proc/{}/fd", self.pid());
        std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("read {dir}: {e}"))
            .count()
    }
}

/// CPU time (utime + stime) of process `pid`, from `/proc/PID/stat`.
pub fn process_cpu_time(pid: libc::pid_t) -> Duration {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    // The command name (field 2) is in parentheses and may contain spaces: count fields from
    // after its closing parenthesis, where field 3 (state) starts.
    let after_comm = &stat[stat.rfind(')').expect("stat has (comm)") + 1..];
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    // Fields 14 and 15 (utime, stime) are at indexes 11 and 12 counting from field 3.
    let ticks: u64 =
        fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
    // SAFETY: sysconf has no preconditions.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let per_second = u64::try_from(per_second)
        .ok()
        .filter(|&t| t > 0)
        .unwrap_or(100);
    Duration::from_micros(ticks * 1_000_000 / per_second)
}

/// Raises this process's soft RLIMIT_NOFILE to its hard limit (tests that hold thousands of
/// sockets need it); returns the new soft limit.
pub fn raise_nofile_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid rlimit for the kernel to fill.
    let ret = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    assert_eq!(ret, 0, "getrlimit: {}", io::Error::last_os_error());
    if limit.rlim_cur < limit.rlim_max {
        limit.rlim_cur = limit.rlim_max;
        // SAFETY: `limit` is a valid rlimit read above.
        let ret = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) };
        assert_eq!(ret, 0, "setrlimit: {}", io::Error::last_os_error());
    }
    limit.rlim_cur
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Spawns the binary with `args`, waits (up to `START_TIMEOUT`) for its first stdout line and
/// returns the child, that line, and a buffer that keeps collecting its stderr. Panics with the
/// exit status and stderr if the line does not come.
pub fn spawn_listening(args: &[String]) -> (Child, String, SharedBuf) {
    match try_spawn_listening(args) {
        Ok(started) => started,
        Err(message) => panic!("{message}"),
    }
}

pub fn try_spawn_listening(args: &[String]) -> Result<(Child, String, SharedBuf), String> {
    try_spawn_listening_via(&[], args)
}

/// Like `try_spawn_listening`, but runs the binary through a wrapper command that `exec`s it
/// (e.g. `["prlimit", "--nofile=40:40"]`), so the child's pid is the server's pid. An empty
/// `wrapper` runs the binary directly.
pub fn try_spawn_listening_via(
    wrapper: &[&str],
    args: &[String],
) -> Result<(Child, String, SharedBuf), String> {
    let mut command = match wrapper.split_first() {
        Some((program, wrapper_args)) => {
            let mut command = Command::new(program);
            command.args(wrapper_args).arg(BIN);
            command
        }
        None => Command::new(BIN),
    };
    let mut child = command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            let shown: Vec<&str> = wrapper.iter().copied().chain([BIN]).collect();
            panic!("cannot run {}: {e}", shown.join(" "))
        });
    let stderr = drain_to_buffer(child.stderr.take().expect("stderr piped"));
    let stdout = child.stdout.take().expect("stdout piped");
    let (line_tx, line_rx) = mpsc::channel();
    thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let first = match reader.read_line(&mut line) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(line),
        };
        let _ = line_tx.send(first);
        // Keep draining so the server can never block on a full stdout pipe.
        let _ = io::copy(&mut reader, &mut io::sink());
    });
    let failure = |child: &mut Child, why: String| {
        let _ = child.kill();
        let status = child.wait().ok();
        // Give the stderr drain a moment to collect the last bytes.
        thread::sleep(Duration::from_millis(50));
        let err = String::from_utf8_lossy(&stderr.lock().unwrap()).into_owned();
        format!("server with args {args:?}: {why}; exit status {status:?}; stderr: {err:?}")
    };
    match line_rx.recv_timeout(START_TIMEOUT) {
        Ok(Some(line)) => Ok((
            child,
            line.trim_end_matches(['\r', '\n']).to_string(),
            stderr,
        )),
        Ok(None) => Err(failure(
            &mut child,
            "stdout closed before the listening line".into(),
        )),
        Err(_) => Err(failure(
            &mut child,
            format!("no listening line within {START_TIMEOUT:?}"),
        )),
    }
}

fn drain_to_buffer(mut source: impl Read + Send + 'static) -> SharedBuf {
    let buffer = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&buffer);
    thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        loop {
            match source.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => sink.lock().unwrap().extend_from_slice(&chunk[..n]),
            }
        }
    });
    buffer
}

/// `listening on http://ADDR:PORT` → the address; panics on any other shape.
pub fn parse_listening_line(line: &str) -> SocketAddr {
    let rest = line
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("unexpected first stdout line: {line:?}"));
    let addr: SocketAddr = rest
        .parse()
        .unwrap_or_else(|e| panic!("bad address in listening line {line:?}: {e}"));
    assert_ne!(addr.port(), 0, "listening line must show the real port");
    addr
}

/// Runs the binary to completion (for command-line tests), killing it and failing the test
/// if it is still running after `timeout`.
pub fn run_to_exit(args: &[&str], timeout: Duration) -> (ExitStatus, String, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {BIN}: {e}"));
    let stdout = drain_to_buffer(child.stdout.take().unwrap());
    let stderr = drain_to_buffer(child.stderr.take().unwrap());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if started.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "tinyhttpd {args:?} still running after {timeout:?}; stdout: {:?}; stderr: {:?}",
                String::from_utf8_lossy(&stdout.lock().unwrap()),
                String::from_utf8_lossy(&stderr.lock().unwrap())
            );
        }
        thread::sleep(Duration::from_millis(10));
    };
    // The pipes close when the process exits; let the drains finish.
    let drained = Instant::now();
    thread::sleep(Duration::from_millis(20));
    while drained.elapsed() < Duration::from_millis(500)
        && Arc::strong_count(&stdout) + Arc::strong_count(&stderr) > 2
    {
        thread::sleep(Duration::from_millis(10));
    }
    let out = String::from_utf8_lossy(&stdout.lock().unwrap()).into_owned();
    let err = String::from_utf8_lossy(&stderr.lock().unwrap()).into_owned();
    (status, out, err)
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP client
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
pub struct Response {
    pub version: String,
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The value of the only header named `name` (case-insensitive). Panics if it appears
    /// more than once; `None` if absent.
    pub fn header(&self, name: &str) -> Option<&str> {
        let mut values = self.header_all(name);
        let first = values.next();
        assert!(
            values.next().is_none(),
            "header {name} appears more than once: {:?}",
            self.headers
        );
        first
    }

    pub fn header_all<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a str> + 'a {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(&name))
            .map(|(_, v)| v.as_str())
    }

    /// The header's value; panics (naming the response) if missing.
    pub fn expect_header(&self, name: &str) -> &str {
        self.header(name)
            .unwrap_or_else(|| panic!("response has no {name} header: {self:?}"))
    }

    pub fn content_length(&self) -> Option<u64> {
        self.header("content-length").map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("bad Content-Length {v:?}"))
        })
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Whether the response announces that the connection closes.
    pub fn says_close(&self) -> bool {
        self.header_all("connection")
            .flat_map(|v| v.split(','))
            .any(|o| o.trim().eq_ignore_ascii_case("close"))
    }

    /// Status line and headers, for failure messages (not the body).
    pub fn summary(&self) -> String {
        let mut s = format!("{} {} {}", self.version, self.status, self.reason);
        for (n, v) in &self.headers {
            s.push_str(&format!(" | {n}: {v}"));
        }
        s
    }
}

/// What reading a response found.
#[derive(Debug)]
pub enum Read1 {
    Response(Response),
    /// The connection ended cleanly before any byte of a response.
    Eof,
    /// A socket error (reset, timeout) before a complete response.
    Error(io::Error, Vec<u8>),
}

/// A client connection with its own receive buffer, so several pipelined responses can be
/// read one after another from exactly where the previous one ended.
pub struct Conn {
    pub stream: TcpStream,
    buf: Vec<u8>,
    eof: bool,
}

impl Conn {
    pub fn connect(addr: SocketAddr) -> Conn {
        let stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT)
            .unwrap_or_else(|e| panic!("connect {addr}: {e}"));
        Conn::from_stream(stream)
    }

    /// Connects with SO_RCVBUF set to `rcvbuf` bytes *before* the handshake, so the window the
    /// client advertises stays small (and receive autotuning is off): a client that does not
    /// read stalls the sender quickly, and one that reads slowly keeps the sender behind.
    pub fn connect_with_rcvbuf(addr: SocketAddr, rcvbuf: usize) -> Conn {
        let stream = tcp_connect_with_rcvbuf(addr, rcvbuf)
            .unwrap_or_else(|e| panic!("connect {addr} with SO_RCVBUF {rcvbuf}: {e}"));
        Conn::from_stream(stream)
    }

    /// Wraps a connected stream, setting the usual timeouts and TCP_NODELAY.
    pub fn from_stream(stream: TcpStream) -> Conn {
        stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
        stream.set_nodelay(true).unwrap();
        Conn {
            stream,
            buf: Vec::new(),
            eof: false,
        }
    }

    pub fn set_read_timeout(&self, timeout: Duration) {
        self.stream.set_read_timeout(Some(timeout)).unwrap();
    }

    pub fn send(&mut self, bytes: impl AsRef<[u8]>) {
        self.stream
            .write_all(bytes.as_ref())
            .unwrap_or_else(|e| panic!("send: {e}"));
    }

    /// Sends without panicking (the server may already have closed).
    pub fn try_send(&mut self, bytes: impl AsRef<[u8]>) -> io::Result<()> {
        self.stream.write_all(bytes.as_ref())
    }

    /// Convenience: `GET target HTTP/1.1` with a Host header on this connection.
    pub fn get(&mut self, target: &str) -> Response {
        self.send(format!("GET {target} HTTP/1.1\r\nHost: localhost\r\n\r\n"));
        self.read_response()
    }

    /// Bytes received and not yet consumed by a parsed response.
    pub fn buffered(&self) -> &[u8] {
        &self.buf
    }

    /// Reads once into the buffer; `Ok(0)` at end of stream.
    fn fill(&mut self) -> io::Result<usize> {
        if self.eof {
            return Ok(0);
        }
        let mut chunk = vec![0u8; 256 * 1024];
        let n = loop {
            match self.stream.read(&mut chunk) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other?,
            }
        };
        if n == 0 {
            self.eof = true;
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    /// Reads the next response; the body is read by Content-Length (or to EOF without it).
    pub fn read_response(&mut self) -> Response {
        self.expect_response(false)
    }

    /// Reads the next response to a HEAD request: head only, whatever Content-Length says.
    pub fn read_head_response(&mut self) -> Response {
        self.expect_response(true)
    }

    fn expect_response(&mut self, head_only: bool) -> Response {
        match self.try_read_response(head_only) {
            Read1::Response(r) => r,
            Read1::Eof => panic!("connection closed where a response was expected"),
            Read1::Error(e, partial) => panic!(
                "error reading response ({e}); received so far: {:?}",
                String::from_utf8_lossy(&partial)
            ),
        }
    }

    /// Reads the next response, or reports a clean EOF before it, or the error that stopped it.
    pub fn try_read_response(&mut self, head_only: bool) -> Read1 {
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            match self.fill() {
                Ok(0) if self.buf.is_empty() => return Read1::Eof,
                Ok(0) => {
                    return Read1::Error(
                        io::Error::new(io::ErrorKind::UnexpectedEof, "EOF inside response head"),
                        self.buf.clone(),
                    );
                }
                Ok(_) => {}
                Err(e) => return Read1::Error(e, self.buf.clone()),
            }
        };
        let head = self.buf[..head_end].to_vec();
        let mut response = parse_head(&head);
        let body_len = if head_only || response.status == 304 || response.status < 200 {
            Some(0)
        } else {
            assert!(
                response.header("transfer-encoding").is_none(),
                "unexpected Transfer-Encoding in response: {}",
                response.summary()
            );
            response.content_length()
        };
        match body_len {
            Some(len) => {
                let len = usize::try_from(len).expect("body fits in memory");
                while self.buf.len() < head_end + len {
                    match self.fill() {
                        Ok(0) => {
                            return Read1::Error(
                                io::Error::new(
                                    io::ErrorKind::UnexpectedEof,
                                    format!(
                                        "EOF after {} of {len} body bytes",
                                        self.buf.len() - head_end
                                    ),
                                ),
                                head,
                            );
                        }
                        Ok(_) => {}
                        Err(e) => return Read1::Error(e, head),
                    }
                }
                response.body = self.buf[head_end..head_end + len].to_vec();
                self.buf.drain(..head_end + len);
            }
            None => {
                // No length: the body runs to the end of the connection.
                loop {
                    match self.fill() {
                        Ok(0) => break,
                        Ok(_) => {}
                        Err(e) => return Read1::Error(e, head),
                    }
                }
                response.body = self.buf[head_end..].to_vec();
                self.buf.clear();
            }
        }
        Read1::Response(response)
    }

    /// Reads the next `n` responses (GETs).
    pub fn read_responses(&mut self, n: usize) -> Vec<Response> {
        (0..n).map(|_| self.read_response()).collect()
    }

    /// Reads responses until the server closes the connection; panics on a socket error.
    pub fn read_until_close(&mut self) -> Vec<Response> {
        let mut responses = Vec::new();
        loop {
            match self.try_read_response(false) {
                Read1::Response(r) => responses.push(r),
                Read1::Eof => return responses,
                Read1::Error(e, partial) => panic!(
                    "error after {} responses: {e}; partial: {:?}",
                    responses.len(),
                    String::from_utf8_lossy(&partial)
                ),
            }
        }
    }

    /// Asserts that the server closes the connection (read returns 0) with no further bytes,
    /// within `IO_TIMEOUT`.
    pub fn expect_eof(&mut self) {
        assert!(
            self.buf.is_empty(),
            "unexpected bytes after the response: {:?}",
            String::from_utf8_lossy(&self.buf)
        );
        match self.fill() {
            Ok(0) => {}
            Ok(n) => panic!(
                "expected the server to close, got {n} more bytes: {:?}",
                String::from_utf8_lossy(&self.buf)
            ),
            Err(e) => panic!("expected the server to close (read returning 0), got error: {e}"),
        }
    }

    /// Waits for the end of the connection: `Ok(())` on EOF or reset, `Err` with whatever
    /// bytes arrived instead (or on timeout).
    pub fn wait_closed(&mut self) -> Result<(), String> {
        loop {
            match self.fill() {
                Ok(0) if self.buf.is_empty() => return Ok(()),
                Ok(0) => {
                    return Err(format!(
                        "bytes before close: {:?}",
                        String::from_utf8_lossy(&self.buf)
                    ));
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset && self.buf.is_empty() => {
                    return Ok(());
                }
                Err(e) => {
                    return Err(format!(
                        "{e}; bytes: {:?}",
                        String::from_utf8_lossy(&self.buf)
                    ));
                }
            }
        }
    }

    pub fn shutdown_write(&self) {
        let _ = self.stream.shutdown(Shutdown::Write);
    }
}

/// A blocking TCP connection to `addr` whose socket had SO_RCVBUF set to `rcvbuf` before
/// `connect` (the kernel doubles the value for bookkeeping and applies a minimum).
pub fn tcp_connect_with_rcvbuf(addr: SocketAddr, rcvbuf: usize) -> io::Result<TcpStream> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

    let domain = match addr {
        SocketAddr::V4(_) => libc::AF_INET,
        SocketAddr::V6(_) => libc::AF_INET6,
    };
    // SAFETY: plain socket(2) call; the result is checked before use.
    let fd = unsafe { libc::socket(domain, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a new socket that nothing else owns; OwnedFd closes it on every path.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let size = libc::c_int::try_from(rcvbuf).expect("rcvbuf fits c_int");
    // SAFETY: the option value points at a live c_int of the length passed.
    let ret = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&size as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if ret != 0 {
        return Err(io::Error::last_os_error());
    }
    let ret = match addr {
        SocketAddr::V4(v4) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: v4.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from(*v4.ip()).to_be(),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: `sin` is a valid sockaddr_in of the length passed.
            unsafe {
                libc::connect(
                    fd.as_raw_fd(),
                    (&sin as *const libc::sockaddr_in).cast(),
                    std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
                )
            }
        }
        SocketAddr::V6(v6) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: v6.port().to_be(),
                sin6_flowinfo: v6.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: v6.ip().octets(),
                },
                sin6_scope_id: v6.scope_id(),
            };
            // SAFETY: `sin6` is a valid sockaddr_in6 of the length passed.
            unsafe {
                libc::connect(
                    fd.as_raw_fd(),
                    (&sin6 as *const libc::sockaddr_in6).cast(),
                    std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t,
                )
            }
        }
    };
    if ret != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(TcpStream::from(fd))
}

/// `bytes` for a failure message, shortened in the middle if long.
pub fn preview(bytes: &[u8]) -> String {
    const KEEP: usize = 100;
    if bytes.len() <= 2 * KEEP {
        return format!("{:?}", String::from_utf8_lossy(bytes));
    }
    format!(
        "{:?}...({} bytes)...{:?}",
        String::from_utf8_lossy(&bytes[..KEEP]),
        bytes.len() - 2 * KEEP,
        String::from_utf8_lossy(&bytes[bytes.len() - KEEP..])
    )
}

pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    find(haystack, needle).is_some()
}

/// Parses a response head (status line and fields, ending in CRLF CRLF). Strict: the status
/// line must be the very first bytes, every line must end in CRLF.
pub fn parse_head(head: &[u8]) -> Response {
    let text = std::str::from_utf8(head)
        .unwrap_or_else(|_| panic!("response head is not UTF-8: {head:?}"));
    let text = text
        .strip_suffix("\r\n\r\n")
        .expect("head ends in CRLF CRLF");
    assert!(
        text.split("\r\n")
            .all(|l| !l.contains('\n') && !l.contains('\r')),
        "bare LF or CR in response head: {text:?}"
    );
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default().to_string();
    assert!(
        version == "HTTP/1.1" || version == "HTTP/1.0",
        "response does not start with a status line: {text:?}"
    );
    let status: u16 = parts
        .next()
        .and_then(|c| (c.len() == 3).then_some(c))
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let reason = parts.next().unwrap_or_default().to_string();
    let headers = lines
        .map(|line| {
            let (name, value) = line
                .split_once(':')
                .unwrap_or_else(|| panic!("header line without colon: {line:?}"));
            assert!(
                !name.is_empty() && !name.contains([' ', '\t']),
                "bad header name in {line:?}"
            );
            (
                name.to_string(),
                value.trim_matches([' ', '\t']).to_string(),
            )
        })
        .collect();
    Response {
        version,
        status,
        reason,
        headers,
        body: Vec::new(),
    }
}

/// A plain GET request with a Host header.
pub fn get_request(target: &str) -> String {
    format!("GET {target} HTTP/1.1\r\nHost: localhost\r\n\r\n")
}

/// A GET request that asks the server to close after answering.
pub fn get_close_request(target: &str) -> String {
    format!("GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
}

/// Sends `bytes` on a new connection and asserts the reply is one response with `status`,
/// announcing `Connection: close`, after which the server closes the connection; then asserts
/// the server still serves new connections. Returns the response.
pub fn expect_error_and_close(server: &Server, bytes: impl AsRef<[u8]>, status: u16) -> Response {
    let bytes = bytes.as_ref();
    let mut conn = server.connect();
    conn.send(bytes);
    let response = match conn.try_read_response(false) {
        Read1::Response(r) => r,
        other => panic!(
            "request {}: expected {status}, got {other:?}",
            preview(bytes)
        ),
    };
    assert_eq!(
        response.status,
        status,
        "request {}: {}",
        preview(bytes),
        response.summary()
    );
    assert!(
        response.says_close(),
        "request {}: an error response that ends the connection should say \
         Connection: close: {}",
        preview(bytes),
        response.summary()
    );
    let length = response.content_length().expect("error has Content-Length");
    assert_eq!(length, response.body.len() as u64);
    conn.expect_eof();
    server.assert_alive();
    response
}

// ---------------------------------------------------------------------------------------------
// curl
// ---------------------------------------------------------------------------------------------

/// Runs `curl` with `args` (plus a time limit and no proxy). Returns `None`, after printing a
/// note, only if curl is not installed.
pub fn curl(args: &[&str]) -> Option<Output> {
    let result = Command::new("curl")
        .args(["--max-time", "30", "--noproxy", "*"])
        .args(args)
        .stdin(Stdio::null())
        .output();
    match result {
        Ok(output) => Some(output),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            eprintln!("note: curl is not installed; skipping the curl part of this test");
            None
        }
        Err(e) => panic!("cannot run curl: {e}"),
    }
}

/// One request on a new connection with `Connection: close` and the extra `headers`; reads
/// the response (head only for HEAD) and asserts that nothing follows it.
pub fn send_closing(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
) -> Response {
    let mut request =
        format!("{method} {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    let mut conn = Conn::connect(addr);
    conn.send(&request);
    let response = if method == "HEAD" {
        conn.read_head_response()
    } else {
        conn.read_response()
    };
    conn.expect_eof();
    response
}

/// Reads from `stream` until a whole response head has arrived; returns it parsed, and the
/// body bytes that came with it. For tests that stream a large body themselves.
pub fn read_head_from(stream: &mut TcpStream) -> Result<(Response, Vec<u8>), String> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut head = Vec::new();
    loop {
        if let Some(i) = find(&head, b"\r\n\r\n") {
            let body = head.split_off(i + 4);
            return Ok((parse_head(&head), body));
        }
        let n = stream
            .read(&mut buf)
            .map_err(|e| format!("reading the head: {e}"))?;
        if n == 0 {
            return Err(format!("EOF inside the head: {}", preview(&head)));
        }
        head.extend_from_slice(&buf[..n]);
    }
}
