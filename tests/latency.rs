//! The last bytes of every response leave at once. A write flagged "more follows"
//! (`MSG_MORE`) holds a small tail back until the peer ACKs or a ~200 ms kernel timer fires,
//! so a response whose final write carried the flag would stall a keep-alive client that
//! waits for it before sending its next request. Ten sequential requests on one connection
//! take a few milliseconds; ten such stalls would take two seconds.

pub mod common;

use std::time::{Duration, Instant};

use common::*;

const REQUESTS: usize = 10;
/// Far above ten quick responses on a loaded machine, far below ten ~200 ms stalls.
const TEN_RESPONSES_AT_MOST: Duration = Duration::from_secs(1);

/// Sends `request` `REQUESTS` times on one keep-alive connection, each after the previous
/// response is complete, and returns how long the whole exchange took.
fn sequential(server: &Server, request: &str, head_only: bool, status: u16) -> Duration {
    let mut conn = server.connect();
    let started = Instant::now();
    for _ in 0..REQUESTS {
        conn.send(request);
        let response = if head_only {
            conn.read_head_response()
        } else {
            conn.read_response()
        };
        assert_eq!(response.status, status, "{}", response.summary());
        assert!(!response.says_close(), "{}", response.summary());
    }
    started.elapsed()
}

fn assert_quick(what: &str, server: &Server, request: &str, head_only: bool, status: u16) {
    let took = sequential(server, request, head_only, status);
    assert!(
        took < TEN_RESPONSES_AT_MOST,
        "{REQUESTS} sequential {what} responses on one keep-alive connection took {took:?}: \
         the end of a response was held back"
    );
}

fn server_with_files() -> Server {
    let server = Server::start(&[]);
    server.write("small.txt", "a small file\n");
    // Above the in-memory size: the body goes out with sendfile.
    server.write("big.bin", pseudo_random_bytes(100 * 1024, 8));
    server
}

fn request(target: &str, extra: &str) -> String {
    format!("GET {target} HTTP/1.1\r\nHost: localhost\r\n{extra}\r\n")
}

#[test]
fn multipart_ranges_of_a_large_file_end_without_delay() {
    let server = server_with_files();
    let request = request("/big.bin", "Range: bytes=0-10,100-200\r\n");
    assert_quick("multipart", &server, &request, false, 206);
}

#[test]
fn single_ranges_end_without_delay() {
    let server = server_with_files();
    for target in ["/big.bin", "/small.txt"] {
        let request = request(target, "Range: bytes=2-7\r\n");
        assert_quick("single-range", &server, &request, false, 206);
    }
}

#[test]
fn plain_responses_end_without_delay() {
    let server = server_with_files();
    for target in ["/big.bin", "/small.txt"] {
        assert_quick("plain", &server, &request(target, ""), false, 200);
    }
    let head = "HEAD /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n";
    assert_quick("HEAD", &server, head, true, 200);
    assert_quick("404", &server, &request("/missing", ""), false, 404);
    let multipart_small = request("/small.txt", "Range: bytes=0-1,4-5\r\n");
    assert_quick("in-memory multipart", &server, &multipart_small, false, 206);
}
