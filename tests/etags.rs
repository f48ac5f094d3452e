//! ETags that replicas agree on (`--etag mtime`, the default: size and mtime, no inode), and
//! content ETags (`--etag content`) for trees whose mtimes mean nothing, as in a Nix store
//! where every mtime is 1 s. Each test serves two copies of one site (`cp -p`, so mtimes are
//! kept and inodes differ) from two servers, as two replicas behind a balancer would.

pub mod common;

use std::fs::File;
use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant, UNIX_EPOCH};

use common::*;

/// The mtime of a Nix store path.
const NIX_MTIME: Duration = Duration::from_secs(1);
/// How long a content tag may take to be made by a worker; the files here take milliseconds.
const HASH_DEADLINE: Duration = Duration::from_secs(5);

/// Sets the modification time of `path`.
fn set_mtime(path: &Path, mtime: Duration) {
    let file = File::options().write(true).open(path).unwrap();
    file.set_modified(UNIX_EPOCH + mtime).unwrap();
}

/// `files` written in a fresh directory with their mtime set to `mtime`.
fn make_site(files: &[(&str, Vec<u8>)], mtime: Duration) -> TempDir {
    let dir = TempDir::new();
    for (name, bytes) in files {
        set_mtime(&write_file_in(dir.path(), name, bytes), mtime);
    }
    dir
}

/// A copy of `site` made with `cp -pR`: same bytes and mtimes, other inodes.
fn replica_of(site: &TempDir) -> TempDir {
    let copy = TempDir::new();
    let source = format!("{}/.", site.path().display());
    let status = Command::new("cp")
        .args(["-pR", &source, copy.path().to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success(), "cp -pR failed");
    copy
}

fn serve(root: &Path, args: &[&str]) -> Server {
    Server::builder().root(root).args(args).start()
}

fn get(server: &Server, target: &str, headers: &[(&str, &str)]) -> Response {
    send_closing(server.addr(), "GET", target, headers)
}

/// The ETag of `target`, asking until the server has one (a content tag is made by a worker
/// after the first request); every response on the way must have the right body.
fn etag_when_known(server: &Server, target: &str, headers: &[(&str, &str)], body: &[u8]) -> String {
    let deadline = Instant::now() + HASH_DEADLINE;
    loop {
        let response = get(server, target, headers);
        assert_eq!(response.status, 200, "{target}: {}", response.summary());
        if response.header("content-encoding").is_none() {
            assert!(response.body == body, "{target}: wrong body");
        }
        if let Some(tag) = response.header("etag") {
            return tag.to_string();
        }
        assert!(Instant::now() < deadline, "{target}: no ETag in time");
        thread::sleep(Duration::from_millis(20));
    }
}

/// Checks, for `target`, that `b` validates what `a` tagged: 304 for If-None-Match, and a
/// range honoured under If-Range (a resumed download moving to the other replica).
fn assert_validated_across(a: &Server, b: &Server, target: &str, tag: &str, body: &[u8]) {
    let revalidated = get(b, target, &[("If-None-Match", tag)]);
    assert_eq!(
        revalidated.status,
        304,
        "{target}: {}",
        revalidated.summary()
    );
    assert_eq!(revalidated.header("etag"), Some(tag), "{target}");
    let resumed = get(b, target, &[("Range", "bytes=10-"), ("If-Range", tag)]);
    assert_eq!(resumed.status, 206, "{target}: {}", resumed.summary());
    assert!(resumed.body == body[10..], "{target}: wrong range");
    let matched = get(b, target, &[("If-Match", tag)]);
    assert_eq!(matched.status, 200, "{target}: {}", matched.summary());
    // And the tag still validates where it was made.
    assert_eq!(get(a, target, &[("If-None-Match", tag)]).status, 304);
}

fn text(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| b'a' + ((i + usize::from(seed)) % 26) as u8)
        .collect()
}

#[test]
fn replicas_with_the_same_files_and_mtimes_give_the_same_etags() {
    let mtime = Duration::new(1_700_000_000, 123_456_789);
    let files = [
        ("small.txt", b"replicated\n".to_vec()),
        ("page.html", text(4000, 3)),
        ("big.bin", pseudo_random_bytes(300 * 1024, 7)),
    ];
    let site = make_site(&files, mtime);
    let copy = replica_of(&site);
    let (a, b) = (serve(site.path(), &[]), serve(copy.path(), &[]));
    for (name, body) in &files {
        let target = format!("/{name}");
        let tag = etag_when_known(&a, &target, &[], body);
        assert_eq!(tag, etag_when_known(&b, &target, &[], body), "{target}");
        assert_validated_across(&a, &b, &target, &tag, body);
    }
    // A variant compressed on the fly: its tag derives from the file's, so it agrees too.
    let gzip = [("Accept-Encoding", "gzip")];
    let tag_a = get(&a, "/page.html", &gzip)
        .expect_header("etag")
        .to_string();
    let from_b = get(&b, "/page.html", &gzip);
    assert_eq!(from_b.header("content-encoding"), Some("gzip"));
    assert_eq!(from_b.header("etag"), Some(tag_a.as_str()));
    let revalidated = get(&b, "/page.html", &[("If-None-Match", &tag_a), gzip[0]]);
    assert_eq!(revalidated.status, 304, "{}", revalidated.summary());
}

#[test]
fn content_etags_tell_apart_files_whose_size_and_mtime_agree() {
    let (a_v1, b_v1) = (text(3000, 0), text(3000, 1));
    let big = pseudo_random_bytes(600 * 1024, 11);
    let files = [
        ("a.txt", a_v1.clone()),
        ("b.txt", b_v1.clone()),
        ("big.bin", big.clone()),
    ];
    let site = make_site(&files, NIX_MTIME);
    let copy = replica_of(&site);
    let (a, b) = (
        serve(site.path(), &["--etag", "content"]),
        serve(copy.path(), &["--etag", "content"]),
    );
    let tag_a = etag_when_known(&a, "/a.txt", &[], &a_v1);
    let tag_b = etag_when_known(&a, "/b.txt", &[], &b_v1);
    assert_ne!(tag_a, tag_b, "same size and mtime, other bytes");
    // Mtimes mean nothing here: no Last-Modified to revalidate a changed file against.
    assert_eq!(get(&a, "/a.txt", &[]).header("last-modified"), None);

    // The copies agree, and one's tag validates at the other.
    for (target, body, tag) in [("/a.txt", &a_v1, &tag_a), ("/b.txt", &b_v1, &tag_b)] {
        assert_eq!(&etag_when_known(&b, target, &[], body), tag, "{target}");
        assert_validated_across(&a, &b, target, tag, body);
    }
    // The first response for a file is sent before its hash is made (a worker reads 600 KiB
    // in milliseconds, the response is rendered in microseconds): it carries no ETag, rather
    // than a wrong one.
    let first = get(&a, "/big.bin", &[]);
    assert!(first.body == big);
    assert_eq!(first.header("etag"), None, "{}", first.summary());
    let big_tag = etag_when_known(&a, "/big.bin", &[], &big);
    assert_eq!(etag_when_known(&b, "/big.bin", &[], &big), big_tag);
    assert_validated_across(&b, &a, "/big.bin", &big_tag, &big);
    // A variant compressed on the fly once the file's tag is known: derived from it.
    let gzip = [("Accept-Encoding", "gzip")];
    let gzip_tag = etag_when_known(&a, "/a.txt", &gzip, &a_v1);
    assert_ne!(gzip_tag, tag_a);
    assert_eq!(etag_when_known(&b, "/a.txt", &gzip, &a_v1), gzip_tag);

    // Rewritten in place with the same size, and the mtime set back: a new tag at once.
    let a_v2 = text(3000, 2);
    let path = site.path().join("a.txt");
    std::fs::write(&path, &a_v2).unwrap();
    set_mtime(&path, NIX_MTIME);
    let tag_v2 = etag_when_known(&a, "/a.txt", &[], &a_v2);
    assert_ne!(tag_v2, tag_a, "rewritten content kept its tag");
    let stale = get(&a, "/a.txt", &[("If-None-Match", &tag_a)]);
    assert_eq!(stale.status, 200, "{}", stale.summary());
    assert!(stale.body == a_v2);
}

/// The documented trade-off of `--etag mtime`: a rewrite to the same size with the mtime set
/// back (what a Nix-style tree does to every file) keeps the tag, so a client holding it is
/// told its old copy is current. The body served is the new one; only the validator is blind.
#[test]
fn mtime_etags_do_not_see_a_same_size_rewrite_with_the_mtime_set_back() {
    let v1 = text(3000, 0);
    let site = make_site(&[("a.txt", v1.clone())], NIX_MTIME);
    let server = serve(site.path(), &[]);
    let tag = etag_when_known(&server, "/a.txt", &[], &v1);

    let v2 = text(3000, 5);
    let path = site.path().join("a.txt");
    std::fs::write(&path, &v2).unwrap();
    set_mtime(&path, NIX_MTIME);
    assert_eq!(etag_when_known(&server, "/a.txt", &[], &v2), tag);
    let revalidated = get(&server, "/a.txt", &[("If-None-Match", &tag)]);
    assert_eq!(revalidated.status, 304, "{}", revalidated.summary());
}
