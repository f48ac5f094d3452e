//! Compressing files on the fly: the sizes worth it, how hard, the compression itself, and a
//! bounded cache of the results with one job per cold variant. Which types are worth it is
//! judged once per type, by `http::mime` (`ContentType::compressible`).
//!
//! Nothing here knows the loop, a socket or the clock. `compress` and `variant` are the body
//! of a worker job; `CompressedCache` lives on the loop thread and hands out the opaque
//! `u64` waiter tokens its caller gave it, so the caller can wake the requests that waited.
//!
//! The cache of results is `cache` (`CompressedCache`). Invariants:
//! - A variant is keyed by its file's identity (device, inode, size, mtime and ctime), so
//!   a changed file is never answered with the old file's variant: its new identity misses,
//!   and the old entry ages out (or goes at once with `remove_file`).
//! - The cache's bytes (`used_bytes`) never exceed its capacity; every lookup, insertion and
//!   eviction is O(1) (a hash map, and a recency list linked through a slab that reuses
//!   its slots), with no scan of the cache; a hit allocates nothing.
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

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;

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

/// The worker job for a file: reads `len` bytes of `file` (a duplicate of the cached file's
/// descriptor, read with `pread`, so no offset is shared) and compresses them. `None` when
/// identity should be sent instead: reading failed, the file no longer has `identity` (it
/// changed while being read, so the bytes may mix two versions), or the output is not
/// smaller.
pub fn compress_file(
    file: &File,
    identity: FileIdentity,
    coding: Coding,
    level: Level,
    identity_etag: &[u8],
) -> Option<CompressedVariant> {
    let mut input = vec![0; usize::try_from(identity.len).ok()?];
    file.read_exact_at(&mut input, 0).ok()?;
    if FileIdentity::of(&file.metadata().ok()?) != identity {
        return None;
    }
    variant(coding, level, &input, identity_etag).ok().flatten()
}

/// The strong ETag of a compressed variant: the file's own tag with the coding and level
/// added inside the quotes, `"size-mtime"` → `"size-mtime-br6"`.
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

mod cache;

pub use cache::{Begin, CompressedCache, FileIdentity, Finished, VariantKey};

#[cfg(test)]
mod tests;
