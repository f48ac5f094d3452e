//! The server process: the real binary started on `--port 0` against a fresh root, its
//! listening line, what it writes to stderr (and, when asked, stdout), signals and exit, and
//! what `/proc` says about it. Also `run_to_exit`, for command lines that should not start.
//!
//! A `Server` is killed on drop, so a failing test leaves no process behind.

use std::io::{self, BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::client::{Conn, Response};
use super::site::{TempDir, write_file_in};

/// How long the server may take to print its listening line.
const START_TIMEOUT: Duration = Duration::from_secs(10);

const BIN: &str = env!("CARGO_BIN_EXE_tinyhttpd");

/// Bytes collected from a child's pipe by a background thread.
type SharedBuf = Arc<Mutex<Vec<u8>>>;

/// How to start a `Server`: `Server::builder()`, the options, then `start()`.
pub struct ServerBuilder {
    wrapper: Vec<String>,
    args: Vec<String>,
    bind: String,
    root: Option<PathBuf>,
    capture_stdout: bool,
}

impl ServerBuilder {
    /// Extra command-line arguments, after `--port 0 --bind ... --root ...`.
    pub fn args(mut self, extra: &[&str]) -> Self {
        self.args.extend(extra.iter().map(|s| s.to_string()));
        self
    }

    /// Runs the binary through `wrapper`, a command that `exec`s it (so the child's pid is the
    /// server's pid), e.g. `["prlimit", "--nofile=40:40"]`.
    pub fn via(mut self, wrapper: &[&str]) -> Self {
        self.wrapper = wrapper.iter().map(|s| s.to_string()).collect();
        self
    }

    /// The address to bind instead of `127.0.0.1`.
    pub fn bind(mut self, address: &str) -> Self {
        self.bind = address.to_string();
        self
    }

    /// Serves an existing directory instead of a fresh, empty root.
    pub fn root(mut self, root: &Path) -> Self {
        self.root = Some(root.to_path_buf());
        self
    }

    /// Keeps what the server prints on stdout after its listening line (`--access-log -`),
    /// for `Server::stdout_line`; otherwise it is read and thrown away.
    pub fn capture_stdout(mut self) -> Self {
        self.capture_stdout = true;
        self
    }

    /// Starts the server and waits (up to `START_TIMEOUT`) for its listening line; panics with
    /// the exit status and stderr if the line does not come.
    pub fn start(self) -> Server {
        let dir = TempDir::new();
        let root = match self.root {
            Some(root) => root,
            None => {
                let root = dir.path().join("root");
                std::fs::create_dir(&root).expect("create root");
                root
            }
        };
        let mut args: Vec<String> = vec![
            "--port".into(),
            "0".into(),
            "--bind".into(),
            self.bind,
            "--root".into(),
            root.to_str().expect("utf-8 root path").into(),
        ];
        args.extend(self.args);
        let spawned = spawn_listening(&self.wrapper, &args, self.capture_stdout);
        let addr = parse_listening_line(&spawned.line);
        Server {
            child: spawned.child,
            addr,
            line: spawned.line,
            stderr: spawned.stderr,
            stdout: spawned.stdout,
            root,
            dir,
        }
    }
}

/// A running tinyhttpd serving `root()`, by default a fresh directory inside a private temp
/// area (`base()`), so tests can put files *outside* the root next to it. Killed on drop.
pub struct Server {
    child: Child,
    addr: SocketAddr,
    line: String,
    stderr: SharedBuf,
    /// Stdout lines after the listening line, when captured.
    stdout: Option<Receiver<String>>,
    root: PathBuf,
    // Dropped after `drop` below has killed the child.
    dir: TempDir,
}

impl Server {
    /// `Server::builder().args(&[...]).start()`: see `ServerBuilder` for the options.
    pub fn builder() -> ServerBuilder {
        ServerBuilder {
            wrapper: Vec::new(),
            args: Vec::new(),
            bind: "127.0.0.1".into(),
            root: None,
            capture_stdout: false,
        }
    }

    /// Starts the server with `--port 0 --bind 127.0.0.1 --root <fresh dir>` and `extra`.
    pub fn start(extra: &[&str]) -> Server {
        Server::builder().args(extra).start()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The first line the server printed, `listening on http://ADDR:PORT`.
    pub fn listening_line(&self) -> &str {
        &self.line
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

    /// The next line the server prints on stdout after its listening line, waiting up to
    /// `timeout`; `None` if none comes. Panics unless started with `capture_stdout()`.
    pub fn stdout_line(&self, timeout: Duration) -> Option<String> {
        let lines = self
            .stdout
            .as_ref()
            .expect("stdout_line needs Server::builder().capture_stdout()");
        lines.recv_timeout(timeout).ok()
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
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A child that has printed its listening line.
struct Spawned {
    child: Child,
    line: String,
    stderr: SharedBuf,
    stdout: Option<Receiver<String>>,
}

/// Spawns the binary with `args`, through `wrapper` if not empty, and waits (up to
/// `START_TIMEOUT`) for its first stdout line. Panics with the exit status and stderr if the
/// line does not come.
fn spawn_listening(wrapper: &[String], args: &[String], capture_stdout: bool) -> Spawned {
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
            let shown: Vec<&str> = wrapper.iter().map(String::as_str).chain([BIN]).collect();
            panic!("cannot run {}: {e}", shown.join(" "))
        });
    let stderr = drain_to_buffer(child.stderr.take().expect("stderr piped"));
    let stdout = child.stdout.take().expect("stdout piped");
    let (line_tx, line_rx) = mpsc::channel();
    let (rest_tx, rest_rx) = mpsc::channel();
    thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let first = match reader.read_line(&mut line) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(line),
        };
        let _ = line_tx.send(first);
        if capture_stdout {
            for line in (&mut reader).lines() {
                let Ok(line) = line else { break };
                if rest_tx.send(line).is_err() {
                    break;
                }
            }
        }
        // Keep draining so the server can never block on a full stdout pipe.
        let _ = io::copy(&mut reader, &mut io::sink());
    });
    let failure = |child: &mut Child, why: String| -> ! {
        let _ = child.kill();
        let status = child.wait().ok();
        // Give the stderr drain a moment to collect the last bytes.
        thread::sleep(Duration::from_millis(50));
        let err = String::from_utf8_lossy(&stderr.lock().unwrap()).into_owned();
        panic!("server with args {args:?}: {why}; exit status {status:?}; stderr: {err:?}")
    };
    match line_rx.recv_timeout(START_TIMEOUT) {
        Ok(Some(line)) => Spawned {
            child,
            line: line.trim_end_matches(['\r', '\n']).to_string(),
            stderr: Arc::clone(&stderr),
            stdout: capture_stdout.then_some(rest_rx),
        },
        Ok(None) => failure(&mut child, "stdout closed before the listening line".into()),
        Err(_) => failure(
            &mut child,
            format!("no listening line within {START_TIMEOUT:?}"),
        ),
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

/// `listening on http://ADDR:PORT` (or `https://`) → the address; panics on any other shape.
pub fn parse_listening_line(line: &str) -> SocketAddr {
    let rest = line
        .strip_prefix("listening on http://")
        .or_else(|| line.strip_prefix("listening on https://"))
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

impl Server {
    /// Starts the binary with `args` only, nothing added, for tests of how the command line
    /// names the port, address and root (`-p 0 -b 127.0.0.1 DIR`); `root` is the directory
    /// those args serve, for `Server::root`. The args must ask for a free port.
    pub fn start_exactly(args: &[&str], root: &Path) -> Server {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let spawned = spawn_listening(&[], &args, false);
        Server {
            child: spawned.child,
            addr: parse_listening_line(&spawned.line),
            line: spawned.line,
            stderr: spawned.stderr,
            stdout: None,
            root: root.to_path_buf(),
            dir: TempDir::new(),
        }
    }
}
