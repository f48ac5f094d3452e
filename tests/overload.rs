//! Overload: a client that stops reading, many concurrent downloads, thousands of idle
//! connections, `--max-conns`, and running out of file descriptors.
//!
//! These tests are heavy and some measure latency, so they run one at a time (`serial()`):
//! on a small machine two of them side by side would measure each other.

pub mod common;

use std::fs::File;
use std::io::{self, Read};
use std::net::TcpStream;
use std::process::Command;
use std::sync::{Arc, Barrier, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use common::*;

const SMALL: &str = "small file body\n";
const MIB: usize = 1024 * 1024;

static SERIAL: Mutex<()> = Mutex::new(());

/// Whether the server still has the socket `inode` open.
fn has_socket(server: &Server, inode: u64) -> bool {
    server.socket_inodes().contains(&inode)
}

/// How many file descriptors the server has open, from `/proc/PID/fd`.
fn open_fds(server: &Server) -> usize {
    let dir = format!("/proc/{}/fd", server.pid());
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {dir}: {e}"))
        .count()
}

/// CPU time (utime + stime) the server has used so far, from `/proc/PID/stat`.
fn cpu_time(server: &Server) -> Duration {
    let path = format!("/proc/{}/stat", server.pid());
    let stat = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    // The command name (field 2) is in parentheses and may contain spaces: count fields from
    // after its closing parenthesis, where field 3 (state) starts.
    let after_comm = &stat[stat.rfind(')').expect("stat has (comm)") + 1..];
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    // Fields 14 and 15 (utime, stime) are at indexes 11 and 12 counting from field 3.
    let ticks: u64 =
        fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
    // SAFETY: sysconf has no preconditions.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let per_second = u64::try_from(per_second)
        .ok()
        .filter(|&t| t > 0)
        .unwrap_or(100);
    Duration::from_micros(ticks * 1_000_000 / per_second)
}

/// Raises this process's soft RLIMIT_NOFILE to its hard limit (tests that hold thousands of
/// sockets need it); returns the new soft limit.
fn raise_nofile_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid rlimit for the kernel to fill.
    let ret = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    assert_eq!(ret, 0, "getrlimit: {}", io::Error::last_os_error());
    if limit.rlim_cur < limit.rlim_max {
        limit.rlim_cur = limit.rlim_max;
        // SAFETY: `limit` is a valid rlimit read above.
        let ret = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) };
        assert_eq!(ret, 0, "setrlimit: {}", io::Error::last_os_error());
    }
    limit.rlim_cur
}

/// Held for a whole test: the tests in this file never overlap.
fn serial() -> MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A file of `len` zero bytes that takes no time or disk to write.
fn write_sparse(server: &Server, rel: &str, len: usize) {
    let path = server.root().join(rel);
    let file = File::create(&path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
    file.set_len(len as u64)
        .unwrap_or_else(|e| panic!("set_len {}: {e}", path.display()));
}

/// GET of the small file on a new connection; asserts it is served and returns how long it
/// took.
fn timed_small_get(server: &Server) -> Duration {
    let started = Instant::now();
    let response = server.get("/small.txt");
    let elapsed = started.elapsed();
    assert_eq!(response.status, 200, "{}", response.summary());
    assert_eq!(response.body, SMALL.as_bytes());
    elapsed
}

/// Reads until EOF or an error; returns the byte count and how the stream ended
/// (`Ok(())` for EOF).
fn read_to_end_counting(stream: &mut TcpStream) -> (usize, io::Result<()>) {
    let mut chunk = vec![0u8; 256 * 1024];
    let mut total = 0;
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => return (total, Ok(())),
            Ok(n) => total += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (total, Err(e)),
        }
    }
}

/// (1) A client that asks for 64 MiB and never reads is closed by the server once
/// `--send-timeout` (1 s) passes without progress; meanwhile others are served at once.
#[test]
fn stalled_reader_is_dropped_at_send_timeout_while_others_are_served() {
    let _serial = serial();
    const BIG: usize = 64 * MIB;
    let server = Server::start(&["--send-timeout", "1"]);
    write_sparse(&server, "big.bin", BIG);
    server.write("small.txt", SMALL);

    // A small receive buffer: the server's writes stall after a few MiB at most.
    let listener = server.socket_inodes();
    let mut stalled = Conn::connect_with_rcvbuf(server.addr(), 16 * 1024);
    stalled.send(get_request("/big.bin"));
    let sent = Instant::now();
    // The server's end of the stalled connection, watched through /proc/PID/fd.
    let stalled_socket = server.wait_for_new_socket(&listener, Duration::from_secs(2));

    // Other clients during the stall, from another thread: 20 GETs spread over ~1.5 s, each
    // answered fast.
    let others = {
        let addr = server.addr();
        thread::spawn(move || {
            let mut slowest = Duration::ZERO;
            for i in 0..20 {
                let started = Instant::now();
                let mut conn = Conn::connect(addr);
                conn.send(get_close_request("/small.txt"));
                let response = conn.read_response();
                let elapsed = started.elapsed();
                assert_eq!(response.status, 200, "GET {i}: {}", response.summary());
                assert_eq!(response.body, SMALL.as_bytes(), "GET {i}");
                assert!(
                    elapsed < Duration::from_millis(500),
                    "GET {i} during the stall took {elapsed:?}"
                );
                slowest = slowest.max(elapsed);
                thread::sleep(Duration::from_millis(75));
            }
            slowest
        })
    };

    // Meanwhile: the server lets go of the stalled connection about 1 s after its last
    // progress, which was right after the request (the buffers filled at once).
    let dropped_by = sent + Duration::from_secs(6);
    while has_socket(&server, stalled_socket) {
        assert!(
            Instant::now() < dropped_by,
            "the server still holds the stalled connection {:?} after the request \
             (--send-timeout 1)",
            sent.elapsed()
        );
        thread::sleep(Duration::from_millis(10));
    }
    let dropped_after = sent.elapsed();
    assert!(
        dropped_after >= Duration::from_millis(900),
        "the stalled connection was closed after only {dropped_after:?}, before the 1 s \
         send timeout"
    );

    // The client now sees what was already queued, then EOF or a reset: never the whole file.
    stalled
        .stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let reading = Instant::now();
    let (received, end) = read_to_end_counting(&mut stalled.stream);
    match &end {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!("stalled client: expected EOF or reset, got {e} after {received} bytes"),
    }
    assert!(
        received < BIG,
        "the stalled client received {received} bytes, the whole 64 MiB body: it was not \
         dropped"
    );
    assert!(
        reading.elapsed() < Duration::from_secs(3),
        "draining what was queued took {:?}",
        reading.elapsed()
    );
    let slowest = match others.join() {
        Ok(slowest) => slowest,
        Err(panic) => std::panic::resume_unwind(panic),
    };
    eprintln!(
        "stalled client dropped after {dropped_after:?}, had {received} bytes queued; \
         slowest other GET {slowest:?}"
    );
    server.assert_alive();
}

/// Reads one response to `GET /big.bin` from `stream` and compares its body, chunk by chunk,
/// with `expected` (so 200 bodies never sit in memory at once). Returns an error describing
/// the first difference.
fn download_and_compare(stream: &mut TcpStream, expected: &[u8]) -> Result<(), String> {
    let (response, first) = read_head_from(stream)?;
    if response.status != 200 {
        return Err(format!("status {}", response.summary()));
    }
    if response.content_length() != Some(expected.len() as u64) {
        return Err(format!("wrong length: {}", response.summary()));
    }
    let mut buf = vec![0u8; 64 * 1024];
    let mut offset = first.len();
    if offset > expected.len() || first[..] != expected[..offset] {
        return Err("the first body bytes differ".into());
    }
    while offset < expected.len() {
        let want = buf.len().min(expected.len() - offset);
        let n = stream
            .read(&mut buf[..want])
            .map_err(|e| format!("after {offset} body bytes: {e}"))?;
        if n == 0 {
            return Err(format!(
                "EOF after {offset} of {} body bytes",
                expected.len()
            ));
        }
        if buf[..n] != expected[offset..offset + n] {
            return Err(format!(
                "body differs within bytes {offset}..{}",
                offset + n
            ));
        }
        offset += n;
    }
    // Connection: close was asked for: nothing may follow the body.
    match stream.read(&mut buf) {
        Ok(0) => Ok(()),
        Ok(n) => Err(format!("{n} bytes after the body")),
        Err(e) => Err(format!("after the body, expected EOF: {e}")),
    }
}

/// (2) 200 clients download a 4 MiB file at the same time; every body is byte-exact.
#[test]
fn two_hundred_concurrent_downloads_are_byte_exact() {
    let _serial = serial();
    const CLIENTS: usize = 200;
    let server = Server::start(&[]);
    let body = Arc::new(pseudo_random_bytes(4 * MIB, 200));
    server.write("big.bin", &*body);
    let addr = server.addr();
    let started = Instant::now();
    let barrier = Arc::new(Barrier::new(CLIENTS));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let body = Arc::clone(&body);
            let barrier = Arc::clone(&barrier);
            thread::Builder::new()
                .stack_size(256 * 1024)
                .spawn(move || {
                    let mut conn = Conn::connect(addr);
                    // Every client is connected before any asks: the downloads overlap.
                    barrier.wait();
                    conn.send(get_close_request("/big.bin"));
                    download_and_compare(&mut conn.stream, &body)
                        .map_err(|e| format!("client {i}: {e}"))
                })
                .expect("spawn client thread")
        })
        .collect();
    let failures: Vec<String> = clients
        .into_iter()
        .filter_map(|client| match client.join() {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e),
            Err(_) => Some("client thread panicked".into()),
        })
        .collect();
    let elapsed = started.elapsed();
    assert!(
        failures.is_empty(),
        "{} of {CLIENTS} downloads failed, e.g. {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    eprintln!("{CLIENTS} x 4 MiB downloaded in {elapsed:?}");
    assert!(
        elapsed < Duration::from_secs(30),
        "{CLIENTS} concurrent 4 MiB downloads took {elapsed:?}"
    );
    server.assert_alive();
}

/// (3) 2,000 idle keep-alive connections cost the server nothing visible: a new client is
/// served at once, and every idle connection still works afterwards.
#[test]
fn two_thousand_idle_keepalive_connections_stay_open() {
    let _serial = serial();
    const IDLE: usize = 2_000;
    let limit = raise_nofile_limit();
    if limit < (IDLE + 200) as u64 {
        eprintln!(
            "note: RLIMIT_NOFILE hard limit {limit} is too low for {IDLE} connections; skipping"
        );
        return;
    }
    let server = Server::start(&[]);
    server.write("small.txt", SMALL);

    let mut idle: Vec<Conn> = Vec::with_capacity(IDLE);
    for i in 0..IDLE {
        let mut conn = server.connect();
        let response = conn.get("/small.txt");
        assert_eq!(
            response.status,
            200,
            "connection {i}: {}",
            response.summary()
        );
        assert!(
            !response.says_close(),
            "connection {i}: {}",
            response.summary()
        );
        idle.push(conn);
    }

    thread::sleep(Duration::from_millis(200));
    let elapsed = timed_small_get(&server);
    assert!(
        elapsed < Duration::from_millis(500),
        "a new request with {IDLE} idle connections open took {elapsed:?}"
    );

    // Every idle connection is still open and served: all requests first, then all answers.
    for (i, conn) in idle.iter_mut().enumerate() {
        conn.try_send(get_request("/small.txt"))
            .unwrap_or_else(|e| panic!("idle connection {i} was closed: {e}"));
    }
    for (i, conn) in idle.iter_mut().enumerate() {
        match conn.try_read_response(false) {
            Read1::Response(r) => {
                assert_eq!(r.status, 200, "idle connection {i}: {}", r.summary());
                assert_eq!(r.body, SMALL.as_bytes(), "idle connection {i}");
            }
            other => panic!("idle connection {i} got no second answer: {other:?}"),
        }
    }
    server.assert_alive();
}

/// Whether `conn` has a byte to read within `wait` (without consuming it). A closed or
/// reset connection counts as "something arrived".
fn something_arrives(conn: &Conn, wait: Duration) -> bool {
    conn.set_read_timeout(wait);
    let mut byte = [0u8; 1];
    let arrived = match conn.stream.peek(&mut byte) {
        Ok(_) => true,
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) =>
        {
            false
        }
        Err(_) => true,
    };
    conn.set_read_timeout(IO_TIMEOUT);
    arrived
}

/// The start of a request head: a connection that has sent it is busy, not idle, so the
/// server will not close it to make room for another.
const PARTIAL_HEAD: &str = "GET /small.txt HTTP/1.1\r\n";

/// (4) At `--max-conns 5` a sixth client waits in the backlog, unanswered, until one of the
/// five closes; then it is served promptly. The five are busy (each in the middle of a
/// request), so none can be closed to make room.
#[test]
fn sixth_connection_waits_for_a_slot_at_max_conns_5() {
    let _serial = serial();
    let server = Server::start(&["--max-conns", "5"]);
    server.write("small.txt", SMALL);

    let mut open: Vec<Conn> = (0..5)
        .map(|i| {
            // The next request starts in the same write: the connection is never idle,
            // not even between the response and the next bytes.
            let mut conn = server.connect();
            conn.send(get_request("/small.txt") + PARTIAL_HEAD);
            let response = conn.read_response();
            assert_eq!(
                response.status,
                200,
                "connection {i}: {}",
                response.summary()
            );
            conn
        })
        .collect();

    // The kernel completes the handshake (backlog), but the server must not take it.
    let mut sixth = server.connect();
    sixth.send(get_request("/small.txt") + PARTIAL_HEAD);
    assert!(
        !something_arrives(&sixth, Duration::from_millis(300)),
        "the 6th connection got an answer (or was closed) while 5 were open at --max-conns 5: \
         {:?}",
        {
            let mut byte = [0u8; 256];
            sixth.stream.peek(&mut byte).map(|n| preview(&byte[..n]))
        }
    );

    // The five are still there, untouched.
    for (i, conn) in open.iter().enumerate() {
        assert!(
            !something_arrives(conn, Duration::from_millis(1)),
            "busy connection {i} was answered or closed"
        );
    }

    // One closes: the sixth is taken and answered.
    drop(open.remove(0));
    let closed = Instant::now();
    let response = sixth.read_response();
    let waited = closed.elapsed();
    assert_eq!(response.status, 200, "{}", response.summary());
    assert_eq!(response.body, SMALL.as_bytes());
    assert!(
        waited < Duration::from_secs(1),
        "the 6th connection was answered {waited:?} after a slot was freed"
    );

    // Again at the limit (4 + the sixth, all busy): a seventh waits too.
    let mut seventh = server.connect();
    seventh.send(get_request("/small.txt"));
    assert!(
        !something_arrives(&seventh, Duration::from_millis(300)),
        "a 7th connection was answered while 5 were open"
    );
    drop(open);
    let response = seventh.read_response();
    assert_eq!(response.status, 200, "{}", response.summary());
}

/// A server run under `prlimit --nofile=40:40`, or `None` (with a note) if prlimit is
/// missing.
fn start_with_40_fds() -> Option<Server> {
    let prlimit_available = match Command::new("prlimit").arg("--version").output() {
        Ok(output) => output.status.success(),
        Err(_) => false,
    };
    if !prlimit_available {
        eprintln!("note: prlimit (util-linux) is not installed; skipping the EMFILE test");
        return None;
    }
    Some(
        Server::builder()
            .via(&["prlimit", "--nofile=40:40"])
            .start(),
    )
}

/// Reads one response from a connection that has something to read; accepts 200 (served) and
/// 503 (the server could not open the file for want of fds, which is its documented answer to
/// EMFILE on open).
fn expect_served_or_503(conn: &mut Conn, what: &str) -> u16 {
    match conn.try_read_response(false) {
        Read1::Response(r) => {
            assert!(
                r.status == 200 || r.status == 503,
                "{what}: expected 200 or 503, got {}",
                r.summary()
            );
            if r.status == 200 {
                assert_eq!(r.body, SMALL.as_bytes(), "{what}");
            }
            r.status
        }
        other => panic!("{what}: expected a response, got {other:?}"),
    }
}

/// (5) With only 40 fds, accept runs into EMFILE: the server keeps serving the connections it
/// has, does not spin, serves the waiting ones as soon as fds free up, and recovers fully.
/// Each client follows its request with the start of another, so none is ever idle (the
/// server would close idle ones to make room).
#[test]
fn fd_exhaustion_pauses_accept_without_spinning_and_recovers() {
    let _serial = serial();
    const CLIENTS: usize = 60;
    let Some(server) = start_with_40_fds() else {
        return;
    };
    server.write("small.txt", SMALL);
    let baseline_fds = open_fds(&server);
    // Warm the file cache so the first answers need no new fd.
    timed_small_get(&server);

    let mut conns: Vec<Conn> = (0..CLIENTS).map(|_| server.connect()).collect();
    thread::sleep(Duration::from_millis(300));
    for (i, conn) in conns.iter_mut().enumerate() {
        conn.try_send(get_request("/small.txt") + PARTIAL_HEAD)
            .unwrap_or_else(|e| panic!("connection {i}: send: {e}"));
    }
    thread::sleep(Duration::from_millis(500));

    // Which connections were taken: those with an answer by now. The rest wait in the backlog.
    let mut answered = Vec::new();
    let mut waiting = Vec::new();
    for (i, conn) in conns.into_iter().enumerate() {
        if something_arrives(&conn, Duration::from_millis(1)) {
            answered.push((i, conn));
        } else {
            waiting.push((i, conn));
        }
    }
    let first_statuses: Vec<u16> = answered
        .iter_mut()
        .map(|(i, conn)| expect_served_or_503(conn, &format!("accepted connection {i}")))
        .collect();
    let fds_at_limit = open_fds(&server);
    eprintln!(
        "baseline {baseline_fds} fds; {} of {CLIENTS} connections answered ({} with 503), \
         {} waiting; {fds_at_limit} fds open at the limit",
        answered.len(),
        first_statuses.iter().filter(|&&s| s == 503).count(),
        waiting.len()
    );
    assert!(
        !waiting.is_empty(),
        "all {CLIENTS} connections were answered under a 40-fd limit: the limit did not apply"
    );
    assert!(
        answered.len() + baseline_fds + 5 >= 40,
        "only {} connections were answered with {baseline_fds} fds in use at start and a \
         limit of 40: the server stopped accepting early",
        answered.len()
    );

    // At the limit with connections pending: the server must sleep, not spin on EMFILE.
    let cpu_before = cpu_time(&server);
    thread::sleep(Duration::from_secs(1));
    let cpu_used = cpu_time(&server).saturating_sub(cpu_before);
    assert!(
        cpu_used < Duration::from_millis(200),
        "the server used {cpu_used:?} of CPU in 1 s while at the fd limit: it spins"
    );
    assert!(
        !waiting
            .iter()
            .any(|(_, conn)| something_arrives(conn, Duration::from_millis(1))),
        "a waiting connection was answered while no fd was free"
    );

    // Established connections are untouched: each answers a second request.
    for (i, conn) in &mut answered {
        conn.try_send("Host: localhost\r\n\r\n")
            .unwrap_or_else(|e| panic!("accepted connection {i} was closed: {e}"));
        expect_served_or_503(conn, &format!("accepted connection {i}, second request"));
    }

    // Free the fds: the waiting connections are accepted and answered within about a second.
    // Most get the file; one the server takes while the other fds are still being released
    // may find none left to open it with (503, as above).
    drop(answered);
    let freed = Instant::now();
    let mut late_statuses = Vec::new();
    for (i, conn) in &mut waiting {
        conn.set_read_timeout(Duration::from_secs(3));
        late_statuses.push(expect_served_or_503(
            conn,
            &format!("waiting connection {i}"),
        ));
    }
    let waited = freed.elapsed();
    eprintln!(
        "waiting connections answered {waited:?} after fds were freed, {} with 503",
        late_statuses.iter().filter(|&&s| s == 503).count()
    );
    assert!(
        waited < Duration::from_millis(1500),
        "the waiting connections were served {waited:?} after fds were freed"
    );

    // Everything closed: a fresh connection is served at once.
    drop(waiting);
    thread::sleep(Duration::from_millis(200));
    let elapsed = timed_small_get(&server);
    assert!(
        elapsed < Duration::from_secs(1),
        "a fresh connection after recovery took {elapsed:?}"
    );
    let mut fresh = server.connect();
    fresh.send(get_request("/small.txt"));
    let response = fresh.read_response();
    assert_eq!(response.status, 200, "{}", response.summary());
}

/// Whether the server closed `conn` (EOF or reset) within `wait`, with nothing sent before.
fn closed_within(conn: &mut Conn, wait: Duration) -> bool {
    conn.set_read_timeout(wait);
    let mut byte = [0u8; 1];
    let closed = match conn.stream.read(&mut byte) {
        Ok(0) => true,
        Ok(_) => panic!("a response arrived on an idle connection"),
        Err(e) => !matches!(
            e.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ),
    };
    conn.set_read_timeout(IO_TIMEOUT);
    closed
}

/// (6) At `--max-conns 10` with ten idle keep-alive connections, a new client does not wait
/// for one of them to time out: the server closes the oldest idle one (and only it) and
/// serves the newcomer at once.
#[test]
fn at_max_conns_the_oldest_idle_connection_makes_room() {
    let _serial = serial();
    let server = Server::start(&["--max-conns", "10"]);
    server.write("small.txt", SMALL);
    let mut idle: Vec<Conn> = (0..10)
        .map(|i| {
            let mut conn = server.connect();
            let response = conn.get("/small.txt");
            assert_eq!(response.status, 200, "idle {i}: {}", response.summary());
            conn
        })
        .collect();

    let mut newcomer = server.connect();
    newcomer.set_read_timeout(Duration::from_secs(3));
    let asked = Instant::now();
    newcomer.send(get_request("/small.txt"));
    let response = match newcomer.try_read_response(false) {
        Read1::Response(response) => response,
        other => panic!("at the limit with 10 idle connections, a new client got {other:?}"),
    };
    let waited = asked.elapsed();
    assert_eq!(response.status, 200, "{}", response.summary());
    assert!(
        waited < Duration::from_secs(1),
        "the new client waited {waited:?}"
    );

    assert!(
        closed_within(&mut idle[0], Duration::from_secs(1)),
        "the oldest idle connection was not closed"
    );
    for (i, conn) in idle.iter().enumerate().skip(1) {
        assert!(
            !something_arrives(conn, Duration::from_millis(1)),
            "idle connection {i}, not the oldest, was closed"
        );
    }
    let response = idle[9].get("/small.txt");
    assert_eq!(response.status, 200, "{}", response.summary());
}

/// (7) Out of fds (40) with every connection idle: each new client is served at once, the
/// server closing the oldest idle connections to make room, where it used to leave new
/// clients in the backlog until an idle one timed out.
#[test]
fn out_of_fds_the_oldest_idle_connections_make_room() {
    let _serial = serial();
    const CLIENTS: usize = 60;
    let Some(server) = start_with_40_fds() else {
        return;
    };
    server.write("small.txt", SMALL);
    timed_small_get(&server);

    let mut conns = Vec::new();
    for i in 0..CLIENTS {
        let mut conn = server.connect();
        conn.set_read_timeout(Duration::from_secs(3));
        conn.try_send(get_request("/small.txt"))
            .unwrap_or_else(|e| panic!("client {i}: send: {e}"));
        expect_served_or_503(&mut conn, &format!("client {i} of {CLIENTS}, 40 fds"));
        conns.push(conn);
    }
    assert!(
        closed_within(&mut conns[0], Duration::from_secs(1)),
        "the oldest idle connection is still open after {CLIENTS} clients under a 40-fd limit"
    );
    let newest = conns.last_mut().expect("clients");
    newest.send(get_request("/small.txt"));
    expect_served_or_503(newest, "the newest client, second request");
}

/// (8) At `--max-conns 2` with both connections busy (each downloading a file it does not
/// read yet), a third client waits; once both finish their downloads and sit idle in
/// keep-alive, the server closes the oldest of them to serve the third at once, rather than
/// leave it waiting for a keep-alive timer.
#[test]
fn at_max_conns_a_connection_going_idle_makes_room_for_a_waiting_client() {
    let _serial = serial();
    const BIG: usize = 4 * MIB;
    let server = Server::start(&["--max-conns", "2", "--keepalive-timeout", "20"]);
    server.write("small.txt", SMALL);
    write_sparse(&server, "big.bin", BIG);

    let mut busy: Vec<Conn> = (0..2)
        .map(|_| {
            let mut conn = Conn::connect_with_rcvbuf(server.addr(), 64 * 1024);
            conn.send(get_request("/big.bin"));
            conn
        })
        .collect();
    let mut waiting = server.connect();
    waiting.send(get_request("/small.txt"));
    assert!(
        !something_arrives(&waiting, Duration::from_millis(300)),
        "the 3rd connection got an answer while 2 busy ones were open at --max-conns 2"
    );

    for (i, conn) in busy.iter_mut().enumerate() {
        let response = conn.read_response();
        assert_eq!(response.status, 200, "download {i}: {}", response.summary());
        assert_eq!(response.body.len(), BIG, "download {i}");
    }
    let idle = Instant::now();
    waiting.set_read_timeout(Duration::from_secs(3));
    let response = match waiting.try_read_response(false) {
        Read1::Response(response) => response,
        other => panic!("the waiting client got {other:?} after both others went idle"),
    };
    let waited = idle.elapsed();
    assert_eq!(response.status, 200, "{}", response.summary());
    assert!(
        waited < Duration::from_secs(2),
        "the waiting client was answered {waited:?} after the others went idle"
    );
    assert!(
        closed_within(&mut busy[0], Duration::from_secs(1)),
        "the oldest idle connection was not closed to make room"
    );
}
