//! Response heads and small generated bodies, appended to a connection's output buffer.
//!
//! Heads are assembled from constant pieces and integers written with `itoa`: no `format!`,
//! no allocation beyond the buffer's own growth, which a reused buffer stops doing.

use super::Status;
use super::date::HTTP_DATE_LEN;
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
    pub cache_control: Option<&'a [u8]>,
    pub vary_accept_encoding: bool,
    /// The representation was chosen by Accept (a directory listing).
    pub vary_accept: bool,
    pub location: Option<&'a [u8]>,
    pub allow: bool,
    /// The Strict-Transport-Security value, on an HTTPS server with `--hsts` (RFC 6797 §6.1).
    pub strict_transport_security: Option<&'a [u8]>,
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
            cache_control: None,
            vary_accept_encoding: false,
            vary_accept: false,
            location: None,
            allow: false,
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
        if let Some(cache_control) = self.cache_control {
            out.extend_from_slice(b"\r\nCache-Control: ");
            out.extend_from_slice(cache_control);
        }
        // One Vary field naming both, when both apply (RFC 9110 §12.5.5).
        match (self.vary_accept, self.vary_accept_encoding) {
            (true, true) => out.extend_from_slice(b"\r\nVary: Accept, Accept-Encoding"),
            (true, false) => out.extend_from_slice(b"\r\nVary: Accept"),
            (false, true) => out.extend_from_slice(b"\r\nVary: Accept-Encoding"),
            (false, false) => {}
        }
        if let Some(location) = self.location {
            out.extend_from_slice(b"\r\nLocation: ");
            out.extend_from_slice(location);
        }
        if self.allow {
            out.extend_from_slice(b"\r\nAllow: ");
            out.extend_from_slice(ALLOWED_METHODS.as_bytes());
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
}
