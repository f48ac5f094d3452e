//! A file's entity-tag (RFC 9110 §8.8.3), in one of two forms chosen by `--etag`:
//!
//! - `mtime` (the default): `"<size hex>-<mtime ns hex>"`, as nginx does. No inode or device,
//!   so replicas holding the same file with the same size and mtime give the same tag, and a
//!   cache or an If-Range download can move between them. It is strong: the bytes are taken
//!   to be the same whenever size and mtime are. The limit: a rewrite to the same size within
//!   the file system's mtime granularity, or with the mtime set back, keeps the tag.
//! - `content`: the first `CONTENT_TAG_BYTES` of the SHA-256 of the bytes, in hex, for trees
//!   where mtimes mean nothing (a Nix store sets them all to 1 s). Hashing reads the whole
//!   file, so it is a worker job (`HashJob`), run once per version of a file (the file cache
//!   keeps the tag with the open file, and a changed file is a new `StaticFile`). Until the
//!   job is done the file is served without an ETag: no validator is better than a wrong one.
//!
//! Invariant: a tag, once known, names exactly one content (for `content`, up to a hash
//! collision; for `mtime`, up to the limit above); a content tag is only ever set by a job
//! that read the whole file and found its identity unchanged afterwards.

use std::fmt::Write as _;
use std::fs::{File, Metadata};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use sha2::{Digest as _, Sha256};

use crate::site::compress::FileIdentity;

/// Bytes of the SHA-256 kept in a content tag: 128 bits, far beyond any chance of two
/// versions of a site colliding, in 32 hex digits.
pub const CONTENT_TAG_BYTES: usize = 16;
/// Bytes a hash job reads at a time: its memory, whatever the file's size.
pub const HASH_READ_BYTES: usize = 256 * 1024;

/// What a file's ETag is made from (`--etag`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum EtagMode {
    /// Size and modification time: free, and the same on every replica with the same mtimes.
    #[default]
    Mtime,
    /// A hash of the content, computed off the loop once per version of a file.
    Content,
}

/// The tag of one version of a file, as `StaticFile` keeps it.
#[derive(Debug)]
pub enum FileTag {
    Known(Box<[u8]>),
    /// A content tag, shared with the `HashJob` that fills it.
    Hashed(Arc<ContentTag>),
}

/// A content tag: set by a `HashJob` on a worker, read by the loop.
#[derive(Debug, Default)]
pub struct ContentTag {
    tag: OnceLock<Box<[u8]>>,
    /// A job was handed out for it, so at most one is. Only the loop reads or writes it.
    requested: AtomicBool,
}

impl FileTag {
    /// The tag for the file `metadata` describes; a content tag starts unknown.
    pub fn new(mode: EtagMode, metadata: &Metadata) -> FileTag {
        match mode {
            EtagMode::Mtime => FileTag::Known(mtime_tag(metadata)),
            EtagMode::Content => FileTag::Hashed(Arc::default()),
        }
    }

    /// The tag, quotes included, once known.
    pub fn get(&self) -> Option<&[u8]> {
        match self {
            FileTag::Known(tag) => Some(tag),
            FileTag::Hashed(content) => content.tag.get().map(|tag| &tag[..]),
        }
    }

    /// Whether a hash job should be asked for: a content tag, unknown, and none handed out.
    pub fn wants_hash(&self) -> bool {
        matches!(self, FileTag::Hashed(content)
            if !content.requested.load(Ordering::Relaxed) && content.tag.get().is_none())
    }

    /// Marks the job as handed out.
    pub fn mark_requested(&self) {
        if let FileTag::Hashed(content) = self {
            content.requested.store(true, Ordering::Relaxed);
        }
    }

    /// The job that fills this tag, reading `file` (a duplicate descriptor) of `identity`.
    pub fn job(&self, file: File, identity: FileIdentity) -> Option<HashJob> {
        match self {
            FileTag::Hashed(content) => Some(HashJob {
                file,
                identity,
                content: Arc::clone(content),
            }),
            FileTag::Known(_) => None,
        }
    }
}

/// Hashing one version of a file, for a worker thread: `Send`, and it owns what it reads.
#[derive(Debug)]
pub struct HashJob {
    file: File,
    identity: FileIdentity,
    content: Arc<ContentTag>,
}

impl HashJob {
    /// Reads the file in `HASH_READ_BYTES` chunks (with pread: no offset is shared with the
    /// loop's descriptor) and stores its tag, unless reading failed or the file is no longer
    /// the version it was asked for: bytes that may mix two versions get no tag.
    pub fn run(self) {
        let Ok(len) = usize::try_from(self.identity.len) else {
            return;
        };
        let mut buffer = vec![0; HASH_READ_BYTES.min(len)];
        let mut hasher = Sha256::new();
        let mut offset = 0;
        while offset < len {
            let chunk = (len - offset).min(buffer.len());
            let Some(part) = buffer.get_mut(..chunk) else {
                return;
            };
            if self.file.read_exact_at(part, offset as u64).is_err() {
                return;
            }
            hasher.update(&*part);
            offset += chunk;
        }
        let unchanged = self
            .file
            .metadata()
            .is_ok_and(|metadata| FileIdentity::of(&metadata) == self.identity);
        if unchanged {
            let _ = self.content.tag.set(content_tag(&hasher.finalize()));
        }
    }
}

/// `"<size hex>-<mtime ns hex>"`: the same on every copy with the same size and mtime.
fn mtime_tag(metadata: &Metadata) -> Box<[u8]> {
    let mtime_ns = i128::from(metadata.mtime()) * 1_000_000_000 + i128::from(metadata.mtime_nsec());
    format!("\"{:x}-{:x}\"", metadata.len(), mtime_ns)
        .into_bytes()
        .into_boxed_slice()
}

/// `"<hex>"` of the first `CONTENT_TAG_BYTES` of `digest`.
fn content_tag(digest: &[u8]) -> Box<[u8]> {
    let mut tag = String::with_capacity(2 + 2 * CONTENT_TAG_BYTES);
    tag.push('"');
    for byte in digest.iter().take(CONTENT_TAG_BYTES) {
        let _ = write!(tag, "{byte:02x}");
    }
    tag.push('"');
    tag.into_bytes().into_boxed_slice()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_content_tag_is_the_hash_of_the_whole_file_read_in_chunks() {
        let path = std::env::temp_dir().join(format!("etag-hash-{}", std::process::id()));
        // More than one chunk, and not a multiple of it.
        let bytes: Vec<u8> = (0..HASH_READ_BYTES * 2 + 7).map(|i| i as u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        let file = File::open(&path).unwrap();
        let metadata = file.metadata().unwrap();
        let tag = FileTag::new(EtagMode::Content, &metadata);
        assert!(tag.wants_hash() && tag.get().is_none());
        let job = tag.job(file.try_clone().unwrap(), FileIdentity::of(&metadata));
        job.unwrap().run();
        assert_eq!(tag.get(), Some(&content_tag(&Sha256::digest(&bytes))[..]));
        assert_eq!(tag.get().unwrap().len(), 2 + 2 * CONTENT_TAG_BYTES);
        assert!(!tag.wants_hash());
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn a_file_changed_since_it_was_asked_for_gets_no_tag() {
        let path = std::env::temp_dir().join(format!("etag-changed-{}", std::process::id()));
        std::fs::write(&path, b"one").unwrap();
        let file = File::open(&path).unwrap();
        let metadata = file.metadata().unwrap();
        let tag = FileTag::new(EtagMode::Content, &metadata);
        let job = tag.job(file.try_clone().unwrap(), FileIdentity::of(&metadata));
        std::fs::write(&path, b"two, longer").unwrap();
        job.unwrap().run();
        assert_eq!(tag.get(), None);
        let _ = std::fs::remove_file(&path);
    }
}
