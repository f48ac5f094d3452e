//! Routing for single-page apps and clean URLs: `--fallback`, `--try-ext` and `--redirect`,
//! over raw requests and curl, and a deep link of a single-page app rendered by Chromium.

pub mod common;

use std::time::Duration;

use common::*;

/// What a browser's navigation sends.
const BROWSER_ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

const SHELL: &str = "<!doctype html><title>app</title><div id=app></div>";

fn get(server: &Server, target: &str, headers: &[(&str, &str)]) -> Response {
    send_closing(server.addr(), "GET", target, headers)
}

fn assert_shell(response: &Response, what: &str) {
    assert_eq!(response.status, 200, "{what}: {}", response.summary());
    assert_eq!(response.body_text(), SHELL, "{what}");
    assert_eq!(
        response.header("Content-Type"),
        Some("text/html; charset=utf-8"),
        "{what}"
    );
}

fn assert_not_found(response: &Response, what: &str) {
    assert_eq!(response.status, 404, "{what}: {}", response.summary());
    assert_ne!(response.body_text(), SHELL, "{what}");
}

/// A site with the page shell at /index.html, a script and a hidden file.
fn spa(extra: &[&str]) -> Server {
    let mut args = vec!["--no-compress"];
    args.extend_from_slice(extra);
    let server = Server::start(&args);
    server.write("index.html", SHELL);
    server.write("app.js", "console.log(1)");
    server.write(".env", "SECRET=1");
    server.mkdir("private");
    server
}

#[test]
fn fallback_answers_navigations_with_its_file_and_200() {
    let server = spa(&["--fallback", "/index.html"]);
    for target in [
        "/app/deep/link",
        "/settings",
        "/a/b/",
        "/app/deep/link?tab=2",
    ] {
        let response = get(&server, target, &[]);
        assert_shell(&response, target);
        // Without an extension the answer does not depend on Accept. (Accept-Encoding may be
        // named: the shell's precompressed siblings are looked for only for a client that
        // accepts a coding.)
        let vary = response.header("Vary").unwrap_or("");
        assert!(
            !vary.split(", ").any(|v| v == "Accept"),
            "{target}: Vary: {vary}"
        );
    }
    let head = send_closing(server.addr(), "HEAD", "/deep", &[]);
    assert_eq!(head.status, 200, "{}", head.summary());
    assert!(head.body.is_empty());
    assert_eq!(head.content_length(), Some(SHELL.len() as u64));
    // What exists is served as itself.
    assert_eq!(get(&server, "/app.js", &[]).body_text(), "console.log(1)");
}

#[test]
fn fallback_is_not_sent_for_a_missing_asset() {
    let server = spa(&["--fallback", "/index.html"]);
    for (target, accept) in [
        ("/missing.js", None),
        ("/logo.png", Some("image/avif,image/webp,*/*;q=0.8")),
        ("/app/chunk.css", Some("text/css,*/*;q=0.1")),
        ("/data.json", Some("*/*")),
        ("/page.html", Some("text/*")),
    ] {
        let headers: Vec<(&str, &str)> = accept.iter().map(|a| ("Accept", *a)).collect();
        let response = get(&server, target, &headers);
        assert_not_found(&response, target);
        // Had the request named text/html, the answer would have been the page.
        assert_eq!(response.header("Vary"), Some("Accept"), "{target}");
    }
    // A browser navigating to a path with a dot gets the page, and caches learn it varies.
    let response = get(&server, "/users/jane.doe", &[("Accept", BROWSER_ACCEPT)]);
    assert_shell(&response, "/users/jane.doe");
    let vary = response.header("Vary").unwrap_or("");
    assert!(vary.split(", ").any(|v| v == "Accept"), "Vary: {vary}");
}

#[test]
fn fallback_keeps_its_validators() {
    let server = spa(&["--fallback", "/index.html"]);
    let etag = get(&server, "/index.html", &[])
        .expect_header("ETag")
        .to_string();
    let deep = get(&server, "/deep/link", &[]);
    assert_eq!(deep.header("ETag"), Some(etag.as_str()));
    assert!(deep.header("Last-Modified").is_some());
    let not_modified = get(&server, "/deep/link", &[("If-None-Match", &etag)]);
    assert_eq!(not_modified.status, 304, "{}", not_modified.summary());
    let dotted = get(
        &server,
        "/v1.2",
        &[("Accept", BROWSER_ACCEPT), ("If-None-Match", &etag)],
    );
    assert_eq!(dotted.status, 304, "{}", dotted.summary());
    let vary = dotted.header("Vary").unwrap_or("");
    assert!(vary.split(", ").any(|v| v == "Accept"), "Vary: {vary}");
    let other = get(&server, "/deep/link", &[("If-None-Match", "\"other\"")]);
    assert_shell(&other, "a stale ETag");
    let ranged = get(&server, "/deep/link", &[("Range", "bytes=0-8")]);
    assert_eq!(ranged.status, 206, "{}", ranged.summary());
    assert_eq!(ranged.body, &SHELL.as_bytes()[..9]);
}

#[test]
fn refusals_are_not_turned_into_the_fallback() {
    let server = spa(&["--fallback", "/index.html"]);
    let hidden = get(&server, "/.env", &[("Accept", BROWSER_ACCEPT)]);
    assert_not_found(&hidden, "a dotfile");
    let hidden_dir = get(&server, "/.git/config", &[("Accept", BROWSER_ACCEPT)]);
    assert_not_found(&hidden_dir, "a path through a dot-directory");
    let forbidden = get(&server, "/private/", &[]);
    assert_eq!(forbidden.status, 403, "{}", forbidden.summary());
    let traversal = get(&server, "/../etc/passwd", &[]);
    assert_eq!(traversal.status, 400, "{}", traversal.summary());
    let post = send_closing(server.addr(), "POST", "/deep", &[("Content-Length", "0")]);
    assert_eq!(post.status, 405, "{}", post.summary());
    // A directory without its slash is still redirected, not answered with the page.
    let dir = get(&server, "/private", &[]);
    assert_eq!(dir.status, 301, "{}", dir.summary());
    assert_eq!(dir.header("Location"), Some("/private/"));
}

#[test]
fn fallback_file_is_resolved_under_the_same_policies() {
    let missing = spa(&["--fallback", "/nowhere.html"]);
    assert_not_found(&get(&missing, "/deep", &[]), "a missing fallback file");
    let hidden = spa(&["--fallback", "/.env"]);
    let response = get(&hidden, "/deep", &[]);
    assert_eq!(response.status, 404, "{}", response.summary());
    assert_ne!(response.body_text(), "SECRET=1");
    // With an error page too, the miss is answered with that page.
    let with_page = spa(&["--fallback", "/index.html", "--error-page", "404=/app.js"]);
    let asset = get(&with_page, "/gone.js", &[]);
    assert_eq!(asset.status, 404, "{}", asset.summary());
    assert_eq!(asset.body_text(), "console.log(1)");
    assert_eq!(asset.header("Vary"), Some("Accept"));
}

#[test]
fn try_ext_serves_clean_urls_in_order() {
    let server = Server::start(&[
        "--try-ext",
        "htm",
        "--try-ext",
        ".html",
        "--fallback",
        "/index.html",
    ]);
    server.write("index.html", SHELL);
    server.write("about.html", "about");
    server.write("both.htm", "htm first");
    server.write("both.html", "html second");
    server.write("plain", "the path itself");
    server.write("plain.html", "not this");
    server.write("docs/guide.html", "guide");
    server.write("x%41.html", "escaped name");
    server.mkdir("dir.html");
    server.write(".secret.html", "hidden");
    for (target, body) in [
        ("/about", "about"),
        ("/both", "htm first"),
        ("/plain", "the path itself"),
        ("/docs/guide", "guide"),
        ("/about?x=1", "about"),
        // Decoded once: `%25` is a `%` in the name, not an escape to decode again.
        ("/x%2541", "escaped name"),
    ] {
        let response = get(&server, target, &[]);
        assert_eq!(response.status, 200, "{target}: {}", response.summary());
        assert_eq!(response.body_text(), body, "{target}");
    }
    // Not for a directory form; a directory named `dir.html` is no page; hidden stays hidden.
    assert_shell(&get(&server, "/about/", &[]), "/about/");
    assert_shell(&get(&server, "/dir", &[]), "/dir");
    assert_not_found(&get(&server, "/.secret", &[]), "/.secret");
}

#[test]
fn try_ext_alone_leaves_other_misses_404() {
    let server = Server::start(&["--try-ext", "html"]);
    server.write("about.html", "about");
    assert_eq!(get(&server, "/about", &[]).body_text(), "about");
    let missing = get(&server, "/nothing", &[("Accept", BROWSER_ACCEPT)]);
    assert_eq!(missing.status, 404, "{}", missing.summary());
    assert_eq!(missing.header("Vary"), None);
}

#[test]
fn redirects_exact_and_prefix_with_codes_before_resolution() {
    let server = Server::start(&[
        "--redirect",
        "/old=/new",
        "--redirect",
        "/temp=/elsewhere=302",
        "--redirect",
        "/keep=/kept=307",
        "--redirect",
        "/docs/*=/manual/=308",
        "--redirect",
        "/docs/v1/*=https://v1.example.com/",
        "--redirect",
        "/search=/find?q=all",
    ]);
    server.write("old", "still here, but moved");
    for (target, status, location) in [
        ("/old", 301, "/new"),
        ("/old?utm=1&b=%20", 301, "/new?utm=1&b=%20"),
        ("/%6Fld", 301, "/new"),
        ("/a/../old", 301, "/new"),
        ("/temp", 302, "/elsewhere"),
        ("/keep", 307, "/kept"),
        ("/docs/a/b.html?x=y", 308, "/manual/a/b.html?x=y"),
        ("/docs/", 308, "/manual/"),
        ("/docs/a%20b/%C3%A9%3F", 308, "/manual/a%20b/%C3%A9%3F"),
        ("/docs/v1/api", 301, "https://v1.example.com/api"),
        ("/search?q=mine", 301, "/find?q=all"),
    ] {
        let response = get(&server, target, &[]);
        assert_eq!(response.status, status, "{target}: {}", response.summary());
        assert_eq!(response.header("Location"), Some(location), "{target}");
    }
    // Exact rules match the path only; `/docs` is not under `/docs/`.
    for target in ["/old/", "/oldest", "/docs"] {
        assert_eq!(get(&server, target, &[]).status, 404, "{target}");
    }
    // Any known method: 307 and 308 tell the client to repeat it.
    let post = send_closing(server.addr(), "POST", "/keep", &[("Content-Length", "0")]);
    assert_eq!(post.status, 307, "{}", post.summary());
    let head = send_closing(server.addr(), "HEAD", "/old", &[]);
    assert_eq!(head.status, 301, "{}", head.summary());
    assert_eq!(head.header("Location"), Some("/new"));
}

#[test]
fn prefix_redirect_to_root_never_makes_a_protocol_relative_location() {
    let server = Server::start(&["--redirect", "/go*=/"]);
    for (target, location) in [
        ("/go//evil.example", Some("/evil.example")),
        ("/go/.//evil.example", Some("/evil.example")),
        ("/go", Some("/")),
        ("/gone", Some("/ne")),
        // An escaped separator is refused before any rule is looked at.
        ("/go/%2Fevil.example", None),
    ] {
        let response = get(&server, target, &[]);
        let what = format!("{target}: {}", response.summary());
        let Some(location) = location else {
            assert_eq!(response.status, 400, "{what}");
            continue;
        };
        assert_eq!(response.status, 301, "{what}");
        assert_eq!(response.header("Location"), Some(location), "{what}");
    }
}

#[test]
fn bad_rules_stop_the_server_at_start() {
    for args in [
        &["--redirect", "/a=/b c"][..],
        &["--redirect", "/a=//evil.example"],
        &["--redirect", "/a=/b=303"],
        &["--redirect", "/a=ftp://host/"],
        &["--redirect", "/a/*=/a/b/"],
        &["--redirect", "nothing"],
        &["--try-ext", "a/b"],
        &["--try-ext", ""],
        &["--fallback", "index.html"],
        &["--fallback", "/../x"],
    ] {
        let mut all = vec!["--port", "0", "--bind", "127.0.0.1"];
        all.extend_from_slice(args);
        let (status, _, stderr) = run_to_exit(&all, Duration::from_secs(10));
        assert_eq!(status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(args[0]), "{args:?}: {stderr}");
    }
}

#[test]
fn curl_follows_a_redirect_to_a_clean_url() {
    let server = Server::start(&["--try-ext", "html", "--redirect", "/blog/*=/posts/"]);
    server.write("posts/hello.html", "hello post");
    let Some(output) = curl(&[
        "-sS",
        "-L",
        "-w",
        "\n%{http_code} %{num_redirects} %{url_effective}",
        &server.url("/blog/hello?ref=feed"),
    ]) else {
        return;
    };
    let text = String::from_utf8_lossy(&output.stdout);
    let expected = format!("hello post\n200 1 {}", server.url("/posts/hello?ref=feed"));
    assert_eq!(
        text,
        expected,
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn without_rules_a_miss_is_a_plain_404() {
    let server = spa(&[]);
    for (target, accept) in [("/deep/link", BROWSER_ACCEPT), ("/gone.js", "*/*")] {
        let response = get(&server, target, &[("Accept", accept)]);
        assert_not_found(&response, target);
        assert_eq!(response.header("Vary"), None, "{target}");
    }
}

#[test]
fn chromium_renders_a_deep_link_of_a_single_page_app() {
    let Some(browser) = chromium() else {
        return;
    };
    let server = Server::start(&["--fallback", "/index.html"]);
    server.write(
        "index.html",
        "<!doctype html><html><head><title>spa</title></head><body><p id=route></p>\
         <script>document.getElementById('route').textContent = \
         'route=' + location.pathname;</script></body></html>",
    );
    let work = TempDir::new();
    let profile = work.path().join("profile");
    std::fs::create_dir(&profile).unwrap();
    let dom = dump_dom(browser, &server.url("/app/deep/link"), &profile);
    assert!(
        dom.contains("<p id=\"route\">route=/app/deep/link</p>"),
        "DOM: {dom}"
    );
}
