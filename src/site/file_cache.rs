//! Recently served files, kept open with their metadata (and small files' bytes), so a hot
//! file costs a hash lookup and an fstat instead of an open, a stat and a close per request.
//! Each entry also knows the file's precompressed variants (`file.br`, `file.zst`, `file.gz`), so finding
//! that there are none costs nothing per request either.
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
//! Entries are keyed by the canonical bytes of a `NormalizedPath` (`/docs/` and `/docs` are
//! different keys), which the cache only reads.
//!
//! Refusals (a `SiteError`) are never cached.

use std::collections::HashMap;
use std::fs::File;
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::http::encoding::Coding;
use crate::http::path::NormalizedPath;
use crate::site::files::{Resource, Site, SiteError, StaticFile};

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

/// A file and its precompressed variants, shared between the cache and the responses still
/// sending them.
#[derive(Clone, Debug)]
pub struct Representations {
    pub identity: Rc<StaticFile>,
    /// Indexed like `Coding::ALL`.
    pub variants: [Option<Rc<StaticFile>>; Coding::ALL.len()],
}

impl Representations {
    pub fn variant(&self, coding: Coding) -> Option<&Rc<StaticFile>> {
        let index = Coding::ALL.iter().position(|&c| c == coding)?;
        self.variants[index].as_ref()
    }

    pub fn has_variants(&self) -> bool {
        self.variants.iter().any(Option::is_some)
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
    files: Representations,
    /// When the path was last resolved on disk.
    checked_at: Instant,
    /// When a request last used the entry.
    used_at: Instant,
}

#[derive(Default)]
pub struct FileCache {
    entries: HashMap<Box<[u8]>, Entry>,
    /// Lookups answered from the cache, and those that resolved the path on disk.
    hits: u64,
    misses: u64,
}

impl FileCache {
    /// Resolves `path` through the cache: a hit is found by the path's canonical bytes,
    /// borrowed, so it allocates nothing; `Site::resolve` runs on a miss or when an entry is
    /// due for a check.
    pub fn lookup(
        &mut self,
        site: &Site,
        path: &NormalizedPath<'_>,
        now: Instant,
    ) -> Result<Lookup, SiteError> {
        let key = path.as_bytes();
        let cached = self.entries.get_mut(key).and_then(|entry| {
            let fresh = now.saturating_duration_since(entry.checked_at)
                < FILE_CACHE_REVALIDATE_AFTER
                && entry.files.unchanged_on_disk();
            fresh.then(|| {
                entry.used_at = now;
                entry.files.clone()
            })
        });
        if let Some(files) = cached {
            self.hits += 1;
            return Ok(Lookup::File(files));
        }
        self.misses += 1;

        let identity = match site.resolve(path) {
            Ok(Resource::File(file)) => file,
            Ok(Resource::DirectoryWithoutSlash) => return Ok(Lookup::DirectoryWithoutSlash),
            Ok(Resource::Listing(dir)) => return Ok(Lookup::Listing(dir)),
            Err(error) => {
                self.entries.remove(key);
                return Err(error);
            }
        };
        let variants = Coding::ALL.map(|coding| variant(site, &identity, coding));
        let identity = match self.entries.get(key) {
            Some(entry) if entry.files.identity.same_as(&identity) => {
                Rc::clone(&entry.files.identity)
            }
            _ => Rc::new(identity),
        };
        let files = Representations { identity, variants };
        self.make_room(now);
        self.entries.insert(
            key.into(),
            Entry {
                files: files.clone(),
                checked_at: now,
                used_at: now,
            },
        );
        Ok(Lookup::File(files))
    }

    /// Lookups answered from the cache, and those that went to the file system.
    pub fn hits_and_misses(&self) -> (u64, u64) {
        (self.hits, self.misses)
    }

    /// No file is cached: a sweep has nothing to watch.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Closes the entries no request used for `FILE_CACHE_CLOSE_UNUSED_AFTER` (a response
    /// still sending one keeps its file open until it ends) and returns when to sweep next:
    /// when the oldest remaining entry falls due, or `None` if none is left.
    pub fn sweep(&mut self, now: Instant) -> Option<Instant> {
        self.entries.retain(|_, entry| {
            now.saturating_duration_since(entry.used_at) < FILE_CACHE_CLOSE_UNUSED_AFTER
        });
        let oldest_use = self.entries.values().map(|entry| entry.used_at).min();
        // The oldest use is less than the period ago, so this is at least the slack away.
        oldest_use.map(|used_at| used_at + FILE_CACHE_CLOSE_UNUSED_AFTER + FILE_CACHE_SWEEP_SLACK)
    }

    /// Keeps the cache under `FILE_CACHE_ENTRIES`: drop what is due for a check anyway, and if
    /// every entry is fresh, start over (simple, and bounded).
    fn make_room(&mut self, now: Instant) {
        if self.entries.len() < FILE_CACHE_ENTRIES {
            return;
        }
        self.entries.retain(|_, entry| {
            now.saturating_duration_since(entry.checked_at) < FILE_CACHE_REVALIDATE_AFTER
        });
        if self.entries.len() >= FILE_CACHE_ENTRIES {
            self.entries.clear();
        }
    }
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
