//! A cached compressed variant costs no allocation to find: with several variants cached,
//! thousands of hits on them (each moving its entry to the most recently used end) allocate
//! nothing. A counting global allocator proves it; this file holds one test on purpose, as
//! the allocator counts every thread of the process.

#[path = "common/counting_allocator.rs"]
mod counting_allocator;

use std::rc::Rc;

use tinyhttpd::http::encoding::Coding;
use tinyhttpd::site::compress::{
    Begin, CompressedCache, CompressedVariant, FileIdentity, VariantKey,
};

const FILES: u64 = 64;
const HITS: usize = 20_000;

fn key(ino: u64, coding: Coding) -> VariantKey {
    VariantKey {
        file: FileIdentity {
            dev: 1,
            ino,
            len: 100 * 1024,
            mtime_secs: 0,
            mtime_nanos: 1,
            ctime_secs: 0,
            ctime_nanos: 0,
        },
        coding,
    }
}

#[test]
fn hits_on_cached_variants_do_not_allocate() {
    let mut cache = CompressedCache::new(32 * 1024 * 1024);
    for ino in 0..FILES {
        for coding in Coding::EVERY {
            assert!(matches!(cache.begin(key(ino, coding), 0), Begin::Started));
            let variant = CompressedVariant {
                bytes: vec![b'z'; 30 * 1024].into_boxed_slice(),
                etag: b"\"etag-br6\"".to_vec().into_boxed_slice(),
            };
            cache.finish(key(ino, coding), Some(variant));
        }
    }

    let before = counting_allocator::allocations();
    let mut found = 0;
    for hit in 0..HITS {
        // Files visited in a stride, so every hit moves a different entry to the newest end.
        let ino = (hit as u64 * 7) % FILES;
        let coding = Coding::EVERY[hit % Coding::EVERY.len()];
        if let Begin::Hit(variant) = cache.begin(key(ino, coding), 0) {
            found += Rc::strong_count(&variant).min(1);
        }
    }
    let allocations = counting_allocator::allocations() - before;
    assert_eq!(found, HITS, "every lookup a hit");
    assert_eq!(allocations, 0, "{allocations} allocations for {HITS} hits");
}
