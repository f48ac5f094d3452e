//! Conditional requests (RFC 9110 §13): entity-tag lists, HTTP dates, and the order in which
//! the preconditions are evaluated (§13.2.2).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::trim_ows;

/// The precondition header fields of a request (each at most once; see `request`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Conditions<'a> {
    pub if_match: Option<&'a [u8]>,
    pub if_none_match: Option<&'a [u8]>,
    pub if_modified_since: Option<&'a [u8]>,
    pub if_unmodified_since: Option<&'a [u8]>,
    pub if_range: Option<&'a [u8]>,
}

/// The validators of the selected representation.
#[derive(Clone, Copy, Debug)]
pub struct Validators<'a> {
    /// A strong entity-tag, quotes included.
    pub etag: &'a [u8],
    pub last_modified: Option<SystemTime>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Serve the representation; `honour_range` says whether a Range header may apply
    /// (false when If-Range does not match).
    Proceed { honour_range: bool },
    /// 304 Not Modified.
    NotModified,
    /// 412 Precondition Failed.
    Failed,
}

/// Evaluates the preconditions in the order of RFC 9110 §13.2.2, for a method that is
/// `safe` (GET or HEAD) or not, at the server's time `now`.
pub fn evaluate(
    conditions: &Conditions<'_>,
    safe: bool,
    validators: &Validators<'_>,
    now: SystemTime,
) -> Outcome {
    if let Some(if_match) = conditions.if_match {
        if !list_matches(if_match, validators.etag, Comparison::Strong) {
            return Outcome::Failed;
        }
    } else if let Some(date) = conditions.if_unmodified_since.and_then(parse_date)
        && validators
            .last_modified
            .is_some_and(|m| whole_seconds(m) > date)
    {
        return Outcome::Failed;
    }
    if let Some(if_none_match) = conditions.if_none_match {
        if list_matches(if_none_match, validators.etag, Comparison::Weak) {
            return if safe {
                Outcome::NotModified
            } else {
                Outcome::Failed
            };
        }
    } else if safe
        && let Some(date) = conditions.if_modified_since.and_then(parse_date)
        // A date later than our clock is invalid and MUST be ignored (§13.1.3): the client
        // cannot have seen a modification that has not happened yet.
        && date <= whole_seconds(now)
        && validators
            .last_modified
            .is_some_and(|m| whole_seconds(m) <= date)
    {
        return Outcome::NotModified;
    }
    let honour_range = match conditions.if_range {
        None => true,
        Some(if_range) => if_range_matches(if_range, validators),
    };
    Outcome::Proceed { honour_range }
}

/// If-Range (§13.1.5): an entity-tag must match strongly; a date must equal Last-Modified.
fn if_range_matches(value: &[u8], validators: &Validators<'_>) -> bool {
    let value = trim_ows(value);
    if value.starts_with(b"\"") || value.starts_with(b"W/") {
        return parse_etag(value).is_some_and(|(tag, rest)| {
            rest.is_empty() && tag.matches(validators.etag, Comparison::Strong)
        });
    }
    match (parse_date(value), validators.last_modified) {
        (Some(date), Some(modified)) => whole_seconds(modified) == date,
        _ => false,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Comparison {
    Strong,
    Weak,
}

/// An entity-tag as received: whether it is weak, and its opaque part with quotes.
struct EntityTag<'a> {
    weak: bool,
    opaque: &'a [u8],
}

impl EntityTag<'_> {
    /// Compares with our (always strong) tag, by the rules of §8.8.3.2.
    fn matches(&self, ours: &[u8], comparison: Comparison) -> bool {
        (comparison == Comparison::Weak || !self.weak) && self.opaque == ours
    }
}

/// `"*"` or a comma-separated list of entity-tags; a list that does not parse matches
/// nothing.
fn list_matches(value: &[u8], ours: &[u8], comparison: Comparison) -> bool {
    let mut rest = trim_ows(value);
    if rest == b"*" {
        return true; // the representation exists: we only evaluate for files we have
    }
    let mut matched = false;
    while !rest.is_empty() {
        if let Some(after_comma) = rest.strip_prefix(b",") {
            rest = trim_ows(after_comma);
            continue;
        }
        let Some((tag, after)) = parse_etag(rest) else {
            return false;
        };
        matched |= tag.matches(ours, comparison);
        rest = trim_ows(after);
        if !rest.is_empty() && !rest.starts_with(b",") {
            return false;
        }
    }
    matched
}

/// `[W/] DQUOTE *etagc DQUOTE` at the start of `value`; returns it and what follows.
fn parse_etag(value: &[u8]) -> Option<(EntityTag<'_>, &[u8])> {
    let (weak, quoted) = match value.strip_prefix(b"W/") {
        Some(rest) => (true, rest),
        None => (false, value),
    };
    let inner = quoted.strip_prefix(b"\"")?;
    let close = inner.iter().position(|&b| b == b'"')?;
    // etagc = %x21 / %x23-7E / obs-text
    if !inner[..close]
        .iter()
        .all(|&b| b == 0x21 || (0x23..=0x7e).contains(&b) || b >= 0x80)
    {
        return None;
    }
    let opaque = &quoted[..close + 2];
    Some((EntityTag { weak, opaque }, &quoted[close + 2..]))
}

/// An HTTP-date in any of the three formats of §5.6.7, as seconds since the epoch; an
/// invalid date is `None`, and the field is then ignored.
fn parse_date(value: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(trim_ows(value)).ok()?;
    let time = httpdate::parse_http_date(text).ok()?;
    time.duration_since(UNIX_EPOCH).ok().map(|d| d.as_secs())
}

/// HTTP dates have one-second resolution, so a file's mtime is compared truncated.
fn whole_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ETAG: &[u8] = b"\"abc-1\"";
    const MODIFIED_SECS: u64 = 784_111_777; // Sun, 06 Nov 1994 08:49:37 GMT
    const NOW_SECS: u64 = MODIFIED_SECS + 86_400; // Mon, 07 Nov 1994 08:49:37 GMT

    fn validators() -> Validators<'static> {
        Validators {
            etag: ETAG,
            last_modified: Some(UNIX_EPOCH + Duration::from_millis(MODIFIED_SECS * 1000 + 500)),
        }
    }

    fn eval(conditions: Conditions<'_>, safe: bool) -> Outcome {
        let now = UNIX_EPOCH + Duration::from_millis(NOW_SECS * 1000 + 500);
        evaluate(&conditions, safe, &validators(), now)
    }

    const PROCEED: Outcome = Outcome::Proceed { honour_range: true };

    #[test]
    fn if_none_match() {
        let table: &[(&str, Outcome)] = &[
            ("\"abc-1\"", Outcome::NotModified),
            ("W/\"abc-1\"", Outcome::NotModified),
            ("\"x\", \"abc-1\"", Outcome::NotModified),
            ("\"x\",W/\"abc-1\"", Outcome::NotModified),
            (" * ", Outcome::NotModified),
            ("\"x\"", PROCEED),
            ("\"abc-1", PROCEED),
            ("abc-1", PROCEED),
            ("\"abc-1\" junk", PROCEED),
            ("", PROCEED),
        ];
        for &(value, want) in table {
            let c = Conditions {
                if_none_match: Some(value.as_bytes()),
                ..Conditions::default()
            };
            assert_eq!(eval(c, true), want, "{value}");
        }
        let c = Conditions {
            if_none_match: Some(ETAG),
            ..Conditions::default()
        };
        assert_eq!(eval(c, false), Outcome::Failed);
    }

    #[test]
    fn if_match_is_strong() {
        let table: &[(&str, Outcome)] = &[
            ("\"abc-1\"", PROCEED),
            ("*", PROCEED),
            ("\"x\", \"abc-1\"", PROCEED),
            ("W/\"abc-1\"", Outcome::Failed),
            ("\"x\"", Outcome::Failed),
            ("garbage", Outcome::Failed),
        ];
        for &(value, want) in table {
            let c = Conditions {
                if_match: Some(value.as_bytes()),
                ..Conditions::default()
            };
            assert_eq!(eval(c, true), want, "{value}");
        }
    }

    #[test]
    fn dates() {
        let same = "Sun, 06 Nov 1994 08:49:37 GMT";
        let earlier = "Sun, 06 Nov 1994 08:49:36 GMT";
        let rfc850 = "Sunday, 06-Nov-94 08:49:37 GMT";
        let asctime = "Sun Nov  6 08:49:37 1994";
        let ims = |v: &'static str| Conditions {
            if_modified_since: Some(v.as_bytes()),
            ..Conditions::default()
        };
        assert_eq!(eval(ims(same), true), Outcome::NotModified);
        assert_eq!(eval(ims(rfc850), true), Outcome::NotModified);
        assert_eq!(eval(ims(asctime), true), Outcome::NotModified);
        assert_eq!(eval(ims(earlier), true), PROCEED);
        assert_eq!(eval(ims("not a date"), true), PROCEED);
        assert_eq!(eval(ims(same), false), PROCEED);

        let ius = |v: &'static str| Conditions {
            if_unmodified_since: Some(v.as_bytes()),
            ..Conditions::default()
        };
        assert_eq!(eval(ius(same), true), PROCEED);
        assert_eq!(eval(ius(earlier), true), Outcome::Failed);
        assert_eq!(eval(ius("garbage"), true), PROCEED);
    }

    #[test]
    fn if_modified_since_after_now_is_ignored() {
        let table: &[(&str, Outcome)] = &[
            ("Sun, 06 Nov 1994 08:49:37 GMT", Outcome::NotModified),
            ("Mon, 07 Nov 1994 08:49:37 GMT", Outcome::NotModified),
            ("Mon, 07 Nov 1994 08:49:38 GMT", PROCEED),
            ("Tue, 08 Nov 1994 08:49:37 GMT", PROCEED),
            ("Fri, 31 Dec 9999 23:59:59 GMT", PROCEED),
        ];
        for &(value, want) in table {
            let c = Conditions {
                if_modified_since: Some(value.as_bytes()),
                ..Conditions::default()
            };
            assert_eq!(eval(c, true), want, "{value}");
        }
    }

    #[test]
    fn precedence() {
        // If-None-Match wins over If-Modified-Since (§13.1.3).
        let c = Conditions {
            if_none_match: Some(b"\"x\""),
            if_modified_since: Some(b"Sun, 06 Nov 1994 08:49:37 GMT"),
            ..Conditions::default()
        };
        assert_eq!(eval(c, true), PROCEED);
        // If-Match wins over If-Unmodified-Since.
        let c = Conditions {
            if_match: Some(ETAG),
            if_unmodified_since: Some(b"Sun, 06 Nov 1994 08:49:36 GMT"),
            ..Conditions::default()
        };
        assert_eq!(eval(c, true), PROCEED);
        // A failed If-Match beats a matching If-None-Match.
        let c = Conditions {
            if_match: Some(b"\"x\""),
            if_none_match: Some(ETAG),
            ..Conditions::default()
        };
        assert_eq!(eval(c, true), Outcome::Failed);
    }

    #[test]
    fn if_range() {
        let ir = |v: &'static str| Conditions {
            if_range: Some(v.as_bytes()),
            ..Conditions::default()
        };
        let ignore = Outcome::Proceed {
            honour_range: false,
        };
        assert_eq!(eval(ir("\"abc-1\""), true), PROCEED);
        assert_eq!(eval(ir("W/\"abc-1\""), true), ignore);
        assert_eq!(eval(ir("\"other\""), true), ignore);
        assert_eq!(eval(ir("Sun, 06 Nov 1994 08:49:37 GMT"), true), PROCEED);
        assert_eq!(eval(ir("Sun, 06 Nov 1994 08:49:38 GMT"), true), ignore);
        assert_eq!(eval(ir("garbage"), true), ignore);
    }
}
