//! Request → reply: what a static site answers, decided without touching the socket.
//!
//! GET and HEAD serve files; OPTIONS lists the allowed methods; every other method RFC 9110
//! defines gets 405 with `Allow`, and an unknown one 501. A request reaches here only once the
//! parser has found its framing sound, so neither refusal hides a malformed message.

use percent_encoding::{AsciiSet, CONTROLS, percent_encode};

use std::rc::Rc;
use std::time::{Instant, SystemTime};

use crate::http::Status;
use crate::http::conditional::{self, Outcome, Validators};
use crate::http::encoding::{self, Coding, CodingSet};
use crate::http::path::{self, NormalizedPath};
use crate::http::range::{self, ByteRange, RangeRequest};
use crate::http::request::{Method, Request, Target};
use crate::runtime::error_log::{self, Event};
use crate::site::compress::{
    self, COMPRESS_MAX_BYTES, COMPRESS_MIN_BYTES, CompressedCache, CompressedVariant, Level,
    VariantKey,
};
use crate::site::file_cache::{FileCache, Lookup, Representations};
use crate::site::files::{Site, SiteError, StaticFile};
use crate::site::listing;

/// Bytes escaped in a path we put in `Location`: everything that is not allowed in a path
/// segment (RFC 3986 §3.3), so no CR, LF or space can ever reach a header.
const PATH_ESCAPES: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

#[derive(Debug)]
pub enum Reply {
    /// 200 with the whole file, or 206 with the given parts of it.
    File { selected: Selected, parts: Parts },
    /// 304: the client's copy is current.
    NotModified(Selected),
    /// 416, naming the file's length.
    RangeNotSatisfiable(Selected),
    /// 301 to this location.
    Redirect(Vec<u8>),
    /// 200 with a generated directory listing (HTML or JSON, by Accept).
    Listing(listing::Page),
    /// 200 to OPTIONS, with `Allow`.
    Options,
    /// An error status with its small HTML page.
    Error(Status),
    /// A variant to compress on the fly first (`PendingVariant`); the connection then makes
    /// the reply with `with_variant`.
    Compress(Box<PendingVariant>),
    /// An error status with the page configured for it.
    ErrorPage {
        status: Status,
        file: Rc<StaticFile>,
    },
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
            Reply::Redirect(_) => Status::MovedPermanently,
            Reply::Listing(_) | Reply::Options | Reply::Compress(_) => Status::Ok,
            Reply::Error(status) | Reply::ErrorPage { status, .. } => *status,
        }
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
    /// For a coding applied on the fly (`file` is then the identity file).
    pub compressed: Option<OnTheFly>,
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
    pub fn etag(&self) -> &[u8] {
        match &self.compressed {
            Some(OnTheFly::Ready(variant)) => &variant.etag,
            Some(OnTheFly::Pending { etag }) => etag,
            None => &self.file.etag,
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
    range: Option<Box<[u8]>>,
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

/// Decides the reply. `path_buffer` is lent to normalisation for a path it rewrites (see
/// `http::path`); its contents mean nothing between calls. `wall_clock` is the time the
/// preconditions are judged against.
pub fn respond(
    site: &Site,
    files: &mut FileCache,
    request: &Request<'_>,
    path_buffer: &mut Vec<u8>,
    compress: Option<CompressOptions<'_>>,
    now: Instant,
    wall_clock: SystemTime,
) -> Reply {
    let mut resolver = Resolver { site, files, now };
    match decide(&mut resolver, path_buffer, request, compress, wall_clock) {
        Reply::Error(status) => {
            error_page(&mut resolver, path_buffer, status).unwrap_or(Reply::Error(status))
        }
        reply => reply,
    }
}

/// Normalised URL paths to what they name on the site, through the file cache.
struct Resolver<'a> {
    site: &'a Site,
    files: &'a mut FileCache,
    now: Instant,
}

impl Resolver<'_> {
    /// `accept_encoding` decides whether the file's precompressed siblings are looked for.
    fn resolve(
        &mut self,
        path: &NormalizedPath<'_>,
        accept_encoding: Option<&[u8]>,
    ) -> Result<Lookup, Status> {
        self.files
            .lookup(self.site, path, accept_encoding, self.now)
            .map_err(status_for)
    }
}

/// The status for what the site refused.
fn status_for(error: SiteError) -> Status {
    match error {
        SiteError::NotFound => Status::NotFound,
        SiteError::Forbidden => Status::Forbidden,
        SiteError::Exhausted => Status::ServiceUnavailable,
        SiteError::Failed(error) => {
            error_log::error(
                Event::InternalError,
                format_args!("500: opening a file failed: {error}"),
            );
            Status::InternalServerError
        }
    }
}

/// The configured page for `status` (`--error-page`), if it names a servable file.
fn error_page(
    resolver: &mut Resolver<'_>,
    path_buffer: &mut Vec<u8>,
    status: Status,
) -> Option<Reply> {
    let page = resolver.site.error_page(status.code())?;
    let path = path::normalize(page, path_buffer).ok()?;
    match resolver.resolve(&path, None) {
        Ok(Lookup::File(files)) => Some(Reply::ErrorPage {
            status,
            file: files.identity,
        }),
        _ => None,
    }
}

fn decide(
    resolver: &mut Resolver<'_>,
    path_buffer: &mut Vec<u8>,
    request: &Request<'_>,
    compress: Option<CompressOptions<'_>>,
    wall_clock: SystemTime,
) -> Reply {
    match request.method {
        Method::Get | Method::Head => {}
        Method::Options => return Reply::Options,
        // RFC 9110 §9.1: 501 for a method the server does not recognise.
        Method::Unknown => return Reply::Error(Status::NotImplemented),
        Method::Post
        | Method::Put
        | Method::Delete
        | Method::Patch
        | Method::Connect
        | Method::Trace => return Reply::Error(Status::MethodNotAllowed),
    }
    let Target::Path { path, query } = request.target else {
        return Reply::Error(Status::BadRequest);
    };
    let path = match path::normalize(path, path_buffer) {
        Ok(path) => path,
        Err(status) => return Reply::Error(status),
    };
    match resolver.resolve(&path, request.accept_encoding) {
        Ok(Lookup::File(files)) => {
            let level = compress.as_ref().map(|options| options.level);
            let selected = select(&files, request.accept_encoding, compress);
            file_reply(request, selected, level, wall_clock)
        }
        Ok(Lookup::Listing(dir)) => {
            let options =
                listing::Options::new(resolver.site, path.relative(), request.accept, query);
            match options.and_then(|options| listing::page(dir, options)) {
                Ok(page) => Reply::Listing(page),
                Err(_) => Reply::Error(Status::Forbidden),
            }
        }
        Ok(Lookup::DirectoryWithoutSlash) => {
            Reply::Redirect(directory_location(path.relative(), query))
        }
        Err(status) => Reply::Error(status),
    }
}

/// The representation the client weighs highest (`encoding::choose`) among the file, its
/// precompressed siblings and, for a compressible file, its variants made on the fly; a
/// sibling wins over compressing the same coding on the fly.
fn select(
    files: &Representations,
    accept_encoding: Option<&[u8]>,
    compress: Option<CompressOptions<'_>>,
) -> Selected {
    let identity = &files.identity;
    let on_the_fly = compress.filter(|_| compressible(identity));
    let available: CodingSet = if on_the_fly.is_some() {
        Coding::EVERY.into_iter().collect()
    } else {
        Coding::ALL
            .into_iter()
            .filter(|&coding| files.variant(coding).is_some())
            .collect()
    };
    // Siblings not looked for yet may exist: the choice may depend on Accept-Encoding.
    let vary = available != CodingSet::EMPTY || !files.variants_known();
    let mut selected = Selected {
        file: Rc::clone(identity),
        encoding: None,
        vary,
        compressed: None,
    };
    let Some(coding) = accept_encoding.and_then(|accepted| encoding::choose(accepted, available))
    else {
        return selected;
    };
    if let Some(file) = files.variant(coding) {
        selected.file = Rc::clone(file);
        selected.encoding = Some(coding);
        return selected;
    }
    let Some(options) = on_the_fly else {
        return selected;
    };
    let key = VariantKey {
        file: identity.file_identity(),
        coding,
    };
    selected.compressed = match options.cache.lookup(key) {
        Some(Some(variant)) => Some(OnTheFly::Ready(variant)),
        // Tried, and compressing did not pay: identity.
        Some(None) => return selected,
        None => Some(OnTheFly::Pending {
            etag: compress::compressed_etag(&identity.etag, coding, options.level),
        }),
    };
    selected.encoding = Some(coding);
    selected
}

/// Whether a file is compressed on the fly: a compressible type, and a size worth it and
/// small enough to compress whole (`COMPRESS_MIN_BYTES..=COMPRESS_MAX_BYTES`).
fn compressible(file: &StaticFile) -> bool {
    compress::is_compressible(file.content_type.essence)
        && (COMPRESS_MIN_BYTES..=COMPRESS_MAX_BYTES).contains(&file.len)
}

/// Preconditions first (RFC 9110 §13.2.2), then Range (§14.2), both on the selected
/// representation: a HEAD gets the same answer as a GET, without the body.
fn file_reply(
    request: &Request<'_>,
    selected: Selected,
    level: Option<Level>,
    wall_clock: SystemTime,
) -> Reply {
    let file = &selected.file;
    let validators = Validators {
        etag: selected.etag(),
        // A time that cannot be sent as Last-Modified cannot be compared with one either.
        last_modified: file.last_modified.and(file.modified),
    };
    let outcome = conditional::evaluate(&request.conditions, true, &validators, wall_clock);
    let honour_range = match outcome {
        Outcome::NotModified => return Reply::NotModified(selected),
        Outcome::Failed => return Reply::Error(Status::PreconditionFailed),
        Outcome::Proceed { honour_range } => honour_range,
    };
    let range = request.range.filter(|_| honour_range);
    if let (Some(OnTheFly::Pending { .. }), Some(coding), Some(level)) =
        (&selected.compressed, selected.encoding, level)
    {
        let key = VariantKey {
            file: selected.file.file_identity(),
            coding,
        };
        return Reply::Compress(Box::new(PendingVariant {
            selected,
            key,
            level,
            range: range.map(Box::from),
        }));
    }
    match ranged(range, selected.len_bytes()) {
        Ok(parts) => Reply::File { selected, parts },
        Err(()) => Reply::RangeNotSatisfiable(selected),
    }
}

/// The parts a Range header (already judged worth honouring) asks of `len` bytes; `Err` for
/// 416.
fn ranged(range: Option<&[u8]>, len: u64) -> Result<Parts, ()> {
    Ok(match range.map(|header| range::resolve(header, len)) {
        None | Some(RangeRequest::Whole) => Parts::Whole,
        Some(RangeRequest::Unsatisfiable) => return Err(()),
        Some(RangeRequest::Satisfiable(mut ranges)) if ranges.len() == 1 => {
            Parts::One(ranges.remove(0))
        }
        Some(RangeRequest::Satisfiable(ranges)) => Parts::Several(ranges),
    })
}

/// `/` + the normalised path, escaped, + `/` + the query. Built from the normalised path, it
/// never starts with `//`, so it cannot be read as a redirect to another host.
fn directory_location(normalized: &[u8], query: Option<&[u8]>) -> Vec<u8> {
    let mut location = Vec::with_capacity(normalized.len() + 2);
    location.push(b'/');
    for piece in percent_encode(normalized, PATH_ESCAPES) {
        location.extend_from_slice(piece.as_bytes());
    }
    location.push(b'/');
    if let Some(query) = query {
        location.push(b'?');
        location.extend_from_slice(query);
    }
    location
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_is_escaped_and_never_protocol_relative() {
        assert_eq!(directory_location(b"docs", None), b"/docs/");
        assert_eq!(directory_location(b"a b/c", Some(b"x=1")), b"/a%20b/c/?x=1");
        assert_eq!(
            directory_location(b"evil.com\r\nSet-Cookie: x", None),
            b"/evil.com%0D%0ASet-Cookie:%20x/"
        );
        assert_eq!(directory_location("é".as_bytes(), None), b"/%C3%A9/");
    }
}
