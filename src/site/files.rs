//! The site on disk: request path → open regular file and its metadata, or a refusal.
//!
//! Policy, enforced on what is actually opened rather than on the request text:
//! - nothing outside the root is ever opened: every open is `openat2(RESOLVE_BENEATH |
//!   RESOLVE_NO_SYMLINKS)` from the root's fd, so neither `..` nor a link can climb out;
//! - a path through symlinks is first resolved to the real path it names, which is served
//!   only if it lies beneath the root (else `Forbidden`), by opening that link-free path;
//! - dotfiles and dot-directories are not served (`NotFound`) unless `serve_hidden`, and that
//!   holds for the target of a symlink too;
//! - only regular files are served: a directory is answered by its index file, and a FIFO,
//!   socket or device is `Forbidden` (opening is non-blocking, so a FIFO cannot stall the
//!   loop).
//!
//! Refusals are a `SiteError`, not an HTTP status: this layer knows files, not responses.

use std::ffi::CStr;
use std::ffi::OsStr;
use std::fs::{File, Metadata};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Component, Path, PathBuf};
use std::time::SystemTime;

use crate::http::date::{self, HTTP_DATE_LEN};
use crate::http::mime::{self, ContentType};
use crate::site::compress::FileIdentity;
use crate::sys::file::open_beneath;

/// Files up to this size are read into memory once, so their responses are a copy into the
/// output buffer and pipelined responses leave in one write.
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
    /// The whole content, for a small file (`INLINE_FILE_MAX_BYTES`); `len` bytes exactly.
    pub bytes: Option<Box<[u8]>>,
    /// A strong entity-tag, quotes included, from inode, size and mtime: it changes whenever
    /// the content can have changed.
    pub etag: Box<[u8]>,
    /// Device, inode, size and modification time: what tells whether the file changed.
    identity: (u64, u64, u64, i64, i64),
}

impl StaticFile {
    /// Whether `other` is the same file, unchanged.
    pub fn same_as(&self, other: &StaticFile) -> bool {
        self.identity == other.identity
    }

    /// What keys this file's compressed variants.
    pub fn file_identity(&self) -> FileIdentity {
        let (dev, ino, len, secs, nanos) = self.identity;
        FileIdentity::new(dev, ino, len, secs, nanos)
    }

    /// Whether the open file still has the size and mtime it was opened with. A file
    /// rewritten in place keeps its inode, so only a fresh fstat can tell.
    pub fn unchanged_on_disk(&self) -> bool {
        self.file
            .metadata()
            .is_ok_and(|metadata| identity(&metadata) == self.identity)
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

/// How a site is served, from the command line.
#[derive(Clone, Debug)]
pub struct SiteOptions {
    pub index_name: String,
    pub serve_hidden: bool,
    pub autoindex: bool,
    pub default_type: ContentType,
    /// `--error-page`: status code and the URL path of its page.
    pub error_pages: Vec<(u16, Vec<u8>)>,
}

pub struct Site {
    root: OwnedFd,
    /// The root's canonical path, to judge where a followed symlink really led.
    root_path: PathBuf,
    options: SiteOptions,
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

    /// The URL path of the page configured for error `code`, if any.
    pub fn error_page(&self, code: u16) -> Option<&[u8]> {
        self.options
            .error_pages
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, path)| path.as_slice())
    }

    /// Resolves `path` (normalised, relative; see `http::path`) to something servable.
    /// `path` is used as scratch: the index name and a terminating NUL are appended to it.
    pub fn resolve(&self, path: &mut Vec<u8>, trailing_slash: bool) -> Result<Resource, SiteError> {
        if !self.options.serve_hidden && path.split(|&b| b == b'/').any(|s| s.starts_with(b".")) {
            return Err(SiteError::NotFound);
        }
        let (file, metadata) = self.open_file(path)?;
        if metadata.is_file() {
            if trailing_slash {
                return Err(SiteError::NotFound); // a file is not a directory: `/a.txt/`
            }
            return Ok(Resource::File(self.static_file(file, &metadata, path)));
        }
        if !metadata.is_dir() {
            return Err(SiteError::Forbidden);
        }
        if !trailing_slash {
            return Ok(Resource::DirectoryWithoutSlash);
        }
        let dir_len = path.len();
        if !path.is_empty() {
            path.push(b'/');
        }
        path.extend_from_slice(self.options.index_name.as_bytes());
        match self.open_file(path) {
            Ok((index, metadata)) if metadata.is_file() => {
                Ok(Resource::File(self.static_file(index, &metadata, path)))
            }
            Ok(_) | Err(SiteError::NotFound) if self.options.autoindex => {
                path.truncate(dir_len);
                Ok(Resource::Listing(file))
            }
            // Without --autoindex, a directory without an index is not listed.
            Ok(_) | Err(SiteError::NotFound) => Err(SiteError::Forbidden),
            Err(status) => Err(status),
        }
    }

    fn static_file(&self, file: File, metadata: &Metadata, path: &[u8]) -> StaticFile {
        let name_start = path.iter().rposition(|&b| b == b'/').map_or(0, |i| i + 1);
        let len = metadata.len();
        let bytes = (len <= INLINE_FILE_MAX_BYTES)
            .then(|| read_whole(&file, len))
            .flatten();
        StaticFile {
            file,
            len,
            modified: metadata.modified().ok(),
            last_modified: metadata.modified().ok().and_then(date::render),
            content_type: mime::content_type(&path[name_start..])
                .unwrap_or(self.options.default_type),
            bytes,
            etag: entity_tag(metadata),
            identity: identity(metadata),
        }
    }

    /// Opens `path` beneath the root. A path without symlinks costs one open. One with
    /// symlinks is resolved to where it really leads, which must be beneath the root
    /// (`Forbidden` otherwise) and pass the dotfile policy, and that symlink-free path is what
    /// gets opened.
    fn open_file(&self, path: &mut Vec<u8>) -> Result<(File, Metadata), SiteError> {
        let opened = match open_relative(self.root.as_fd(), path) {
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => self.open_through_symlinks(path),
            other => other.map_err(SiteError::from),
        };
        let file = File::from(opened?);
        let metadata = file.metadata().map_err(SiteError::from)?;
        Ok((file, metadata))
    }

    fn open_through_symlinks(&self, path: &[u8]) -> Result<OwnedFd, SiteError> {
        let real = self
            .root_path
            .join(OsStr::from_bytes(path))
            .canonicalize()
            .map_err(SiteError::from)?;
        let inside = real
            .strip_prefix(&self.root_path)
            .map_err(|_| SiteError::Forbidden)?;
        let hidden = inside
            .components()
            .any(|c| matches!(c, Component::Normal(name) if name.as_bytes().starts_with(b".")));
        if hidden && !self.options.serve_hidden {
            return Err(SiteError::NotFound);
        }
        let mut resolved = inside.as_os_str().as_bytes().to_vec();
        // Refusing symlinks here makes the check above hold for what is opened: if the tree
        // changed in between, the open fails rather than follow a new link.
        open_relative(self.root.as_fd(), &mut resolved).map_err(SiteError::from)
    }
}

fn entity_tag(metadata: &Metadata) -> Box<[u8]> {
    let mtime_ns = i128::from(metadata.mtime()) * 1_000_000_000 + i128::from(metadata.mtime_nsec());
    format!(
        "\"{:x}-{:x}-{:x}\"",
        metadata.ino(),
        metadata.len(),
        mtime_ns
    )
    .into_bytes()
    .into_boxed_slice()
}

fn identity(metadata: &Metadata) -> (u64, u64, u64, i64, i64) {
    (
        metadata.dev(),
        metadata.ino(),
        metadata.len(),
        metadata.mtime(),
        metadata.mtime_nsec(),
    )
}

/// Reads exactly `len` bytes from the start of `file`, or nothing if it is not that long now.
fn read_whole(file: &File, len: u64) -> Option<Box<[u8]>> {
    let mut bytes = vec![0; usize::try_from(len).ok()?].into_boxed_slice();
    file.read_exact_at(&mut bytes, 0).ok()?;
    Some(bytes)
}

/// `open_beneath` for a relative path held without its NUL (empty means the directory
/// itself); symlinks are refused. `path` is restored before returning.
fn open_relative(dir: BorrowedFd<'_>, path: &mut Vec<u8>) -> io::Result<OwnedFd> {
    let name_len = path.len();
    if path.is_empty() {
        path.push(b'.');
    }
    path.push(0);
    let opened = match CStr::from_bytes_with_nul(path) {
        Ok(c_path) => open_beneath(dir, c_path),
        Err(_) => Err(io::Error::from_raw_os_error(libc::ENOENT)),
    };
    path.truncate(name_len);
    opened
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
