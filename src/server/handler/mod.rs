//! Request → reply: what a static site answers, decided without touching the socket.
//!
//! GET and HEAD serve files; OPTIONS lists the allowed methods; every other method RFC 9110
//! defines gets 405 with `Allow`, and an unknown one 501. A request reaches here only once the
//! parser has found its framing sound, so neither refusal hides a malformed message.
//!
//! Routing rules (`site::routes`) come in at two points only, each behind a check that a
//! rule of its kind exists, so a site without rules does no extra work: `--redirect` before
//! anything else, and `--try-ext` / `--fallback` where a path was found to name nothing.

use percent_encoding::percent_encode;

mod reply;

use reply::ranged;

pub use reply::{
    CompressOptions, OnTheFly, Parts, PendingListing, PendingVariant, Reply, Selected,
    listing_reply, with_variant,
};

use std::rc::Rc;
use std::time::{Instant, SystemTime};

use crate::http::Status;
use crate::http::conditional::{self, Outcome, Validators};
use crate::http::cors;
use crate::http::encoding::{self, Coding, CodingSet};
use crate::http::header_rules::Matched;
use crate::http::path::{self, NormalizedPath, PATH_ESCAPES};
use crate::http::request::{Method, Request, Target};
use crate::runtime::error_log::{self, Event};
use crate::server::extra_fields::ExtraFields;
use crate::site::compress::{self, COMPRESS_MAX_BYTES, COMPRESS_MIN_BYTES, Level, VariantKey};
use crate::site::file_cache::{FileCache, Lookup, Representations};
use crate::site::files::{Site, SiteError, StaticFile};
use crate::site::listing;
use crate::site::missing::{self, Missing};

/// Decides the reply. `path_buffer` is lent to normalisation for a path it rewrites (see
/// `http::path`); its contents mean nothing between calls. `wall_clock` is the time the
/// preconditions are judged against.
#[allow(clippy::too_many_arguments)] // one request's whole context, each part used once
pub fn respond(
    site: &Site,
    extra: &ExtraFields,
    files: &mut FileCache,
    request: &Request<'_>,
    path_buffer: &mut Vec<u8>,
    compress: Option<CompressOptions<'_>>,
    now: Instant,
    wall_clock: SystemTime,
) -> Reply {
    let mut resolver = Resolver {
        site,
        extra,
        files,
        now,
    };
    match decide(&mut resolver, path_buffer, request, compress, wall_clock) {
        Reply::Error(status) => {
            error_page(&mut resolver, path_buffer, status, false).unwrap_or(Reply::Error(status))
        }
        Reply::NotANavigation => error_page(&mut resolver, path_buffer, Status::NotFound, true)
            .unwrap_or(Reply::NotANavigation),
        reply => reply,
    }
}

/// Normalised URL paths to what they name on the site, through the file cache.
struct Resolver<'a> {
    site: &'a Site,
    extra: &'a ExtraFields,
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
    vary_accept: bool,
) -> Option<Reply> {
    let page = resolver.site.error_page(status.code())?;
    let path = path::normalize(page, path_buffer).ok()?;
    match resolver.resolve(&path, None) {
        Ok(Lookup::File(files)) => Some(Reply::ErrorPage {
            status,
            file: files.identity,
            vary_accept,
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
    if resolver.site.routes().has_redirects()
        && let Some(reply) = redirect(resolver.site, request, path_buffer)
    {
        return reply;
    }
    match request.method {
        Method::Get | Method::Head => {}
        Method::Options => return options(request, resolver.extra),
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
        Ok(Lookup::File(files)) => serve(
            &files, false, resolver, &path, request, compress, wall_clock,
        ),
        Ok(Lookup::Listing(dir)) => {
            match listing::Options::new(resolver.site, path.relative(), request.accept, query) {
                Ok(options) => Reply::List(Box::new(PendingListing { dir, options })),
                Err(_) => Reply::Error(Status::Forbidden),
            }
        }
        Ok(Lookup::DirectoryWithoutSlash) => Reply::Redirect(
            Status::MovedPermanently,
            directory_location(path.relative(), query),
        ),
        Err(Status::NotFound) if resolver.site.routes().handles_misses() => {
            missing(resolver, &path, request, compress, wall_clock)
        }
        Err(status) => Reply::Error(status),
    }
}

/// OPTIONS: a CORS preflight (`Origin` and `Access-Control-Request-Method`) from an allowed
/// origin gets the CORS answer; any other, the methods allowed (RFC 9110 §9.3.7). A
/// preflight from an origin not allowed gets no CORS fields, so the browser refuses.
fn options(request: &Request<'_>, extra: &ExtraFields) -> Reply {
    let fields = request.cors;
    if fields.request_method.is_none() || extra.cors.allow(fields.origin).is_none() {
        return Reply::Options;
    }
    let allow_headers = fields
        .request_headers
        .filter(|headers| cors::is_field_name_list(headers))
        .map(Box::from);
    Reply::Preflight { allow_headers }
}

/// The reply for a file (`vary_accept`: a fallback chosen because of Accept).
fn serve(
    files: &Representations,
    vary_accept: bool,
    resolver: &Resolver<'_>,
    path: &NormalizedPath<'_>,
    request: &Request<'_>,
    compress: Option<CompressOptions<'_>>,
    wall_clock: SystemTime,
) -> Reply {
    let level = compress.as_ref().map(|options| options.level);
    let mut selected = select(files, request.accept_encoding, compress);
    selected.vary_accept = vary_accept;
    selected.headers = resolver.extra.headers.matching(path.as_bytes());
    file_reply(request, selected, level, wall_clock)
}

/// `--redirect`: the most specific rule for the request's normalised path, whatever the
/// method (the resource has moved; 307 and 308 tell the client to repeat the method), except
/// an unknown one, which is 501 for every resource (RFC 9110 §9.1).
fn redirect(site: &Site, request: &Request<'_>, path_buffer: &mut Vec<u8>) -> Option<Reply> {
    let Target::Path { path, query } = request.target else {
        return None;
    };
    if request.method == Method::Unknown {
        return None;
    }
    let path = path::normalize(path, path_buffer).ok()?;
    let (status, location) = site.routes().redirect(path.as_bytes(), query)?;
    Some(Reply::Redirect(status, location))
}

/// A path that names nothing, when `--try-ext` or `--fallback` is set (see `site::missing`).
fn missing(
    resolver: &mut Resolver<'_>,
    path: &NormalizedPath<'_>,
    request: &Request<'_>,
    compress: Option<CompressOptions<'_>>,
    wall_clock: SystemTime,
) -> Reply {
    let (site, now) = (resolver.site, resolver.now);
    let files = &mut *resolver.files;
    let found = missing::resolve(
        site,
        files,
        path,
        request.accept,
        request.accept_encoding,
        now,
    );
    match found {
        Missing::Found { files, vary_accept } => serve(
            &files,
            vary_accept,
            resolver,
            path,
            request,
            compress,
            wall_clock,
        ),
        Missing::NotANavigation => Reply::NotANavigation,
        Missing::Refused(error) => Reply::Error(status_for(error)),
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
    // A variant's tag derives from the file's: until that is known, send identity.
    let on_the_fly = compress.filter(|_| compressible(identity) && identity.etag().is_some());
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
        vary_accept: false,
        compressed: None,
        headers: Matched::NONE,
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
    let (Some(options), Some(identity_etag)) = (on_the_fly, identity.etag()) else {
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
            etag: compress::compressed_etag(identity_etag, coding, options.level),
        }),
    };
    selected.encoding = Some(coding);
    selected
}

/// Whether a file is compressed on the fly: a compressible type, and a size worth it and
/// small enough to compress whole (`COMPRESS_MIN_BYTES..=COMPRESS_MAX_BYTES`).
fn compressible(file: &StaticFile) -> bool {
    file.content_type.compressible && (COMPRESS_MIN_BYTES..=COMPRESS_MAX_BYTES).contains(&file.len)
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
        // No tag yet: an empty one, which no entity-tag matches (`*` still does).
        etag: selected.etag().unwrap_or_default(),
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
