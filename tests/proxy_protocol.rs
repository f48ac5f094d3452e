//! Behind a load balancer: the PROXY protocol (v1 and v2) before the request, trusted only
//! from `--trusted-proxy`, with its own timeout; `--real-ip-header`; and a real HAProxy in
//! front. The access log shows the client the proxy names.

pub mod common;

use std::net::{Ipv6Addr, Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use common::*;

const REQUEST: &str = "GET /hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

/// A server with an access log, started with `args`; the log's path.
fn server_with_log(dir: &TempDir, args: &[&str]) -> (Server, PathBuf) {
    let log = dir.path().join("access.log");
    let mut all = vec!["--access-log", log.to_str().expect("utf-8 path")];
    all.extend(args);
    let server = Server::start(&all);
    server.write("hello.txt", "hello\n");
    (server, log)
}

/// The access log's lines once it has `count` of them; panics after 5 s.
fn log_lines(path: &Path, count: usize) -> Vec<String> {
    poll_lines(path, |lines| lines.len() >= count)
}

/// The client address an access-log line starts with.
fn client_of(line: &str) -> &str {
    line.split(' ').next().unwrap_or_default()
}

/// A version 2 header (PROXY command) from `src`:`port` over TCP/IPv6.
fn v2_tcp6(src: Ipv6Addr, port: u16) -> Vec<u8> {
    let mut header = b"\r\n\r\n\0\r\nQUIT\n\x21\x21\x00\x2b".to_vec(); // 36 + a 7-byte TLV
    header.extend(src.octets());
    header.extend(Ipv6Addr::LOCALHOST.octets());
    header.extend(port.to_be_bytes());
    header.extend(80u16.to_be_bytes());
    header.extend(b"\x01\x00\x04http"); // ALPN TLV, skipped
    header
}

/// Sends `bytes` in one write and reads the one response.
fn one_request(server: &Server, bytes: &[u8]) -> Response {
    let mut conn = server.connect();
    conn.send(bytes);
    let response = conn.read_response();
    conn.expect_eof();
    response
}

#[test]
fn v1_and_v2_headers_name_the_logged_client() {
    let dir = TempDir::new();
    let (server, log) = server_with_log(
        &dir,
        &["--proxy-protocol", "--trusted-proxy", "127.0.0.0/8"],
    );
    let v1 = format!("PROXY TCP4 192.0.2.7 127.0.0.1 5555 80\r\n{REQUEST}");
    let response = one_request(&server, v1.as_bytes());
    assert_eq!(response.status, 200, "{}", response.summary());
    assert_eq!(response.body_text(), "hello\n");

    let client = "2001:db8::7".parse().expect("address");
    let v2 = [v2_tcp6(client, 40000), REQUEST.as_bytes().to_vec()].concat();
    assert_eq!(one_request(&server, &v2).status, 200);

    // LOCAL (a proxy's own health check) and UNKNOWN: the real peer is logged.
    let local = [
        b"\r\n\r\n\0\r\nQUIT\n\x20\x00\x00\x00".as_slice(),
        REQUEST.as_bytes(),
    ]
    .concat();
    assert_eq!(one_request(&server, &local).status, 200);
    let unknown = format!("PROXY UNKNOWN\r\n{REQUEST}");
    assert_eq!(one_request(&server, unknown.as_bytes()).status, 200);

    let lines = log_lines(&log, 4);
    let clients: Vec<&str> = lines.iter().map(|l| client_of(l)).collect();
    assert_eq!(
        clients,
        ["192.0.2.7", "2001:db8::7", "127.0.0.1", "127.0.0.1"]
    );
}

#[test]
fn a_header_in_pieces_then_keep_alive_requests() {
    let dir = TempDir::new();
    let (server, log) =
        server_with_log(&dir, &["--proxy-protocol", "--trusted-proxy", "127.0.0.1"]);
    let mut conn = server.connect();
    for piece in [
        "PROXY TCP4 198.51.100.3 ",
        "127.0.0.1 1 80\r",
        "\nGET /hello.txt HTTP/1.1\r\n",
    ] {
        conn.send(piece);
        thread::sleep(Duration::from_millis(50));
    }
    conn.send("Host: x\r\n\r\n");
    assert_eq!(conn.read_response().status, 200);
    assert_eq!(conn.get("/hello.txt").status, 200);
    let lines = log_lines(&log, 2);
    assert!(
        lines.iter().all(|l| client_of(l) == "198.51.100.3"),
        "{lines:?}"
    );
}

#[test]
fn malformed_headers_close_without_a_response() {
    let server = Server::start(&["--proxy-protocol", "--trusted-proxy", "127.0.0.1"]);
    server.write("hello.txt", "hello\n");
    let malformed: [&[u8]; 6] = [
        b"PROXY TCP4  192.0.2.7 127.0.0.1 5555 80\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"PROXY TCP4 192.0.2.7 127.0.0.1 65536 80\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"PROXY TCP6 192.0.2.7 127.0.0.1 5555 80\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"\r\n\r\n\0\r\nQUIT\n\x22\x11\x00\x0c",
        // No header at all: a plain request is not served.
        REQUEST.as_bytes(),
        // Truncated: the connection ends before the header does.
        b"\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c\x01\x02",
    ];
    for bytes in malformed {
        let mut conn = server.connect();
        let _ = conn.try_send(bytes);
        let _ = conn.stream.shutdown(Shutdown::Write);
        assert_eq!(conn.wait_closed(), Ok(()), "{}", preview(bytes));
    }
    // The server lives on: a good header still gets its answer.
    let good = format!("PROXY TCP4 192.0.2.7 127.0.0.1 5555 80\r\n{REQUEST}");
    assert_eq!(one_request(&server, good.as_bytes()).status, 200);
}

#[test]
fn an_untrusted_peer_is_closed_at_once() {
    let server = Server::start(&["--proxy-protocol", "--trusted-proxy", "10.0.0.0/8"]);
    server.write("hello.txt", "hello\n");
    let mut conn = server.connect();
    // Even a well-formed header: only a trusted proxy may name the client.
    let _ = conn.try_send(format!(
        "PROXY TCP4 192.0.2.7 127.0.0.1 5555 80\r\n{REQUEST}"
    ));
    assert_eq!(conn.wait_closed(), Ok(()));
}

#[test]
fn a_slow_header_is_closed_at_its_own_timeout() {
    let server = Server::start(&[
        "--proxy-protocol",
        "--trusted-proxy",
        "127.0.0.1",
        "--proxy-timeout",
        "1",
        "--head-timeout",
        "10",
    ]);
    let started = Instant::now();
    let mut conn = server.connect();
    conn.send("PROXY TCP4 192.0.2.7 ");
    assert_eq!(conn.wait_closed(), Ok(()));
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(4),
        "closed after {waited:?}"
    );
}

#[test]
fn real_ip_header_from_a_trusted_peer_only() {
    let request = "GET /hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
                   X-Forwarded-For: 198.51.100.1, 203.0.113.9, 10.1.1.1\r\n\r\n";
    let dir = TempDir::new();
    let (trusting, log) = server_with_log(
        &dir,
        &[
            "--real-ip-header",
            "X-Forwarded-For",
            "--trusted-proxy",
            "127.0.0.1",
            "--trusted-proxy",
            "10.0.0.0/8",
        ],
    );
    assert_eq!(one_request(&trusting, request.as_bytes()).status, 200);
    assert_eq!(client_of(&log_lines(&log, 1)[0]), "203.0.113.9");

    let other = TempDir::new();
    let (untrusting, log) = server_with_log(
        &other,
        &[
            "--real-ip-header",
            "X-Forwarded-For",
            "--trusted-proxy",
            "10.0.0.0/8",
        ],
    );
    assert_eq!(one_request(&untrusting, request.as_bytes()).status, 200);
    assert_eq!(client_of(&log_lines(&log, 1)[0]), "127.0.0.1");
}

#[test]
fn proxy_flags_need_a_trusted_proxy() {
    for args in [
        &["--proxy-protocol"][..],
        &["--real-ip-header", "X-Forwarded-For"][..],
        &["--trusted-proxy", "10.1.0.0/8"][..],
    ] {
        let (status, _, stderr) = run_to_exit(args, Duration::from_secs(10));
        assert!(!status.success(), "{args:?} started");
        assert!(stderr.contains("--trusted-proxy"), "{args:?}: {stderr}");
    }
}

/// HAProxy, killed on drop.
struct Haproxy(Child);

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A free loopback port (there is a small window in which another process could take it).
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

#[test]
fn behind_haproxy_with_send_proxy_and_send_proxy_v2() {
    if Command::new("haproxy").arg("-v").output().is_err() {
        eprintln!("note: haproxy is not installed, test skipped");
        return;
    }
    let dir = TempDir::new();
    let (server, log) =
        server_with_log(&dir, &["--proxy-protocol", "--trusted-proxy", "127.0.0.1"]);
    let (v1_port, v2_port) = (free_port(), free_port());
    let backend = server.addr();
    let config = format!(
        "defaults\n  mode http\n  timeout connect 5s\n  timeout client 5s\n  timeout server 5s\n\
         frontend v1\n  bind 127.0.0.1:{v1_port}\n  default_backend v1\n\
         frontend v2\n  bind 127.0.0.1:{v2_port}\n  default_backend v2\n\
         backend v1\n  server s {backend} send-proxy\n\
         backend v2\n  server s {backend} send-proxy-v2\n"
    );
    let config_path = write_file_in(dir.path(), "haproxy.cfg", config);
    let child = Command::new("haproxy")
        .arg("-db")
        .arg("-f")
        .arg(&config_path)
        .stdout(Stdio::null())
        .spawn()
        .expect("start haproxy");
    let _haproxy = Haproxy(child);
    for port in [v1_port, v2_port] {
        let deadline = Instant::now() + Duration::from_secs(10);
        let stream = loop {
            match TcpStream::connect(("127.0.0.1", port)) {
                Ok(stream) => break stream,
                Err(_) if Instant::now() < deadline => thread::sleep(Duration::from_millis(50)),
                Err(e) => panic!("haproxy does not listen on {port}: {e}"),
            }
        };
        let mut conn = Conn::from_stream(stream);
        conn.send(REQUEST);
        let response = conn.read_response();
        assert_eq!(
            response.status,
            200,
            "via port {port}: {}",
            response.summary()
        );
        assert_eq!(response.body_text(), "hello\n");
    }
    let lines = log_lines(&log, 2);
    assert!(
        lines.iter().all(|l| client_of(l) == "127.0.0.1"),
        "{lines:?}"
    );
}

#[test]
fn an_error_before_any_head_logs_the_proxied_client() {
    let dir = TempDir::new();
    let (server, log) =
        server_with_log(&dir, &["--proxy-protocol", "--trusted-proxy", "127.0.0.1"]);
    // A bare LF ends no head of ours: 400, logged with "-" for its request line.
    let bytes = b"PROXY TCP4 192.0.2.8 127.0.0.1 5555 80\r\nGET / HTTP/1.1\n\n";
    let mut conn = server.connect();
    conn.send(bytes);
    assert_eq!(conn.read_response().status, 400);
    let lines = log_lines(&log, 1);
    assert_eq!(client_of(&lines[0]), "192.0.2.8", "{lines:?}");
}
