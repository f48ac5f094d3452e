//! Compressing files on the fly: which types to compress, how hard, the compression itself,
//! and a bounded cache of the results with one job per cold variant.
//!
//! Nothing here knows the loop, a socket or the clock. `compress` and `variant` are the body
//! of a worker job; `CompressedCache` lives on the loop thread and hands out the opaque
//! `u64` waiter tokens its caller gave it, so the caller can wake the requests that waited.
//!
//! Invariants:
//! - A variant is keyed by its file's identity (device, inode, size, mtime to the ns), so
//!   a changed file is never answered with the old file's variant: its new identity misses,
//!   and the old entry ages out (or goes at once with `remove_file`).
//! - The cache's bytes (`used_bytes`) never exceed its capacity; every lookup, insertion and
//!   eviction is O(log n), with no scan of the cache.
//! - At most one job runs per key: `begin` says `Started` once, then `AlreadyRunning` until
//!   `finish`.
//!
//! Costs on 100 KiB of minified JavaScript, one core, per `--compress-level` (ms, output
//! as a fraction of the input; gzip is flate2 on zlib-rs):
//!
//! | level | gzip          | brotli (quality) | zstd (level)   |
//! |-------|---------------|------------------|----------------|
//! | 1     | 0.4 ms, 0.471 | 1: 0.9 ms, 0.483 | 1: 0.2 ms, 0.378 |
//! | 6     | 1.2 ms, 0.340 | 5: 2.7 ms, 0.321 | 9: 1.5 ms, 0.326 |
//! | 9     | 2.1 ms, 0.335 | 9: 16 ms, 0.315  | 19: 21 ms, 0.310 |

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Write};
use std::rc::Rc;

use crate::http::encoding::Coding;

/// Bodies smaller than this are sent as they are. With a response head of a few hundred
/// bytes, a 1 KiB body already fits in one TCP segment (1460 bytes of payload on Ethernet):
/// compressing it saves no packet and no round trip, but costs a worker job and a cache
/// entry. (nginx's `gzip_min_length` default is 20 bytes, Caddy's 512.)
pub const COMPRESS_MIN_BYTES: u64 = 1024;

/// Files larger than this are sent as they are. A job holds the whole file and its
/// compressed copy in memory, so this bounds a job at about 16 MiB; it also keeps a zstd
/// frame's window within the 8 MiB that HTTP's `zstd` coding allows (RFC 9659 §3): zstd
/// sizes its window to the known input size, and levels up to 19 never ask for more than
/// 8 MiB anyway.
pub const COMPRESS_MAX_BYTES: u64 = 8 * 1024 * 1024;

/// The default bound of the compressed-variant cache (`--compress-cache-bytes`): about a
/// thousand typical compressed assets of 30 KB.
pub const COMPRESS_CACHE_DEFAULT_BYTES: usize = 32 * 1024 * 1024;

/// What each entry costs besides its bytes and ETag (map slots, the recency index, the `Rc`
/// header), so that the bound holds for many small or empty entries too.
const ENTRY_OVERHEAD_BYTES: usize = 128;

/// Whether a response of this media type is worth compressing: text and other formats that
/// are not compressed already. An allow-list, because an unknown type is more likely binary.
/// Parameters (`; charset=utf-8`) are ignored; types are case-insensitive (RFC 9110 §8.3.1).
pub fn is_compressible(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim_matches([' ', '\t']);
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    if kind.eq_ignore_ascii_case("text") {
        return true;
    }
    // Structured syntax suffixes (RFC 6839): image/svg+xml, application/ld+json, ...
    let suffix = subtype.rsplit_once('+').map(|(_, suffix)| suffix);
    if suffix.is_some_and(|s| s.eq_ignore_ascii_case("xml") || s.eq_ignore_ascii_case("json")) {
        return true;
    }
    const COMPRESSIBLE: &[&str] = &[
        "application/javascript",
        "application/x-javascript",
        "application/ecmascript",
        "application/json",
        "application/xml",
        "application/wasm",
        "application/vnd.ms-fontobject",
        "application/x-font-ttf",
        "application/x-font-otf",
        "font/ttf",
        "font/otf",
        "font/collection",
        "image/bmp",
        "image/x-icon",
        "image/vnd.microsoft.icon",
    ];
    COMPRESSIBLE.iter().any(|t| t.eq_ignore_ascii_case(essence))
}

/// How hard to compress: `--compress-level`, 1 (fastest) to 9 (smallest), as with gzip.
/// Each level maps to a gzip level, a Brotli quality and a zstd level of similar cost
/// (table in the module doc). Brotli qualities 10 and 11 and zstd levels above 19 are left
/// out: 30 to 60 times slower for 5 % less, they are for files compressed ahead of time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Level(u8);

/// Per level, from 1: (gzip level, Brotli quality, zstd level).
const LEVELS: [(u32, i32, i32); 9] = [
    (1, 1, 1),
    (2, 2, 2),
    (3, 3, 3),
    (4, 4, 5),
    (5, 4, 6),
    (6, 5, 9),
    (7, 6, 12),
    (8, 7, 15),
    (9, 9, 19),
];

impl Level {
    /// Level 6: as small as nginx's `gzip_comp_level 6` or smaller in each coding (ratios
    /// 0.340, 0.321, 0.326 above) for at most 3 ms per 100 KiB, and a variant is made once
    /// and then served from the cache.
    pub const DEFAULT: Level = Level(6);

    /// `None` outside 1..=9.
    pub fn new(level: u8) -> Option<Level> {
        (1..=9).contains(&level).then_some(Level(level))
    }

    pub fn get(self) -> u8 {
        self.0
    }

    fn params(self) -> (u32, i32, i32) {
        // `Level::new` keeps the level within 1..=9.
        LEVELS[usize::from(self.0 - 1)]
    }
}

/// `input` compressed whole in `coding`. The output depends only on the input, the coding,
/// the level and the encoders' versions (the gzip header carries no time or name), which is
/// what lets `compressed_etag` be strong.
pub fn compress(coding: Coding, level: Level, input: &[u8]) -> io::Result<Vec<u8>> {
    let (gzip, brotli_quality, zstd) = level.params();
    match coding {
        Coding::Gzip => {
            let out = Vec::with_capacity(input.len() / 2);
            let mut encoder = flate2::write::GzEncoder::new(out, flate2::Compression::new(gzip));
            encoder.write_all(input)?;
            encoder.finish()
        }
        Coding::Br => {
            let params = brotli::enc::BrotliEncoderParams {
                quality: brotli_quality,
                size_hint: input.len(),
                ..Default::default()
            };
            let mut out = Vec::with_capacity(input.len() / 2);
            brotli::BrotliCompress(&mut &input[..], &mut out, &params)?;
            Ok(out)
        }
        Coding::Zstd => zstd::bulk::compress(input, zstd),
    }
}

/// A file's content compressed in one coding, with the ETag that names it.
#[derive(Debug, PartialEq, Eq)]
pub struct CompressedVariant {
    pub bytes: Box<[u8]>,
    /// Quotes included, like `StaticFile::etag`.
    pub etag: Box<[u8]>,
}

/// The whole worker job: the variant of a file whose content is `input` and whose ETag is
/// `identity_etag`, or `None` if compressing does not make it smaller (a mislabelled or
/// already compressed file), in which case identity is the better thing to send.
pub fn variant(
    coding: Coding,
    level: Level,
    input: &[u8],
    identity_etag: &[u8],
) -> io::Result<Option<CompressedVariant>> {
    let bytes = compress(coding, level, input)?;
    Ok((bytes.len() < input.len()).then(|| CompressedVariant {
        bytes: bytes.into_boxed_slice(),
        etag: compressed_etag(identity_etag, coding, level),
    }))
}

/// The strong ETag of a compressed variant: the file's own tag with the coding and level
/// added inside the quotes, `"ino-len-mtime"` → `"ino-len-mtime-br6"`.
///
/// A different representation needs a different entity tag (RFC 9110 §8.8.3), and a strong
/// one must change whenever the bytes can (§8.8.1): the file's tag changes with its content,
/// the suffix with the coding and with `--compress-level`, and the encoders are
/// deterministic, so equal tags mean equal bytes for a given build. (An upgrade that changes
/// an encoder's output would repeat a tag for other bytes; a client notices only if it
/// resumes a download across that upgrade with If-Range.) It is known without compressing,
/// so a revalidation can be answered 304 even when the variant is not cached. It cannot
/// equal a file's own tag, whose parts are all hexadecimal: the coding names are not.
pub fn compressed_etag(identity_etag: &[u8], coding: Coding, level: Level) -> Box<[u8]> {
    let opaque = identity_etag.strip_suffix(b"\"").unwrap_or(identity_etag);
    let mut tag = Vec::with_capacity(opaque.len() + 8);
    tag.extend_from_slice(opaque);
    tag.push(b'-');
    tag.extend_from_slice(coding.token().as_bytes());
    tag.push(b'0' + level.get());
    tag.push(b'"');
    tag.into_boxed_slice()
}

/// What tells whether a file changed: the same fields `StaticFile` compares on every request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FileIdentity {
    pub dev: u64,
    pub ino: u64,
    pub len: u64,
    /// Modification time in nanoseconds since the epoch.
    pub mtime_ns: i128,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VariantKey {
    pub file: FileIdentity,
    pub coding: Coding,
}

/// What `begin` found.
#[derive(Debug)]
pub enum Begin {
    /// Send this variant.
    Hit(Rc<CompressedVariant>),
    /// Compressing was tried and did not pay, or failed: send identity.
    Identity,
    /// No variant and no job: the caller starts the job and calls `finish` when it ends.
    Started,
    /// A job for this key is running; its `finish` returns the waiter given here.
    AlreadyRunning,
}

/// What `finish` hands back.
#[derive(Debug)]
pub struct Finished {
    /// The variant to send, `None` for identity.
    pub variant: Option<Rc<CompressedVariant>>,
    /// The waiters given to `begin` for this key, in order, to be woken.
    pub waiters: Vec<u64>,
}

struct Entry {
    /// `None`: compressing did not pay; remembered so it is not tried on every request.
    variant: Option<Rc<CompressedVariant>>,
    /// Key in `recency`.
    stamp: u64,
    cost_bytes: usize,
}

/// Compressed variants, least recently used evicted first, total bounded by a capacity in
/// bytes, plus the jobs in flight and who waits for them.
///
/// Evicting only drops the cache's reference: a response still sending a variant keeps it
/// alive until it ends, so memory can exceed the capacity by the variants being sent.
pub struct CompressedCache {
    capacity_bytes: usize,
    used_bytes: usize,
    entries: HashMap<VariantKey, Entry>,
    /// Entries by last use: the smallest stamp is the least recently used.
    recency: BTreeMap<u64, VariantKey>,
    next_stamp: u64,
    in_flight: HashMap<VariantKey, Vec<u64>>,
}

impl CompressedCache {
    pub fn new(capacity_bytes: usize) -> CompressedCache {
        CompressedCache {
            capacity_bytes,
            used_bytes: 0,
            entries: HashMap::new(),
            recency: BTreeMap::new(),
            next_stamp: 0,
            in_flight: HashMap::new(),
        }
    }

    /// Looks `key` up on behalf of `waiter`, marking a hit as just used; on a miss, registers
    /// `waiter` to be returned by `finish(key, ..)`.
    pub fn begin(&mut self, key: VariantKey, waiter: u64) -> Begin {
        if let Some(entry) = self.entries.get_mut(&key) {
            self.recency.remove(&entry.stamp);
            entry.stamp = self.next_stamp;
            self.recency.insert(entry.stamp, key);
            self.next_stamp += 1;
            return match &entry.variant {
                Some(variant) => Begin::Hit(Rc::clone(variant)),
                None => Begin::Identity,
            };
        }
        match self.in_flight.get_mut(&key) {
            Some(waiters) => {
                waiters.push(waiter);
                Begin::AlreadyRunning
            }
            None => {
                self.in_flight.insert(key, vec![waiter]);
                Begin::Started
            }
        }
    }

    /// Ends the job for `key` with its result (`None`: not worth it, or it failed), keeps
    /// the result if it fits, evicting the least recently used entries to make room, and
    /// returns it with the waiters to wake. A result larger than the whole capacity is
    /// still returned, just not kept.
    pub fn finish(&mut self, key: VariantKey, result: Option<CompressedVariant>) -> Finished {
        let waiters = self.in_flight.remove(&key).unwrap_or_default();
        let variant = result.map(Rc::new);
        self.remove(&key);
        let cost_bytes =
            ENTRY_OVERHEAD_BYTES + variant.as_ref().map_or(0, |v| v.bytes.len() + v.etag.len());
        if cost_bytes <= self.capacity_bytes {
            while self.used_bytes + cost_bytes > self.capacity_bytes {
                let Some((_, oldest)) = self.recency.pop_first() else {
                    break;
                };
                self.remove(&oldest);
            }
            let stamp = self.next_stamp;
            self.next_stamp += 1;
            self.recency.insert(stamp, key);
            self.used_bytes += cost_bytes;
            let entry = Entry {
                variant: variant.clone(),
                stamp,
                cost_bytes,
            };
            self.entries.insert(key, entry);
        }
        Finished { variant, waiters }
    }

    /// Drops every variant of a file, for a caller that saw it change. Jobs in flight are
    /// left to finish: their waiters still need waking.
    pub fn remove_file(&mut self, file: FileIdentity) {
        for coding in Coding::EVERY {
            self.remove(&VariantKey { file, coding });
        }
    }

    /// The bytes the entries account for; never above the capacity.
    pub fn used_bytes(&self) -> usize {
        self.used_bytes
    }

    fn remove(&mut self, key: &VariantKey) {
        if let Some(entry) = self.entries.remove(key) {
            self.recency.remove(&entry.stamp);
            self.used_bytes -= entry.cost_bytes;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
                mtime_ns: 1_700_000_000_000_000_000,
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
        new.file.mtime_ns += 1;
        assert!(matches!(cache.begin(new, 0), Begin::Started));
        new = old;
        new.file.len += 1;
        assert!(matches!(cache.begin(new, 0), Begin::Started));
    }
}
