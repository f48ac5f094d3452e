//! `--workers N`: several processes serve one port; a worker that dies is replaced; SIGTERM
//! drains them all and the supervisor exits 0.

pub mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::*;

/// The pids of the processes whose parent is `parent`.
fn children(parent: libc::pid_t) -> Vec<libc::pid_t> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<libc::pid_t>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // Fields after the command name (which may hold spaces) start after the last ')'.
        let after_name = &stat[stat.rfind(')').map_or(0, |i| i + 2)..];
        let ppid = after_name.split(' ').nth(1).and_then(|p| p.parse().ok());
        if ppid == Some(parent) {
            pids.push(pid);
        }
    }
    pids
}

/// Sockets among a process's fds: its listening socket plus its connections.
fn socket_count(pid: libc::pid_t) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
        .filter(|fd| {
            std::fs::read_link(fd.path()).is_ok_and(|t| t.to_string_lossy().starts_with("socket:"))
        })
        .count()
}

fn wait_for_children(parent: libc::pid_t, count: usize, timeout: Duration) -> Vec<libc::pid_t> {
    let deadline = Instant::now() + timeout;
    loop {
        let pids = children(parent);
        if pids.len() == count || Instant::now() > deadline {
            return pids;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn workers_serve_one_port_and_a_dead_worker_is_replaced() {
    let mut server = Server::start(&["--workers", "2"]);
    server.write("a.txt", "alpha\n");
    let supervisor = server.pid();
    let workers = wait_for_children(supervisor, 2, Duration::from_secs(5));
    assert_eq!(workers.len(), 2, "two worker processes");

    // The kernel spreads connections over both workers' sockets: with 40 held open, each
    // worker holds some (the chance that all land on one is 2^-39).
    let mut open = Vec::new();
    for _ in 0..40 {
        let mut conn = server.connect();
        let response = conn.get("/a.txt");
        assert_eq!(response.status, 200, "{}", response.summary());
        assert_eq!(response.body, b"alpha\n");
        open.push(conn);
    }
    for &worker in &workers {
        let sockets = socket_count(worker);
        assert!(
            sockets > 1,
            "worker {worker} holds {sockets} sockets: no connections"
        );
    }
    drop(open);

    // SAFETY: kill takes no pointers; the pid is a child of the server under test.
    unsafe { libc::kill(workers[0], libc::SIGKILL) };
    let deadline = Instant::now() + Duration::from_secs(5);
    let replaced = loop {
        let now: HashSet<_> = children(supervisor).into_iter().collect();
        if now.len() == 2 && !now.contains(&workers[0]) {
            break true;
        }
        if Instant::now() > deadline {
            break false;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(replaced, "the killed worker was not replaced");
    for _ in 0..20 {
        assert_eq!(server.get("/a.txt").status, 200);
    }

    server.signal(libc::SIGTERM);
    let status = server
        .wait_exit(Duration::from_secs(5))
        .expect("supervisor exits");
    assert_eq!(status.code(), Some(0), "{}", server.stderr());
    assert!(
        children(supervisor).is_empty(),
        "workers left behind after the supervisor exited"
    );
}

#[test]
fn bad_root_with_workers_fails_before_forking() {
    let (status, stdout, stderr) = run_to_exit(
        &[
            "--port",
            "0",
            "--bind",
            "127.0.0.1",
            "--workers",
            "2",
            "--root",
            "/nonexistent/tinyhttpd-root",
        ],
        Duration::from_secs(10),
    );
    assert_eq!(status.code(), Some(1), "stderr: {stderr}");
    assert!(stdout.is_empty(), "nothing announced: {stdout:?}");
    assert!(stderr.contains("/nonexistent/tinyhttpd-root"), "{stderr}");
}

#[test]
fn workers_flag_is_validated() {
    for bad in ["0", "-1", "many", "100000"] {
        let (status, _, stderr) = run_to_exit(&["--workers", bad], Duration::from_secs(10));
        assert_eq!(status.code(), Some(2), "--workers {bad}: {stderr}");
    }
}

#[test]
fn workers_end_when_the_supervisor_is_killed() {
    // (SIGHUP is a reload, not a stop: see tests/logs.rs.)
    for (signal, what) in [(libc::SIGKILL, "SIGKILL")] {
        let mut server = Server::start(&["--workers", "2"]);
        let supervisor = server.pid();
        let workers = wait_for_children(supervisor, 2, Duration::from_secs(5));
        assert_eq!(workers.len(), 2);
        server.signal(signal);
        let _ = server.wait_exit(Duration::from_secs(5));
        let deadline = Instant::now() + Duration::from_secs(5);
        let alive = |pid: libc::pid_t| std::path::Path::new(&format!("/proc/{pid}")).exists();
        while workers.iter().any(|&w| alive(w)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        // Workers re-parented to init are reaped by it; a zombie would still show in /proc,
        // so look at the state too.
        let running: Vec<_> = workers
            .iter()
            .filter(|&&w| {
                std::fs::read_to_string(format!("/proc/{w}/stat"))
                    .is_ok_and(|stat| !stat.contains(") Z "))
            })
            .collect();
        assert!(
            running.is_empty(),
            "after {what} on the supervisor, workers {running:?} run on"
        );
    }
}

/// A second server with `--workers` on a port that a tinyhttpd already serves (with workers or
/// alone) fails with "address in use" and exit status 1, as a single server does, rather than
/// quietly taking half of the connections.
#[test]
fn second_server_with_workers_on_a_served_port_fails() {
    for first_workers in ["2", "1"] {
        let server = Server::start(&["--workers", first_workers]);
        server.write("a.txt", "alpha\n");
        if first_workers != "1" {
            let workers = wait_for_children(server.pid(), 2, Duration::from_secs(5));
            assert_eq!(workers.len(), 2, "two worker processes");
        }
        // Served: the first server's listening sockets are in place.
        assert_eq!(server.get("/a.txt").status, 200);
        let port = server.addr().port().to_string();
        let root = server.root().to_str().expect("utf-8 root").to_string();
        let (status, stdout, stderr) = run_to_exit(
            &[
                "--port",
                &port,
                "--bind",
                "127.0.0.1",
                "--root",
                &root,
                "--workers",
                "2",
            ],
            Duration::from_secs(10),
        );
        assert_eq!(
            status.code(),
            Some(1),
            "second server beside --workers {first_workers}: stdout {stdout:?}, stderr {stderr:?}"
        );
        assert!(
            stderr.to_lowercase().contains("address already in use"),
            "beside --workers {first_workers}: {stderr}"
        );
        assert!(stdout.is_empty(), "nothing announced: {stdout:?}");
    }
}

/// `listening` is printed once every worker serves: a client that connects the moment it
/// appears is answered, never refused by a port that is reserved but not yet listening.
#[test]
fn listening_means_every_worker_is_serving() {
    for _ in 0..5 {
        let server = Server::start(&["--workers", "2"]);
        for _ in 0..20 {
            assert_eq!(server.get("/missing").status, 404);
        }
    }
}
