//! systemd socket activation: started by `systemd-socket-activate` (Debian's `systemd`
//! package), the server serves on the socket it was passed and binds none of its own, alone
//! or with workers; a passed fd that is not a listening TCP socket is refused at start-up.

pub mod common;

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;

const BIN: &str = env!("CARGO_BIN_EXE_tinyhttpd");
const ACTIVATE: &str = "systemd-socket-activate";

/// Whether `systemd-socket-activate` can run here; if not, the test says why and passes,
/// except under CI (`CI` set), where `.ci/run` installs it.
fn have_activate() -> bool {
    let found = Command::new(ACTIVATE)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "{ACTIVATE} is not installed; .ci/run should have installed it (package systemd)"
        );
        eprintln!("note: {ACTIVATE} not installed (package systemd), test skipped");
    }
    found
}

/// A loopback port that was free a moment ago.
fn free_port() -> SocketAddr {
    let probe = TcpListener::bind("127.0.0.1:0").expect("bind a probe");
    probe.local_addr().expect("probe address")
}

/// The server under `systemd-socket-activate -l addr`, killed on drop.
struct Activated(Child);

impl Drop for Activated {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the server under `systemd-socket-activate` on `addr`, which execs it at the first
/// connection; makes that connection, a GET of `/a.txt`, and returns its response and the
/// server's first stdout line.
fn activate(
    addr: SocketAddr,
    root: &std::path::Path,
    extra: &[&str],
) -> (Activated, Response, String) {
    let own_port = free_port().port().to_string();
    let mut child = Command::new(ACTIVATE)
        .args(["-l", &addr.to_string(), BIN, "--root"])
        .arg(root)
        .args(["--bind", "127.0.0.1", "--port", &own_port])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run systemd-socket-activate");
    let stdout = child.stdout.take().expect("stdout piped");
    let server = Activated(child);
    // It listens before it prints anything; give it a moment to.
    let mut stream = None;
    for _ in 0..100 {
        if let Ok(s) = TcpStream::connect(addr) {
            stream = Some(s);
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut conn = Conn::from_stream(stream.expect("systemd-socket-activate listens"));
    let response = conn.get("/a.txt");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read the listening line");
    // The server's own --port was not bound.
    let own: SocketAddr = format!("127.0.0.1:{own_port}").parse().unwrap();
    assert!(
        TcpStream::connect(own).is_err(),
        "the server bound its own --port {own_port} too"
    );
    (server, response, line.trim_end().to_string())
}

#[test]
fn a_socket_passed_by_systemd_is_served_and_nothing_is_bound() {
    if !have_activate() {
        return;
    }
    let dir = TempDir::new();
    write_file_in(dir.path(), "a.txt", "alpha\n");
    let addr = free_port();
    let (_server, response, line) = activate(addr, dir.path(), &[]);
    assert_eq!(response.status, 200, "{}", response.summary());
    assert_eq!(response.body_text(), "alpha\n");
    assert_eq!(line, format!("listening on http://{addr}"));
}

#[test]
fn workers_share_the_socket_passed_by_systemd() {
    if !have_activate() {
        return;
    }
    let dir = TempDir::new();
    write_file_in(dir.path(), "a.txt", "alpha\n");
    let addr = free_port();
    let (_server, response, line) = activate(addr, dir.path(), &["--workers", "2"]);
    assert_eq!(response.status, 200, "{}", response.summary());
    assert_eq!(line, format!("listening on http://{addr}"));
    for _ in 0..20 {
        assert_eq!(Conn::connect(addr).get("/a.txt").status, 200);
    }
}

/// fd 3 is a file, passed by the protocol (`LISTEN_PID` is the shell's pid, which `exec`
/// keeps): the server must refuse to start, and say why.
#[test]
fn a_passed_fd_that_is_not_a_listening_socket_is_refused() {
    let dir = TempDir::new();
    let mut child = Command::new("sh")
        .args([
            "-c",
            r#"exec 3</dev/null; LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" "$@""#,
            BIN,
            "--port",
            "0",
            "--root",
        ])
        .arg(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the server through sh");
    // A server that took no notice of the passed fd would serve on: stop it after a while.
    let started = std::time::Instant::now();
    while child.try_wait().expect("try_wait").is_none()
        && started.elapsed() < Duration::from_secs(5)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let output = child.wait_with_output().expect("collect the output");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "started anyway: {stderr}");
    assert!(
        stderr.contains("LISTEN_FDS") && stderr.contains("not a listening TCP socket"),
        "stderr: {stderr}"
    );
    assert!(output.stdout.is_empty(), "it said it listens");
}
