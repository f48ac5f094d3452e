//! Range requests (RFC 9110 §14): single ranges (206), unsatisfiable ones (416), syntax the
//! server must ignore (200), multipart/byteranges, coalescing, the 16-range limit, If-Range,
//! HEAD, and curl -r. Each on a file above 16 KiB (sent with sendfile) and one below (sent
//! from memory).

pub mod common;

use common::*;

const BIG_LEN: usize = 100 * 1024;
const SMALL_LEN: usize = 5000;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// The test files: `/big.bin` (pseudo-random, 100 KiB) and `/small.txt` (text, 5000 bytes).
struct Site {
    server: Server,
    big: Vec<u8>,
    small: Vec<u8>,
}

impl Site {
    fn start() -> Site {
        let server = Server::start(&[]);
        let big = pseudo_random_bytes(BIG_LEN, 0x4a11_00e5);
        let mut small = Vec::with_capacity(SMALL_LEN);
        let mut line = 0;
        while small.len() < SMALL_LEN {
            small.extend_from_slice(format!("line {line:05} of the small text file\n").as_bytes());
            line += 1;
        }
        small.truncate(SMALL_LEN);
        server.write("big.bin", &big);
        server.write("small.txt", &small);
        Site { server, big, small }
    }

    /// (path, bytes, Content-Type) of each test file.
    fn files(&self) -> [(&'static str, &[u8], &'static str); 2] {
        [
            ("/big.bin", &self.big, "application/octet-stream"),
            ("/small.txt", &self.small, "text/plain; charset=utf-8"),
        ]
    }
}

fn send(server: &Server, method: &str, target: &str, headers: &[(&str, &str)]) -> Response {
    send_closing(server.addr(), method, target, headers)
}

fn get_range(server: &Server, target: &str, range: &str) -> Response {
    send(server, "GET", target, &[("Range", range)])
}

fn assert_same_bytes(got: &[u8], want: &[u8], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    if let Some(i) = got.iter().zip(want).position(|(a, b)| a != b) {
        panic!("{what}: first difference at byte {i}");
    }
}

/// Asserts a 206 with one part: bytes `first..=last` of `data`.
fn assert_partial(response: &Response, data: &[u8], first: usize, last: usize, what: &str) {
    assert_eq!(response.status, 206, "{what}: {}", response.summary());
    assert_eq!(
        response.header("content-range").map(str::to_string),
        Some(format!("bytes {first}-{last}/{}", data.len())),
        "{what}: {}",
        response.summary()
    );
    assert_eq!(
        response.content_length(),
        Some((last - first + 1) as u64),
        "{what}: {}",
        response.summary()
    );
    assert_same_bytes(&response.body, &data[first..=last], what);
}

/// Asserts a 200 with the whole of `data` and no Content-Range.
fn assert_whole(response: &Response, data: &[u8], what: &str) {
    assert_eq!(response.status, 200, "{what}: {}", response.summary());
    assert_eq!(
        response.header("content-range"),
        None,
        "{what}: {}",
        response.summary()
    );
    assert_eq!(response.content_length(), Some(data.len() as u64), "{what}");
    assert_same_bytes(&response.body, data, what);
}

/// One part of a multipart/byteranges body.
#[derive(Debug)]
struct Part {
    headers: Vec<(String, String)>,
    /// (first, last, complete length) from the part's Content-Range.
    range: (usize, usize, usize),
    body: Vec<u8>,
}

impl Part {
    fn header(&self, name: &str) -> Option<&str> {
        let mut found = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str());
        let first = found.next();
        assert!(found.next().is_none(), "part header {name} repeated");
        first
    }
}

/// `bytes FIRST-LAST/LEN` → numbers; panics on any other shape.
fn parse_content_range(value: &str) -> (usize, usize, usize) {
    let parse = || -> Option<(usize, usize, usize)> {
        let rest = value.strip_prefix("bytes ")?;
        let (span, len) = rest.split_once('/')?;
        let (first, last) = span.split_once('-')?;
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !(all_digits(first) && all_digits(last) && all_digits(len)) {
            return None;
        }
        Some((first.parse().ok()?, last.parse().ok()?, len.parse().ok()?))
    };
    let (first, last, len) = parse().unwrap_or_else(|| panic!("bad Content-Range {value:?}"));
    assert!(
        first <= last && last < len,
        "impossible Content-Range {value:?}"
    );
    (first, last, len)
}

/// The boundary parameter of a `multipart/byteranges` Content-Type.
fn boundary_of(content_type: &str) -> String {
    let mut params = content_type.split(';').map(str::trim);
    let media_type = params.next().unwrap_or_default();
    assert!(
        media_type.eq_ignore_ascii_case("multipart/byteranges"),
        "not multipart/byteranges: {content_type:?}"
    );
    let boundary = params
        .filter_map(|p| p.split_once('='))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("boundary"))
        .map(|(_, value)| value.trim().trim_matches('"').to_string())
        .unwrap_or_else(|| panic!("no boundary in {content_type:?}"));
    assert!(
        !boundary.is_empty() && boundary.len() <= 70,
        "bad boundary {boundary:?} (RFC 2046: 1 to 70 characters)"
    );
    boundary
}

/// Splits a multipart/byteranges body (RFC 9110 §14.6, RFC 2046 §5.1.1): each part is
/// `--BOUNDARY CRLF headers CRLF CRLF bytes`, delimiters are preceded by CRLF (the first one
/// may start the body), and the body ends with the closing delimiter `--BOUNDARY--` and an
/// optional CRLF. Part bodies are cut by the length in their Content-Range, and must be
/// followed by a delimiter exactly.
fn split_multipart(boundary: &str, body: &[u8]) -> Vec<Part> {
    let delimiter = format!("--{boundary}");
    let delimiter = delimiter.as_bytes();
    let mut pos = if body.starts_with(b"\r\n") { 2 } else { 0 };
    assert!(
        body[pos..].starts_with(delimiter),
        "multipart body does not start with the delimiter: {}",
        preview(body)
    );
    pos += delimiter.len();
    let mut parts = Vec::new();
    loop {
        let rest = &body[pos..];
        if rest.starts_with(b"--") {
            // The closing delimiter; at most a CRLF may follow.
            let after = &rest[2..];
            assert!(
                after.is_empty() || after == b"\r\n",
                "bytes after the closing delimiter: {}",
                preview(after)
            );
            return parts;
        }
        assert!(
            rest.starts_with(b"\r\n"),
            "delimiter not followed by CRLF or --: {}",
            preview(rest)
        );
        pos += 2;
        let head_len = find(&body[pos..], b"\r\n\r\n")
            .unwrap_or_else(|| panic!("part without the blank line: {}", preview(&body[pos..])));
        let head = std::str::from_utf8(&body[pos..pos + head_len]).expect("part head is UTF-8");
        let headers: Vec<(String, String)> = head
            .split("\r\n")
            .map(|line| {
                let (name, value) = line
                    .split_once(':')
                    .unwrap_or_else(|| panic!("part header line without colon: {line:?}"));
                (name.to_string(), value.trim().to_string())
            })
            .collect();
        pos += head_len + 4;
        let content_range = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-range"))
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("part without Content-Range: {head:?}"));
        let range = parse_content_range(&content_range);
        let count = range.1 - range.0 + 1;
        assert!(
            body.len() >= pos + count,
            "part {content_range} truncated: {} bytes left",
            body.len() - pos
        );
        let part_body = body[pos..pos + count].to_vec();
        pos += count;
        let rest = &body[pos..];
        assert!(
            rest.starts_with(b"\r\n") && rest[2..].starts_with(delimiter),
            "part {content_range} is not followed by CRLF and the delimiter: {}",
            preview(rest)
        );
        pos += 2 + delimiter.len();
        parts.push(Part {
            headers,
            range,
            body: part_body,
        });
    }
}

/// Asserts a 206 multipart/byteranges response with exactly the parts `expected` (inclusive
/// ranges, in order) of `data`, each labelled with `part_type`.
fn assert_multipart(
    response: &Response,
    data: &[u8],
    part_type: &str,
    expected: &[(usize, usize)],
    what: &str,
) {
    assert_eq!(response.status, 206, "{what}: {}", response.summary());
    assert_eq!(
        response.header("content-range"),
        None,
        "{what}: a multipart 206 has Content-Range only in its parts: {}",
        response.summary()
    );
    assert_eq!(
        response.content_length(),
        Some(response.body.len() as u64),
        "{what}: Content-Length must be the body length"
    );
    let boundary = boundary_of(response.expect_header("content-type"));
    let parts = split_multipart(&boundary, &response.body);
    assert_eq!(
        parts
            .iter()
            .map(|p| (p.range.0, p.range.1))
            .collect::<Vec<_>>(),
        expected,
        "{what}: part ranges"
    );
    for (part, &(first, last)) in parts.iter().zip(expected) {
        let label = format!("{what}: part {first}-{last}");
        assert_eq!(part.header("content-type"), Some(part_type), "{label}");
        assert_eq!(
            part.header("content-range").map(str::to_string),
            Some(format!("bytes {first}-{last}/{}", data.len())),
            "{label}"
        );
        assert_eq!(part.range.2, data.len(), "{label}: complete length");
        assert_same_bytes(&part.body, &data[first..=last], &label);
    }
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[test]
fn single_ranges_are_206_with_the_exact_bytes() {
    let site = Site::start();
    for (path, data, _) in site.files() {
        let len = data.len();
        let full = send(&site.server, "GET", path, &[]);
        assert_whole(&full, data, path);
        assert_eq!(
            full.header("accept-ranges"),
            Some("bytes"),
            "{}",
            full.summary()
        );
        let cases: &[(String, usize, usize)] = &[
            ("bytes=0-9".into(), 0, 9),
            ("bytes=10-".into(), 10, len - 1),
            ("bytes=-10".into(), len - 10, len - 1),
            ("bytes=0-0".into(), 0, 0),
            (format!("bytes={}-{}", len - 1, len - 1), len - 1, len - 1),
            ("bytes=1234-4321".into(), 1234, 4321),
            // Past the end: clipped to the last byte.
            (
                format!("bytes={}-{}", len - 5, len + 1000),
                len - 5,
                len - 1,
            ),
            ("bytes=0-99999999".into(), 0, len - 1),
            // A suffix longer than the file: the whole file, still 206.
            (format!("bytes=-{}", len + 10), 0, len - 1),
            // The unit is case-insensitive (§14.1); empty list elements are ignored (§5.6.1).
            ("BYTES=0-9".into(), 0, 9),
            ("bytes=0-9,".into(), 0, 9),
        ];
        for (range, first, last) in cases {
            let what = format!("GET {path} Range: {range}");
            let response = get_range(&site.server, path, range);
            assert_partial(&response, data, *first, *last, &what);
            assert!(
                response.header("etag").is_some() && response.header("last-modified").is_some(),
                "{what}: 206 without validators: {}",
                response.summary()
            );
        }
    }
    // Several ranges on one keep-alive connection: each body ends exactly where it should.
    let mut conn = site.server.connect();
    for (first, last) in [(0, 9), (50_000, 99_999), (17, 17_000), (100_000, 102_399)] {
        conn.send(format!(
            "GET /big.bin HTTP/1.1\r\nHost: localhost\r\nRange: bytes={first}-{last}\r\n\r\n"
        ));
        let response = conn.read_response();
        assert_partial(&response, &site.big, first, last, "keep-alive range");
    }
}

#[test]
fn unsatisfiable_range_is_416() {
    let site = Site::start();
    for (path, data, _) in site.files() {
        let len = data.len();
        for range in [
            format!("bytes={len}-"),
            format!("bytes={}-{}", len, len + 10),
            format!("bytes={}-", len + 1000),
            "bytes=-0".to_string(),
            format!("bytes={len}-{},{}-", len + 1, len + 5),
        ] {
            let what = format!("GET {path} Range: {range}");
            let response = get_range(&site.server, path, &range);
            assert_eq!(response.status, 416, "{what}: {}", response.summary());
            assert_eq!(
                response.header("content-range").map(str::to_string),
                Some(format!("bytes */{len}")),
                "{what}: {}",
                response.summary()
            );
            assert_eq!(
                response.content_length(),
                Some(response.body.len() as u64),
                "{what}"
            );
            assert!(
                !contains(&response.body, &data[..32]),
                "{what}: a 416 must not carry the file"
            );
        }
        // One satisfiable range among unsatisfiable ones is enough for a 206.
        let response = get_range(&site.server, path, &format!("bytes={len}-,0-4"));
        assert_partial(&response, data, 0, 4, "satisfiable among unsatisfiable");
    }
}

#[test]
fn invalid_range_syntax_is_ignored() {
    let site = Site::start();
    for (path, data, _) in site.files() {
        for range in [
            "bytes=5-2",
            "bytes=abc",
            "items=0-1",
            "bytes=+1-2",
            "bytes=1-+2",
            "bytes=",
            "bytes=-",
            "bytes=0-1;x",
            "bytes=0x1-2",
            "bytes 0-1",
            "bytes=0-1,5-2",
        ] {
            let response = get_range(&site.server, path, range);
            assert_whole(&response, data, &format!("GET {path} Range: {range}"));
        }
    }
}

#[test]
fn multiple_ranges_are_multipart_byteranges() {
    let site = Site::start();
    for (path, data, part_type) in site.files() {
        let len = data.len();
        let cases: Vec<(String, Vec<(usize, usize)>)> = vec![
            (
                "bytes=0-9,20-29,50-59".into(),
                vec![(0, 9), (20, 29), (50, 59)],
            ),
            // Sorted by position.
            ("bytes=50-59,0-9".into(), vec![(0, 9), (50, 59)]),
            // Suffix and open ranges mixed in, one of them clipped.
            (
                format!("bytes=-5,100-199,{}-{}", len - 50, len + 50),
                vec![(100, 199), (len - 50, len - 1)],
            ),
            // Spread over the whole of the file.
            (
                format!("bytes=0-0,{}-{},{}-", len / 2, len / 2 + len / 5, len - 3),
                vec![(0, 0), (len / 2, len / 2 + len / 5), (len - 3, len - 1)],
            ),
        ];
        for (range, expected) in cases {
            let what = format!("GET {path} Range: {range}");
            let response = get_range(&site.server, path, &range);
            assert_multipart(&response, data, part_type, &expected, &what);
        }
        // Two multipart responses do not share a boundary.
        let a = get_range(&site.server, path, "bytes=0-1,3-4");
        let b = get_range(&site.server, path, "bytes=0-1,3-4");
        assert_ne!(
            boundary_of(a.expect_header("content-type")),
            boundary_of(b.expect_header("content-type"))
        );
    }
}

#[test]
fn overlapping_and_adjacent_ranges_are_coalesced() {
    let site = Site::start();
    for (path, data, part_type) in site.files() {
        let response = get_range(&site.server, path, "bytes=0-20,10-30");
        assert_partial(&response, data, 0, 30, &format!("{path} 0-20,10-30"));
        assert_eq!(
            response.header("content-type"),
            Some(part_type),
            "{}",
            response.summary()
        );
        let response = get_range(&site.server, path, "bytes=0-9,10-19");
        assert_partial(&response, data, 0, 19, &format!("{path} adjacent"));
        // Coalesced, then still several: a multipart of the merged ranges.
        let response = get_range(&site.server, path, "bytes=40-49,0-20,10-30,45-60");
        assert_multipart(
            &response,
            data,
            part_type,
            &[(0, 30), (40, 60)],
            &format!("{path} overlapping pairs"),
        );
    }
}

#[test]
fn more_than_16_ranges_are_ignored() {
    let site = Site::start();
    let spec = |n: usize| -> (String, Vec<(usize, usize)>) {
        let ranges: Vec<(usize, usize)> = (0..n).map(|i| (i * 100, i * 100 + 9)).collect();
        let list: Vec<String> = ranges.iter().map(|(a, b)| format!("{a}-{b}")).collect();
        (format!("bytes={}", list.join(",")), ranges)
    };
    for (path, data, part_type) in site.files() {
        let (sixteen, expected) = spec(16);
        let response = get_range(&site.server, path, &sixteen);
        assert_multipart(&response, data, part_type, &expected, "16 ranges");
        let (seventeen, _) = spec(17);
        let response = get_range(&site.server, path, &seventeen);
        assert_whole(&response, data, &format!("{path}: 17 ranges"));
    }
}

#[test]
fn if_range_decides_between_206_and_200() {
    let site = Site::start();
    for (path, data, _) in site.files() {
        let full = send(&site.server, "GET", path, &[]);
        let etag = full.expect_header("etag").to_string();
        let last_modified = full.expect_header("last-modified").to_string();
        let weak = format!("W/{etag}");
        let ranged = |if_range: &str| {
            send(
                &site.server,
                "GET",
                path,
                &[("Range", "bytes=0-9"), ("If-Range", if_range)],
            )
        };
        assert_partial(&ranged(&etag), data, 0, 9, "If-Range: current ETag");
        assert_partial(
            &ranged(&last_modified),
            data,
            0,
            9,
            "If-Range: Last-Modified",
        );
        for other in [
            "\"1-2-3\"",
            weak.as_str(),
            "Sun, 09 Sep 2001 01:46:40 GMT",
            "not a validator",
        ] {
            assert_whole(&ranged(other), data, &format!("{path} If-Range: {other}"));
        }
    }
    // An ETag from before the file changed: the whole new file.
    let server = &site.server;
    let old = send(server, "GET", "/big.bin", &[]);
    let old_tag = old.expect_header("etag").to_string();
    let new_data = pseudo_random_bytes(BIG_LEN + 1, 99);
    let path = server.root().join("big.bin");
    std::fs::write(&path, &new_data).unwrap();
    // Large files are checked with an fstat before every response (README); allow for the
    // one-second revalidation anyway, in case the size check happens on the next lookup.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    let response = loop {
        let response = send(
            server,
            "GET",
            "/big.bin",
            &[("Range", "bytes=0-9"), ("If-Range", &old_tag)],
        );
        if response.content_length() == Some(new_data.len() as u64)
            || std::time::Instant::now() > deadline
        {
            break response;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert_whole(&response, &new_data, "If-Range with the old ETag");
}

#[test]
fn head_with_range_is_206_without_a_body() {
    let site = Site::start();
    for (path, data, _) in site.files() {
        let response = send(&site.server, "HEAD", path, &[("Range", "bytes=0-9")]);
        assert_eq!(response.status, 206, "{}", response.summary());
        assert_eq!(
            response.header("content-range").map(str::to_string),
            Some(format!("bytes 0-9/{}", data.len())),
            "{}",
            response.summary()
        );
        assert_eq!(
            response.content_length(),
            Some(10),
            "{}",
            response.summary()
        );
        // No body: `send` asserted that the server sent nothing after the head.
        // HEAD of a multipart: the same head as GET.
        let head = send(&site.server, "HEAD", path, &[("Range", "bytes=0-1,5-6")]);
        let get = get_range(&site.server, path, "bytes=0-1,5-6");
        assert_eq!(head.status, 206);
        assert_eq!(head.content_length(), get.content_length());
        boundary_of(head.expect_header("content-type"));
    }
}

#[test]
fn curl_ranges() {
    let site = Site::start();
    let dir = TempDir::new();
    for (path, data, part_type) in site.files() {
        let body = dir.path().join("body");
        let headers = dir.path().join("headers");
        let (body_s, headers_s) = (body.to_str().unwrap(), headers.to_str().unwrap());
        let url = site.server.url(path);
        let Some(output) = curl(&["-s", "-S", "-r", "0-99", "-o", body_s, &url]) else {
            return;
        };
        assert!(
            output.status.success(),
            "curl -r 0-99: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_same_bytes(&std::fs::read(&body).unwrap(), &data[..100], "curl -r 0-99");

        let output = curl(&[
            "-s",
            "-S",
            "-r",
            "0-9,20-29",
            "-D",
            headers_s,
            "-o",
            body_s,
            &url,
        ])
        .unwrap();
        assert!(
            output.status.success(),
            "curl -r 0-9,20-29: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let head = std::fs::read(&headers).unwrap();
        let head = parse_head(&head);
        let multipart = Response {
            body: std::fs::read(&body).unwrap(),
            ..head
        };
        assert_multipart(
            &multipart,
            data,
            part_type,
            &[(0, 9), (20, 29)],
            "curl -r 0-9,20-29",
        );
    }
}
