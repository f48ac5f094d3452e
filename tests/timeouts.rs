//! Head and keep-alive timeouts (1 s each here, so the suite stays fast).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use common::*;

const INDEX: &str = "<h1>index</h1>\n";
/// The server's timers are whole seconds; allow for a busy machine on the late side.
const EARLIEST: Duration = Duration::from_millis(900);
const LATEST: Duration = Duration::from_secs(3);

fn site(extra: &[&str]) -> Server {
    let server = Server::start(extra);
    server.write("index.html", INDEX);
    server
}

fn assert_within_window(elapsed: Duration, what: &str) {
    assert!(
        elapsed >= EARLIEST && elapsed <= LATEST,
        "{what} after {elapsed:?}, expected between {EARLIEST:?} and {LATEST:?}"
    );
}

#[test]
fn stalled_head_gets_408_and_close() {
    let server = site(&["--head-timeout", "1"]);
    let mut conn = server.connect();
    let started = Instant::now();
    conn.send("GET / HTTP/1.1\r\nHost: loc");
    let response = conn.read_response();
    let elapsed = started.elapsed();
    assert_eq!(response.status, 408, "{}", response.summary());
    assert!(response.says_close(), "{}", response.summary());
    assert_within_window(elapsed, "408");
    conn.expect_eof();
    server.assert_alive();
}

#[test]
fn slowly_trickled_head_within_timeout_is_served() {
    let server = site(&["--head-timeout", "1"]);
    let mut conn = server.connect();
    let request = get_request("/index.html");
    let bytes = request.as_bytes();
    let pieces = 10;
    let size = bytes.len().div_ceil(pieces);
    for (i, piece) in bytes.chunks(size).enumerate() {
        if i > 0 {
            thread::sleep(Duration::from_millis(50));
        }
        conn.send(piece);
    }
    let response = conn.read_response();
    assert_eq!(response.status, 200, "{}", response.summary());
    assert_eq!(response.body, INDEX.as_bytes());
}

/// The head timeout runs from the first byte of the head: bytes that keep arriving do not
/// extend it (slowloris).
#[test]
fn head_timeout_is_not_reset_by_each_byte() {
    let server = site(&["--head-timeout", "1"]);
    let mut conn = server.connect();
    let writer_stream = conn.stream.try_clone().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let stop_writer = Arc::clone(&stop);
    let started = Instant::now();
    let writer = thread::spawn(move || {
        use std::io::Write;
        let mut stream = writer_stream;
        let head = format!(
            "GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: {}",
            "z".repeat(200)
        );
        for byte in head.bytes() {
            if stop_writer.load(Ordering::Relaxed) || stream.write_all(&[byte]).is_err() {
                return;
            }
            thread::sleep(Duration::from_millis(100));
        }
    });
    let response = conn.read_response();
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    assert_eq!(response.status, 408, "{}", response.summary());
    assert_within_window(elapsed, "408 for a trickled head");
}

#[test]
fn idle_keepalive_connection_is_closed_silently() {
    let server = site(&["--keepalive-timeout", "1"]);
    let mut conn = server.connect();
    let response = conn.get("/");
    assert_eq!(response.status, 200);
    let started = Instant::now();
    conn.expect_eof();
    assert_within_window(started.elapsed(), "close of the idle connection");
    server.assert_alive();
}

#[test]
fn connection_without_any_request_is_closed_silently() {
    let server = site(&["--keepalive-timeout", "1"]);
    let started = Instant::now();
    let mut conn = server.connect();
    conn.expect_eof();
    assert_within_window(started.elapsed(), "close of the silent connection");
}

#[test]
fn activity_keeps_a_connection_alive() {
    // Requests 600 ms apart on a 1 s keep-alive timeout: each one restarts the idle clock.
    let server = site(&["--keepalive-timeout", "1"]);
    let mut conn = server.connect();
    for _ in 0..3 {
        assert_eq!(conn.get("/").status, 200);
        thread::sleep(Duration::from_millis(600));
    }
    assert_eq!(conn.get("/").status, 200);
}
