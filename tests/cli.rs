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

/// A bad flag's error is clap's, without its usage paragraph: the problem on the first line,
/// then any `tip:` clap has (a similar flag for a typo) and where to read more, in at most
/// five lines.
#[test]
fn usage_error_names_the_problem_and_the_suggestion() {
    let cases: [(&[&str], &str, Option<&str>); 3] = [
        (&["--port", "abc"], "'abc'", None),
        (&["--no-such-flag"], "'--no-such-flag'", None),
        (
            &["--prot", "80"],
            "'--prot'",
            Some("tip: a similar argument exists: '--port'"),
        ),
    ];
    for (args, problem, tip) in cases {
        let stderr = assert_usage_error(args, problem);
        if let Some(tip) = tip {
            assert!(
                stderr.contains(tip),
                "{args:?}: expected {tip:?}: {stderr:?}"
            );
        }
        assert!(
            stderr.contains("try '--help'"),
            "{args:?}: should point to --help: {stderr:?}"
        );
        assert!(
            !stderr.contains("Usage:"),
            "{args:?}: no usage block: {stderr:?}"
        );
        assert!(
            stderr.lines().count() <= 5,
            "{args:?}: short, please: {stderr:?}"
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

/// A fresh root with one file, `hello.txt`, that `assert_serves` looks for.
fn hello_root() -> TempDir {
    let dir = TempDir::new();
    write_file_in(dir.path(), "hello.txt", "hello\n");
    dir
}

fn assert_serves_hello(server: &Server) {
    let response = server.get("/hello.txt");
    assert_eq!(response.status, 200, "{}", response.summary());
    assert_eq!(response.body, b"hello\n");
}

/// `tinyhttpd DIR` serves DIR, as with `--root DIR`.
#[test]
fn positional_root_is_served() {
    let dir = hello_root();
    let root = dir.path().to_str().unwrap();
    let server = Server::start_exactly(&["--port", "0", "--bind", "127.0.0.1", root], dir.path());
    assert_serves_hello(&server);
    // After the flags too, and with flags after it.
    let server = Server::start_exactly(&[root, "--port", "0", "--bind", "127.0.0.1"], dir.path());
    assert_serves_hello(&server);
}

/// `-p`, `-b` and `-r` are `--port`, `--bind` and `--root`.
#[test]
fn short_flags_name_port_bind_and_root() {
    let dir = hello_root();
    let root = dir.path().to_str().unwrap();
    let server = Server::start_exactly(&["-p", "0", "-b", "127.0.0.1", "-r", root], dir.path());
    assert_eq!(server.addr().ip().to_string(), "127.0.0.1");
    assert_serves_hello(&server);
    let help = run_to_exit(&["--help"], EXIT_TIMEOUT).1;
    for flag in ["-p, --port", "-b, --bind", "-r, --root", "[DIR]"] {
        assert!(help.contains(flag), "--help should show {flag}: {help}");
    }
}

/// Naming the root twice, as DIR and with --root, is refused as such, before anything starts.
#[test]
fn positional_root_and_root_flag_together_exit_2() {
    let dir = hello_root();
    let root = dir.path().to_str().unwrap();
    for args in [
        &["--port", "0", "--root", root, root][..],
        &["--port", "0", "-r", "static", root][..],
    ] {
        let stderr = assert_usage_error(args, "cannot be used with");
        assert!(
            stderr.contains("--root") && stderr.contains("DIR"),
            "{args:?}: should name both: {stderr:?}"
        );
    }
}

/// Runs the binary (through `wrapper`, a command that execs it) in `cwd` with `args`, killed
/// after 10 s by timeout(1): (exit code, stdout, stderr).
fn run_in(cwd: &std::path::Path, wrapper: &[&str], args: &[&str]) -> (Option<i32>, String, String) {
    let output = std::process::Command::new("timeout")
        .arg("10")
        .args(wrapper)
        .arg(env!("CARGO_BIN_EXE_tinyhttpd"))
        .args(args)
        .current_dir(cwd)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run timeout(1)");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A missing root, the default `static` or one named, exits 1 saying how to name the folder.
#[test]
fn missing_root_says_how_to_name_one() {
    let dir = TempDir::new();
    for args in [
        &["--port", "0", "--bind", "127.0.0.1"][..],
        &["--port", "0", "--bind", "127.0.0.1", "no-such-dir"][..],
    ] {
        let (code, stdout, stderr) = run_in(dir.path(), &[], args);
        assert_eq!(code, Some(1), "{args:?}: stderr: {stderr}");
        assert!(stdout.is_empty(), "{args:?}: stdout: {stdout:?}");
        assert!(
            stderr.contains("No such file or directory"),
            "{args:?}: {stderr:?}"
        );
        assert!(
            stderr.contains("name the folder to serve: tinyhttpd DIR, or --root DIR"),
            "{args:?}: should say how to name the root: {stderr:?}"
        );
    }
}

/// An unprivileged user refused a port below 1024 is told why and what to do, with one
/// server or with workers. Tests run as root, so the binary runs as `nobody` via setpriv(1);
/// skipped if that cannot be done or if this system lets anyone bind port 80.
#[test]
fn privileged_port_refusal_says_why() {
    let unprivileged_from =
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start")
            .ok()
            .and_then(|s| s.trim().parse::<u16>().ok());
    if unprivileged_from.is_none_or(|first| first <= 80) {
        eprintln!("note: port 80 is not privileged here ({unprivileged_from:?}); skipping");
        return;
    }
    let nobody = [
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
    ];
    let dir = hello_root();
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("make the root readable by nobody");
    let (code, _, stderr) = run_in(dir.path(), &nobody, &["--version"]);
    if code != Some(0) {
        eprintln!("note: cannot run the binary as nobody ({code:?}: {stderr}); skipping");
        return;
    }
    let root = dir.path().to_str().unwrap();
    for workers in ["1", "2"] {
        let args = ["-p", "80", "-b", "127.0.0.1", "--workers", workers, root];
        let (code, stdout, stderr) = run_in(dir.path(), &nobody, &args);
        assert_eq!(code, Some(1), "--workers {workers}: stderr: {stderr}");
        assert!(
            !stdout.contains("listening"),
            "--workers {workers}: {stdout:?}"
        );
        assert!(
            stderr.contains("Permission denied"),
            "--workers {workers}: {stderr:?}"
        );
        assert!(
            stderr.contains(
                "ports below 1024 need root or the CAP_NET_BIND_SERVICE capability \
                 (e.g. setcap cap_net_bind_service=+ep $(which tinyhttpd)), or use a port above 1023"
            ),
            "--workers {workers}: should say why and what to do: {stderr:?}"
        );
    }
}
