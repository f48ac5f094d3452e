//! Slowing down guessing: each address that sent wrong credentials waits longer before its
//! next verification, `throttle_delay(failures)`: nothing for the first
//! `FREE_FAILURES`, then `FIRST_DELAY`, doubling up to `MAX_DELAY`.
//!
//! The wait is a time (`not_before`) the caller waits for without blocking anything else; it
//! is applied before the verification, so a guesser cannot make the worker pool hash faster
//! than the delay allows, one connection after another. Credentials already verified
//! (`verified`) skip it: a logged-in user behind the same address is not slowed down. An
//! address is forgotten `FORGET_AFTER` its last failure; at most `MAX_ADDRESSES` are kept,
//! and when full the one whose last failure is oldest makes room.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Failures an address may have before its next verification is delayed (typing mistakes).
pub const FREE_FAILURES: u32 = 2;
/// The delay after `FREE_FAILURES` failures; each further failure doubles it.
pub const FIRST_DELAY: Duration = Duration::from_millis(500);
/// The longest delay.
pub const MAX_DELAY: Duration = Duration::from_secs(8);
/// How long after its last failure an address's count is kept.
pub const FORGET_AFTER: Duration = Duration::from_secs(10 * 60);
/// Most addresses followed at once.
pub const MAX_ADDRESSES: usize = 4096;

#[derive(Clone, Copy, Debug)]
struct Failures {
    count: u32,
    last: Instant,
}

#[derive(Debug, Default)]
pub struct Throttle {
    addresses: HashMap<IpAddr, Failures>,
}

impl Throttle {
    /// When `peer` may next be verified, if that is later than `now`.
    pub fn not_before(&self, peer: IpAddr, now: Instant) -> Option<Instant> {
        let failures = self.addresses.get(&peer)?;
        let until = failures.last + throttle_delay(failures.count);
        (now < until && now < failures.last + FORGET_AFTER).then_some(until)
    }

    /// `peer` sent wrong credentials at `now`.
    pub fn failed(&mut self, peer: IpAddr, now: Instant) {
        if self.addresses.len() >= MAX_ADDRESSES && !self.addresses.contains_key(&peer) {
            self.addresses
                .retain(|_, failures| now < failures.last + FORGET_AFTER);
            if self.addresses.len() >= MAX_ADDRESSES
                && let Some(oldest) = self.oldest()
            {
                self.addresses.remove(&oldest);
            }
        }
        let failures = self.addresses.entry(peer).or_insert(Failures {
            count: 0,
            last: now,
        });
        if now >= failures.last + FORGET_AFTER {
            failures.count = 0;
        }
        failures.count = failures.count.saturating_add(1);
        failures.last = now;
    }

    fn oldest(&self) -> Option<IpAddr> {
        self.addresses
            .iter()
            .min_by_key(|&(_, failures)| failures.last)
            .map(|(peer, _)| *peer)
    }
}

/// The wait before the next verification of an address with `failures` failures.
pub fn throttle_delay(failures: u32) -> Duration {
    let Some(doublings) = failures.checked_sub(FREE_FAILURES) else {
        return Duration::ZERO;
    };
    // 2^4 × 0.5 s is already past the cap: no need to shift further.
    let factor = 1u32 << doublings.min(4);
    (FIRST_DELAY * factor).min(MAX_DELAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_to_the_cap() {
        let ms = |failures| throttle_delay(failures).as_millis();
        let delays: Vec<u128> = (0..8).map(ms).collect();
        assert_eq!(delays, [0, 0, 500, 1000, 2000, 4000, 8000, 8000]);
        assert_eq!(ms(u32::MAX), 8000);
    }

    #[test]
    fn an_address_waits_after_failures_and_is_forgotten() {
        let peer: IpAddr = [192, 0, 2, 1].into();
        let other: IpAddr = [192, 0, 2, 2].into();
        let start = Instant::now();
        let mut throttle = Throttle::default();
        throttle.failed(peer, start);
        assert!(throttle.not_before(peer, start).is_none());
        throttle.failed(peer, start);
        assert_eq!(throttle.not_before(peer, start), Some(start + FIRST_DELAY));
        throttle.failed(peer, start);
        assert_eq!(
            throttle.not_before(peer, start),
            Some(start + FIRST_DELAY * 2)
        );
        assert!(throttle.not_before(peer, start + FIRST_DELAY * 2).is_none());
        assert!(throttle.not_before(other, start).is_none());
        let later = start + FORGET_AFTER;
        throttle.failed(peer, later);
        assert!(
            throttle.not_before(peer, later).is_none(),
            "count restarted"
        );
    }

    #[test]
    fn the_table_stays_bounded() {
        let start = Instant::now();
        let mut throttle = Throttle::default();
        for i in 0..=MAX_ADDRESSES as u32 {
            throttle.failed(IpAddr::from(i.to_be_bytes()), start);
        }
        assert_eq!(throttle.addresses.len(), MAX_ADDRESSES);
    }
}
