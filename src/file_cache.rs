//! Recently served files, kept open with their metadata (and small files' bytes), so a hot
//! file costs a hash lookup instead of an open, a stat and a close per request.
//!
//! Freshness rule: an entry is trusted for `REVALIDATE_AFTER`; after that the next request
//! resolves the path again, and keeps the cached entry only if it is still the same file,
//! unchanged (device, inode, size, mtime). So a replaced or deleted file is noticed within
//! that interval. A small file's bytes are a complete copy, so within it the old version is
//! sent whole; a large file is sent from the open fd, so it is checked with an fstat on every
//! request, and a file rewritten in place is never sent with a stale length. Failures (404,
//! 403) are never cached.

use std::collections::HashMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::files::{Resource, Site, StaticFile};
use crate::http::Status;

/// How long a cached file is served without looking at the disk again.
pub const REVALIDATE_AFTER: Duration = Duration::from_secs(1);
/// At most this many files are kept open; memory for inlined bytes is bounded by this times
/// `files::INLINE_FILE_MAX_BYTES`.
pub const MAX_ENTRIES: usize = 1024;

/// What a request path resolves to, with files shared between the cache and the responses
/// still sending them.
#[derive(Debug)]
pub enum Lookup {
    File(Rc<StaticFile>),
    DirectoryWithoutSlash,
}

struct Entry {
    file: Rc<StaticFile>,
    checked_at: Instant,
}

#[derive(Default)]
pub struct FileCache {
    entries: HashMap<Box<[u8]>, Entry>,
}

impl FileCache {
    /// Resolves `path` (normalised; see `Site::resolve`, which it calls on a miss or when an
    /// entry is due for a check).
    pub fn lookup(
        &mut self,
        site: &Site,
        path: &mut Vec<u8>,
        trailing_slash: bool,
        now: Instant,
    ) -> Result<Lookup, Status> {
        let key_len = path.len();
        if trailing_slash {
            path.push(b'/');
        }
        let cached = self.entries.get(path.as_slice()).and_then(|entry| {
            let fresh = now.saturating_duration_since(entry.checked_at) < REVALIDATE_AFTER
                && (entry.file.bytes.is_some() || entry.file.unchanged_on_disk());
            fresh.then(|| Rc::clone(&entry.file))
        });
        if let Some(file) = cached {
            path.truncate(key_len);
            return Ok(Lookup::File(file));
        }
        let key: Box<[u8]> = path.as_slice().into();
        path.truncate(key_len);

        let fresh = match site.resolve(path, trailing_slash) {
            Ok(Resource::File(file)) => file,
            Ok(Resource::DirectoryWithoutSlash) => return Ok(Lookup::DirectoryWithoutSlash),
            Err(status) => {
                self.entries.remove(&key);
                return Err(status);
            }
        };
        let file = match self.entries.get_mut(&key) {
            Some(entry) if entry.file.same_as(&fresh) => {
                entry.checked_at = now;
                return Ok(Lookup::File(Rc::clone(&entry.file)));
            }
            _ => Rc::new(fresh),
        };
        self.make_room(now);
        self.entries.insert(
            key,
            Entry {
                file: Rc::clone(&file),
                checked_at: now,
            },
        );
        Ok(Lookup::File(file))
    }

    /// Keeps the cache under `MAX_ENTRIES`: drop what is due for a check anyway, and if
    /// every entry is fresh, start over (simple, and bounded).
    fn make_room(&mut self, now: Instant) {
        if self.entries.len() < MAX_ENTRIES {
            return;
        }
        self.entries
            .retain(|_, entry| now.saturating_duration_since(entry.checked_at) < REVALIDATE_AFTER);
        if self.entries.len() >= MAX_ENTRIES {
            self.entries.clear();
        }
    }
}
