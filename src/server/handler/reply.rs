//! What the handler decides, as types: the `Reply` to a request, the representation it
//! chose (`Selected`, with `Parts` of it), and the replies that need work done first (a
//! variant compressed on the fly, `PendingVariant`; a directory listing, `PendingListing`),
//! with how each becomes a final reply.

use std::fs::File;
use std::io;
use std::rc::Rc;

use crate::http::Status;
use crate::http::encoding::Coding;
use crate::http::header_rules::Matched;
use crate::http::range::{self, ByteRange, RangeRequest};
use crate::site::compress::{CompressedCache, CompressedVariant, Level, VariantKey};
use crate::site::files::StaticFile;
use crate::site::listing;

#[derive(Debug)]
pub enum Reply {
    /// 200 with the whole file, or 206 with the given parts of it.
    File { selected: Selected, parts: Parts },
    /// 304: the client's copy is current.
    NotModified(Selected),
    /// 416, naming the file's length.
    RangeNotSatisfiable(Selected),
    /// A redirect (301, or `--redirect`'s code) to this location.
    Redirect(Status, Vec<u8>),
    /// 200 with a generated directory listing (HTML or JSON, by Accept).
    Listing(listing::Page),
    /// A directory to list first: reading and sorting it may block or take a while, so the
    /// connection has a worker build the page, then makes the reply `Listing`.
    List(Box<PendingListing>),
    /// 200 to OPTIONS, with `Allow`.
    Options,
    /// 200 to a CORS preflight from an allowed origin, allowing these request headers.
    Preflight { allow_headers: Option<Box<[u8]>> },
    /// An error status with its small HTML page.
    Error(Status),
    /// A variant to compress on the fly first (`PendingVariant`); the connection then makes
    /// the reply with `with_variant`.
    Compress(Box<PendingVariant>),
    /// 401 with this `WWW-Authenticate` challenge (see `site::auth`).
    Unauthorized(Rc<[u8]>),
    /// The `--health-path` check: 200 while serving, 503 once a shutdown has begun.
    Health { serving: bool },
    /// An error status with the page configured for it.
    ErrorPage {
        status: Status,
        file: Rc<StaticFile>,
        /// A `NotANavigation` 404: `Vary: Accept`.
        vary_accept: bool,
    },
    /// 404 for a missing path with an extension whose request did not name `text/html`:
    /// with one, `--fallback` would have answered, so the answer varies on Accept.
    NotANavigation,
}

impl Reply {
    pub fn status(&self) -> Status {
        match self {
            Reply::File {
                parts: Parts::Whole,
                ..
            } => Status::Ok,
            Reply::File { .. } => Status::PartialContent,
            Reply::NotModified(_) => Status::NotModified,
            Reply::RangeNotSatisfiable(_) => Status::RangeNotSatisfiable,
            Reply::Redirect(status, _) => *status,
            Reply::Listing(_)
            | Reply::List(_)
            | Reply::Options
            | Reply::Preflight { .. }
            | Reply::Compress(_) => Status::Ok,
            Reply::Error(status) | Reply::ErrorPage { status, .. } => *status,
            Reply::Health { serving: true } => Status::Ok,
            Reply::Health { serving: false } => Status::ServiceUnavailable,
            Reply::NotANavigation => Status::NotFound,
            Reply::Unauthorized(_) => Status::Unauthorized,
        }
    }
}

/// A directory listing still to be built, from inputs a worker thread may own.
#[derive(Debug)]
pub struct PendingListing {
    pub dir: File,
    pub options: listing::Options,
}

impl PendingListing {
    /// Builds the page, on a worker (or on the loop when there is no pool).
    pub fn build(self) -> io::Result<listing::Page> {
        listing::page(self.dir, self.options)
    }
}

/// The reply for a listing that was built, or could not be: the directory was unreadable.
pub fn listing_reply(page: io::Result<listing::Page>) -> Reply {
    match page {
        Ok(page) => Reply::Listing(page),
        Err(_) => Reply::Error(Status::Forbidden),
    }
}

/// The representation chosen for a request: the file, one of its precompressed variants,
/// or the file compressed on the fly.
#[derive(Debug)]
pub struct Selected {
    pub file: Rc<StaticFile>,
    pub encoding: Option<Coding>,
    /// Variants exist (or were not looked for yet), so the choice depended on
    /// Accept-Encoding: say so to caches.
    pub vary: bool,
    /// The `--fallback` file for a path with an extension: chosen because of Accept.
    pub vary_accept: bool,
    /// For a coding applied on the fly (`file` is then the identity file).
    pub compressed: Option<OnTheFly>,
    /// The `--header` rules for the URL path.
    pub headers: Matched,
}

/// A representation compressed on the fly.
#[derive(Debug)]
pub enum OnTheFly {
    Ready(Rc<CompressedVariant>),
    /// Not made yet: only its ETag is known (enough for a 304).
    Pending {
        etag: Box<[u8]>,
    },
}

impl Selected {
    /// `None` while the file's content tag is being made (`--etag content`).
    pub fn etag(&self) -> Option<&[u8]> {
        match &self.compressed {
            Some(OnTheFly::Ready(variant)) => Some(&variant.etag),
            Some(OnTheFly::Pending { etag }) => Some(etag),
            None => self.file.etag(),
        }
    }

    /// The representation's length (unknown, so the file's, while pending).
    pub fn len_bytes(&self) -> u64 {
        match &self.compressed {
            Some(OnTheFly::Ready(variant)) => variant.bytes.len() as u64,
            _ => self.file.len,
        }
    }

    /// The representation's bytes, when they are in memory.
    pub fn bytes(&self) -> Option<&[u8]> {
        match &self.compressed {
            Some(OnTheFly::Ready(variant)) => Some(&variant.bytes),
            _ => self.file.bytes.as_deref(),
        }
    }
}

/// A reply that needs a variant compressed first: what the worker job needs, and what the
/// reply needs once the variant is there. Preconditions were judged with its ETag already.
#[derive(Debug)]
pub struct PendingVariant {
    pub selected: Selected,
    pub key: VariantKey,
    pub level: Level,
    /// The Range header, when it is to be honoured: applied to the compressed bytes.
    pub(super) range: Option<Box<[u8]>>,
}

/// The reply for `pending` once its variant is known: `None` sends identity, whole (the
/// preconditions were judged for the compressed representation; a full 200 is always a
/// correct answer to them).
pub fn with_variant(pending: PendingVariant, variant: Option<Rc<CompressedVariant>>) -> Reply {
    let mut selected = pending.selected;
    let Some(variant) = variant else {
        selected.encoding = None;
        selected.compressed = None;
        return Reply::File {
            selected,
            parts: Parts::Whole,
        };
    };
    selected.compressed = Some(OnTheFly::Ready(variant));
    match ranged(pending.range.as_deref(), selected.len_bytes()) {
        Ok(parts) => Reply::File { selected, parts },
        Err(()) => Reply::RangeNotSatisfiable(selected),
    }
}

/// Compression on the fly as the handler sees it: the level, and the variants made so far.
pub struct CompressOptions<'a> {
    pub level: Level,
    pub cache: &'a mut CompressedCache,
}

/// Which bytes of a file a reply carries.
#[derive(Debug, PartialEq, Eq)]
pub enum Parts {
    Whole,
    /// One range: a plain 206.
    One(ByteRange),
    /// Several disjoint ranges, in order: 206 `multipart/byteranges`.
    Several(Vec<ByteRange>),
}

/// The parts a Range header (already judged worth honouring) asks of `len` bytes; `Err` for
/// 416.
pub(super) fn ranged(range: Option<&[u8]>, len: u64) -> Result<Parts, ()> {
    Ok(match range.map(|header| range::resolve(header, len)) {
        None | Some(RangeRequest::Whole) => Parts::Whole,
        Some(RangeRequest::Unsatisfiable) => return Err(()),
        Some(RangeRequest::Satisfiable(mut ranges)) if ranges.len() == 1 => {
            Parts::One(ranges.remove(0))
        }
        Some(RangeRequest::Satisfiable(ranges)) => Parts::Several(ranges),
    })
}
