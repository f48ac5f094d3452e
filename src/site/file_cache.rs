//! Recently served files, kept open with their metadata (and small files' bytes), so a hot
//! file costs a hash lookup and an fstat instead of an open, a stat and a close per request.
//! Each entry also learns, once, the file's precompressed variants (`file.br`, `file.zst`,
//! `file.gz`), so finding that there are none costs nothing per request either.
//!
//! Freshness rules:
//! - Every request fstats each cached file it may send and uses the entry only if inode,
//!   size and mtime (to the nanosecond) are what they were when it was opened and, if small,
//!   read. So a file rewritten in place (same inode) is noticed at once, whatever its size
//!   when first seen, and never sent with a stale length or a stale copy.
//! - An fstat of an open file cannot see the path being pointed elsewhere, so an entry is also
//!   trusted only for `FILE_CACHE_REVALIDATE_AFTER`; after that the next request resolves the
//!   path again and keeps the entry only if it still names the same file, unchanged. A file
//!   replaced by a rename, or deleted, is noticed within that interval.
//! - An entry no request used for `FILE_CACHE_CLOSE_UNUSED_AFTER` is closed by `sweep`, which
//!   a task above calls, so a deleted file's space is returned and idle entries hold no fds.
//!   `sweep` says when it is next due, or that the cache is empty and nothing is (then the
//!   task waits until `is_empty` turns false), so an idle server makes no wake-ups.
//!
//! Variants are looked for lazily: on the first request for the entry that accepts some
//! coding (and again at each revalidation once known), never for a client that accepts none
//! (curl, scripts, load generators), whose miss would otherwise pay three failed opens. Until
//! they are known, `variants_known` is false and the response says `Vary: Accept-Encoding`,
//! which is true of any file that may have variants.
//!
//! Eviction is CLOCK (second chance) over a slab: a hit sets the entry's `referenced` bit, and
//! a full cache's insertion advances a hand that clears set bits and takes the first slot
//! found clear: O(1) amortised, no scan of the cache, no allocation but the key's on insertion.
//! Invariants: `index` maps each entry's key to its position in `slots`, and nothing else;
//! `slots.len() <= FILE_CACHE_ENTRIES`.
//!
//! Entries are keyed by the canonical bytes of a `NormalizedPath` (`/docs/` and `/docs` are
//! different keys), which the cache only reads.
//!
//! Refusals (a `SiteError`) are never cached.
//!
//! With `--etag content`, a file (or variant) served without its content tag yet is queued,
//! weakly and once per version, in `hashes_wanted` (at most `HASH_QUEUE_FILES`), and the
//! server hands each `hash_job` to a worker; the tag lands in the cached `StaticFile` itself,
//! so it is kept as long as the entry is and made again only for a changed file.

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::rc::{Rc, Weak};
use std::time::{Duration, Instant};

use crate::http::encoding::{self, Coding};
use crate::http::path::NormalizedPath;
use crate::site::etag::HashJob;
use crate::site::files::{INLINE_FILE_MAX_BYTES, Resource, Site, SiteError, StaticFile};

/// How long a cached file is served without looking at the disk again.
pub const FILE_CACHE_REVALIDATE_AFTER: Duration = Duration::from_secs(1);
/// A cached file no request has used for this long is closed (a deleted file's space is
/// returned then). Short, because an entry unused for longer than `FILE_CACHE_REVALIDATE_AFTER`
/// is opened again on its next use anyway: closing it costs at most a re-read of a small file.
pub const FILE_CACHE_CLOSE_UNUSED_AFTER: Duration = Duration::from_secs(2);
/// Sweeps of the file cache are at least this far apart, so an unused entry is closed at most
/// `FILE_CACHE_CLOSE_UNUSED_AFTER` plus this after its last use.
pub const FILE_CACHE_SWEEP_SLACK: Duration = Duration::from_millis(500);
/// At most this many paths are kept (each with up to three variants open); memory for
/// inlined bytes is bounded by four times this times `INLINE_FILE_MAX_BYTES`.
pub const FILE_CACHE_ENTRIES: usize = 1024;
/// At most this many files wait for a content hash job to be handed out; one that finds the
/// queue full is queued by a later request.
pub const HASH_QUEUE_FILES: usize = 64;

/// A file and its precompressed variants, shared between the cache and the responses still
/// sending them.
#[derive(Clone, Debug)]
pub struct Representations {
    pub identity: Rc<StaticFile>,
    /// Indexed like `Coding::ALL`; all `None` while `variants_known` is false.
    variants: [Option<Rc<StaticFile>>; Coding::ALL.len()],
    /// Whether the siblings were looked for.
    variants_known: bool,
}

impl Representations {
    fn new(identity: Rc<StaticFile>) -> Representations {
        Representations {
            identity,
            variants: Default::default(),
            variants_known: false,
        }
    }

    pub fn variant(&self, coding: Coding) -> Option<&Rc<StaticFile>> {
        let index = Coding::ALL.iter().position(|&c| c == coding)?;
        self.variants[index].as_ref()
    }

    /// Whether the file's siblings were looked for, so `variant` answers for every coding.
    pub fn variants_known(&self) -> bool {
        self.variants_known
    }

    /// Opens the siblings: three opens, most failing. Done once per resolution of the path.
    fn find_variants(&mut self, site: &Site) {
        self.variants = Coding::ALL.map(|coding| variant(site, &self.identity, coding));
        self.variants_known = true;
    }

    /// Reads each small file not yet in memory (`INLINE_FILE_MAX_BYTES`), at its second use:
    /// a file used once is cheaper to send with sendfile than to pread (measured on a miss:
    /// about 1 µs more per request). Skipped while a response still holds the file: it is
    /// shared then, and the next use reads it.
    fn read_small_files(&mut self) {
        let files = std::iter::once(&mut self.identity).chain(self.variants.iter_mut().flatten());
        for file in files.filter_map(Rc::get_mut) {
            if file.bytes.is_none() && file.len <= INLINE_FILE_MAX_BYTES {
                file.bytes = read_whole(&file.file, file.len);
            }
        }
    }

    /// Queues, weakly, each file that wants a content hash and is not queued yet.
    fn want_hashes(&self, wanted: &mut Vec<Weak<StaticFile>>) {
        let files = std::iter::once(&self.identity).chain(self.variants.iter().flatten());
        for file in files.filter(|file| file.wants_hash()) {
            if wanted.len() >= HASH_QUEUE_FILES {
                return;
            }
            if !wanted
                .iter()
                .any(|queued| queued.as_ptr() == Rc::as_ptr(file))
            {
                wanted.push(Rc::downgrade(file));
            }
        }
    }

    /// Whether every file still has the inode, size and mtime it was opened (and, if small,
    /// read) with: an fstat each, on every request, whether the bytes are in memory or not.
    fn unchanged_on_disk(&self) -> bool {
        std::iter::once(&self.identity)
            .chain(self.variants.iter().flatten())
            .all(|file| file.unchanged_on_disk())
    }
}

#[derive(Debug)]
pub enum Lookup {
    File(Representations),
    DirectoryWithoutSlash,
    /// A directory to list (`--autoindex`); listings are built fresh each time.
    Listing(File),
}

struct Entry {
    /// Shared with `FileCache::index`: one allocation per insertion.
    key: Rc<[u8]>,
    files: Representations,
    /// When the path was last resolved on disk.
    checked_at: Instant,
    /// When a request last used the entry.
    used_at: Instant,
    /// Used since the clock hand last passed it: spared once more.
    referenced: bool,
}

#[derive(Default)]
pub struct FileCache {
    /// Key → position in `slots`.
    index: HashMap<Rc<[u8]>, usize>,
    /// The entries, in no order.
    slots: Vec<Entry>,
    /// Where the next eviction starts looking (taken modulo `slots.len()`).
    hand: usize,
    /// Lookups answered from the cache, and those that resolved the path on disk.
    hits: u64,
    misses: u64,
    /// Files whose content tag is wanted and whose job was not handed out yet.
    hashes_wanted: Vec<Weak<StaticFile>>,
}

impl FileCache {
    /// Resolves `path` through the cache: a hit is found by the path's canonical bytes,
    /// borrowed, so it allocates nothing; `Site::resolve` runs on a miss or when an entry is
    /// due for a check. The variants are looked for if `accept_encoding` accepts a coding and
    /// they are not known yet.
    pub fn lookup(
        &mut self,
        site: &Site,
        path: &NormalizedPath<'_>,
        accept_encoding: Option<&[u8]>,
        now: Instant,
    ) -> Result<Lookup, SiteError> {
        let key = path.as_bytes();
        let slot = self.index.get(key).copied();
        if let Some(entry) = slot.and_then(|i| self.slots.get_mut(i)) {
            let fresh = now.saturating_duration_since(entry.checked_at)
                < FILE_CACHE_REVALIDATE_AFTER
                && entry.files.unchanged_on_disk();
            if fresh {
                entry.used_at = now;
                entry.referenced = true;
                entry.files.read_small_files();
                if !entry.files.variants_known && accepts_a_coding(accept_encoding) {
                    entry.files.find_variants(site);
                }
                self.hits += 1;
                entry.files.want_hashes(&mut self.hashes_wanted);
                return Ok(Lookup::File(entry.files.clone()));
            }
        }
        self.misses += 1;

        let identity = match site.resolve(path) {
            Ok(Resource::File(file)) => file,
            Ok(Resource::DirectoryWithoutSlash) => return Ok(Lookup::DirectoryWithoutSlash),
            Ok(Resource::Listing(dir)) => return Ok(Lookup::Listing(dir)),
            Err(error) => {
                if let Some(i) = slot {
                    self.remove(i);
                }
                return Err(error);
            }
        };
        let old = slot.and_then(|i| self.slots.get_mut(i));
        let (identity, knew_variants) = match &old {
            Some(entry) if entry.files.identity.same_as(&identity) => {
                (Rc::clone(&entry.files.identity), entry.files.variants_known)
            }
            Some(entry) => (Rc::new(identity), entry.files.variants_known),
            None => (Rc::new(identity), false),
        };
        let mut files = Representations::new(identity);
        // Variants once known stay known, so a file's Vary does not flip at each revalidation.
        if knew_variants || accepts_a_coding(accept_encoding) {
            files.find_variants(site);
        }
        match old {
            Some(entry) => {
                entry.files = files.clone();
                entry.checked_at = now;
                entry.used_at = now;
                entry.referenced = true;
            }
            None => self.insert(key.into(), files.clone(), now),
        }
        files.want_hashes(&mut self.hashes_wanted);
        Ok(Lookup::File(files))
    }

    /// Whether some file waits for its content hash job (`hash_job`).
    pub fn wants_hashes(&self) -> bool {
        !self.hashes_wanted.is_empty()
    }

    /// The next content hash job to hand to a worker, for a file still cached (or still
    /// being sent) and still without its tag.
    pub fn hash_job(&mut self) -> Option<HashJob> {
        while let Some(wanted) = self.hashes_wanted.pop() {
            if let Some(job) = wanted.upgrade().and_then(|file| file.hash_job()) {
                return Some(job);
            }
        }
        None
    }

    /// Lookups answered from the cache, and those that went to the file system.
    pub fn hits_and_misses(&self) -> (u64, u64) {
        (self.hits, self.misses)
    }

    /// No file is cached: a sweep has nothing to watch.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Closes the entries no request used for `FILE_CACHE_CLOSE_UNUSED_AFTER` (a response
    /// still sending one keeps its file open until it ends) and returns when to sweep next:
    /// when the oldest remaining entry falls due, or `None` if none is left.
    pub fn sweep(&mut self, now: Instant) -> Option<Instant> {
        let mut i = 0;
        while let Some(entry) = self.slots.get(i) {
            if now.saturating_duration_since(entry.used_at) < FILE_CACHE_CLOSE_UNUSED_AFTER {
                i += 1;
            } else {
                self.remove(i); // moves the last entry to `i`, which is looked at next
            }
        }
        let oldest_use = self.slots.iter().map(|entry| entry.used_at).min();
        // The oldest use is less than the period ago, so this is at least the slack away.
        oldest_use.map(|used_at| used_at + FILE_CACHE_CLOSE_UNUSED_AFTER + FILE_CACHE_SWEEP_SLACK)
    }

    /// Adds an entry for a key not in the cache; a full cache first evicts one (`evict`).
    fn insert(&mut self, key: Rc<[u8]>, files: Representations, now: Instant) {
        let entry = Entry {
            key: Rc::clone(&key),
            files,
            checked_at: now,
            used_at: now,
            referenced: false,
        };
        let position = if self.slots.len() < FILE_CACHE_ENTRIES {
            self.slots.push(entry);
            self.slots.len() - 1
        } else {
            let victim = self.evict();
            let evicted = std::mem::replace(&mut self.slots[victim], entry);
            self.index.remove(&evicted.key);
            victim
        };
        self.index.insert(key, position);
    }

    /// CLOCK: the position of the first entry from the hand on that was not used since the
    /// hand last passed it, clearing the bits of those that were. Within two turns of a
    /// non-empty cache, since each step clears a bit or stops; each hit sets at most one, so
    /// the steps cost O(1) per insertion on average.
    fn evict(&mut self) -> usize {
        loop {
            let position = self.hand % self.slots.len();
            self.hand = position + 1;
            if !std::mem::take(&mut self.slots[position].referenced) {
                return position;
            }
        }
    }

    /// Drops the entry at `position` (its files close unless a response still holds them);
    /// the last entry moves into its place.
    fn remove(&mut self, position: usize) {
        let removed = self.slots.swap_remove(position);
        self.index.remove(&removed.key);
        if let Some(moved) = self.slots.get(position) {
            self.index.insert(Rc::clone(&moved.key), position);
        }
    }
}

/// Reads exactly `len` bytes from the start of `file`, or nothing if it is not that long now.
fn read_whole(file: &File, len: u64) -> Option<Box<[u8]>> {
    let mut bytes = vec![0; usize::try_from(len).ok()?].into_boxed_slice();
    file.read_exact_at(&mut bytes, 0).ok()?;
    Some(bytes)
}

/// Whether a request with this Accept-Encoding can be sent some coding.
fn accepts_a_coding(accept_encoding: Option<&[u8]>) -> bool {
    accept_encoding.is_some_and(|accepted| {
        Coding::ALL
            .into_iter()
            .any(|coding| encoding::weight(accepted, coding) > 0)
    })
}

/// The file named like `identity` (an index file, for a directory) + `.br`, `.zst` or `.gz`, if that
/// is a servable file (same policies as any file); it is sent with the original's type. A file
/// that is itself compressed has no variants.
fn variant(site: &Site, identity: &StaticFile, coding: Coding) -> Option<Rc<StaticFile>> {
    let name = identity.path.name();
    if Coding::ALL.iter().any(|c| name.ends_with(c.suffix())) {
        return None;
    }
    let mut file = site
        .resolve_file(identity.path.with_suffix(coding.suffix()))
        .ok()?;
    file.content_type = identity.content_type;
    Some(Rc::new(file))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::site::options::SiteOptions;
    use std::path::PathBuf;

    /// A site in a fresh directory, removed when dropped.
    struct TempSite {
        dir: PathBuf,
        site: Site,
    }

    impl TempSite {
        fn new(name: &str, files: &[&str]) -> TempSite {
            let dir =
                std::env::temp_dir().join(format!("file-cache-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            for file in files {
                std::fs::write(dir.join(file), file.as_bytes()).unwrap();
            }
            let site = Site::open(&dir, SiteOptions::default()).unwrap();
            TempSite { dir, site }
        }

        fn get(
            &self,
            cache: &mut FileCache,
            url: &str,
            accept: Option<&str>,
            now: Instant,
        ) -> Representations {
            let mut buffer = Vec::new();
            let path = crate::http::path::normalize(url.as_bytes(), &mut buffer).unwrap();
            match cache.lookup(&self.site, &path, accept.map(str::as_bytes), now) {
                Ok(Lookup::File(files)) => files,
                other => panic!("{url}: {other:?}"),
            }
        }
    }

    impl Drop for TempSite {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    #[test]
    fn siblings_are_opened_only_for_a_request_that_accepts_a_coding() {
        let site = TempSite::new("siblings", &["a.txt", "a.txt.gz", "a.txt.br", "a.txt.zst"]);
        let mut cache = FileCache::default();
        let now = Instant::now();
        for accept in [None, Some("identity"), Some("gzip;q=0, *;q=0")] {
            let files = site.get(&mut cache, "/a.txt", accept, now);
            assert!(!files.variants_known(), "{accept:?}");
            assert!(
                Coding::ALL.iter().all(|&c| files.variant(c).is_none()),
                "{accept:?}"
            );
        }
        let files = site.get(&mut cache, "/a.txt", Some("gzip"), now);
        assert!(files.variants_known());
        assert!(Coding::ALL.iter().all(|&c| files.variant(c).is_some()));
        // Known from then on, for every client, and again after a revalidation.
        let later = now + FILE_CACHE_REVALIDATE_AFTER * 2;
        for when in [now, later] {
            let files = site.get(&mut cache, "/a.txt", None, when);
            assert!(files.variant(Coding::Zstd).is_some(), "{when:?}");
        }
    }

    #[test]
    fn a_small_file_is_read_into_memory_at_its_second_use() {
        let site = TempSite::new("inline", &["a.txt"]);
        let mut cache = FileCache::default();
        let now = Instant::now();
        let first = site.get(&mut cache, "/a.txt", None, now);
        assert!(first.identity.bytes.is_none(), "a miss sends with sendfile");
        // Held by a response: shared, so not read yet.
        assert!(
            site.get(&mut cache, "/a.txt", None, now)
                .identity
                .bytes
                .is_none()
        );
        drop(first);
        let second = site.get(&mut cache, "/a.txt", None, now);
        assert_eq!(second.identity.bytes.as_deref(), Some(&b"a.txt"[..]));
    }

    #[test]
    fn a_full_cache_keeps_the_entries_in_use() {
        let names: Vec<String> = (0..FILE_CACHE_ENTRIES * 2)
            .map(|i| format!("f{i}"))
            .collect();
        let mut files: Vec<&str> = names.iter().map(String::as_str).collect();
        files.push("hot");
        let site = TempSite::new("clock", &files);
        let mut cache = FileCache::default();
        let now = Instant::now();
        let hot = Rc::clone(&site.get(&mut cache, "/hot", None, now).identity);
        for name in &names {
            site.get(&mut cache, &format!("/{name}"), None, now);
            let again = site.get(&mut cache, "/hot", None, now);
            assert!(
                Rc::ptr_eq(&again.identity, &hot),
                "hot evicted before /{name}"
            );
            assert!(cache.slots.len() <= FILE_CACHE_ENTRIES);
        }
        assert_eq!(cache.index.len(), cache.slots.len());
        // Unused entries are swept; the index follows the moved ones.
        let swept = now + FILE_CACHE_CLOSE_UNUSED_AFTER;
        site.get(&mut cache, "/hot", None, swept);
        cache.sweep(swept);
        assert_eq!(cache.slots.len(), 1);
        let again = site.get(&mut cache, "/hot", None, swept);
        assert!(Rc::ptr_eq(&again.identity, &hot));
    }
}
