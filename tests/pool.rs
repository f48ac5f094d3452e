//! The worker pool seen from outside: a job whose connection has gone finishes without
//! harm. (A job that panics answers 500: no request can make a job panic, so that path is
//! covered by the pool's own unit tests, `runtime::pool::tests`.)

pub mod common;

use std::time::{Duration, Instant};

use common::*;

fn open_fds(server: &Server) -> usize {
    std::fs::read_dir(format!("/proc/{}/fd", server.pid()))
        .unwrap()
        .count()
}

#[test]
fn a_job_outlives_its_connection_without_harm() {
    // The largest file compressed whole, at the slowest level: its job runs long enough for
    // the client to be gone when it ends.
    let server = Server::start(&["--compress-level", "9", "--threads", "1"]);
    let text: Vec<u8> = (0..8 * 1024 * 1024 / 64)
        .flat_map(|i| {
            format!("{i:>12} a line of text that compresses, more or less\n").into_bytes()
        })
        .take(8 * 1024 * 1024)
        .collect();
    server.write("big.txt", &text);
    server.write("small.txt", "x".repeat(100));
    assert_eq!(server.get("/small.txt").status, 200);
    let baseline = open_fds(&server);

    let mut conn = server.connect();
    conn.send("GET /big.txt HTTP/1.1\r\nHost: x\r\nAccept-Encoding: br\r\n\r\n");
    std::thread::sleep(Duration::from_millis(100));
    drop(conn);
    // While the job runs, the loop answers others.
    assert_eq!(server.get("/small.txt").status, 200);
    let deadline = Instant::now() + Duration::from_secs(30);
    while open_fds(&server) > baseline {
        assert!(Instant::now() < deadline, "fds were not released");
        std::thread::sleep(Duration::from_millis(50));
    }
    // The variant made for the client that left serves the next one.
    let response = send_closing(
        server.addr(),
        "GET",
        "/big.txt",
        &[("Accept-Encoding", "br")],
    );
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-encoding"), Some("br"));
    server.assert_alive();
}
