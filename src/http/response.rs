//! Response heads and small generated bodies, appended to a connection's output buffer.
//!
//! Heads are assembled from constant pieces and integers written with `itoa`: no `format!`,
//! no allocation beyond the buffer's own growth, which a reused buffer stops doing.

use std::io::Write;
use std::time::SystemTime;

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

/// The header fields of one response. Which ones are present depends on the response kind.
pub struct Head<'a> {
    pub status: Status,
    pub date: &'a [u8; HTTP_DATE_LEN],
    pub persistence: Persistence,
    pub content_length: u64,
    pub content_type: Option<ContentType>,
    pub last_modified: Option<SystemTime>,
    pub location: Option<&'a [u8]>,
    pub allow: bool,
}

impl Head<'_> {
    pub fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"HTTP/1.1 ");
        out.extend_from_slice(self.status.line().as_bytes());
        out.extend_from_slice(b"\r\nServer: tinyhttpd\r\nDate: ");
        out.extend_from_slice(self.date);
        if let Some(content_type) = self.content_type {
            out.extend_from_slice(b"\r\nContent-Type: ");
            out.extend_from_slice(content_type.essence.as_bytes());
            if content_type.utf8 {
                out.extend_from_slice(b"; charset=utf-8");
            }
        }
        out.extend_from_slice(b"\r\nContent-Length: ");
        out.extend_from_slice(itoa::Buffer::new().format(self.content_length).as_bytes());
        if let Some(modified) = self.last_modified {
            out.extend_from_slice(b"\r\nLast-Modified: ");
            // Writing into a Vec cannot fail.
            let _ = write!(out, "{}", httpdate::HttpDate::from(modified));
        }
        if let Some(location) = self.location {
            out.extend_from_slice(b"\r\nLocation: ");
            out.extend_from_slice(location);
        }
        if self.allow {
            out.extend_from_slice(b"\r\nAllow: ");
            out.extend_from_slice(ALLOWED_METHODS.as_bytes());
        }
        out.extend_from_slice(match self.persistence {
            Persistence::KeepAlive11 => b"\r\n\r\n".as_slice(),
            Persistence::KeepAlive10 => b"\r\nConnection: keep-alive\r\n\r\n",
            Persistence::Close => b"\r\nConnection: close\r\n\r\n",
        });
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
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    const DATE: &[u8; HTTP_DATE_LEN] = b"Sun, 06 Nov 1994 08:49:37 GMT";

    #[test]
    fn file_head() {
        let mut out = Vec::new();
        Head {
            status: Status::Ok,
            date: DATE,
            persistence: Persistence::KeepAlive11,
            content_length: 1234,
            content_type: Some(HTML),
            last_modified: Some(UNIX_EPOCH + Duration::from_secs(784_111_777)),
            location: None,
            allow: false,
        }
        .write(&mut out);
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
        Head {
            status: Status::MethodNotAllowed,
            date: DATE,
            persistence: Persistence::Close,
            content_length: 0,
            content_type: None,
            last_modified: None,
            location: None,
            allow: true,
        }
        .write(&mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("\r\nAllow: GET, HEAD, OPTIONS\r\n"));
        assert!(text.ends_with("\r\nConnection: close\r\n\r\n"));
    }
}
