//! Response heads and small generated bodies, appended to a connection's output buffer.
//!
//! Heads are assembled from constant pieces and integers written with `itoa`: no `format!`,
//! no allocation beyond the buffer's own growth, which a reused buffer stops doing.

use super::Status;
use super::cors;
use super::date::HTTP_DATE_LEN;
use super::header_rules::{HeaderRules, Matched};
use super::mime::ContentType;

/// The methods a static site allows, for `Allow` (RFC 9110 §10.2.1).
pub const ALLOWED_METHODS: &str = "GET, HEAD, OPTIONS";

/// What the `Connection` header of a response says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Persistence {
    /// HTTP/1.1 default: nothing to say.
    KeepAlive11,
    /// An HTTP/1.0 client asked to keep the connection; say yes explicitly.
    KeepAlive10,
    /// This is the last response on the connection.
    Close,
}

/// What `Content-Range` says (RFC 9110 §14.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContentRange {
    /// `bytes FIRST-LAST/LEN` on a 206 with one part.
    Part { first: u64, last: u64, len: u64 },
    /// `bytes */LEN` on a 416.
    Unsatisfied { len: u64 },
}

/// The header fields of one response. Which ones are present depends on the response kind;
/// `Head::new` starts with none of the optional ones.
pub struct Head<'a> {
    pub status: Status,
    pub date: &'a [u8; HTTP_DATE_LEN],
    pub persistence: Persistence,
    /// Absent only where a length must not be sent (304).
    pub content_length: Option<u64>,
    pub content_type: Option<ContentType>,
    /// When set, the Content-Type is `multipart/byteranges` with this boundary.
    pub multipart_boundary: Option<&'a [u8]>,
    pub content_encoding: Option<&'a str>,
    pub content_range: Option<ContentRange>,
    pub accept_ranges: bool,
    pub etag: Option<&'a [u8]>,
    /// An HTTP-date, rendered once per file (see `http::date::render`).
    pub last_modified: Option<&'a [u8; HTTP_DATE_LEN]>,
    /// The `--header` rules that apply (a successful file response).
    pub added: Option<(&'a HeaderRules, Matched)>,
    pub vary_accept_encoding: bool,
    /// The representation was chosen by Accept (a directory listing).
    pub vary_accept: bool,
    pub location: Option<&'a [u8]>,
    pub allow: bool,
    /// `Access-Control-Allow-Origin`: the request's origin is allowed (`--cors`).
    pub allow_origin: Option<&'a [u8]>,
    /// The response depends on `Origin` (`--cors` with a list).
    pub vary_origin: bool,
    /// Answers a CORS preflight: the allowed methods, these request headers, and how long
    /// the answer holds. Otherwise, with `allow_origin`, the exposed fields.
    pub preflight: Option<Preflight<'a>>,
    /// The challenge of a 401 (RFC 9110 §11.6.1).
    pub www_authenticate: Option<&'a [u8]>,
    /// `Cache-Control: private`: the response was given to credentials (RFC 9111 §3.5).
    pub private: bool,
    /// `Cache-Control: no-store`: the answer is of the moment (a health check).
    pub no_store: bool,
    /// The Strict-Transport-Security value, on an HTTPS server with `--hsts` (RFC 6797 §6.1).
    pub strict_transport_security: Option<&'a [u8]>,
}

/// What a CORS preflight is told beyond the allowed origin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Preflight<'a> {
    /// `Access-Control-Request-Headers`, echoed when it is a list of field names.
    pub allow_headers: Option<&'a [u8]>,
}

impl<'a> Head<'a> {
    pub fn new(
        status: Status,
        date: &'a [u8; HTTP_DATE_LEN],
        persistence: Persistence,
    ) -> Head<'a> {
        Head {
            status,
            date,
            persistence,
            content_length: Some(0),
            content_type: None,
            multipart_boundary: None,
            content_encoding: None,
            content_range: None,
            accept_ranges: false,
            etag: None,
            last_modified: None,
            added: None,
            vary_accept_encoding: false,
            vary_accept: false,
            location: None,
            allow: false,
            allow_origin: None,
            vary_origin: false,
            preflight: None,
            www_authenticate: None,
            private: false,
            no_store: false,
            strict_transport_security: None,
        }
    }

    pub fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"HTTP/1.1 ");
        out.extend_from_slice(self.status.line().as_bytes());
        out.extend_from_slice(b"\r\nServer: tinyhttpd\r\nDate: ");
        out.extend_from_slice(self.date);
        if let Some(boundary) = self.multipart_boundary {
            out.extend_from_slice(b"\r\nContent-Type: multipart/byteranges; boundary=");
            out.extend_from_slice(boundary);
        } else if let Some(content_type) = self.content_type {
            out.extend_from_slice(b"\r\nContent-Type: ");
            write_content_type(out, content_type);
        }
        if let Some(len) = self.content_length {
            out.extend_from_slice(b"\r\nContent-Length: ");
            out.extend_from_slice(itoa::Buffer::new().format(len).as_bytes());
        }
        if let Some(encoding) = self.content_encoding {
            out.extend_from_slice(b"\r\nContent-Encoding: ");
            out.extend_from_slice(encoding.as_bytes());
        }
        if let Some(range) = self.content_range {
            out.extend_from_slice(b"\r\nContent-Range: ");
            write_content_range(out, range);
        }
        if self.accept_ranges {
            out.extend_from_slice(b"\r\nAccept-Ranges: bytes");
        }
        if let Some(etag) = self.etag {
            out.extend_from_slice(b"\r\nETag: ");
            out.extend_from_slice(etag);
        }
        if let Some(modified) = self.last_modified {
            out.extend_from_slice(b"\r\nLast-Modified: ");
            out.extend_from_slice(modified);
        }
        if let Some((rules, matched)) = self.added {
            rules.write(matched, out);
        }
        if self.private {
            out.extend_from_slice(b"\r\nCache-Control: private");
        }
        if self.no_store {
            out.extend_from_slice(b"\r\nCache-Control: no-store");
        }
        // One Vary field naming all that apply (RFC 9110 §12.5.5).
        let vary = [
            (self.vary_accept, "Accept"),
            (self.vary_accept_encoding, "Accept-Encoding"),
            (self.vary_origin, "Origin"),
        ];
        let mut separator = b"\r\nVary: ".as_slice();
        for (_, name) in vary.iter().filter(|(applies, _)| *applies) {
            out.extend_from_slice(separator);
            out.extend_from_slice(name.as_bytes());
            separator = b", ";
        }
        self.write_cors(out);
        if let Some(location) = self.location {
            out.extend_from_slice(b"\r\nLocation: ");
            out.extend_from_slice(location);
        }
        if self.allow {
            out.extend_from_slice(b"\r\nAllow: ");
            out.extend_from_slice(ALLOWED_METHODS.as_bytes());
        }
        if let Some(challenge) = self.www_authenticate {
            out.extend_from_slice(b"\r\nWWW-Authenticate: ");
            out.extend_from_slice(challenge);
        }
        if let Some(sts) = self.strict_transport_security {
            out.extend_from_slice(b"\r\nStrict-Transport-Security: ");
            out.extend_from_slice(sts);
        }
        out.extend_from_slice(match self.persistence {
            Persistence::KeepAlive11 => b"\r\n\r\n".as_slice(),
            Persistence::KeepAlive10 => b"\r\nConnection: keep-alive\r\n\r\n",
            Persistence::Close => b"\r\nConnection: close\r\n\r\n",
        });
    }
}

impl Head<'_> {
    fn write_cors(&self, out: &mut Vec<u8>) {
        let Some(origin) = self.allow_origin else {
            return;
        };
        out.extend_from_slice(b"\r\nAccess-Control-Allow-Origin: ");
        out.extend_from_slice(origin);
        let Some(preflight) = self.preflight else {
            out.extend_from_slice(b"\r\nAccess-Control-Expose-Headers: ");
            out.extend_from_slice(cors::EXPOSE_HEADERS.as_bytes());
            return;
        };
        out.extend_from_slice(b"\r\nAccess-Control-Allow-Methods: ");
        out.extend_from_slice(cors::ALLOW_METHODS.as_bytes());
        if let Some(headers) = preflight.allow_headers {
            out.extend_from_slice(b"\r\nAccess-Control-Allow-Headers: ");
            out.extend_from_slice(headers);
        }
        out.extend_from_slice(b"\r\nAccess-Control-Max-Age: ");
        out.extend_from_slice(cors::PREFLIGHT_MAX_AGE_SECS.as_bytes());
    }
}

/// `type/subtype`, with `; charset=utf-8` for text.
pub fn write_content_type(out: &mut Vec<u8>, content_type: ContentType) {
    out.extend_from_slice(content_type.essence.as_bytes());
    if content_type.utf8 {
        out.extend_from_slice(b"; charset=utf-8");
    }
}

pub fn write_content_range(out: &mut Vec<u8>, range: ContentRange) {
    let mut digits = itoa::Buffer::new();
    out.extend_from_slice(b"bytes ");
    match range {
        ContentRange::Part { first, last, len } => {
            out.extend_from_slice(digits.format(first).as_bytes());
            out.push(b'-');
            out.extend_from_slice(digits.format(last).as_bytes());
            out.push(b'/');
            out.extend_from_slice(digits.format(len).as_bytes());
        }
        ContentRange::Unsatisfied { len } => {
            out.extend_from_slice(b"*/");
            out.extend_from_slice(digits.format(len).as_bytes());
        }
    }
}

/// The media type of generated pages (errors, redirects).
pub const HTML: ContentType = ContentType {
    essence: "text/html",
    utf8: true,
    compressible: true,
};

const PAGE_START: &[u8] = b"<!DOCTYPE html>\n<html><head><title>";
const PAGE_MIDDLE: &[u8] = b"</title></head>\n<body><h1>";
const PAGE_END: &[u8] = b"</h1></body></html>\n";

/// Length of the small HTML page that names `status`.
pub fn status_page_len(status: Status) -> u64 {
    (PAGE_START.len() + PAGE_MIDDLE.len() + PAGE_END.len() + 2 * status.line().len()) as u64
}

/// Appends the small HTML page that names `status`: `status_page_len(status)` bytes.
pub fn write_status_page(out: &mut Vec<u8>, status: Status) {
    out.extend_from_slice(PAGE_START);
    out.extend_from_slice(status.line().as_bytes());
    out.extend_from_slice(PAGE_MIDDLE);
    out.extend_from_slice(status.line().as_bytes());
    out.extend_from_slice(PAGE_END);
}

#[cfg(test)]
mod tests {
    #[test]
    fn content_ranges() {
        let mut out = Vec::new();
        write_content_range(
            &mut out,
            ContentRange::Part {
                first: 0,
                last: 9,
                len: 100,
            },
        );
        assert_eq!(out, b"bytes 0-9/100");
        out.clear();
        write_content_range(&mut out, ContentRange::Unsatisfied { len: 7 });
        assert_eq!(out, b"bytes */7");
    }

    use super::*;
    use crate::http::date;
    use std::time::{Duration, UNIX_EPOCH};

    const DATE: &[u8; HTTP_DATE_LEN] = b"Sun, 06 Nov 1994 08:49:37 GMT";

    #[test]
    fn file_head() {
        let mut out = Vec::new();
        let mut head = Head::new(Status::Ok, DATE, Persistence::KeepAlive11);
        head.content_length = Some(1234);
        head.content_type = Some(HTML);
        let modified = date::render(UNIX_EPOCH + Duration::from_secs(784_111_777));
        head.last_modified = modified.as_ref();
        head.write(&mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "HTTP/1.1 200 OK\r\nServer: tinyhttpd\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
             Content-Type: text/html; charset=utf-8\r\nContent-Length: 1234\r\n\
             Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n"
        );
    }

    #[test]
    fn status_page_length_is_exact() {
        for status in [Status::NotFound, Status::HeaderFieldsTooLarge] {
            let mut out = Vec::new();
            write_status_page(&mut out, status);
            assert_eq!(out.len() as u64, status_page_len(status));
        }
    }

    #[test]
    fn close_and_allow() {
        let mut out = Vec::new();
        let mut head = Head::new(Status::MethodNotAllowed, DATE, Persistence::Close);
        head.allow = true;
        head.write(&mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("\r\nAllow: GET, HEAD, OPTIONS\r\n"));
        assert!(text.ends_with("\r\nConnection: close\r\n\r\n"));
    }

    #[test]
    fn vary_names_all_and_cors_preflight() {
        let mut out = Vec::new();
        let mut head = Head::new(Status::Ok, DATE, Persistence::KeepAlive11);
        head.vary_accept_encoding = true;
        head.vary_origin = true;
        head.allow_origin = Some(b"https://a.test");
        head.preflight = Some(Preflight {
            allow_headers: Some(b"x-token"),
        });
        head.write(&mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("\r\nVary: Accept-Encoding, Origin\r\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "\r\nAccess-Control-Allow-Origin: https://a.test\r\n\
             Access-Control-Allow-Methods: GET, HEAD\r\n\
             Access-Control-Allow-Headers: x-token\r\n\
             Access-Control-Max-Age: 86400\r\n"
            ),
            "{text}"
        );
        assert!(!text.contains("Expose"), "{text}");
    }
}
