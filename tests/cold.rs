//! Files whose data is not in the page cache: served byte-exact, read from disk by the
//! worker pool rather than by the loop thread, and a cached file on another connection is
//! answered meanwhile. The site lives beside the build (`CARGO_TARGET_TMPDIR`), on disk:
//! pages on tmpfs cannot be evicted.

pub mod common;

use std::fs::File;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::thread;

use common::*;
use tinyhttpd::sys::file::evict_from_page_cache;

const MIB: usize = 1024 * 1024;
const BIG_BYTES: usize = 24 * MIB + 321;

/// A root directory on disk, removed on drop.
struct DiskRoot {
    path: PathBuf,
}

impl DiskRoot {
    fn new(name: &str) -> DiskRoot {
        let path = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("cold-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create disk root");
        DiskRoot { path }
    }
}

impl Drop for DiskRoot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

fn evict(path: &Path) {
    let file = File::open(path).expect("open to evict");
    evict_from_page_cache(file.as_fd()).expect("evict from the page cache");
}

/// Bytes each of the server's threads has caused to be read from storage
/// (`/proc/PID/task/TID/io`, `read_bytes`), as (thread name, bytes).
fn disk_reads_by_thread(pid: libc::pid_t) -> Vec<(String, u64)> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("list threads");
    tasks
        .filter_map(Result::ok)
        .filter_map(|task| {
            let comm = std::fs::read_to_string(task.path().join("comm")).ok()?;
            let io = std::fs::read_to_string(task.path().join("io")).ok()?;
            let read = io
                .lines()
                .find_map(|line| line.strip_prefix("read_bytes: "))?
                .trim()
                .parse()
                .ok()?;
            Some((comm.trim().to_string(), read))
        })
        .collect()
}

fn assert_same_bytes(got: &[u8], want: &[u8], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    if let Some(i) = got.iter().zip(want).position(|(a, b)| a != b) {
        panic!("{what}: first difference at byte {i}");
    }
}

#[test]
fn an_evicted_file_is_served_whole_and_in_ranges() {
    let root = DiskRoot::new("exact");
    let data = pseudo_random_bytes(BIG_BYTES, 0xc01d_0001);
    let path = write_file_in(&root.path, "big.bin", &data);
    let server = Server::builder().root(&root.path).start();

    evict(&path);
    let mut conn = server.connect();
    let whole = conn.get("/big.bin");
    assert_eq!(whole.status, 200, "{}", whole.summary());
    assert_same_bytes(&whole.body, &data, "whole file");

    evict(&path);
    let (first, last) = (5 * MIB + 17, 9 * MIB + 4000);
    conn.send(format!(
        "GET /big.bin HTTP/1.1\r\nHost: t\r\nRange: bytes={first}-{last}\r\n\r\n"
    ));
    let part = conn.read_response();
    assert_eq!(part.status, 206, "{}", part.summary());
    assert_same_bytes(&part.body, &data[first..=last], "range");
    server.assert_alive();
}

#[test]
fn the_pool_reads_cold_data_and_a_cached_file_is_answered_meanwhile() {
    let root = DiskRoot::new("pool");
    let data = pseudo_random_bytes(BIG_BYTES, 0xc01d_0002);
    let path = write_file_in(&root.path, "big.bin", &data);
    write_file_in(&root.path, "small.txt", "small and cached\n");
    let server = Server::builder().root(&root.path).start();
    assert_eq!(server.get("/small.txt").status, 200);

    evict(&path);
    let addr = server.addr();
    let big = thread::spawn(move || Conn::connect(addr).get("/big.bin"));
    let mut small = server.connect();
    for _ in 0..20 {
        let response = small.get("/small.txt");
        assert_eq!(response.status, 200, "{}", response.summary());
        assert_eq!(response.body, b"small and cached\n");
    }
    let whole = big.join().expect("big download");
    assert_eq!(whole.status, 200, "{}", whole.summary());
    assert_same_bytes(&whole.body, &data, "whole file");

    // The disk reads were the workers': the loop thread (named like the process) only sent
    // pages already in the cache.
    let reads = disk_reads_by_thread(server.pid());
    let by_pool: u64 = reads
        .iter()
        .filter(|(name, _)| name.starts_with("tinyhttpd-pool"))
        .map(|(_, bytes)| bytes)
        .sum();
    assert!(
        by_pool >= (BIG_BYTES / 2) as u64,
        "the pool read {by_pool} of {BIG_BYTES} bytes from disk; by thread: {reads:?}"
    );
}
