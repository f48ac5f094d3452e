//! Every request, valid or not, split at every byte boundary (and fed one byte at a time) must
//! produce exactly the responses it produces when it arrives in one piece: the connection's
//! state machine may not depend on how TCP happens to segment the stream.

#[path = "common/site.rs"]
pub mod site;

use std::path::Path;

use tinyhttpd::server::simulate::Simulation;

const INPUTS: &[&[u8]] = &[
    b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"HEAD /a.txt HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /a.txt HTTP/1.1\r\nHost: a\r\n\r\nGET /b.css HTTP/1.1\r\nHost: a\r\n\r\nGET /missing HTTP/1.1\r\nHost: a\r\n\r\n",
    b"\r\n\r\nGET /a.txt HTTP/1.0\r\n\r\n",
    b"GET /a.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /b.css HTTP/1.0\r\n\r\n",
    b"GET /sub HTTP/1.1\r\nHost: a\r\n\r\nGET /sub/ HTTP/1.1\r\nHost: a\r\n\r\n",
    b"POST /a.txt HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET /a.txt HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /a.txt HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\nT: 1\r\n\r\nGET /b.css HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /a.txt HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nGET /b.css HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /a.txt HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"GET / HTTP/1.1\nHost: a\n\n",
    b"GET /../etc/passwd HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /%2e%2e/x HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
    b"BREW / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET / HTTP/2.0\r\n\r\n",
    b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",
    b"GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\nbody",
    b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"POST /a.txt HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;a\nb\r\nhello\r\n0\r\n\r\nGET /b.css HTTP/1.1\r\nHost: a\r\n\r\n",
];

/// A small site in a temporary directory of its own: the tests run in parallel.
fn small_site() -> site::TempDir {
    let dir = site::TempDir::new();
    for (rel, contents) in [
        ("index.html", &b"<h1>index</h1>\n"[..]),
        ("a.txt", b"alpha\n"),
        ("b.css", b"body { color: red }\n"),
        ("sub/index.html", b"sub\n"),
    ] {
        site::write_file_in(dir.path(), rel, contents);
    }
    dir
}

/// Feeds `pieces` in order, then closes the client side; returns what the server wrote,
/// with the Date header's value blanked (the second may tick between runs).
fn run(root: &Path, pieces: &[&[u8]]) -> (Vec<u8>, bool) {
    let mut sim = Simulation::new(root).unwrap();
    for piece in pieces {
        sim.receive(piece);
    }
    sim.close_input();
    let mut out = sim.output().to_vec();
    let mut at = 0;
    while let Some(pos) = find(&out[at..], b"\r\nDate: ") {
        let start = at + pos + 8;
        out[start..start + 29].fill(b'#');
        at = start;
    }
    (out, sim.is_done())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[test]
fn outcome_does_not_depend_on_segmentation() {
    let site = small_site();
    let root = site.path();
    for input in INPUTS {
        let (whole, whole_done) = run(root, &[input]);
        assert!(
            !whole.is_empty(),
            "no response to {:?}",
            String::from_utf8_lossy(input)
        );
        assert!(whole_done, "connection left open after EOF");
        for split in 1..input.len() {
            let (a, b) = input.split_at(split);
            let (got, _) = run(root, &[a, b]);
            assert_eq!(
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(&whole),
                "split at {split} of {:?}",
                String::from_utf8_lossy(input)
            );
        }
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        let (got, _) = run(root, &bytes);
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&whole),
            "one byte at a time: {:?}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn pipelined_responses_come_in_order() {
    let site = small_site();
    let root = site.path();
    let (out, _) = run(
        root,
        &[b"GET /a.txt HTTP/1.1\r\nHost: a\r\n\r\nGET /b.css HTTP/1.1\r\nHost: a\r\n\r\nGET /a.txt HTTP/1.1\r\nHost: a\r\n\r\n"],
    );
    let text = String::from_utf8_lossy(&out);
    let a1 = text.find("alpha").unwrap();
    let b = text.find("color: red").unwrap();
    let a2 = text.rfind("alpha").unwrap();
    assert!(a1 < b && b < a2, "{text}");
    assert_eq!(text.matches("HTTP/1.1 200 OK").count(), 3);
}

#[test]
fn stalled_head_gets_408() {
    let site = small_site();
    let root = site.path();
    let mut sim = Simulation::new(root).unwrap();
    sim.receive(b"GET / HTTP/1.1\r\nHo");
    assert!(sim.output().is_empty());
    sim.expire_deadline();
    assert!(
        sim.output()
            .starts_with(b"HTTP/1.1 408 Request Timeout\r\n")
    );
    assert!(sim.output_closed());
}
