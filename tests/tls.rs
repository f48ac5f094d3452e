//! HTTPS: curl over TLS 1.2 and 1.3, ALPN, SNI, keep-alive and pipelining over TLS, ranges and
//! file bodies, plaintext and truncated handshakes, the handshake timeout, certificate reload
//! on SIGHUP, the redirect listener and HSTS. Certificates are made by `openssl req`.

pub mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::*;

static TLS12: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS12];
static TLS13: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS13];

/// A server on HTTPS with one certificate for localhost and 127.0.0.1, and `extra` flags.
fn https_server(dir: &TempDir, extra: &[&str]) -> (Server, TestCert) {
    let cert = make_cert(dir.path(), "local", &["localhost", "127.0.0.1"]);
    let mut args = vec![
        "--tls-cert",
        cert.cert.to_str().unwrap(),
        "--tls-key",
        cert.key.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let server = Server::builder().args(&args).start();
    (server, cert)
}

fn curl_https(server: &Server, ca: &TestCert, extra: &[&str], path: &str) -> std::process::Output {
    let url = format!("https://localhost:{}{path}", server.addr().port());
    let resolve = format!("localhost:{}:127.0.0.1", server.addr().port());
    let mut args = vec!["-sS", "-v", "--cacert", ca.cert.to_str().unwrap()];
    args.extend_from_slice(&["--resolve", &resolve]);
    args.extend_from_slice(extra);
    args.push(&url);
    curl(&args).expect("curl is installed")
}

#[test]
fn curl_over_tls_1_2_and_1_3_with_alpn() {
    let dir = TempDir::new();
    let (server, cert) = https_server(&dir, &[]);
    assert!(server.listening_line().starts_with("listening on https://"));
    server.write("index.html", "hello over tls\n");
    for (flags, version) in [
        (&["--tlsv1.3"][..], "TLSv1.3"),
        (&["--tlsv1.2", "--tls-max", "1.2"][..], "TLSv1.2"),
    ] {
        let out = curl_https(&server, &cert, flags, "/");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert_eq!(out.stdout, b"hello over tls\n");
        assert!(
            stderr.contains(&format!("SSL connection using {version}")),
            "{stderr}"
        );
        assert!(
            stderr.contains("ALPN: server accepted http/1.1"),
            "{stderr}"
        );
    }
}

#[test]
fn sni_chooses_the_certificate_and_the_first_is_the_default() {
    let dir = TempDir::new();
    let a = make_cert(dir.path(), "a", &["a.test"]);
    let b = make_cert(dir.path(), "b", &["b.test"]);
    let server = Server::start(&[
        "--tls-cert",
        a.cert.to_str().unwrap(),
        "--tls-key",
        a.key.to_str().unwrap(),
        "--tls-cert",
        b.cert.to_str().unwrap(),
        "--tls-key",
        b.key.to_str().unwrap(),
    ]);
    let addr = server.addr();
    // Each name verifies only against its own certificate.
    assert!(TlsClient::connect(addr, "a.test", client_config(&a.cert, TLS13)).is_ok());
    assert!(TlsClient::connect(addr, "b.test", client_config(&b.cert, TLS13)).is_ok());
    assert!(TlsClient::connect(addr, "b.test", client_config(&a.cert, TLS13)).is_err());
    // An unknown name gets the first pair: it verifies against a.test's certificate only
    // when the client asks for a.test, so the check is that b's is refused for it.
    assert!(TlsClient::connect(addr, "c.test", client_config(&b.cert, TLS13)).is_err());
}

#[test]
fn keep_alive_and_pipelining_over_tls() {
    let dir = TempDir::new();
    let (server, cert) = https_server(&dir, &[]);
    server.write("a.txt", "first");
    server.write("b.txt", "second");
    for versions in [TLS12, TLS13] {
        let config = client_config(&cert.cert, versions);
        let mut client = TlsClient::connect(server.addr(), "localhost", config).unwrap();
        client.send(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
        let (head, body) = client.response();
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert_eq!(body, b"first");
        // Three pipelined requests in one write, answered in order on the same connection.
        client.send(
            b"GET /b.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n\
              HEAD /b.txt HTTP/1.1\r\nHost: x\r\n\r\n",
        );
        assert_eq!(client.response().1, b"second");
        assert_eq!(client.response().1, b"first");
        let (head, _) = client.response_head_only();
        assert!(head.contains("Content-Length: 6"), "{head}");
    }
}

#[test]
fn file_bodies_and_ranges_over_tls() {
    let dir = TempDir::new();
    let (server, cert) = https_server(&dir, &["--no-compress"]);
    let data = pseudo_random_bytes(3 * 1024 * 1024 + 17, 7);
    server.write("big.bin", &data);
    let out = curl_https(&server, &cert, &[], "/big.bin");
    assert!(out.status.success());
    assert!(out.stdout == data, "the file came back different over TLS");
    let out = curl_https(
        &server,
        &cert,
        &["-r", "1000-1999,3000000-3000009"],
        "/big.bin",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("multipart/byteranges") || out.stdout.len() > 1010,
        "{stdout}"
    );
    let out = curl_https(&server, &cert, &["-r", "100-199"], "/big.bin");
    assert_eq!(out.stdout, &data[100..200]);
}

#[test]
fn plaintext_http_to_the_tls_port_is_closed_cleanly() {
    let dir = TempDir::new();
    let (server, cert) = https_server(&dir, &[]);
    server.write("index.html", "ok");
    let mut plain = TcpStream::connect(server.addr()).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    plain
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut got = Vec::new();
    let _ = plain.read_to_end(&mut got);
    assert!(got.is_empty(), "plaintext client got bytes: {got:?}");
    let out = curl_https(&server, &cert, &[], "/");
    assert_eq!(out.stdout, b"ok", "the server stopped serving TLS");
}

#[test]
fn truncated_and_stalled_handshakes_close_only_themselves() {
    let dir = TempDir::new();
    let (server, cert) = https_server(&dir, &["--tls-handshake-timeout", "1"]);
    server.write("index.html", "ok");
    // The first bytes of a ClientHello record, then nothing: the handshake timeout applies.
    let mut stalled = TcpStream::connect(server.addr()).unwrap();
    stalled
        .write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00])
        .unwrap();
    stalled
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    // A malformed ClientHello: a record whose handshake message is garbage.
    let mut malformed = TcpStream::connect(server.addr()).unwrap();
    malformed
        .write_all(&[0x16, 0x03, 0x01, 0x00, 0x04, 0xff, 0xff, 0xff, 0xff])
        .unwrap();
    // A truncated one: the client goes away mid-record.
    let mut truncated = TcpStream::connect(server.addr()).unwrap();
    truncated.write_all(&[0x16, 0x03, 0x01, 0x02]).unwrap();
    drop(truncated);
    let out = curl_https(&server, &cert, &[], "/");
    assert_eq!(
        out.stdout, b"ok",
        "another client's handshake was disturbed"
    );
    let mut sink = Vec::new();
    malformed
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let _ = malformed.read_to_end(&mut sink); // an alert, then the close
    let started = Instant::now();
    let _ = stalled.read_to_end(&mut sink);
    let waited = started.elapsed();
    assert!(
        waited < Duration::from_secs(4),
        "stalled handshake kept {waited:?}"
    );
}

#[test]
fn sighup_reloads_certificates_and_keeps_the_old_ones_on_a_bad_file() {
    let dir = TempDir::new();
    let (mut server, first) = https_server(&dir, &[]);
    server.write("index.html", "ok");
    let mut held = TlsClient::connect(
        server.addr(),
        "localhost",
        client_config(&first.cert, TLS13),
    )
    .unwrap();
    // New files at the same paths, then SIGHUP.
    let other = TempDir::new();
    let second = make_cert(other.path(), "second", &["localhost", "127.0.0.1"]);
    std::fs::copy(&second.cert, &first.cert).unwrap();
    std::fs::copy(&second.key, &first.key).unwrap();
    server.signal(libc::SIGHUP);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !server.stderr().contains("TLS certificates reloaded") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let new = TlsClient::connect(
        server.addr(),
        "localhost",
        client_config(&second.cert, TLS13),
    );
    assert!(new.is_ok(), "new handshakes do not use the new certificate");
    // The connection established before is untouched.
    held.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(held.response().1, b"ok");

    // A bad key file: reported, and the certificate loaded last stays in use.
    std::fs::write(&first.key, "not a key").unwrap();
    server.signal(libc::SIGHUP);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !server.stderr().contains("not reloaded") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        server.stderr().contains("not reloaded"),
        "{}",
        server.stderr()
    );
    let still = TlsClient::connect(
        server.addr(),
        "localhost",
        client_config(&second.cert, TLS13),
    );
    assert!(still.is_ok(), "a bad file replaced the working certificate");
}

#[test]
fn redirect_listener_and_hsts() {
    let dir = TempDir::new();
    let cert = make_cert(dir.path(), "local", &["localhost", "127.0.0.1"]);
    let server = Server::builder()
        .args(&[
            "--tls-cert",
            cert.cert.to_str().unwrap(),
            "--tls-key",
            cert.key.to_str().unwrap(),
            "--redirect-http",
            "0",
            "--hsts",
            "31536000",
        ])
        .capture_stdout()
        .start();
    let line = server
        .stdout_line(Duration::from_secs(5))
        .expect("redirect line");
    let redirect: std::net::SocketAddr = line
        .strip_prefix("redirecting http://")
        .and_then(|rest| rest.strip_suffix(" to https"))
        .and_then(|addr| addr.parse().ok())
        .unwrap_or_else(|| panic!("unexpected line {line:?}"));
    let mut plain = Conn::connect(redirect);
    plain.send(b"GET /a/b?c=d HTTP/1.1\r\nHost: example.org:8080\r\n\r\n");
    let response = plain.read_response();
    assert_eq!(response.status, 301);
    let https_port = server.addr().port();
    assert_eq!(
        response.header("location"),
        Some(format!("https://example.org:{https_port}/a/b?c=d").as_str())
    );
    assert_eq!(response.header("strict-transport-security"), None);

    server.write("index.html", "ok");
    let mut client =
        TlsClient::connect(server.addr(), "localhost", client_config(&cert.cert, TLS12)).unwrap();
    client.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    let (head, _) = client.response();
    assert!(
        head.contains("Strict-Transport-Security: max-age=31536000\r\n"),
        "{head}"
    );
}

#[test]
fn headless_chromium_loads_the_default_site_over_https() {
    let browser = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|name| {
            std::process::Command::new(name)
                .arg("--version")
                .output()
                .is_ok_and(|out| out.status.success())
        });
    let Some(browser) = browser else {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromium is not installed"
        );
        eprintln!("note: chromium not installed, browser test skipped");
        return;
    };
    let dir = TempDir::new();
    let cert = make_cert(dir.path(), "local", &["localhost", "127.0.0.1"]);
    let profile = dir.path().join("profile");
    std::fs::create_dir(&profile).unwrap();
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("static");
    let server = Server::builder()
        .root(&root)
        .args(&[
            "--tls-cert",
            cert.cert.to_str().unwrap(),
            "--tls-key",
            cert.key.to_str().unwrap(),
        ])
        .start();
    let dom = std::process::Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
        ])
        .args([
            "--no-first-run",
            "--disable-background-networking",
            "--disable-sync",
        ])
        .arg("--ignore-certificate-errors")
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(format!("https://127.0.0.1:{}/", server.addr().port()))
        .stderr(std::process::Stdio::null())
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(dom.contains("<title>tinyhttpd</title>"), "DOM: {dom}");
}
