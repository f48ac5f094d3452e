//! Request heads: finding where one ends, then parsing and validating it.
//!
//! httparse tokenises the head; this module decides what it means and refuses, with a status,
//! everything RFC 9112 lets a server refuse that could make two parties disagree about where a
//! request starts or ends. Any `Err` here means the connection's framing can no longer be
//! trusted: the caller answers with the status and closes.
//!
//! The header fields that decide framing and connection handling are collected and checked in
//! `fields`; the tests of head finding and of parsing sit beside it in `request/`.

mod fields;

use super::chunked::ChunkedDecoder;
use super::conditional::Conditions;
use super::{Status, is_tchar};
pub use crate::http::request::fields::CorsFields;
use crate::http::request::fields::{Coding, Fields, is_valid_host};

/// How many header lines a request may have before it gets 431.
pub const MAX_HEADERS: usize = 64;

/// How much of a method token `find_head_end` checks before the line is complete.
const METHOD_PREFIX_CHECKED_BYTES: usize = 16;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Options,
    /// Methods RFC 9110 defines that a static server does not allow: 405 with `Allow`.
    Post,
    Put,
    Delete,
    Patch,
    Connect,
    Trace,
    /// Any other token, including a known name in another case (methods are case-sensitive,
    /// RFC 9110 §9.1: `get` is not GET): 501. It is judged after the framing, like the
    /// others, so a malformed message gets 400 whatever its method.
    Unknown,
}

/// The methods we know by name.
const METHODS: [(&str, Method); 9] = [
    ("GET", Method::Get),
    ("HEAD", Method::Head),
    ("OPTIONS", Method::Options),
    ("POST", Method::Post),
    ("PUT", Method::Put),
    ("DELETE", Method::Delete),
    ("PATCH", Method::Patch),
    ("CONNECT", Method::Connect),
    ("TRACE", Method::Trace),
];

/// The length of the longest name in `METHODS`: a longer method token is certainly unknown.
const LONGEST_METHOD_LEN: usize = {
    let mut longest = 0;
    let mut i = 0;
    while i < METHODS.len() {
        if METHODS[i].0.len() > longest {
            longest = METHODS[i].0.len();
        }
        i += 1;
    }
    longest
};

impl Method {
    fn parse(token: &str) -> Method {
        METHODS
            .iter()
            .find(|&&(name, _)| name == token)
            .map_or(Method::Unknown, |&(_, method)| method)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    Http10,
    Http11,
}

/// The request target (RFC 9112 §3.2), reduced to what a static server uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target<'a> {
    /// Origin-form, or the path of an absolute-form target; `path` starts with `/`.
    Path {
        path: &'a [u8],
        query: Option<&'a [u8]>,
    },
    /// `*`, meaningful only with OPTIONS.
    Asterisk,
    /// Authority-form (`host:port`), meaningful only with CONNECT.
    Authority,
}

/// How the request's body is delimited (RFC 9112 §6.3).
#[derive(Clone, Debug)]
pub enum Body {
    None,
    Length(u64),
    Chunked(ChunkedDecoder),
}

#[derive(Clone, Debug)]
pub struct Request<'a> {
    pub method: Method,
    pub target: Target<'a>,
    pub version: Version,
    /// Whether the client allows the connection to stay open after this response.
    pub keep_alive: bool,
    pub body: Body,
    /// `Expect: 100-continue`: the client may hold the body back until it hears from us.
    pub expect_continue: bool,
    pub conditions: Conditions<'a>,
    pub range: Option<&'a [u8]>,
    /// `None` when absent; several Accept-Encoding lines are read as `identity` only.
    pub accept_encoding: Option<&'a [u8]>,
    /// The last Accept line; only a listing's format depends on it.
    pub accept: Option<&'a [u8]>,
    /// For the access log.
    pub referer: Option<&'a [u8]>,
    pub user_agent: Option<&'a [u8]>,
    pub cors: CorsFields<'a>,
    /// Credentials (RFC 9110 §11.6.2); a second Authorization line is 400.
    pub authorization: Option<&'a [u8]>,
}

/// Finds the end of a request head in `buf`, scanning only from `from` (the length scanned by
/// the previous call), so a head trickled in byte by byte costs linear work.
/// Returns the head's length including its final CRLF CRLF, or `None` when more is needed.
/// A bare LF is refused (RFC 9112 §2.2 allows accepting it; we do not, anywhere, so no two
/// parsers can disagree about where a line ends). `max_len` bounds the head: 414 while the
/// request line is still unfinished, 431 after; 501 either way when the method alone is
/// longer than any we know.
pub fn find_head_end(buf: &[u8], from: usize, max_len: usize) -> Result<Option<usize>, Status> {
    // A request starts with a method token. Bytes that cannot begin one (a TLS ClientHello,
    // binary noise) are refused at once instead of waiting for a line end that never comes.
    // (A CR may start an empty line, which the caller skips once its LF arrives.)
    let mut method = buf
        .iter()
        .take(METHOD_PREFIX_CHECKED_BYTES)
        .take_while(|&&b| b != b' ' && b != b'\r');
    if !method.all(|&b| is_tchar(b)) {
        return Err(Status::BadRequest);
    }
    // Nothing past the limit is looked at, so the verdict cannot depend on how the bytes
    // were split into reads.
    for (i, &b) in buf.iter().enumerate().take(max_len).skip(from) {
        if b != b'\n' {
            continue;
        }
        if i == 0 || buf[i - 1] != b'\r' {
            return Err(Status::BadRequest);
        }
        if i >= 3 && buf[i - 3..i] == *b"\r\n\r" {
            return Ok(Some(i + 1));
        }
    }
    if buf.len() >= max_len {
        return Err(too_large(buf, max_len));
    }
    Ok(None)
}

/// The request line of a head, without its CRLF.
pub fn request_line(head: &[u8]) -> &[u8] {
    let end = head.iter().position(|&b| b == b'\r').unwrap_or(head.len());
    &head[..end]
}

/// Rewrites a request line's `HTTP/1.x` (x from 2 to 9) to `HTTP/1.1` in place: RFC 9110
/// §2.5 asks a recipient to treat a higher minor version as the highest it implements, and
/// httparse only knows 1.0 and 1.1. Any other version is left for `parse` to refuse.
pub fn downgrade_minor_version(head: &mut [u8]) {
    let line_end = request_line(head).len();
    let Some(start) = line_end.checked_sub(9) else {
        return;
    };
    if let [
        b' ',
        b'H',
        b'T',
        b'T',
        b'P',
        b'/',
        b'1',
        b'.',
        minor @ b'2'..=b'9',
    ] = &mut head[start..line_end]
    {
        *minor = b'1';
    }
}

/// The status for a head over `max_len`. A method token longer than any we know is 501
/// (RFC 9112 §3), whatever follows it: 414 is about the target. Otherwise 414 when the
/// request line alone is too long, 431 when the header fields are.
fn too_large(buf: &[u8], max_len: usize) -> Status {
    let seen = &buf[..buf.len().min(max_len)];
    let method_len = seen
        .iter()
        .position(|&b| !is_tchar(b))
        .unwrap_or(seen.len());
    if method_len > LONGEST_METHOD_LEN {
        Status::NotImplemented
    } else if seen.contains(&b'\n') {
        Status::HeaderFieldsTooLarge
    } else {
        Status::UriTooLong
    }
}

/// Parses a complete head (as delimited by `find_head_end`). `max_body_len` bounds a body
/// we would have to read (413 beyond it).
///
/// Framing is judged before anything else about the request: a head whose body framing is
/// invalid gets 400 (and the caller closes) whatever its method, because a 405 or 501 would
/// claim we understood where the message ends. The method itself is only named here, never
/// refused: `Method::Unknown` is the handler's 501, like its 405, for a well-framed request.
pub fn parse(head: &[u8], max_body_len: u64) -> Result<Request<'_>, Status> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut headers);
    match parsed.parse(head) {
        Ok(httparse::Status::Complete(len)) if len == head.len() => {}
        Ok(_) => return Err(Status::BadRequest),
        Err(httparse::Error::TooManyHeaders) => return Err(Status::HeaderFieldsTooLarge),
        Err(httparse::Error::Version) => return Err(version_error(head)),
        Err(_) => return Err(Status::BadRequest),
    }
    let (Some(method), Some(target), Some(minor)) = (parsed.method, parsed.path, parsed.version)
    else {
        return Err(Status::BadRequest);
    };
    let version = if minor == 0 {
        Version::Http10
    } else {
        Version::Http11
    };
    let target = parse_target(target.as_bytes())?;
    let fields = Fields::collect(parsed.headers, version == Version::Http11)?;

    if version == Version::Http11 && fields.host.is_none() {
        return Err(Status::BadRequest); // RFC 9112 §3.2: Host is required in HTTP/1.1
    }
    let body = match (fields.transfer_encoding, fields.content_length) {
        (Some(_), Some(_)) => return Err(Status::BadRequest), // RFC 9112 §6.1: smuggling
        (Some(_), None) if version == Version::Http10 => return Err(Status::BadRequest),
        (Some(Coding::Chunked), None) => Body::Chunked(ChunkedDecoder::new(max_body_len)),
        (Some(Coding::ChunkedAfterOthers), None) => return Err(Status::NotImplemented),
        (None, Some(0)) | (None, None) => Body::None,
        (None, Some(len)) if len > max_body_len => return Err(Status::ContentTooLarge),
        (None, Some(len)) => Body::Length(len),
    };
    if fields.unmet_expectation {
        return Err(Status::ExpectationFailed);
    }
    let method = Method::parse(method);
    match (method, target) {
        (Method::Options, Target::Asterisk) | (Method::Connect, Target::Authority) => {}
        (_, Target::Asterisk | Target::Authority) => return Err(Status::BadRequest),
        _ => {}
    }
    let keep_alive = !fields.close
        && match version {
            Version::Http11 => true,
            Version::Http10 => fields.keep_alive,
        };
    Ok(Request {
        method,
        target,
        version,
        keep_alive,
        body,
        expect_continue: fields.expect_continue,
        conditions: fields.conditions,
        range: fields.range,
        accept_encoding: fields.accept_encoding,
        accept: fields.accept,
        referer: fields.referer,
        user_agent: fields.user_agent,
        cors: fields.cors,
        authorization: fields.authorization,
    })
}

/// httparse refuses any version but 1.0 and 1.1. A well-formed `HTTP/x.y` we do not speak is
/// 505 (RFC 9110 §15.6.6); anything else in that place is a malformed request line.
fn version_error(head: &[u8]) -> Status {
    let mut parts = request_line(head).split(|&b| b == b' ');
    let (Some(_method), Some(_target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Status::BadRequest;
    };
    match version {
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit() =>
        {
            Status::VersionNotSupported
        }
        _ => Status::BadRequest,
    }
}

fn parse_target(target: &[u8]) -> Result<Target<'_>, Status> {
    // A URI is ASCII (RFC 3986 §2; RFC 9112 §3.2): other bytes arrive percent-encoded.
    // httparse lets raw UTF-8 through, and it must not name a file.
    if !target.is_ascii() {
        return Err(Status::BadRequest);
    }
    if target.contains(&b'#') {
        return Err(Status::BadRequest); // a fragment is never sent (RFC 9110 §7.1)
    }
    if target == b"*" {
        return Ok(Target::Asterisk);
    }
    let path_and_query = if target.starts_with(b"/") {
        target
    } else if let Some(rest) = strip_scheme(target) {
        // Absolute-form (RFC 9112 §3.2.2): the authority replaces Host; we serve one site, so
        // it is checked for syntax and otherwise ignored.
        let authority_end = rest
            .iter()
            .position(|&b| b == b'/' || b == b'?')
            .unwrap_or(rest.len());
        let (authority, rest) = rest.split_at(authority_end);
        if authority.is_empty() || !is_valid_host(authority) {
            return Err(Status::BadRequest);
        }
        if rest.starts_with(b"/") {
            rest
        } else if rest.is_empty() || rest.starts_with(b"?") {
            return Ok(Target::Path {
                path: b"/",
                query: rest.strip_prefix(b"?"),
            });
        } else {
            return Err(Status::BadRequest);
        }
    } else if is_valid_host(target) && target.contains(&b':') {
        return Ok(Target::Authority);
    } else {
        return Err(Status::BadRequest);
    };
    Ok(match path_and_query.iter().position(|&b| b == b'?') {
        Some(q) => Target::Path {
            path: &path_and_query[..q],
            query: Some(&path_and_query[q + 1..]),
        },
        None => Target::Path {
            path: path_and_query,
            query: None,
        },
    })
}

fn strip_scheme(target: &[u8]) -> Option<&[u8]> {
    let colon = target.iter().position(|&b| b == b':')?;
    let (scheme, rest) = target.split_at(colon);
    let rest = rest.strip_prefix(b"://")?;
    (scheme.eq_ignore_ascii_case(b"http") || scheme.eq_ignore_ascii_case(b"https")).then_some(rest)
}

#[cfg(test)]
mod head_tests;
#[cfg(test)]
mod parse_tests;
