//! The loop's table of tickets: slots reused with a new generation, as the loop's tasks are, so
//! a result never reaches a ticket that took a dropped one's slot. Only the loop thread touches
//! it.

use crate::runtime::pool::JobError;
use crate::runtime::task::TaskId;

/// Names one job for ever: a slot in the tickets table and the generation of its occupant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Key {
    pub(super) index: usize,
    pub(super) generation: u64,
}

/// Where a ticket's job stands, seen from the loop.
pub(super) enum Outcome<O> {
    /// Queued or running, or finished and not yet collected.
    Pending,
    Arrived(Result<O, JobError>),
    Taken,
}

pub(super) struct TicketEntry<O> {
    pub(super) owner: TaskId,
    pub(super) outcome: Outcome<O>,
}

struct TicketSlot<O> {
    generation: u64,
    entry: Option<TicketEntry<O>>,
}

/// The live tickets, in slots reused with a new generation (as the loop's tasks are).
pub(super) struct Tickets<O> {
    slots: Vec<TicketSlot<O>>,
    free: Vec<usize>,
}

impl<O> Default for Tickets<O> {
    fn default() -> Tickets<O> {
        Tickets {
            slots: Vec::new(),
            free: Vec::new(),
        }
    }
}

impl<O> Tickets<O> {
    pub(super) fn insert(&mut self, owner: TaskId) -> Key {
        let entry = Some(TicketEntry {
            owner,
            outcome: Outcome::Pending,
        });
        if let Some(index) = self.free.pop() {
            let slot = &mut self.slots[index];
            slot.entry = entry;
            return Key {
                index,
                generation: slot.generation,
            };
        }
        self.slots.push(TicketSlot {
            generation: 0,
            entry,
        });
        Key {
            index: self.slots.len() - 1,
            generation: 0,
        }
    }

    pub(super) fn get_mut(&mut self, key: Key) -> Option<&mut TicketEntry<O>> {
        let slot = self.slots.get_mut(key.index)?;
        if slot.generation != key.generation {
            return None;
        }
        slot.entry.as_mut()
    }

    pub(super) fn remove(&mut self, key: Key) -> Option<TicketEntry<O>> {
        let slot = self.slots.get_mut(key.index)?;
        if slot.generation != key.generation {
            return None;
        }
        let entry = slot.entry.take()?;
        slot.generation += 1;
        self.free.push(key.index);
        Some(entry)
    }

    /// Stores `result` for its ticket and returns the owner to wake; with no such ticket,
    /// drops the result and wakes nobody.
    pub(super) fn deliver(&mut self, key: Key, result: Result<O, JobError>) -> Option<TaskId> {
        let entry = self.get_mut(key)?;
        entry.outcome = Outcome::Arrived(result);
        Some(entry.owner)
    }
}
