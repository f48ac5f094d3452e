//! Reply → bytes: the response head, and any generated or in-memory body, appended to the
//! connection's output buffer, plus the plan for a file body still to be sent from disk.

use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::http::Status;
use crate::http::date::HTTP_DATE_LEN;
use crate::http::encoding::Coding;
use crate::http::header_rules::{HeaderRules, Matched};
use crate::http::range::ByteRange;
use crate::http::response::{self, ContentRange, Head, Persistence, Preflight};
use crate::runtime::buffer::OUTPUT_FLUSH_BYTES;
use crate::server::handler::{self, OnTheFly, Parts, Reply, Selected};
use crate::server::health;
use crate::site::compress::CompressedVariant;
use crate::site::files::StaticFile;

/// What the response head needs besides the reply itself.
pub struct Framing<'a> {
    pub date: &'a [u8; HTTP_DATE_LEN],
    pub persistence: Persistence,
    /// A response to HEAD: the same head, no body.
    pub head_only: bool,
    /// `--header`: each successful file response says which of them apply.
    pub headers: &'a HeaderRules,
    /// `--cors`: the request's origin is allowed (on every response but a fatal one).
    pub allow_origin: Option<&'a [u8]>,
    /// `--cors` with a list: every response but a fatal one depends on `Origin`.
    pub vary_origin: bool,
    /// Given to credentials: `Cache-Control: private` in place of any configured one.
    pub private: bool,
    /// Strict-Transport-Security, on every response of an HTTPS server with `--hsts`.
    pub hsts: Option<&'a [u8]>,
}

/// A file body still to send: the bytes `offset..end` now, then `parts` in order. Boxed in
/// the connection's state, which would otherwise be sized for it while idle.
pub struct FileBody {
    pub file: Rc<StaticFile>,
    /// The body is this variant compressed on the fly, written from memory, not the file.
    pub variant: Option<Rc<CompressedVariant>>,
    pub offset: u64,
    pub end: u64,
    /// The file's bytes from `offset` up to here were just read in by a worker (or are to be
    /// sent without asking), so `sendfile` goes on without asking again (see `conn::cold`);
    /// none are when it is not above `offset`.
    pub cached_end: u64,
    pub parts: VecDeque<Part>,
}

impl FileBody {
    /// Whether bytes from the file are still to come: then what is written before them may
    /// wait to share a segment with them. Once only the closing delimiter is left, it is the
    /// end of the response and must leave at once.
    pub fn file_bytes_follow(&self) -> bool {
        self.offset < self.end || self.parts.iter().any(|part| matches!(part, Part::Range(_)))
    }
}

/// The rest of a `multipart/byteranges` body after its first range.
pub enum Part {
    /// A part's header (or the closing delimiter), to go through the output buffer.
    Bytes(Vec<u8>),
    Range(ByteRange),
}

/// What `render` appended, and what is left to send.
pub struct Rendered {
    pub status: Status,
    /// Where the response starts in the output buffer.
    pub head_start: usize,
    pub file: Option<Box<FileBody>>,
}

impl Rendered {
    /// Where the body starts in `out`: after the head's blank line. Only the access log
    /// needs it, so it is found on demand rather than tracked for every response.
    pub fn body_start(&self, out: &[u8]) -> usize {
        out.get(self.head_start..)
            .and_then(|response| response.windows(4).position(|w| w == b"\r\n\r\n"))
            .map_or(out.len(), |i| self.head_start + i + 4)
    }
}

/// Appends the response for `reply` to `out`.
pub fn render(reply: Reply, framing: &Framing<'_>, out: &mut Vec<u8>) -> Rendered {
    let head_start = out.len();
    let status = reply.status();
    let file = render_reply(reply, framing, out);
    Rendered {
        status,
        head_start,
        file,
    }
}

fn render_reply(reply: Reply, framing: &Framing<'_>, out: &mut Vec<u8>) -> Option<Box<FileBody>> {
    let boundary = match &reply {
        Reply::File {
            parts: Parts::Several(_),
            ..
        } => new_boundary(),
        _ => Vec::new(),
    };
    let mut head = Head::new(reply.status(), framing.date, framing.persistence);
    head.allow_origin = framing.allow_origin;
    head.vary_origin = framing.vary_origin;
    head.strict_transport_security = framing.hsts;
    match reply {
        Reply::File { selected, parts } => {
            describe_file(&mut head, &selected, framing);
            let len = selected.len_bytes();
            match parts {
                Parts::Whole => {
                    head.content_length = Some(len);
                    head.write(out);
                    body_range(&selected, 0, len, framing, out)
                }
                Parts::One(range) => {
                    head.content_length = Some(range.byte_count());
                    head.content_range = Some(ContentRange::Part {
                        first: range.first,
                        last: range.last,
                        len,
                    });
                    head.write(out);
                    body_range(&selected, range.first, range.last + 1, framing, out)
                }
                Parts::Several(ranges) => {
                    multipart(head, &selected, &ranges, &boundary, framing, out)
                }
            }
        }
        Reply::NotModified(selected) => {
            // RFC 9110 §15.4.5: the validators and caching fields, no content metadata.
            describe_file(&mut head, &selected, framing);
            head.content_type = None;
            head.content_encoding = None;
            head.accept_ranges = false;
            head.content_length = None;
            head.write(out);
            None
        }
        Reply::RangeNotSatisfiable(selected) => {
            head.content_range = Some(ContentRange::Unsatisfied {
                len: selected.len_bytes(),
            });
            head.vary_accept_encoding = selected.vary;
            head.vary_accept = selected.vary_accept;
            status_page(head, framing.head_only, out);
            None
        }
        Reply::Unauthorized(challenge) => {
            head.www_authenticate = Some(&challenge);
            status_page(head, framing.head_only, out);
            None
        }
        Reply::Redirect(_, location) => {
            head.location = Some(&location);
            status_page(head, framing.head_only, out);
            None
        }
        Reply::Listing(page) => {
            head.content_type = Some(page.content_type);
            head.content_length = Some(page.body.len() as u64);
            // HTML and JSON are two representations of the URL, chosen by Accept.
            head.vary_accept = true;
            head.write(out);
            if !framing.head_only {
                out.extend_from_slice(&page.body);
            }
            None
        }
        Reply::Options => {
            head.allow = true;
            head.write(out);
            None
        }
        Reply::Preflight { allow_headers } => {
            head.preflight = Some(Preflight {
                allow_headers: allow_headers.as_deref(),
            });
            head.write(out);
            None
        }
        Reply::ErrorPage {
            status,
            file,
            vary_accept,
        } => {
            head.allow = status == Status::MethodNotAllowed;
            head.vary_accept = vary_accept;
            head.content_type = Some(file.content_type);
            head.content_length = Some(file.len);
            head.write(out);
            let selected = Selected {
                file,
                encoding: None,
                vary: false,
                vary_accept: false,
                compressed: None,
                headers: Matched::NONE,
            };
            body_range(&selected, 0, selected.len_bytes(), framing, out)
        }
        // The connection makes the variant first; one that was never made is sent as is.
        Reply::Compress(pending) => {
            render_reply(handler::with_variant(*pending, None), framing, out)
        }
        // The connection has a worker build the listing first; one never built is built here.
        Reply::List(pending) => render_reply(handler::listing_reply(pending.build()), framing, out),
        Reply::Error(status) => {
            head.allow = status == Status::MethodNotAllowed;
            status_page(head, framing.head_only, out);
            None
        }
        Reply::Health { serving } => {
            health::write(head, serving, framing.head_only, out);
            None
        }
        Reply::NotANavigation => {
            head.vary_accept = true;
            status_page(head, framing.head_only, out);
            None
        }
    }
}

/// Appends an error response that ends the connection; the request may be unknown.
pub fn render_fatal(status: Status, date: &[u8; HTTP_DATE_LEN], out: &mut Vec<u8>) -> Rendered {
    let head_start = out.len();
    status_page(Head::new(status, date, Persistence::Close), false, out);
    Rendered {
        status,
        head_start,
        file: None,
    }
}

fn describe_file<'a>(head: &mut Head<'a>, selected: &'a Selected, framing: &Framing<'a>) {
    let file = &selected.file;
    head.content_type = Some(file.content_type);
    head.content_encoding = selected.encoding.map(Coding::token);
    head.vary_accept_encoding = selected.vary;
    head.vary_accept = selected.vary_accept;
    head.accept_ranges = true;
    head.etag = selected.etag();
    head.last_modified = file.last_modified.as_ref();
    head.added = Some((framing.headers, selected.headers));
    if framing.private {
        head.private = true;
        head.added = Some((
            framing.headers,
            framing.headers.without_cache_control(selected.headers),
        ));
    }
}

/// Bytes `first..end` of the representation: copied into `out` when they are in memory (a
/// variant compressed on the fly: up to `OUTPUT_FLUSH_BYTES`), else planned.
fn body_range(
    selected: &Selected,
    first: u64,
    end: u64,
    framing: &Framing<'_>,
    out: &mut Vec<u8>,
) -> Option<Box<FileBody>> {
    if framing.head_only || first >= end {
        return None;
    }
    let variant = match &selected.compressed {
        Some(OnTheFly::Ready(variant)) => Some(Rc::clone(variant)),
        _ => None,
    };
    let small = end - first <= OUTPUT_FLUSH_BYTES as u64;
    if let Some(bytes) = in_memory(selected, first, end).filter(|_| small || variant.is_none()) {
        out.extend_from_slice(bytes);
        return None;
    }
    Some(Box::new(FileBody {
        file: Rc::clone(&selected.file),
        variant,
        offset: first,
        end,
        cached_end: first,
        parts: VecDeque::new(),
    }))
}

fn in_memory(selected: &Selected, first: u64, end: u64) -> Option<&[u8]> {
    let bytes = selected.bytes()?;
    bytes.get(usize::try_from(first).ok()?..usize::try_from(end).ok()?)
}

/// A 206 `multipart/byteranges` response (RFC 9110 §14.6): each range is preceded by a part
/// header naming its type and range; the body ends with the closing delimiter. The length is
/// computed exactly before anything is sent.
fn multipart<'a>(
    mut head: Head<'a>,
    selected: &Selected,
    ranges: &[ByteRange],
    boundary: &'a [u8],
    framing: &Framing<'_>,
    out: &mut Vec<u8>,
) -> Option<Box<FileBody>> {
    let part_headers: Vec<Vec<u8>> = ranges
        .iter()
        .map(|range| part_header(boundary, selected, *range))
        .collect();
    let closing = [b"\r\n--".as_slice(), boundary, b"--\r\n"].concat();
    let len = part_headers.iter().map(|h| h.len() as u64).sum::<u64>()
        + ranges.iter().map(|r| r.byte_count()).sum::<u64>()
        + closing.len() as u64;

    head.content_length = Some(len);
    head.multipart_boundary = Some(boundary);
    head.write(out);
    if framing.head_only {
        return None;
    }
    let mut parts = VecDeque::with_capacity(ranges.len() * 2);
    for (header, range) in part_headers.into_iter().zip(ranges) {
        match in_memory(selected, range.first, range.last + 1) {
            Some(bytes) => {
                out.extend_from_slice(&header);
                out.extend_from_slice(bytes);
            }
            None => {
                parts.push_back(Part::Bytes(header));
                parts.push_back(Part::Range(*range));
            }
        }
    }
    if parts.is_empty() {
        out.extend_from_slice(&closing);
        return None;
    }
    parts.push_back(Part::Bytes(closing));
    // Only a file's ranges get here: a variant's bytes are all in memory.
    Some(Box::new(FileBody {
        file: Rc::clone(&selected.file),
        variant: None,
        offset: 0,
        end: 0,
        cached_end: 0,
        parts,
    }))
}

fn part_header(boundary: &[u8], selected: &Selected, range: ByteRange) -> Vec<u8> {
    let mut header = Vec::with_capacity(128);
    header.extend_from_slice(b"\r\n--");
    header.extend_from_slice(boundary);
    header.extend_from_slice(b"\r\nContent-Type: ");
    response::write_content_type(&mut header, selected.file.content_type);
    header.extend_from_slice(b"\r\nContent-Range: ");
    response::write_content_range(
        &mut header,
        ContentRange::Part {
            first: range.first,
            last: range.last,
            len: selected.len_bytes(),
        },
    );
    header.extend_from_slice(b"\r\n\r\n");
    header
}

/// A boundary unlikely to occur in any file: a fixed prefix and a per-response counter
/// scrambled with the process id, so consecutive responses do not share one.
fn new_boundary() -> Vec<u8> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mixed = (n.wrapping_add(1) ^ (u64::from(std::process::id()) << 32))
        .wrapping_mul(0x9e37_79b9_7f4a_7c15);
    format!("tinyhttpd-{mixed:016x}").into_bytes()
}

/// Writes `head` with the small HTML page for its status as the body (or, for HEAD, its
/// length only).
fn status_page(mut head: Head<'_>, head_only: bool, out: &mut Vec<u8>) {
    head.content_type = Some(response::HTML);
    head.content_length = Some(response::status_page_len(head.status));
    head.write(out);
    if !head_only {
        response::write_status_page(out, head.status);
    }
}
