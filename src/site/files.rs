//! The site on disk: a normalised request path (`http::path::NormalizedPath`, only read) → an
//! open regular file with its metadata and the `ResolvedPath` it was found under, or a refusal.
//! Every name this module derives (the index file, a variant) is a new `ResolvedPath`, so no
//! caller's bytes are changed by resolving.
//!
//! Policy, enforced on what is actually opened rather than on the request text:
//! - nothing outside the root is ever opened: every open is `openat2(RESOLVE_BENEATH |
//!   RESOLVE_NO_SYMLINKS)` from the root's fd, so neither `..` nor a link can climb out;
//! - a path through symlinks is first resolved to the real path it names, which is served
//!   only if it lies beneath the root (else `Forbidden`), by opening that link-free path;
//! - dotfiles and dot-directories are not served (`NotFound`) unless `serve_hidden`, and that
//!   holds for the target of a symlink too; the one exception is a first segment
//!   `.well-known` (RFC 8615), though a dotted name beneath it stays hidden;
//! - only regular files are served: a directory is answered by its index file, and a FIFO,
//!   socket or device is `Forbidden` (opening is non-blocking, so a FIFO cannot stall the
//!   loop).
//!
//! Refusals are a `SiteError`, not an HTTP status: this layer knows files, not responses.

use std::ffi::CString;
use std::ffi::OsStr;
use std::fs::{File, Metadata};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::http::date::{self, HTTP_DATE_LEN};
use crate::http::mime::{self, ContentType};
use crate::http::path::NormalizedPath;
use crate::site::compress::FileIdentity;
use crate::site::etag::{EtagMode, FileTag, HashJob};
use crate::site::options::SiteOptions;
use crate::sys::file::open_beneath;

/// Files up to this size are read into memory once used twice (by `site::file_cache`), so
/// their responses are a copy into the output buffer and pipelined responses leave in one write.
pub const INLINE_FILE_MAX_BYTES: u64 = 16 * 1024;

/// A regular file, open, with what its response head needs.
#[derive(Debug)]
pub struct StaticFile {
    pub file: File,
    pub len: u64,
    pub modified: Option<SystemTime>,
    /// `modified` as an HTTP-date, rendered once rather than per response.
    pub last_modified: Option<[u8; HTTP_DATE_LEN]>,
    pub content_type: ContentType,
    /// The whole content, for a small file (`INLINE_FILE_MAX_BYTES`) the file cache has read;
    /// `len` bytes exactly. Never set here: a file sent once is cheaper to sendfile.
    pub bytes: Option<Box<[u8]>>,
    /// The strong entity-tag (`site::etag`): from size and mtime, or from the content once
    /// a worker has hashed it.
    tag: FileTag,
    /// Device, inode, size, mtime and ctime: what tells whether the file changed.
    identity: FileIdentity,
    /// The name it was resolved under; its variants are looked up beside it.
    pub path: ResolvedPath,
}

impl StaticFile {
    /// Whether `other` is the same file, unchanged.
    pub fn same_as(&self, other: &StaticFile) -> bool {
        self.identity == other.identity
    }

    /// What keys this file's compressed variants.
    pub fn file_identity(&self) -> FileIdentity {
        self.identity
    }

    /// The strong entity-tag, quotes included; `None` while a content hash is being made.
    pub fn etag(&self) -> Option<&[u8]> {
        self.tag.get()
    }

    /// Whether a content hash should be asked for (`--etag content`, not known, not asked).
    pub fn wants_hash(&self) -> bool {
        self.tag.wants_hash()
    }

    /// The job that hashes this file for its tag, handed out once (a duplicate descriptor,
    /// so the worker reads without touching the loop's). `None` if no job is wanted or the
    /// descriptor cannot be duplicated now, in which case a later request asks again.
    pub fn hash_job(&self) -> Option<HashJob> {
        if !self.tag.wants_hash() {
            return None;
        }
        let job = self.tag.job(self.file.try_clone().ok()?, self.identity)?;
        self.tag.mark_requested();
        Some(job)
    }

    /// Whether the open file still has the size and times it was opened with. A file
    /// rewritten in place keeps its inode, so only a fresh fstat can tell.
    pub fn unchanged_on_disk(&self) -> bool {
        self.file
            .metadata()
            .is_ok_and(|metadata| FileIdentity::of(&metadata) == self.identity)
    }
}

/// The name of a file on the site, as resolution found it: the normalised URL path relative to
/// the root, plus `/` and the index name when the URL named a directory. This name, not the
/// target of a symlink on the way, gives the media type and the variants' names; what is
/// opened for it is this name, or, through symlinks, the link-free path it really leads to.
///
/// Ownership: it owns its bytes and is never changed once built. It is made by `Site` on a
/// cache miss only (a cached file is found by its `NormalizedPath`, borrowed), is kept in the
/// `StaticFile` it names, and every name derived from it is a new value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedPath {
    /// Relative, without a slash at either end; empty for the root directory.
    name: Box<[u8]>,
}

impl ResolvedPath {
    fn named(relative: &[u8]) -> ResolvedPath {
        ResolvedPath {
            name: relative.into(),
        }
    }

    /// `name` inside this directory.
    fn join(&self, name: &[u8]) -> ResolvedPath {
        let mut joined = self.name.to_vec();
        if !joined.is_empty() {
            joined.push(b'/');
        }
        joined.extend_from_slice(name);
        ResolvedPath {
            name: joined.into(),
        }
    }

    /// This name with `suffix` appended: `a.txt` → `a.txt.gz`.
    pub fn with_suffix(&self, suffix: &[u8]) -> ResolvedPath {
        ResolvedPath {
            name: [&self.name[..], suffix].concat().into(),
        }
    }

    /// The path relative to the root, as opened.
    pub fn name(&self) -> &[u8] {
        &self.name
    }

    /// The last segment.
    pub fn file_name(&self) -> &[u8] {
        self.name
            .rsplit(|&b| b == b'/')
            .next()
            .unwrap_or(&self.name)
    }

    /// Whether a segment is a dotfile or dot-directory (see `hides`).
    fn is_hidden(&self) -> bool {
        hides(self.name.split(|&b| b == b'/'))
    }
}

/// Why a path names nothing the site will serve. The layer above maps each to a status.
#[derive(Debug)]
pub enum SiteError {
    /// Nothing servable is there: missing, hidden (a dotfile), or a file asked for as a
    /// directory.
    NotFound,
    /// Something is there that is not served: outside the root, not a regular file, a
    /// directory without an index (and no `--autoindex`), or not readable.
    Forbidden,
    /// Out of file descriptors or memory: the same request may succeed later.
    Exhausted,
    /// Any other failure to open or stat, kept for the error log.
    Failed(io::Error),
}

/// What a path names, when it names something servable.
#[derive(Debug)]
pub enum Resource {
    File(StaticFile),
    /// A directory asked for without its trailing slash: redirect to the slash form, so that
    /// relative links in its index resolve against the directory.
    DirectoryWithoutSlash,
    /// A directory without an index file, open, to be listed (`--autoindex`).
    Listing(File),
}

pub struct Site {
    root: OwnedFd,
    /// The root's canonical path, to judge where a followed symlink really led.
    root_path: PathBuf,
    pub(super) options: SiteOptions,
}

impl Site {
    /// Opens the root directory. Fails if it is missing or not a directory, or if the kernel
    /// cannot open files beneath a directory (openat2 needs Linux 5.6).
    pub fn open(root: &Path, options: SiteOptions) -> io::Result<Site> {
        let root_path = root.canonicalize()?;
        let dir = File::open(&root_path)?;
        if !dir.metadata()?.is_dir() {
            return Err(io::Error::from_raw_os_error(libc::ENOTDIR));
        }
        let root = OwnedFd::from(dir);
        open_beneath(root.as_fd(), c".")?;
        Ok(Site {
            root,
            root_path,
            options,
        })
    }

    pub fn serve_hidden(&self) -> bool {
        self.options.serve_hidden
    }

    /// `--etag content`: ETags are hashes that workers compute.
    pub fn hashes_content(&self) -> bool {
        self.options.etag == EtagMode::Content
    }

    /// The URL path of the page configured for error `code`, if any.
    pub fn error_page(&self, code: u16) -> Option<&[u8]> {
        self.options
            .error_pages
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, path)| path.as_slice())
    }

    /// Resolves a normalised URL path to something servable.
    pub fn resolve(&self, path: &NormalizedPath<'_>) -> Result<Resource, SiteError> {
        let named = ResolvedPath::named(path.relative());
        self.refuse_hidden(&named)?;
        let (file, metadata) = self.open_file(&named)?;
        if metadata.is_file() {
            if path.trailing_slash() {
                return Err(SiteError::NotFound); // a file is not a directory: `/a.txt/`
            }
            return Ok(Resource::File(self.static_file(file, &metadata, named)));
        }
        if !metadata.is_dir() {
            return Err(SiteError::Forbidden);
        }
        if !path.trailing_slash() {
            return Ok(Resource::DirectoryWithoutSlash);
        }
        let index = named.join(self.options.index_name.as_bytes());
        match self.open_file(&index) {
            Ok((index_file, metadata)) if metadata.is_file() => Ok(Resource::File(
                self.static_file(index_file, &metadata, index),
            )),
            Ok(_) | Err(SiteError::NotFound) if self.options.autoindex => {
                Ok(Resource::Listing(file))
            }
            // Without --autoindex, a directory without an index is not listed.
            Ok(_) | Err(SiteError::NotFound) => Err(SiteError::Forbidden),
            Err(status) => Err(status),
        }
    }

    /// The regular file named `path` (a file's precompressed variant), under the same
    /// policies as any file.
    pub fn resolve_file(&self, path: ResolvedPath) -> Result<StaticFile, SiteError> {
        self.refuse_hidden(&path)?;
        let (file, metadata) = self.open_file(&path)?;
        if !metadata.is_file() {
            return Err(SiteError::NotFound);
        }
        Ok(self.static_file(file, &metadata, path))
    }

    /// `NotFound` for a dotfile or a path through a dot-directory, unless `--serve-hidden`.
    fn refuse_hidden(&self, path: &ResolvedPath) -> Result<(), SiteError> {
        if !self.options.serve_hidden && path.is_hidden() {
            return Err(SiteError::NotFound);
        }
        Ok(())
    }

    fn static_file(&self, file: File, metadata: &Metadata, path: ResolvedPath) -> StaticFile {
        // With `--etag content` mtimes are declared meaningless: a Last-Modified from them
        // would answer If-Modified-Since with 304 for changed content.
        let modified = metadata
            .modified()
            .ok()
            .filter(|_| self.options.etag == EtagMode::Mtime);
        StaticFile {
            file,
            len: metadata.len(),
            modified,
            last_modified: modified.and_then(date::render),
            content_type: mime::content_type(path.file_name()).unwrap_or(self.options.default_type),
            bytes: None,
            tag: FileTag::new(self.options.etag, metadata),
            identity: FileIdentity::of(metadata),
            path,
        }
    }

    /// Opens `path` beneath the root. A path without symlinks costs one open. One with
    /// symlinks is resolved to where it really leads, which must be beneath the root
    /// (`Forbidden` otherwise) and pass the dotfile policy, and that symlink-free path is what
    /// gets opened.
    fn open_file(&self, path: &ResolvedPath) -> Result<(File, Metadata), SiteError> {
        let opened = match open_relative(self.root.as_fd(), path.name()) {
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => self.open_through_symlinks(path),
            other => other.map_err(SiteError::from),
        };
        let file = File::from(opened?);
        let metadata = file.metadata().map_err(SiteError::from)?;
        Ok((file, metadata))
    }

    fn open_through_symlinks(&self, path: &ResolvedPath) -> Result<OwnedFd, SiteError> {
        open_through_symlinks(
            self.root.as_fd(),
            &self.root_path,
            self.options.serve_hidden,
            path.name(),
        )
    }

    /// The symlink rule of this site as an owned value (a duplicate of the root's fd), for a
    /// listing, which may be built away from the loop.
    pub fn links(&self) -> io::Result<Links> {
        Ok(Links {
            root: self.root.try_clone()?,
            root_path: self.root_path.clone(),
            serve_hidden: self.options.serve_hidden,
        })
    }
}

/// What a site needs to judge where a symlink leads, owned and `Send`: a listing shows a link
/// only if a request through it would be served.
#[derive(Debug)]
pub struct Links {
    root: OwnedFd,
    root_path: PathBuf,
    serve_hidden: bool,
}

impl Links {
    /// The metadata of what `name` (relative to the root, through symlinks) leads to, under
    /// the same rule as serving it: beneath the root and not hidden, else a refusal.
    pub fn follow(&self, name: &[u8]) -> Result<Metadata, SiteError> {
        let fd =
            open_through_symlinks(self.root.as_fd(), &self.root_path, self.serve_hidden, name)?;
        File::from(fd).metadata().map_err(SiteError::from)
    }
}

/// Resolves `name` to the real path it names, which is opened only if it lies beneath the
/// root (`Forbidden` otherwise) and is not hidden (`NotFound`, unless `serve_hidden`).
fn open_through_symlinks(
    root: BorrowedFd<'_>,
    root_path: &Path,
    serve_hidden: bool,
    name: &[u8],
) -> Result<OwnedFd, SiteError> {
    let real = root_path
        .join(OsStr::from_bytes(name))
        .canonicalize()
        .map_err(SiteError::from)?;
    let inside = real
        .strip_prefix(root_path)
        .map_err(|_| SiteError::Forbidden)?;
    let hidden = hides(inside.components().map(|c| c.as_os_str().as_bytes()));
    if hidden && !serve_hidden {
        return Err(SiteError::NotFound);
    }
    // Refusing symlinks here makes the check above hold for what is opened: if the tree
    // changed in between, the open fails rather than follow a new link.
    open_relative(root, inside.as_os_str().as_bytes()).map_err(SiteError::from)
}

/// The directory of RFC 8615's well-known URIs, served although dotted: ACME HTTP-01
/// challenges (RFC 8555 §8.3) and security.txt (RFC 9116) must be reachable there.
const WELL_KNOWN: &[u8] = b".well-known";

/// Whether a path, given as its segments relative to the root, goes through a dotted name
/// other than a first segment `.well-known`. A dotfile inside `.well-known` stays hidden.
pub(super) fn hides<'a>(segments: impl Iterator<Item = &'a [u8]>) -> bool {
    segments
        .enumerate()
        .any(|(i, s)| s.starts_with(b".") && !(i == 0 && s == WELL_KNOWN))
}

/// `open_beneath` for a relative path (empty means the directory itself); symlinks are
/// refused. It runs only when a path is resolved, never for a cached file, so the C string it
/// builds costs nothing on the hot path.
fn open_relative(dir: BorrowedFd<'_>, path: &[u8]) -> io::Result<OwnedFd> {
    let path = if path.is_empty() { b"." } else { path };
    match CString::new(path) {
        Ok(c_path) => open_beneath(dir, &c_path),
        Err(_) => Err(io::Error::from_raw_os_error(libc::ENOENT)),
    }
}

impl From<io::Error> for SiteError {
    /// What a failed open or stat means for the request.
    fn from(error: io::Error) -> SiteError {
        match error.raw_os_error() {
            Some(libc::ENOENT | libc::ENOTDIR | libc::ENAMETOOLONG | libc::ELOOP) => {
                SiteError::NotFound
            }
            Some(libc::EACCES | libc::EPERM) => SiteError::Forbidden,
            Some(libc::EMFILE | libc::ENFILE | libc::ENOMEM) => SiteError::Exhausted,
            _ => SiteError::Failed(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_derived_from_a_normalised_path() {
        // URL path, index name (for a directory form), name opened, file name, hidden
        let table: &[(&str, Option<&str>, &str, &str, bool)] = &[
            ("/", None, "", "", false),
            ("/", Some("index.html"), "index.html", "index.html", false),
            (
                "/docs/",
                Some("index.html"),
                "docs/index.html",
                "index.html",
                false,
            ),
            ("/docs/a.txt", None, "docs/a.txt", "a.txt", false),
            ("/a/b/c.tar.gz", None, "a/b/c.tar.gz", "c.tar.gz", false),
            (
                "/.git/",
                Some("index.html"),
                ".git/index.html",
                "index.html",
                true,
            ),
            (
                "/docs/",
                Some(".index.html"),
                "docs/.index.html",
                ".index.html",
                true,
            ),
            ("/a/.env", None, "a/.env", ".env", true),
            (
                "/.well-known/acme-challenge/t",
                None,
                ".well-known/acme-challenge/t",
                "t",
                false,
            ),
            (
                "/.well-known/.secret",
                None,
                ".well-known/.secret",
                ".secret",
                true,
            ),
            ("/a/.well-known/x", None, "a/.well-known/x", "x", true),
            ("/a..b/c", None, "a..b/c", "c", false),
        ];
        for &(url, index, name, file_name, hidden) in table {
            let mut buffer = Vec::new();
            let normalized = crate::http::path::normalize(url.as_bytes(), &mut buffer).unwrap();
            let dir = ResolvedPath::named(normalized.relative());
            let path = match index {
                Some(index) => dir.join(index.as_bytes()),
                None => dir,
            };
            assert_eq!(path.name(), name.as_bytes(), "{url}");
            assert_eq!(path.file_name(), file_name.as_bytes(), "{url}");
            assert_eq!(path.is_hidden(), hidden, "{url}");
        }
    }

    #[test]
    fn a_suffix_makes_a_new_name() {
        let file = ResolvedPath::named(b"docs/index.html");
        let variant = file.with_suffix(b".br");
        assert_eq!(variant.name(), b"docs/index.html.br");
        assert_eq!(variant.file_name(), b"index.html.br");
        assert_eq!(file.name(), b"docs/index.html");
    }
}
