//! Head, body and keep-alive timeouts (1 to 3 s here, so the suite stays fast).

pub mod common;

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

/// A new connection's first request is due within the head timeout of the accept: the
/// keep-alive timeout applies only between requests.
#[test]
fn connection_without_any_request_is_closed_silently() {
    let server = site(&["--head-timeout", "1", "--keepalive-timeout", "30"]);
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

/// Writes `pieces` one at a time, `interval` apart, on a clone of `conn`'s socket, until they
/// run out, a write fails, or the returned flag is set.
fn dribble(
    conn: &Conn,
    pieces: Vec<Vec<u8>>,
    interval: Duration,
) -> (Arc<AtomicBool>, thread::JoinHandle<()>) {
    let mut stream = conn.stream.try_clone().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let stop_writer = Arc::clone(&stop);
    let writer = thread::spawn(move || {
        use std::io::Write;
        for (i, piece) in pieces.iter().enumerate() {
            if i > 0 {
                thread::sleep(interval);
            }
            if stop_writer.load(Ordering::Relaxed) || stream.write_all(piece).is_err() {
                return;
            }
        }
    });
    (stop, writer)
}

/// Half an empty line every 500 ms for 10 s: fewer complete lines within the deadline than
/// the server accepts before a request line, so only the deadline can end it.
fn crlf_dribble() -> Vec<Vec<u8>> {
    (0..20)
        .map(|i| vec![if i % 2 == 0 { b'\r' } else { b'\n' }])
        .collect()
}

/// Asserts that `conn` gets a 408 with `Connection: close` between 0.8 T and T + 2.5 s
/// after `started`, then the end of the connection.
fn expect_408_after(conn: &mut Conn, started: Instant, timeout: Duration, what: &str) {
    let response = conn.read_response();
    let elapsed = started.elapsed();
    assert_eq!(response.status, 408, "{what}: {}", response.summary());
    assert!(response.says_close(), "{what}: {}", response.summary());
    assert!(
        elapsed >= timeout.mul_f32(0.8) && elapsed <= timeout + Duration::from_millis(2500),
        "{what}: 408 after {elapsed:?}, expected about {timeout:?}"
    );
    conn.wait_closed().unwrap_or_else(|e| panic!("{what}: {e}"));
}

/// The first request's deadline runs from the accept: bytes that start arriving late do not
/// get a fresh head timeout (it would be 5.5 s here).
#[test]
fn first_request_is_due_within_the_head_timeout_of_the_accept() {
    let server = site(&["--head-timeout", "3", "--keepalive-timeout", "30"]);
    let started = Instant::now();
    let mut conn = server.connect();
    thread::sleep(Duration::from_millis(2500));
    conn.send("GET / HTTP/1.1\r\n");
    expect_408_after(
        &mut conn,
        started,
        Duration::from_secs(3),
        "late first head",
    );
}

/// Empty lines before a request line (RFC 9112 §2.2) are bytes of the head: they start the
/// head deadline and never restart it, on a new connection...
#[test]
fn empty_lines_do_not_extend_the_head_deadline_of_a_new_connection() {
    let server = site(&["--head-timeout", "2", "--keepalive-timeout", "30"]);
    let mut conn = server.connect();
    let started = Instant::now();
    let (stop, writer) = dribble(&conn, crlf_dribble(), Duration::from_millis(500));
    expect_408_after(&mut conn, started, Duration::from_secs(2), "empty lines");
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
}

/// ...and between requests, where the head deadline starts with the first byte after the
/// previous request.
#[test]
fn empty_lines_do_not_extend_the_head_deadline_between_requests() {
    let server = site(&["--head-timeout", "2", "--keepalive-timeout", "30"]);
    let mut conn = server.connect();
    assert_eq!(conn.get("/").status, 200);
    let started = Instant::now();
    let (stop, writer) = dribble(&conn, crlf_dribble(), Duration::from_millis(500));
    expect_408_after(&mut conn, started, Duration::from_secs(2), "empty lines");
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
}

/// A few empty lines before a request line are ignored; beyond the cap, 400 and close.
#[test]
fn too_many_empty_lines_before_a_request_are_refused() {
    let server = site(&[]);
    let mut conn = server.connect();
    conn.send(format!("{}{}", "\r\n".repeat(4), get_request("/")));
    let response = conn.read_response();
    assert_eq!(response.status, 200, "{}", response.summary());

    let mut conn = server.connect();
    conn.send(format!("{}{}", "\r\n".repeat(5), get_request("/")));
    let response = conn.read_response();
    assert_eq!(response.status, 400, "{}", response.summary());
    assert!(response.says_close(), "{}", response.summary());
    conn.wait_closed().unwrap();
}

/// A connection that sent only an empty line and timed out gets its 408, and the access log
/// shows it, as any other incomplete head, with the request line "-".
#[test]
fn timed_out_empty_line_is_answered_and_logged() {
    let dir = TempDir::new();
    let log = dir.path().join("access.log");
    let server = site(&["--head-timeout", "1", "--access-log", log.to_str().unwrap()]);
    let mut conn = server.connect();
    let started = Instant::now();
    conn.send("\r\n");
    expect_408_after(&mut conn, started, Duration::from_secs(1), "one empty line");
    poll_lines(&log, |lines| {
        lines.iter().any(|line| line.contains("\"-\" 408 "))
    });
}

/// The body timeout bounds the whole body, from the end of its head: a byte every 500 ms
/// does not keep a 1 MB body alive.
#[test]
fn slow_body_is_bounded_as_a_whole() {
    let server = site(&["--body-timeout", "2"]);
    let mut conn = server.connect();
    conn.send("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n");
    let started = Instant::now();
    let pieces = (0..20).map(|_| b"x".to_vec()).collect();
    let (stop, writer) = dribble(&conn, pieces, Duration::from_millis(500));
    expect_408_after(&mut conn, started, Duration::from_secs(2), "slow body");
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
}

/// A body that stops short of its length, or a chunked body without its last chunk, ends at
/// the body deadline with 408 and close; the request is not answered as if it were complete.
#[test]
fn incomplete_body_gets_408_at_the_body_deadline() {
    let server = site(&["--body-timeout", "1"]);
    for request in [
        "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhello",
        "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
    ] {
        let mut conn = server.connect();
        let started = Instant::now();
        conn.send(request);
        expect_408_after(&mut conn, started, Duration::from_secs(1), request);
    }
}
