//! Shared helpers for the integration tests, by purpose: `server` starts the real binary
//! (`Server::builder()` for its options) and watches the process, `client` is the raw
//! HTTP/1.1 client and its `Response`, `curl` runs curl, `site` makes temporary directories
//! and files. Everything is re-exported here, so a test says `use common::*;`. A helper that
//! only one test file needs lives in that file.
//!
//! Dead code: each `tests/X.rs` is a crate of its own that compiles this module again, and
//! each uses a different part of it, so rustc's per-crate `dead_code` lint would flag in one
//! file what the others use. The test files therefore declare `pub mod common;`: a public
//! module is the crate's API, which the lint leaves alone, and no per-item `allow` is needed.
//! Whether a helper is used by *no* test is a question about the whole suite; to ask it,
//! make the declarations private (`sed -i 's/^pub mod common;/mod common;/' tests/*.rs`),
//! run `cargo test --no-run`, and remove what is reported in every test binary. The
//! simulation tests, which start no server, take only `site.rs` (`#[path]`) the same way.

mod client;
mod curl;
mod server;
mod site;

pub use client::*;
pub use curl::*;
pub use server::*;
pub use site::*;

/// The installed Chromium-like browser, if any; a browser test without one says so and
/// passes, except under CI (`CI` set), where `.ci/run` should have installed it.
pub fn chromium() -> Option<&'static str> {
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|name| {
            std::process::Command::new(name)
                .arg("--version")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromium is not installed; .ci/run should have installed it"
        );
        eprintln!("note: chromium not installed, browser test skipped");
    }
    found
}

/// `browser` run headless with a fresh profile in `profile`, quiet on a machine without a
/// network (no background connections, no update checks).
pub fn headless(browser: &str, profile: &std::path::Path) -> std::process::Command {
    let mut command = std::process::Command::new(browser);
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .stderr(std::process::Stdio::null());
    command
}

/// The DOM `browser` renders for `url` once its scripts have run (`--dump-dom`, after up to
/// 5 s of the page's own time for its fetches), with a fresh profile in `profile`.
pub fn dump_dom(browser: &str, url: &str, profile: &std::path::Path) -> String {
    let output = headless(browser, profile)
        // Let the page's scripts and their fetches finish before the DOM is dumped.
        .arg("--virtual-time-budget=5000")
        .arg("--dump-dom")
        .arg(url)
        .output()
        .expect("run the browser");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Runs `python3 -c script` with `input` on its standard input; its output, captured. `Err`
/// when python3 cannot be started.
pub fn python3_stdin(script: &str, input: &[u8]) -> std::io::Result<std::process::Output> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    // A script that exits without reading all of it is the caller's to judge by its status.
    let _ = child.stdin.take().expect("piped stdin").write_all(input);
    child.wait_with_output()
}

/// HTTPS: certificates made with `openssl req`, and a blocking rustls client.
mod tls;
pub use tls::*;
