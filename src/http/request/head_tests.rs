//! `find_head_end`: where a head ends, fed whole and a byte at a time, and its limits.

use super::*;

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
    let mut long_line = b"GET /".to_vec();
    long_line.resize(100, b'a');
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
fn a_method_too_long_for_the_head_is_501_not_414() {
    use Status::{HeaderFieldsTooLarge, NotImplemented, UriTooLong};
    let max = 100;
    let letters = |n: usize| vec![b'M'; n];
    let with_target = |method: &str, target_len: usize| {
        let mut line = format!("{method} /").into_bytes();
        line.resize(line.len() + target_len, b'a');
        line
    };
    let table: &[(Vec<u8>, Status)] = &[
        (letters(max), NotImplemented),
        (letters(10 * 1024), NotImplemented),
        ([letters(max - 1), b" ".to_vec()].concat(), NotImplemented),
        (
            [letters(60), b" /a HTTP/1.1\r\nX: ".to_vec(), letters(60)].concat(),
            NotImplemented,
        ),
        (with_target("PROPFIND", 200), NotImplemented),
        (with_target("OPTIONS", 200), UriTooLong),
        (with_target("GET", 200), UriTooLong),
        (with_target("get", 200), UriTooLong),
        (
            [b"GET / HTTP/1.1\r\nX: ".to_vec(), letters(200)].concat(),
            HeaderFieldsTooLarge,
        ),
        (
            [b"GET / HTTP/1.1\r\n".to_vec(), letters(200)].concat(),
            HeaderFieldsTooLarge,
        ),
    ];
    for (buf, want) in table {
        let shown = String::from_utf8_lossy(&buf[..buf.len().min(40)]);
        assert_eq!(find_head_end(buf, 0, max), Err(*want), "{shown:?}");
        // Fed one byte at a time: the verdict comes when the limit is reached, and is the same.
        let verdict =
            (1..=buf.len()).find_map(|len| find_head_end(&buf[..len], len - 1, max).err());
        assert_eq!(verdict, Some(*want), "{shown:?} bytewise");
    }
    // Within the limit, a long method is a complete head with an unknown method (the
    // handler's 501), not a refusal.
    let head = [letters(4096), b" / HTTP/1.1\r\nHost: a\r\n\r\n".to_vec()].concat();
    assert_eq!(find_head_end(&head, 0, 8192), Ok(Some(head.len())));
    assert_eq!(parse(&head, 0).unwrap().method, Method::Unknown);
}
