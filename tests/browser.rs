//! A real browser loads the default site: headless Chromium renders `static/index.html`,
//! and the access log shows that its stylesheet and logo were fetched with 200.
//!
//! `.ci/run` installs Debian's chromium; on a machine without it the test says so and
//! passes, except under CI (`CI` set), where a missing browser is a failure.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|name| {
            Command::new(name)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
}

#[test]
fn default_site_renders_with_its_stylesheet_and_image() {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromium is not installed; .ci/run should have installed it"
        );
        eprintln!("note: chromium not installed, browser test skipped");
        return;
    };
    let work = std::env::temp_dir().join(format!("tinyhttpd-browser-{}", std::process::id()));
    std::fs::create_dir_all(work.join("profile")).unwrap();
    let log_path = work.join("access.log");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("static");

    let mut server = Command::new(env!("CARGO_BIN_EXE_tinyhttpd"))
        .args(["--port", "0", "--bind", "127.0.0.1", "--root"])
        .arg(&root)
        .arg("--access-log")
        .arg(&log_path)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first_line = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut first_line)
        .unwrap();
    let url = first_line
        .trim()
        .strip_prefix("listening on ")
        .expect("listening line")
        .to_string();

    let dom = Command::new(browser)
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
        .arg(format!(
            "--user-data-dir={}",
            work.join("profile").display()
        ))
        .arg("--dump-dom")
        .arg(format!("{url}/"))
        .stderr(Stdio::null())
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&dom.stdout).into_owned();

    // The log writer runs beside the loop; give it a moment to write the lines.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut log = String::new();
    while Instant::now() < deadline {
        log = std::fs::read_to_string(&log_path).unwrap_or_default();
        if log.contains("/logo.svg") && log.contains("/style.css") {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&work);

    assert!(dom.contains("<title>tinyhttpd</title>"), "DOM: {dom}");
    assert!(dom.contains("src=\"/logo.svg\""), "DOM: {dom}");
    for (path, what) in [
        ("/", "page"),
        ("/style.css", "stylesheet"),
        ("/logo.svg", "logo"),
    ] {
        let fetched = log
            .lines()
            .any(|line| line.contains(&format!("\"GET {path} HTTP/1.1\" 200 ")));
        assert!(
            fetched,
            "the browser did not fetch the {what} with 200; log:\n{log}"
        );
    }
}
