//! The bounded cache of compressed variants, least recently used out first, with one job per
//! cold variant: `begin` says `Started` to the first request for a key and `AlreadyRunning` to
//! the others until `finish`, which hands back the waiters' tokens to wake.

use std::collections::HashMap;
use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::rc::Rc;

use super::CompressedVariant;
use crate::http::encoding::Coding;

/// What each entry costs besides its bytes and ETag (its map and slab slots, the `Rc`
/// header), so that the bound holds for many small or empty entries too.
pub(super) const ENTRY_OVERHEAD_BYTES: usize = 128;

/// What tells whether a file changed: the same fields `StaticFile` compares on every request.
/// Times are seconds and nanoseconds since the epoch, as stat gives them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FileIdentity {
    pub dev: u64,
    pub ino: u64,
    pub len: u64,
    pub mtime_secs: i64,
    pub mtime_nanos: u32,
    /// The status-change time: unlike the mtime it cannot be set back, so a rewrite that
    /// restores size and mtime (as a Nix-style tree, all mtimes 1 s, does) still shows.
    pub ctime_secs: i64,
    pub ctime_nanos: u32,
}

impl FileIdentity {
    /// The identity of the file `metadata` describes now.
    pub fn of(metadata: &Metadata) -> FileIdentity {
        // The kernel keeps nanoseconds below 10^9.
        let nanos = |nanos: i64| u32::try_from(nanos).unwrap_or(0);
        FileIdentity {
            dev: metadata.dev(),
            ino: metadata.ino(),
            len: metadata.len(),
            mtime_secs: metadata.mtime(),
            mtime_nanos: nanos(metadata.mtime_nsec()),
            ctime_secs: metadata.ctime(),
            ctime_nanos: nanos(metadata.ctime_nsec()),
        }
    }
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

/// A cached result, in the slab of entries, linked into the recency list by index.
struct Entry {
    key: VariantKey,
    /// `None`: compressing did not pay; remembered so it is not tried on every request.
    variant: Option<Rc<CompressedVariant>>,
    cost_bytes: usize,
    /// Neighbours in the recency list (`NIL` at its ends): `prev` was used less recently.
    prev: usize,
    next: usize,
}

/// No neighbour: the end of the recency list, or of the free list.
const NIL: usize = usize::MAX;

/// Compressed variants, least recently used evicted first, total bounded by a capacity in
/// bytes, plus the jobs in flight and who waits for them.
///
/// Evicting only drops the cache's reference: a response still sending a variant keeps it
/// alive until it ends, so memory can exceed the capacity by the variants being sent.
pub struct CompressedCache {
    capacity_bytes: usize,
    used_bytes: usize,
    /// Key to slot in `slots`.
    entries: HashMap<VariantKey, usize>,
    /// The entries, `None` in a free slot. Slots are reused (`free`), so once the cache has
    /// held as many entries as it will, nothing here allocates: a hit only relinks two
    /// indices.
    slots: Vec<Option<Entry>>,
    free: Vec<usize>,
    /// The least and the most recently used entry (`NIL` when empty).
    oldest: usize,
    newest: usize,
    in_flight: HashMap<VariantKey, Vec<u64>>,
    /// Lookups that found a result, and those that did not.
    hits: u64,
    misses: u64,
}

impl CompressedCache {
    pub fn new(capacity_bytes: usize) -> CompressedCache {
        CompressedCache {
            capacity_bytes,
            used_bytes: 0,
            entries: HashMap::new(),
            slots: Vec::new(),
            free: Vec::new(),
            oldest: NIL,
            newest: NIL,
            in_flight: HashMap::new(),
            hits: 0,
            misses: 0,
        }
    }

    /// Looks `key` up on behalf of `waiter`, marking a hit as just used; on a miss, registers
    /// `waiter` to be returned by `finish(key, ..)`.
    pub fn begin(&mut self, key: VariantKey, waiter: u64) -> Begin {
        match self.find(key) {
            Some(Some(variant)) => return Begin::Hit(variant),
            Some(None) => return Begin::Identity,
            None => {}
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

    /// The cached result for `key`, marked as just used: `Some(None)` means identity. Unlike
    /// `begin`, a miss registers nobody. Counted as the request's hit or miss (`begin`, which
    /// follows a miss, is not counted again).
    pub fn lookup(&mut self, key: VariantKey) -> Option<Option<Rc<CompressedVariant>>> {
        let found = self.find(key);
        match found {
            Some(_) => self.hits += 1,
            None => self.misses += 1,
        }
        found
    }

    /// `lookup` without counting.
    fn find(&mut self, key: VariantKey) -> Option<Option<Rc<CompressedVariant>>> {
        let &slot = self.entries.get(&key)?;
        self.unlink(slot);
        self.push_newest(slot);
        let entry = self.slots.get(slot)?.as_ref()?;
        Some(entry.variant.clone())
    }

    /// Ends the job for `key` without a result (it was cancelled, or its request gave up on
    /// it) and returns its waiters: woken, the first to call `begin` starts it again.
    pub fn abandon(&mut self, key: VariantKey) -> Vec<u64> {
        self.in_flight.remove(&key).unwrap_or_default()
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
            while self.used_bytes + cost_bytes > self.capacity_bytes && self.oldest != NIL {
                let oldest = self.oldest;
                if let Some(key) = self
                    .slots
                    .get(oldest)
                    .and_then(|e| e.as_ref())
                    .map(|e| e.key)
                {
                    self.remove(&key);
                }
            }
            self.used_bytes += cost_bytes;
            let entry = Entry {
                key,
                variant: variant.clone(),
                cost_bytes,
                prev: NIL,
                next: NIL,
            };
            let slot = match self.free.pop() {
                Some(slot) => {
                    self.slots[slot] = Some(entry);
                    slot
                }
                None => {
                    self.slots.push(Some(entry));
                    self.slots.len() - 1
                }
            };
            self.push_newest(slot);
            self.entries.insert(key, slot);
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
    pub fn hits_and_misses(&self) -> (u64, u64) {
        (self.hits, self.misses)
    }

    pub fn used_bytes(&self) -> usize {
        self.used_bytes
    }

    fn remove(&mut self, key: &VariantKey) {
        let Some(slot) = self.entries.remove(key) else {
            return;
        };
        self.unlink(slot);
        if let Some(entry) = self.slots.get_mut(slot).and_then(Option::take) {
            self.used_bytes -= entry.cost_bytes;
            self.free.push(slot);
        }
    }

    /// Takes `slot` out of the recency list, joining its neighbours.
    fn unlink(&mut self, slot: usize) {
        let Some((prev, next)) = self
            .slots
            .get(slot)
            .and_then(|e| e.as_ref())
            .map(|e| (e.prev, e.next))
        else {
            return;
        };
        match self.slots.get_mut(prev).and_then(Option::as_mut) {
            Some(before) => before.next = next,
            None => self.oldest = next,
        }
        match self.slots.get_mut(next).and_then(Option::as_mut) {
            Some(after) => after.prev = prev,
            None => self.newest = prev,
        }
    }

    /// Puts `slot`, unlinked, at the most recently used end.
    fn push_newest(&mut self, slot: usize) {
        let newest = self.newest;
        if let Some(entry) = self.slots.get_mut(slot).and_then(Option::as_mut) {
            entry.prev = newest;
            entry.next = NIL;
        }
        match self.slots.get_mut(newest).and_then(Option::as_mut) {
            Some(before) => before.next = slot,
            None => self.oldest = slot,
        }
        self.newest = slot;
    }
}
