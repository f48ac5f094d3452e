//! HTTP Basic authentication (`--auth-file`, `--auth-path`, `--auth-realm`): the whole site
//! or prefixes on segment boundaries, 401 with its challenge, right and wrong passwords and
//! unknown users, nothing about a protected resource revealed without credentials (no 404,
//! 304, 206 or listing), `Cache-Control: private` on what credentials unlocked, the growing
//! delay after failures that never holds up another client, SIGHUP re-reading the file, and a
//! bad file refused at start with its line.

pub mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::*;

/// bcrypt's lowest cost, so tests stay fast (users' files: 10 to 12).
const TEST_COST: u32 = 4;

const CHALLENGE: &str = "Basic realm=\"tinyhttpd\", charset=\"UTF-8\"";

/// Writes an htpasswd file of bcrypt hashes at `path`.
fn write_htpasswd(path: &Path, users: &[(&str, &str)]) {
    let text: String = users
        .iter()
        .map(|(user, password)| {
            let hash = bcrypt::hash(password, TEST_COST).expect("bcrypt");
            format!("{user}:{hash}\n")
        })
        .collect();
    std::fs::write(path, text).expect("write htpasswd");
}

/// A server, and its htpasswd file (alice / wonderland, bob / builder) in a temp dir of its
/// own that lives as long as the server.
struct Protected {
    server: Server,
    file: PathBuf,
    _dir: TempDir,
}

fn start(extra: &[&str]) -> Protected {
    let dir = TempDir::new();
    let file = dir.path().join("htpasswd");
    write_htpasswd(&file, &[("alice", "wonderland"), ("bob", "builder")]);
    let mut args = vec!["--auth-file", file.to_str().unwrap()];
    args.extend_from_slice(extra);
    Protected {
        server: Server::start(&args),
        file,
        _dir: dir,
    }
}

/// `Authorization: Basic` for `user:password`.
fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
}

/// A GET of `target` with extra header lines (each ending in CRLF).
fn get_with(server: &Server, target: &str, headers: &str) -> Response {
    get_from(server.addr(), target, headers)
}

fn get_from(addr: SocketAddr, target: &str, headers: &str) -> Response {
    let mut conn = Conn::connect(addr);
    conn.send(format!(
        "GET {target} HTTP/1.1\r\nHost: localhost\r\n{headers}\r\n"
    ));
    conn.read_response()
}

fn get_as(server: &Server, target: &str, user: &str, password: &str) -> Response {
    get_with(
        server,
        target,
        &format!("Authorization: {}\r\n", basic(user, password)),
    )
}

fn assert_unauthorized(response: &Response, what: &str) {
    assert_eq!(response.status, 401, "{what}: {}", response.summary());
    assert_eq!(
        response.header("www-authenticate"),
        Some(CHALLENGE),
        "{what}"
    );
    assert_eq!(response.header("etag"), None, "{what}: no validator leaks");
    assert_eq!(response.header("last-modified"), None, "{what}");
}

#[test]
fn whole_site_needs_the_right_password() {
    let Protected { server, _dir, .. } = start(&["--cache-control", "public, max-age=60"]);
    server.write("a.txt", "secret\n");
    assert_unauthorized(&server.get("/a.txt"), "no credentials");
    assert_unauthorized(&server.get("/"), "the root");
    assert_unauthorized(
        &get_as(&server, "/a.txt", "alice", "wrong"),
        "wrong password",
    );
    assert_unauthorized(
        &get_as(&server, "/a.txt", "mallory", "wonderland"),
        "unknown user",
    );
    assert_unauthorized(
        &get_with(&server, "/a.txt", "Authorization: Bearer abc\r\n"),
        "another scheme",
    );
    let ok = get_as(&server, "/a.txt", "alice", "wonderland");
    assert_eq!(ok.status, 200, "{}", ok.summary());
    assert_eq!(ok.body_text(), "secret\n");
    // RFC 9111 §3.5: never `public` for a response that needed credentials.
    assert_eq!(ok.header("cache-control"), Some("private"));
    // Twice more: the second is remembered and answered without a new verification.
    for _ in 0..2 {
        let again = get_as(&server, "/a.txt", "bob", "builder");
        assert_eq!(again.status, 200, "{}", again.summary());
    }
    if let Some(out) = curl(&[
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-u",
        "alice:wonderland",
        &server.url("/a.txt"),
    ]) {
        assert_eq!(String::from_utf8_lossy(&out.stdout), "200");
        let out = curl(&[
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-u",
            "alice:nope",
            &server.url("/a.txt"),
        ])
        .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "401");
    }
}

#[test]
fn prefixes_protect_on_segment_boundaries_and_reveal_nothing() {
    let Protected { server, _dir, .. } = start(&[
        "--auth-path",
        "/private",
        "--autoindex",
        "--cache-control",
        "public, max-age=60",
    ]);
    server.write("private/x.txt", "hidden\n");
    server.write("privateer.txt", "open\n");
    let open = server.get("/privateer.txt");
    assert_eq!(open.status, 200, "{}", open.summary());
    assert_eq!(open.header("cache-control"), Some("public, max-age=60"));
    for target in [
        "/private",
        "/private/",
        "/private/x.txt",
        "/a/../private/x.txt",
        "/%70rivate/x.txt",
        "//private/x.txt",
        "/private/missing.txt",
    ] {
        assert_unauthorized(&server.get(target), target);
    }
    // The parent's listing may name the directory; its contents stay hidden.
    let parent = server.get("/");
    assert_eq!(parent.status, 200);
    assert!(!parent.body_text().contains("x.txt"));

    let ok = get_as(&server, "/private/x.txt", "alice", "wonderland");
    assert_eq!(ok.status, 200, "{}", ok.summary());
    let etag = ok.expect_header("etag").to_string();
    let conditional = get_with(
        &server,
        "/private/x.txt",
        &format!("If-None-Match: {etag}\r\n"),
    );
    assert_unauthorized(&conditional, "If-None-Match with the right ETag");
    assert_unauthorized(
        &get_with(&server, "/private/x.txt", "Range: bytes=0-1\r\n"),
        "Range",
    );
    // With credentials the usual answers come back.
    let missing = get_as(&server, "/private/missing.txt", "alice", "wonderland");
    assert_eq!(missing.status, 404);
    let not_modified = get_with(
        &server,
        "/private/x.txt",
        &format!(
            "If-None-Match: {etag}\r\nAuthorization: {}\r\n",
            basic("alice", "wonderland")
        ),
    );
    assert_eq!(not_modified.status, 304);
    assert_eq!(not_modified.header("cache-control"), Some("private"));
}

#[test]
fn failures_are_slowed_down_without_holding_up_other_clients() {
    let Protected { server, _dir, .. } = start(&["--auth-path", "/private"]);
    server.write("private/x.txt", "hidden\n");
    server.write("open.txt", "open\n");
    // Verified before the failures: remembered, so not throttled later.
    assert_eq!(
        get_as(&server, "/private/x.txt", "bob", "builder").status,
        200
    );
    let addr = server.addr();
    let guess = format!("Authorization: {}\r\n", basic("alice", "guess"));
    let timed = || {
        let started = Instant::now();
        let response = get_from(addr, "/private/x.txt", &guess);
        assert_eq!(response.status, 401);
        started.elapsed()
    };
    // Two failures come back at once; the third waits 0.5 s, the fourth 1 s.
    timed();
    timed();
    let third = timed();
    assert!(
        third >= Duration::from_millis(450),
        "third failure took {third:?}"
    );
    let throttled = thread::scope(|scope| {
        let fourth = scope.spawn(timed);
        thread::sleep(Duration::from_millis(100));
        for (what, user, password, target) in [
            ("an open file", "", "", "/open.txt"),
            ("remembered credentials", "bob", "builder", "/private/x.txt"),
        ] {
            let started = Instant::now();
            let response = if user.is_empty() {
                server.get(target)
            } else {
                get_as(&server, target, user, password)
            };
            let took = started.elapsed();
            assert_eq!(response.status, 200, "{what}");
            assert!(
                took < Duration::from_millis(500),
                "{what} waited {took:?} behind a throttled client"
            );
        }
        fourth.join().expect("fourth attempt")
    });
    assert!(
        throttled >= Duration::from_millis(950),
        "fourth failure took {throttled:?}"
    );
}

#[test]
fn sighup_rereads_the_file_and_keeps_it_when_the_new_one_is_bad() {
    let Protected {
        mut server,
        file,
        _dir,
    } = start(&[]);
    server.write("a.txt", "a\n");
    assert_eq!(get_as(&server, "/a.txt", "alice", "wonderland").status, 200);
    write_htpasswd(&file, &[("alice", "looking-glass")]);
    server.signal(libc::SIGHUP);
    wait_for_stderr(&server, "auth file re-read, 1 users");
    assert_unauthorized(
        &get_as(&server, "/a.txt", "alice", "wonderland"),
        "old password",
    );
    assert_eq!(
        get_as(&server, "/a.txt", "alice", "looking-glass").status,
        200
    );

    std::fs::write(&file, "alice:$apr1$abc$def\n").unwrap();
    server.signal(libc::SIGHUP);
    wait_for_stderr(&server, "previous users stay in force");
    assert!(server.stderr().contains("line 1"), "{}", server.stderr());
    assert_eq!(
        get_as(&server, "/a.txt", "alice", "looking-glass").status,
        200
    );
}

fn wait_for_stderr(server: &Server, text: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !server.stderr().contains(text) {
        assert!(
            Instant::now() < deadline,
            "no {text:?} in: {}",
            server.stderr()
        );
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_bad_file_at_start_exits_1_naming_the_line() {
    let dir = TempDir::new();
    let file = dir.path().join("htpasswd");
    let good = bcrypt::hash("pw", TEST_COST).unwrap();
    std::fs::write(
        &file,
        format!("# users\nalice:{good}\nbob:{{SHA}}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n"),
    )
    .unwrap();
    let root = dir.path().to_str().unwrap();
    let (status, stdout, stderr) = run_to_exit(
        &[
            "--port",
            "0",
            "--root",
            root,
            "--auth-file",
            file.to_str().unwrap(),
        ],
        Duration::from_secs(10),
    );
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains("line 3") && stderr.contains("SHA-1"),
        "{stderr}"
    );

    let (status, _, stderr) = run_to_exit(
        &[
            "--port",
            "0",
            "--root",
            root,
            "--auth-file",
            file.to_str().unwrap(),
            "--auth-realm",
            "a\"b",
        ],
        Duration::from_secs(10),
    );
    assert_eq!(status.code(), Some(2), "{stderr}");
}
