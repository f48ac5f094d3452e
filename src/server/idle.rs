//! The idle keep-alive connections, oldest first: where the listener finds connections to
//! close when it cannot accept (at `--max-conns`, or out of file descriptors).
//!
//! An intrusive doubly linked list kept in one vector of nodes, addressed by `IdleKey`: a
//! connection enters at the tail when it goes idle and leaves in O(1) when bytes arrive or it
//! closes. Freed nodes are chained for reuse, so once the vector has grown to the largest
//! number of idle connections seen, going idle and back allocates nothing (the hot path
//! stays allocation-free), and each idle connection costs one 20-byte node.
//!
//! A node is in one of three states: `Idle` (linked, in order of the time it went idle),
//! `Closing` (taken off the list by `close_oldest`; its connection has been asked to close
//! and has not yet released the node), or `Free`. Invariant: `len` counts the `Idle` nodes
//! and `closing` the `Closing` ones; a key names the same node until `release` frees it.

use std::num::NonZeroU32;

use crate::runtime::task::TaskId;

/// A connection's node in the list; `Option<IdleKey>` is as small as the key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdleKey(NonZeroU32);

impl IdleKey {
    fn index(self) -> usize {
        self.0.get() as usize - 1
    }
}

/// The end of a chain.
const NIL: u32 = u32::MAX;

enum Node {
    Idle { task: TaskId, prev: u32, next: u32 },
    Closing,
    Free { next: u32 },
}

pub struct IdleList {
    nodes: Vec<Node>,
    /// The oldest idle connection, and the newest.
    head: u32,
    tail: u32,
    /// The first free node.
    free: u32,
    len: usize,
    closing: usize,
}

impl Default for IdleList {
    fn default() -> IdleList {
        IdleList {
            nodes: Vec::new(),
            head: NIL,
            tail: NIL,
            free: NIL,
            len: 0,
            closing: 0,
        }
    }
}

impl IdleList {
    /// Idle connections, not counting those already asked to close.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Connections asked to close that have not closed yet.
    pub fn closing(&self) -> usize {
        self.closing
    }

    /// Adds `task` as the newest idle connection.
    pub fn push(&mut self, task: TaskId) -> IdleKey {
        let node = Node::Idle {
            task,
            prev: self.tail,
            next: NIL,
        };
        let index = if self.free == NIL {
            self.nodes.push(node);
            u32::try_from(self.nodes.len() - 1).expect("fewer idle connections than fds")
        } else {
            let index = self.free;
            if let Node::Free { next } = self.nodes[index as usize] {
                self.free = next;
            }
            self.nodes[index as usize] = node;
            index
        };
        self.set_next(self.tail, index);
        self.tail = index;
        if self.head == NIL {
            self.head = index;
        }
        self.len += 1;
        IdleKey(NonZeroU32::MIN.saturating_add(index))
    }

    /// Whether `key`'s connection was asked to close by `close_oldest`.
    pub fn is_closing(&self, key: IdleKey) -> bool {
        matches!(self.nodes.get(key.index()), Some(Node::Closing))
    }

    /// Takes the oldest idle connection off the list and marks its node `Closing`; the caller
    /// tells that task to close, and the task releases the node as it does.
    pub fn close_oldest(&mut self) -> Option<TaskId> {
        let index = self.head;
        let task = self.unlink(index)?;
        self.nodes[index as usize] = Node::Closing;
        self.closing += 1;
        Some(task)
    }

    /// Frees `key`'s node, whether the connection is idle or closing.
    pub fn release(&mut self, key: IdleKey) {
        let index = key.index() as u32;
        match self.nodes.get(index as usize) {
            Some(Node::Idle { .. }) => {
                self.unlink(index);
            }
            Some(Node::Closing) => self.closing -= 1,
            Some(Node::Free { .. }) | None => return,
        }
        self.nodes[index as usize] = Node::Free { next: self.free };
        self.free = index;
    }

    /// Unlinks an `Idle` node, leaving it in place for the caller to overwrite.
    fn unlink(&mut self, index: u32) -> Option<TaskId> {
        let Some(&Node::Idle { task, prev, next }) = self.nodes.get(index as usize) else {
            return None;
        };
        if prev == NIL {
            self.head = next;
        } else {
            self.set_next(prev, next);
        }
        if next == NIL {
            self.tail = prev;
        } else if let Node::Idle { prev: p, .. } = &mut self.nodes[next as usize] {
            *p = prev;
        }
        self.len -= 1;
        Some(task)
    }

    fn set_next(&mut self, index: u32, to: u32) {
        if let Some(Node::Idle { next, .. }) = self.nodes.get_mut(index as usize) {
            *next = to;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(n: u32) -> TaskId {
        TaskId::for_test(n)
    }

    #[test]
    fn oldest_first_and_a_released_node_leaves_the_order() {
        let mut list = IdleList::default();
        let keys: Vec<IdleKey> = (0..4).map(|n| list.push(task(n))).collect();
        list.release(keys[0]);
        list.release(keys[2]);
        let newest = list.push(task(9));
        assert_eq!(list.len(), 3);
        assert_eq!(list.close_oldest(), Some(task(1)));
        assert!(list.is_closing(keys[1]));
        assert!(!list.is_closing(newest));
        assert_eq!((list.len(), list.closing()), (2, 1));
        list.release(keys[1]);
        assert_eq!(list.closing(), 0);
        assert_eq!(list.close_oldest(), Some(task(3)));
        assert_eq!(list.close_oldest(), Some(task(9)));
        assert_eq!(list.close_oldest(), None);
        assert!(list.is_empty());
    }

    #[test]
    fn freed_nodes_are_reused() {
        let mut list = IdleList::default();
        for n in 0..100 {
            let key = list.push(task(n));
            list.release(key);
        }
        assert_eq!(list.nodes.len(), 1);
    }
}
