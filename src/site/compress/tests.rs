//! Compression checked against independent decoders, and the cache's bounds and order.

use std::rc::Rc;

use super::cache::ENTRY_OVERHEAD_BYTES;
use super::*;
use crate::http::mime::is_compressible;
use std::process::{Command, Stdio};

/// About `len` bytes of JavaScript-like text: repetitive, as real sources are.
fn script(len: usize) -> Vec<u8> {
    let mut text = Vec::with_capacity(len + 100);
    let mut i = 0u32;
    while text.len() < len {
        let line = format!(
            "function handler{i}(event, options) {{ return options.items[{}].map((x) => x * {i} + \"{}\"); }}\n",
            i % 17,
            i.wrapping_mul(2_654_435_761) % 1000
        );
        text.extend_from_slice(line.as_bytes());
        i += 1;
    }
    text
}

/// Bytes no coder can shrink (xorshift).
fn noise(len: usize) -> Vec<u8> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect()
}

/// `compressed` decoded by the command-line tool of its format, not by the crate that
/// made it, so an encoder bug cannot be hidden by the matching decoder.
fn decode_independently(coding: Coding, compressed: &[u8]) -> Vec<u8> {
    let program = match coding {
        Coding::Gzip => "gzip",
        Coding::Br => "brotli",
        Coding::Zstd => "zstd",
    };
    let mut child = Command::new(program)
        .args(["-d", "-c"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run `{program} -d -c` ({e}): these tests decode with the command-line \
                 tools; install them with `apt-get install gzip zstd brotli`"
            )
        });
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let input = compressed.to_vec();
    // Written from another thread: the tool's output pipe must be read meanwhile.
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output().expect("wait for the decoder");
    writer
        .join()
        .expect("writer thread")
        .expect("write to decoder");
    assert!(
        output.status.success(),
        "{program} -d failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

#[test]
fn compressed_output_decodes_with_independent_tools() {
    let levels: Vec<Level> = (1..=9).filter_map(Level::new).collect();
    let cases: &[(&str, Vec<u8>, &[Level])] = &[
        ("empty", Vec::new(), &levels),
        ("one byte", b"x".to_vec(), &levels),
        ("small script", script(3000), &levels),
        (
            "large script",
            script(200 * 1024),
            &[Level(1), Level::DEFAULT, Level(9)],
        ),
        (
            "noise",
            noise(20_000),
            &[Level(1), Level::DEFAULT, Level(9)],
        ),
    ];
    for (name, input, levels) in cases {
        for &level in *levels {
            for coding in Coding::EVERY {
                let compressed = compress(coding, level, input).expect("compress");
                let decoded = decode_independently(coding, &compressed);
                assert!(decoded == *input, "{name}, {coding:?} level {level:?}");
            }
        }
    }
}

#[test]
fn text_shrinks_and_noise_is_left_alone() {
    let text = script(100 * 1024);
    let tag = b"\"1f-19000-5f\"";
    for coding in Coding::EVERY {
        let made = variant(coding, Level::DEFAULT, &text, tag)
            .expect("compress")
            .expect("text shrinks");
        assert!(made.bytes.len() < text.len() / 4, "{coding:?}");
        assert_eq!(decode_independently(coding, &made.bytes), text);
        assert_eq!(made.etag, compressed_etag(tag, coding, Level::DEFAULT));
        let none = variant(coding, Level::DEFAULT, &noise(4096), tag).expect("compress");
        assert_eq!(none, None, "{coding:?}: noise does not shrink");
    }
}

#[test]
fn compressed_etags() {
    let table: &[(&[u8], Coding, u8, &[u8])] = &[
        (b"\"1a-400-17f\"", Coding::Br, 6, b"\"1a-400-17f-br6\""),
        (b"\"1a-400-17f\"", Coding::Gzip, 1, b"\"1a-400-17f-gzip1\""),
        (b"\"1a-400-17f\"", Coding::Zstd, 9, b"\"1a-400-17f-zstd9\""),
        (b"\"\"", Coding::Br, 6, b"\"-br6\""),
    ];
    for &(identity, coding, level, want) in table {
        let level = Level::new(level).expect("valid level");
        let got = compressed_etag(identity, coding, level);
        assert_eq!(&*got, want, "{}", String::from_utf8_lossy(identity));
    }
    // Every coding and level gives a different tag.
    let mut tags = std::collections::HashSet::new();
    for coding in Coding::EVERY {
        for level in (1..=9).filter_map(Level::new) {
            assert!(tags.insert(compressed_etag(b"\"1a\"", coding, level)));
        }
    }
}

#[test]
fn levels() {
    assert_eq!(Level::new(0), None);
    assert_eq!(Level::new(10), None);
    assert_eq!(Level::DEFAULT.get(), 6);
    let params: Vec<_> = (1..=9)
        .map(|n| Level::new(n).expect("1..=9 is valid").params())
        .collect();
    // A higher level never compresses less hard in any coding.
    assert!(
        params
            .windows(2)
            .all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1 && w[0].2 <= w[1].2)
    );
    assert!(params.iter().all(|&(g, b, z)| g <= 9 && b <= 9 && z <= 19));
}

#[test]
fn compressible_types() {
    let table: &[(&str, bool)] = &[
        ("text/html", true),
        ("text/html; charset=utf-8", true),
        ("TEXT/CSS;charset=UTF-8", true),
        ("text/javascript", true),
        ("text/plain", true),
        ("application/javascript", true),
        ("application/json", true),
        ("application/xml", true),
        ("application/ld+json", true),
        ("application/manifest+json", true),
        ("application/atom+xml", true),
        ("image/svg+xml", true),
        ("image/SVG+XML ; charset=utf-8", true),
        ("application/wasm", true),
        ("font/ttf", true),
        ("font/otf", true),
        ("application/vnd.ms-fontobject", true),
        ("application/x-font-ttf", true),
        ("image/x-icon", true),
        ("image/png", false),
        ("image/jpeg", false),
        ("image/webp", false),
        ("image/avif", false),
        ("font/woff", false),
        ("font/woff2", false),
        ("video/mp4", false),
        ("audio/mpeg", false),
        ("application/zip", false),
        ("application/gzip", false),
        ("application/zstd", false),
        ("application/pdf", false),
        ("application/octet-stream", false),
        ("application/x+y", false),
        ("text", false),
        ("", false),
        ("json", false),
    ];
    for &(content_type, want) in table {
        assert_eq!(is_compressible(content_type), want, "{content_type:?}");
    }
}

fn key(ino: u64, coding: Coding) -> VariantKey {
    VariantKey {
        file: FileIdentity {
            dev: 1,
            ino,
            len: 5000,
            mtime_secs: 1_700_000_000,
            mtime_nanos: 0,
            ctime_secs: 0,
            ctime_nanos: 0,
        },
        coding,
    }
}

/// A variant that costs exactly `cost_bytes` in the cache.
fn sized(cost_bytes: usize) -> CompressedVariant {
    let etag: Box<[u8]> = Box::new(*b"\"t\"");
    CompressedVariant {
        bytes: vec![7; cost_bytes - ENTRY_OVERHEAD_BYTES - etag.len()].into_boxed_slice(),
        etag,
    }
}

fn hit(cache: &mut CompressedCache, key: VariantKey) -> bool {
    matches!(cache.begin(key, 0), Begin::Hit(_))
}

/// Stores a variant for `key` as a finished job would.
fn store(cache: &mut CompressedCache, key: VariantKey, cost_bytes: usize) {
    assert!(matches!(cache.begin(key, 0), Begin::Started));
    cache.finish(key, Some(sized(cost_bytes)));
}

#[test]
fn evicts_least_recently_used_within_the_bound() {
    let mut cache = CompressedCache::new(1000);
    let (a, b, c, d) = (
        key(1, Coding::Br),
        key(2, Coding::Br),
        key(3, Coding::Gzip),
        key(4, Coding::Zstd),
    );
    store(&mut cache, a, 300);
    store(&mut cache, b, 300);
    store(&mut cache, c, 300);
    assert_eq!(cache.used_bytes(), 900);
    // Using `a` makes `b` the least recently used, so room for `d` is taken from `b`.
    assert!(hit(&mut cache, a));
    store(&mut cache, d, 300);
    assert_eq!(cache.used_bytes(), 900);
    assert!(!hit(&mut cache, b), "b was evicted");
    cache.finish(b, None);
    // `c` was next in line and went to make room for b's remembered "no variant".
    assert!(hit(&mut cache, a) && hit(&mut cache, d));
    assert!(matches!(cache.begin(b, 0), Begin::Identity));
    assert!(!hit(&mut cache, c), "c was evicted");
    assert!(cache.used_bytes() <= 1000);
}

#[test]
fn a_variant_larger_than_the_cache_is_returned_but_not_kept() {
    let mut cache = CompressedCache::new(1000);
    let small = key(1, Coding::Br);
    let big = key(2, Coding::Br);
    store(&mut cache, small, 300);
    assert!(matches!(cache.begin(big, 9), Begin::Started));
    let finished = cache.finish(big, Some(sized(1001)));
    assert_eq!(finished.waiters, [9]);
    assert_eq!(
        finished.variant.map(|v| v.bytes.len()),
        Some(1001 - 128 - 3)
    );
    assert!(hit(&mut cache, small), "nothing was evicted for it");
    assert!(matches!(cache.begin(big, 0), Begin::Started));
    assert_eq!(cache.used_bytes(), 300);
}

#[test]
fn one_job_per_cold_variant() {
    let mut cache = CompressedCache::new(10_000);
    let br = key(1, Coding::Br);
    let gzip = key(1, Coding::Gzip);
    assert!(matches!(cache.begin(br, 10), Begin::Started));
    assert!(matches!(cache.begin(br, 11), Begin::AlreadyRunning));
    // Another coding of the same file is another job.
    assert!(matches!(cache.begin(gzip, 12), Begin::Started));
    assert!(matches!(cache.begin(br, 13), Begin::AlreadyRunning));
    let finished = cache.finish(br, Some(sized(500)));
    assert_eq!(finished.waiters, [10, 11, 13]);
    let sent = finished.variant.expect("a variant");
    match cache.begin(br, 14) {
        Begin::Hit(cached) => assert!(Rc::ptr_eq(&cached, &sent)),
        other => panic!("expected a hit, got {other:?}"),
    }
    // A failed or useless job wakes its waiters with no variant, and is remembered.
    let finished = cache.finish(gzip, None);
    assert_eq!(finished.waiters, [12]);
    assert!(finished.variant.is_none());
    assert!(matches!(cache.begin(gzip, 15), Begin::Identity));
}

#[test]
fn remove_file_drops_every_coding_of_that_file_only() {
    let mut cache = CompressedCache::new(10_000);
    for coding in Coding::EVERY {
        store(&mut cache, key(1, coding), 200);
    }
    store(&mut cache, key(2, Coding::Br), 200);
    let running = key(3, Coding::Br);
    assert!(matches!(cache.begin(running, 30), Begin::Started));
    cache.remove_file(key(1, Coding::Br).file);
    cache.remove_file(running.file);
    assert_eq!(cache.used_bytes(), 200);
    for coding in Coding::EVERY {
        assert!(matches!(cache.begin(key(1, coding), 0), Begin::Started));
    }
    assert!(hit(&mut cache, key(2, Coding::Br)));
    // A job in flight still reports to its waiters.
    assert_eq!(cache.finish(running, None).waiters, [30]);
}

#[test]
fn a_changed_file_misses() {
    let mut cache = CompressedCache::new(10_000);
    let old = key(1, Coding::Br);
    store(&mut cache, old, 200);
    let mut new = old;
    new.file.mtime_nanos += 1;
    assert!(matches!(cache.begin(new, 0), Begin::Started));
    new = old;
    new.file.len += 1;
    assert!(matches!(cache.begin(new, 0), Begin::Started));
}

#[test]
fn a_request_counts_once_whether_it_hits_or_misses() {
    let mut cache = CompressedCache::new(1 << 20);
    let cold = key(7, Coding::Br);
    // The handler's lookup misses; the connection's begin that follows is not a second miss.
    assert!(cache.lookup(cold).is_none());
    assert!(matches!(cache.begin(cold, 1), Begin::Started));
    assert_eq!(cache.hits_and_misses(), (0, 1));
    cache.finish(cold, None);
    // The next request's lookup is one hit.
    assert!(cache.lookup(cold).is_some());
    assert_eq!(cache.hits_and_misses(), (1, 1));
}
