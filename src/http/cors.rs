//! Cross-origin resource sharing (the Fetch standard's "CORS protocol") for `--cors`: which
//! request origins a response allows, and what a preflight is told.
//!
//! Invariant: configured origins are serialised as a browser serialises its own (lower-case
//! scheme and host, no default port), so echoing the configured bytes equals the request's
//! `Origin` byte for byte, which is what the browser compares. `null` (an opaque origin:
//! sandboxed frames, `file:` pages) matches only when configured.

use super::{is_tchar, trim_ows};

/// `Access-Control-Allow-Methods` of a preflight: what a static site serves.
pub const ALLOW_METHODS: &str = "GET, HEAD";

/// `Access-Control-Max-Age`, in seconds: how long a browser may reuse a preflight's answer
/// (browsers cap it lower: Chromium at 2 hours).
pub const PREFLIGHT_MAX_AGE_SECS: &str = "86400";

/// `Access-Control-Expose-Headers`: the fields a `fetch()` caller may read beyond the
/// CORS-safelisted ones (Content-Length, Content-Type, Last-Modified, Cache-Control, ...),
/// for revalidation and range requests.
pub const EXPOSE_HEADERS: &str = "ETag, Content-Range, Accept-Ranges";

/// `--cors`: `*`, or a list of origins. Empty: CORS is off.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cors {
    any: bool,
    origins: Vec<Box<[u8]>>,
}

/// A request's origin, allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Allowed {
    /// `*` is configured: `Access-Control-Allow-Origin: *`.
    Any,
    /// The configured origin at this index: echoed.
    Listed(usize),
}

impl Cors {
    /// From origins each checked by `parse_origin`; `*` among them allows any origin.
    pub fn new(origins: Vec<String>) -> Cors {
        let any = origins.iter().any(|origin| origin == "*");
        let origins = if any {
            Vec::new()
        } else {
            origins.into_iter().map(|o| o.into_bytes().into()).collect()
        };
        Cors { any, origins }
    }

    /// Whether responses depend on `Origin` (a list, not `*`): then every response says
    /// `Vary: Origin`, also one without CORS fields, or a cache could serve it to an allowed
    /// origin (Fetch standard, "CORS protocol and HTTP caches").
    pub fn varies(&self) -> bool {
        !self.origins.is_empty()
    }

    /// Whether a request with this `Origin` is allowed.
    pub fn allow(&self, origin: Option<&[u8]>) -> Option<Allowed> {
        let origin = origin?;
        if self.any {
            return Some(Allowed::Any);
        }
        self.origins
            .iter()
            .position(|listed| listed.eq_ignore_ascii_case(origin))
            .map(Allowed::Listed)
    }

    /// The value of `Access-Control-Allow-Origin` for `allowed`.
    pub fn allow_origin(&self, allowed: Allowed) -> &[u8] {
        match allowed {
            Allowed::Any => b"*",
            Allowed::Listed(i) => self.origins.get(i).map_or(b"null", |origin| origin),
        }
    }
}

/// `--cors` values: `*`, `null`, or `scheme://host[:port]` (no path), serialised as a
/// browser sends it.
pub fn parse_origin(value: &str) -> Result<String, String> {
    if value == "*" || value == "null" {
        return Ok(value.to_string());
    }
    let bad = || format!("{value:?} is not an origin such as https://example.com:8443 (no path)");
    let (scheme, authority) = value.split_once("://").ok_or_else(bad)?;
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
    // An IPv6 literal is bracketed (RFC 3986 §3.2.2): its colons are not the port's.
    let host_end = if authority.starts_with('[') {
        authority.find(']').map_or(authority.len(), |i| i + 1)
    } else {
        authority.find(':').unwrap_or(authority.len())
    };
    let (host, port) = authority.split_at(host_end);
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.[]:".contains(&b));
    let port = match port {
        "" => None,
        port => {
            let digits = port
                .strip_prefix(':')
                .filter(|d| d.bytes().all(|b| b.is_ascii_digit()));
            let number = digits
                .and_then(|d| d.parse::<u16>().ok())
                .filter(|&p| p > 0);
            Some(number.ok_or_else(bad)?)
        }
    };
    if !scheme_ok || !host_ok {
        return Err(bad());
    }
    let scheme = scheme.to_ascii_lowercase();
    let host = host.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    };
    Ok(match port.filter(|&p| Some(p) != default_port) {
        Some(port) => format!("{scheme}://{host}:{port}"),
        None => format!("{scheme}://{host}"),
    })
}

/// Whether `Access-Control-Request-Headers` is a list of field names (`#field-name`, RFC
/// 9110 §5.6.1), so it can be echoed as `Access-Control-Allow-Headers`.
pub fn is_field_name_list(value: &[u8]) -> bool {
    value
        .split(|&b| b == b',')
        .map(trim_ows)
        .all(|name| name.iter().all(|&b| is_tchar(b)))
        && value.iter().any(|&b| is_tchar(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_serialised_like_a_browser() {
        for (given, expected) in [
            ("*", "*"),
            ("null", "null"),
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
            ("HTTPS://Example.COM", "https://example.com"),
            ("https://example.com:443", "https://example.com"),
            ("http://example.com:80", "http://example.com"),
            ("http://[::1]:8080", "http://[::1]:8080"),
            ("http://[::1]", "http://[::1]"),
        ] {
            assert_eq!(parse_origin(given).as_deref(), Ok(expected), "{given}");
        }
        for bad in [
            "example.com",
            "https://example.com/",
            "https://",
            "https://a:0",
            "https://a:99999",
            "https://a:+80",
            "1http://a",
            "http://a b",
        ] {
            assert!(parse_origin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn matching() {
        let list = Cors::new(vec!["http://a.test".into(), "null".into()]);
        assert!(list.varies());
        assert_eq!(list.allow(Some(b"http://A.test")), Some(Allowed::Listed(0)));
        assert_eq!(list.allow_origin(Allowed::Listed(0)), b"http://a.test");
        assert_eq!(list.allow(Some(b"null")), Some(Allowed::Listed(1)));
        assert_eq!(list.allow(Some(b"http://a.test:81")), None);
        assert_eq!(list.allow(None), None);
        let any = Cors::new(vec!["*".into()]);
        assert!(!any.varies());
        assert_eq!(any.allow(Some(b"null")), Some(Allowed::Any));
        assert_eq!(any.allow(None), None);
        let without_null = Cors::new(vec!["http://a.test".into()]);
        assert_eq!(without_null.allow(Some(b"null")), None);
        let both = Cors::new(vec!["*".into(), "http://a.test".into()]);
        assert_eq!(both.allow(Some(b"http://b.test")), Some(Allowed::Any));
        assert_eq!(Cors::default().allow(Some(b"http://a.test")), None);
    }

    #[test]
    fn requested_headers() {
        assert!(is_field_name_list(b"content-type"));
        assert!(is_field_name_list(b"x-a, x-b ,x-c"));
        assert!(!is_field_name_list(b""));
        assert!(!is_field_name_list(b"x a"));
        assert!(!is_field_name_list(b"x:a"));
    }
}
