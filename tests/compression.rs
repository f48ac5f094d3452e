//! Compression on the fly, against the real binary: each coding decoded by an independent
//! decoder (the `gzip`, `zstd` and `brotli` programs), negotiation with the precompressed
//! siblings, ETags, 304, ranges, and what is left alone.

pub mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::*;

/// Text of `len` bytes that compresses well but not trivially.
fn script(len: usize, seed: u64) -> Vec<u8> {
    let words = [
        "function", "return", "const", "value", "=>", "{", "}", "(x)", ";", "this",
    ];
    let mut state = seed;
    let mut out = Vec::with_capacity(len + 16);
    while out.len() < len {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        out.extend_from_slice(words[(state >> 33) as usize % words.len()].as_bytes());
        out.push(b' ');
    }
    out.truncate(len);
    out
}

fn get(server: &Server, target: &str, headers: &[(&str, &str)]) -> Response {
    send_closing(server.addr(), "GET", target, headers)
}

/// `bytes` decoded by `program -d -c`; `None` if the program is not installed.
fn decode(program: &str, bytes: &[u8]) -> Option<Vec<u8>> {
    let mut child = match Command::new(program)
        .args(["-d", "-c"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            assert!(
                std::env::var_os("CI").is_none(),
                "{program} is not installed"
            );
            eprintln!("note: {program} not installed, its decoding is not checked");
            return None;
        }
        Err(e) => panic!("cannot run {program}: {e}"),
    };
    let mut stdin = child.stdin.take().unwrap();
    let input = bytes.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(output.status.success(), "{program} -d failed");
    Some(output.stdout)
}

#[test]
fn every_coding_decodes_to_the_file_with_its_own_etag_and_vary() {
    let server = Server::start(&[]);
    let text = script(100 * 1024, 1);
    server.write("app.js", &text);
    let identity = get(&server, "/app.js", &[]);
    assert_eq!(identity.body, text);
    assert_eq!(identity.header("content-encoding"), None);
    assert_eq!(identity.header("vary"), Some("Accept-Encoding"));
    let identity_tag = identity.expect_header("etag").to_string();
    for (token, program) in [("br", "brotli"), ("zstd", "zstd"), ("gzip", "gzip")] {
        // Twice: the first makes the variant in the pool, the second is a cache hit.
        for round in 0..2 {
            let response = get(&server, "/app.js", &[("Accept-Encoding", token)]);
            let what = format!("{token}, round {round}: {}", response.summary());
            assert_eq!(response.status, 200, "{what}");
            assert_eq!(response.header("content-encoding"), Some(token), "{what}");
            assert_eq!(response.header("vary"), Some("Accept-Encoding"), "{what}");
            assert!(response.body.len() < text.len() / 2, "{what}");
            let tag = response.expect_header("etag");
            assert!(tag.starts_with('"') && tag != identity_tag, "{what}");
            assert!(tag.ends_with(&format!("-{token}6\"")), "{what}");
            if let Some(decoded) = decode(program, &response.body) {
                assert!(decoded == text, "{what}: decoded bytes differ");
            }
        }
    }
}

#[test]
fn q_values_choose_and_siblings_win_over_compressing() {
    let server = Server::start(&[]);
    let text = script(8 * 1024, 2);
    server.write("a.css", &text);
    server.write("b.css", &text);
    server.write("b.css.zst", b"zst sibling");
    server.write("b.css.gz", b"gz sibling");
    let cases: &[(&str, Option<&str>)] = &[
        ("gzip, br, zstd", Some("br")),
        ("gzip;q=0.5, zstd;q=0.8", Some("zstd")),
        ("br;q=0, gzip", Some("gzip")),
        ("identity;q=0, gzip;q=0.1", Some("gzip")),
        ("identity, gzip;q=0.5", None),
        ("*;q=0", None),
        ("deflate", None),
    ];
    for &(accept, coding) in cases {
        let response = get(&server, "/a.css", &[("Accept-Encoding", accept)]);
        assert_eq!(
            response.header("content-encoding"),
            coding,
            "{accept}: {}",
            response.summary()
        );
        if coding.is_none() {
            assert_eq!(response.body, text, "{accept}");
        }
    }
    // The siblings are sent as they are, even though the file could be compressed.
    let zst = get(&server, "/b.css", &[("Accept-Encoding", "zstd")]);
    assert_eq!(zst.header("content-encoding"), Some("zstd"));
    assert_eq!(zst.body, b"zst sibling");
    let gz = get(
        &server,
        "/b.css",
        &[("Accept-Encoding", "gzip;q=1, zstd;q=0.5")],
    );
    assert_eq!(gz.body, b"gz sibling");
    // No br sibling: br is made on the fly.
    let br = get(&server, "/b.css", &[("Accept-Encoding", "br")]);
    assert_eq!(br.header("content-encoding"), Some("br"));
    if let Some(decoded) = decode("brotli", &br.body) {
        assert_eq!(decoded, text);
    }
}

#[test]
fn conditional_and_range_requests_apply_to_the_compressed_bytes() {
    let server = Server::start(&[]);
    let text = script(50 * 1024, 3);
    server.write("c.json", &text);
    let gzip = [("Accept-Encoding", "gzip")];
    let whole = get(&server, "/c.json", &gzip);
    let tag = whole.expect_header("etag").to_string();

    // A revalidation of the compressed representation: 304 with its tag and Vary.
    let restarted = Server::builder().root(server.root()).start();
    let not_modified = get(
        &restarted,
        "/c.json",
        &[("Accept-Encoding", "gzip"), ("If-None-Match", &tag)],
    );
    assert_eq!(not_modified.status, 304, "{}", not_modified.summary());
    assert_eq!(not_modified.header("etag"), Some(tag.as_str()));
    assert_eq!(not_modified.header("vary"), Some("Accept-Encoding"));
    let head = send_closing(server.addr(), "HEAD", "/c.json", &gzip);
    assert_eq!(head.header("etag"), Some(tag.as_str()));
    assert_eq!(head.content_length(), Some(whole.body.len() as u64));

    let ranged = get(
        &server,
        "/c.json",
        &[("Accept-Encoding", "gzip"), ("Range", "bytes=10-109")],
    );
    assert_eq!(ranged.status, 206, "{}", ranged.summary());
    assert_eq!(ranged.header("content-encoding"), Some("gzip"));
    let total = whole.body.len();
    assert_eq!(
        ranged.header("content-range"),
        Some(format!("bytes 10-109/{total}").as_str())
    );
    assert_eq!(ranged.body, whole.body[10..110]);
    let cold_range = get(
        &restarted,
        "/c.json",
        &[("Accept-Encoding", "gzip"), ("Range", "bytes=-5")],
    );
    assert_eq!(cold_range.status, 206, "{}", cold_range.summary());
    assert_eq!(cold_range.body, whole.body[total - 5..]);
}

#[test]
fn what_is_not_compressed() {
    let server = Server::start(&[]);
    let text = script(4096, 4);
    server.write("big.txt", &text);
    server.write("small.txt", &text[..1000]);
    server.write("image.png", &text);
    let br = [("Accept-Encoding", "br, gzip, zstd")];
    let small = get(&server, "/small.txt", &br);
    assert_eq!(
        small.header("content-encoding"),
        None,
        "below the minimum size"
    );
    assert_eq!(small.header("vary"), None);
    let png = get(&server, "/image.png", &br);
    assert_eq!(
        png.header("content-encoding"),
        None,
        "not a compressible type"
    );
    assert_eq!(png.body, text);
    let off = Server::builder()
        .root(server.root())
        .args(&["--no-compress"])
        .start();
    let plain = get(&off, "/big.txt", &br);
    assert_eq!(plain.header("content-encoding"), None, "--no-compress");
    assert_eq!(plain.header("vary"), None);
    assert_eq!(plain.body, text);
}

#[test]
fn a_changed_file_gets_a_fresh_variant() {
    let server = Server::start(&[]);
    let first = script(20 * 1024, 5);
    server.write("d.html", &first);
    let zstd = [("Accept-Encoding", "zstd")];
    let before = get(&server, "/d.html", &zstd);
    let second = script(24 * 1024, 6);
    std::thread::sleep(std::time::Duration::from_millis(20));
    server.write("d.html", &second);
    let after = get(&server, "/d.html", &zstd);
    assert_ne!(before.header("etag"), after.header("etag"));
    if let Some(decoded) = decode("zstd", &after.body) {
        assert!(decoded == second, "the variant of the new content");
    }
}
