//! Recently served files, kept open with their metadata (and small files' bytes), so a hot
//! file costs a hash lookup instead of an open, a stat and a close per request. Each entry
//! also knows the file's precompressed variants (`file.br`, `file.gz`), so finding that
//! there are none costs nothing per request either.
//!
//! Freshness rule: an entry is trusted for `FILE_CACHE_REVALIDATE_AFTER`; after that the next request
//! resolves the path again, and keeps the cached entry only if it is still the same file,
//! unchanged (device, inode, size, mtime). So a replaced or deleted file is noticed within
//! that interval. A small file's bytes are a complete copy, so within it the old version is
//! sent whole; a large file is sent from the open fd, so it is checked with an fstat on every
//! request, and a file rewritten in place is never sent with a stale length. Failures (404,
//! 403) are never cached.

use std::collections::HashMap;
use std::fs::File;
use std::rc::Rc;
use std::time::Instant;

use crate::config::{FILE_CACHE_ENTRIES, FILE_CACHE_REVALIDATE_AFTER};
use crate::files::{Resource, Site, StaticFile};
use crate::http::Status;
use crate::http::encoding::Coding;

/// A file and its precompressed variants, shared between the cache and the responses still
/// sending them.
#[derive(Clone, Debug)]
pub struct Representations {
    pub identity: Rc<StaticFile>,
    /// Indexed like `Coding::ALL`.
    pub variants: [Option<Rc<StaticFile>>; 2],
}

impl Representations {
    pub fn variant(&self, coding: Coding) -> Option<&Rc<StaticFile>> {
        let index = Coding::ALL.iter().position(|&c| c == coding)?;
        self.variants[index].as_ref()
    }

    pub fn has_variants(&self) -> bool {
        self.variants.iter().any(Option::is_some)
    }

    /// Whether every file sent from disk still has the size and mtime it was opened with.
    fn unchanged_on_disk(&self) -> bool {
        std::iter::once(&self.identity)
            .chain(self.variants.iter().flatten())
            .all(|file| file.bytes.is_some() || file.unchanged_on_disk())
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
            let fresh = now.saturating_duration_since(entry.checked_at)
                < FILE_CACHE_REVALIDATE_AFTER
                && entry.files.unchanged_on_disk();
            fresh.then(|| entry.files.clone())
        });
        if let Some(files) = cached {
            path.truncate(key_len);
            return Ok(Lookup::File(files));
        }
        let key: Box<[u8]> = path.as_slice().into();
        path.truncate(key_len);

        let identity = match site.resolve(path, trailing_slash) {
            Ok(Resource::File(file)) => file,
            Ok(Resource::DirectoryWithoutSlash) => return Ok(Lookup::DirectoryWithoutSlash),
            Ok(Resource::Listing(dir)) => return Ok(Lookup::Listing(dir)),
            Err(status) => {
                self.entries.remove(&key);
                return Err(status);
            }
        };
        // `path` now names the file itself (an index file, for a directory).
        let variants = Coding::ALL.map(|coding| variant(site, path, &identity, coding));
        let identity = match self.entries.get(&key) {
            Some(entry) if entry.files.identity.same_as(&identity) => {
                Rc::clone(&entry.files.identity)
            }
            _ => Rc::new(identity),
        };
        let files = Representations { identity, variants };
        self.make_room(now);
        self.entries.insert(
            key,
            Entry {
                files: files.clone(),
                checked_at: now,
            },
        );
        Ok(Lookup::File(files))
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

/// `path` + `.br` or `.gz`, if that is a servable file (same policies as any file); it is sent
/// with the original's type. A file that is itself compressed has no variants.
fn variant(
    site: &Site,
    path: &mut Vec<u8>,
    identity: &StaticFile,
    coding: Coding,
) -> Option<Rc<StaticFile>> {
    if Coding::ALL.iter().any(|c| path.ends_with(c.suffix())) {
        return None;
    }
    let len = path.len();
    path.extend_from_slice(coding.suffix());
    let resolved = site.resolve(path, false);
    path.truncate(len);
    match resolved {
        Ok(Resource::File(mut file)) => {
            file.content_type = identity.content_type;
            Some(Rc::new(file))
        }
        _ => None,
    }
}
