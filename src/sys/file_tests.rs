//! The page-cache wrappers against a real file: written (cached), evicted (cold), then
//! partly read back in. The file lives on disk, beside the build, because pages on tmpfs
//! cannot be evicted.

use super::*;
use std::fs::File;
use std::io::Write;
use std::os::fd::AsFd;
use std::path::PathBuf;

const PAGE: u64 = 4096;
const FILE_BYTES: usize = 4 * 1024 * 1024;
const MIB: usize = 1024 * 1024;

/// A file of `FILE_BYTES` on disk, removed on drop.
struct DiskFile {
    path: PathBuf,
    file: File,
}

impl DiskFile {
    fn new(name: &str) -> DiskFile {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("page-cache-{name}-{}", std::process::id()));
        let mut file = File::create(&path).unwrap();
        let bytes: Vec<u8> = (0..FILE_BYTES).map(|i| (i % 251) as u8).collect();
        file.write_all(&bytes).unwrap();
        let file = File::open(&path).unwrap();
        DiskFile { path, file }
    }

    fn fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }
}

impl Drop for DiskFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[test]
fn pages_spanned_counts_partial_pages() {
    let cases = [
        (0, 1, 1),
        (0, 4096, 1),
        (0, 4097, 2),
        (4095, 2, 2),
        (4096, 4096, 1),
        (100, 8192, 3),
        (0, 1024 * 1024, 256),
    ];
    for (offset, len, pages) in cases {
        assert_eq!(pages_spanned(offset, len, PAGE), pages, "{offset} + {len}");
    }
}

#[test]
fn an_empty_range_is_cached() {
    let file = DiskFile::new("empty-range");
    evict_from_page_cache(file.fd()).unwrap();
    assert!(is_cached(file.fd(), 0, 0).unwrap());
}

#[test]
fn written_then_evicted_then_read_back() {
    let file = DiskFile::new("cachestat");
    assert!(is_cached(file.fd(), 0, FILE_BYTES).unwrap());
    evict_from_page_cache(file.fd()).unwrap();
    assert!(!is_cached(file.fd(), 0, MIB).unwrap());
    assert!(!is_cached(file.fd(), 3 * MIB as u64, MIB).unwrap());

    read_into_cache(file.fd(), MIB as u64, MIB).unwrap();
    assert!(is_cached(file.fd(), MIB as u64, MIB).unwrap());
    assert!(is_cached(file.fd(), MIB as u64 + 100, 5000).unwrap());
    // The last MiB is beyond any readahead window the reads can have opened.
    assert!(!is_cached(file.fd(), 3 * MIB as u64, MIB).unwrap());
}

#[test]
fn the_one_byte_probe_sees_the_same() {
    let file = DiskFile::new("nowait");
    assert!(byte_is_cached(file.fd(), 0).unwrap());
    evict_from_page_cache(file.fd()).unwrap();
    assert!(!byte_is_cached(file.fd(), 0).unwrap());
    assert!(!byte_is_cached(file.fd(), 3 * MIB as u64).unwrap());
    read_into_cache(file.fd(), 0, 4096).unwrap();
    assert!(byte_is_cached(file.fd(), 0).unwrap());
    assert!(byte_is_cached(file.fd(), FILE_BYTES as u64 + 10).unwrap());
}

#[test]
fn reading_in_stops_at_the_end_of_the_file() {
    let file = DiskFile::new("past-end");
    evict_from_page_cache(file.fd()).unwrap();
    read_into_cache(file.fd(), FILE_BYTES as u64 - 100, MIB).unwrap();
    assert!(is_cached(file.fd(), FILE_BYTES as u64 - 100, 100).unwrap());
}
