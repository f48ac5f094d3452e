//! Static-site features: precompressed variants, `--cache-control`, `--autoindex`, `--index`,
//! `--default-type`, `--error-page`, and the access log (to a file and to stdout, and what a
//! SIGTERM leaves in it).

pub mod common;

use std::io::Read;
use std::net::IpAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::*;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn send(
    addr: std::net::SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
) -> Response {
    send_closing(addr, method, target, headers)
}

fn get(server: &Server, target: &str, headers: &[(&str, &str)]) -> Response {
    send(server.addr(), "GET", target, headers)
}

fn assert_body(response: &Response, status: u16, body: &[u8], what: &str) {
    assert_eq!(response.status, status, "{what}: {}", response.summary());
    assert_eq!(
        response.content_length(),
        Some(body.len() as u64),
        "{what}: {}",
        response.summary()
    );
    assert!(
        response.body == body,
        "{what}: body {} differs from {}",
        preview(&response.body),
        preview(body)
    );
}

// ---------------------------------------------------------------------------------------------
// Precompressed variants
// ---------------------------------------------------------------------------------------------

const TEXT_TYPE: &str = "text/plain; charset=utf-8";

fn some_text(tag: &str) -> Vec<u8> {
    (0..200)
        .map(|i| format!("{tag}: line {i} of a text worth compressing\n"))
        .collect::<String>()
        .into_bytes()
}

/// Runs `gzip -k` on `path`, leaving `path.gz`; `false` (with a note) if gzip is missing.
fn gzip_keep(path: &Path) -> bool {
    match Command::new("gzip").arg("-k").arg(path).status() {
        Ok(status) => {
            assert!(status.success(), "gzip -k {}: {status}", path.display());
            true
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("note: gzip is not installed; skipping the precompressed-file test");
            false
        }
        Err(e) => panic!("cannot run gzip: {e}"),
    }
}

#[test]
fn precompressed_variants_are_chosen_by_accept_encoding() {
    // Siblings only: compressing on the fly would offer every coding for every text file.
    let server = Server::start(&["--no-compress"]);
    let text = some_text("t");
    let path = server.write("t.txt", &text);
    if !gzip_keep(&path) {
        return;
    }
    let gz = std::fs::read(server.root().join("t.txt.gz")).unwrap();
    assert!(gz.starts_with(&[0x1f, 0x8b]), "gzip -k made no gzip file");
    let br = b"not really brotli, only the choice is checked".to_vec();
    server.write("t.txt.br", &br);
    server.write("plain.txt", &text);

    let identity = get(&server, "/t.txt", &[]);
    assert_body(&identity, 200, &text, "no Accept-Encoding");
    assert_eq!(identity.header("content-encoding"), None);
    assert_eq!(identity.header("content-type"), Some(TEXT_TYPE));
    assert_eq!(
        identity.header("vary"),
        Some("Accept-Encoding"),
        "a file with variants varies even when identity is sent: {}",
        identity.summary()
    );
    let identity_tag = identity.expect_header("etag").to_string();

    let cases: &[(&str, Option<&str>)] = &[
        ("gzip", Some("gzip")),
        ("br, gzip", Some("br")),
        ("gzip, br", Some("br")),
        ("gzip;q=1, br;q=0.5", Some("gzip")),
        ("br;q=0.2, gzip;q=0.9", Some("gzip")),
        ("br", Some("br")),
        ("*", Some("br")),
        ("gzip;q=0", None),
        ("br;q=0, gzip;q=0", None),
        ("identity", None),
        ("deflate", None),
    ];
    let mut tags = Vec::new();
    for &(accept, coding) in cases {
        let what = format!("Accept-Encoding: {accept}");
        let response = get(&server, "/t.txt", &[("Accept-Encoding", accept)]);
        let want: &[u8] = match coding {
            Some("gzip") => &gz,
            Some(_) => &br,
            None => &text,
        };
        assert_body(&response, 200, want, &what);
        assert_eq!(
            response.header("content-encoding"),
            coding,
            "{what}: {}",
            response.summary()
        );
        assert_eq!(
            response.header("content-type"),
            Some(TEXT_TYPE),
            "{what}: the variant has the original's type"
        );
        assert_eq!(
            response.header("vary"),
            Some("Accept-Encoding"),
            "{what}: {}",
            response.summary()
        );
        let tag = response.expect_header("etag").to_string();
        assert!(!tag.starts_with("W/"), "{what}: weak ETag {tag}");
        tags.push((coding, tag));
    }
    // Each representation has its own tag, the same every time it is chosen.
    for (coding, tag) in &tags {
        for (other_coding, other_tag) in &tags {
            assert_eq!(
                coding == other_coding,
                tag == other_tag,
                "ETags of {coding:?} ({tag}) and {other_coding:?} ({other_tag})"
            );
        }
        if coding.is_none() {
            assert_eq!(tag, &identity_tag);
        }
    }
    let gzip_tag = &tags[0].1;
    assert_ne!(
        gzip_tag, &identity_tag,
        "the gzip variant needs its own ETag"
    );

    // Preconditions apply to the variant sent.
    let gzip = [("Accept-Encoding", "gzip")];
    let response = get(&server, "/t.txt", &[gzip[0], ("If-None-Match", gzip_tag)]);
    assert_eq!(response.status, 304, "{}", response.summary());
    assert_eq!(response.header("etag"), Some(gzip_tag.as_str()));
    assert_eq!(response.header("vary"), Some("Accept-Encoding"));
    let response = get(
        &server,
        "/t.txt",
        &[gzip[0], ("If-None-Match", &identity_tag)],
    );
    assert_body(&response, 200, &gz, "gzip with the identity's tag");

    // A range of the gzip variant is bytes of the .gz file.
    let response = get(&server, "/t.txt", &[gzip[0], ("Range", "bytes=0-9")]);
    assert_body(&response, 206, &gz[..10], "range of the gzip variant");
    assert_eq!(response.header("content-encoding"), Some("gzip"));
    assert_eq!(
        response.header("content-range").map(str::to_string),
        Some(format!("bytes 0-9/{}", gz.len())),
        "{}",
        response.summary()
    );
    let tail = format!("bytes={}-", gz.len() - 7);
    let response = get(&server, "/t.txt", &[gzip[0], ("Range", &tail)]);
    assert_body(
        &response,
        206,
        &gz[gz.len() - 7..],
        "tail of the gzip variant",
    );

    // A file without variants: identity and no Vary, whatever the client accepts.
    let plain = get(&server, "/plain.txt", &[("Accept-Encoding", "gzip, br")]);
    assert_body(&plain, 200, &text, "plain.txt");
    assert_eq!(plain.header("vary"), None, "{}", plain.summary());
    assert_eq!(plain.header("content-encoding"), None);
}

#[test]
fn curl_compressed_gets_the_original_text() {
    let server = Server::start(&["--no-compress"]);
    let text = some_text("u");
    // Only a gzip variant: curl also accepts br, and the br file of the other test is fake.
    let path = server.write("u.txt", &text);
    if !gzip_keep(&path) {
        return;
    }
    let dir = TempDir::new();
    let out = dir.path().join("out");
    let headers = dir.path().join("headers");
    let Some(output) = curl(&[
        "-s",
        "-S",
        "--compressed",
        "-D",
        headers.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        &server.url("/u.txt"),
    ]) else {
        return;
    };
    assert!(
        output.status.success(),
        "curl --compressed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let head = parse_head(&std::fs::read(&headers).unwrap());
    assert_eq!(
        head.header("content-encoding"),
        Some("gzip"),
        "curl --compressed should have been sent the gzip file: {}",
        head.summary()
    );
    assert!(
        std::fs::read(&out).unwrap() == text,
        "curl --compressed did not decode to the original"
    );
}

// ---------------------------------------------------------------------------------------------
// --cache-control
// ---------------------------------------------------------------------------------------------

#[test]
fn cache_control_on_successful_file_responses_only() {
    const VALUE: &str = "public, max-age=60";
    let server = Server::start(&["--cache-control", VALUE]);
    server.write("c.txt", "cache me\n");
    let ok = get(&server, "/c.txt", &[]);
    assert_body(&ok, 200, b"cache me\n", "200");
    let etag = ok.expect_header("etag").to_string();
    let cases = [
        (None, 200),
        (Some(("Range", "bytes=0-4")), 206),
        (Some(("If-None-Match", etag.as_str())), 304),
    ];
    for (header, status) in cases {
        let headers: Vec<(&str, &str)> = header.into_iter().collect();
        let response = get(&server, "/c.txt", &headers);
        assert_eq!(response.status, status, "{}", response.summary());
        assert_eq!(
            response.header("cache-control"),
            Some(VALUE),
            "{status}: {}",
            response.summary()
        );
    }
    let head = send(server.addr(), "HEAD", "/c.txt", &[]);
    assert_eq!(
        head.header("cache-control"),
        Some(VALUE),
        "{}",
        head.summary()
    );
    let missing = get(&server, "/missing.txt", &[]);
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.header("cache-control"),
        None,
        "a 404 must not be cached for a minute: {}",
        missing.summary()
    );
    // Without the flag: no Cache-Control at all.
    let plain = Server::start(&[]);
    plain.write("c.txt", "cache me\n");
    let response = get(&plain, "/c.txt", &[]);
    assert_eq!(
        response.header("cache-control"),
        None,
        "{}",
        response.summary()
    );
}

// ---------------------------------------------------------------------------------------------
// --autoindex, --index, --default-type, --error-page
// ---------------------------------------------------------------------------------------------

/// `(href, text)` of every `<a href="...">text</a>` in `html`, in order.
fn links(html: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<a href=\"") {
        rest = &rest[start + "<a href=\"".len()..];
        let end = rest.find('"').expect("unterminated href");
        let href = rest[..end].to_string();
        rest = &rest[end + 1..];
        let open_end = rest.find('>').expect("unterminated <a>");
        rest = &rest[open_end + 1..];
        let close = rest.find("</a>").expect("no </a>");
        out.push((href, rest[..close].to_string()));
        rest = &rest[close + 4..];
    }
    out
}

/// Decodes HTML character references; panics on a bare `&`, or a raw `<`, `>`, `"` or `'`
/// (which an escaped name can never contain).
fn html_unescape(text: &str) -> String {
    assert!(
        !text.contains(['<', '>', '"', '\'']),
        "unescaped markup character in {text:?}"
    );
    let mut out = String::new();
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let semi = rest[amp..]
            .find(';')
            .unwrap_or_else(|| panic!("bare & in {text:?}"));
        let entity = &rest[amp + 1..amp + semi];
        let decoded = match entity {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let code = if let Some(hex) = entity
                    .strip_prefix("#x")
                    .or_else(|| entity.strip_prefix("#X"))
                {
                    u32::from_str_radix(hex, 16).ok()
                } else {
                    entity.strip_prefix('#').and_then(|d| d.parse().ok())
                };
                code.and_then(char::from_u32)
                    .unwrap_or_else(|| panic!("unknown entity &{entity}; in {text:?}"))
            }
        };
        out.push(decoded);
        rest = &rest[amp + semi + 1..];
    }
    out.push_str(rest);
    out
}

/// Decodes a percent-encoded href; panics if it holds anything but unreserved characters,
/// `/` and `%XX` (a name must not be able to break out of the attribute or the path).
fn percent_decode_href(href: &str) -> Vec<u8> {
    let bytes = href.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hex = href
                .get(i + 1..i + 3)
                .unwrap_or_else(|| panic!("short escape in {href:?}"));
            out.push(u8::from_str_radix(hex, 16).unwrap_or_else(|_| panic!("bad escape {href:?}")));
            i += 3;
        } else {
            assert!(
                b.is_ascii_alphanumeric() || b"-._~/".contains(&b),
                "unescaped byte {:?} in href {href:?}",
                char::from(b)
            );
            out.push(b);
            i += 1;
        }
    }
    out
}

#[test]
fn autoindex_lists_escaped_entries_directories_first() {
    let server = Server::start(&["--autoindex"]);
    let files = ["a b.txt", "x&<>\"'.txt", "café.txt", "plain.txt"];
    for name in files {
        server.write(&format!("list/{name}"), "12345");
    }
    server.write("list/.hidden", "secret");
    server.mkdir("list/.hidden-dir");
    server.mkdir("list/zz-dir");
    server.mkdir("list/b dir");
    server.write("withindex/index.html", "<h1>the index</h1>\n");
    server.write("withindex/other.txt", "other");

    let response = get(&server, "/list/", &[]);
    assert_eq!(response.status, 200, "{}", response.summary());
    let content_type = response.expect_header("content-type");
    assert!(
        content_type.starts_with("text/html"),
        "listing type {content_type:?}"
    );
    let html = String::from_utf8(response.body.clone()).expect("listing is UTF-8");
    assert!(!html.contains("hidden"), "dotfiles listed: {html}");

    // Every link: href percent-decodes to the name on disk, text HTML-unescapes to it.
    let mut entries = Vec::new();
    for (href, text) in links(&html) {
        let decoded = percent_decode_href(&href);
        let decoded = String::from_utf8(decoded).expect("href decodes to UTF-8");
        let name = decoded.strip_prefix("./").unwrap_or(&decoded).to_string();
        let shown = html_unescape(&text);
        let shown = shown.strip_suffix('/').unwrap_or(&shown);
        let (name, is_dir) = match name.strip_suffix('/') {
            Some(dir) => (dir.to_string(), true),
            None => (name, false),
        };
        assert_eq!(shown, name, "link text vs href {href:?}");
        entries.push((name, is_dir));
    }
    assert!(
        entries.iter().any(|(name, is_dir)| name == ".." && *is_dir),
        "no link to the parent directory in a subdirectory listing: {html}"
    );
    let listed: Vec<&(String, bool)> = entries.iter().filter(|(n, _)| n != "..").collect();
    let mut want: Vec<(String, bool)> = vec![("b dir".into(), true), ("zz-dir".into(), true)];
    let mut sorted_files: Vec<&str> = files.to_vec();
    sorted_files.sort();
    want.extend(sorted_files.iter().map(|f| (f.to_string(), false)));
    assert_eq!(
        listed.into_iter().cloned().collect::<Vec<_>>(),
        want,
        "entries (directories first, then files, each by name)"
    );
    // The escaped forms themselves, so the check above cannot pass on a lenient parser.
    assert!(html.contains("x&amp;&lt;&gt;&quot;"), "{html}");
    assert!(
        html.contains("caf%C3%A9.txt") || html.contains("caf%c3%a9.txt"),
        "{html}"
    );
    assert!(html.contains("a%20b.txt"), "{html}");

    // Each link works.
    for (name, is_dir) in &entries {
        if *is_dir {
            continue;
        }
        let encoded: String = name
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        let file = get(&server, &format!("/list/{encoded}"), &[]);
        assert_body(&file, 200, b"12345", &format!("listed file {name:?}"));
    }

    // A directory with an index file serves the index, even with --autoindex.
    let index = get(&server, "/withindex/", &[]);
    assert_body(
        &index,
        200,
        b"<h1>the index</h1>\n",
        "directory with index.html",
    );

    // Without --autoindex: 403.
    let plain = Server::start(&[]);
    plain.write("list/a.txt", "a");
    let response = get(&plain, "/list/", &[]);
    assert_eq!(response.status, 403, "{}", response.summary());
    assert!(
        !contains(&response.body, b"a.txt"),
        "403 lists the directory"
    );
}

#[test]
fn index_flag_names_the_directory_file() {
    let server = Server::start(&["--index", "default.htm"]);
    server.write("d/default.htm", "<p>default</p>\n");
    server.write("d/index.html", "<p>not this</p>\n");
    server.write("default.htm", "<p>root default</p>\n");
    let response = get(&server, "/d/", &[]);
    assert_body(
        &response,
        200,
        b"<p>default</p>\n",
        "/d/ with --index default.htm",
    );
    assert!(
        response
            .expect_header("content-type")
            .starts_with("text/html"),
        "{}",
        response.summary()
    );
    let response = get(&server, "/", &[]);
    assert_body(
        &response,
        200,
        b"<p>root default</p>\n",
        "/ with --index default.htm",
    );
    // A directory with only index.html has no index under this flag.
    server.write("e/index.html", "<p>e</p>\n");
    let response = get(&server, "/e/", &[]);
    assert_eq!(response.status, 403, "{}", response.summary());
}

#[test]
fn default_type_applies_to_unknown_extensions() {
    let plain = Server::start(&[]);
    let typed = Server::start(&["--default-type", "text/plain"]);
    for server in [&plain, &typed] {
        server.write("LICENSE", "no extension\n");
        server.write("data.zzqqx", "unknown extension\n");
        server.write("style.css", "body{}\n");
    }
    for target in ["/LICENSE", "/data.zzqqx"] {
        let response = get(&plain, target, &[]);
        assert_eq!(response.status, 200);
        assert_eq!(
            response.header("content-type"),
            Some("application/octet-stream"),
            "default type of {target}"
        );
        let response = get(&typed, target, &[]);
        assert_eq!(response.status, 200);
        let content_type = response.expect_header("content-type");
        assert!(
            content_type == "text/plain" || content_type == TEXT_TYPE,
            "{target} with --default-type text/plain: {content_type:?}"
        );
    }
    // A known extension keeps its type.
    let response = get(&typed, "/style.css", &[]);
    assert!(
        response
            .expect_header("content-type")
            .starts_with("text/css"),
        "{}",
        response.summary()
    );
}

#[test]
fn error_page_replaces_the_404_body() {
    let server = Server::start(&["--error-page", "404=/errors/404.html"]);
    let reference = Server::start(&[]);
    server.write("ok.txt", "ok");

    // The configured page is missing: the built-in 404.
    let builtin = get(&reference, "/nothing-here", &[]);
    assert_eq!(builtin.status, 404);
    let response = get(&server, "/nothing-here", &[]);
    assert_eq!(response.status, 404, "{}", response.summary());
    assert_eq!(
        response.header("content-type"),
        builtin.header("content-type")
    );
    assert!(
        response.body == builtin.body,
        "missing error page: expected the built-in page, got {}",
        preview(&response.body)
    );

    // Once it exists: its bytes and its type (failures are not cached, so at once).
    let page = b"<!DOCTYPE html><title>gone</title><p>Custom not found page.</p>\n";
    server.write("errors/404.html", page);
    let direct = get(&server, "/errors/404.html", &[]);
    assert_body(&direct, 200, page, "the page itself");
    for target in ["/nothing-here", "/deeper/missing.txt"] {
        let response = get(&server, target, &[]);
        assert_body(&response, 404, page, &format!("custom 404 for {target}"));
        assert_eq!(
            response.header("content-type"),
            direct.header("content-type"),
            "{}",
            response.summary()
        );
    }
    // Other statuses keep their built-in pages; found files are unaffected.
    assert_body(&get(&server, "/ok.txt", &[]), 200, b"ok", "ok.txt");
}

// ---------------------------------------------------------------------------------------------
// Access log
// ---------------------------------------------------------------------------------------------

/// One access log line, parsed field by field.
#[derive(Debug)]
struct LogLine {
    ip: IpAddr,
    /// Seconds since the epoch.
    time: u64,
    method: String,
    target: String,
    version: String,
    status: u16,
    bytes: u64,
    referer: String,
    user_agent: String,
    /// The request time, in milliseconds.
    millis: u64,
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Days since 1970-01-01 of a civil date (Howard Hinnant's days_from_civil).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn digits(text: &str, what: &str, line: &str) -> u64 {
    assert!(
        !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()),
        "{what} {text:?} is not digits in {line:?}"
    );
    text.parse().unwrap()
}

/// `[dd/Mon/yyyy:hh:mm:ss +0000]` without the brackets → seconds since the epoch.
fn parse_log_time(text: &str, line: &str) -> u64 {
    let b = text.as_bytes();
    assert!(
        b.len() == 26
            && b[2] == b'/'
            && b[6] == b'/'
            && b[11] == b':'
            && b[14] == b':'
            && b[17] == b':'
            && &text[20..] == " +0000",
        "bad time {text:?} in {line:?}"
    );
    let day = digits(&text[0..2], "day", line);
    let month = MONTHS
        .iter()
        .position(|m| *m == &text[3..6])
        .unwrap_or_else(|| panic!("bad month in {line:?}")) as i64
        + 1;
    let year = digits(&text[7..11], "year", line);
    let (h, m, s) = (
        digits(&text[12..14], "hour", line),
        digits(&text[15..17], "minute", line),
        digits(&text[18..20], "second", line),
    );
    assert!(
        (1..=31).contains(&day) && h < 24 && m < 60 && s < 61,
        "{line:?}"
    );
    let days = days_from_civil(year as i64, month, day as i64);
    u64::try_from(days).unwrap() * 86_400 + h * 3600 + m * 60 + s
}

/// A quoted log field: `"` then anything but `"` then `"`. Its content must be printable
/// ASCII, with `\` only in `\xHH` escapes.
fn quoted<'a>(rest: &mut &'a str, line: &str) -> &'a str {
    let inner = rest
        .strip_prefix('"')
        .unwrap_or_else(|| panic!("expected a quoted field at {rest:?} in {line:?}"));
    let end = inner
        .find('"')
        .unwrap_or_else(|| panic!("unterminated field in {line:?}"));
    let field = &inner[..end];
    let b = field.as_bytes();
    let mut i = 0;
    while i < b.len() {
        assert!(
            (0x20..0x7f).contains(&b[i]),
            "unescaped byte {:#x} in {line:?}",
            b[i]
        );
        if b[i] == b'\\' {
            assert!(
                b.len() >= i + 4
                    && b[i + 1] == b'x'
                    && b[i + 2..i + 4].iter().all(u8::is_ascii_hexdigit),
                "backslash that is not \\xHH in {line:?}"
            );
            i += 4;
        } else {
            i += 1;
        }
    }
    *rest = &inner[end + 1..];
    field
}

fn expect_prefix(rest: &mut &str, prefix: &str, line: &str) {
    *rest = rest
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("expected {prefix:?} at {rest:?} in {line:?}"));
}

/// Parses `IP - - [time] "METHOD TARGET VERSION" STATUS BYTES "referer" "ua" S.mmm`.
fn parse_log_line(line: &str) -> LogLine {
    let mut rest = line;
    let (ip, after) = rest
        .split_once(' ')
        .unwrap_or_else(|| panic!("no fields in {line:?}"));
    let ip: IpAddr = ip
        .parse()
        .unwrap_or_else(|_| panic!("bad IP {ip:?} in {line:?}"));
    rest = after;
    expect_prefix(&mut rest, "- - [", line);
    let close = rest.find(']').unwrap_or_else(|| panic!("no ] in {line:?}"));
    let time = parse_log_time(&rest[..close], line);
    rest = &rest[close + 1..];
    expect_prefix(&mut rest, " ", line);
    let request = quoted(&mut rest, line);
    let mut request_parts = request.split(' ');
    let (method, target, version) = (
        request_parts.next().unwrap_or_default(),
        request_parts.next().unwrap_or_default(),
        request_parts.next().unwrap_or_default(),
    );
    assert!(
        request_parts.next().is_none() && !method.is_empty() && target.starts_with('/'),
        "bad request field {request:?} in {line:?}"
    );
    expect_prefix(&mut rest, " ", line);
    let (status, after) = rest.split_once(' ').unwrap();
    assert_eq!(status.len(), 3, "status in {line:?}");
    let status = u16::try_from(digits(status, "status", line)).unwrap();
    let (bytes, after) = after.split_once(' ').unwrap();
    let bytes = digits(bytes, "bytes", line);
    rest = after;
    let referer = quoted(&mut rest, line).to_string();
    expect_prefix(&mut rest, " ", line);
    let user_agent = quoted(&mut rest, line).to_string();
    expect_prefix(&mut rest, " ", line);
    let (secs, frac) = rest
        .split_once('.')
        .unwrap_or_else(|| panic!("request time without . in {line:?}"));
    assert_eq!(frac.len(), 3, "request time needs 3 decimals: {line:?}");
    let millis = digits(secs, "seconds", line) * 1000 + digits(frac, "millis", line);
    LogLine {
        ip,
        time,
        method: method.to_string(),
        target: target.to_string(),
        version: version.to_string(),
        status,
        bytes,
        referer,
        user_agent,
        millis,
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Checks the fields every line of these tests shares.
fn assert_common_fields(entry: &LogLine, started: u64, line: &str) {
    assert_eq!(entry.ip, IpAddr::from([127, 0, 0, 1]), "{line}");
    assert_eq!(entry.version, "HTTP/1.1", "{line}");
    assert!(
        entry.time + 1 >= started && entry.time <= now_secs() + 1,
        "log time {} outside the test's run ({started}..now): {line}",
        entry.time
    );
    assert!(
        entry.millis < 10_000,
        "request time {} ms: {line}",
        entry.millis
    );
}

/// The single line whose request target is `target`.
fn line_for<'a>(entries: &'a [(String, LogLine)], target: &str) -> &'a (String, LogLine) {
    let mut found = entries.iter().filter(|(_, e)| e.target == target);
    let first = found
        .next()
        .unwrap_or_else(|| panic!("no log line for {target}: {entries:#?}"));
    assert!(found.next().is_none(), "several log lines for {target}");
    first
}

#[test]
fn access_log_lines_to_a_file() {
    let started = now_secs();
    let dir = TempDir::new();
    let log = dir.path().join("access.log");
    let server = Server::start(&["--access-log", log.to_str().unwrap()]);
    let small = b"access log small file\n".to_vec();
    server.write("a.txt", &small);
    let huge_len = 50 * 1024 * 1024;
    server.write("huge.bin", vec![b'h'; huge_len]);
    let ranged = pseudo_random_bytes(40_000, 7);
    server.write("r.bin", &ranged);

    let ok = get(
        &server,
        "/a.txt",
        &[("Referer", "http://example.test/from")],
    );
    assert_body(&ok, 200, &small, "200");
    let missing = get(&server, "/missing.txt", &[]);
    assert_eq!(missing.status, 404);
    let missing_len = missing.content_length().unwrap();
    let range = get(&server, "/r.bin", &[("Range", "bytes=100-1099")]);
    assert_eq!(range.status, 206, "{}", range.summary());
    let head = send(server.addr(), "HEAD", "/a.txt?head", &[]);
    assert_eq!(head.status, 200);
    let quote = get(&server, "/a.txt?ua", &[("User-Agent", "a\"b")]);
    assert_eq!(quote.status, 200);

    // A client that takes 64 KiB of a 50 MiB download and goes away.
    {
        let mut conn = server.connect();
        conn.send(get_close_request("/huge.bin"));
        let mut received = 0;
        let mut chunk = vec![0u8; 16 * 1024];
        while received < 64 * 1024 {
            let n = conn.stream.read(&mut chunk).expect("read the big download");
            assert!(n > 0, "server closed after {received} bytes");
            received += n;
        }
    }

    let lines = poll_lines(&log, |lines| {
        lines.len() >= 6 && lines.iter().any(|l| l.contains("/huge.bin"))
    });
    assert_eq!(lines.len(), 6, "one line per response: {lines:#?}");
    let entries: Vec<(String, LogLine)> = lines
        .iter()
        .map(|l| (l.clone(), parse_log_line(l)))
        .collect();
    for (line, entry) in &entries {
        assert_common_fields(entry, started, line);
    }

    let (line, entry) = line_for(&entries, "/a.txt");
    assert_eq!(
        (entry.method.as_str(), entry.status, entry.bytes),
        ("GET", 200, small.len() as u64),
        "{line}"
    );
    assert_eq!(entry.referer, "http://example.test/from", "{line}");
    assert_eq!(entry.user_agent, "-", "{line}");

    let (line, entry) = line_for(&entries, "/missing.txt");
    assert_eq!((entry.status, entry.bytes), (404, missing_len), "{line}");
    assert_eq!(entry.referer, "-", "{line}");

    let (line, entry) = line_for(&entries, "/r.bin");
    assert_eq!((entry.status, entry.bytes), (206, 1000), "{line}");

    let (line, entry) = line_for(&entries, "/a.txt?head");
    assert_eq!(
        (entry.method.as_str(), entry.status, entry.bytes),
        ("HEAD", 200, 0),
        "{line}"
    );

    let (line, entry) = line_for(&entries, "/a.txt?ua");
    assert_eq!(entry.user_agent, "a\\x22b", "{line}");
    assert!(line.ends_with(&format!(
        "\"a\\x22b\" {}.{:03}",
        entry.millis / 1000,
        entry.millis % 1000
    )));

    let (line, entry) = line_for(&entries, "/huge.bin");
    assert_eq!(entry.status, 200, "{line}");
    assert!(
        entry.bytes >= 64 * 1024 - 1024 && entry.bytes < huge_len as u64,
        "an aborted 50 MiB download logged {} bytes: {line}",
        entry.bytes
    );
}

#[test]
fn access_log_to_stdout() {
    let started = now_secs();
    let server = Server::builder()
        .args(&["--access-log", "-"])
        .capture_stdout()
        .start();
    server.write("s.txt", "stdout log\n");
    let next_line = || {
        server
            .stdout_line(Duration::from_secs(5))
            .expect("an access log line on stdout within 5 s")
    };
    let response = send(
        server.addr(),
        "GET",
        "/s.txt",
        &[("User-Agent", "stdout-test/1")],
    );
    assert_body(&response, 200, b"stdout log\n", "GET /s.txt");
    let line = next_line();
    let entry = parse_log_line(&line);
    assert_common_fields(&entry, started, &line);
    assert_eq!(
        (
            entry.method.as_str(),
            entry.target.as_str(),
            entry.status,
            entry.bytes
        ),
        ("GET", "/s.txt", 200, 11),
        "{line}"
    );
    assert_eq!(entry.user_agent, "stdout-test/1", "{line}");

    let missing = send(server.addr(), "GET", "/nope", &[]);
    let line = next_line();
    let entry = parse_log_line(&line);
    assert_eq!(
        (entry.target.as_str(), entry.status, entry.bytes),
        ("/nope", 404, missing.content_length().unwrap()),
        "{line}"
    );
    // Nothing else was written.
    assert!(
        server.stdout_line(Duration::from_millis(200)).is_none(),
        "unexpected extra stdout line"
    );
}

#[test]
fn sigterm_writes_every_logged_request() {
    let dir = TempDir::new();
    let log = dir.path().join("access.log");
    let mut server = Server::start(&["--access-log", log.to_str().unwrap()]);
    server.write("k.txt", "keep\n");
    let mut targets = Vec::new();
    // Ten on one keep-alive connection, pipelined, then ten on connections of their own.
    {
        let mut conn = Conn::connect(server.addr());
        let mut batch = String::new();
        for i in 0..10 {
            let target = format!("/k.txt?keepalive={i}");
            batch.push_str(&get_request(&target));
            targets.push(target);
        }
        conn.send(batch);
        for response in (0..10).map(|_| conn.read_response()) {
            assert_body(&response, 200, b"keep\n", "pipelined");
        }
    }
    for i in 0..10 {
        let target = format!("/k.txt?single={i}");
        let response = send(server.addr(), "GET", &target, &[]);
        assert_body(&response, 200, b"keep\n", &target);
        targets.push(target);
    }
    server.signal(libc::SIGTERM);
    let status = server
        .wait_exit(Duration::from_secs(5))
        .expect("server still running 5 s after SIGTERM");

    let text = std::fs::read_to_string(&log).expect("access log exists");
    assert!(text.ends_with('\n'), "last line cut short: {text:?}");
    let logged: Vec<String> = text
        .lines()
        .map(|l| {
            let entry = parse_log_line(l);
            assert_eq!((entry.status, entry.bytes), (200, 5), "{l}");
            entry.target
        })
        .collect();
    let mut want = targets.clone();
    want.sort();
    let mut got = logged.clone();
    got.sort();
    assert_eq!(
        got, want,
        "every request before SIGTERM, once each (exit status {status})"
    );
    // A graceful shutdown exits 0 (README: "Limits, overload and shutdown").
    assert!(
        status.success(),
        "exit status after SIGTERM: {status} (the log was complete)"
    );
}

/// A log destination that stops taking lines (a pipe nobody reads) cannot hold the exit:
/// after SIGTERM the server gives the writer at most the drain timeout, says so, and exits.
#[test]
fn stalled_log_pipe_does_not_hold_the_exit() {
    let dir = TempDir::new();
    let fifo = dir.path().join("log.fifo");
    let made = Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("note: mkfifo unavailable, test skipped");
        return;
    }
    // A reader that opens the pipe (so the server's open succeeds) and never reads.
    let mut reader = Command::new("sh")
        .arg("-c")
        .arg("exec sleep 30 < \"$0\"")
        .arg(&fifo)
        .spawn()
        .unwrap();
    let fifo_arg = fifo.to_str().unwrap().to_string();
    let mut server = Server::start(&["--access-log", &fifo_arg, "--drain-timeout", "1"]);
    server.write("a.txt", "alpha\n");

    // Far more log than a pipe holds: the writer blocks.
    let user_agent = "u".repeat(300);
    let request = format!("GET /a.txt HTTP/1.1\r\nHost: x\r\nUser-Agent: {user_agent}\r\n\r\n");
    let mut conn = Conn::connect(server.addr());
    for _ in 0..20 {
        conn.send(request.repeat(50));
        for _ in 0..50 {
            assert_eq!(conn.read_response().status, 200);
        }
    }
    drop(conn);
    server.signal(libc::SIGTERM);
    let status = server.wait_exit(Duration::from_secs(5));
    let _ = reader.kill();
    let _ = reader.wait();
    let status = status.expect("the server is still running 5 s after SIGTERM");
    assert_eq!(status.code(), Some(0));
}

/// A complete head the server refuses is logged with its request line; bytes that never
/// made a head are logged as "-".
#[test]
fn refused_requests_are_logged_with_their_line() {
    let dir = TempDir::new();
    let log = dir.path().join("access.log");
    let log_arg = log.to_str().unwrap().to_string();
    let server = Server::start(&["--access-log", &log_arg]);
    for raw in [
        &b"BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        &b"\x16\x03\x01\x00"[..],
    ] {
        let mut conn = server.connect();
        conn.send(raw);
        let _ = conn.read_response();
    }
    let lines = poll_lines(&log, |lines| lines.len() >= 2);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("\"BREW /pot HTTP/1.1\" 501 ")),
        "{lines:#?}"
    );
    assert!(lines.iter().any(|l| l.contains("\"-\" 400 ")), "{lines:#?}");
}
