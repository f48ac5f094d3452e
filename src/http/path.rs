//! Request path → `NormalizedPath`: the path in one canonical form beneath the site root.
//!
//! The path is percent-decoded exactly once, segment by segment, and dot-segments are removed
//! *after* decoding (so `%2e%2e` is `..`). A decoded segment may not contain `/`, `\` or a
//! control byte, so an escape can never become a separator, and `\` is never one either.
//! Invariant of the result: it starts with `/`, has no empty, `.` or `..` segment (only a
//! final `/` marks the directory form), and names nothing above the root.
//!
//! Most paths are already in that form (`/a/b.txt`), and then the result borrows the request's
//! own bytes; only a path that normalising changes is written into the caller's buffer. Either
//! way nothing is allocated once that buffer has grown to the longest path seen.

use percent_encoding::{AsciiSet, CONTROLS};

use super::Status;

/// Bytes escaped in a path we put in `Location`: everything that is not allowed in a path
/// segment (RFC 3986 §3.3), so no CR, LF or space can ever reach a header.
pub const PATH_ESCAPES: &AsciiSet = &CONTROLS
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

/// A request path, normalised: decoded, dot-segments removed, one `/` between segments, and a
/// final `/` when it named a directory form (`/docs/`, `/docs/.`). The root is `/`.
///
/// Ownership: it borrows its bytes, immutably, for `'a`: from the request target when that
/// was already normal, otherwise from the buffer `normalize` was lent, which stays borrowed
/// (so unchanged) for as long as this value lives. Whoever receives one only reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NormalizedPath<'a> {
    /// The canonical form; see the invariant in the module documentation.
    canonical: &'a [u8],
}

impl<'a> NormalizedPath<'a> {
    /// The canonical form, `/` first: `/docs/a.txt`, `/docs/`, `/`. Two requests name the same
    /// thing exactly when these bytes are equal, so they can key a cache.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.canonical
    }

    /// The path relative to the root, without a slash at either end: `docs/a.txt`, `docs`;
    /// the root itself is empty.
    pub fn relative(&self) -> &'a [u8] {
        let path = self.canonical.strip_prefix(b"/").unwrap_or(self.canonical);
        path.strip_suffix(b"/").unwrap_or(path)
    }

    /// The path named a directory form: serve its index, never redirect.
    pub fn trailing_slash(&self) -> bool {
        self.canonical.ends_with(b"/")
    }

    /// This path with `suffix` added to its last segment (`/about` + `.html`), written into
    /// `buffer`; the bytes are not decoded again, so a decoded `%` stays one. The invariant
    /// holds because the last segment is not empty and `suffix` adds no `/` and no refused
    /// byte; `None` for a directory form or such a suffix.
    pub fn with_suffix<'b>(
        &self,
        suffix: &[u8],
        buffer: &'b mut Vec<u8>,
    ) -> Option<NormalizedPath<'b>> {
        if self.trailing_slash() || suffix.iter().any(|&b| b == b'/' || is_refused(b)) {
            return None;
        }
        buffer.clear();
        buffer.extend_from_slice(self.canonical);
        buffer.extend_from_slice(suffix);
        Some(NormalizedPath { canonical: buffer })
    }
}

/// Normalises `raw` (an origin-form path, query already removed). `buffer` is written only if
/// normalising changes the bytes, and is then lent to the result.
pub fn normalize<'a>(raw: &'a [u8], buffer: &'a mut Vec<u8>) -> Result<NormalizedPath<'a>, Status> {
    let Some(rest) = raw.strip_prefix(b"/") else {
        return Err(Status::BadRequest);
    };
    if is_canonical(rest) {
        return Ok(NormalizedPath { canonical: raw });
    }
    rewrite(rest, buffer)?;
    Ok(NormalizedPath { canonical: buffer })
}

/// Whether `/` + `rest` is already what `rewrite` would make of it: no escape to decode, no
/// byte to refuse, and no empty (except the last), `.` or `..` segment.
fn is_canonical(rest: &[u8]) -> bool {
    let mut segments = rest.split(|&b| b == b'/').peekable();
    while let Some(segment) = segments.next() {
        let last = segments.peek().is_none();
        let plain = match segment {
            b"" => last,
            b"." | b".." => false,
            _ => segment.iter().all(|&b| b != b'%' && !is_refused(b)),
        };
        if !plain {
            return false;
        }
    }
    true
}

/// Writes the canonical form of `/` + `rest` into `out`. Between segments `out` ends with `/`;
/// the last one is dropped unless the path ended in a directory form.
fn rewrite(rest: &[u8], out: &mut Vec<u8>) -> Result<(), Status> {
    out.clear();
    out.push(b'/');
    let mut trailing_slash = true;
    for raw_segment in rest.split(|&b| b == b'/') {
        let segment_start = out.len();
        decode_segment(raw_segment, out)?;
        match out.get(segment_start..) {
            Some(b"" | b".") => {
                out.truncate(segment_start);
                trailing_slash = true;
            }
            Some(b"..") => {
                if segment_start == 1 {
                    return Err(Status::BadRequest); // would climb above the root
                }
                // Drop `..` and the segment before it, keeping that segment's leading `/`.
                out.truncate(segment_start - 1);
                let parent = out.iter().rposition(|&b| b == b'/').unwrap_or(0);
                out.truncate(parent + 1);
                trailing_slash = true;
            }
            _ => {
                out.push(b'/');
                trailing_slash = false;
            }
        }
    }
    if !trailing_slash {
        out.pop();
    }
    Ok(())
}

/// Appends the decoded `segment` to `out`, refusing malformed escapes and bytes that could act
/// as a separator or terminator once decoded.
fn decode_segment(segment: &[u8], out: &mut Vec<u8>) -> Result<(), Status> {
    let mut bytes = segment.iter();
    while let Some(&b) = bytes.next() {
        let decoded = if b == b'%' {
            let hi = bytes.next().and_then(|&h| hex_value(h));
            let lo = bytes.next().and_then(|&l| hex_value(l));
            match (hi, lo) {
                (Some(hi), Some(lo)) => hi << 4 | lo,
                _ => return Err(Status::BadRequest),
            }
        } else {
            b
        };
        if decoded == b'/' || is_refused(decoded) {
            return Err(Status::BadRequest);
        }
        out.push(decoded);
    }
    Ok(())
}

/// A byte no segment may hold: `\` (a separator elsewhere) or a control byte.
fn is_refused(b: u8) -> bool {
    b == b'\\' || b < 0x20 || b == 0x7f
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Canonical form, relative path, trailing slash, and whether the request's bytes were
    /// borrowed as they are.
    fn norm(raw: &str) -> Result<(String, String, bool, bool), Status> {
        let mut buffer = b"stale bytes".to_vec();
        normalize(raw.as_bytes(), &mut buffer).map(|path| {
            (
                String::from_utf8_lossy(path.as_bytes()).into_owned(),
                String::from_utf8_lossy(path.relative()).into_owned(),
                path.trailing_slash(),
                std::ptr::eq(path.as_bytes(), raw.as_bytes()),
            )
        })
    }

    #[test]
    fn table() {
        // raw, canonical, relative, trailing slash, borrowed from the request
        let ok: &[(&str, &str, &str, bool, bool)] = &[
            ("/", "/", "", true, true),
            ("/index.html", "/index.html", "index.html", false, true),
            ("/docs/", "/docs/", "docs", true, true),
            ("/docs", "/docs", "docs", false, true),
            ("/docs/a.txt", "/docs/a.txt", "docs/a.txt", false, true),
            ("//docs//a.txt", "/docs/a.txt", "docs/a.txt", false, false),
            ("/docs//", "/docs/", "docs", true, false),
            ("/a/./b", "/a/b", "a/b", false, false),
            ("/a/b/..", "/a/", "a", true, false),
            ("/a/b/../c", "/a/c", "a/c", false, false),
            ("/a/..", "/", "", true, false),
            ("/a/%2e%2e/c", "/c", "c", false, false),
            ("/a/%2E/c", "/a/c", "a/c", false, false),
            ("/a/.", "/a/", "a", true, false),
            ("/.", "/", "", true, false),
            (
                "/hello%20world.txt",
                "/hello world.txt",
                "hello world.txt",
                false,
                false,
            ),
            ("/caf%C3%A9", "/café", "café", false, false),
            ("/%252e%252e/x", "/%2e%2e/x", "%2e%2e/x", false, false),
            ("/.hidden", "/.hidden", ".hidden", false, true),
            ("/a..b", "/a..b", "a..b", false, true),
            ("/...", "/...", "...", false, true),
            ("/a.", "/a.", "a.", false, true),
        ];
        for &(raw, canonical, relative, slash, borrowed) in ok {
            let want = (canonical.into(), relative.into(), slash, borrowed);
            assert_eq!(norm(raw), Ok(want), "{raw}");
        }
        let bad = [
            "",
            "x",
            "/..",
            "/../etc/passwd",
            "/a/../..",
            "/%2e%2e/x",
            "/a/%2E%2e/%2e%2E/x",
            "/a%2fb",
            "/a%2Fb",
            "/a%5cb",
            "/a\\b",
            "/a%00b",
            "/a%0d%0ab",
            "/a\x01b",
            "/a\x7f",
            "/%",
            "/%4",
            "/%zz",
            "/%%30",
            "/a%7f",
        ];
        for raw in bad {
            assert_eq!(norm(raw), Err(Status::BadRequest), "{raw}");
        }
    }

    #[test]
    fn borrowing_and_rewriting_agree() {
        // The shortcut must give what the rewrite gives, for every path it takes.
        let paths = [
            "/", "/a", "/a/", "/a/b", "/a/b/", "/.a/b.c", "/a..", "/a/.b/", "/~x-y_z", "/é",
        ];
        for raw in paths {
            let rest = &raw.as_bytes()[1..];
            assert!(is_canonical(rest), "{raw}");
            let mut rewritten = Vec::new();
            rewrite(rest, &mut rewritten).unwrap();
            assert_eq!(rewritten, raw.as_bytes(), "{raw}");
        }
    }

    #[test]
    fn each_prefix_of_a_path_is_judged_alike_either_way() {
        // Fed one byte at a time: every prefix either borrows exactly when the rewrite would
        // reproduce it, or both refuse it.
        let raw = b"/docs/./a%20b//c/../d.txt/";
        for end in 1..=raw.len() {
            let prefix = &raw[..end];
            let rest = &prefix[1..];
            let mut rewritten = Vec::new();
            let result = rewrite(rest, &mut rewritten);
            if is_canonical(rest) {
                assert_eq!(result, Ok(()), "{prefix:?}");
                assert_eq!(rewritten, prefix, "{prefix:?}");
            } else if result.is_ok() {
                assert_ne!(rewritten, prefix, "{:?}", String::from_utf8_lossy(prefix));
            }
        }
    }

    #[test]
    fn suffix_goes_on_the_last_segment_undecoded() {
        let mut buffer = Vec::new();
        let mut out = Vec::new();
        let path = normalize(b"/a/x%2541", &mut buffer).unwrap();
        let longer = path.with_suffix(b".html", &mut out).unwrap();
        assert_eq!(longer.as_bytes(), b"/a/x%41.html");
        assert_eq!(longer.relative(), b"a/x%41.html");
        let mut buffer = Vec::new();
        for (raw, suffix) in [
            ("/docs/", ".html"),
            ("/", ".html"),
            ("/a", "/b"),
            ("/a", "\\x"),
        ] {
            let path = normalize(raw.as_bytes(), &mut buffer).unwrap();
            assert!(
                path.with_suffix(suffix.as_bytes(), &mut out).is_none(),
                "{raw} {suffix}"
            );
        }
    }
}
