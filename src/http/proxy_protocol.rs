//! The PROXY protocol header (HAProxy's doc/proxy-protocol.txt, versions 1 and 2): the few
//! bytes a load balancer sends before the client's own, naming the client it relays.
//!
//! `parse` takes the bytes buffered so far and says whether they begin with a complete
//! header (and how long it is), need more bytes, or cannot be one. It never looks past the
//! header's end, so the request (or TLS ClientHello) that arrived in the same segment stays
//! in the buffer for the next step. Anything not exactly as the specification writes it is
//! `Invalid`: a header is only accepted from trusted proxies, which emit it exactly, and a
//! lenient parser is where two readers of the same bytes start to disagree.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The longest version 1 header, "PROXY" to the CRLF included (spec §2.1: 107 bytes).
pub const MAX_V1_HEADER_BYTES: usize = 107;
/// Room for TLVs in the longest version 2 header we accept, which is the 16-byte fixed part,
/// the largest address block (216 bytes, UNIX) and this. The spec bounds only the addresses
/// (§2.2: 536 bytes in all for them); TLVs such as SSL details can be longer, and are skipped.
pub const MAX_V2_TLV_BYTES: usize = 2048;
/// The fixed part of a version 2 header: signature, version and command, family, length.
pub const V2_FIXED_BYTES: usize = 16;
/// The longest version 2 header accepted, in bytes.
pub const MAX_V2_HEADER_BYTES: usize = V2_FIXED_BYTES + V2_UNIX_ADDRESS_BYTES + MAX_V2_TLV_BYTES;

/// Version 2 starts with this, chosen so that no HTTP request and no TLS record can (§2.2).
const V2_SIGNATURE: &[u8; 12] = b"\r\n\r\n\0\r\nQUIT\n";
const V1_PREFIX: &[u8] = b"PROXY ";
/// Address block lengths by family (§2.2): two addresses and two ports.
const V2_INET_ADDRESS_BYTES: usize = 12;
const V2_INET6_ADDRESS_BYTES: usize = 36;
const V2_UNIX_ADDRESS_BYTES: usize = 216;
/// Version 2 with command LOCAL, and with command PROXY.
const V2_LOCAL: u8 = 0x20;
const V2_PROXY: u8 = 0x21;
/// Family and transport bytes of TCP over IPv4, and over IPv6.
const V2_TCP4: u8 = 0x11;
const V2_TCP6: u8 = 0x21;
/// A TLV's type and length fields.
const V2_TLV_HEAD_BYTES: usize = 3;

/// What the front of a connection's bytes holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parsed {
    /// A whole header of `len` bytes. `source` is the client it names, or `None` when it
    /// names none to use (v1 UNKNOWN, v2 LOCAL, or a v2 family other than TCP over IP): the
    /// connection's own peer stands (§2.1, §2.2).
    Complete {
        len: usize,
        source: Option<SocketAddr>,
    },
    /// A prefix of a header that may still be valid: read more.
    Incomplete,
    /// Not a header, or a malformed one: the connection is closed.
    Invalid,
}

/// See the module documentation.
pub fn parse(buf: &[u8]) -> Parsed {
    if starts_as(buf, V2_SIGNATURE) {
        if buf.len() < V2_SIGNATURE.len() {
            return Parsed::Incomplete;
        }
        return parse_v2(buf);
    }
    if starts_as(buf, V1_PREFIX) {
        return parse_v1(buf);
    }
    Parsed::Invalid
}

/// `buf` and `prefix` agree on their common length.
fn starts_as(buf: &[u8], prefix: &[u8]) -> bool {
    buf.iter().zip(prefix).all(|(a, b)| a == b)
}

/// `PROXY TCP4|TCP6 src dst sport dport\r\n` or `PROXY UNKNOWN...\r\n` (§2.1).
fn parse_v1(buf: &[u8]) -> Parsed {
    let window = buf.get(..MAX_V1_HEADER_BYTES).unwrap_or(buf);
    let Some(cr) = window.iter().position(|&b| b == b'\r') else {
        return if window.len() < MAX_V1_HEADER_BYTES && !window.contains(&b'\n') {
            Parsed::Incomplete
        } else {
            Parsed::Invalid
        };
    };
    let len = cr + 2;
    match window.get(cr + 1) {
        _ if len > MAX_V1_HEADER_BYTES => return Parsed::Invalid,
        None => return Parsed::Incomplete,
        Some(b'\n') => {}
        Some(_) => return Parsed::Invalid,
    }
    let line = window.get(V1_PREFIX.len()..cr).unwrap_or_default();
    let Ok(line) = std::str::from_utf8(line) else {
        return Parsed::Invalid;
    };
    // UNKNOWN: "the receiver must ignore anything presented before the CRLF".
    if line == "UNKNOWN" || line.starts_with("UNKNOWN ") {
        return Parsed::Complete { len, source: None };
    }
    // `split(' ')`, not `split_whitespace`: exactly one space between fields.
    let mut fields = line.split(' ');
    let (Some(protocol), Some(src), Some(dst), Some(sport), Some(dport), None) = (
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
    ) else {
        return Parsed::Invalid;
    };
    // Both addresses must be of the family named, though only the source is used.
    let src = match protocol {
        "TCP4" => src
            .parse::<Ipv4Addr>()
            .ok()
            .filter(|_| dst.parse::<Ipv4Addr>().is_ok())
            .map(IpAddr::V4),
        "TCP6" => src
            .parse::<Ipv6Addr>()
            .ok()
            .filter(|_| dst.parse::<Ipv6Addr>().is_ok())
            .map(IpAddr::V6),
        _ => None,
    };
    match (src, parse_port(sport), parse_port(dport)) {
        (Some(src), Some(sport), Some(_)) => Parsed::Complete {
            len,
            source: Some(SocketAddr::new(src, sport)),
        },
        _ => Parsed::Invalid,
    }
}

/// A port in decimal, 0 to 65535, without a sign or leading zeros (as HAProxy writes it).
fn parse_port(field: &str) -> Option<u16> {
    let digits_only = !field.is_empty() && field.bytes().all(|b| b.is_ascii_digit());
    if !digits_only || (field.len() > 1 && field.starts_with('0')) {
        return None;
    }
    field.parse().ok()
}

/// The binary header (§2.2): signature, version and command, family and transport, the
/// length of what follows, the addresses, then TLVs.
fn parse_v2(buf: &[u8]) -> Parsed {
    let Some(&[.., ver_cmd, family, len_hi, len_lo]) = buf.get(..V2_FIXED_BYTES) else {
        // Judge what has arrived of the fixed part as soon as it arrives.
        return match buf.get(V2_SIGNATURE.len()..).unwrap_or_default() {
            [ver_cmd, ..] if !valid_ver_cmd(*ver_cmd) => Parsed::Invalid,
            [_, family, ..] if family_address_bytes(*family).is_none() => Parsed::Invalid,
            _ => Parsed::Incomplete,
        };
    };
    let body_len = usize::from(u16::from_be_bytes([len_hi, len_lo]));
    let Some(address_len) = family_address_bytes(family).filter(|_| valid_ver_cmd(ver_cmd)) else {
        return Parsed::Invalid;
    };
    let len = V2_FIXED_BYTES + body_len;
    if body_len < address_len || len > MAX_V2_HEADER_BYTES {
        return Parsed::Invalid;
    }
    let Some(body) = buf.get(V2_FIXED_BYTES..len) else {
        return Parsed::Incomplete;
    };
    let (addresses, tlvs) = body.split_at(address_len);
    if !tlvs_well_formed(tlvs) {
        return Parsed::Invalid;
    }
    // LOCAL: a health check from the proxy itself; its own address stands (§2.2).
    let local = ver_cmd == V2_LOCAL;
    let source = if local {
        None
    } else {
        source_address(family, addresses)
    };
    Parsed::Complete { len, source }
}

/// The source of a PROXY command's address block: TCP over IPv4 or IPv6. Anything else
/// (UNSPEC, UNIX, datagrams) names no TCP client; the spec lets the receiver accept the
/// connection with its real endpoints.
fn source_address(family: u8, addresses: &[u8]) -> Option<SocketAddr> {
    // Each block is the source address, the destination address, then the two ports.
    let (ip, port): (IpAddr, &[u8]) = match family {
        V2_TCP4 => {
            let ip: [u8; 4] = addresses.get(..4)?.try_into().ok()?;
            (ip.into(), addresses.get(8..10)?)
        }
        V2_TCP6 => {
            let ip: [u8; 16] = addresses.get(..16)?.try_into().ok()?;
            (ip.into(), addresses.get(32..34)?)
        }
        _ => return None,
    };
    let &[hi, lo] = port else { return None };
    Some(SocketAddr::new(ip, u16::from_be_bytes([hi, lo])))
}

/// Version 2 (high nibble) with command LOCAL (0) or PROXY (1); anything else is refused
/// (§2.2: "other values ... must be rejected as invalid").
fn valid_ver_cmd(ver_cmd: u8) -> bool {
    matches!(ver_cmd, V2_LOCAL | V2_PROXY)
}

/// The address block's length for a family-and-transport byte, or `None` for a value the
/// spec does not define: families UNSPEC, INET, INET6, UNIX (high nibble 0 to 3) with
/// transports UNSPEC, STREAM, DGRAM (low nibble 0 to 2).
fn family_address_bytes(family: u8) -> Option<usize> {
    if family & 0x0F > 2 {
        return None;
    }
    match family >> 4 {
        0 => Some(0),
        1 => Some(V2_INET_ADDRESS_BYTES),
        2 => Some(V2_INET6_ADDRESS_BYTES),
        3 => Some(V2_UNIX_ADDRESS_BYTES),
        _ => None,
    }
}

/// The TLVs fill their space exactly: each type, length and value inside it (§2.2.1).
fn tlvs_well_formed(mut tlvs: &[u8]) -> bool {
    while !tlvs.is_empty() {
        let Some(&[_, hi, lo]) = tlvs.get(..V2_TLV_HEAD_BYTES) else {
            return false;
        };
        let end = V2_TLV_HEAD_BYTES + usize::from(u16::from_be_bytes([hi, lo]));
        match tlvs.get(end..) {
            Some(rest) => tlvs = rest,
            None => return false,
        }
    }
    true
}

#[cfg(test)]
#[path = "proxy_protocol_tests.rs"]
mod tests;
