//! The command line: help, version, bad flags, start-up failures, IPv6 binding.

pub mod common;

use std::net::TcpListener;
use std::time::Duration;

use common::*;

/// Long enough for any start-up failure; a server that starts instead is killed and fails.
const EXIT_TIMEOUT: Duration = Duration::from_secs(5);

#[test]
fn help_exits_0_and_lists_flags() {
    let (status, stdout, stderr) = run_to_exit(&["--help"], EXIT_TIMEOUT);
    assert_eq!(status.code(), Some(0), "stderr: {stderr}");
    for flag in ["--port", "--root", "--bind"] {
        assert!(
            stdout.contains(flag),
            "--help should mention {flag}:\n{stdout}"
        );
    }
}

#[test]
fn version_exits_0() {
    let (status, stdout, stderr) = run_to_exit(&["--version"], EXIT_TIMEOUT);
    assert_eq!(status.code(), Some(0), "stderr: {stderr}");
    assert_eq!(
        stdout.trim(),
        format!("tinyhttpd {}", env!("CARGO_PKG_VERSION"))
    );
}

/// Exit status 2, nothing on stdout, and an `error:` line naming `mention` first on stderr.
fn assert_usage_error(args: &[&str], mention: &str) -> String {
    let (status, stdout, stderr) = run_to_exit(args, EXIT_TIMEOUT);
    assert_eq!(status.code(), Some(2), "{args:?}: stderr: {stderr}");
    assert!(stdout.is_empty(), "{args:?}: stdout: {stdout:?}");
    let first = stderr.lines().next().unwrap_or_default();
    assert!(first.starts_with("error:"), "{args:?}: stderr: {stderr:?}");
    assert!(first.contains(mention), "{args:?}: stderr: {stderr:?}");
    assert_eq!(
        stderr.lines().filter(|l| l.starts_with("error:")).count(),
        1,
        "{args:?}: one error expected: {stderr:?}"
    );
    stderr
}

#[test]
fn bad_port_value_exits_2() {
    assert_usage_error(&["--port", "abc"], "abc");
    assert_usage_error(&["--port", "70000"], "70000");
}

#[test]
fn unknown_flag_exits_2() {
    assert_usage_error(&["--no-such-flag"], "--no-such-flag");
}

#[test]
fn bad_bind_address_exits_2() {
    assert_usage_error(&["--bind", "localhost:80"], "localhost:80");
}

/// Bad flags give a one-line error: none of clap's default blank, tip, Usage or
/// "For more information" lines.
#[test]
fn usage_error_is_one_line() {
    for args in [&["--port", "abc"][..], &["--no-such-flag"][..]] {
        let stderr = assert_usage_error(args, "");
        assert_eq!(
            stderr.lines().filter(|l| !l.trim().is_empty()).count(),
            1,
            "{args:?}: stderr should be one line: {stderr:?}"
        );
    }
}

/// Starting with `--root root` exits 1 with nothing on stdout and a stderr that names the
/// root and says `why`.
fn assert_bad_root_exits_1(root: &str, why: &str) {
    let (status, stdout, stderr) = run_to_exit(
        &["--port", "0", "--bind", "127.0.0.1", "--root", root],
        EXIT_TIMEOUT,
    );
    assert_eq!(status.code(), Some(1), "stderr: {stderr}");
    assert!(stdout.is_empty(), "stdout: {stdout:?}");
    assert!(
        stderr.contains(root),
        "stderr should name {root}: {stderr:?}"
    );
    assert!(
        stderr.to_lowercase().contains(why),
        "stderr should say why: {stderr:?}"
    );
}

#[test]
fn missing_root_exits_1_naming_the_path() {
    let dir = TempDir::new();
    let missing = dir.path().join("no-such-root-dir");
    assert_bad_root_exits_1(missing.to_str().unwrap(), "no such file or directory");
}

#[test]
fn root_that_is_a_file_exits_1() {
    let dir = TempDir::new();
    let file = write_file_in(dir.path(), "plain-file.txt", "not a directory");
    assert_bad_root_exits_1(file.to_str().unwrap(), "not a directory");
}

#[test]
fn port_in_use_exits_1() {
    let dir = TempDir::new();
    let root = dir.path().to_str().unwrap();
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind a port to occupy");
    let port = taken.local_addr().unwrap().port().to_string();
    let (status, stdout, stderr) = run_to_exit(
        &["--port", &port, "--bind", "127.0.0.1", "--root", root],
        EXIT_TIMEOUT,
    );
    assert_eq!(
        status.code(),
        Some(1),
        "stdout: {stdout:?} stderr: {stderr}"
    );
    assert!(stdout.is_empty(), "stdout: {stdout:?}");
    assert!(
        stderr.to_lowercase().contains("address already in use"),
        "stderr: {stderr:?}"
    );
    assert!(
        stderr.contains(&port),
        "stderr should name the port: {stderr:?}"
    );
    drop(taken);
}

#[test]
fn bind_ipv6_loopback() {
    if TcpListener::bind("[::1]:0").is_err() {
        eprintln!("note: IPv6 loopback unavailable; skipping");
        return;
    }
    let server = Server::builder().bind("::1").start();
    server.write("index.html", "over v6\n");
    let line = server.listening_line();
    assert!(
        line.starts_with("listening on http://[::1]:"),
        "listening line: {line:?}"
    );
    let addr = server.addr();
    assert!(addr.ip().is_ipv6() && addr.ip().is_loopback(), "{addr}");
    let mut conn = server.connect();
    conn.send("GET / HTTP/1.1\r\nHost: [::1]\r\nConnection: close\r\n\r\n");
    let response = conn.read_response();
    assert_eq!(response.status, 200, "{}", response.summary());
    assert_eq!(response.body, b"over v6\n");
}

/// A configuration error found after binding (here a log that cannot be opened) exits 1
/// without ever printing the listening line a script may be waiting for.
#[test]
fn bad_log_path_exits_1_before_listening() {
    let dir = TempDir::new();
    let root = dir.path().to_str().unwrap();
    let bad = dir.path().join("no-such-dir").join("x.log");
    let bad = bad.to_str().unwrap();
    for (flag, workers) in [
        ("--access-log", "1"),
        ("--access-log", "2"),
        ("--error-log", "1"),
        ("--error-log", "2"),
    ] {
        let args = [
            "--port",
            "0",
            "--bind",
            "127.0.0.1",
            "--root",
            root,
            "--workers",
            workers,
            flag,
            bad,
        ];
        let (status, stdout, stderr) = run_to_exit(&args, EXIT_TIMEOUT);
        assert_eq!(
            status.code(),
            Some(1),
            "{flag} --workers {workers}: {stderr}"
        );
        assert!(
            !stdout.contains("listening"),
            "{flag} --workers {workers}: stdout: {stdout:?}"
        );
        assert!(
            stderr.contains(bad),
            "{flag} --workers {workers}: stderr should name {bad}: {stderr:?}"
        );
    }
}
