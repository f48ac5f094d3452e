//! The client address a trusted proxy reports in a request header (`--real-ip-header`):
//! `X-Forwarded-For`'s comma-separated list, or a one-address header such as `X-Real-IP`.
//!
//! Each proxy appends the address it received the request from, so only the right end of
//! the list was written by proxies we trust; anything to the left of the first untrusted
//! address may be the client's own invention. The safe reading therefore walks from the
//! right, skipping trusted proxies, and takes the first address that is not one. Several
//! field lines are one list in order (RFC 9110 §5.3). A malformed entry met on the way
//! (not a bare IPv4 or IPv6 address: no port, no brackets, no `unknown`) makes the header
//! say nothing, and the connection's own peer stands.

use std::net::IpAddr;

use super::cidr::{self, Cidr};
use super::trim_ows;

/// See the module documentation. `head` is a complete request head (request line, field
/// lines, empty line); `name` is matched case-insensitively (RFC 9110 §5.1). `None` when
/// there is no such field, or an entry is malformed.
pub fn client_address(head: &[u8], name: &[u8], trusted: &[Cidr]) -> Option<IpAddr> {
    let request_line_end = head.iter().position(|&b| b == b'\n')?;
    let field_lines = head.get(request_line_end + 1..).unwrap_or_default();
    let mut leftmost = None;
    // Field lines from the last, entries from the right.
    let values = field_lines
        .rsplit(|&b| b == b'\n')
        .filter_map(|line| field_value(line, name));
    for value in values {
        for entry in value.rsplit(|&b| b == b',') {
            let address = std::str::from_utf8(trim_ows(entry))
                .ok()?
                .parse::<IpAddr>()
                .ok()?;
            if !cidr::any_contains(trusted, address) {
                return Some(address);
            }
            leftmost = Some(address);
        }
    }
    // Every entry is a trusted proxy: the farthest one is the closest we know to a client.
    leftmost
}

/// The value of `line` (with or without its CR) if it is a field line named `name`.
fn field_value<'a>(line: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let colon = line.iter().position(|&b| b == b':')?;
    let (field_name, rest) = line.split_at(colon);
    if !field_name.eq_ignore_ascii_case(name) {
        return None;
    }
    Some(trim_ows(rest.get(1..).unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(fields: &str) -> Vec<u8> {
        format!("GET / HTTP/1.1\r\nHost: x\r\n{fields}\r\n").into_bytes()
    }

    #[test]
    fn right_most_untrusted_address() {
        let trusted = [
            Cidr::parse("10.0.0.0/8").expect("cidr"),
            Cidr::parse("2001:db8::/32").expect("cidr"),
        ];
        let cases: &[(&str, Option<&str>)] = &[
            ("X-Forwarded-For: 203.0.113.7\r\n", Some("203.0.113.7")),
            ("x-forwarded-for:203.0.113.7 \r\n", Some("203.0.113.7")),
            // A client-supplied entry left of the untrusted one is not believed.
            (
                "X-Forwarded-For: 1.1.1.1, 203.0.113.7, 10.0.0.2\r\n",
                Some("203.0.113.7"),
            ),
            (
                "X-Forwarded-For: 1.1.1.1,203.0.113.7,10.0.0.2,10.0.0.1\r\n",
                Some("203.0.113.7"),
            ),
            (
                "X-Forwarded-For: 2001:db8::5, 2001:db9::1\r\n",
                Some("2001:db9::1"),
            ),
            // Several lines are one list, in order.
            (
                "X-Forwarded-For: 192.0.2.1\r\nX-Forwarded-For: 10.0.0.3\r\n",
                Some("192.0.2.1"),
            ),
            // All trusted: the farthest.
            ("X-Forwarded-For: 10.0.0.9, 10.0.0.1\r\n", Some("10.0.0.9")),
            // Malformed entries on the way say nothing; past the answer they do not matter.
            ("X-Forwarded-For: 203.0.113.7:4000\r\n", None),
            ("X-Forwarded-For: [2001:db9::1]\r\n", None),
            ("X-Forwarded-For: unknown, 10.0.0.1\r\n", None),
            ("X-Forwarded-For: 203.0.113.7,,10.0.0.1\r\n", None),
            ("X-Forwarded-For: \r\n", None),
            ("X-Forwarded-For: 010.0.0.1\r\n", None),
            (
                "X-Forwarded-For: junk, 203.0.113.7\r\n",
                Some("203.0.113.7"),
            ),
            ("X-Forwarded-Fork: 203.0.113.7\r\n", None),
            ("", None),
        ];
        for &(fields, expected) in cases {
            let found = client_address(&head(fields), b"X-Forwarded-For", &trusted);
            let expected = expected.map(|a| a.parse::<IpAddr>().expect("test address"));
            assert_eq!(found, expected, "{fields:?}");
        }
    }

    #[test]
    fn a_one_address_header() {
        let trusted = [Cidr::parse("127.0.0.1").expect("cidr")];
        let found = client_address(&head("X-Real-IP: 192.0.2.44\r\n"), b"x-real-ip", &trusted);
        assert_eq!(found, Some("192.0.2.44".parse().expect("address")));
    }

    #[test]
    fn the_request_line_is_not_a_field() {
        let head = b"X-Forwarded-For:1.2.3.4 / HTTP/1.1\r\n\r\n";
        assert_eq!(client_address(head, b"X-Forwarded-For", &[]), None);
    }
}
