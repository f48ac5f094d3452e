//! Request path → normalised relative path beneath the site root.
//!
//! The path is percent-decoded exactly once, segment by segment, and dot-segments are removed
//! *after* decoding (so `%2e%2e` is `..`). A decoded segment may not contain `/`, `\` or a
//! control byte, so an escape can never become a separator, and `\` is never one either.
//! Invariant of the result: no empty, `.` or `..` segment, no leading `/`, nothing that names a
//! place above the root.

use super::Status;

/// What normalisation learned besides the path itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PathInfo {
    /// The path named a directory form (`/docs/`, `/docs/.`): serve its index, never redirect.
    pub trailing_slash: bool,
}

/// Normalises `raw` (an origin-form path, query already removed) into `out`: decoded segments
/// joined by `/`, no leading slash; the root itself is the empty path.
pub fn normalize(raw: &[u8], out: &mut Vec<u8>) -> Result<PathInfo, Status> {
    out.clear();
    let Some(rest) = raw.strip_prefix(b"/") else {
        return Err(Status::BadRequest);
    };
    let mut trailing_slash = true;
    for raw_segment in rest.split(|&b| b == b'/') {
        let segment_start = out.len();
        if !out.is_empty() {
            out.push(b'/');
        }
        let name_start = out.len();
        decode_segment(raw_segment, out)?;
        match &out[name_start..] {
            b"" | b"." => {
                out.truncate(segment_start);
                trailing_slash = true;
            }
            b".." => {
                out.truncate(segment_start);
                if out.is_empty() && segment_start == 0 {
                    return Err(Status::BadRequest); // would climb above the root
                }
                let parent = out.iter().rposition(|&b| b == b'/').unwrap_or(0);
                out.truncate(parent);
                trailing_slash = true;
            }
            _ => trailing_slash = false,
        }
    }
    Ok(PathInfo { trailing_slash })
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
        if decoded == b'/' || decoded == b'\\' || decoded < 0x20 || decoded == 0x7f {
            return Err(Status::BadRequest);
        }
        out.push(decoded);
    }
    Ok(())
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

    fn norm(raw: &str) -> Result<(String, bool), Status> {
        let mut out = Vec::new();
        normalize(raw.as_bytes(), &mut out).map(|info| {
            (
                String::from_utf8_lossy(&out).into_owned(),
                info.trailing_slash,
            )
        })
    }

    #[test]
    fn table() {
        let ok: &[(&str, &str, bool)] = &[
            ("/", "", true),
            ("/index.html", "index.html", false),
            ("/docs/", "docs", true),
            ("/docs", "docs", false),
            ("//docs//a.txt", "docs/a.txt", false),
            ("/a/./b", "a/b", false),
            ("/a/b/..", "a", true),
            ("/a/b/../c", "a/c", false),
            ("/a/%2e%2e/c", "c", false),
            ("/a/%2E/c", "a/c", false),
            ("/a/.", "a", true),
            ("/hello%20world.txt", "hello world.txt", false),
            ("/caf%C3%A9", "café", false),
            ("/%252e%252e/x", "%2e%2e/x", false),
            ("/.hidden", ".hidden", false),
            ("/a..b", "a..b", false),
            ("/...", "...", false),
        ];
        for &(raw, want, slash) in ok {
            assert_eq!(norm(raw), Ok((want.to_string(), slash)), "{raw}");
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
}
