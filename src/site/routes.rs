//! Routing rules from the command line: redirects, matched before a path is resolved
//! (`--redirect`), and what a path that names nothing is answered with instead (`--try-ext`,
//! then `--fallback`).
//!
//! Every rule is checked when the server starts, so a request can only ever select one:
//! a redirect's target has no byte that could break a header and, when it is a path, never
//! starts with `//` (which a browser reads as another host). The handler in `server` asks
//! for a rule only when one of its kind is configured, so without rules nothing here runs.

use percent_encoding::percent_encode;

use crate::http::Status;
use crate::http::path::{self, PATH_ESCAPES};

/// The routing rules of a site; `Routes::default()` has none.
#[derive(Clone, Debug, Default)]
pub struct Routes {
    fallback: Option<Fallback>,
    extensions: Vec<Extension>,
    /// Longest `from` first, an exact rule before a prefix of the same length: the first
    /// that matches is the most specific.
    redirects: Vec<Redirect>,
}

impl Routes {
    pub fn new(
        fallback: Option<Fallback>,
        extensions: Vec<Extension>,
        mut redirects: Vec<Redirect>,
    ) -> Routes {
        redirects.sort_by_key(|rule| (std::cmp::Reverse(rule.from.len()), rule.prefix));
        Routes {
            fallback,
            extensions,
            redirects,
        }
    }

    /// Whether a missing path may be answered with something else.
    pub fn handles_misses(&self) -> bool {
        self.fallback.is_some() || !self.extensions.is_empty()
    }

    /// `--fallback`, as given (a URL path, normalised by the caller like any request's).
    pub fn fallback(&self) -> Option<&[u8]> {
        self.fallback.as_ref().map(|fallback| fallback.0.as_bytes())
    }

    /// The suffixes to try, dot included (`.html`), in the order given.
    pub fn extensions(&self) -> impl Iterator<Item = &[u8]> {
        self.extensions.iter().map(|extension| &*extension.0)
    }

    pub fn has_redirects(&self) -> bool {
        !self.redirects.is_empty()
    }

    /// The most specific redirect for a normalised path: its status and `Location`.
    pub fn redirect(&self, path: &[u8], query: Option<&[u8]>) -> Option<(Status, Vec<u8>)> {
        let (rule, rest) = self.rule_for(path)?;
        Some((rule.status, location(&rule.to, rest, query)))
    }

    /// The most specific rule for a normalised path, and the rest of the path after a prefix
    /// rule's `from` (empty for an exact rule).
    fn rule_for<'p>(&self, path: &'p [u8]) -> Option<(&Redirect, &'p [u8])> {
        self.redirects.iter().find_map(|rule| {
            let rest = if rule.prefix {
                path.strip_prefix(&*rule.from)?
            } else if path == &*rule.from {
                &[]
            } else {
                return None;
            };
            Some((rule, rest))
        })
    }
}

/// `--fallback PATH`: a URL path beneath the root.
#[derive(Clone, Debug)]
pub struct Fallback(String);

pub fn parse_fallback(value: &str) -> Result<Fallback, String> {
    let mut buffer = Vec::new();
    match path::normalize(value.as_bytes(), &mut buffer) {
        Ok(_) if !value.bytes().any(|b| b == b' ' || b == b'?' || b == b'#') => {
            Ok(Fallback(value.to_string()))
        }
        _ => Err("PATH must be a URL path starting with /, e.g. /index.html".to_string()),
    }
}

/// `--try-ext EXT`: a suffix added to a missing path's last segment, stored with its dot.
#[derive(Clone, Debug)]
pub struct Extension(Box<[u8]>);

/// The longest `--try-ext` accepted, in bytes: an extension, not a file name.
const MAX_EXTENSION_LEN: usize = 16;

pub fn parse_extension(value: &str) -> Result<Extension, String> {
    let name = value.strip_prefix('.').unwrap_or(value);
    let plain = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.';
    if name.is_empty() || name.len() > MAX_EXTENSION_LEN || !name.bytes().all(plain) {
        return Err(format!(
            "EXT must be an extension such as html: letters, digits, - _ . (at most {MAX_EXTENSION_LEN})"
        ));
    }
    Ok(Extension(format!(".{name}").into_bytes().into()))
}

/// `--redirect FROM=TO[=CODE]`.
#[derive(Clone, Debug)]
pub struct Redirect {
    /// The normalised path, or for a prefix rule (`FROM` ending in `*`) what precedes the `*`.
    from: Box<[u8]>,
    prefix: bool,
    /// A path (`/new`) or an absolute `http(s)://` URL, as given: visible ASCII only.
    to: Box<[u8]>,
    status: Status,
}

pub fn parse_redirect(value: &str) -> Result<Redirect, String> {
    let (from, rest) = value
        .split_once('=')
        .ok_or("expected FROM=TO[=CODE], e.g. /old=/new or '/blog/*=/posts/=302'")?;
    // A trailing `=` and three digits is the code; any other `=` belongs to TO's query.
    let (to, status) = match rest.rsplit_once('=') {
        Some((to, code)) if code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit()) => {
            (to, redirect_status(code)?)
        }
        _ => (rest, Status::MovedPermanently),
    };
    let (from_path, prefix) = match from.strip_suffix('*') {
        Some(start) => (start, true),
        None => (from, false),
    };
    let mut buffer = Vec::new();
    let from_path = path::normalize(from_path.as_bytes(), &mut buffer)
        .map_err(|_| "FROM must be a URL path starting with /".to_string())?
        .as_bytes()
        .into();
    let absolute = to.starts_with("https://") || to.starts_with("http://");
    let host = to.split_once("://").map_or("", |(_, after)| after);
    let target_ok = if absolute {
        !host.is_empty() && !host.starts_with('/')
    } else {
        to.starts_with('/') && !to.starts_with("//")
    };
    // Visible ASCII only: no CR, LF or space can reach the Location header.
    if !target_ok || !to.bytes().all(|b| b.is_ascii_graphic()) || to.contains('#') {
        return Err(
            "TO must be a path starting with a single / or an http:// or https:// URL, \
             in visible ASCII (percent-encode the rest)"
                .to_string(),
        );
    }
    if prefix && to.contains('?') {
        return Err("TO of a prefix rule (FROM ending in *) cannot have a query".to_string());
    }
    let rule = Redirect {
        from: from_path,
        prefix,
        to: to.as_bytes().into(),
        status,
    };
    if !absolute && rule.loops() {
        return Err("TO would match FROM again: the redirect would never end".to_string());
    }
    Ok(rule)
}

impl Redirect {
    /// Whether following the redirect leads back to a path the rule matches.
    fn loops(&self) -> bool {
        let to = self.to.split(|&b| b == b'?').next().unwrap_or_default();
        if self.prefix {
            to.starts_with(&self.from)
        } else {
            to == &*self.from
        }
    }
}

/// The target, with the rest of the path after a prefix rule's `FROM` escaped like a
/// directory's location, and the query kept when the target has none of its own (so
/// `?utm_source=...` survives a moved page). A rule's path target never starts with `//`,
/// and when it ends in `/` one slash is taken off the rest, so none is made here.
fn location(to: &[u8], rest: &[u8], query: Option<&[u8]>) -> Vec<u8> {
    let rest = match to.last() {
        Some(b'/') => rest.strip_prefix(b"/").unwrap_or(rest),
        _ => rest,
    };
    let mut location = Vec::with_capacity(to.len() + rest.len() + 1);
    location.extend_from_slice(to);
    for piece in percent_encode(rest, PATH_ESCAPES) {
        location.extend_from_slice(piece.as_bytes());
    }
    if let Some(query) = query.filter(|_| !to.contains(&b'?')) {
        location.push(b'?');
        location.extend_from_slice(query);
    }
    location
}

/// 301 by default; 302, 307 and 308 on request (RFC 9110 §15.4): 307 and 308 keep the
/// method, 301 and 302 let a client turn a POST into a GET.
fn redirect_status(code: &str) -> Result<Status, String> {
    match code {
        "301" => Ok(Status::MovedPermanently),
        "302" => Ok(Status::Found),
        "307" => Ok(Status::TemporaryRedirect),
        "308" => Ok(Status::PermanentRedirect),
        _ => Err("CODE must be 301, 302, 307 or 308".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes(rules: &[&str]) -> Routes {
        let rules = rules.iter().map(|r| parse_redirect(r).unwrap()).collect();
        Routes::new(None, Vec::new(), rules)
    }

    fn matched(routes: &Routes, path: &str) -> Option<(String, String, u16)> {
        routes.rule_for(path.as_bytes()).map(|(rule, rest)| {
            (
                String::from_utf8_lossy(&rule.to).into_owned(),
                String::from_utf8_lossy(rest).into_owned(),
                rule.status.code(),
            )
        })
    }

    #[test]
    fn longest_from_wins_and_exact_before_prefix() {
        let routes = routes(&[
            "/a/*=/short/",
            "/a/b/*=/long/=308",
            "/a/b/=/exact",
            "/x=/y=302",
        ]);
        let m = |path| matched(&routes, path);
        assert_eq!(m("/a/c"), Some(("/short/".into(), "c".into(), 301)));
        assert_eq!(m("/a/b/c/d"), Some(("/long/".into(), "c/d".into(), 308)));
        assert_eq!(m("/a/b/"), Some(("/exact".into(), String::new(), 301)));
        assert_eq!(m("/x"), Some(("/y".into(), String::new(), 302)));
        assert_eq!(m("/x/"), None);
        assert_eq!(m("/a"), None);
    }

    #[test]
    fn from_is_normalised_and_to_keeps_equals_signs() {
        let routes = routes(&["/caf%C3%A9/./x=/new?a=b", "/q=/r?code=301=307"]);
        assert_eq!(
            matched(&routes, "/café/x"),
            Some(("/new?a=b".into(), String::new(), 301))
        );
        assert_eq!(
            matched(&routes, "/q"),
            Some(("/r?code=301".into(), String::new(), 307))
        );
    }

    #[test]
    fn bad_rules_are_refused() {
        for bad in [
            "/a",
            "a=/b",
            "/a=b",
            "/a=//evil.example",
            "/a=/b c",
            "/a=/b\r\nX: y",
            "/a=/b=303",
            "/a=/b=200",
            "/a=https://",
            "/a=https:///x",
            "/a=ftp://host/",
            "/a*=/b?x=1",
            "/a=/a",
            "/a/*=/a/b/",
            "/../a=/b",
            "/a=/b#frag",
        ] {
            assert!(parse_redirect(bad).is_err(), "{bad:?}");
        }
        for good in ["/a=https://example.com", "/a/*=https://example.com/a/=307"] {
            assert!(parse_redirect(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn extensions_and_fallbacks() {
        assert_eq!(&*parse_extension("html").unwrap().0, b".html");
        assert_eq!(&*parse_extension(".htm").unwrap().0, b".htm");
        for bad in ["", ".", "a/b", "a b", "%2f", &"x".repeat(17)] {
            assert!(parse_extension(bad).is_err(), "{bad:?}");
        }
        assert!(parse_fallback("/index.html").is_ok());
        for bad in ["index.html", "/../x", "/a b", "/a?b", "/a%00"] {
            assert!(parse_fallback(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn location_escapes_the_rest_and_keeps_the_query() {
        assert_eq!(location(b"/new/", b"a b", None), b"/new/a%20b");
        assert_eq!(location(b"/", b"/evil.com", None), b"/evil.com");
        assert_eq!(location(b"/n", b"/x\r\n", Some(b"q=1")), b"/n/x%0D%0A?q=1");
        assert_eq!(location(b"/n?a=b", b"", Some(b"q=1")), b"/n?a=b");
        assert_eq!(
            location(b"https://example.com/", "é".as_bytes(), None),
            b"https://example.com/%C3%A9"
        );
    }
}
