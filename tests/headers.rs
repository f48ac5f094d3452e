//! `--header` (fields added to successful file responses, by glob) and `--cors` (origins
//! allowed to read responses, and preflights), over raw requests; and a real cross-origin
//! `fetch()` in headless Chromium.

pub mod common;

use std::time::Duration;

use common::*;

const EXIT_TIMEOUT: Duration = Duration::from_secs(10);

fn get(server: &Server, target: &str, headers: &[(&str, &str)]) -> Response {
    send_closing(server.addr(), "GET", target, headers)
}

fn options(server: &Server, target: &str, headers: &[(&str, &str)]) -> Response {
    send_closing(server.addr(), "OPTIONS", target, headers)
}

fn site_with_rules() -> Server {
    let server = Server::start(&[
        "--header",
        "X-Global: yes",
        "--header",
        "*.css Cache-Control: max-age=31536000",
        "--header",
        "/assets/** X-Frame-Options: DENY",
    ]);
    server.write("a.txt", "text\n");
    server.write("s.css", "body {}\n");
    server.write("assets/deep/x.js", "js\n");
    server.write("assets/deep/y.css", "y {}\n");
    server
}

#[test]
fn global_header_on_every_file() {
    let server = site_with_rules();
    for path in ["/a.txt", "/s.css", "/assets/deep/x.js"] {
        let response = get(&server, path, &[]);
        assert_eq!(response.status, 200, "{}", response.summary());
        assert_eq!(response.header("x-global"), Some("yes"), "{path}");
    }
    let head = send_closing(server.addr(), "HEAD", "/a.txt", &[]);
    assert_eq!(head.header("x-global"), Some("yes"), "{}", head.summary());
}

#[test]
fn glob_by_file_name() {
    let server = site_with_rules();
    let css = get(&server, "/s.css", &[]);
    assert_eq!(css.header("cache-control"), Some("max-age=31536000"));
    let deep = get(&server, "/assets/deep/y.css", &[]);
    assert_eq!(deep.header("cache-control"), Some("max-age=31536000"));
    let txt = get(&server, "/a.txt", &[]);
    assert_eq!(txt.header("cache-control"), None, "{}", txt.summary());
}

#[test]
fn glob_by_path_across_segments() {
    let server = site_with_rules();
    let js = get(&server, "/assets/deep/x.js", &[]);
    assert_eq!(
        js.header("x-frame-options"),
        Some("DENY"),
        "{}",
        js.summary()
    );
    // Matched on the normalised path: a detour through `..` gets the same fields.
    let detour = get(&server, "/other/../assets/deep/x.js", &[]);
    assert_eq!(detour.header("x-frame-options"), Some("DENY"));
    let outside = get(&server, "/s.css", &[]);
    assert_eq!(outside.header("x-frame-options"), None);
}

#[test]
fn not_modified_and_ranges_carry_them_errors_do_not() {
    let server = site_with_rules();
    let etag = get(&server, "/s.css", &[])
        .expect_header("etag")
        .to_string();
    let not_modified = get(&server, "/s.css", &[("If-None-Match", &etag)]);
    assert_eq!(not_modified.status, 304);
    // RFC 9110 §15.4.5: a 304 carries the Cache-Control a 200 would have.
    assert_eq!(
        not_modified.header("cache-control"),
        Some("max-age=31536000")
    );
    assert_eq!(not_modified.header("x-global"), Some("yes"));
    let partial = get(&server, "/s.css", &[("Range", "bytes=0-1")]);
    assert_eq!(partial.status, 206);
    assert_eq!(partial.header("x-global"), Some("yes"));
    let missing = get(&server, "/missing.css", &[]);
    assert_eq!(missing.status, 404);
    assert_eq!(missing.header("x-global"), None, "{}", missing.summary());
    assert_eq!(missing.header("cache-control"), None);
}

#[test]
fn cache_control_is_one_of_the_rules() {
    let server = Server::start(&[
        "--cache-control",
        "public, max-age=60",
        "--header",
        "X-After: 1",
    ]);
    server.write("a.txt", "a\n");
    let response = get(&server, "/a.txt", &[]);
    assert_eq!(response.header("cache-control"), Some("public, max-age=60"));
    assert_eq!(response.header("x-after"), Some("1"));
}

#[test]
fn invalid_headers_are_refused_at_start() {
    let cases = [
        ("X-A", "Name: value"),
        ("*.txt Bad Name: v", "not a header name"),
        ("X-A: a\r\nSet-Cookie: b", "visible ASCII"),
        ("X-A: a\x07b", "visible ASCII"),
        ("Content-Length: 5", "framing"),
        ("Transfer-Encoding: chunked", "framing"),
        ("Connection: close", "hop-by-hop"),
        ("*.css Date: today", "written by the server"),
        ("assets/* X: y", "starts with `/`"),
    ];
    for (spec, expected) in cases {
        let (status, _, stderr) = run_to_exit(&["--port", "0", "--header", spec], EXIT_TIMEOUT);
        assert_eq!(status.code(), Some(2), "{spec:?}: {stderr}");
        assert!(
            stderr.contains("--header") && stderr.contains(expected),
            "{spec:?}: {stderr}"
        );
    }
    let many: Vec<String> = (0..65).map(|i| format!("X-{i}: v")).collect();
    let mut args = vec!["--port", "0"];
    for spec in &many {
        args.extend(["--header", spec.as_str()]);
    }
    let (status, _, stderr) = run_to_exit(&args, EXIT_TIMEOUT);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("at most 64"), "{stderr}");
    let (status, _, stderr) = run_to_exit(&["--port", "0", "--cors", "example.com"], EXIT_TIMEOUT);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("not an origin"), "{stderr}");
}

#[test]
fn cors_any_origin() {
    let server = Server::start(&["--cors"]);
    server.write("data.json", "{}");
    let response = get(
        &server,
        "/data.json",
        &[("Origin", "https://elsewhere.test")],
    );
    assert_eq!(response.header("access-control-allow-origin"), Some("*"));
    assert_eq!(
        response.header("access-control-expose-headers"),
        Some("ETag, Content-Range, Accept-Ranges")
    );
    // `*` does not depend on the origin (Accept-Encoding may still be named: the file's
    // precompressed siblings have not been looked for).
    assert!(
        !response.header("vary").unwrap_or("").contains("Origin"),
        "{}",
        response.summary()
    );
    // Not a CORS request: nothing to say.
    let plain = get(&server, "/data.json", &[]);
    assert_eq!(plain.header("access-control-allow-origin"), None);
    // A 404 is readable too, so a page can tell it from a network error.
    let missing = get(&server, "/missing", &[("Origin", "https://elsewhere.test")]);
    assert_eq!(missing.status, 404);
    assert_eq!(missing.header("access-control-allow-origin"), Some("*"));
}

#[test]
fn cors_list_echoes_the_origin_with_vary() {
    let server = Server::start(&["--cors", "https://a.test", "--cors", "HTTP://B.test:8080"]);
    server.write("data.json", "{}");
    for (origin, allowed) in [
        ("https://a.test", Some("https://a.test")),
        ("http://b.test:8080", Some("http://b.test:8080")),
        ("https://c.test", None),
        ("null", None),
    ] {
        let response = get(&server, "/data.json", &[("Origin", origin)]);
        assert_eq!(
            response.header("access-control-allow-origin"),
            allowed,
            "{origin}: {}",
            response.summary()
        );
        let vary = response.header("vary").unwrap_or("");
        assert!(vary.ends_with("Origin"), "{origin}: Vary: {vary}");
    }
    let plain = get(&server, "/data.json", &[]);
    let vary = plain.header("vary").unwrap_or("");
    assert!(vary.ends_with("Origin"), "{}", plain.summary());
}

#[test]
fn preflight_allowed_and_refused() {
    let server = Server::start(&["--cors", "https://a.test"]);
    let preflight = |origin: &str, requested: &str| {
        options(
            &server,
            "/data.json",
            &[
                ("Origin", origin),
                ("Access-Control-Request-Method", "GET"),
                ("Access-Control-Request-Headers", requested),
            ],
        )
    };
    let allowed = preflight("https://a.test", "x-token, content-type");
    assert_eq!(allowed.status, 200, "{}", allowed.summary());
    assert_eq!(
        allowed.header("access-control-allow-origin"),
        Some("https://a.test")
    );
    assert_eq!(
        allowed.header("access-control-allow-methods"),
        Some("GET, HEAD")
    );
    assert_eq!(
        allowed.header("access-control-allow-headers"),
        Some("x-token, content-type")
    );
    assert_eq!(allowed.header("access-control-max-age"), Some("86400"));
    assert_eq!(allowed.header("vary"), Some("Origin"));
    // A requested-headers value that is not a list of names is not echoed.
    let odd = preflight("https://a.test", "x token");
    assert_eq!(odd.header("access-control-allow-headers"), None);
    let refused = preflight("https://evil.test", "x-token");
    assert_eq!(refused.status, 200);
    assert_eq!(refused.header("access-control-allow-origin"), None);
    assert_eq!(refused.header("access-control-allow-methods"), None);
    assert_eq!(refused.header("allow"), Some("GET, HEAD, OPTIONS"));
    // Without --cors, a preflight is a plain OPTIONS.
    let off = Server::start(&[]);
    let plain = options(
        &off,
        "/",
        &[
            ("Origin", "https://a.test"),
            ("Access-Control-Request-Method", "GET"),
        ],
    );
    assert_eq!(plain.header("access-control-allow-origin"), None);
    assert_eq!(plain.header("vary"), None);
}

/// Page A fetches B's data.json: the DOM shows the data with B's --cors naming A, and the
/// failure without it.
#[test]
fn browser_fetch_across_origins() {
    let Some(browser) = chromium() else {
        return;
    };
    let profile = TempDir::new();
    let page = Server::start(&[]);
    let origin = format!("http://127.0.0.1:{}", page.addr().port());
    let allowing = Server::start(&["--cors", &origin]);
    let refusing = Server::start(&[]);
    for (server, expected) in [(&allowing, "DATA:cross-origin ok"), (&refusing, "ERROR:")] {
        server.write("data.json", "{\"message\": \"cross-origin ok\"}");
        let script = format!(
            "fetch('http://127.0.0.1:{}/data.json', {{headers: {{'X-Token': '1'}}}})\
             .then(r => r.json()).then(d => {{ document.getElementById('out').textContent = \
             'DATA:' + d.message; }}).catch(e => {{ document.getElementById('out').textContent = \
             'ERROR:' + e; }});",
            server.addr().port()
        );
        let name = format!("page-{}.html", server.addr().port());
        page.write(
            &name,
            format!("<!DOCTYPE html><p id=\"out\">waiting</p><script>{script}</script>"),
        );
        let dom = dump_dom(browser, &page.url(&format!("/{name}")), profile.path());
        assert!(dom.contains(expected), "expected {expected:?}; DOM: {dom}");
    }
}
