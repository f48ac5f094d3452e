//! Validators and conditional requests (RFC 9110 §8.8, §13): strong ETags and Last-Modified on
//! file responses, If-None-Match / If-Modified-Since (304), If-Match / If-Unmodified-Since
//! (412), their precedence, curl -z, and repeated precondition headers (400).

pub mod common;

use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::thread;
use std::time::{Duration, UNIX_EPOCH};

use common::*;

/// The mtime given to most test files: 1_000_000_000.5 s after the epoch, so the server's
/// Last-Modified is known in advance and the half second checks that dates compare in whole
/// seconds.
const MTIME_SECS: u64 = 1_000_000_000;
const MTIME_NANOS: u32 = 500_000_000;
/// `MTIME_SECS` as an IMF-fixdate, and one second either side of it.
const LAST_MODIFIED: &str = "Sun, 09 Sep 2001 01:46:40 GMT";
const ONE_SECOND_EARLIER: &str = "Sun, 09 Sep 2001 01:46:39 GMT";
const ONE_SECOND_LATER: &str = "Sun, 09 Sep 2001 01:46:41 GMT";

const TEXT: &str = "conditional requests, the small file\n";

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// Sets the modification time of `path` to `MTIME_SECS.MTIME_NANOS`.
fn set_fixed_mtime(path: &Path) {
    let file = File::options()
        .write(true)
        .open(path)
        .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    file.set_modified(UNIX_EPOCH + Duration::new(MTIME_SECS, MTIME_NANOS))
        .unwrap_or_else(|e| panic!("set mtime of {}: {e}", path.display()));
}

/// A server with `/t.txt` (small, in memory), `/big.bin` (100 KiB, sent with sendfile) and
/// `/index.html`, all with the fixed mtime.
fn site() -> (Server, Vec<u8>) {
    let server = Server::start(&[]);
    let big = pseudo_random_bytes(100 * 1024, 0xc0d1);
    for (name, bytes) in [
        ("t.txt", TEXT.as_bytes()),
        ("big.bin", &big[..]),
        ("index.html", b"<h1>conditional index</h1>\n"),
    ] {
        let path = server.write(name, bytes);
        set_fixed_mtime(&path);
    }
    (server, big)
}

fn send(server: &Server, method: &str, target: &str, headers: &[(&str, &str)]) -> Response {
    send_closing(server.addr(), method, target, headers)
}

fn get(server: &Server, target: &str, headers: &[(&str, &str)]) -> Response {
    send(server, "GET", target, headers)
}

/// Describes a request for failure messages.
fn describe(target: &str, headers: &[(&str, &str)]) -> String {
    format!("GET {target} with {headers:?}")
}

/// Asserts a full 200 with exactly `body`.
fn assert_full(response: &Response, body: &[u8], what: &str) {
    assert_eq!(response.status, 200, "{what}: {}", response.summary());
    assert_eq!(
        response.content_length(),
        Some(body.len() as u64),
        "{what}: {}",
        response.summary()
    );
    assert!(response.body == body, "{what}: body differs from the file");
}

/// Asserts a 304 for a representation with `etag`: validators present, no Content-Length,
/// and no body (the helpers already checked that nothing follows the head).
fn assert_not_modified(response: &Response, etag: &str, what: &str) {
    assert_eq!(response.status, 304, "{what}: {}", response.summary());
    assert_eq!(
        response.header("etag"),
        Some(etag),
        "{what}: 304 must carry the ETag: {}",
        response.summary()
    );
    assert_eq!(
        response.header("last-modified"),
        Some(LAST_MODIFIED),
        "{what}: 304 must carry Last-Modified: {}",
        response.summary()
    );
    assert_eq!(
        response.header("content-length"),
        None,
        "{what}: 304 must not have Content-Length: {}",
        response.summary()
    );
    // No body: `send` asserted that nothing follows the head.
}

fn assert_precondition_failed(response: &Response, what: &str) {
    assert_eq!(response.status, 412, "{what}: {}", response.summary());
    assert_eq!(
        response.content_length(),
        Some(response.body.len() as u64),
        "{what}: {}",
        response.summary()
    );
    assert!(!response.body.is_empty(), "{what}: error without its page");
    assert_eq!(response.header("etag"), None, "{what}: 412 is not the file");
}

/// Checks an ETag is strong and well-formed: `"..."`, no `W/`, only etagc inside, and (per
/// the README) `"size-mtime"` in hex, with the file's size. (It was `"inode-size-mtime"`
/// until the inode was dropped so that replicas agree: see tests/etags.rs.)
fn assert_strong_etag(etag: &str, path: &Path, what: &str) {
    assert!(!etag.starts_with("W/"), "{what}: weak ETag {etag:?}");
    let inner = etag
        .strip_prefix('"')
        .and_then(|e| e.strip_suffix('"'))
        .unwrap_or_else(|| panic!("{what}: ETag not quoted: {etag:?}"));
    assert!(
        !inner.is_empty()
            && inner
                .bytes()
                .all(|b| b == 0x21 || (0x23..=0x7e).contains(&b)),
        "{what}: bad ETag characters: {etag:?}"
    );
    let metadata = std::fs::metadata(path).unwrap();
    let fields: Vec<&str> = inner.split('-').collect();
    assert_eq!(fields.len(), 2, "{what}: ETag {etag:?} is not size-mtime");
    assert_eq!(
        fields[0],
        format!("{:x}", metadata.len()),
        "{what}: ETag {etag:?} size"
    );
    let mtime_ns = i128::from(metadata.mtime()) * 1_000_000_000 + i128::from(metadata.mtime_nsec());
    assert_eq!(
        fields[1],
        format!("{mtime_ns:x}"),
        "{what}: ETag {etag:?} mtime"
    );
}

const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Seconds since the epoch as an IMF-fixdate (RFC 9110 §5.6.7).
fn http_date(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap();
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        WEEKDAYS[usize::try_from(days.rem_euclid(7)).unwrap()],
        day,
        MONTHS[usize::try_from(month - 1).unwrap()],
        year,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The file's mtime in whole seconds, as an HTTP date.
fn mtime_date(path: &Path) -> String {
    let modified = std::fs::metadata(path).unwrap().modified().unwrap();
    http_date(modified.duration_since(UNIX_EPOCH).unwrap().as_secs())
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[test]
fn date_helper_formats_known_dates() {
    // The helper the other tests rely on, against dates from RFC 9110 and elsewhere.
    assert_eq!(http_date(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
    assert_eq!(http_date(MTIME_SECS), LAST_MODIFIED);
    assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
    assert_eq!(http_date(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
}

/// Method, target, extra headers, expected status, file (relative to the root) served.
type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], u16, &'a str);

#[test]
fn every_file_response_has_a_strong_etag_and_last_modified() {
    let (server, big) = site();
    let root = server.root().to_path_buf();
    let cases: &[Case] = &[
        ("GET", "/t.txt", &[], 200, "t.txt"),
        ("HEAD", "/t.txt", &[], 200, "t.txt"),
        ("GET", "/big.bin", &[], 200, "big.bin"),
        ("HEAD", "/big.bin", &[], 200, "big.bin"),
        ("GET", "/", &[], 200, "index.html"),
        ("GET", "/big.bin", &[("Range", "bytes=0-9")], 206, "big.bin"),
    ];
    for &(method, target, headers, status, file) in cases {
        let what = format!("{method} {target} {headers:?}");
        let response = send(&server, method, target, headers);
        assert_eq!(response.status, status, "{what}: {}", response.summary());
        let etag = response
            .header("etag")
            .unwrap_or_else(|| panic!("{what}: no ETag: {}", response.summary()));
        assert_strong_etag(etag, &root.join(file), &what);
        assert_eq!(
            response.header("last-modified"),
            Some(LAST_MODIFIED),
            "{what}: {}",
            response.summary()
        );
    }
    // The same representation has the same tag every time; different files differ.
    let a = get(&server, "/t.txt", &[]);
    let b = get(&server, "/t.txt", &[]);
    let c = get(&server, "/big.bin", &[]);
    assert_full(&c, &big, "GET /big.bin");
    assert_eq!(a.header("etag"), b.header("etag"));
    assert_ne!(a.header("etag"), c.header("etag"));

    // A file with its real, current mtime: Last-Modified is that mtime in whole seconds.
    let fresh = server.write("fresh.txt", "fresh\n");
    let response = get(&server, "/fresh.txt", &[]);
    assert_full(&response, b"fresh\n", "GET /fresh.txt");
    assert_strong_etag(response.expect_header("etag"), &fresh, "GET /fresh.txt");
    assert_eq!(
        response.header("last-modified").map(str::to_string),
        Some(mtime_date(&fresh)),
        "{}",
        response.summary()
    );
}

#[test]
fn etag_changes_when_the_file_changes() {
    let server = Server::start(&[]);
    let small = server.write("small.txt", "version one\n");
    let big_v1 = pseudo_random_bytes(64 * 1024, 1);
    let big = server.write("big.bin", &big_v1);

    let small_1 = get(&server, "/small.txt", &[]);
    assert_full(&small_1, b"version one\n", "small v1");
    let big_1 = get(&server, "/big.bin", &[]);
    assert_full(&big_1, &big_v1, "big v1");
    let small_tag_1 = small_1.expect_header("etag").to_string();
    let big_tag_1 = big_1.expect_header("etag").to_string();
    // Both are current before the change.
    assert_eq!(
        get(&server, "/small.txt", &[("If-None-Match", &small_tag_1)]).status,
        304
    );

    // Rewrite both in place with a different size, then wait out the 1 s cache revalidation.
    std::fs::write(&small, "version two, longer\n").unwrap();
    let big_v2 = pseudo_random_bytes(70 * 1024, 2);
    std::fs::write(&big, &big_v2).unwrap();
    thread::sleep(Duration::from_millis(1200));

    let small_2 = get(&server, "/small.txt", &[]);
    assert_full(&small_2, b"version two, longer\n", "small v2");
    let big_2 = get(&server, "/big.bin", &[]);
    assert_full(&big_2, &big_v2, "big v2");
    let small_tag_2 = small_2.expect_header("etag").to_string();
    let big_tag_2 = big_2.expect_header("etag").to_string();
    assert_ne!(small_tag_1, small_tag_2, "small file's ETag did not change");
    assert_ne!(big_tag_1, big_tag_2, "big file's ETag did not change");
    assert_strong_etag(&small_tag_2, &small, "small v2");
    assert_strong_etag(&big_tag_2, &big, "big v2");

    // The old tag no longer matches; the new one does.
    let stale = get(&server, "/small.txt", &[("If-None-Match", &small_tag_1)]);
    assert_full(
        &stale,
        b"version two, longer\n",
        "If-None-Match with the old tag",
    );
    let stale = get(&server, "/big.bin", &[("If-None-Match", &big_tag_1)]);
    assert_full(&stale, &big_v2, "If-None-Match with the old tag (big)");
    let current = get(&server, "/small.txt", &[("If-None-Match", &small_tag_2)]);
    assert_eq!(current.status, 304, "{}", current.summary());
}

#[test]
fn if_none_match() {
    let (server, big) = site();
    for (target, body) in [("/t.txt", TEXT.as_bytes()), ("/big.bin", &big[..])] {
        let etag = get(&server, target, &[]).expect_header("etag").to_string();
        let weak = format!("W/{etag}");
        let list = format!("\"nope-1\", {etag}, \"nope-2\"");
        for value in [etag.as_str(), weak.as_str(), list.as_str(), "*"] {
            let headers = [("If-None-Match", value)];
            let what = describe(target, &headers);
            assert_not_modified(&get(&server, target, &headers), &etag, &what);
            let head = send(&server, "HEAD", target, &headers);
            assert_not_modified(&head, &etag, &format!("HEAD: {what}"));
        }
        for value in ["\"another-tag\"", "\"nope-1\", W/\"nope-2\""] {
            let headers = [("If-None-Match", value)];
            let what = describe(target, &headers);
            let response = get(&server, target, &headers);
            assert_full(&response, body, &what);
            assert_eq!(response.header("etag"), Some(etag.as_str()), "{what}");
        }
    }
}

#[test]
fn if_modified_since() {
    let (server, _big) = site();
    let etag = get(&server, "/t.txt", &[])
        .expect_header("etag")
        .to_string();
    for date in [
        LAST_MODIFIED,
        ONE_SECOND_LATER,
        "Sat, 01 Jan 2011 00:00:00 GMT",
    ] {
        let headers = [("If-Modified-Since", date)];
        let what = describe("/t.txt", &headers);
        assert_not_modified(&get(&server, "/t.txt", &headers), &etag, &what);
        let head = send(&server, "HEAD", "/t.txt", &headers);
        assert_not_modified(&head, &etag, &format!("HEAD: {what}"));
    }
    for date in [
        ONE_SECOND_EARLIER,
        "Thu, 01 Jan 1970 00:00:00 GMT",
        "not a date",
        "Sun, 09 Sep 2001 01:46:40",
        "2001-09-09T01:46:40Z",
    ] {
        let headers = [("If-Modified-Since", date)];
        assert_full(
            &get(&server, "/t.txt", &headers),
            TEXT.as_bytes(),
            &describe("/t.txt", &headers),
        );
    }
    // If-None-Match takes precedence: a non-matching tag means 200 even if the date matches.
    let headers = [
        ("If-None-Match", "\"another-tag\""),
        ("If-Modified-Since", LAST_MODIFIED),
    ];
    assert_full(
        &get(&server, "/t.txt", &headers),
        TEXT.as_bytes(),
        &describe("/t.txt", &headers),
    );
    // ...and a matching tag is 304 even with an old date.
    let headers = [
        ("If-None-Match", etag.as_str()),
        ("If-Modified-Since", ONE_SECOND_EARLIER),
    ];
    assert_not_modified(
        &get(&server, "/t.txt", &headers),
        &etag,
        &describe("/t.txt", &headers),
    );

    // A file with its real mtime (sub-second part and all): its own Last-Modified is 304.
    server.write("now.txt", "now\n");
    let response = get(&server, "/now.txt", &[]);
    let last_modified = response.expect_header("last-modified").to_string();
    let again = get(
        &server,
        "/now.txt",
        &[("If-Modified-Since", &last_modified)],
    );
    assert_eq!(again.status, 304, "{}", again.summary());
}

#[test]
fn if_match_and_if_unmodified_since() {
    let (server, big) = site();
    for (target, body) in [("/t.txt", TEXT.as_bytes()), ("/big.bin", &big[..])] {
        let etag = get(&server, target, &[]).expect_header("etag").to_string();
        let weak = format!("W/{etag}");
        let list = format!("\"nope\", {etag}");
        for value in [etag.as_str(), list.as_str(), "*"] {
            let headers = [("If-Match", value)];
            assert_full(
                &get(&server, target, &headers),
                body,
                &describe(target, &headers),
            );
        }
        // Strong comparison: a weak tag never matches; nor does another tag.
        for value in ["\"another-tag\"", weak.as_str()] {
            let headers = [("If-Match", value)];
            assert_precondition_failed(
                &get(&server, target, &headers),
                &describe(target, &headers),
            );
            let head = send(&server, "HEAD", target, &headers);
            assert_eq!(
                head.status,
                412,
                "HEAD {target} {headers:?}: {}",
                head.summary()
            );
        }
        // If-Unmodified-Since: an earlier date fails, the same (or a later) one passes.
        let headers = [("If-Unmodified-Since", ONE_SECOND_EARLIER)];
        assert_precondition_failed(&get(&server, target, &headers), &describe(target, &headers));
        for date in [LAST_MODIFIED, ONE_SECOND_LATER, "garbage"] {
            let headers = [("If-Unmodified-Since", date)];
            assert_full(
                &get(&server, target, &headers),
                body,
                &describe(target, &headers),
            );
        }
        // If-Match is evaluated first: failing, it wins over a matching If-None-Match.
        let headers = [
            ("If-Match", "\"another-tag\""),
            ("If-None-Match", etag.as_str()),
        ];
        assert_precondition_failed(&get(&server, target, &headers), &describe(target, &headers));
        // A matching If-Match makes If-Unmodified-Since irrelevant (§13.2.2 step 2).
        let headers = [
            ("If-Match", etag.as_str()),
            ("If-Unmodified-Since", ONE_SECOND_EARLIER),
        ];
        assert_full(
            &get(&server, target, &headers),
            body,
            &describe(target, &headers),
        );
        // Passing If-Match, then a matching If-None-Match: 304.
        let headers = [
            ("If-Match", etag.as_str()),
            ("If-None-Match", etag.as_str()),
        ];
        assert_not_modified(
            &get(&server, target, &headers),
            &etag,
            &describe(target, &headers),
        );
    }
}

#[test]
fn curl_z_gets_304_for_a_current_copy() {
    let (server, _big) = site();
    let url = server.url("/t.txt");
    let last_modified = get(&server, "/t.txt", &[])
        .expect_header("last-modified")
        .to_string();
    assert_eq!(last_modified, LAST_MODIFIED);
    let code = |z: &str| -> Option<String> {
        let output = curl(&["-s", "-o", "/dev/null", "-w", "%{http_code}", "-z", z, &url])?;
        assert!(
            output.status.success(),
            "curl -z {z:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        Some(String::from_utf8_lossy(&output.stdout).into_owned())
    };
    // The date string the server sent: not modified since.
    let Some(same) = code(&last_modified) else {
        return;
    };
    assert_eq!(same, "304", "curl -z {last_modified:?}");
    // An earlier date: the file is newer, so it is sent.
    assert_eq!(code(ONE_SECOND_EARLIER).unwrap(), "200");
    // A local file newer than the server's copy (curl sends its mtime): 304.
    let local = server.base().join("local-copy.txt");
    std::fs::write(&local, TEXT).unwrap();
    File::options()
        .write(true)
        .open(&local)
        .unwrap()
        .set_modified(UNIX_EPOCH + Duration::from_secs(MTIME_SECS + 3600))
        .unwrap();
    assert_eq!(code(local.to_str().unwrap()).unwrap(), "304");
    // A local file older than the server's copy: 200.
    File::options()
        .write(true)
        .open(&local)
        .unwrap()
        .set_modified(UNIX_EPOCH + Duration::from_secs(MTIME_SECS - 3600))
        .unwrap();
    assert_eq!(code(local.to_str().unwrap()).unwrap(), "200");
}

#[test]
fn repeated_precondition_headers_are_400() {
    let (server, _big) = site();
    let etag = get(&server, "/t.txt", &[])
        .expect_header("etag")
        .to_string();
    let repeated: &[(&str, &str, &str)] = &[
        ("If-None-Match", &etag, "\"other\""),
        ("If-None-Match", &etag, &etag),
        ("If-Match", &etag, &etag),
        ("If-Modified-Since", LAST_MODIFIED, LAST_MODIFIED),
        ("If-Unmodified-Since", LAST_MODIFIED, LAST_MODIFIED),
        ("If-Range", &etag, &etag),
        ("Range", "bytes=0-1", "bytes=0-1"),
    ];
    for &(name, first, second) in repeated {
        let request = format!(
            "GET /t.txt HTTP/1.1\r\nHost: localhost\r\n{name}: {first}\r\n{name}: {second}\r\n\r\n"
        );
        expect_error_and_close(&server, request, 400);
    }
    // Sanity: one of each is fine.
    let response = get(&server, "/t.txt", &[("If-None-Match", "\"other\"")]);
    assert_full(&response, TEXT.as_bytes(), "single If-None-Match");
}

/// RFC 9110 §13.1.3: an If-Modified-Since later than the server's clock is invalid and
/// ignored, so a file modified at any time gets 200, not 304.
#[test]
fn if_modified_since_in_the_future_is_ignored() {
    let (server, _) = site();
    let now = std::time::SystemTime::now();
    for ahead in [Duration::from_secs(3600), Duration::from_secs(400 * 86_400)] {
        let date = httpdate::fmt_http_date(now + ahead);
        let response = send(&server, "GET", "/t.txt", &[("If-Modified-Since", &date)]);
        assert_eq!(response.status, 200, "{date}: {}", response.summary());
        assert_eq!(response.body, TEXT.as_bytes());
    }
    // A date in the past that is not before Last-Modified still gives 304.
    let response = send(
        &server,
        "GET",
        "/t.txt",
        &[("If-Modified-Since", ONE_SECOND_LATER)],
    );
    assert_eq!(response.status, 304, "{}", response.summary());
}
