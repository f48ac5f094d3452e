//! The JSON listing (RFC 8259): an array of the entries shown, in the listing's order.
//!
//! Each entry is an object:
//! - `name`: the name as lossy UTF-8 (an invalid byte becomes U+FFFD), escaped;
//! - `href`: the link to it, relative to the directory, percent-encoded from the bytes on
//!   disk (so it is exact even when `name` is not), `/`-terminated for a directory;
//! - `type`: `"file"`, `"dir"` or `"symlink"`; a symlink also has `target`, `"file"` or
//!   `"dir"`, what it leads to (only links the site would follow are listed);
//! - `size`: bytes of the file (of its target, for a link); 0 for a directory;
//! - `mtime`: last modification (of the target, for a link), RFC 3339 in UTC to the second
//!   (`"2026-12-01T10:00:00Z"`), or `null` when unknown.

use super::{Entry, Kind, Listing, Page, rfc3339};
use crate::http::mime::ContentType;

const JSON: ContentType = ContentType {
    essence: "application/json",
    utf8: false,
    compressible: true,
};

pub(super) fn page(listing: &Listing<'_>) -> Page {
    let mut json = Vec::with_capacity(16 + listing.shown.len() * 128);
    json.push(b'[');
    for (i, entry) in listing.shown.iter().enumerate() {
        if i > 0 {
            json.push(b',');
        }
        json.extend_from_slice(b"\n{\"name\":");
        string(&mut json, &String::from_utf8_lossy(&entry.name));
        json.extend_from_slice(b",\"href\":\"");
        // Percent-encoded: only unreserved characters, `%`, `.` and `/` remain.
        entry.push_href(&mut json);
        json.extend_from_slice(b"\",\"type\":");
        let kind: &[u8] = match entry.kind {
            Kind::File => b"\"file\"",
            Kind::Dir => b"\"dir\"",
        };
        if entry.symlink {
            json.extend_from_slice(b"\"symlink\",\"target\":");
        }
        json.extend_from_slice(kind);
        json.extend_from_slice(b",\"size\":");
        json.extend_from_slice(itoa::Buffer::new().format(entry.len).as_bytes());
        json.extend_from_slice(b",\"mtime\":");
        mtime(&mut json, entry);
        json.push(b'}');
    }
    json.extend_from_slice(b"\n]\n");
    Page {
        body: json,
        content_type: JSON,
    }
}

fn mtime(json: &mut Vec<u8>, entry: &Entry) {
    match entry.modified.and_then(rfc3339) {
        Some(stamp) => {
            json.push(b'"');
            json.extend_from_slice(&stamp);
            json.push(b'"');
        }
        None => json.extend_from_slice(b"null"),
    }
}

/// A JSON string (RFC 8259 §7): `"` and `\` escaped, control characters as `\u00XX`.
fn string(json: &mut Vec<u8>, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    json.push(b'"');
    for &b in text.as_bytes() {
        match b {
            b'"' => json.extend_from_slice(b"\\\""),
            b'\\' => json.extend_from_slice(b"\\\\"),
            0..=0x1f => json.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xf)],
            ]),
            _ => json.push(b),
        }
    }
    json.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_escape_quotes_backslashes_and_controls() {
        let mut out = Vec::new();
        string(&mut out, "a\"b\\c\nd\u{1}\u{7f}é");
        assert_eq!(out, "\"a\\\"b\\\\c\\u000ad\\u0001\u{7f}é\"".as_bytes());
    }
}
