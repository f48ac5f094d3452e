//! SIGUSR2: a new server process takes over the listening socket while the old one drains,
//! with no connection refused and no request that was sent left unanswered, under load; and
//! a new process that cannot start leaves the old one serving.

pub mod common;

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use common::*;

/// How long the client keeps making requests; the signal comes in the middle.
const LOAD: Duration = Duration::from_secs(3);

/// Kills a process on drop, so a failing test leaves no new server behind.
struct Reaper(libc::pid_t);

impl Drop for Reaper {
    fn drop(&mut self) {
        // SAFETY: kill takes no pointers; the pid is the new server this test started.
        unsafe { libc::kill(self.0, libc::SIGKILL) };
    }
}

/// What the client saw.
#[derive(Debug, Default)]
struct Tally {
    answered: usize,
    /// Keep-alive connections the old server closed before our next request was read
    /// (a clean close, or a reset of a request sent into the close): retried on a new
    /// connection, as RFC 9112 §9.3.1 allows for idempotent requests and proxies do.
    retried: usize,
    /// Connections refused, and requests sent on a new connection and not answered.
    failures: Vec<String>,
}

/// A client making sequential requests until `stop`: two on each keep-alive connection, then
/// a new connection.
fn load(addr: SocketAddr, stop: &AtomicBool) -> Tally {
    let mut tally = Tally::default();
    while !stop.load(Ordering::Relaxed) {
        let stream = match TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
            Ok(stream) => stream,
            Err(e) => {
                tally.failures.push(format!("connect: {e}"));
                continue;
            }
        };
        let mut conn = Conn::from_stream(stream);
        for reused in [false, true] {
            let sent = conn.try_send(get_request("/a.txt"));
            let read = match sent {
                Ok(()) => conn.try_read_response(false),
                Err(e) => Read1::Error(e, Vec::new()),
            };
            match read {
                Read1::Response(response) if response.status == 200 => tally.answered += 1,
                Read1::Response(response) => tally
                    .failures
                    .push(format!("status: {}", response.summary())),
                Read1::Eof if reused => {
                    tally.retried += 1;
                    break;
                }
                Read1::Error(e, partial) if reused && partial.is_empty() && is_reset(&e) => {
                    tally.retried += 1;
                    break;
                }
                Read1::Eof => tally.failures.push("closed unanswered".into()),
                Read1::Error(e, partial) => tally.failures.push(format!(
                    "{e} after {} response bytes (reused: {reused})",
                    partial.len()
                )),
            }
        }
    }
    tally
}

fn is_reset(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
    )
}

/// The pid in the old server's `SIGUSR2: started PATH as process PID` line.
fn new_pid(server: &Server) -> Option<libc::pid_t> {
    let stderr = server.stderr();
    let line = stderr.lines().find(|l| l.contains("SIGUSR2: started"))?;
    let after = line.split(" as process ").nth(1)?;
    after.split(';').next()?.trim().parse().ok()
}

fn alive(pid: libc::pid_t) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|stat| !stat.rsplit(')').next().unwrap_or("").starts_with(" Z"))
}

#[test]
fn sigusr2_hands_the_socket_to_a_new_process_without_failing_a_request() {
    let mut server = Server::builder().capture_stdout().start();
    server.write("a.txt", "alpha\n");
    let addr = server.addr();
    let stop = Arc::new(AtomicBool::new(false));
    let client = {
        let stop = Arc::clone(&stop);
        thread::spawn(move || load(addr, &stop))
    };
    thread::sleep(LOAD / 3);
    server.signal(libc::SIGUSR2);
    let status = server.wait_exit(Duration::from_secs(10));
    let new = new_pid(&server);
    let _reaper = new.map(Reaper);
    thread::sleep(LOAD / 3);
    stop.store(true, Ordering::Relaxed);
    let tally = client.join().expect("client thread");

    assert!(
        status.is_some_and(|s| s.success()),
        "the old server did not exit 0 after the upgrade: {status:?}; stderr: {}",
        server.stderr()
    );
    let new = new.unwrap_or_else(|| panic!("no new process started: {}", server.stderr()));
    assert!(alive(new), "the new server {new} is not running");
    assert_eq!(
        server.stdout_line(Duration::from_secs(2)).as_deref(),
        Some(server.listening_line()),
        "the new server announces the same address"
    );
    assert!(tally.failures.is_empty(), "failed requests: {tally:?}");
    assert!(tally.answered > 100, "too little load to tell: {tally:?}");
    // The old one is gone: whatever answers now is the new process.
    assert_eq!(Conn::connect(addr).get("/a.txt").status, 200);
}

#[test]
fn a_new_process_that_cannot_start_leaves_the_old_one_serving() {
    let mut server = Server::start(&[]);
    // The new process opens the root at start-up, and fails without it.
    std::fs::remove_dir(server.root()).expect("remove the root");
    server.signal(libc::SIGUSR2);
    let started = Instant::now();
    while !server.stderr().contains("serving on") && started.elapsed() < Duration::from_secs(10) {
        thread::sleep(Duration::from_millis(20));
    }
    let stderr = server.stderr();
    assert!(
        stderr.contains("exited before serving; serving on"),
        "stderr: {stderr}"
    );
    assert!(server.try_wait().is_none(), "the old server stopped");
    server.assert_alive();
}
