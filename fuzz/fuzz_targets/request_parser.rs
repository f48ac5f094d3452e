//! Pure request parsing: `find_head_end` (whole and incremental), `parse`, `path::normalize`
//! and `ChunkedDecoder` (whole and incremental), with their documented invariants.
//!
//! Input layout: 4 control bytes, then the bytes a client would send.
//! - `ctrl[0] & 3` picks `max_len` for `find_head_end`: the server's `MAX_HEAD_BYTES`, a
//!   small limit (16..=256, from `ctrl[0] >> 4`), 1, or exactly the buffer's length.
//! - `(ctrl[0] >> 2) & 3` picks `max_body_len`: 1 MiB, 0, 16, or `u64::MAX`.
//! - `ctrl[1..4]` are cycled as read sizes (`1 + (b & 31)`) for the incremental passes;
//!   `ctrl[1]` also picks the representation length a Range header is resolved against.
//!
//! A parsed request's Range, preconditions and Accept-Encoding go through `range::resolve`,
//! `conditional::evaluate` and `encoding::weight` too (invariants of resolved ranges checked).

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::time::{Duration, UNIX_EPOCH};
use tinyhttpd::http::Status;
use tinyhttpd::server::conn::MAX_HEAD_BYTES;

use tinyhttpd::http::chunked::ChunkedDecoder;
use tinyhttpd::http::conditional::{Validators, evaluate};
use tinyhttpd::http::encoding::{Coding, weight};
use tinyhttpd::http::path::normalize;
use tinyhttpd::http::range::{MAX_RANGES, RangeRequest, resolve};
use tinyhttpd::http::request::{Body, Method, Target, Version, find_head_end, parse};

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let (ctrl, buf) = data.split_at(4);
    let max_len = match ctrl[0] & 3 {
        0 => MAX_HEAD_BYTES,
        1 => 16 + 16 * usize::from(ctrl[0] >> 4),
        2 => 1,
        _ => buf.len(),
    };
    let max_body_len = match (ctrl[0] >> 2) & 3 {
        0 => 1 << 20,
        1 => 0,
        2 => 16,
        _ => u64::MAX,
    };
    let steps = [ctrl[1], ctrl[2], ctrl[3]];
    let step = |k: usize| 1 + usize::from(steps[k % steps.len()] & 31);

    // --- find_head_end: whole buffer ---
    let whole = find_head_end(buf, 0, max_len);
    check_head_end(buf, max_len, whole);

    // --- find_head_end: incremental, as the connection calls it (from = bytes scanned) ---
    let mut scanned = 0;
    let mut k = 0;
    let incremental = loop {
        let end = (scanned + step(k)).min(buf.len());
        k += 1;
        let prefix = &buf[..end];
        let result = find_head_end(prefix, scanned, max_len);
        check_head_end(prefix, max_len, result);
        match result {
            Ok(None) if end < buf.len() => scanned = end,
            _ => break result,
        }
    };
    match (whole, incremental) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "incremental find_head_end disagrees"),
        (Err(a), Err(b)) if a == b => {}
        // The one legitimate difference: a prefix already at `max_len` is refused as too
        // large, where the whole buffer reaches a bare LF past the limit first.
        (
            Err(Status::BadRequest),
            Err(Status::UriTooLong | Status::HeaderFieldsTooLarge | Status::NotImplemented),
        ) if buf.len() > max_len => {}
        (a, b) => panic!("find_head_end: whole {a:?} vs incremental {b:?}"),
    }

    // parse must never panic on anything, complete head or not.
    let _ = parse(buf, max_body_len);

    // normalize on the raw bytes too (reaches paths the request grammar rarely produces).
    check_normalized(buf);

    // --- the pipeline the connection runs ---
    let head_len = match whole {
        Ok(Some(len)) => Some(len),
        _ => None,
    };
    let mut decoder = ChunkedDecoder::new(max_body_len);
    if let Some(len) = head_len {
        let head = &buf[..len];
        match parse(head, max_body_len) {
            Ok(request) => {
                if let Target::Path { path, query } = request.target {
                    assert!(path.starts_with(b"/"), "path {path:?}");
                    assert!(!path.contains(&b'?') && !path.contains(&b'#'));
                    assert!(!query.is_some_and(|q| q.contains(&b'#')));
                    check_normalized(path);
                }
                if let Some(range) = request.range {
                    let len = match ctrl[1] >> 6 {
                        0 => 0,
                        1 => u64::from(ctrl[1] & 63),
                        2 => 40 * 1024,
                        _ => u64::MAX,
                    };
                    check_ranges(resolve(range, len), len);
                }
                let validators = Validators {
                    etag: b"\"5f3a-a000\"",
                    last_modified: Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000)),
                };
                let safe = matches!(request.method, Method::Get | Method::Head);
                let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
                let _ = evaluate(&request.conditions, safe, &validators, now);
                if let Some(accept) = request.accept_encoding {
                    for coding in Coding::ALL {
                        assert!(weight(accept, coding) <= 1000, "q-value over 1");
                    }
                }
                match request.body {
                    Body::None => {}
                    Body::Length(n) => assert!(n > 0 && n <= max_body_len, "length {n}"),
                    Body::Chunked(d) => {
                        assert_eq!(request.version, Version::Http11);
                        decoder = d;
                    }
                }
            }
            Err(status) => assert!(
                matches!(
                    status,
                    Status::BadRequest
                        | Status::NotImplemented
                        | Status::HeaderFieldsTooLarge
                        | Status::VersionNotSupported
                        | Status::ContentTooLarge
                        | Status::ExpectationFailed
                ),
                "parse refused with {status:?}"
            ),
        }
    }

    // --- ChunkedDecoder: the rest, whole and in reads; both must agree ---
    let rest = &buf[head_len.unwrap_or(0)..];
    let mut whole_decoder = decoder.clone();
    let whole_result = whole_decoder.feed(rest);
    if let Ok(used) = whole_result {
        assert!(used <= rest.len());
        if used < rest.len() {
            assert!(whole_decoder.is_done(), "stopped early without finishing");
        }
        if whole_decoder.is_done() {
            assert_eq!(whole_decoder.feed(b"0\r\n\r\n"), Ok(0), "fed after done");
        }
    }
    let mut split_decoder = decoder;
    let mut pos = 0;
    let mut k = 0;
    let split_result = loop {
        if pos == rest.len() || split_decoder.is_done() {
            break Ok(pos);
        }
        let end = (pos + step(k)).min(rest.len());
        k += 1;
        match split_decoder.feed(&rest[pos..end]) {
            Ok(used) => {
                assert!(used <= end - pos);
                pos += used;
                if pos < end {
                    assert!(split_decoder.is_done());
                }
            }
            Err(e) => break Err(e),
        }
    };
    assert_eq!(
        whole_result, split_result,
        "chunked decoder: whole vs split"
    );
    assert_eq!(whole_decoder.is_done(), split_decoder.is_done());
});

/// Resolved ranges are within the representation, sorted, disjoint and not adjacent.
fn check_ranges(resolved: RangeRequest, len: u64) {
    if let RangeRequest::Satisfiable(ranges) = resolved {
        assert!(!ranges.is_empty() && ranges.len() <= MAX_RANGES);
        for r in &ranges {
            assert!(r.first <= r.last && r.last < len, "{r:?} for length {len}");
        }
        for pair in ranges.windows(2) {
            assert!(
                pair[0].last.saturating_add(1) < pair[1].first,
                "{pair:?} not coalesced"
            );
        }
    }
}

/// What `find_head_end` promises about its answer for `buf`.
fn check_head_end(buf: &[u8], max_len: usize, result: Result<Option<usize>, Status>) {
    match result {
        Ok(Some(len)) => {
            assert!(len <= buf.len(), "head {len} > buffer {}", buf.len());
            assert!(len <= max_len, "head {len} over max_len {max_len}");
            let head = &buf[..len];
            assert!(
                head.ends_with(b"\r\n\r\n"),
                "head does not end with CRLF CRLF"
            );
            assert!(
                !head[..len - 1].windows(4).any(|w| w == b"\r\n\r\n"),
                "not the first CRLF CRLF"
            );
            assert_no_bare_lf(head);
        }
        Ok(None) => {
            assert!(
                buf.len() < max_len,
                "None at {} >= max_len {max_len}",
                buf.len()
            );
            assert!(
                !buf.windows(4).any(|w| w == b"\r\n\r\n"),
                "missed a head end"
            );
            assert_no_bare_lf(buf);
        }
        Err(status) => assert!(
            matches!(
                status,
                Status::BadRequest
                    | Status::UriTooLong
                    | Status::HeaderFieldsTooLarge
                    | Status::NotImplemented
            ),
            "find_head_end refused with {status:?}"
        ),
    }
}

fn assert_no_bare_lf(bytes: &[u8]) {
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' {
            assert!(i > 0 && bytes[i - 1] == b'\r', "bare LF at {i} accepted");
        }
    }
}

/// The invariants `normalize` documents for its result.
fn check_normalized(raw: &[u8]) {
    let mut buffer = Vec::new();
    let path = match normalize(raw, &mut buffer) {
        Ok(path) => path,
        Err(status) => {
            assert_eq!(status, Status::BadRequest);
            return;
        }
    };
    assert!(
        path.as_bytes().starts_with(b"/"),
        "canonical form {:?}",
        path.as_bytes()
    );
    let out = path.relative();
    assert!(!out.starts_with(b"/"), "leading slash: {out:?}");
    assert!(
        !out.iter()
            .any(|&b| b == 0 || b == b'\\' || b < 0x20 || b == 0x7f),
        "forbidden byte in {out:?}"
    );
    if out.is_empty() {
        assert!(path.trailing_slash(), "the root is a directory form");
    } else {
        for segment in out.split(|&b| b == b'/') {
            assert!(!segment.is_empty(), "empty segment in {out:?}");
            assert!(
                segment != b"." && segment != b"..",
                "dot segment in {out:?}"
            );
        }
    }
    if raw.ends_with(b"/") {
        assert!(path.trailing_slash());
    }
    // Normalising the result again (with `%` escaped, as it is decoded once) is a no-op.
    let mut again_raw = b"/".to_vec();
    for &b in out {
        if b == b'%' {
            again_raw.extend_from_slice(b"%25");
        } else {
            again_raw.push(b);
        }
    }
    let mut again_buffer = Vec::new();
    let again = normalize(&again_raw, &mut again_buffer).expect("a normalised path normalises");
    assert_eq!(again.trailing_slash(), out.is_empty());
    assert_eq!(again.relative(), out, "normalize is not idempotent");
}
