//! `--autoindex` listings: the JSON representation (parsed by python3's json module) and its
//! negotiation with `Vary: Accept`, escaping of odd names, sorting, the cap applied after
//! sorting, symlinks shown as what they lead to (and hidden when they would be refused),
//! human-readable sizes, and a headless-Chromium screenshot of a listing page.

pub mod common;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, UNIX_EPOCH};

use common::*;

/// The server's `LISTING_MAX_ENTRIES`.
const LISTING_MAX_ENTRIES: usize = 2_000;

fn get(server: &Server, target: &str, headers: &[(&str, &str)]) -> Response {
    send_closing(server.addr(), "GET", target, headers)
}

fn json(server: &Server, target: &str) -> Response {
    let response = get(server, target, &[("Accept", "application/json")]);
    assert_eq!(response.status, 200, "{}", response.summary());
    assert_eq!(response.expect_header("content-type"), "application/json");
    response
}

/// `body` parsed by python3's json module, each entry printed back as one line of ASCII JSON
/// with sorted keys and `mtime` replaced by whether it is RFC 3339 UTC; `None` without python3.
fn python_entries(body: &[u8]) -> Option<Vec<String>> {
    const SCRIPT: &str = r#"
import json, re, sys
entries = json.loads(sys.stdin.buffer.read().decode("utf-8"))
assert isinstance(entries, list)
for e in entries:
    e["mtime"] = bool(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", e["mtime"]))
    print(json.dumps(e, sort_keys=True))
"#;
    let output = match python3_stdin(SCRIPT, body) {
        Ok(output) => output,
        Err(e) => {
            eprintln!("note: python3 not available ({e}), JSON parse check skipped");
            return None;
        }
    };
    assert!(
        output.status.success(),
        "python3 refused the JSON: {}\n{}",
        String::from_utf8_lossy(&output.stderr),
        preview(body)
    );
    Some(
        String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect(),
    )
}

/// The hrefs of the entry rows, in order (column headers and `../` left out).
fn hrefs(html: &str) -> Vec<String> {
    html.split("<a href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|href| *href != "../")
        .map(str::to_string)
        .collect()
}

fn set_mtime(path: &Path, secs: u64) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .or_else(|_| std::fs::File::open(path))
        .unwrap()
        .set_modified(UNIX_EPOCH + Duration::from_secs(secs))
        .unwrap();
}

fn write_bytes(server: &Server, rel: &[u8], contents: &[u8]) {
    std::fs::write(server.root().join(OsStr::from_bytes(rel)), contents).unwrap();
}

#[test]
fn json_listing_escapes_odd_names_and_is_negotiated() {
    let server = Server::start(&["--autoindex"]);
    server.mkdir("odd/sub dir");
    for name in [
        &b"quote\"q"[..],
        b"back\\slash",
        b"new\nline",
        b"bad\xff.bin",
        b"ctrl\x01\t",
        b"caf\xc3\xa9",
    ] {
        let mut rel = b"odd/".to_vec();
        rel.extend_from_slice(name);
        write_bytes(&server, &rel, b"12345");
    }
    server.write("odd/.hidden", "x");
    let stamp = 1_796_119_200; // 2026-12-01T10:00:00Z
    set_mtime(&server.root().join("odd/quote\"q"), stamp);

    let response = json(&server, "/odd/");
    assert_eq!(response.expect_header("vary"), "Accept");
    let body = String::from_utf8(response.body.clone()).expect("JSON is UTF-8");
    assert!(
        body.contains(r#""name":"quote\"q","href":"./quote%22q","type":"file","size":5,"mtime":"2026-12-01T10:00:00Z"}"#),
        "{body}"
    );
    let Some(entries) = python_entries(&response.body) else {
        return;
    };
    let want = [
        r#"{"href": "./sub%20dir/", "mtime": true, "name": "sub dir", "size": 0, "type": "dir"}"#,
        r#"{"href": "./back%5Cslash", "mtime": true, "name": "back\\slash", "size": 5, "type": "file"}"#,
        r#"{"href": "./bad%FF.bin", "mtime": true, "name": "bad\ufffd.bin", "size": 5, "type": "file"}"#,
        r#"{"href": "./caf%C3%A9", "mtime": true, "name": "caf\u00e9", "size": 5, "type": "file"}"#,
        r#"{"href": "./ctrl%01%09", "mtime": true, "name": "ctrl\u0001\t", "size": 5, "type": "file"}"#,
        r#"{"href": "./new%0Aline", "mtime": true, "name": "new\nline", "size": 5, "type": "file"}"#,
        r#"{"href": "./quote%22q", "mtime": true, "name": "quote\"q", "size": 5, "type": "file"}"#,
    ];
    assert_eq!(entries, want);
    // The href is exact even where the name is not: it fetches the file with the invalid byte.
    assert_eq!(get(&server, "/odd/bad%FF.bin", &[]).body, b"12345");

    // Negotiation: JSON only when preferred over HTML; both representations say Vary.
    for (accept, json) in [
        ("*/*", false),
        ("text/html,application/xhtml+xml,*/*;q=0.8", false),
        ("text/html, application/json;q=0.9", false),
        ("application/json;q=0.9, text/html;q=0.5", true),
        ("application/*", true),
    ] {
        let response = get(&server, "/odd/", &[("Accept", accept)]);
        let content_type = response.expect_header("content-type");
        let want = if json {
            "application/json"
        } else {
            "text/html; charset=utf-8"
        };
        assert_eq!(content_type, want, "Accept: {accept}");
        assert_eq!(response.expect_header("vary"), "Accept", "Accept: {accept}");
    }
    let plain = server.get("/odd/");
    assert_eq!(plain.expect_header("vary"), "Accept");
    assert!(plain.body_text().contains("bad\u{FFFD}.bin"));
}

#[test]
fn listings_sort_by_each_key_and_order_directories_first() {
    let server = Server::start(&["--autoindex"]);
    let t = 1_700_000_000;
    // name order a, b, c; size order b, c, a; date order c, a, b.
    for (name, len, mtime) in [("a", 300, t + 20), ("b", 100, t + 30), ("c", 200, t + 10)] {
        let path = server.write(&format!("s/{name}"), vec![b'x'; len]);
        set_mtime(&path, mtime);
    }
    set_mtime(&server.mkdir("s/d1"), t + 50);
    set_mtime(&server.mkdir("s/d2"), t + 40);

    for (query, want) in [
        ("", "d1/ d2/ a b c"),
        ("?sort=bogus&order=sideways", "d1/ d2/ a b c"),
        ("?sort=name&order=asc", "d1/ d2/ a b c"),
        ("?sort=name&order=desc", "d2/ d1/ c b a"),
        ("?sort=size", "d1/ d2/ b c a"),
        ("?sort=size&order=desc", "d2/ d1/ a c b"),
        ("?order=asc&sort=date", "d2/ d1/ c a b"),
        ("?sort=date&order=desc", "d1/ d2/ b a c"),
    ] {
        let response = get(&server, &format!("/s/{query}"), &[]);
        assert_eq!(response.status, 200, "{}", response.summary());
        let html = response.body_text();
        let order: Vec<String> = hrefs(&html)
            .iter()
            .map(|h| h.trim_start_matches("./").to_string())
            .collect();
        assert_eq!(order.join(" "), want, "{query}: {html}");
    }
    // The headers sort by their column, and toggle the order of the current one.
    let html = get(&server, "/s/?sort=size", &[]).body_text();
    assert!(
        html.contains("href=\"?sort=size&amp;order=desc\">Size"),
        "{html}"
    );
    assert!(
        html.contains("href=\"?sort=name&amp;order=asc\">Name"),
        "{html}"
    );
    let html = get(&server, "/s/?sort=size&order=desc", &[]).body_text();
    assert!(
        html.contains("href=\"?sort=size&amp;order=asc\">Size"),
        "{html}"
    );
    // JSON follows the same order.
    let body = json(&server, "/s/?sort=size&order=desc").body_text();
    let names: Vec<&str> = body
        .split("\"name\":\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    assert_eq!(names, ["d2", "d1", "a", "c", "b"], "{body}");
}

#[test]
fn the_cap_applies_after_sorting_all_entries() {
    let server = Server::start(&["--autoindex"]);
    let count = LISTING_MAX_ENTRIES + 5;
    let dir = server.mkdir("many");
    for i in 0..count {
        std::fs::write(dir.join(format!("f{i:05}")), b"").unwrap();
    }
    // The order on disk: make the first read the newest, so by date they come last.
    let on_disk: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    for (position, path) in on_disk.iter().enumerate() {
        set_mtime(path, 1_700_000_000 + (count - position) as u64);
    }
    let first_on_disk: Vec<String> = on_disk[..5]
        .iter()
        .map(|p| format!("./{}", p.file_name().unwrap().to_str().unwrap()))
        .collect();

    let html = get(&server, "/many/", &[]).body_text();
    let shown = hrefs(&html);
    let want: Vec<String> = (0..LISTING_MAX_ENTRIES)
        .map(|i| format!("./f{i:05}"))
        .collect();
    assert!(shown == want, "not the first {LISTING_MAX_ENTRIES} by name");
    assert!(
        html.contains("Showing 2000 of 2005 entries."),
        "footer: {}",
        &html[html.len().saturating_sub(300)..]
    );

    let html = get(&server, "/many/?sort=date", &[]).body_text();
    let shown = hrefs(&html);
    assert_eq!(shown.len(), LISTING_MAX_ENTRIES);
    for newest in &first_on_disk {
        assert!(!shown.contains(newest), "{newest} is among the newest 5");
    }
    let html = get(&server, "/many/?sort=date&order=desc", &[]).body_text();
    assert_eq!(hrefs(&html)[..5], first_on_disk[..]);
}

#[test]
fn symlinks_are_shown_as_what_they_lead_to_and_refused_ones_hidden() {
    let base = TempDir::new();
    let root = base.path().join("root");
    std::fs::create_dir_all(root.join("data/inner")).unwrap();
    std::fs::create_dir_all(root.join("l")).unwrap();
    std::fs::write(root.join("data/a.txt"), vec![b'a'; 1536]).unwrap();
    std::fs::write(root.join("data/.secret"), b"s").unwrap();
    std::fs::write(base.path().join("outside.txt"), b"o").unwrap();
    let link = |target: &str, name: &str| {
        std::os::unix::fs::symlink(target, root.join("l").join(name)).unwrap();
    };
    link("../data/a.txt", "file-link");
    link("../data", "dir-link");
    link("file-link", "chain");
    link("nowhere", "dangling");
    link("../../outside.txt", "escaping");
    link("/etc", "absolute-escaping");
    link("../data/.secret", "to-dotfile");
    link("../data/.", "to-data-dot");

    let server = Server::builder().root(&root).args(&["--autoindex"]).start();
    let html = get(&server, "/l/", &[]).body_text();
    assert_eq!(
        hrefs(&html),
        ["./dir-link/", "./to-data-dot/", "./chain", "./file-link"],
        "{html}"
    );
    assert!(html.contains("title=\"1536 bytes\">1.5 KiB<"), "{html}");
    assert_eq!(get(&server, "/l/dir-link/a.txt", &[]).status, 200);
    let body = json(&server, "/l/").body_text();
    assert!(
        body.contains(r#""href":"./dir-link/","type":"symlink","target":"dir","size":0"#),
        "{body}"
    );
    assert!(
        body.contains(r#""href":"./file-link","type":"symlink","target":"file","size":1536"#),
        "{body}"
    );

    // With --serve-hidden, the link to the dotfile is served, so it is listed.
    let hidden = Server::builder()
        .root(&root)
        .args(&["--autoindex", "--serve-hidden"])
        .start();
    let html = get(&hidden, "/l/", &[]).body_text();
    assert!(hrefs(&html).contains(&"./to-dotfile".to_string()), "{html}");
    assert!(!html.contains("escaping"), "{html}");
}

#[test]
fn sizes_are_human_readable_with_exact_bytes_in_the_title() {
    let server = Server::start(&["--autoindex"]);
    server.write("h/small", "12345");
    server.write("h/empty", "");
    std::fs::File::create(server.root().join("h/big"))
        .unwrap()
        .set_len(23 * 1024 * 1024 + 4321)
        .unwrap();
    server.write("h/kib", vec![b'k'; 1536]);
    let html = get(&server, "/h/", &[]).body_text();
    for cell in [
        "title=\"5 bytes\">5 B</td>",
        "title=\"0 bytes\">0 B</td>",
        "title=\"1536 bytes\">1.5 KiB</td>",
        "title=\"24121569 bytes\">23 MiB</td>",
    ] {
        assert!(html.contains(cell), "{cell} in {html}");
    }
    assert!(html.contains("4 entries."), "{html}");
}

#[test]
fn a_listing_page_renders_in_a_browser() {
    let Some(browser) = chromium() else {
        return;
    };
    let server = Server::start(&["--autoindex"]);
    server.mkdir("shot/images");
    server.mkdir("shot/releases");
    server.write("shot/README.md", vec![b'r'; 2300]);
    server.write("shot/notes <draft> & ideas.txt", "n");
    std::fs::File::create(server.root().join("shot/archive.tar.gz"))
        .unwrap()
        .set_len(48 * 1024 * 1024 + 123_456)
        .unwrap();
    std::os::unix::fs::symlink("README.md", server.root().join("shot/latest")).unwrap();
    let work = TempDir::new();
    let profile = work.path().join("profile");
    let png = work.path().join("listing.png");
    std::fs::create_dir(&profile).unwrap();

    let status = headless(browser, &profile)
        .args(["--hide-scrollbars", "--window-size=1000,800"])
        .arg(format!("--screenshot={}", png.display()))
        .arg(server.url("/shot/?sort=size&order=desc"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "chromium: {status}");
    // To look at it: LISTING_SCREENSHOT=/some/path.png cargo test --test listings browser
    if let Some(keep) = std::env::var_os("LISTING_SCREENSHOT") {
        std::fs::copy(&png, keep).unwrap();
    }
    let bytes = std::fs::read(&png).expect("no screenshot written");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(
        bytes.len() > 5 * 1024,
        "screenshot of {} bytes: a blank page?",
        bytes.len()
    );
}

/// A listing is built by a worker thread: while a directory of many entries is read and
/// sorted, a request on another connection is answered, before the listing is.
#[test]
fn a_large_listing_does_not_hold_other_connections() {
    let server = Server::start(&["--autoindex"]);
    server.write("small.txt", "small\n");
    let big = server.root().join("big");
    std::fs::create_dir(&big).unwrap();
    for i in 0..60_000 {
        std::fs::File::create(big.join(format!("entry-{i:05}"))).unwrap();
    }
    let mut listing = server.connect();
    listing.send(get_request("/big/?sort=size&order=desc"));
    std::thread::sleep(Duration::from_millis(30));
    let mut other = server.connect();
    assert_eq!(other.get("/small.txt").status, 200);
    listing.stream.set_nonblocking(true).unwrap();
    let mut byte = [0u8; 1];
    let arrived = listing.stream.peek(&mut byte).is_ok();
    listing.stream.set_nonblocking(false).unwrap();
    assert!(
        !arrived,
        "the listing was answered before the other connection: it was built on the loop"
    );
    let page = listing.read_response();
    assert_eq!(page.status, 200, "{}", page.summary());
}

/// A listing hides what serving hides, and no more: `/.well-known/` is served with dotfiles
/// hidden, so the root's listing shows it; `.git` and a dotfile inside `.well-known` stay out.
#[test]
fn listings_show_well_known_and_hide_other_dotfiles() {
    let server = Server::start(&["--autoindex"]);
    server.write(".well-known/security.txt", "Contact: x\n");
    server.write(".well-known/.secret", "s");
    server.write(".git/config", "c");
    server.write("a.txt", "a");
    let root = get(&server, "/", &[]);
    assert_eq!(root.status, 200, "{}", root.summary());
    let html = String::from_utf8_lossy(&root.body);
    assert!(html.contains(".well-known/"), "{html}");
    assert!(!html.contains(".git"), "{html}");
    let inner = get(&server, "/.well-known/", &[]);
    let html = String::from_utf8_lossy(&inner.body);
    assert!(html.contains("security.txt"), "{html}");
    assert!(!html.contains(".secret"), "{html}");
}
