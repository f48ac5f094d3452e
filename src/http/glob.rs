//! Globs over normalised URL paths, for `--header 'GLOB Name: value'`.
//!
//! A glob without `/` is matched against the file name (the last segment); one with `/`
//! starts with `/` and is matched against the whole path, segment by segment. Within a
//! segment `*` matches any run of bytes and `?` one byte; a whole segment `**` matches any
//! number of segments, none included (`/assets/**`, `/**/*.css`). Elsewhere `**` is `*`.
//!
//! Matching allocates nothing: both levels use the greedy algorithm with one backtrack
//! point, which is exact when a wildcard matches any sequence of units and every other
//! token exactly one; its work is bounded by pattern length × path length.

/// One segment of a compiled glob.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    /// `**`: any number of whole segments.
    AnyDepth,
    /// A segment pattern with `*` and `?`.
    Name(Box<[u8]>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Glob {
    /// Matched against the file name only (the glob had no `/`).
    file_name_only: bool,
    segments: Box<[Segment]>,
}

/// A path's segments (`a/b.css`: relative, split at `/`), then, for a directory path
/// (`docs/`, or the root), the name of the index file that serves it. A position is a byte
/// offset into `path`; `path.len()` is the index name's.
struct Subject<'a> {
    path: &'a [u8],
    index: Option<&'a [u8]>,
}

impl<'a> Subject<'a> {
    /// The segment at `pos` and the position after it; `None` at the end.
    fn segment(&self, pos: usize) -> Option<(&'a [u8], usize)> {
        let end = self.path.len();
        match self.path.get(pos..) {
            Some(rest) if !rest.is_empty() => Some(match rest.iter().position(|&b| b == b'/') {
                Some(slash) => (&rest[..slash], pos + slash + 1),
                None => (rest, end + 1),
            }),
            _ if pos == end => self.index.map(|name| (name, end + 1)),
            _ => None,
        }
    }
}

impl Glob {
    /// Compiles `glob`; the error says what is wrong with it.
    pub fn parse(glob: &str) -> Result<Glob, String> {
        if glob.is_empty() || glob.bytes().any(|b| !b.is_ascii_graphic()) {
            return Err("a glob is visible ASCII characters, without spaces".to_string());
        }
        let file_name_only = !glob.contains('/');
        let body = match glob.strip_prefix('/') {
            Some(body) => body,
            None if file_name_only => glob,
            None => return Err(format!("a glob with `/` starts with `/`: {glob}")),
        };
        let mut segments = Vec::new();
        for segment in body.split('/') {
            segments.push(match segment {
                "" => return Err(format!("empty segment in glob {glob}")),
                "**" if !file_name_only => Segment::AnyDepth,
                name => Segment::Name(name.as_bytes().into()),
            });
        }
        Ok(Glob {
            file_name_only,
            segments: segments.into(),
        })
    }

    /// Whether the normalised URL `path` (`/a/b.css`, `/docs/`) matches; `index`: the name
    /// of the file served for a path ending in `/`.
    pub fn matches(&self, path: &[u8], index: &[u8]) -> bool {
        let path = path.strip_prefix(b"/").unwrap_or(path);
        let index = Some(index).filter(|_| path.is_empty() || path.ends_with(b"/"));
        if self.file_name_only {
            let name = match index {
                Some(index) => index,
                None => path.rsplit(|&b| b == b'/').next().unwrap_or(path),
            };
            return self.segments.iter().all(|segment| match segment {
                Segment::Name(pattern) => segment_matches(pattern, name),
                Segment::AnyDepth => true,
            });
        }
        self.matches_segments(&Subject { path, index })
    }

    fn matches_segments(&self, subject: &Subject<'_>) -> bool {
        let (mut p, mut pos) = (0, 0);
        // After a `**`: the pattern index after it, and where it last stopped consuming.
        let mut backtrack: Option<(usize, usize)> = None;
        loop {
            let next = subject.segment(pos);
            match (self.segments.get(p), next) {
                (Some(Segment::AnyDepth), _) => {
                    p += 1;
                    backtrack = Some((p, pos));
                    continue;
                }
                (Some(Segment::Name(pattern)), Some((segment, after)))
                    if segment_matches(pattern, segment) =>
                {
                    p += 1;
                    pos = after;
                    continue;
                }
                (None, None) => return true,
                _ => {}
            }
            // Let the last `**` take one more segment, if there is one.
            let Some((star_p, star_pos)) = backtrack else {
                return false;
            };
            let Some((_, after)) = subject.segment(star_pos) else {
                return false;
            };
            backtrack = Some((star_p, after));
            p = star_p;
            pos = after;
        }
    }
}

/// `*` and `?` within one segment (both match bytes, never `/`).
fn segment_matches(pattern: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some(b'*') => {
                p += 1;
                backtrack = Some((p, n));
                continue;
            }
            Some(&b) if b == b'?' || Some(&b) == name.get(n) => {
                p += 1;
                n += 1;
                continue;
            }
            _ => {}
        }
        let Some((star_p, star_n)) = backtrack else {
            return false;
        };
        backtrack = Some((star_p, star_n + 1));
        p = star_p;
        n = star_n + 1;
    }
    pattern
        .get(p..)
        .is_some_and(|rest| rest.iter().all(|&b| b == b'*'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let cases: &[(&str, &str, &str, bool)] = &[
            ("*.css", "/a.css", "index.html", true),
            ("*.css", "/deep/down/a.css", "index.html", true),
            ("*.css", "/a.css/b", "index.html", false),
            ("*.css", "/a.cs", "index.html", false),
            ("*.html", "/docs/", "index.html", true),
            ("*.html", "/", "index.html", true),
            ("a?c.txt", "/abc.txt", "index.html", true),
            ("a?c.txt", "/ac.txt", "index.html", false),
            ("*a*b", "/xaxxab", "index.html", true),
            ("*a*b", "/xaxxa", "index.html", false),
            ("/assets/**", "/assets/a.js", "index.html", true),
            ("/assets/**", "/assets/x/y/z.js", "index.html", true),
            ("/assets/**", "/assets/", "index.html", true),
            ("/assets/**", "/other/a.js", "index.html", false),
            ("/assets/**", "/assetsx/a.js", "index.html", false),
            ("/assets/*", "/assets/x/y.js", "index.html", false),
            ("/assets/*", "/assets/y.js", "index.html", true),
            ("/**/*.css", "/a.css", "index.html", true),
            ("/**/*.css", "/a/b/c.css", "index.html", true),
            ("/**/*.css", "/a/b/c.js", "index.html", false),
            ("/a/**/z", "/a/z", "index.html", true),
            ("/a/**/z", "/a/b/c/z", "index.html", true),
            ("/a/**/z", "/a/b/c/y", "index.html", false),
            ("/a/**/b/**/c", "/a/x/b/y/b/c", "index.html", true),
            ("/docs/index.html", "/docs/", "index.html", true),
            ("/docs/index.htm", "/docs/", "index.htm", true),
            ("/docs/index.html", "/docs/", "index.htm", false),
            ("/a.txt", "/a.txt", "index.html", true),
            ("/a.txt", "/b/a.txt", "index.html", false),
        ];
        for &(glob, path, index, expected) in cases {
            let compiled = Glob::parse(glob).unwrap();
            assert_eq!(
                compiled.matches(path.as_bytes(), index.as_bytes()),
                expected,
                "{glob} against {path} (index {index})"
            );
        }
    }

    #[test]
    fn refused() {
        for glob in ["", "a b", "assets/*", "/a//b", "/a/", "é"] {
            assert!(Glob::parse(glob).is_err(), "{glob:?}");
        }
    }
}
