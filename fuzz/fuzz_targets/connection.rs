//! The whole connection state machine over memory (`tinyhttpd::server::simulate::Simulation`), fed
//! arbitrary bytes in arbitrary reads, with deadlines expiring at arbitrary points.
//!
//! Input layout: `n = data[0] % 16` control bytes follow, then the bytes the client sends.
//! The payload is cut into reads; read `i` uses control byte `c = ctrl[i % n]`:
//! its length is `1 + (c % 64)`, and when `c & 0x80` is set the connection's deadline expires
//! after that read. With `n == 0` the payload arrives in a single read. Then the client
//! closes its side.
//!
//! Checked: the connection always finishes once the client has closed (at most two deadline
//! expiries later, for a lingering close); the output is a sequence of complete responses,
//! each starting `HTTP/1.1 DDD `, with a head ending in CRLF CRLF and a body of exactly its
//! `Content-Length` (or none, for HEAD and 304), a 206's `Content-Range` matching its length;
//! nothing follows a `Connection: close` response; and
//! there are no more responses than request heads could have ended (plus one error).

#![no_main]

use std::fs;
use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tinyhttpd::server::simulate::Simulation;

/// Size of the file served with `send_file` (over `site::files::INLINE_FILE_MAX_BYTES`).
const BIG_FILE_BYTES: usize = 40 * 1024;

static SITE: OnceLock<PathBuf> = OnceLock::new();

/// A small site in a fresh temp dir, made once per process. No file contains `HTTP/`,
/// so a response boundary can be recognised in the output.
fn site() -> &'static PathBuf {
    SITE.get_or_init(|| {
        let root = std::env::temp_dir().join(format!("tinyhttpd-fuzz-site-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(root.join("sub/deeper")).unwrap();
        fs::create_dir_all(root.join("empty-dir")).unwrap();
        fs::create_dir_all(root.join(".hidden-dir")).unwrap();
        fs::write(root.join("index.html"), "<!doctype html><h1>home</h1>\n").unwrap();
        fs::write(root.join("a.txt"), "hello, world\n").unwrap();
        fs::write(root.join("empty.txt"), "").unwrap();
        fs::write(root.join("hello world.txt"), "spaced\n").unwrap();
        fs::write(root.join(".secret"), "hidden\n").unwrap();
        fs::write(root.join(".hidden-dir/x.txt"), "hidden\n").unwrap();
        fs::write(root.join("sub/index.html"), "<p>sub</p>\n").unwrap();
        fs::write(root.join("sub/deeper/b.css"), "p { color: red }\n").unwrap();
        let big: Vec<u8> = (0..BIG_FILE_BYTES)
            .map(|i| b"0123456789abcdef\n"[i % 17])
            .collect();
        fs::write(root.join("big.bin"), &big).unwrap();
        // Precompressed variants (served as they are; they need not really be compressed).
        fs::write(root.join("big.bin.gz"), &big[..20_000]).unwrap();
        fs::write(root.join("a.txt.br"), "br bytes\n").unwrap();
        fs::write(root.join("a.txt.gz"), "gzip bytes\n").unwrap();
        std::os::unix::fs::symlink("a.txt", root.join("link.txt")).unwrap();
        std::os::unix::fs::symlink("sub", root.join("sublink")).unwrap();
        std::os::unix::fs::symlink("/etc", root.join("escape")).unwrap();
        root
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let n = usize::from(first % 16).min(rest.len());
    let (ctrl, payload) = rest.split_at(n);

    let mut sim = Simulation::new(site()).expect("open the site");
    if ctrl.is_empty() {
        sim.receive(payload);
    } else {
        let mut pos = 0;
        let mut i = 0;
        while pos < payload.len() {
            let c = ctrl[i % ctrl.len()];
            i += 1;
            let end = (pos + 1 + usize::from(c % 64)).min(payload.len());
            sim.receive(&payload[pos..end]);
            pos = end;
            if c & 0x80 != 0 {
                sim.expire_deadline();
            }
        }
    }
    sim.close_input();
    if !sim.is_done() {
        // Possibly lingering after a close; a deadline ends that.
        sim.expire_deadline();
    }
    if !sim.is_done() {
        sim.expire_deadline();
    }
    assert!(
        sim.is_done(),
        "connection still running after EOF and two deadlines"
    );

    check_output(sim.output(), payload);
});

/// Walks the output response by response.
fn check_output(out: &[u8], payload: &[u8]) {
    if out.is_empty() {
        return;
    }
    assert!(
        out.starts_with(b"HTTP/1.1 "),
        "output starts {:?}",
        prefix(out)
    );
    // Heads are disjoint and each ends in CRLF CRLF; an error (400, 408, ...) may come on top.
    let max_responses = payload.windows(4).filter(|w| w == b"\r\n\r\n").count() + 1;
    let mut responses = 0;
    let mut pos = 0;
    let mut closed = false;
    while pos < out.len() {
        assert!(!closed, "a response follows `Connection: close`");
        let rest = &out[pos..];
        assert!(
            is_status_line_start(rest),
            "bad response start at {pos}: {:?}",
            prefix(rest)
        );
        let head_len = rest
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map(|i| i + 4)
            .unwrap_or_else(|| panic!("unterminated response head at {pos}: {:?}", prefix(rest)));
        let head = &rest[..head_len];
        let status = &rest[9..12];
        let mut content_length = None;
        let mut content_range = None;
        for (i, &b) in head.iter().enumerate() {
            assert!(
                b != b'\n' || head[i - 1] == b'\r',
                "bare LF in {:?}",
                prefix(head)
            );
        }
        // The status line and the fields, without the final CRLF CRLF: every line but the
        // last ends in CR (before its LF).
        let block = &head[..head_len - 4];
        let lines = block.split(|&b| b == b'\n').count();
        for (i, line) in block.split(|&b| b == b'\n').enumerate().skip(1) {
            let line = if i + 1 < lines {
                &line[..line.len() - 1]
            } else {
                line
            };
            if let Some(value) = line.strip_prefix(b"Content-Length: ") {
                assert!(content_length.is_none(), "two Content-Length fields");
                let value = std::str::from_utf8(value).expect("ASCII Content-Length");
                content_length = Some(value.parse::<usize>().expect("numeric Content-Length"));
            }
            if let Some(value) = line.strip_prefix(b"Content-Range: ") {
                content_range = Some(value);
            }
            if line == b"Connection: close" {
                closed = true;
            }
            assert!(
                line.iter().all(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f)),
                "control byte in a response field: {line:?}"
            );
        }
        // 304 is the one response without a length (and never with a body).
        let content_length = if status == b"304" {
            0
        } else {
            content_length.expect("every response but 304 has Content-Length")
        };
        if let Some(range) = content_range {
            check_content_range(status, range, content_length);
        }
        let after_head = &rest[head_len..];
        // A full body must be followed by the end or the next response; a HEAD response has
        // no body at all.
        let boundary = |s: &[u8]| s.is_empty() || s.starts_with(b"HTTP/1.1 ");
        let body_len = if content_length > 0
            && after_head.len() >= content_length
            && boundary(&after_head[content_length..])
        {
            content_length
        } else if boundary(after_head) {
            0
        } else {
            panic!(
                "response at {pos} (Content-Length {content_length}) is followed by {:?}",
                prefix(after_head)
            );
        };
        pos += head_len + body_len;
        responses += 1;
    }
    assert!(
        responses <= max_responses,
        "{responses} responses for at most {} heads",
        max_responses - 1
    );
}

/// `bytes FIRST-LAST/LEN` on a 206 (describing exactly the body), `bytes */LEN` on a 416.
fn check_content_range(status: &[u8], value: &[u8], content_length: usize) {
    let value = std::str::from_utf8(value).expect("ASCII Content-Range");
    let spec = value
        .strip_prefix("bytes ")
        .expect("Content-Range in bytes");
    let (range, len) = spec.split_once('/').expect("Content-Range has a length");
    let len: u64 = len.parse().expect("numeric complete length");
    match status {
        b"206" => {
            let (first, last) = range.split_once('-').expect("FIRST-LAST");
            let (first, last): (u64, u64) = (first.parse().unwrap(), last.parse().unwrap());
            assert!(first <= last && last < len, "Content-Range {value}");
            assert_eq!(
                last - first + 1,
                content_length as u64,
                "Content-Range {value}"
            );
        }
        b"416" => assert_eq!(range, "*", "Content-Range {value} on 416"),
        _ => panic!("Content-Range {value} on a {status:?} response"),
    }
}

/// `HTTP/1.1 DDD ` with a three-digit code from 100 to 599.
fn is_status_line_start(s: &[u8]) -> bool {
    s.len() >= 13
        && s.starts_with(b"HTTP/1.1 ")
        && (b'1'..=b'5').contains(&s[9])
        && s[10].is_ascii_digit()
        && s[11].is_ascii_digit()
        && s[12] == b' '
}

fn prefix(s: &[u8]) -> String {
    String::from_utf8_lossy(&s[..s.len().min(80)]).into_owned()
}
