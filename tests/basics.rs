//! Basic GET/HEAD/OPTIONS behaviour, status codes for methods and versions, content types.

pub mod common;

use std::time::{Duration, UNIX_EPOCH};

use common::*;

const INDEX: &str = "<!DOCTYPE html>\n<title>home</title>\n<h1>tinyhttpd test home</h1>\n";
const SUB_INDEX: &str = "<h1>the sub directory</h1>\n";
const CSS: &str = "body { color: red; }\n";

fn site() -> Server {
    let server = Server::start(&[]);
    server.write("index.html", INDEX);
    server.write("sub/index.html", SUB_INDEX);
    server.write("style.css", CSS);
    server
}

/// An HTTP-date (IMF-fixdate, RFC 9110 §5.6.7): `Sun, 06 Nov 1994 08:49:37 GMT`.
fn assert_http_date(value: &str) {
    let b = value.as_bytes();
    let ok = b.len() == 29
        && ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].contains(&&value[..3])
        && &value[3..5] == ", "
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b' '
        && [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ]
        .contains(&&value[8..11])
        && b[11] == b' '
        && b[12..16].iter().all(u8::is_ascii_digit)
        && b[16] == b' '
        && b[17..19].iter().all(u8::is_ascii_digit)
        && b[19] == b':'
        && b[20..22].iter().all(u8::is_ascii_digit)
        && b[22] == b':'
        && b[23..25].iter().all(u8::is_ascii_digit)
        && &value[25..] == " GMT";
    assert!(ok, "not an IMF-fixdate: {value:?}");
}

#[test]
fn get_root_serves_index_with_headers() {
    let server = site();
    // A fixed mtime, so Last-Modified can be checked exactly.
    let index = std::fs::File::options()
        .write(true)
        .open(server.root().join("index.html"))
        .unwrap();
    index
        .set_modified(UNIX_EPOCH + Duration::from_secs(1_000_000_000))
        .unwrap();
    drop(index);

    let response = server.get("/");
    assert_eq!(response.status, 200, "{}", response.summary());
    assert_eq!(response.version, "HTTP/1.1");
    assert_eq!(response.body, INDEX.as_bytes());
    assert_eq!(
        response.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(response.content_length(), Some(INDEX.len() as u64));
    assert_http_date(response.expect_header("date"));
    assert!(!response.expect_header("server").is_empty());
    assert_eq!(
        response.header("last-modified"),
        Some("Sun, 09 Sep 2001 01:46:40 GMT")
    );
}

#[test]
fn head_has_get_headers_and_no_body() {
    let server = site();
    // The GET on a kept-alive connection, as the HEAD below will be.
    let get = server.connect().get("/");
    assert_eq!(get.status, 200);

    // Sequential: HEAD, then GET on the same connection; the GET's status line must be the
    // very next bytes (strict parser), so any stray body byte after the HEAD head fails.
    let mut conn = server.connect();
    conn.send("HEAD / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    let head = conn.read_head_response();
    assert_eq!(head.status, 200, "{}", head.summary());
    let strip_date = |r: &Response| -> Vec<(String, String)> {
        r.headers
            .iter()
            .filter(|(n, _)| !n.eq_ignore_ascii_case("date"))
            .cloned()
            .collect()
    };
    assert_eq!(strip_date(&head), strip_date(&get), "HEAD vs GET headers");
    assert_http_date(head.expect_header("date"));
    assert_eq!(head.content_length(), Some(INDEX.len() as u64));
    assert!(conn.buffered().is_empty(), "bytes after HEAD head");

    let css = conn.get("/style.css");
    assert_eq!(css.status, 200);
    assert_eq!(css.body, CSS.as_bytes());

    // Pipelined: HEAD and GET in one write.
    let mut conn = server.connect();
    conn.send(format!(
        "HEAD /style.css HTTP/1.1\r\nHost: x\r\n\r\n{}",
        get_request("/")
    ));
    let head = conn.read_head_response();
    assert_eq!(head.status, 200);
    assert_eq!(head.content_length(), Some(CSS.len() as u64));
    let next = conn.read_response();
    assert_eq!(next.status, 200);
    assert_eq!(next.body, INDEX.as_bytes());

    // HEAD of an error page: also no body.
    let mut conn = server.connect();
    conn.send(format!(
        "HEAD /missing HTTP/1.1\r\nHost: x\r\n\r\n{}",
        get_request("/style.css")
    ));
    let head = conn.read_head_response();
    assert_eq!(head.status, 404);
    assert!(head.content_length().unwrap() > 0);
    let next = conn.read_response();
    assert_eq!(next.status, 200, "{}", next.summary());
    assert_eq!(next.body, CSS.as_bytes());
}

#[test]
fn directory_without_slash_redirects() {
    let server = site();
    let response = server.get("/sub");
    assert_eq!(response.status, 301, "{}", response.summary());
    assert_eq!(response.header("location"), Some("/sub/"));
    assert_eq!(
        response.content_length(),
        Some(response.body.len() as u64),
        "redirect body length"
    );

    let response = server.get("/sub/");
    assert_eq!(response.status, 200, "{}", response.summary());
    assert_eq!(response.body, SUB_INDEX.as_bytes());
    assert_eq!(
        response.header("content-type"),
        Some("text/html; charset=utf-8")
    );
}

#[test]
fn missing_file_is_404_with_html_body() {
    let server = site();
    // Pipelined with a second request: a wrong Content-Length on the 404 would break the
    // parse of the next response.
    let mut conn = server.connect();
    conn.send(format!(
        "{}{}",
        get_request("/no-such-file.txt"),
        get_request("/style.css")
    ));
    let response = conn.read_response();
    assert_eq!(response.status, 404, "{}", response.summary());
    assert_eq!(
        response.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let body = response.body_text();
    assert!(body.starts_with("<!DOCTYPE html>"), "{body:?}");
    assert!(body.trim_end().ends_with("</html>"), "{body:?}");
    assert!(body.contains("404"), "{body:?}");
    let next = conn.read_response();
    assert_eq!(next.status, 200);
    assert_eq!(next.body, CSS.as_bytes());
}

#[test]
fn post_put_delete_are_405_with_allow() {
    let server = site();
    for method in ["POST", "PUT", "DELETE"] {
        // With a small body, then a GET on the same connection: the body must be skipped.
        let mut conn = server.connect();
        conn.send(format!(
            "{method} /index.html HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc{}",
            get_request("/style.css")
        ));
        let response = conn.read_response();
        assert_eq!(response.status, 405, "{method}: {}", response.summary());
        assert_eq!(
            response.header("allow"),
            Some("GET, HEAD, OPTIONS"),
            "{method}"
        );
        let next = conn.read_response();
        assert_eq!(next.status, 200, "{method}: {}", next.summary());
        assert_eq!(next.body, CSS.as_bytes());
    }
}

#[test]
fn options_is_200_with_allow() {
    let server = site();
    for target in ["/", "*"] {
        let response = server.request("OPTIONS", target);
        assert_eq!(
            response.status,
            200,
            "OPTIONS {target}: {}",
            response.summary()
        );
        assert_eq!(response.header("allow"), Some("GET, HEAD, OPTIONS"));
        assert_eq!(response.content_length(), Some(response.body.len() as u64));
    }
}

#[test]
fn unknown_or_lowercase_method_is_501() {
    let server = site();
    for line in ["BREW / HTTP/1.1", "get / HTTP/1.1"] {
        let mut conn = server.connect();
        conn.send(format!("{line}\r\nHost: x\r\n\r\n"));
        let response = conn.read_response();
        assert_eq!(response.status, 501, "{line}: {}", response.summary());
    }
}

#[test]
fn http_2_0_request_line_is_505() {
    let server = site();
    let mut conn = server.connect();
    conn.send("GET / HTTP/2.0\r\nHost: x\r\n\r\n");
    let response = conn.read_response();
    assert_eq!(response.status, 505, "{}", response.summary());
}

#[test]
fn garbage_request_line_is_400() {
    let server = site();
    expect_error_and_close(&server, "this is not http\r\n\r\n", 400);
    expect_error_and_close(&server, "GET\r\n\r\n", 400);
}

#[test]
fn content_types_by_extension() {
    let server = site();
    server.write("logo.png", b"\x89PNG\r\n\x1a\nnot really");
    server.write("blob.qqzx", b"\x00\x01\x02");
    server.write("notes.txt", "plain\n");
    let cases = [
        ("/style.css", "text/css; charset=utf-8"),
        ("/logo.png", "image/png"),
        ("/blob.qqzx", "application/octet-stream"),
        ("/notes.txt", "text/plain; charset=utf-8"),
    ];
    for (path, want) in cases {
        let response = server.get(path);
        assert_eq!(response.status, 200, "{path}: {}", response.summary());
        assert_eq!(response.header("content-type"), Some(want), "{path}");
    }
}

#[test]
fn percent_encoded_space_is_decoded() {
    let server = site();
    server.write("hello world.txt", "hello, spaced world\n");
    let response = server.get("/hello%20world.txt");
    assert_eq!(response.status, 200, "{}", response.summary());
    assert_eq!(response.body, b"hello, spaced world\n");
}

#[test]
fn query_string_is_ignored_for_lookup() {
    let server = site();
    let response = server.get("/index.html?x=1");
    assert_eq!(response.status, 200, "{}", response.summary());
    assert_eq!(response.body, INDEX.as_bytes());
    let response = server.get("/?a=b&c=d");
    assert_eq!(response.status, 200, "{}", response.summary());
    assert_eq!(response.body, INDEX.as_bytes());
}

#[test]
fn curl_verbose_get_root() {
    let server = site();
    let Some(output) = curl(&["-v", "-s", &server.url("/")]) else {
        return;
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "curl failed: {stderr}");
    assert_eq!(output.stdout, INDEX.as_bytes());
    assert!(stderr.contains("< HTTP/1.1 200 OK"), "{stderr}");
    assert!(
        stderr
            .to_ascii_lowercase()
            .contains("< content-type: text/html; charset=utf-8"),
        "{stderr}"
    );
}
