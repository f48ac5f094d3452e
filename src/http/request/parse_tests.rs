use super::*;

fn status_of(head: &[u8]) -> Result<(), Status> {
    parse(head, 1 << 20).map(|_| ())
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
    for (line, method) in [
        (&b"POST / HTTP/1.1"[..], Method::Post),
        (b"BREW / HTTP/1.1", Method::Unknown),
        (b"get / HTTP/1.1", Method::Unknown),
        (b"GETS / HTTP/1.1", Method::Unknown),
    ] {
        let head = [line, b"\r\nHost: a\r\n\r\n"].concat();
        assert_eq!(parse(&head, 0).unwrap().method, method);
    }
    let req = parse(b"GET /caf%C3%A9 HTTP/1.1\r\nHost: a\r\n\r\n", 0).unwrap();
    assert_eq!(
        req.target,
        Target::Path {
            path: b"/caf%C3%A9",
            query: None
        }
    );

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
        (b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n", BadRequest),
        (b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 2000000\r\n\r\n", ContentTooLarge),
        (b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", BadRequest),
        (b"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", BadRequest),
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

/// `find_head_end` fed one byte at a time, as a client may send it, then `parse`: the verdict
/// must be the one the whole head gets.
fn status_fed_bytewise(head: &[u8]) -> Result<(), Status> {
    for len in 1..=head.len() {
        if let Some(end) = find_head_end(&head[..len], len - 1, 8192)? {
            assert_eq!(end, head.len(), "{:?}", String::from_utf8_lossy(head));
            return status_of(&head[..end]);
        }
    }
    panic!("no head end in {:?}", String::from_utf8_lossy(head));
}

/// Every verdict of `table`, on the whole head and fed one byte at a time.
fn check_table(table: &[(Vec<u8>, Result<(), Status>)]) {
    for (head, want) in table {
        let shown = String::from_utf8_lossy(head);
        assert_eq!(status_of(head), *want, "{shown:?}");
        assert_eq!(status_fed_bytewise(head), *want, "{shown:?} bytewise");
    }
}

#[test]
fn framing_is_judged_before_the_method() {
    use Status::{BadRequest, ContentTooLarge, ExpectationFailed, NotImplemented};
    let long_method = "M".repeat(4096);
    let methods = ["GET", "POST", "PUT", "DELETE", "BREW", "get", &long_method];
    // (request line's version, header lines, verdict) for a well-formed method and target.
    let framings: &[(&str, &str, Result<(), Status>)] = &[
        (
            "1.1",
            "Content-Length: 99999999999999999999999\r\n",
            Err(BadRequest),
        ),
        (
            "1.1",
            "Content-Length: 18446744073709551616\r\n",
            Err(BadRequest),
        ),
        ("1.1", "Content-Length: abc\r\n", Err(BadRequest)),
        (
            "1.1",
            "Content-Length: 1\r\nContent-Length: 2\r\n",
            Err(BadRequest),
        ),
        (
            "1.1",
            "Content-Length: 1\r\nTransfer-Encoding: chunked\r\n",
            Err(BadRequest),
        ),
        (
            "1.1",
            "Transfer-Encoding: chunked, gzip\r\n",
            Err(BadRequest),
        ),
        ("1.1", "Transfer-Encoding: gzip\r\n", Err(BadRequest)),
        (
            "1.1",
            "Transfer-Encoding: chunked, chunked\r\n",
            Err(BadRequest),
        ),
        (
            "1.1",
            "Transfer-Encoding: chunked,,chunked\r\n",
            Err(BadRequest),
        ),
        ("1.1", "Transfer-Encoding: chunked;x=1\r\n", Err(BadRequest)),
        (
            "1.1",
            "Transfer-Encoding: \"x\", chunked\r\n",
            Err(BadRequest),
        ),
        ("1.1", "Transfer-Encoding:\r\n", Err(BadRequest)),
        ("1.1", "Transfer-Encoding: ,\r\n", Err(BadRequest)),
        ("1.0", "Transfer-Encoding: chunked\r\n", Err(BadRequest)),
        (
            "1.0",
            "Transfer-Encoding: gzip, chunked\r\n",
            Err(BadRequest),
        ),
        (
            "1.1",
            "Expect: tea\r\nContent-Length: 1\r\nContent-Length: 2\r\n",
            Err(BadRequest),
        ),
        (
            "1.1",
            "Transfer-Encoding: gzip, chunked\r\n",
            Err(NotImplemented),
        ),
        (
            "1.1",
            "Transfer-Encoding: gzip;level=9 , CHUNKED\r\n",
            Err(NotImplemented),
        ),
        ("1.1", "Content-Length: 2000000\r\n", Err(ContentTooLarge)),
        ("1.1", "Expect: tea\r\n", Err(ExpectationFailed)),
        ("1.1", "Transfer-Encoding: chunked\r\n", Ok(())),
        ("1.1", "Transfer-Encoding: , chunked ,\r\n", Ok(())),
        (
            "1.1",
            "Content-Length: 18446744073709551615\r\n",
            Err(ContentTooLarge),
        ),
    ];
    let mut table = Vec::new();
    for method in methods {
        for &(version, fields, want) in framings {
            let head = format!("{method} / HTTP/{version}\r\nHost: a\r\n{fields}\r\n");
            table.push((head.into_bytes(), want));
        }
    }
    check_table(&table);
}

#[test]
fn host_and_authority_are_never_empty() {
    use Status::BadRequest;
    let table: &[(&[u8], Result<(), Status>)] = &[
        (b"GET / HTTP/1.1\r\nHost:\r\n\r\n", Err(BadRequest)),
        (b"GET / HTTP/1.1\r\nHost: \t \r\n\r\n", Err(BadRequest)),
        (b"GET / HTTP/1.1\r\nHost: :80\r\n\r\n", Err(BadRequest)),
        (b"GET / HTTP/1.0\r\nHost:\r\n\r\n", Err(BadRequest)),
        (b"OPTIONS * HTTP/1.1\r\nHost:\r\n\r\n", Err(BadRequest)),
        (b"GET http://a/ HTTP/1.1\r\nHost:\r\n\r\n", Err(BadRequest)),
        (
            b"GET http://:80/ HTTP/1.1\r\nHost: a\r\n\r\n",
            Err(BadRequest),
        ),
        (
            b"GET http://:/ HTTP/1.1\r\nHost: a\r\n\r\n",
            Err(BadRequest),
        ),
        (b"GET http:// HTTP/1.1\r\nHost: a\r\n\r\n", Err(BadRequest)),
        (
            b"GET http://?q HTTP/1.1\r\nHost: a\r\n\r\n",
            Err(BadRequest),
        ),
        (b"CONNECT :443 HTTP/1.1\r\nHost: a\r\n\r\n", Err(BadRequest)),
        (b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", Ok(())),
        (b"GET / HTTP/1.1\r\nHost: [::1]:\r\n\r\n", Ok(())),
        (b"GET http://a:/ HTTP/1.1\r\nHost: a\r\n\r\n", Ok(())),
        (b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", Ok(())),
    ];
    let table: Vec<_> = table.iter().map(|&(h, w)| (h.to_vec(), w)).collect();
    check_table(&table);
}

#[test]
fn request_target_is_ascii() {
    use Status::BadRequest;
    let table: &[(&[u8], Result<(), Status>)] = &[
        (
            b"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n",
            Err(BadRequest),
        ),
        (
            b"GET /\xc3\xa9/ HTTP/1.1\r\nHost: a\r\n\r\n",
            Err(BadRequest),
        ),
        (
            b"GET /a?\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n",
            Err(BadRequest),
        ),
        (b"GET /\xff HTTP/1.1\r\nHost: a\r\n\r\n", Err(BadRequest)),
        (b"GET /\x80 HTTP/1.1\r\nHost: a\r\n\r\n", Err(BadRequest)),
        (
            b"GET http://\xc3\xa9/ HTTP/1.1\r\nHost: a\r\n\r\n",
            Err(BadRequest),
        ),
        (
            b"GET http://a/\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n",
            Err(BadRequest),
        ),
        (b"GET /caf%C3%A9 HTTP/1.1\r\nHost: a\r\n\r\n", Ok(())),
        (b"GET /a?q=%C3%A9 HTTP/1.1\r\nHost: a\r\n\r\n", Ok(())),
        (
            b"GET /~a!$&'()*+,;=:@-._ HTTP/1.1\r\nHost: a\r\n\r\n",
            Ok(()),
        ),
    ];
    let table: Vec<_> = table.iter().map(|&(h, w)| (h.to_vec(), w)).collect();
    check_table(&table);
}

#[test]
fn longest_method_len_matches_the_names() {
    let longest = METHODS.iter().map(|(name, _)| name.len()).max();
    assert_eq!(longest, Some(LONGEST_METHOD_LEN));
    assert_eq!(LONGEST_METHOD_LEN, "OPTIONS".len());
}
