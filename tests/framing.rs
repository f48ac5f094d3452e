//! Message framing: request bodies, smuggling-prone headers, malformed heads, size limits,
//! and things that are not HTTP/1.1 at all.

pub mod common;

use std::time::{Duration, Instant};

use common::*;

const INDEX: &str = "<h1>index</h1>\n";
const B: &str = "bee file\n";

fn site(extra: &[&str]) -> Server {
    let server = Server::start(extra);
    server.write("index.html", INDEX);
    server.write("b.txt", B);
    server
}

/// Sends `bytes` and reads every response until the server closes (the last request in
/// `bytes` should say `Connection: close`).
fn exchange(server: &Server, bytes: impl AsRef<[u8]>) -> Vec<Response> {
    let mut conn = server.connect();
    conn.send(bytes);
    conn.read_until_close()
}

#[test]
fn content_length_body_is_skipped() {
    let server = site(&[]);
    let responses = exchange(
        &server,
        format!(
            "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello{}",
            get_close_request("/b.txt")
        ),
    );
    assert_eq!(responses.len(), 2, "{responses:?}");
    assert_eq!(responses[0].status, 200);
    assert_eq!(responses[0].body, INDEX.as_bytes());
    assert_eq!(responses[1].status, 200, "{}", responses[1].summary());
    assert_eq!(responses[1].body, B.as_bytes());
}

#[test]
fn body_that_looks_like_a_request_is_not_parsed() {
    let server = site(&[]);
    let smuggled = get_request("/b.txt");
    let responses = exchange(
        &server,
        format!(
            "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{smuggled}{}",
            smuggled.len(),
            get_close_request("/")
        ),
    );
    let bodies: Vec<String> = responses.iter().map(Response::body_text).collect();
    assert_eq!(bodies, [INDEX, INDEX], "the body must not be answered");
}

#[test]
fn chunked_body_is_skipped() {
    let server = site(&[]);
    let responses = exchange(
        &server,
        format!(
            "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
             5\r\nhello\r\n0\r\n\r\n{}",
            get_close_request("/b.txt")
        ),
    );
    assert_eq!(responses.len(), 2, "{responses:?}");
    assert_eq!(responses[0].body, INDEX.as_bytes());
    assert_eq!(responses[1].status, 200, "{}", responses[1].summary());
    assert_eq!(responses[1].body, B.as_bytes());

    // A chunked body hiding a request, with an extension and a trailer.
    let smuggled = get_request("/b.txt");
    let responses = exchange(
        &server,
        format!(
            "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
             {:x};ext=1\r\n{smuggled}\r\n0\r\nX-Trailer: t\r\n\r\n{}",
            smuggled.len(),
            get_close_request("/")
        ),
    );
    let bodies: Vec<String> = responses.iter().map(Response::body_text).collect();
    assert_eq!(bodies, [INDEX, INDEX]);
}

/// The body is read before the response is sent, however it is split.
#[test]
fn body_sent_in_pieces_is_read_before_the_response() {
    let server = site(&[]);
    let mut conn = server.connect();
    conn.send("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhello");
    std::thread::sleep(Duration::from_millis(20));
    conn.send(format!("world{}", get_close_request("/b.txt")));
    let responses = conn.read_until_close();
    assert_eq!(responses.len(), 2, "{responses:?}");
    assert_eq!(responses[0].body, INDEX.as_bytes());
    assert_eq!(responses[1].body, B.as_bytes());
}

#[test]
fn content_length_with_transfer_encoding_is_400() {
    let server = site(&[]);
    expect_error_and_close(
        &server,
        "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n\
         5\r\nhello\r\n0\r\n\r\n",
        400,
    );
    expect_error_and_close(
        &server,
        "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
        400,
    );
}

#[test]
fn duplicate_content_length_is_400() {
    let server = site(&[]);
    expect_error_and_close(
        &server,
        "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        400,
    );
    expect_error_and_close(
        &server,
        "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
        400,
    );
}

#[test]
fn malformed_content_length_is_400() {
    let server = site(&[]);
    for value in ["+5", "-1", "5 5", "0x5", "5,5", "abc", ""] {
        expect_error_and_close(
            &server,
            format!("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: {value}\r\n\r\nhello"),
            400,
        );
    }
}

/// RFC 9112 §6.1: a coding we do not implement, in front of the final `chunked`.
#[test]
fn unknown_transfer_coding_is_501() {
    let server = site(&[]);
    expect_error_and_close(
        &server,
        "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        501,
    );
}

#[test]
fn http11_without_host_is_400() {
    let server = site(&[]);
    expect_error_and_close(&server, "GET / HTTP/1.1\r\n\r\n", 400);
    expect_error_and_close(&server, "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", 400);
    // HTTP/1.0 does not require Host.
    let mut conn = server.connect();
    conn.send("GET / HTTP/1.0\r\n\r\n");
    assert_eq!(conn.read_response().status, 200);
}

#[test]
fn two_host_headers_are_400() {
    let server = site(&[]);
    expect_error_and_close(
        &server,
        "GET / HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n",
        400,
    );
}

#[test]
fn whitespace_before_colon_is_400() {
    let server = site(&[]);
    expect_error_and_close(&server, "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400);
    expect_error_and_close(
        &server,
        "GET / HTTP/1.1\r\nHost: x\r\nContent-Length\t: 5\r\n\r\nhello",
        400,
    );
}

#[test]
fn obs_fold_is_400() {
    let server = site(&[]);
    expect_error_and_close(
        &server,
        "GET / HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n  b\r\n\r\n",
        400,
    );
    expect_error_and_close(
        &server,
        "GET / HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n\tb\r\n\r\n",
        400,
    );
}

#[test]
fn bare_lf_is_400() {
    let server = site(&[]);
    expect_error_and_close(&server, "GET / HTTP/1.1\nHost: x\n\n", 400);
    expect_error_and_close(&server, "GET / HTTP/1.1\r\nHost: x\n\r\n", 400);
}

#[test]
fn oversized_header_is_431() {
    let server = site(&[]);
    let long = "a".repeat(9 * 1024);
    expect_error_and_close(
        &server,
        format!("GET / HTTP/1.1\r\nHost: x\r\nX-Long: {long}\r\n\r\n"),
        431,
    );
    // The same, with the head still unfinished when the limit is crossed.
    expect_error_and_close(
        &server,
        format!("GET / HTTP/1.1\r\nHost: x\r\nX-Long: {long}"),
        431,
    );
}

#[test]
fn head_just_under_limit_is_served() {
    let server = site(&[]);
    // 8 KiB minus a margin, spread over a few headers.
    let value = "v".repeat(1000);
    let mut request = String::from("GET / HTTP/1.1\r\nHost: x\r\n");
    for i in 0..7 {
        request.push_str(&format!("X-H{i}: {value}\r\n"));
    }
    request.push_str("\r\n");
    assert!(request.len() < 8 * 1024);
    let mut conn = server.connect();
    conn.send(request);
    let response = conn.read_response();
    assert_eq!(response.status, 200, "{}", response.summary());
}

#[test]
fn oversized_request_line_is_414_while_unfinished() {
    let server = site(&[]);
    let long = "a".repeat(9 * 1024);
    // The request line alone crosses the limit before its CRLF arrives.
    expect_error_and_close(&server, format!("GET /{long}"), 414);
}

/// The whole head arrives at once: the request line is still what is too long (414), even
/// though the head's end is in the buffer too.
#[test]
fn oversized_request_line_is_414() {
    let server = site(&[]);
    let long = "a".repeat(9 * 1024);
    expect_error_and_close(
        &server,
        format!("GET /{long} HTTP/1.1\r\nHost: x\r\n\r\n"),
        414,
    );
}

#[test]
fn too_many_header_lines_is_431() {
    let server = site(&[]);
    // 64 lines (Host + 63) are accepted...
    let mut request = String::from("GET / HTTP/1.1\r\nHost: x\r\n");
    for i in 0..63 {
        request.push_str(&format!("X-N{i}: {i}\r\n"));
    }
    let mut conn = server.connect();
    conn.send(format!("{request}\r\n"));
    let response = conn.read_response();
    assert_eq!(
        response.status,
        200,
        "64 header lines: {}",
        response.summary()
    );
    // ...65 are not.
    request.push_str("X-One-Too-Many: 1\r\n\r\n");
    expect_error_and_close(&server, request, 431);
}

#[test]
fn body_over_max_body_bytes_is_413() {
    let server = site(&["--max-body-bytes", "100"]);
    expect_error_and_close(
        &server,
        format!(
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n{}",
            "x".repeat(101)
        ),
        413,
    );
    expect_error_and_close(
        &server,
        "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n",
        413,
    );
    // Chunked bodies are bounded as well.
    let mut conn = server.connect();
    conn.send(format!(
        "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n65\r\n{}\r\n0\r\n\r\n{}",
        "x".repeat(101),
        get_request("/b.txt")
    ));
    let responses = conn.read_until_close();
    assert!(
        responses.len() <= 2 && responses.iter().all(|r| r.body != B.as_bytes()),
        "a chunked body over the limit must end the connection: {:?}",
        responses.iter().map(Response::summary).collect::<Vec<_>>()
    );
    // Exactly at the limit: accepted and skipped.
    let responses = exchange(
        &server,
        format!(
            "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{}{}",
            "x".repeat(100),
            get_close_request("/b.txt")
        ),
    );
    assert_eq!(responses.len(), 2);
    assert_eq!(responses[0].status, 200, "{}", responses[0].summary());
    assert_eq!(responses[1].body, B.as_bytes());
}

#[test]
fn malformed_chunked_body_closes_the_connection() {
    let server = site(&[]);
    for body in ["zz\r\n", "5\r\nhelloXX\r\n", "5\nhello\n0\n\n", "-1\r\n"] {
        let mut conn = server.connect();
        conn.send(format!(
            "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n{body}{}",
            get_request("/b.txt")
        ));
        let responses = conn.read_until_close();
        assert_eq!(
            responses.len(),
            1,
            "body {body:?}: only the first request may be answered: {:?}",
            responses.iter().map(Response::summary).collect::<Vec<_>>()
        );
        // The body is read before the response: its error is the answer.
        assert_eq!(responses[0].status, 400, "{}", responses[0].summary());
    }
    server.assert_alive();
}

#[test]
fn expect_100_continue_gets_final_response() {
    let server = site(&[]);
    let mut conn = server.connect();
    // The body is held back, as a client waiting for 100 Continue would.
    conn.send("GET / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
    let started = Instant::now();
    let mut response = conn.read_response();
    while (100..200).contains(&response.status) {
        response = conn.read_response();
    }
    assert_eq!(response.status, 200, "{}", response.summary());
    assert_eq!(response.body, INDEX.as_bytes());
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "final response took {:?}",
        started.elapsed()
    );
    assert!(response.says_close(), "{}", response.summary());
    conn.expect_eof();
}

#[test]
fn http2_preface_is_refused() {
    let server = site(&[]);
    let mut conn = server.connect();
    conn.send(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x12\x04\x00\x00\x00\x00\x00");
    match conn.try_read_response(false) {
        Read1::Response(r) => {
            assert!(
                [400, 505].contains(&r.status),
                "HTTP/2 preface: {}",
                r.summary()
            );
            conn.wait_closed()
                .expect("connection closes after the refusal");
        }
        Read1::Eof => {}
        Read1::Error(e, bytes) => assert!(
            e.kind() == std::io::ErrorKind::ConnectionReset && bytes.is_empty(),
            "HTTP/2 preface: {e}, {bytes:?}"
        ),
    }
    server.assert_alive();
}

#[test]
fn tls_client_hello_is_refused() {
    let server = site(&[]);
    // A TLS 1.2-style ClientHello: record header, handshake header, version, random,
    // session id, cipher suites, compression, SNI and supported_groups extensions.
    let mut hello = vec![0x03, 0x03];
    hello.extend(pseudo_random_bytes(32, 7));
    hello.push(32);
    hello.extend(pseudo_random_bytes(32, 8));
    hello.extend([0x00, 0x06, 0x13, 0x01, 0xc0, 0x2b, 0xc0, 0x2f]);
    hello.extend([0x01, 0x00]);
    let name = b"localhost";
    let mut ext = vec![0x00, 0x00];
    ext.extend(((name.len() + 5) as u16).to_be_bytes());
    ext.extend(((name.len() + 3) as u16).to_be_bytes());
    ext.push(0);
    ext.extend((name.len() as u16).to_be_bytes());
    ext.extend(name);
    ext.extend([0x00, 0x0a, 0x00, 0x04, 0x00, 0x02, 0x00, 0x1d]);
    hello.extend((ext.len() as u16).to_be_bytes());
    hello.extend(ext);
    let mut handshake = vec![0x01, 0x00];
    handshake.extend((hello.len() as u16).to_be_bytes());
    handshake.extend(hello);
    let mut record = vec![0x16, 0x03, 0x01];
    record.extend((handshake.len() as u16).to_be_bytes());
    record.extend(handshake);

    let mut conn = server.connect();
    conn.send(&record);
    let started = Instant::now();
    match conn.try_read_response(false) {
        Read1::Response(r) => {
            assert_eq!(r.status, 400, "TLS ClientHello: {}", r.summary());
            conn.wait_closed().expect("connection closes after the 400");
        }
        Read1::Eof => {}
        Read1::Error(e, bytes) => assert!(
            e.kind() == std::io::ErrorKind::ConnectionReset && bytes.is_empty(),
            "TLS ClientHello: {e}, {bytes:?}"
        ),
    }
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the refusal took {:?}",
        started.elapsed()
    );
    server.assert_alive();
}

#[test]
fn every_400_closes_the_connection() {
    let server = site(&[]);
    let bad: &[&str] = &[
        "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
        "GET / HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
        "GET /#frag HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET * HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "\x00\x01\x02\x03\r\n\r\n",
    ];
    for request in bad {
        // A valid request after the bad one must never be answered.
        let mut conn = server.connect();
        conn.send(format!("{request}{}", get_request("/b.txt")));
        let response = match conn.try_read_response(false) {
            Read1::Response(r) => r,
            other => panic!("{request:?}: expected 400, got {other:?}"),
        };
        assert_eq!(response.status, 400, "{request:?}: {}", response.summary());
        assert!(response.says_close(), "{request:?}: {}", response.summary());
        conn.expect_eof();
    }
    server.assert_alive();
}

/// A 400 for a path that cannot name a file (bad escape, climbing above the root) ends the
/// connection too, although the head itself was well framed.
#[test]
fn bad_path_400_closes_the_connection() {
    let server = site(&[]);
    for target in ["/%zz", "/../b.txt", "/a%2fb", "/a%00b", "/a\\b"] {
        let mut conn = server.connect();
        conn.send(format!(
            "GET {target} HTTP/1.1\r\nHost: x\r\n\r\n{}",
            get_request("/b.txt")
        ));
        let response = conn.read_response();
        assert_eq!(response.status, 400, "{target}: {}", response.summary());
        assert!(response.says_close(), "{target}: {}", response.summary());
        conn.expect_eof();
    }
    server.assert_alive();
}

/// RFC 9112 §3: an invalid request-line SHOULD get 400 (or a 301). An extra space inside the
/// target is not a version problem.
#[test]
fn request_line_with_extra_space_is_400() {
    let server = site(&[]);
    expect_error_and_close(&server, "GET /a b HTTP/1.1\r\nHost: x\r\n\r\n", 400);
    expect_error_and_close(&server, "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400);
}

/// RFC 9112 §6.3: a head whose body framing is invalid is 400 and a close, whatever its
/// method. A 405 or 501 would say the request was understood up to its method; the bytes
/// after it could then be read as the next request.
#[test]
fn invalid_framing_is_400_whatever_the_method() {
    let server = site(&[]);
    let framings = [
        "Content-Length: 99999999999999999999999",
        "Content-Length: 12a",
        "Content-Length: 5\r\nContent-Length: 6",
        "Content-Length: 5\r\nTransfer-Encoding: chunked",
        "Transfer-Encoding: chunked, gzip",
        "Transfer-Encoding: gzip",
        "Transfer-Encoding: chunked, chunked",
    ];
    for method in ["GET", "POST", "PUT", "DELETE", "BREW", "get"] {
        for fields in framings {
            expect_error_and_close(
                &server,
                format!("{method} / HTTP/1.1\r\nHost: x\r\n{fields}\r\n\r\nhello"),
                400,
            );
        }
        expect_error_and_close(
            &server,
            format!("{method} / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
            400,
        );
    }
    server.assert_alive();
}

/// The 501 for an unknown method is for a well-framed request, like a 405: its body is
/// skipped and the connection goes on.
#[test]
fn unknown_method_with_a_body_is_501_and_the_next_request_served() {
    let server = site(&[]);
    for method in ["BREW", "get", "POST"] {
        let responses = exchange(
            &server,
            format!(
                "{method} / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello{}",
                get_close_request("/b.txt")
            ),
        );
        let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
        let want = if method == "POST" { 405 } else { 501 };
        assert_eq!(statuses, [want, 200], "{method}: {responses:?}");
        assert_eq!(responses[1].body, B.as_bytes());
    }
}

/// RFC 9112 §3: a method longer than any the server implements SHOULD get 501. 414 is about
/// the target, so a request line over the head limit because of its method is 501 too.
#[test]
fn a_long_method_is_501_never_414() {
    let server = site(&[]);
    for len in [10 * 1024, 64 * 1024] {
        let method = "M".repeat(len);
        expect_error_and_close(
            &server,
            format!("{method} / HTTP/1.1\r\nHost: x\r\n\r\n"),
            501,
        );
    }
    // Within the head limit: answered like any unknown method.
    let mut conn = server.connect();
    conn.send(format!(
        "{} / HTTP/1.1\r\nHost: x\r\n\r\n",
        "M".repeat(4096)
    ));
    assert_eq!(conn.read_response().status, 501);
    assert_eq!(conn.get("/b.txt").status, 200);
    // A long target is still 414.
    let target = format!("/{}", "a".repeat(10 * 1024));
    expect_error_and_close(
        &server,
        format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n"),
        414,
    );
}

/// RFC 9112 §3.2: an empty Host is for a target URI without an authority, which an http
/// request never has: 400. An http URI with an empty host is invalid (RFC 9110 §4.2.1).
#[test]
fn empty_host_is_400() {
    let server = site(&[]);
    for request in [
        "GET / HTTP/1.1\r\nHost:\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: \r\n\r\n",
        "GET / HTTP/1.1\r\nHost: :8080\r\n\r\n",
        "GET / HTTP/1.0\r\nHost:\r\n\r\n",
        "GET http://:8080/ HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET http://x/ HTTP/1.1\r\nHost:\r\n\r\n",
    ] {
        expect_error_and_close(&server, request, 400);
    }
    let mut conn = server.connect();
    assert_eq!(conn.get("/b.txt").status, 200);
}
