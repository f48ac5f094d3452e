//! Persistent connections, Connection: close, HTTP/1.0, pipelining and trickled requests.

pub mod common;

use std::thread;
use std::time::{Duration, Instant};

use common::*;

const FILES: [(&str, &str); 3] = [
    ("/a.txt", "first file: aaaa\n"),
    ("/b.txt", "second file, a little longer: bbbbbbbb\n"),
    ("/c.html", "<p>third</p>\n"),
];

fn site() -> Server {
    let server = Server::start(&[]);
    server.write("index.html", "<h1>index</h1>\n");
    for (path, body) in FILES {
        server.write(&path[1..], body);
    }
    server
}

#[test]
fn http11_connection_serves_sequential_requests() {
    let server = site();
    let mut conn = server.connect();
    let local = conn.stream.local_addr().unwrap();
    for (path, body) in FILES {
        let response = conn.get(path);
        assert_eq!(response.status, 200, "{path}: {}", response.summary());
        assert_eq!(response.body, body.as_bytes(), "{path}");
        assert!(!response.says_close(), "{}", response.summary());
    }
    assert_eq!(conn.stream.local_addr().unwrap(), local);
    // Still open: a fourth request works too.
    assert_eq!(conn.get("/a.txt").status, 200);
}

#[test]
fn connection_close_is_honoured() {
    let server = site();
    let mut conn = server.connect();
    conn.send(get_close_request("/a.txt"));
    let response = conn.read_response();
    assert_eq!(response.status, 200);
    assert_eq!(response.body, FILES[0].1.as_bytes());
    assert!(response.says_close(), "{}", response.summary());
    conn.expect_eof();
}

#[test]
fn requests_after_connection_close_are_not_answered() {
    let server = site();
    let mut conn = server.connect();
    conn.send(format!(
        "{}{}",
        get_close_request("/a.txt"),
        get_request("/b.txt")
    ));
    let responses = conn.read_until_close();
    assert_eq!(responses.len(), 1, "only the first request is answered");
    assert_eq!(responses[0].body, FILES[0].1.as_bytes());
}

#[test]
fn http10_closes_by_default() {
    let server = site();
    let mut conn = server.connect();
    conn.send("GET /a.txt HTTP/1.0\r\n\r\n");
    let response = conn.read_response();
    assert_eq!(response.status, 200, "{}", response.summary());
    assert_eq!(response.body, FILES[0].1.as_bytes());
    assert!(
        !response
            .header_all("connection")
            .any(|v| v.eq_ignore_ascii_case("keep-alive")),
        "{}",
        response.summary()
    );
    conn.expect_eof();
}

#[test]
fn http10_keep_alive_is_honoured() {
    let server = site();
    let mut conn = server.connect();
    conn.send("GET /a.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    let response = conn.read_response();
    assert_eq!(response.status, 200, "{}", response.summary());
    assert_eq!(response.body, FILES[0].1.as_bytes());
    assert!(
        response
            .header_all("connection")
            .any(|v| v.eq_ignore_ascii_case("keep-alive")),
        "HTTP/1.0 keep-alive must be confirmed: {}",
        response.summary()
    );

    conn.send("GET /b.txt HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
    let response = conn.read_response();
    assert_eq!(response.status, 200);
    assert_eq!(response.body, FILES[1].1.as_bytes());

    // A final 1.0 request without keep-alive ends the connection.
    conn.send("GET /c.html HTTP/1.0\r\n\r\n");
    let response = conn.read_response();
    assert_eq!(response.body, FILES[2].1.as_bytes());
    conn.expect_eof();
}

#[test]
fn fifty_pipelined_requests_in_one_write() {
    let server = site();
    let mut conn = server.connect();
    let order: Vec<usize> = (0..50).map(|i| (i * 7 + i / 3) % FILES.len()).collect();
    let mut batch = String::new();
    for &i in &order {
        batch.push_str(&get_request(FILES[i].0));
    }
    conn.send(batch);
    for (n, &i) in order.iter().enumerate() {
        let response = conn.read_response();
        assert_eq!(response.status, 200, "response {n}: {}", response.summary());
        assert_eq!(
            response.body,
            FILES[i].1.as_bytes(),
            "response {n} should be {}",
            FILES[i].0
        );
    }
    assert!(conn.buffered().is_empty(), "bytes beyond 50 responses");
    // The connection is still usable.
    let response = conn.get("/index.html");
    assert_eq!(response.body, b"<h1>index</h1>\n");
}

#[test]
fn pipeline_larger_than_the_input_buffer() {
    // ~1000 requests (tens of KiB) written while the responses are read concurrently, so
    // neither side can stall the other on full socket buffers.
    let server = site();
    let mut conn = server.connect();
    let count = 1000;
    let mut batch = String::new();
    for n in 0..count {
        batch.push_str(&get_request(FILES[n % FILES.len()].0));
    }
    assert!(batch.len() > 32 * 1024);
    let mut writer = conn.stream.try_clone().unwrap();
    let sender = thread::spawn(move || {
        use std::io::Write;
        writer.write_all(batch.as_bytes()).expect("write pipeline");
    });
    for n in 0..count {
        let response = conn.read_response();
        assert_eq!(response.status, 200, "response {n}: {}", response.summary());
        assert_eq!(
            response.body,
            FILES[n % FILES.len()].1.as_bytes(),
            "response {n}"
        );
    }
    sender.join().unwrap();
    assert_eq!(conn.get("/a.txt").body, FILES[0].1.as_bytes());
}

#[test]
fn request_sent_one_byte_at_a_time() {
    let server = site();
    let mut conn = server.connect();
    let request = "GET /b.txt HTTP/1.1\r\nHost: localhost\r\nUser-Agent: trickle\r\n\r\n";
    for byte in request.as_bytes() {
        conn.send([*byte]);
        thread::sleep(Duration::from_millis(1));
    }
    let response = conn.read_response();
    assert_eq!(response.status, 200, "{}", response.summary());
    assert_eq!(response.body, FILES[1].1.as_bytes());
    // And a second one on the same connection, also byte by byte.
    for byte in get_request("/a.txt").as_bytes() {
        conn.send([*byte]);
        thread::sleep(Duration::from_millis(1));
    }
    let response = conn.read_response();
    assert_eq!(response.body, FILES[0].1.as_bytes());
}

#[test]
fn empty_lines_before_request_line_are_ignored() {
    let server = site();
    let mut conn = server.connect();
    conn.send(format!("\r\n\r\n{}", get_request("/a.txt")));
    let response = conn.read_response();
    assert_eq!(response.status, 200, "{}", response.summary());
    assert_eq!(response.body, FILES[0].1.as_bytes());

    // Between pipelined requests as well.
    conn.send(format!(
        "{}\r\n{}",
        get_request("/b.txt"),
        get_request("/c.html")
    ));
    let first = conn.read_response();
    let second = conn.read_response();
    assert_eq!(first.body, FILES[1].1.as_bytes());
    assert_eq!(second.status, 200, "{}", second.summary());
    assert_eq!(second.body, FILES[2].1.as_bytes());

    // Sent separately, after the previous response.
    conn.send("\r\n");
    thread::sleep(Duration::from_millis(20));
    conn.send(get_request("/a.txt"));
    let response = conn.read_response();
    assert_eq!(response.status, 200, "{}", response.summary());
    assert_eq!(response.body, FILES[0].1.as_bytes());
}

/// A request body is read before its response is sent: a client that writes its whole body
/// before reading would otherwise block on the server while the server blocks on it, until the
/// send timeout. Here a 16 MiB body on a GET for an 8 MiB file, with a small receive window:
/// more than the socket buffers on both sides can absorb. The request pipelined after the body is answered next.
#[test]
fn whole_body_written_before_reading_does_not_deadlock() {
    let send_timeout = Duration::from_secs(5);
    let server = Server::start(&["--send-timeout", "5", "--max-body-bytes", "16777216"]);
    let big = pseudo_random_bytes(8 * 1024 * 1024, 8);
    server.write("big.bin", &big);
    server.write("a.txt", FILES[0].1);
    let mut conn = Conn::connect_with_rcvbuf(server.addr(), 64 * 1024);
    let body_len = 16 * 1024 * 1024;
    let mut request =
        format!("GET /big.bin HTTP/1.1\r\nHost: localhost\r\nContent-Length: {body_len}\r\n\r\n")
            .into_bytes();
    request.extend(std::iter::repeat_n(b'b', body_len));
    request.extend_from_slice(get_request("/a.txt").as_bytes());
    let started = Instant::now();
    conn.try_send(&request)
        .unwrap_or_else(|e| panic!("writing the body failed after {:?}: {e}", started.elapsed()));
    let response = conn.read_response();
    assert_eq!(response.status, 200, "{}", response.summary());
    assert!(response.body == big, "the file arrived damaged");
    let next = conn.read_response();
    assert_eq!(next.body, FILES[0].1.as_bytes());
    let elapsed = started.elapsed();
    assert!(
        elapsed < send_timeout,
        "body and responses took {elapsed:?}, as long as the send timeout"
    );
    assert_eq!(conn.get("/a.txt").status, 200, "still open");
}

/// Framing is judged before the method: a request whose chunked body is malformed gets 400
/// and a close, never the 405 its method would have got, whatever follows it.
#[test]
fn malformed_chunked_body_is_400_whatever_the_method() {
    let server = site();
    for method in ["POST", "PUT", "GET", "BREW"] {
        for body in [
            "zz\r\n",
            "10000000000000000\r\n",
            "5;a\nb\r\nhello\r\n0\r\n\r\n",
            "5;a=\"b\"c\r\nhello\r\n0\r\n\r\n",
            "5\r\nhello\n0\r\n\r\n",
            "5\rhello\r\n0\r\n\r\n",
            "5\r\nhelloXX\r\n",
        ] {
            let mut conn = server.connect();
            conn.send(format!(
                "{method} /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n{body}{}",
                get_request("/b.txt")
            ));
            let responses = conn.read_until_close();
            let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
            assert_eq!(statuses, [400], "{method} with body {body:?}");
            assert!(responses[0].says_close(), "{}", responses[0].summary());
        }
    }
}

/// A well-framed body is read first, then the method is judged: 405, and the connection stays
/// open for the request pipelined after the body.
#[test]
fn post_with_a_body_gets_405_after_its_body() {
    let server = site();
    let mut conn = server.connect();
    conn.send(format!(
        "POST /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n{}",
        get_request("/b.txt")
    ));
    let refused = conn.read_response();
    assert_eq!(refused.status, 405, "{}", refused.summary());
    let next = conn.read_response();
    assert_eq!(next.status, 200, "{}", next.summary());
    assert_eq!(next.body, FILES[1].1.as_bytes());
}
