//! Deadlines owned by the loop: an ordered set of `(deadline, token)`.
//!
//! Each task has at most one deadline, and the loop remembers it, so cancelling or moving it
//! removes exactly that entry in O(log n): a closed connection leaves nothing behind.

use std::collections::BTreeSet;
use std::time::Instant;

#[derive(Default)]
pub struct Timers {
    set: BTreeSet<(Instant, u64)>,
}

impl Timers {
    pub fn insert(&mut self, deadline: Instant, token: u64) {
        self.set.insert((deadline, token));
    }

    pub fn remove(&mut self, deadline: Instant, token: u64) {
        self.set.remove(&(deadline, token));
    }

    /// The nearest deadline, which bounds how long the loop may sleep.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.set.first().map(|&(deadline, _)| deadline)
    }

    /// Removes and returns the token of one timer due at `now`, earliest first.
    pub fn pop_expired(&mut self, now: Instant) -> Option<u64> {
        match self.set.first() {
            Some(&(deadline, _)) if deadline <= now => self.set.pop_first().map(|(_, token)| token),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn expires_in_deadline_order_and_only_when_due() {
        let t0 = Instant::now();
        let mut timers = Timers::default();
        timers.insert(t0 + Duration::from_millis(30), 3);
        timers.insert(t0 + Duration::from_millis(10), 1);
        timers.insert(t0 + Duration::from_millis(20), 2);
        assert_eq!(timers.next_deadline(), Some(t0 + Duration::from_millis(10)));

        let now = t0 + Duration::from_millis(20);
        assert_eq!(timers.pop_expired(now), Some(1));
        assert_eq!(timers.pop_expired(now), Some(2));
        assert_eq!(timers.pop_expired(now), None);
        assert_eq!(timers.next_deadline(), Some(t0 + Duration::from_millis(30)));
    }

    #[test]
    fn remove_is_exact() {
        let t0 = Instant::now();
        let mut timers = Timers::default();
        timers.insert(t0, 1);
        timers.insert(t0, 2);
        timers.remove(t0, 1);
        assert_eq!(timers.pop_expired(t0), Some(2));
        assert_eq!(timers.next_deadline(), None);
    }
}
