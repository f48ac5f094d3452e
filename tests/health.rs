//! `--health-path` and `--shutdown-delay`: the health check answers 200 while serving and
//! 503 once SIGTERM has arrived; during the delay everything else is served as before
//! (keep-alive, no `Connection: close`, new connections accepted), then the drain runs.

pub mod common;

use std::time::{Duration, Instant};

use common::*;

fn server(extra: &[&str]) -> Server {
    let mut args = vec!["--health-path", "/healthz"];
    args.extend_from_slice(extra);
    let server = Server::start(&args);
    server.write("small.txt", "small\n");
    server
}

#[test]
fn health_is_answered_before_files_and_never_cached() {
    let server = server(&["--cache-control", "max-age=60"]);
    // A file of the same name does not shadow the check.
    server.write("healthz", "a file\n");
    let response = server.get("/healthz?probe=1");
    assert_eq!(response.status, 200, "{}", response.summary());
    assert_eq!(response.body_text(), "ok\n");
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let head = server.request("HEAD", "/healthz");
    assert_eq!(head.status, 200, "{}", head.summary());
    assert!(head.body.is_empty(), "{}", head.summary());
    assert_eq!(server.get("/small.txt").status, 200);
    assert!(
        !server.stderr().contains("healthz"),
        "the health check reached the error log: {}",
        server.stderr()
    );
}

#[test]
fn sigterm_fails_health_but_serves_on_for_the_delay_then_drains() {
    let mut server = server(&["--shutdown-delay", "2"]);
    let mut kept = server.connect();
    let first = kept.get("/small.txt");
    assert!(!first.says_close(), "{}", first.summary());
    assert_eq!(server.get("/healthz").status, 200);

    server.signal(libc::SIGTERM);
    let signalled = Instant::now();
    // The signal is read on the loop's next turn: poll until the check fails.
    let mut health = server.get("/healthz");
    while health.status == 200 && signalled.elapsed() < Duration::from_secs(1) {
        std::thread::sleep(Duration::from_millis(20));
        health = server.get("/healthz");
    }
    assert_eq!(health.status, 503, "{}", health.summary());
    assert_eq!(health.body_text(), "shutting down\n");
    assert_eq!(health.header("cache-control"), Some("no-store"));

    // During the delay: the kept connection and a new one are served as usual.
    for _ in 0..3 {
        let response = kept.get("/small.txt");
        assert_eq!(response.status, 200, "{}", response.summary());
        assert!(
            !response.says_close(),
            "during the delay: {}",
            response.summary()
        );
    }
    let mut fresh = server.connect();
    let response = fresh.get("/small.txt");
    assert_eq!(response.status, 200, "{}", response.summary());
    assert!(
        !response.says_close(),
        "new connection: {}",
        response.summary()
    );
    assert!(
        signalled.elapsed() < Duration::from_millis(1500),
        "the checks took too long to prove anything about the delay"
    );

    // Then the drain: idle keep-alive connections close, and the process exits 0.
    let status = server
        .wait_exit(Duration::from_secs(6))
        .unwrap_or_else(|| panic!("still running 6 s after SIGTERM: {}", server.stderr()));
    let after = signalled.elapsed();
    assert!(status.success(), "{status:?}: {}", server.stderr());
    assert!(
        after >= Duration::from_millis(1900),
        "exited {after:?} after SIGTERM, before the 2 s delay"
    );
    kept.wait_closed()
        .expect("kept connection closed by the drain");
}

#[test]
fn a_second_sigterm_skips_the_delay() {
    let mut server = server(&["--shutdown-delay", "30"]);
    server.signal(libc::SIGTERM);
    let signalled = Instant::now();
    let mut health = server.get("/healthz");
    while health.status == 200 && signalled.elapsed() < Duration::from_secs(1) {
        std::thread::sleep(Duration::from_millis(20));
        health = server.get("/healthz");
    }
    assert_eq!(health.status, 503, "{}", health.summary());
    server.signal(libc::SIGTERM);
    let status = server
        .wait_exit(Duration::from_secs(5))
        .unwrap_or_else(|| panic!("second SIGTERM did not end the delay: {}", server.stderr()));
    assert!(status.success(), "{status:?}: {}", server.stderr());
}

#[test]
fn workers_apply_the_delay_each() {
    let mut server = server(&["--workers", "2", "--shutdown-delay", "2"]);
    server.signal(libc::SIGTERM);
    let signalled = Instant::now();
    std::thread::sleep(Duration::from_millis(500));
    // Whichever worker answers, the check fails, and files are still served.
    for _ in 0..6 {
        assert_eq!(server.get("/healthz").status, 503);
        let response = server.get("/small.txt");
        assert_eq!(response.status, 200, "{}", response.summary());
    }
    let status = server
        .wait_exit(Duration::from_secs(6))
        .unwrap_or_else(|| panic!("still running 6 s after SIGTERM: {}", server.stderr()));
    assert!(status.success(), "{status:?}: {}", server.stderr());
    assert!(
        signalled.elapsed() >= Duration::from_millis(1900),
        "exited {:?} after SIGTERM, before the delay",
        signalled.elapsed()
    );
}
