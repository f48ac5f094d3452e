//! A real browser loads the default site: headless Chromium renders `static/index.html`,
//! runs its script, and the access log shows that its stylesheet, script and logo were
//! fetched with 200, the text ones compressed.
//!
//! `.ci/run` installs Debian's chromium; on a machine without it the test says so and
//! passes, except under CI (`CI` set), where a missing browser is a failure (`chromium`).

pub mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::*;

#[test]
fn default_site_renders_with_its_stylesheet_and_image() {
    let Some(browser) = chromium() else {
        return;
    };
    let work = TempDir::new();
    let profile = work.path().join("profile");
    std::fs::create_dir(&profile).unwrap();
    let log_path = work.path().join("access.log");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("static");

    let server = Server::builder()
        .root(&root)
        .args(&["--access-log", log_path.to_str().unwrap()])
        .start();

    let dom = dump_dom(browser, &server.url("/"), &profile);

    // The log writer runs beside the loop; give it a moment to write the lines.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut log = String::new();
    while Instant::now() < deadline {
        log = std::fs::read_to_string(&log_path).unwrap_or_default();
        if log.contains("/logo.svg") && log.contains("/style.css") && log.contains("HEAD / ") {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(server);

    assert!(dom.contains("<title>tinyhttpd</title>"), "DOM: {dom}");
    assert!(dom.contains("src=\"/logo.svg\""), "DOM: {dom}");
    // The script ran: it asked for the page again (HEAD) and listed the answer's fields.
    assert!(
        dom.contains("This page was served with 200") && dom.contains("server: </code>tinyhttpd"),
        "DOM: {dom}"
    );
    for (path, what) in [
        ("/", "page"),
        ("/style.css", "stylesheet"),
        ("/logo.svg", "logo"),
        ("/served.js", "script"),
    ] {
        let fetched = log
            .lines()
            .any(|line| line.contains(&format!("\"GET {path} HTTP/1.1\" 200 ")));
        assert!(
            fetched,
            "the browser did not fetch the {what} with 200; log:\n{log}"
        );
    }
    // The page, its stylesheet and its script were compressed on the fly (Chromium accepts
    // br, zstd and gzip), and rendered and ran all the same: fewer bytes went out than the
    // files hold.
    for (path, file) in [
        ("/", "index.html"),
        ("/style.css", "style.css"),
        ("/served.js", "served.js"),
    ] {
        let size = std::fs::metadata(root.join(file)).unwrap().len();
        let prefix = format!("\"GET {path} HTTP/1.1\" 200 ");
        let sent: u64 = log
            .lines()
            .find_map(|line| line.split_once(&prefix))
            .and_then(|(_, rest)| rest.split(' ').next()?.parse().ok())
            .unwrap_or(u64::MAX);
        assert!(
            sent < size,
            "{path} was sent uncompressed ({sent} of {size} bytes); log:\n{log}"
        );
    }
}
