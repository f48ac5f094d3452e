//! Whole-file transfers: big files byte-exact, aborted downloads, empty files.

pub mod common;

use std::io::Read;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use common::*;

const MIB: usize = 1024 * 1024;

fn assert_same_bytes(got: &[u8], want: &[u8], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    if let Some(i) = got.iter().zip(want).position(|(a, b)| a != b) {
        panic!("{what}: first difference at byte {i}");
    }
}

#[test]
fn five_mib_file_is_byte_exact_raw_and_with_curl() {
    let server = Server::start(&[]);
    let data = pseudo_random_bytes(5 * MIB + 123, 0x5eed_0001);
    server.write("big.bin", &data);

    let mut conn = server.connect();
    let response = conn.get("/big.bin");
    assert_eq!(response.status, 200, "{}", response.summary());
    assert_eq!(response.content_length(), Some(data.len() as u64));
    assert_same_bytes(&response.body, &data, "raw socket download");
    // The connection stays usable after a big body.
    let again = conn.get("/big.bin");
    assert_same_bytes(&again.body, &data, "second download on the same connection");

    let out = server.base().join("curl-download.bin");
    let out_str = out.to_str().unwrap();
    let Some(output) = curl(&["-s", "-S", "-o", out_str, &server.url("/big.bin")]) else {
        return;
    };
    assert!(
        output.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let downloaded = std::fs::read(&out).unwrap();
    assert_same_bytes(&downloaded, &data, "curl download");
}

/// Reads a whole response to `GET target` on a new connection, reporting on `progress`
/// once `report_after` body bytes have arrived. Returns the body.
fn download_with_progress(
    addr: std::net::SocketAddr,
    target: &str,
    report_after: usize,
    progress: mpsc::Sender<()>,
) -> Vec<u8> {
    let mut conn = Conn::connect(addr);
    conn.send(get_close_request(target));
    // Read the head by hand so progress can be reported mid-body.
    let mut received = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut reported = false;
    loop {
        let n = conn
            .stream
            .read(&mut chunk)
            .unwrap_or_else(|e| panic!("download read failed after {} bytes: {e}", received.len()));
        if n == 0 {
            break;
        }
        received.extend_from_slice(&chunk[..n]);
        if !reported && received.len() >= report_after {
            reported = true;
            let _ = progress.send(());
        }
    }
    let head_end = find(&received, b"\r\n\r\n").expect("response head") + 4;
    let head = parse_head(&received[..head_end]);
    assert_eq!(head.status, 200, "{}", head.summary());
    let body = received.split_off(head_end);
    assert_eq!(head.content_length(), Some(body.len() as u64));
    body
}

#[test]
fn aborted_download_does_not_disturb_another() {
    let server = Server::start(&[]);
    let data = pseudo_random_bytes(20 * MIB, 0x5eed_0002);
    server.write("huge.bin", &data);
    let addr = server.addr();

    // Client A asks for the file and reads only a few KiB.
    let mut quitter = server.connect();
    quitter.send(get_request("/huge.bin"));
    let mut first = vec![0u8; 4096];
    let mut got = 0;
    while got < 4096 {
        let n = quitter.stream.read(&mut first[got..]).expect("read start");
        assert!(n > 0, "early EOF");
        got += n;
    }

    // Client B downloads it completely, concurrently.
    let (tx, rx) = mpsc::channel();
    let downloader = thread::spawn(move || download_with_progress(addr, "/huge.bin", MIB, tx));

    // While A is stalled (not reading), B must make progress...
    rx.recv_timeout(IO_TIMEOUT)
        .expect("second client made no progress while the first one stalled");
    // ...and A now goes away with most of its response unread.
    drop(quitter);

    let body = downloader.join().expect("downloader thread");
    assert_same_bytes(&body, &data, "concurrent download");

    // The server still answers, promptly.
    server.assert_alive();
    let response = server.get("/huge.bin");
    assert_same_bytes(&response.body, &data, "download after the abort");
}

#[test]
fn stalled_client_does_not_block_others() {
    let server = Server::start(&[]);
    let data = pseudo_random_bytes(20 * MIB, 0x5eed_0003);
    server.write("huge.bin", &data);

    // A never reads its response, and stays connected for the whole test.
    let mut stalled = server.connect();
    stalled.send(get_request("/huge.bin"));
    thread::sleep(Duration::from_millis(50));

    let response = server.get("/huge.bin");
    assert_same_bytes(&response.body, &data, "download next to a stalled client");
    let response = server.get("/missing");
    assert_eq!(response.status, 404);
    drop(stalled);
}

#[test]
fn empty_file_is_200_with_zero_length() {
    let server = Server::start(&[]);
    server.write("empty.txt", b"");
    server.write("after.txt", b"after");
    let mut conn = server.connect();
    conn.send(format!(
        "{}{}",
        get_request("/empty.txt"),
        get_request("/after.txt")
    ));
    let response = conn.read_response();
    assert_eq!(response.status, 200, "{}", response.summary());
    assert_eq!(response.header("content-length"), Some("0"));
    assert!(response.body.is_empty());
    let next = conn.read_response();
    assert_eq!(next.status, 200, "{}", next.summary());
    assert_eq!(next.body, b"after");

    // HEAD of an empty file too.
    let head = server.request("HEAD", "/empty.txt");
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("0"));
}

/// Whether `body` is exactly one of `versions`.
fn is_one_of(body: &[u8], versions: &[&[u8]]) -> bool {
    versions.contains(&body)
}

/// A file rewritten in place between two requests (shorter, then longer) is sent whole: the
/// old content or the new, with a matching Content-Length, never a truncated or mixed body.
#[test]
fn file_rewritten_in_place_is_sent_whole() {
    let server = Server::start(&[]);
    let old = pseudo_random_bytes(256 * 1024, 0x5eed_0004);
    let shorter = b"now a short file\n".to_vec();
    let longer = pseudo_random_bytes(300 * 1024, 0x5eed_0005);
    assert_ne!(old[..1024], longer[..1024]);
    let mut problems = Vec::new();
    for (what, new) in [("shorter", &shorter), ("longer", &longer)] {
        // A file of its own per case: a small file's cached copy may stay a second.
        let name = format!("changing-{what}.bin");
        let path = server.write(&name, &old);
        let url = format!("/{name}");
        let mut conn = server.connect();
        // Served once, so a cache would now hold it...
        assert_same_bytes(&conn.get(&url).body, &old, "first version");
        // ...then rewritten in place (same inode), and asked for again at once.
        std::fs::write(&path, new).unwrap();
        conn.send(get_request(&url));
        match conn.try_read_response(false) {
            Read1::Response(r) if r.status == 200 && is_one_of(&r.body, &[&old, new]) => {}
            Read1::Response(r) => problems.push(format!(
                "{what}: {} with {} body bytes that are neither version",
                r.summary(),
                r.body.len()
            )),
            Read1::Eof => problems.push(format!("{what}: closed without a response")),
            Read1::Error(e, head) => {
                problems.push(format!("{what}: {e}; head {}", preview(&head)));
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

/// A file replaced by rename (how deploys usually update) is served whole, old or new, and
/// the new version within a few seconds; once deleted, it is 404 soon too.
#[test]
fn file_replaced_by_rename_is_sent_whole_and_soon_fresh() {
    let server = Server::start(&[]);
    let old = pseudo_random_bytes(256 * 1024, 0x5eed_0006);
    let new = pseudo_random_bytes(100 * 1024 + 7, 0x5eed_0007);
    let path = server.write("deployed.bin", &old);
    let mut conn = server.connect();
    assert_same_bytes(&conn.get("/deployed.bin").body, &old, "first version");

    let staged = server.base().join("staged.bin");
    std::fs::write(&staged, &new).unwrap();
    std::fs::rename(&staged, &path).unwrap();
    let started = std::time::Instant::now();
    loop {
        let response = conn.get("/deployed.bin");
        assert_eq!(response.status, 200, "{}", response.summary());
        assert!(
            is_one_of(&response.body, &[&old, &new]),
            "after a rename: {} bytes that are neither version",
            response.body.len()
        );
        if response.body == new {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "still the old version 5 s after the rename"
        );
        thread::sleep(Duration::from_millis(50));
    }

    std::fs::remove_file(&path).unwrap();
    let started = std::time::Instant::now();
    loop {
        let response = conn.get("/deployed.bin");
        assert!(
            response.status == 404 || (response.status == 200 && response.body == new),
            "after delete: {}",
            response.summary()
        );
        if response.status == 404 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "still served 5 s after deletion"
        );
        thread::sleep(Duration::from_millis(50));
    }
}

/// A file dated before 1970 (archives carry such dates; httpdate cannot render them) is
/// served without a Last-Modified, and listed, instead of bringing the server down. Dates
/// past year 9999 are covered by `http::date`'s unit test: file systems cannot store them.
#[test]
fn files_with_dates_http_cannot_express_are_served() {
    let server = Server::start(&["--autoindex"]);
    let old = server.write("dated/old.txt", "from 1960\n");
    std::fs::File::options()
        .write(true)
        .open(&old)
        .unwrap()
        .set_modified(std::time::UNIX_EPOCH - Duration::from_secs(10 * 365 * 86_400))
        .unwrap();
    let response = server.get("/dated/old.txt");
    assert_eq!(response.status, 200, "{}", response.summary());
    assert_eq!(response.body, b"from 1960\n");
    assert_eq!(response.header("Last-Modified"), None);
    assert!(response.header("ETag").is_some());
    let listing = server.get("/dated/");
    assert_eq!(listing.status, 200, "{}", listing.summary());
    assert!(listing.body_text().contains("old.txt"));
    server.assert_alive();
}

/// A file rewritten in place is served in its new version by the very next request, whatever
/// size it had when first seen: small files' cached copies are checked on every request too.
#[test]
fn file_rewritten_in_place_is_fresh_at_once_whatever_its_size() {
    let server = Server::start(&[]);
    let path = server.write("rewritten.bin", b"ten bytes!");
    let mut conn = server.connect();
    assert_eq!(conn.get("/rewritten.bin").body, b"ten bytes!");
    let versions = [
        pseudo_random_bytes(100 * 1024, 0x5eed_0008),
        b"shrunk".to_vec(),
        pseudo_random_bytes(12 * 1024, 0x5eed_0009),
        pseudo_random_bytes(12 * 1024 - 1, 0x5eed_000a),
        Vec::new(),
        b"grown again".to_vec(),
    ];
    for new in versions {
        // Same inode: written over, not replaced.
        std::fs::write(&path, &new).unwrap();
        let response = conn.get("/rewritten.bin");
        assert_eq!(response.status, 200, "{}", response.summary());
        assert_eq!(
            response.content_length(),
            Some(new.len() as u64),
            "right after a rewrite in place to {} bytes: {}",
            new.len(),
            response.summary()
        );
        assert_same_bytes(&response.body, &new, "the rewritten version");
    }
}

/// Targets of the server's open fds that are deleted files.
fn deleted_files_open(server: &Server) -> Vec<String> {
    let dir = format!("/proc/{}/fd", server.pid());
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {dir}: {e}"))
        .filter_map(Result::ok)
        .filter_map(|entry| std::fs::read_link(entry.path()).ok())
        .map(|target| target.to_string_lossy().into_owned())
        .filter(|target| target.ends_with(" (deleted)"))
        .collect()
}

/// The main thread's voluntary context switches: each is a sleep in epoll_wait that ended.
fn wake_ups(server: &Server) -> u64 {
    let path = format!("/proc/{}/status", server.pid());
    let status = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    status
        .lines()
        .find_map(|line| line.strip_prefix("voluntary_ctxt_switches:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no voluntary_ctxt_switches in {path}"))
}

/// A deleted file is not held open by the cache for long (its space goes back to the file
/// system) once no request uses it, and with the cache empty the idle server sleeps.
#[test]
fn unused_deleted_file_is_closed_and_the_idle_server_sleeps() {
    let server = Server::start(&[]);
    let path = server.write("gone.bin", pseudo_random_bytes(200 * 1024, 0x5eed_000b));
    assert_eq!(server.get("/gone.bin").status, 200);
    std::fs::remove_file(&path).unwrap();
    let deleted = Instant::now();
    assert!(
        !deleted_files_open(&server).is_empty(),
        "the cache should hold the file just served"
    );
    // Closed 2.5 s after its last use at most; a generous margin for a loaded machine.
    while !deleted_files_open(&server).is_empty() {
        assert!(
            deleted.elapsed() < Duration::from_secs(8),
            "still open 8 s after deletion: {:?}",
            deleted_files_open(&server)
        );
        thread::sleep(Duration::from_millis(100));
    }
    let before = wake_ups(&server);
    thread::sleep(Duration::from_secs(3));
    assert_eq!(
        wake_ups(&server),
        before,
        "an idle server with an empty cache woke up"
    );
}
