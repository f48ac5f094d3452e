//! Path safety: traversal, symlinks, dotfiles, special files, redirect locations.

pub mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

const SECRET: &str = "TOP-SECRET-do-not-serve-4f1c\n";
const OTHER_SECRET: &str = "SIBLING-SECRET-do-not-serve-77aa\n";
const HIDDEN: &str = "hidden dotfile content\n";
const GIT_CONFIG: &str = "[core]\n\trepositoryformatversion = 0\n";
const TARGET: &str = "the inside target\n";

/// Root with an index, a sub directory, dotfiles; outside it (in the server's private temp
/// area): `secret.txt` right above the root and `outside/secret.txt` in a sibling directory.
fn site(extra: &[&str]) -> Server {
    let server = Server::start(extra);
    server.write("index.html", "<h1>index</h1>\n");
    server.write("sub/index.html", "<h1>sub</h1>\n");
    server.write("target.txt", TARGET);
    server.write(".hidden", HIDDEN);
    server.write(".git/config", GIT_CONFIG);
    write_file_in(server.base(), "secret.txt", SECRET);
    write_file_in(server.base(), "outside/secret.txt", OTHER_SECRET);
    server
}

/// Creates the symlink `root/rel -> target` (target taken literally).
fn symlink(server: &Server, target: impl AsRef<Path>, rel: &str) -> PathBuf {
    let link = server.root().join(rel);
    std::os::unix::fs::symlink(target.as_ref(), &link).unwrap_or_else(|e| {
        panic!(
            "symlink {} -> {}: {e}",
            link.display(),
            target.as_ref().display()
        )
    });
    link
}

fn assert_no_secret(response: &Response, what: &str) {
    for secret in [SECRET, OTHER_SECRET] {
        assert!(
            !contains(&response.body, secret.trim_end().as_bytes()),
            "{what}: response leaks a file from outside the root: {}",
            response.summary()
        );
    }
}

/// Sends a raw request line for `target` and returns the response, requiring one.
fn raw_get(server: &Server, target: &[u8]) -> Response {
    let mut request = b"GET ".to_vec();
    request.extend_from_slice(target);
    request.extend_from_slice(b" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    let mut conn = server.connect();
    conn.send(&request);
    match conn.try_read_response(false) {
        Read1::Response(r) => r,
        other => panic!(
            "GET {}: expected a response, got {other:?}",
            String::from_utf8_lossy(target)
        ),
    }
}

#[test]
fn traversal_attempts_are_refused() {
    let server = site(&[]);
    // Sanity: the secret really is one level above the root, where `..` would lead.
    assert_eq!(
        std::fs::read_to_string(server.root().join("../secret.txt")).unwrap(),
        SECRET
    );
    let targets: &[&[u8]] = &[
        b"/../secret.txt",
        b"/..%2fsecret.txt",
        b"/%2e%2e/secret.txt",
        b"/%2e%2e%2fsecret.txt",
        b"/%2E%2E/secret.txt",
        b"/sub/../../secret.txt",
        b"/sub/%2e%2e/%2e%2e/secret.txt",
        b"/..\\secret.txt",
        b"/%5c..%5csecret.txt",
        b"/%252e%252e/secret.txt",
        b"/index.html%00.txt",
        b"/../outside/secret.txt",
        b"/./../secret.txt",
        b"http://x/../secret.txt",
        b"http://x/%2e%2e/secret.txt",
    ];
    // The same absolute form is served when it stays inside the root, so the refusals
    // above are about the path, not the form.
    let response = raw_get(&server, b"http://x/sub/../index.html");
    assert_eq!(response.status, 200, "{}", response.summary());
    for &target in targets {
        let what = format!("GET {}", String::from_utf8_lossy(target));
        let response = raw_get(&server, target);
        assert!(
            [400, 403, 404].contains(&response.status),
            "{what}: expected 400/403/404, got {}",
            response.summary()
        );
        assert_no_secret(&response, &what);
    }
    server.assert_alive();
}

#[test]
fn symlink_to_outside_file_is_refused() {
    let server = site(&[]);
    let absolute = server.base().join("secret.txt");
    symlink(&server, &absolute, "abs-link.txt");
    symlink(&server, "../secret.txt", "rel-link.txt");
    symlink(&server, "../../outside/secret.txt", "sub/deep-link.txt");
    for target in ["/abs-link.txt", "/rel-link.txt", "/sub/deep-link.txt"] {
        assert_refused(&server, target);
    }
}

/// `target` gets 403 or 404, and nothing of the secret outside the root.
fn assert_refused(server: &Server, target: &str) {
    let response = server.get(target);
    assert!(
        [403, 404].contains(&response.status),
        "GET {target}: expected 403/404, got {}",
        response.summary()
    );
    assert_no_secret(&response, target);
}

#[test]
fn symlink_inside_root_is_followed() {
    let server = site(&[]);
    symlink(&server, "target.txt", "link.txt");
    symlink(&server, "../target.txt", "sub/up-link.txt");
    symlink(&server, "sub/../target.txt", "dotdot-link.txt");
    server.mkdir("linkdir-target");
    server.write("linkdir-target/f.txt", TARGET);
    symlink(&server, "linkdir-target", "linkdir");
    for target in [
        "/link.txt",
        "/sub/up-link.txt",
        "/dotdot-link.txt",
        "/linkdir/f.txt",
    ] {
        let response = server.get(target);
        assert_eq!(response.status, 200, "GET {target}: {}", response.summary());
        assert_eq!(response.body, TARGET.as_bytes(), "GET {target}");
    }
}

/// An absolute symlink whose target is a file inside the root still points inside the root.
#[test]
fn absolute_symlink_inside_root_is_followed() {
    let server = site(&[]);
    symlink(&server, server.root().join("target.txt"), "abs-inside.txt");
    let response = server.get("/abs-inside.txt");
    assert_eq!(response.status, 200, "{}", response.summary());
    assert_eq!(response.body, TARGET.as_bytes());
}

#[test]
fn directory_symlink_to_outside_is_refused() {
    let server = site(&[]);
    symlink(&server, server.base().join("outside"), "dirlink");
    symlink(&server, "../outside", "reldirlink");
    for target in [
        "/dirlink/secret.txt",
        "/dirlink/",
        "/dirlink",
        "/reldirlink/secret.txt",
        "/reldirlink/",
    ] {
        assert_refused(&server, target);
    }
}

#[test]
fn dotfiles_are_404_by_default() {
    let server = site(&[]);
    symlink(&server, ".hidden", "visible.txt");
    for target in [
        "/.hidden",
        "/.git/config",
        "/.git/",
        "/%2ehidden",
        "/visible.txt",
    ] {
        let response = server.get(target);
        assert_eq!(response.status, 404, "GET {target}: {}", response.summary());
        assert!(!contains(&response.body, HIDDEN.trim_end().as_bytes()));
        assert!(!contains(&response.body, b"repositoryformatversion"));
    }
}

#[test]
fn dotfiles_are_served_with_serve_hidden() {
    let server = site(&["--serve-hidden"]);
    symlink(&server, ".hidden", "visible.txt");
    let cases = [
        ("/.hidden", HIDDEN),
        ("/.git/config", GIT_CONFIG),
        ("/visible.txt", HIDDEN),
    ];
    for (target, body) in cases {
        let response = server.get(target);
        assert_eq!(response.status, 200, "GET {target}: {}", response.summary());
        assert_eq!(response.body, body.as_bytes(), "GET {target}");
    }
    // Serving hidden files does not open the way out of the root.
    symlink(&server, server.base().join("secret.txt"), "out.txt");
    let response = server.get("/out.txt");
    assert!(
        [403, 404].contains(&response.status),
        "{}",
        response.summary()
    );
    assert_no_secret(&response, "/out.txt with --serve-hidden");
}

#[test]
fn fifo_is_403_and_does_not_block_the_server() {
    let server = site(&[]);
    let fifo = server.root().join("pipe");
    let status = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("run mkfifo");
    assert!(status.success(), "mkfifo failed");

    let started = Instant::now();
    let response = server.get("/pipe");
    assert_eq!(response.status, 403, "{}", response.summary());
    // Again on a kept-alive connection, followed by a normal request.
    let mut conn = server.connect();
    conn.send(format!("{}{}", get_request("/pipe"), get_request("/")));
    assert_eq!(conn.read_response().status, 403);
    let next = conn.read_response();
    assert_eq!(next.status, 200, "{}", next.summary());
    assert_eq!(next.body, b"<h1>index</h1>\n");
    server.assert_alive();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "FIFO requests took {:?}",
        started.elapsed()
    );
}

#[test]
fn directory_redirect_is_never_protocol_relative() {
    let server = site(&[]);
    for target in ["//sub", "///sub", "/./sub", "/sub/../sub"] {
        let response = server.get(target);
        assert_eq!(response.status, 301, "GET {target}: {}", response.summary());
        let location = response.expect_header("location");
        assert!(!location.starts_with("//"), "GET {target}: {location}");
        assert_eq!(location, "/sub/", "GET {target}");
    }
    // A directory whose name looks like a host.
    server.mkdir("evil.example");
    server.write("evil.example/index.html", "x");
    let response = server.get("//evil.example");
    assert_eq!(response.status, 301, "{}", response.summary());
    assert_eq!(response.header("location"), Some("/evil.example/"));
}

/// RFC 9112 §3.2 and RFC 3986 §2: a request target is ASCII. Raw UTF-8 is 400, never looked
/// up as a file name; the same name percent-encoded is served.
#[test]
fn raw_non_ascii_target_is_400() {
    let server = site(&[]);
    server.write("café.txt", TARGET);
    let response = server.get("/caf%C3%A9.txt");
    assert_eq!(response.status, 200, "{}", response.summary());
    assert_eq!(response.body, TARGET.as_bytes());
    for target in [
        &b"/caf\xc3\xa9.txt"[..],
        b"/caf\xc3\xa9.txt?x",
        b"/\xc3\xa9/",
    ] {
        let response = raw_get(&server, target);
        assert_eq!(
            response.status,
            400,
            "{:?}: {}",
            String::from_utf8_lossy(target),
            response.summary()
        );
    }
    server.assert_alive();
}

/// `/.well-known/` (RFC 8615) is served with dotfiles hidden, so ACME HTTP-01 challenges and
/// security.txt work; a dotted name anywhere else, inside it included, stays 404.
#[test]
fn well_known_is_served_while_dotfiles_stay_hidden() {
    let server = site(&[]);
    let token = "acme-token-Zq3x\n";
    server.write(".well-known/acme-challenge/TOKEN", token);
    server.write(
        ".well-known/security.txt",
        "Contact: mailto:security@example.org\n",
    );
    server.write(".well-known/.hidden", HIDDEN);
    server.write("sub/.well-known/x.txt", HIDDEN);
    // A link inside .well-known leads to a dotfile: the real path decides, and it is hidden.
    symlink(&server, "../.git/config", ".well-known/git-link");
    let response = server.get("/.well-known/acme-challenge/TOKEN");
    assert_eq!(response.status, 200, "{}", response.summary());
    assert_eq!(response.body, token.as_bytes());
    let response = server.get("/.well-known/security.txt");
    assert_eq!(response.status, 200, "{}", response.summary());
    assert!(response.body_text().starts_with("Contact:"));
    for target in [
        "/.git/config",
        "/.hidden",
        "/.well-known/.hidden",
        "/sub/.well-known/x.txt",
        "/.well-known/git-link",
    ] {
        let response = server.get(target);
        assert_eq!(response.status, 404, "GET {target}: {}", response.summary());
        assert!(!contains(&response.body, HIDDEN.trim_end().as_bytes()));
        assert!(!contains(&response.body, b"repositoryformatversion"));
    }
}

/// A `.well-known` that is a symlink out of the root is refused like any other.
#[test]
fn well_known_symlink_to_outside_is_refused() {
    let server = site(&[]);
    symlink(&server, server.base().join("outside"), ".well-known");
    for target in ["/.well-known/secret.txt", "/.well-known/"] {
        assert_refused(&server, target);
    }
}
