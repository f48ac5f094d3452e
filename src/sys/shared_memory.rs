//! An array of `AtomicU64` in an anonymous `MAP_SHARED` mapping: created before `fork`, it
//! is the same memory in the parent and every child, so processes can publish counters to
//! each other without a syscall per update.
//!
//! Invariant: the mapping is `len` zero-filled, page-aligned `u64`s, writable, and lives as
//! long as the `SharedCounters` that owns it (it is unmapped on drop, in each process for its
//! own copy of the mapping).

use std::io;
use std::ptr::NonNull;
use std::sync::atomic::AtomicU64;

/// See the module documentation.
pub struct SharedCounters {
    base: NonNull<AtomicU64>,
    len: usize,
}

impl SharedCounters {
    /// Maps `len` counters, all zero.
    pub fn new(len: usize) -> io::Result<SharedCounters> {
        let bytes = len
            .max(1)
            .checked_mul(size_of::<AtomicU64>())
            .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: an anonymous mapping at an address the kernel picks touches no existing
        // memory; the result is checked against MAP_FAILED before it is used.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                bytes,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let base = NonNull::new(ptr.cast::<AtomicU64>())
            .ok_or_else(|| io::Error::from(io::ErrorKind::OutOfMemory))?;
        Ok(SharedCounters {
            base,
            len: len.max(1),
        })
    }

    /// The counters. Other processes that share the mapping may change them at any time,
    /// which is why they are atomics.
    pub fn get(&self) -> &[AtomicU64] {
        // SAFETY: by the invariant, `base` points at `len` zero-initialised (a valid
        // `AtomicU64` is any bit pattern) page-aligned u64s that stay mapped while `self`
        // lives; only shared references are handed out, and all access is atomic.
        unsafe { std::slice::from_raw_parts(self.base.as_ptr(), self.len) }
    }
}

impl Drop for SharedCounters {
    fn drop(&mut self) {
        // SAFETY: `base` and `len` describe exactly the mapping `new` made, and no reference
        // from `get` outlives `self`. A failure could only leak the mapping.
        unsafe {
            libc::munmap(self.base.as_ptr().cast(), self.len * size_of::<AtomicU64>());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use super::*;

    #[test]
    fn counters_start_at_zero_and_hold_values() {
        let counters = SharedCounters::new(3).unwrap();
        assert!(
            counters
                .get()
                .iter()
                .all(|c| c.load(Ordering::Relaxed) == 0)
        );
        counters.get()[2].store(7, Ordering::Relaxed);
        assert_eq!(counters.get()[2].load(Ordering::Relaxed), 7);
    }
}
