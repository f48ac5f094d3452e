//! The logs under operation: a full disk never leaves a cut access-log line (also with
//! workers sharing the file), no line is lost under load or while the writer stalls, SIGHUP
//! reopens the access and error logs (logrotate's `postrotate kill -HUP`) without losing a
//! line or a connection, and the error log has levels and timestamps.

pub mod common;

use std::io::{self, Read, Write};
use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use common::*;

/// The query-string tags (`?n=TAG`) of the access-log lines, in order.
fn tags(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter_map(|l| {
            let start = l.find("?n=")? + 3;
            let end = start + l[start..].find(' ')?;
            Some(l[start..end].to_string())
        })
        .collect()
}

/// A tmpfs of `size`, unmounted (and its directory removed) on drop.
struct Tmpfs {
    dir: TempDir,
}

impl Tmpfs {
    /// `None` (with the reason printed) when mounting is not permitted here.
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = TempDir::new();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output();
        match mounted {
            Ok(out) if out.status.success() => Some(Tmpfs { dir }),
            Ok(out) => {
                eprintln!(
                    "note: cannot mount a tmpfs ({}), test skipped",
                    String::from_utf8_lossy(&out.stderr).trim()
                );
                None
            }
            Err(e) => {
                eprintln!("note: cannot run mount ({e}), test skipped");
                None
            }
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazily: a worker still exiting may hold a file open for a moment.
        let _ = Command::new("umount")
            .arg("--lazy")
            .arg(self.dir.path())
            .status();
    }
}

/// Fills the file system holding `path` with a file of that name until a write fails.
fn fill(path: &Path) {
    let mut filler = std::fs::File::create(path).expect("create filler");
    let chunk = [b'f'; 512];
    while filler.write(&chunk).is_ok_and(|n| n > 0) {}
}

/// When the disk holding the access log fills, a line is never cut short and joined to the
/// next one: once space returns, every line in the file is whole, and the error log says
/// lines were dropped.
#[test]
fn a_full_disk_never_leaves_a_cut_log_line() {
    let Some(tmpfs) = Tmpfs::mount("64k") else {
        return;
    };
    let log = tmpfs.path().join("access.log");
    let mut server = Server::start(&["--access-log", log.to_str().unwrap()]);
    server.write("a.txt", "alpha\n");
    assert_eq!(server.get("/a.txt?n=first").status, 200);
    poll_lines(&log, |lines| lines.len() == 1);
    // Nothing is left but the rest of the log's last page: the line that crosses its end is
    // written in part, and the ones after it not at all.
    let filler = tmpfs.path().join("filler");
    fill(&filler);
    // Long lines (a long User-Agent) reach the end of the page in a few requests.
    let agent = "a".repeat(400);
    let request = |tag: &str| {
        let mut conn = server.connect();
        conn.send(format!(
            "GET /a.txt?n={tag} HTTP/1.1\r\nHost: x\r\nUser-Agent: {agent}\r\nConnection: close\r\n\r\n"
        ));
        assert_eq!(conn.read_response().status, 200);
        // One request per log batch, each given time to reach the disk.
        thread::sleep(Duration::from_millis(30));
    };
    for i in 0..20 {
        request(&format!("full{i}"));
    }
    std::fs::remove_file(&filler).expect("remove filler");
    for i in 0..5 {
        request(&format!("later{i}"));
    }
    server.signal(libc::SIGTERM);
    server.wait_exit(Duration::from_secs(5)).expect("exit");

    let text = std::fs::read(&log).expect("read the log");
    let text = String::from_utf8_lossy(&text);
    assert!(text.ends_with('\n'), "the log ends in a cut line: {text:?}");
    for line in text.lines() {
        assert_eq!(
            line.matches("127.0.0.1 - - [").count(),
            1,
            "a cut line was joined to the next one: {line:?}"
        );
        // A whole line ends with the request time, `S.mmm`.
        let time = line.rsplit(' ').next().unwrap_or_default();
        assert!(
            line.starts_with("127.0.0.1 - - [")
                && time.len() >= 5
                && time.as_bytes()[time.len() - 4] == b'.'
                && time
                    .bytes()
                    .filter(|b| *b != b'.')
                    .all(|b| b.is_ascii_digit()),
            "not a whole line: {line:?}"
        );
    }
    let logged = tags(&text.lines().map(str::to_string).collect::<Vec<_>>());
    for i in 0..5 {
        assert!(
            logged.contains(&format!("later{i}")),
            "lines after space returned are missing: {logged:?}"
        );
    }
    let stderr = server.stderr();
    assert!(
        stderr.contains("access log") && stderr.contains("dropped"),
        "the error log should say lines were dropped: {stderr:?}"
    );
}

/// Downloads `/big.bin` (`len` bytes) on a connection with a small receive window, reading
/// slowly; returns a thread that reports the bytes received and a progress counter.
fn slow_download(
    server: &Server,
    len: usize,
) -> (
    thread::JoinHandle<Result<usize, String>>,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let mut conn = Conn::connect_with_rcvbuf(server.addr(), 64 * 1024);
    conn.send(get_close_request("/big.bin?n=download"));
    let progress = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&progress);
    let reader = thread::spawn(move || -> Result<usize, String> {
        let mut stream = conn.stream;
        let (response, first) = read_head_from(&mut stream)?;
        if response.status != 200 {
            return Err(response.summary());
        }
        let mut received = first.len();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match stream.read(&mut buf) {
                Ok(0) => return Ok(received),
                Ok(n) => received += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(format!("after {received} of {len} bytes: {e}")),
            }
            seen.store(received, Ordering::SeqCst);
            thread::sleep(Duration::from_millis(2));
        }
    });
    (reader, progress)
}

/// Waits until `progress` passes `bytes`.
fn wait_for_progress(progress: &std::sync::atomic::AtomicUsize, bytes: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while progress.load(std::sync::atomic::Ordering::SeqCst) < bytes {
        assert!(Instant::now() < deadline, "the download does not progress");
        thread::sleep(Duration::from_millis(5));
    }
}

/// Renames the access log as logrotate does, sends SIGHUP, and checks that the earlier lines
/// all stay in the renamed file, later ones go to a new file at the original path, no line
/// is lost, and a download in flight during the SIGHUP completes.
fn rotate_and_check(extra: &[&str], workers: usize) {
    const BIG: usize = 16 * 1024 * 1024;
    let dir = TempDir::new();
    let log = dir.path().join("access.log");
    let rotated = dir.path().join("access.log.1");
    let mut args = vec!["--access-log", log.to_str().unwrap()];
    args.extend_from_slice(extra);
    let mut server = Server::start(&args);
    server.write("a.txt", "alpha\n");
    // With --workers, the supervisor's line comes before its workers listen.
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::net::TcpStream::connect(server.addr()).is_err() {
        assert!(Instant::now() < deadline, "no worker listens");
        thread::sleep(Duration::from_millis(10));
    }
    std::fs::File::create(server.root().join("big.bin"))
        .and_then(|f| f.set_len(BIG as u64))
        .expect("create big.bin");

    let before: Vec<String> = (0..10).map(|i| format!("before{i}")).collect();
    for tag in &before {
        assert_eq!(server.get(&format!("/a.txt?n={tag}")).status, 200);
    }
    poll_lines(&log, |lines| lines.len() == before.len());
    let (download, progress) = slow_download(&server, BIG);
    wait_for_progress(&progress, 1024 * 1024);

    std::fs::rename(&log, &rotated).expect("rename the log");
    server.signal(libc::SIGHUP);
    // Each worker (or the single server) says it reopened its logs.
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.stderr().matches("reopened").count() < workers {
        assert!(
            Instant::now() < deadline,
            "not every process reopened its logs: {:?}",
            server.stderr()
        );
        thread::sleep(Duration::from_millis(20));
    }
    let after: Vec<String> = (0..20).map(|i| format!("after{i}")).collect();
    for tag in &after {
        assert_eq!(server.get(&format!("/a.txt?n={tag}")).status, 200);
    }
    let received = download
        .join()
        .expect("reader thread")
        .unwrap_or_else(|e| panic!("the download in flight during SIGHUP failed: {e}"));
    assert_eq!(received, BIG, "the download was cut short");

    let new_lines = poll_lines(&log, |lines| lines.len() == after.len() + 1);
    let old_lines = poll_lines(&rotated, |_| true);
    // Workers write their lines independently: compare as sets.
    let mut old_tags = tags(&old_lines);
    old_tags.sort();
    assert_eq!(
        old_tags, before,
        "the renamed file keeps every earlier line"
    );
    let mut new_tags = tags(&new_lines);
    new_tags.sort();
    let mut want: Vec<String> = after.iter().cloned().chain(["download".into()]).collect();
    want.sort();
    assert_eq!(new_tags, want, "later lines go to the new file, none lost");
    assert!(
        new_lines
            .iter()
            .any(|l| l.contains("?n=download ") && l.contains(&format!(" 200 {BIG} "))),
        "the download is logged whole: {new_lines:#?}"
    );
    assert!(server.try_wait().is_none(), "the server exited");
    server.assert_alive();
}

#[test]
fn sighup_reopens_the_access_log() {
    rotate_and_check(&["--log-level", "info"], 1);
}

#[test]
fn sighup_reopens_the_access_log_in_every_worker() {
    rotate_and_check(&["--log-level", "info", "--workers", "2"], 2);
}

/// `--error-log PATH`: timestamped lines with their level; `--log-level` filters them, and
/// SIGHUP reopens the file too.
#[test]
fn error_log_to_a_file_is_levelled_and_reopened_on_sighup() {
    let dir = TempDir::new();
    let errors = dir.path().join("error.log");
    let rotated = dir.path().join("error.log.1");
    let errors_arg = errors.to_str().unwrap();
    let mut server = Server::start(&["--error-log", errors_arg, "--log-level", "info"]);
    let lines = poll_lines(&errors, |lines| !lines.is_empty());
    let first = &lines[0];
    // 2026/12/01 10:00:00 [info] 1234: ...
    let bytes = first.as_bytes();
    assert!(
        bytes.len() > 20
            && bytes[4] == b'/'
            && bytes[7] == b'/'
            && bytes[10] == b' '
            && bytes[13] == b':'
            && bytes[16] == b':'
            && first[19..].starts_with(" [info] "),
        "not a timestamped info line: {first:?}"
    );
    assert!(
        server.stderr().is_empty(),
        "with --error-log, stderr stays empty: {:?}",
        server.stderr()
    );

    std::fs::rename(&errors, &rotated).expect("rename the error log");
    server.signal(libc::SIGHUP);
    let reopened = poll_lines(&errors, |lines| {
        lines.iter().any(|l| l.contains("reopened"))
    });
    assert!(
        reopened.iter().all(|l| l.contains(" [info] ")),
        "{reopened:#?}"
    );
    server.signal(libc::SIGTERM);
    server.wait_exit(Duration::from_secs(5)).expect("exit");
    let text = std::fs::read_to_string(&errors).unwrap();
    assert!(text.contains("shutting down"), "{text:?}");

    // At --log-level warn, the info lines are left out.
    let quiet = dir.path().join("quiet.log");
    let mut server = Server::start(&["--error-log", quiet.to_str().unwrap()]);
    server.signal(libc::SIGHUP);
    server.assert_alive();
    let mut server_warn = Server::start(&[
        "--error-log",
        quiet.to_str().unwrap(),
        "--log-level",
        "warn",
    ]);
    server_warn.signal(libc::SIGTERM);
    server_warn.wait_exit(Duration::from_secs(5)).expect("exit");
    server.signal(libc::SIGTERM);
    server.wait_exit(Duration::from_secs(5)).expect("exit");
    let text = std::fs::read_to_string(&quiet).unwrap();
    let pid = server_warn.pid().to_string();
    assert!(
        !text.lines().any(|l| l.contains(&format!("] {pid}: "))),
        "--log-level warn logged info lines: {text:?}"
    );
    assert!(
        text.lines().any(|l| l.contains("[info]")),
        "the default level (info) logs start and stop: {text:?}"
    );
}

/// Waits until a worker listens (with --workers, the supervisor's line comes first).
fn wait_until_listening(server: &Server) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::net::TcpStream::connect(server.addr()).is_err() {
        assert!(Instant::now() < deadline, "no worker listens");
        thread::sleep(Duration::from_millis(10));
    }
}

/// `connections` clients at once, each sending the `targets` it is given one after another
/// on one keep-alive connection; returns when all have their answers.
fn clients(server: &Server, connections: usize, targets: impl Fn(usize) -> Vec<String>) {
    let threads: Vec<_> = (0..connections)
        .map(|c| {
            let addr = server.addr();
            let targets = targets(c);
            thread::spawn(move || {
                let mut conn = Conn::connect(addr);
                for target in &targets {
                    let status = conn.get(target).status;
                    assert!(status == 200 || status == 404, "{target}: {status}");
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("client thread");
    }
}

/// Whether `line` is one whole Combined Log Format line, with the request time, as these
/// tests' clients produce it (no spaces in Referer or User-Agent).
fn is_whole_line(line: &str) -> bool {
    let Some(rest) = line.strip_prefix("127.0.0.1 - - [") else {
        return false;
    };
    let Some((_, rest)) = rest.split_once("] \"GET /") else {
        return false;
    };
    let Some((target, rest)) = rest.split_once(" HTTP/1.1\" ") else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let quoted = |s: &str| s.len() >= 2 && s.starts_with('"') && s.ends_with('"');
    let fields: Vec<&str> = rest.split(' ').collect();
    !target.contains('"')
        && line.matches("127.0.0.1").count() == 1
        && fields.len() == 5
        && fields[0].len() == 3
        && digits(fields[0])
        && digits(fields[1])
        && quoted(fields[2])
        && quoted(fields[3])
        && fields[4]
            .split_once('.')
            .is_some_and(|(s, ms)| digits(s) && ms.len() == 3 && digits(ms))
}

/// With `--workers 2` appending to one log on a disk that fills up, every line stays whole:
/// no worker's line lands in the middle of another's cut one, and while the disk is full the
/// file does not end in a line cut short. The lines that do not fit are dropped whole.
#[test]
fn workers_on_a_full_disk_write_whole_lines_or_none() {
    let Some(tmpfs) = Tmpfs::mount("64k") else {
        return;
    };
    std::fs::write(tmpfs.path().join("filler"), vec![b'f'; 57_000]).expect("write filler");
    let log = tmpfs.path().join("acc.log");
    let mut server = Server::start(&["--workers", "2", "--access-log", log.to_str().unwrap()]);
    wait_until_listening(&server);
    // About 14 kB of lines for about 8 kB of room.
    clients(&server, 16, |c| {
        (0..10).map(|i| format!("/AAAA-{c}-{i}")).collect()
    });
    thread::sleep(Duration::from_millis(300));
    let full = std::fs::read_to_string(&log).expect("read the log");
    assert!(
        full.ends_with('\n'),
        "with the disk full, the log ends in a line cut short: {:?}",
        &full[full.len().saturating_sub(200)..]
    );

    std::fs::remove_file(tmpfs.path().join("filler")).expect("remove filler");
    clients(&server, 16, |c| {
        (0..2).map(|i| format!("/BBBB-{c}-{i}")).collect()
    });
    server.signal(libc::SIGTERM);
    server.wait_exit(Duration::from_secs(5)).expect("exit");

    let text = std::fs::read_to_string(&log).expect("read the log");
    assert!(text.ends_with('\n'), "the log ends in a cut line");
    let lines: Vec<&str> = text.lines().collect();
    for line in &lines {
        assert!(is_whole_line(line), "not one whole line: {line:?}");
    }
    assert!(
        lines.len() < 160 + 32,
        "the disk never filled: {} lines",
        lines.len()
    );
    assert_eq!(
        lines.iter().filter(|l| l.contains("/BBBB-")).count(),
        32,
        "lines after space returned are missing"
    );
}

/// Counts the lines of every file in `dir`.
fn lines_in(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .expect("read dir")
        .map(|entry| {
            let bytes = std::fs::read(entry.expect("entry").path()).expect("read");
            bytes.iter().filter(|&&b| b == b'\n').count()
        })
        .sum()
}

/// A flood of requests loses no access-log line: while the writer thread is behind, lines
/// wait in memory (up to a bound in bytes), not in a queue of a few dozen batches.
#[test]
fn a_flood_of_requests_loses_no_access_log_line() {
    const CLIENTS: usize = 2;
    const REQUESTS: usize = 10_000;
    let dir = TempDir::new();
    let log = dir.path().join("flood.log");
    let mut server = Server::start(&["--access-log", log.to_str().unwrap()]);
    server.write("a.txt", "alpha\n");
    clients(&server, CLIENTS, |_| vec!["/a.txt".to_string(); REQUESTS]);
    server.signal(libc::SIGTERM);
    server.wait_exit(Duration::from_secs(5)).expect("exit");
    assert_eq!(
        lines_in(dir.path()),
        CLIENTS * REQUESTS,
        "{}",
        server.stderr()
    );
}

/// A SIGHUP storm (logrotate gone wild) under load, with `--workers 2`: every line lands in
/// one of the rotated files or the current one; none is lost while a writer reopens.
#[test]
fn a_sighup_storm_under_load_loses_no_access_log_line() {
    const CLIENTS: usize = 3;
    const REQUESTS: usize = 1000;
    const ROTATIONS: usize = 40;
    let dir = TempDir::new();
    let log = dir.path().join("w.acc");
    let mut server = Server::start(&["--workers", "2", "--access-log", log.to_str().unwrap()]);
    server.write("a.txt", "alpha\n");
    wait_until_listening(&server);
    let addr = server.addr();
    let load = thread::spawn(move || {
        let threads: Vec<_> = (0..CLIENTS)
            .map(|_| {
                thread::spawn(move || {
                    let mut conn = Conn::connect(addr);
                    for _ in 0..REQUESTS {
                        assert_eq!(conn.get("/a.txt").status, 200);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().expect("client thread");
        }
    });
    for i in 0..ROTATIONS {
        let _ = std::fs::rename(&log, dir.path().join(format!("w.acc.{i}")));
        server.signal(libc::SIGHUP);
        thread::sleep(Duration::from_millis(50));
    }
    load.join().expect("load");
    server.signal(libc::SIGTERM);
    server.wait_exit(Duration::from_secs(5)).expect("exit");
    assert_eq!(
        lines_in(dir.path()),
        CLIENTS * REQUESTS,
        "{}",
        server.stderr()
    );
}

/// A destination that stops taking lines for a while (a pipe whose reader pauses, as a
/// writer thread busy reopening or descheduled would) loses no line: while the writer is
/// stuck, the lines wait in memory, and all of them reach the reader once it reads again.
#[test]
fn a_stalled_writer_loses_no_access_log_line() {
    const REQUESTS: usize = 3000;
    let dir = TempDir::new();
    let fifo = dir.path().join("access.fifo");
    let made = Command::new("mkfifo").arg(&fifo).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo failed");
    let (go, wait_for_go) = std::sync::mpsc::channel::<()>();
    let reader_path = fifo.clone();
    // Opening a FIFO for reading waits for the server to open it for writing.
    let reader = thread::spawn(move || {
        let mut pipe = std::fs::File::open(&reader_path).expect("open the FIFO");
        wait_for_go.recv().expect("go");
        let mut text = Vec::new();
        pipe.read_to_end(&mut text).expect("read the FIFO");
        text
    });
    let mut server = Server::start(&["--access-log", fifo.to_str().unwrap()]);
    server.write("a.txt", "alpha\n");
    // Far more than the pipe holds (64 KiB), while nothing reads it.
    clients(&server, 1, |_| vec!["/a.txt".to_string(); REQUESTS]);
    go.send(()).expect("go");
    server.signal(libc::SIGTERM);
    server.wait_exit(Duration::from_secs(5)).expect("exit");
    let text = reader.join().expect("reader");
    let lines = text.iter().filter(|&&b| b == b'\n').count();
    assert_eq!(lines, REQUESTS, "{}", server.stderr());
}

/// `--log-format json`: one JSON object per line, parsed here by Python's `json`; odd bytes
/// in the request line come out escaped, and every line is still valid JSON.
#[test]
fn json_access_log_lines_parse_with_escaped_client_bytes() {
    let dir = TempDir::new();
    let log = dir.path().join("access.log");
    let server = Server::start(&[
        "--access-log",
        log.to_str().unwrap(),
        "--log-format",
        "json",
    ]);
    server.write("a.txt", "alpha\n");
    let mut conn = server.connect();
    conn.send(
        "GET /a.txt?n=1 HTTP/1.1\r\nHost: x\r\nUser-Agent: agent \"q\"\r\nReferer: http://r/\r\n\r\n",
    );
    assert_eq!(conn.read_response().status, 200);
    let mut odd = server.connect();
    odd.send(b"GET /odd\"\\\xff\xc3\xa9 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let _ = odd.read_until_close();
    let lines = poll_lines(&log, |lines| lines.len() == 2);
    const SCRIPT: &str = r#"
import json, sys
for line in sys.stdin:
    o = json.loads(line)
    print(json.dumps([o["time"], o["remote_addr"], o["method"], o["path"], o["protocol"],
                      o["status"], o["bytes_sent"], o["referer"], o["user_agent"],
                      o["request_time"]]))
"#;
    let text = lines.join("\n") + "\n";
    let output = python3_stdin(SCRIPT, text.as_bytes()).expect("python3");
    assert!(
        output.status.success(),
        "not JSON: {text}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let parsed = String::from_utf8(output.stdout).unwrap();
    let rows: Vec<&str> = parsed.lines().collect();
    assert_eq!(rows.len(), 2, "{parsed}");
    assert!(
        rows[0].contains(
            r#""127.0.0.1", "GET", "/a.txt?n=1", "HTTP/1.1", 200, 6, "http://r/", "agent \"q\"""#
        ),
        "{}",
        rows[0]
    );
    assert!(rows[0].starts_with("[\"20"), "{}", rows[0]);
    // The quote and backslash round-trip, the lone 0xff byte reads back as U+00FF, and the
    // valid UTF-8 (é) is kept.
    assert!(
        rows[1].contains(r#""/odd\"\\\u00ff\u00e9""#),
        "{}\nraw line: {}",
        rows[1],
        lines[1]
    );
}
