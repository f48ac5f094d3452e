//! The PROXY protocol parser, table-driven: each header whole, followed by a request (whose
//! bytes must be left alone), and fed one byte at a time.

use super::*;

fn addr(text: &str) -> Option<SocketAddr> {
    Some(text.parse().expect("test address"))
}

/// A version 2 header: `ver_cmd`, `family`, then `body` (addresses and TLVs).
fn v2(ver_cmd: u8, family: u8, body: &[u8]) -> Vec<u8> {
    let mut header = V2_SIGNATURE.to_vec();
    header.extend([ver_cmd, family]);
    let len = u16::try_from(body.len()).expect("test body length");
    header.extend(len.to_be_bytes());
    header.extend(body);
    header
}

/// 192.0.2.1:56324 -> 198.51.100.2:443.
const INET_BLOCK: [u8; 12] = [192, 0, 2, 1, 198, 51, 100, 2, 0xDC, 0x04, 0x01, 0xBB];

fn inet6_block() -> Vec<u8> {
    let mut block = "2001:db8::1"
        .parse::<Ipv6Addr>()
        .expect("address")
        .octets()
        .to_vec();
    block.extend("2001:db8::2".parse::<Ipv6Addr>().expect("address").octets());
    block.extend([0x30, 0x39, 0x00, 0x50]);
    block
}

fn with_tlvs(block: &[u8], tlvs: &[u8]) -> Vec<u8> {
    [block, tlvs].concat()
}

/// The verdicts on whole headers.
fn cases() -> Vec<(&'static str, Vec<u8>, Parsed)> {
    let complete = |len: usize, source: Option<SocketAddr>| Parsed::Complete { len, source };
    let v1 = |text: &str| text.as_bytes().to_vec();
    let tlvs = [0x01, 0x00, 0x02, b'h', b'2', 0x04, 0x00, 0x00];
    vec![
        // Version 1.
        (
            "v1 TCP4",
            v1("PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n"),
            complete(45, addr("192.0.2.1:56324")),
        ),
        (
            "v1 TCP6",
            v1("PROXY TCP6 2001:db8::1 2001:db8::2 0 65535\r\n"),
            complete(44, addr("[2001:db8::1]:0")),
        ),
        ("v1 UNKNOWN", v1("PROXY UNKNOWN\r\n"), complete(15, None)),
        (
            "v1 UNKNOWN with addresses",
            v1("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n"),
            complete(35, None),
        ),
        (
            "v1 longest",
            v1(concat!(
                "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ",
                "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n"
            )),
            complete(104, addr("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535")),
        ),
        (
            "v1 double space",
            v1("PROXY TCP4  192.0.2.1 198.51.100.2 1 2\r\n"),
            Parsed::Invalid,
        ),
        (
            "v1 trailing space",
            v1("PROXY TCP4 192.0.2.1 198.51.100.2 1 2 \r\n"),
            Parsed::Invalid,
        ),
        (
            "v1 bad IPv4",
            v1("PROXY TCP4 192.0.2.256 198.51.100.2 1 2\r\n"),
            Parsed::Invalid,
        ),
        (
            "v1 IPv6 under TCP4",
            v1("PROXY TCP4 2001:db8::1 2001:db8::2 1 2\r\n"),
            Parsed::Invalid,
        ),
        (
            "v1 bad destination",
            v1("PROXY TCP6 2001:db8::1 192.0.2.1 1 2\r\n"),
            Parsed::Invalid,
        ),
        (
            "v1 port 65536",
            v1("PROXY TCP4 192.0.2.1 198.51.100.2 65536 443\r\n"),
            Parsed::Invalid,
        ),
        (
            "v1 leading zero",
            v1("PROXY TCP4 192.0.2.1 198.51.100.2 080 443\r\n"),
            Parsed::Invalid,
        ),
        (
            "v1 signed port",
            v1("PROXY TCP4 192.0.2.1 198.51.100.2 +80 443\r\n"),
            Parsed::Invalid,
        ),
        (
            "v1 missing port",
            v1("PROXY TCP4 192.0.2.1 198.51.100.2 80\r\n"),
            Parsed::Invalid,
        ),
        (
            "v1 bare LF",
            v1("PROXY TCP4 192.0.2.1 198.51.100.2 1 2\n"),
            Parsed::Invalid,
        ),
        (
            "v1 CR without LF",
            v1("PROXY TCP4 192.0.2.1 198.51.100.2 1 2\rX"),
            Parsed::Invalid,
        ),
        (
            "v1 lower case",
            v1("proxy TCP4 192.0.2.1 1.1.1.1 1 2\r\n"),
            Parsed::Invalid,
        ),
        (
            "v1 UDP4",
            v1("PROXY UDP4 192.0.2.1 1.1.1.1 1 2\r\n"),
            Parsed::Invalid,
        ),
        (
            "v1 at the limit",
            [v1("PROXY UNKNOWN "), vec![b'x'; 91], v1("\r\n")].concat(),
            complete(MAX_V1_HEADER_BYTES, None),
        ),
        (
            "v1 too long",
            [v1("PROXY UNKNOWN "), vec![b'x'; 92], v1("\r\n")].concat(),
            Parsed::Invalid,
        ),
        ("not a header", v1("GET / HTTP/1.1\r\n"), Parsed::Invalid),
        // Version 2.
        (
            "v2 TCP4",
            v2(0x21, 0x11, &INET_BLOCK),
            complete(28, addr("192.0.2.1:56324")),
        ),
        (
            "v2 TCP6",
            v2(0x21, 0x21, &inet6_block()),
            complete(52, addr("[2001:db8::1]:12345")),
        ),
        ("v2 LOCAL", v2(0x20, 0x00, &[]), complete(16, None)),
        (
            "v2 LOCAL with addresses",
            v2(0x20, 0x11, &INET_BLOCK),
            complete(28, None),
        ),
        ("v2 UNSPEC", v2(0x21, 0x00, &[]), complete(16, None)),
        ("v2 UDP4", v2(0x21, 0x12, &INET_BLOCK), complete(28, None)),
        ("v2 UNIX", v2(0x21, 0x31, &[0; 216]), complete(232, None)),
        (
            "v2 TCP4 with TLVs",
            v2(0x21, 0x11, &with_tlvs(&INET_BLOCK, &tlvs)),
            complete(36, addr("192.0.2.1:56324")),
        ),
        ("v2 version 1", v2(0x11, 0x11, &INET_BLOCK), Parsed::Invalid),
        ("v2 version 3", v2(0x31, 0x11, &INET_BLOCK), Parsed::Invalid),
        ("v2 command 2", v2(0x22, 0x11, &INET_BLOCK), Parsed::Invalid),
        ("v2 family 4", v2(0x21, 0x41, &INET_BLOCK), Parsed::Invalid),
        (
            "v2 transport 3",
            v2(0x21, 0x13, &INET_BLOCK),
            Parsed::Invalid,
        ),
        (
            "v2 short TCP4 block",
            v2(0x21, 0x11, &INET_BLOCK[..11]),
            Parsed::Invalid,
        ),
        (
            "v2 short TCP6 block",
            v2(0x21, 0x21, &INET_BLOCK),
            Parsed::Invalid,
        ),
        (
            "v2 TLV past the end",
            v2(
                0x21,
                0x11,
                &with_tlvs(&INET_BLOCK, &[0x01, 0x00, 0x05, b'h']),
            ),
            Parsed::Invalid,
        ),
        (
            "v2 cut TLV head",
            v2(0x21, 0x11, &with_tlvs(&INET_BLOCK, &[0x01, 0x00])),
            Parsed::Invalid,
        ),
        (
            "v2 too long",
            v2(
                0x21,
                0x31,
                &[0; V2_UNIX_ADDRESS_BYTES + MAX_V2_TLV_BYTES + 1],
            ),
            Parsed::Invalid,
        ),
    ]
}

#[test]
fn whole_headers_followed_by_a_request() {
    const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    for (name, header, expected) in cases() {
        assert_eq!(parse(&header), expected, "{name}");
        let followed = [&header[..], REQUEST].concat();
        assert_eq!(parse(&followed), expected, "{name}, followed by a request");
    }
}

#[test]
fn one_byte_at_a_time() {
    for (name, header, expected) in cases() {
        let mut verdict = Parsed::Incomplete;
        for end in 1..=header.len() {
            let now = parse(&header[..end]);
            match (verdict, now) {
                // Once refused, more bytes cannot make it acceptable.
                (Parsed::Invalid, now) => assert_eq!(now, Parsed::Invalid, "{name} at {end}"),
                (Parsed::Incomplete, _) => verdict = now,
                (Parsed::Complete { .. }, _) => panic!("{name}: complete before its end"),
            }
        }
        assert_eq!(verdict, expected, "{name}, one byte at a time");
    }
}

#[test]
fn the_largest_v2_header_is_accepted() {
    let mut tlv = vec![0xEE];
    let value_len = MAX_V2_TLV_BYTES - V2_TLV_HEAD_BYTES;
    tlv.extend(u16::try_from(value_len).expect("fits").to_be_bytes());
    tlv.resize(MAX_V2_TLV_BYTES, 0);
    let mut body = vec![0; V2_UNIX_ADDRESS_BYTES];
    body.extend(tlv);
    let header = v2(0x21, 0x31, &body);
    assert_eq!(header.len(), MAX_V2_HEADER_BYTES);
    let parsed = parse(&header);
    assert_eq!(
        parsed,
        Parsed::Complete {
            len: MAX_V2_HEADER_BYTES,
            source: None
        }
    );
}

#[test]
fn refused_early() {
    // A wrong byte is refused where it stands, without waiting for a line end or a length.
    assert_eq!(parse(b"G"), Parsed::Invalid);
    assert_eq!(parse(b"PROXY_"), Parsed::Invalid);
    assert_eq!(parse(b"\r\n\r\n\0\r\nQUIX"), Parsed::Invalid);
    assert_eq!(parse(b"\r\n\r\n\0\r\nQUIT\n\x22"), Parsed::Invalid);
    assert_eq!(parse(b"\r\n\r\n\0\r\nQUIT\n\x21\x51"), Parsed::Invalid);
    assert_eq!(parse(b""), Parsed::Incomplete);
    assert_eq!(parse(b"PROXY TCP4 1.2"), Parsed::Incomplete);
    assert_eq!(parse(&[b'P'; 1]), Parsed::Incomplete);
}
