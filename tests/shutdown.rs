//! Graceful shutdown on SIGTERM and SIGINT: in-flight responses finish, idle connections and
//! the listener close, the process exits 0; a second signal or `--drain-timeout` cuts the
//! drain short.

pub mod common;

use std::io::{self, Read};
use std::net::TcpStream;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use common::*;

const SMALL: &str = "small file body\n";
const MIB: usize = 1024 * 1024;

fn site(extra: &[&str]) -> Server {
    let server = Server::start(extra);
    server.write("small.txt", SMALL);
    server
}

/// A keep-alive connection that has completed one request and is now idle.
fn idle_keepalive(server: &Server) -> Conn {
    let mut conn = server.connect();
    let response = conn.get("/small.txt");
    assert_eq!(response.status, 200, "{}", response.summary());
    assert!(!response.says_close(), "{}", response.summary());
    conn
}

fn assert_exit_0(status: ExitStatus, server: &Server) {
    assert!(
        status.success(),
        "expected exit status 0 after the drain, got {status:?}; stderr: {:?}",
        server.stderr()
    );
}

/// Waits up to `timeout` for the server to exit; panics naming `what` if it does not.
fn expect_exit(server: &mut Server, timeout: Duration, what: &str) -> ExitStatus {
    server.wait_exit(timeout).unwrap_or_else(|| {
        panic!(
            "{what}: the server is still running after {timeout:?}; stderr: {:?}",
            server.stderr()
        )
    })
}

/// Waits until the response on `conn` has started (a byte is readable), so it is certainly
/// in flight.
fn wait_until_sending(conn: &Conn) {
    let mut byte = [0u8; 1];
    match conn.stream.peek(&mut byte) {
        Ok(1) => {}
        other => panic!("expected the response to start, got {other:?}"),
    }
}

/// After the listener has closed, a new client gets no service: the connection is refused,
/// or (if it slipped into a backlog) ends or stays silent without a response.
fn assert_no_new_service(server: &Server) {
    let stream = match TcpStream::connect_timeout(&server.addr(), Duration::from_secs(1)) {
        Err(_) => return, // refused: the listener is closed
        Ok(stream) => stream,
    };
    let mut conn = Conn::from_stream(stream);
    conn.set_read_timeout(Duration::from_millis(500));
    if conn.try_send(get_close_request("/small.txt")).is_err() {
        return;
    }
    match conn.try_read_response(false) {
        Read1::Response(r) => panic!(
            "a connection made after the signal was served: {}",
            r.summary()
        ),
        Read1::Eof | Read1::Error(..) => {}
    }
}

/// (6) SIGTERM during a 32 MiB download that the client reads slowly: the download completes
/// byte-exact, new clients get no service, and the process exits 0 soon after.
#[test]
fn sigterm_lets_an_in_flight_download_finish_then_exits_0() {
    const BIG: usize = 32 * MIB;
    const SIGNAL_AT: usize = 4 * MIB;
    let mut server = site(&[]);
    let body = Arc::new(pseudo_random_bytes(BIG, 6));
    server.write("big.bin", &*body);

    // A small receive window keeps the server well behind the reader.
    let mut conn = Conn::connect_with_rcvbuf(server.addr(), 64 * 1024);
    conn.send(get_request("/big.bin"));
    let progress = Arc::new(AtomicUsize::new(0));
    let reader = {
        let body = Arc::clone(&body);
        let progress = Arc::clone(&progress);
        thread::spawn(move || -> Result<Instant, String> {
            let mut stream = conn.stream;
            let (response, first) = read_head_from(&mut stream)?;
            if response.status != 200 || response.content_length() != Some(BIG as u64) {
                return Err(format!("unexpected head: {}", response.summary()));
            }
            let mut buf = vec![0u8; 64 * 1024];
            let mut offset = first.len();
            if first[..] != body[..offset] {
                return Err("the first body bytes differ".into());
            }
            while offset < BIG {
                let want = buf.len().min(BIG - offset);
                let n = stream
                    .read(&mut buf[..want])
                    .map_err(|e| format!("after {offset} of {BIG} body bytes: {e}"))?;
                if n == 0 {
                    return Err(format!("EOF after {offset} of {BIG} body bytes"));
                }
                if buf[..n] != body[offset..offset + n] {
                    return Err(format!(
                        "body differs within bytes {offset}..{}",
                        offset + n
                    ));
                }
                offset += n;
                progress.store(offset, Ordering::SeqCst);
                // Slow-ish: 32 MiB in 64 KiB reads with a pause each takes well over a second.
                thread::sleep(Duration::from_millis(2));
            }
            let finished = Instant::now();
            // The drain closes the connection once the response is out.
            match stream.read(&mut buf) {
                Ok(0) => Ok(finished),
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => Ok(finished),
                Ok(n) => Err(format!("{n} unexpected bytes after the body")),
                Err(e) => Err(format!("after the body, expected EOF: {e}")),
            }
        })
    };

    let deadline = Instant::now() + Duration::from_secs(10);
    while progress.load(Ordering::SeqCst) < SIGNAL_AT {
        assert!(
            Instant::now() < deadline && !reader.is_finished(),
            "the download did not reach {SIGNAL_AT} bytes: {:?}",
            reader.is_finished().then(|| reader.join())
        );
        thread::sleep(Duration::from_millis(1));
    }
    server.signal(libc::SIGTERM);
    let signalled = Instant::now();
    thread::sleep(Duration::from_millis(200));
    assert!(
        server.try_wait().is_none(),
        "the server exited while a download was in flight"
    );
    assert!(
        progress.load(Ordering::SeqCst) < BIG,
        "the download finished before the checks after the signal: make the client slower"
    );
    assert_no_new_service(&server);

    let finished = match reader.join().expect("reader thread") {
        Ok(finished) => finished,
        Err(e) => panic!("the download in flight at SIGTERM failed: {e}"),
    };
    let status = expect_exit(&mut server, Duration::from_secs(3), "after the download");
    let exited_after_download = finished.elapsed();
    assert_exit_0(status, &server);
    eprintln!(
        "download finished {:?} after SIGTERM; exit {exited_after_download:?} later",
        finished - signalled
    );
    assert!(
        exited_after_download < Duration::from_secs(1),
        "the server exited {exited_after_download:?} after the last download finished"
    );
}

/// (7) SIGTERM with only idle keep-alive connections: they are closed and the process exits 0
/// at once.
#[test]
fn sigterm_closes_idle_keepalive_connections_and_exits_0() {
    let mut server = site(&[]);
    let mut conns: Vec<Conn> = (0..3).map(|_| idle_keepalive(&server)).collect();
    server.signal(libc::SIGTERM);
    let signalled = Instant::now();
    for (i, conn) in conns.iter_mut().enumerate() {
        conn.set_read_timeout(Duration::from_secs(2));
        conn.wait_closed()
            .unwrap_or_else(|e| panic!("idle connection {i} after SIGTERM: {e}"));
    }
    let closed_after = signalled.elapsed();
    assert!(
        closed_after < Duration::from_secs(1),
        "idle connections were closed {closed_after:?} after SIGTERM"
    );
    let status = expect_exit(
        &mut server,
        Duration::from_secs(2),
        "SIGTERM with idle conns",
    );
    let exited_after = signalled.elapsed();
    assert_exit_0(status, &server);
    assert!(
        exited_after < Duration::from_millis(1500),
        "the server took {exited_after:?} to exit with only idle connections"
    );
}

/// (7b) A connection that has sent nothing yet does not hold up the exit: it is given a
/// moment (300 ms) for a request already on the way, then closed.
#[test]
fn sigterm_closes_a_connection_that_sent_nothing() {
    let mut server = site(&[]);
    let listener = server.socket_inodes();
    let mut silent = server.connect();
    // Make sure the server has taken it before the signal.
    server.wait_for_new_socket(&listener, Duration::from_secs(5));
    server.signal(libc::SIGTERM);
    let signalled = Instant::now();
    silent.set_read_timeout(Duration::from_secs(3));
    silent
        .wait_closed()
        .unwrap_or_else(|e| panic!("silent connection after SIGTERM: {e}"));
    let status = expect_exit(&mut server, Duration::from_secs(2), "SIGTERM");
    assert_exit_0(status, &server);
    assert!(
        signalled.elapsed() < Duration::from_millis(1500),
        "exit took {:?} with one silent connection",
        signalled.elapsed()
    );
}

/// (8) SIGINT does what SIGTERM does.
#[test]
fn sigint_closes_idle_connections_and_exits_0() {
    let mut server = site(&[]);
    let mut conn = idle_keepalive(&server);
    server.signal(libc::SIGINT);
    let signalled = Instant::now();
    conn.set_read_timeout(Duration::from_secs(2));
    conn.wait_closed()
        .unwrap_or_else(|e| panic!("idle connection after SIGINT: {e}"));
    let status = expect_exit(&mut server, Duration::from_secs(2), "SIGINT");
    assert_exit_0(status, &server);
    assert!(
        signalled.elapsed() < Duration::from_millis(1500),
        "exit took {:?} after SIGINT",
        signalled.elapsed()
    );
    assert_no_new_service(&server);
}

/// A connection that asks for a 64 MiB (sparse) file and never reads: its response can only
/// end by a timeout.
fn stalled_download(server: &Server) -> Conn {
    let path = server.root().join("big.bin");
    let file = std::fs::File::create(&path).expect("create big.bin");
    file.set_len(64 * MIB as u64).expect("set_len big.bin");
    let mut conn = Conn::connect_with_rcvbuf(server.addr(), 16 * 1024);
    conn.send(get_request("/big.bin"));
    wait_until_sending(&conn);
    conn
}

/// (9) A second signal during a drain ends the process at once, not after `--drain-timeout`.
#[test]
fn second_signal_during_drain_ends_the_process_at_once() {
    let mut server = site(&["--drain-timeout", "30"]);
    let _stalled = stalled_download(&server);
    server.signal(libc::SIGTERM);
    thread::sleep(Duration::from_millis(200));
    assert!(
        server.try_wait().is_none(),
        "the server exited on the first SIGTERM although a response was in flight \
         (--drain-timeout 30)"
    );
    server.signal(libc::SIGTERM);
    let second = Instant::now();
    let status = expect_exit(&mut server, Duration::from_secs(2), "second SIGTERM");
    let took = second.elapsed();
    eprintln!(
        "second SIGTERM: exit after {took:?} with {status:?} (signal {:?})",
        status.signal()
    );
    assert!(
        took < Duration::from_secs(1),
        "the process took {took:?} to end after the second SIGTERM"
    );
}

/// (10) `--drain-timeout 1`: a response that can never finish does not keep the process
/// alive; it exits 0 after about a second.
#[test]
fn drain_timeout_ends_a_stalled_drain_with_exit_0() {
    let mut server = site(&["--drain-timeout", "1"]);
    let _stalled = stalled_download(&server);
    server.signal(libc::SIGTERM);
    let signalled = Instant::now();
    thread::sleep(Duration::from_millis(500));
    assert!(
        server.try_wait().is_none(),
        "the server exited 500 ms after SIGTERM although a response was in flight and \
         --drain-timeout is 1 s"
    );
    let status = expect_exit(
        &mut server,
        Duration::from_millis(2500),
        "--drain-timeout 1",
    );
    let took = signalled.elapsed();
    assert_exit_0(status, &server);
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(3),
        "exit {took:?} after SIGTERM with --drain-timeout 1"
    );
}

/// The first signal says what the server is doing and how to cut it short; when the drain
/// time runs out, it says what was cut short, counted in connections.
#[test]
fn shutdown_says_what_it_drains_and_what_it_cut_short() {
    let mut server = site(&["--drain-timeout", "1"]);
    let _stalled = stalled_download(&server);
    let _idle = idle_keepalive(&server);
    server.signal(libc::SIGTERM);
    let status = expect_exit(&mut server, Duration::from_secs(3), "--drain-timeout 1");
    assert_exit_0(status, &server);
    let stderr = server.stderr();
    assert!(
        stderr.contains("shutting down (SIGTERM): draining 2 connections for up to 1 s")
            && stderr.contains("signal again to stop now"),
        "stderr: {stderr:?}"
    );
    assert!(
        stderr.contains("drain timeout: closed 1 connection that was still busy"),
        "stderr: {stderr:?}"
    );
}

/// A connection that has sent only part of a request head when the drain time runs out is
/// cut short too, and the error log does not call it a response in progress.
#[test]
fn drain_timeout_counts_a_partial_head_as_busy_not_as_a_response() {
    let mut server = site(&["--drain-timeout", "1"]);
    let mut partial = server.connect();
    partial.send("GET /small.txt HTTP/1.1\r\n");
    let mut second = server.connect();
    second.send("GET /small.txt HTTP/1.1\r\nHost: x\r\n");
    // Let the server read both starts before the signal.
    thread::sleep(Duration::from_millis(200));
    server.signal(libc::SIGTERM);
    let status = expect_exit(&mut server, Duration::from_secs(3), "--drain-timeout 1");
    assert_exit_0(status, &server);
    let stderr = server.stderr();
    assert!(
        stderr.contains("drain timeout: closed 2 connections that were still busy")
            && !stderr.contains("in progress"),
        "stderr: {stderr:?}"
    );
}
