//! Credentials verified lately, so that a logged-in browser, which sends them with every
//! request, costs one SHA-256 per request instead of a bcrypt job.
//!
//! Keyed by the SHA-256 digest of the decoded `user:password`: the password itself is never
//! stored. An entry lives `VERIFIED_FOR` from its verification (not from its last use), so a
//! password removed from the file by hand stops working within that time even without a
//! reload; a reload clears everything. At most `MAX_VERIFIED` entries.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long a successful verification is remembered.
pub const VERIFIED_FOR: Duration = Duration::from_secs(5 * 60);

/// Most credentials remembered at once; beyond, the one expiring first is forgotten.
pub const MAX_VERIFIED: usize = 1024;

/// A SHA-256 digest of credentials.
pub type Digest = [u8; 32];

#[derive(Debug, Default)]
pub struct Verified {
    /// Digest → when the entry expires.
    expires: HashMap<Digest, Instant>,
}

impl Verified {
    /// Whether `digest` was verified less than `VERIFIED_FOR` ago.
    pub fn contains(&self, digest: &Digest, now: Instant) -> bool {
        self.expires.get(digest).is_some_and(|&expiry| now < expiry)
    }

    /// Remembers that `digest` was verified `now`.
    pub fn insert(&mut self, digest: Digest, now: Instant) {
        if self.expires.len() >= MAX_VERIFIED && !self.expires.contains_key(&digest) {
            self.expires.retain(|_, &mut expiry| now < expiry);
            if self.expires.len() >= MAX_VERIFIED
                && let Some(soonest) = self.soonest()
            {
                self.expires.remove(&soonest);
            }
        }
        self.expires.insert(digest, now + VERIFIED_FOR);
    }

    /// Forgets everything (the file changed).
    pub fn clear(&mut self) {
        self.expires.clear();
    }

    fn soonest(&self) -> Option<Digest> {
        self.expires
            .iter()
            .min_by_key(|&(_, expiry)| *expiry)
            .map(|(digest, _)| *digest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_for_a_while_and_stays_bounded() {
        let start = Instant::now();
        let mut verified = Verified::default();
        verified.insert([1; 32], start);
        assert!(verified.contains(&[1; 32], start + VERIFIED_FOR / 2));
        assert!(!verified.contains(&[1; 32], start + VERIFIED_FOR));
        assert!(!verified.contains(&[2; 32], start));
        for i in 0..=MAX_VERIFIED {
            let mut digest = [0; 32];
            digest[..8].copy_from_slice(&(i as u64).to_le_bytes());
            verified.insert(digest, start + Duration::from_millis(i as u64));
        }
        assert_eq!(verified.expires.len(), MAX_VERIFIED);
        verified.clear();
        assert!(!verified.contains(&[0; 32], start));
    }
}
