//! The header fields of a request head that decide its framing and how the connection is
//! handled, each validated as it is collected.

use crate::http::conditional::Conditions;
use crate::http::{Status, is_tchar, trim_ows};

/// What a valid Transfer-Encoding says about the body (RFC 9112 §6.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Coding {
    /// Exactly `chunked`.
    Chunked,
    /// `chunked` last, after codings we do not implement (`gzip, chunked`): framed, but 501.
    ChunkedAfterOthers,
}

/// The header fields that decide framing and connection handling.
#[derive(Default)]
pub(super) struct Fields<'a> {
    pub(super) host: Option<&'a [u8]>,
    pub(super) content_length: Option<u64>,
    pub(super) transfer_encoding: Option<Coding>,
    pub(super) close: bool,
    pub(super) keep_alive: bool,
    pub(super) expect_continue: bool,
    /// An expectation other than 100-continue: 417, once the framing is known to be sound.
    pub(super) unmet_expectation: bool,
    pub(super) conditions: Conditions<'a>,
    pub(super) range: Option<&'a [u8]>,
    pub(super) accept_encoding: Option<&'a [u8]>,
    pub(super) accept_encoding_repeated: bool,
    pub(super) accept: Option<&'a [u8]>,
    pub(super) referer: Option<&'a [u8]>,
    pub(super) user_agent: Option<&'a [u8]>,
    pub(super) cors: CorsFields<'a>,
    pub(super) authorization: Option<&'a [u8]>,
}

/// The fields of a CORS request (Fetch standard): the last of each.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CorsFields<'a> {
    pub origin: Option<&'a [u8]>,
    /// Present on a preflight.
    pub request_method: Option<&'a [u8]>,
    pub request_headers: Option<&'a [u8]>,
}

impl<'a> Fields<'a> {
    /// The fields of `headers`; `http11`: the request is HTTP/1.1 (else 1.0).
    pub(super) fn collect(
        headers: &[httparse::Header<'a>],
        http11: bool,
    ) -> Result<Fields<'a>, Status> {
        let mut fields = Fields::default();
        for header in headers {
            let name = header.name.as_bytes();
            let value = trim_ows(header.value);
            if name.eq_ignore_ascii_case(b"host") {
                // A second Host, even an identical one, is refused (RFC 9112 §3.2). An empty
                // one too: it is only for a target URI without an authority (RFC 9110
                // §7.2), and every target we accept has one.
                if fields.host.is_some() || !is_valid_host(value) {
                    return Err(Status::BadRequest);
                }
                fields.host = Some(value);
            } else if name.eq_ignore_ascii_case(b"content-length") {
                if fields.content_length.is_some() {
                    return Err(Status::BadRequest);
                }
                fields.content_length = Some(parse_content_length(value)?);
            } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
                if fields.transfer_encoding.is_some() {
                    return Err(Status::BadRequest);
                }
                fields.transfer_encoding = Some(parse_transfer_encoding(value)?);
            } else if name.eq_ignore_ascii_case(b"connection") {
                for option in value.split(|&b| b == b',').map(trim_ows) {
                    fields.close |= option.eq_ignore_ascii_case(b"close");
                    fields.keep_alive |= option.eq_ignore_ascii_case(b"keep-alive");
                }
            } else if name.eq_ignore_ascii_case(b"expect") && http11 {
                // RFC 9110 §10.1.1: 100-continue is the only expectation. A 1.0 client cannot
                // understand a 100 response, so there the field is ignored.
                if value.eq_ignore_ascii_case(b"100-continue") {
                    fields.expect_continue = true;
                } else {
                    fields.unmet_expectation = true;
                }
            } else if let Some(slot) = fields.single_valued(name) {
                // A second Range or precondition would make the request ambiguous.
                if slot.replace(value).is_some() {
                    return Err(Status::BadRequest);
                }
            } else if name.eq_ignore_ascii_case(b"accept-encoding") {
                fields.accept_encoding_repeated |= fields.accept_encoding.is_some();
                fields.accept_encoding = Some(value);
            } else if name.eq_ignore_ascii_case(b"accept") {
                fields.accept = Some(value);
            } else if name.eq_ignore_ascii_case(b"referer") {
                fields.referer = Some(value);
            } else if name.eq_ignore_ascii_case(b"user-agent") {
                fields.user_agent = Some(value);
            } else if name.eq_ignore_ascii_case(b"origin") {
                fields.cors.origin = Some(value);
            } else if name.eq_ignore_ascii_case(b"access-control-request-method") {
                fields.cors.request_method = Some(value);
            } else if name.eq_ignore_ascii_case(b"access-control-request-headers") {
                fields.cors.request_headers = Some(value);
            }
        }
        if fields.accept_encoding_repeated {
            fields.accept_encoding = Some(b"identity");
        }
        Ok(fields)
    }

    /// Where a header that may appear only once is kept, if `name` is one of them.
    fn single_valued(&mut self, name: &[u8]) -> Option<&mut Option<&'a [u8]>> {
        let c = &mut self.conditions;
        let is = |field: &[u8]| name.eq_ignore_ascii_case(field);
        if is(b"range") {
            Some(&mut self.range)
        } else if is(b"if-match") {
            Some(&mut c.if_match)
        } else if is(b"if-none-match") {
            Some(&mut c.if_none_match)
        } else if is(b"if-modified-since") {
            Some(&mut c.if_modified_since)
        } else if is(b"if-unmodified-since") {
            Some(&mut c.if_unmodified_since)
        } else if is(b"if-range") {
            Some(&mut c.if_range)
        } else if is(b"authorization") {
            Some(&mut self.authorization)
        } else {
            None
        }
    }
}

/// `Content-Length = 1*DIGIT` (RFC 9110 §8.6), overflow-checked. Not `str::parse`, which
/// accepts a leading `+`. A length that does not fit in 64 bits is as unusable for framing
/// as one that is not a number: 400 (RFC 9112 §6.3).
fn parse_content_length(value: &[u8]) -> Result<u64, Status> {
    if value.is_empty() {
        return Err(Status::BadRequest);
    }
    value.iter().try_fold(0u64, |len, &b| {
        if !b.is_ascii_digit() {
            return Err(Status::BadRequest);
        }
        len.checked_mul(10)
            .and_then(|len| len.checked_add(u64::from(b - b'0')))
            .ok_or(Status::BadRequest)
    })
}

/// `Transfer-Encoding = #transfer-coding` (RFC 9112 §6.1). The body is delimited only when
/// `chunked` is the final coding, and chunked is applied at most once (§7.1); anything else
/// leaves its length unknown: 400 (§6.3). Empty list elements are ignored (RFC 9110 §5.6.1).
/// Other codings are checked for a token name only: we implement none of them.
fn parse_transfer_encoding(value: &[u8]) -> Result<Coding, Status> {
    let mut chunked = false;
    let mut others = false;
    for coding in value.split(|&b| b == b',').map(trim_ows) {
        if coding.is_empty() {
            continue;
        }
        if chunked {
            return Err(Status::BadRequest); // a coding after chunked, or chunked twice
        }
        let name = trim_ows(coding.split(|&b| b == b';').next().unwrap_or(coding));
        if coding.eq_ignore_ascii_case(b"chunked") {
            chunked = true;
        } else if !name.is_empty() && name.iter().all(|&b| is_tchar(b)) {
            others = true;
        } else {
            return Err(Status::BadRequest);
        }
    }
    match (chunked, others) {
        (false, _) => Err(Status::BadRequest),
        (true, false) => Ok(Coding::Chunked),
        (true, true) => Ok(Coding::ChunkedAfterOthers),
    }
}

/// `uri-host [ ":" port ]` (RFC 9110 §7.2): reg-name or IPv4 characters, or a bracketed IPv6
/// literal, with an all-digit port. No userinfo, no whitespace, no path.
pub(super) fn is_valid_host(host: &[u8]) -> bool {
    let (name, port) = if let Some(rest) = host.strip_prefix(b"[") {
        let Some(close) = rest.iter().position(|&b| b == b']') else {
            return false;
        };
        let literal = &rest[..close];
        if literal.is_empty()
            || !literal
                .iter()
                .all(|&b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        {
            return false;
        }
        match &rest[close + 1..] {
            [] => return true,
            [b':', port @ ..] => (&b""[..], Some(port)),
            _ => return false,
        }
    } else {
        let (name, port) = match host.iter().position(|&b| b == b':') {
            Some(colon) => (&host[..colon], Some(&host[colon + 1..])),
            None => (host, None),
        };
        if name.is_empty() {
            return false; // an http URI never has an empty host (RFC 9110 §4.2.1)
        }
        (name, port)
    };
    let name_ok = name
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=%".contains(&b));
    // port = *DIGIT (RFC 3986 §3.2.3): empty is allowed; a number must fit in 16 bits.
    let port_ok = port.is_none_or(|p| {
        p.iter().all(u8::is_ascii_digit)
            && (p.is_empty() || std::str::from_utf8(p).is_ok_and(|p| p.parse::<u16>().is_ok()))
    });
    name_ok && port_ok
}
