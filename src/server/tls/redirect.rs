//! `--redirect-http`: what the plain listener beside an HTTPS server answers to every request,
//! a 301 to the same URL over HTTPS (RFC 9110 §15.4.2), the Host kept and the port changed.
//! It serves nothing else, and never sends Strict-Transport-Security, which a client must
//! ignore over plain HTTP anyway (RFC 6797 §7.2).

use crate::http::Status;
use crate::server::handler::Reply;

/// Header fields looked at in a redirected request; it has been parsed once already, within
/// the same head limit, so this is only how many we read to find Host.
const MAX_HEADERS: usize = 64;
/// The default port of https URLs (RFC 9110 §4.2.2), left out of the Location.
const HTTPS_DEFAULT_PORT: u16 = 443;

/// The reply to the request whose head is `head`: a redirect to `https://HOST[:port]TARGET`,
/// or 400 without a usable Host (RFC 9112 §3.2 requires one).
pub fn reply(head: &[u8], https_port: u16) -> Reply {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    if request.parse(head).is_err() {
        return Reply::Error(Status::BadRequest);
    }
    let host = request
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("host"))
        .map(|h| h.value)
        .and_then(host_without_port);
    let Some(host) = host else {
        return Reply::Error(Status::BadRequest);
    };
    // Only an origin-form target is carried over; anything else starts at the root.
    let target = request
        .path
        .filter(|path| path.starts_with('/'))
        .unwrap_or("/");
    let mut location = Vec::with_capacity(host.len() + target.len() + 16);
    location.extend_from_slice(b"https://");
    location.extend_from_slice(host);
    if https_port != HTTPS_DEFAULT_PORT {
        location.push(b':');
        location.extend_from_slice(https_port.to_string().as_bytes());
    }
    location.extend_from_slice(target.as_bytes());
    Reply::Redirect(Status::MovedPermanently, location)
}

/// The host of a Host value (`name`, `name:port`, `[v6]`, `[v6]:port`), if it is made only of
/// the characters a host name or an IP literal can have, so nothing else reaches the Location.
fn host_without_port(value: &[u8]) -> Option<&[u8]> {
    let host = match value.iter().rposition(|&b| b == b':') {
        // A colon after the closing bracket (or without brackets) starts the port.
        Some(colon)
            if !value.contains(&b']')
                || colon.checked_sub(1).and_then(|i| value.get(i)) == Some(&b']') =>
        {
            value.get(..colon)?
        }
        _ => value,
    };
    let allowed = |b: &u8| b.is_ascii_alphanumeric() || b"-._:[]".contains(b);
    (!host.is_empty() && host.iter().all(allowed)).then_some(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn location(head: &[u8], port: u16) -> Option<String> {
        match reply(head, port) {
            Reply::Redirect(_, location) => Some(String::from_utf8(location).unwrap()),
            _ => None,
        }
    }

    #[test]
    fn redirects_keep_host_and_target_and_change_the_port() {
        let cases: &[(&[u8], u16, Option<&str>)] = &[
            (
                b"GET /a?b=c HTTP/1.1\r\nHost: example.org\r\n\r\n",
                443,
                Some("https://example.org/a?b=c"),
            ),
            (
                b"GET / HTTP/1.1\r\nHost: example.org:8080\r\n\r\n",
                8443,
                Some("https://example.org:8443/"),
            ),
            (
                b"GET /x HTTP/1.1\r\nHost: [::1]:80\r\n\r\n",
                443,
                Some("https://[::1]/x"),
            ),
            (
                b"GET /x HTTP/1.1\r\nHost: [::1]\r\n\r\n",
                443,
                Some("https://[::1]/x"),
            ),
            (
                b"GET * HTTP/1.1\r\nHost: a\r\n\r\n",
                443,
                Some("https://a/"),
            ),
            (b"GET / HTTP/1.1\r\n\r\n", 443, None),
            (b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 443, None),
            (b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 443, None),
            (b"GET / HTTP/1.1\r\nHost: :80\r\n\r\n", 443, None),
        ];
        for (head, port, want) in cases {
            assert_eq!(location(head, *port).as_deref(), *want, "{head:?}");
        }
    }
}
