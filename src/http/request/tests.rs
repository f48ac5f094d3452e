use super::*;

fn status_of(head: &[u8]) -> Result<(), Status> {
    parse(head, 1 << 20).map(|_| ())
}

#[test]
fn head_end_is_found_incrementally_and_bare_lf_refused() {
    let head = b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /next";
    assert_eq!(find_head_end(head, 0, 8192), Ok(Some(27)));

    // Fed one byte at a time, scanning only the new byte each time, the end is found at the
    // same place and nowhere earlier.
    for len in 0..=27usize {
        let from = len.saturating_sub(1);
        let want = if len == 27 { Some(27) } else { None };
        assert_eq!(
            find_head_end(&head[..len], from, 8192),
            Ok(want),
            "len {len}"
        );
    }

    assert_eq!(
        find_head_end(b"GET / HTTP/1.1\nHost: a\r\n\r\n", 0, 8192),
        Err(Status::BadRequest)
    );
    assert_eq!(
        find_head_end(b"GET / HTTP/1.1\r\nHost: a\n\n", 0, 8192),
        Err(Status::BadRequest)
    );
}

#[test]
fn binary_noise_is_refused_before_a_line_ends() {
    assert_eq!(
        find_head_end(b"\x16\x03\x01\x00", 0, 8192),
        Err(Status::BadRequest)
    );
    assert_eq!(find_head_end(b"GE", 0, 8192), Ok(None));
    assert_eq!(find_head_end(b"\r", 0, 8192), Ok(None));
    assert_eq!(find_head_end(b"GET /\x01", 0, 8192), Ok(None));
}

#[test]
fn head_limits() {
    let long_line = vec![b'a'; 100];
    assert_eq!(find_head_end(&long_line, 0, 100), Err(Status::UriTooLong));
    let mut long_head = b"GET / HTTP/1.1\r\n".to_vec();
    long_head.resize(100, b'x');
    assert_eq!(
        find_head_end(&long_head, 0, 100),
        Err(Status::HeaderFieldsTooLarge)
    );
    let mut exact = b"GET / HTTP/1.1\r\nX: ".to_vec();
    exact.resize(96, b'y');
    exact.extend_from_slice(b"\r\n\r\n");
    assert_eq!(find_head_end(&exact, 0, 100), Ok(Some(100)));
    exact.insert(20, b'y');
    assert_eq!(
        find_head_end(&exact, 0, 100),
        Err(Status::HeaderFieldsTooLarge)
    );
    let mut long_target = b"GET /".to_vec();
    long_target.resize(120, b'a');
    long_target.extend_from_slice(b" HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(find_head_end(&long_target, 0, 100), Err(Status::UriTooLong));
}

#[test]
fn valid_requests() {
    let req = parse(b"GET /a?b=c HTTP/1.1\r\nHost: example.com\r\n\r\n", 0).unwrap();
    assert_eq!(req.method, Method::Get);
    assert_eq!(
        req.target,
        Target::Path {
            path: b"/a",
            query: Some(b"b=c")
        }
    );
    assert!(req.keep_alive);
    assert!(matches!(req.body, Body::None));

    let req = parse(b"HEAD / HTTP/1.0\r\n\r\n", 0).unwrap();
    assert_eq!(req.version, Version::Http10);
    assert!(!req.keep_alive);

    let req = parse(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", 0).unwrap();
    assert!(req.keep_alive);

    let req = parse(
        b"GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, close\r\n\r\n",
        0,
    )
    .unwrap();
    assert!(!req.keep_alive);

    let req = parse(
        b"GET http://example.com:8080/x/y?z HTTP/1.1\r\nHost: other\r\n\r\n",
        0,
    )
    .unwrap();
    assert_eq!(
        req.target,
        Target::Path {
            path: b"/x/y",
            query: Some(b"z")
        }
    );
    let req = parse(b"GET http://example.com HTTP/1.1\r\nHost: a\r\n\r\n", 0).unwrap();
    assert_eq!(
        req.target,
        Target::Path {
            path: b"/",
            query: None
        }
    );

    let req = parse(b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", 0).unwrap();
    assert_eq!(req.target, Target::Asterisk);

    let req = parse(
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n",
        10,
    )
    .unwrap();
    assert!(matches!(req.body, Body::Length(5)));
    let req = parse(
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n",
        10,
    )
    .unwrap();
    assert!(matches!(req.body, Body::Chunked(_)));

    let req = parse(
        b"GET / HTTP/1.1\r\nHost: [::1]:80\r\nExpect: 100-Continue\r\n\r\n",
        0,
    )
    .unwrap();
    assert!(req.expect_continue);
    let req = parse(b"GET / HTTP/1.1\r\nHost: a:65535\r\n\r\n", 0).unwrap();
    assert_eq!(req.method, Method::Get);
    let req = parse(b"GET / HTTP/1.1\r\nHost: a:\r\n\r\n", 0).unwrap();
    assert_eq!(req.method, Method::Get);
    let req = parse(b"GET / HTTP/1.1\r\nHost:\r\n\r\n", 0).unwrap();
    assert_eq!(req.method, Method::Get);

    let req = parse(
        b"GET / HTTP/1.1\r\nHost: a\r\nRange: bytes=0-1\r\nIf-None-Match: \"x\"\r\n\
          Accept-Encoding: gzip\r\n\r\n",
        0,
    )
    .unwrap();
    assert_eq!(req.range, Some(&b"bytes=0-1"[..]));
    assert_eq!(req.conditions.if_none_match, Some(&b"\"x\""[..]));
    assert_eq!(req.accept_encoding, Some(&b"gzip"[..]));
    let req = parse(
        b"GET / HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\nAccept-Encoding: br\r\n\r\n",
        0,
    )
    .unwrap();
    assert_eq!(req.accept_encoding, Some(&b"identity"[..]));
}

#[test]
fn refused_requests() {
    use Status::*;
    let table: &[(&[u8], Status)] = &[
        (b"GET / HTTP/1.1\r\n\r\n", BadRequest),
        (b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", BadRequest),
        (b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", BadRequest),
        (b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", BadRequest),
        (b"GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", BadRequest),
        (b"GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n", BadRequest),
        (b"GET / HTTP/1.1\r\nHost: a:65536\r\n\r\n", BadRequest),
        (b"GET / HTTP/1.1\r\nHost: a:+80\r\n\r\n", BadRequest),
        (b"GET http://a:99999/ HTTP/1.1\r\nHost: a\r\n\r\n", BadRequest),
        (b"get / HTTP/1.1\r\nHost: a\r\n\r\n", NotImplemented),
        (b"BREW / HTTP/1.1\r\nHost: a\r\n\r\n", NotImplemented),
        (b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", VersionNotSupported),
        (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", VersionNotSupported),
        (b"GET / HTTP/1\r\nHost: a\r\n\r\n", BadRequest),
        (b"GET / http/1.1\r\nHost: a\r\n\r\n", BadRequest),
        (b"GET /\r\n\r\n", BadRequest),
        (b"GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", BadRequest),
        (b"GET /a b HTTP/2.0\r\nHost: a\r\n\r\n", BadRequest),
        (b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", BadRequest),
        (b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", BadRequest),
        (b"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", BadRequest),
        (b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n", BadRequest),
        (b"GET / HTTP/1.1\r\nHost: a\r\n: empty\r\n\r\n", BadRequest),
        (b"GET a HTTP/1.1\r\nHost: a\r\n\r\n", BadRequest),
        (b"GET * HTTP/1.1\r\nHost: a\r\n\r\n", BadRequest),
        (b"GET /#frag HTTP/1.1\r\nHost: a\r\n\r\n", BadRequest),
        (b"GET ftp://a/ HTTP/1.1\r\nHost: a\r\n\r\n", BadRequest),
        (b"GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n", BadRequest),
        (b"GET http://u@a/x HTTP/1.1\r\nHost: a\r\n\r\n", BadRequest),
        (b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", BadRequest),
        (b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\n", BadRequest),
        (b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1,1\r\n\r\n", BadRequest),
        (b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", BadRequest),
        (b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x1\r\n\r\n", BadRequest),
        (b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", BadRequest),
        (b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 2\r\n\r\n", BadRequest),
        (b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n", ContentTooLarge),
        (b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 2000000\r\n\r\n", ContentTooLarge),
        (b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", BadRequest),
        (b"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", NotImplemented),
        (b"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", NotImplemented),
        (b"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", BadRequest),
        (b"GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", BadRequest),
        (b"GET / HTTP/1.1\r\nHost: a\r\nExpect: something\r\n\r\n", ExpectationFailed),
        (b"GET / HTTP/1.1\r\nHost: a\r\nRange: bytes=0-1\r\nrange: bytes=0-1\r\n\r\n", BadRequest),
        (b"GET / HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"a\"\r\nIf-None-Match: \"b\"\r\n\r\n", BadRequest),
        (b"GET / HTTP/1.1\r\nHost: a\r\nIf-Range: \"a\"\r\nIf-Range: \"a\"\r\n\r\n", BadRequest),
    ];
    for &(head, status) in table {
        assert_eq!(
            status_of(head),
            Err(status),
            "{:?}",
            String::from_utf8_lossy(head)
        );
    }
}

#[test]
fn too_many_headers() {
    let mut head = b"GET / HTTP/1.1\r\nHost: a\r\n".to_vec();
    for i in 0..MAX_HEADERS {
        head.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
    }
    head.extend_from_slice(b"\r\n");
    assert_eq!(status_of(&head), Err(Status::HeaderFieldsTooLarge));
}

#[test]
fn higher_minor_versions_are_read_as_1_1() {
    let table: &[(&[u8], &[u8])] = &[
        (
            b"GET / HTTP/1.2\r\nHost: a\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        ),
        (b"GET / HTTP/1.9\r\n\r\n", b"GET / HTTP/1.1\r\n\r\n"),
        (b"GET / HTTP/1.0\r\n\r\n", b"GET / HTTP/1.0\r\n\r\n"),
        (b"GET / HTTP/2.0\r\n\r\n", b"GET / HTTP/2.0\r\n\r\n"),
        (b"GET / HTTP/1.10\r\n\r\n", b"GET / HTTP/1.10\r\n\r\n"),
        (b"GET /HTTP/1.2\r\n\r\n", b"GET /HTTP/1.2\r\n\r\n"),
        (b"HTTP/1.2\r\n\r\n", b"HTTP/1.2\r\n\r\n"),
    ];
    for &(input, want) in table {
        let mut head = input.to_vec();
        downgrade_minor_version(&mut head);
        assert_eq!(head, want, "{:?}", String::from_utf8_lossy(input));
    }
    let mut head = b"GET / HTTP/1.2\r\nHost: a\r\n\r\n".to_vec();
    downgrade_minor_version(&mut head);
    assert_eq!(parse(&head, 0).unwrap().version, Version::Http11);
}
