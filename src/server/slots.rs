//! The connection slots that hold the listener back at `--max-conns`, and the idle
//! connections it may reclaim when it cannot accept.
//!
//! The listener claims a `ConnectionSlot` for each connection it accepts and the connection
//! owns it; dropping it, however the connection ends (finished, timed out, or refused by
//! epoll before it ever ran), is what frees the place. A listener that stopped at the limit
//! records itself with `pause_listener`, and the slot's `Drop` wakes it through the loop's
//! `Notifier`, which needs no context: no path that frees a place can forget to.
//!
//! A connection that has answered at least one request and waits for the next with nothing
//! buffered and nothing to send is *idle*: its slot enters the idle list, oldest first, and
//! leaves it when bytes arrive or the slot is dropped. When the listener cannot accept for
//! want of a slot or a file descriptor while clients wait, `reclaim_idle` takes the oldest
//! idle connections off the list and notifies them; each sees `is_reclaimed` and closes, and
//! its slot's `Drop` wakes the listener to accept in its place (as nginx does with its
//! reusable connections).
//!
//! The listener looks for idle connections only when it pauses, so a connection that goes
//! idle while the listener is paused at the limit wakes it too (`enter_idle`): a client
//! that arrived while every connection was busy is served as soon as one of them goes idle,
//! not when some keep-alive timer ends. This cannot spin: the listener is woken once per
//! idle transition, and with no client waiting it only pauses again.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use crate::runtime::task::{Notifier, TaskContext, TaskId};
use crate::server::idle::{IdleKey, IdleList};

/// When the listener cannot accept for want of a slot or an fd while clients wait, it closes
/// one in this many of the idle keep-alive connections, oldest first: at least one, at most
/// `IDLE_CLOSE_MAX` at a time (nginx's proportions).
pub const IDLE_CLOSE_SHARE: usize = 8;
pub const IDLE_CLOSE_MAX: usize = 32;

/// See the module documentation. One per event loop, behind an `Rc`.
pub struct Slots {
    open: Cell<usize>,
    /// Connections accepted since start, for the metrics.
    accepted: Cell<u64>,
    max: usize,
    paused_listener: Cell<Option<TaskId>>,
    notifier: Notifier,
    idle: RefCell<IdleList>,
}

impl Slots {
    /// `max` places; `notifier` is the loop's: through it a dropped slot wakes the paused
    /// listener.
    pub fn new(max: usize, notifier: Notifier) -> Slots {
        Slots {
            open: Cell::new(0),
            accepted: Cell::new(0),
            max,
            paused_listener: Cell::new(None),
            notifier,
            idle: RefCell::new(IdleList::default()),
        }
    }

    /// Connections accepted and not yet closed.
    pub fn open(&self) -> usize {
        self.open.get()
    }

    /// Connections accepted since the server started.
    pub fn accepted(&self) -> u64 {
        self.accepted.get()
    }

    pub fn at_limit(&self) -> bool {
        self.open.get() >= self.max
    }

    /// Records that the listener waits for a slot (or an fd) to free up: the next slot
    /// dropped wakes it.
    pub fn pause_listener(&self, listener: TaskId) {
        self.paused_listener.set(Some(listener));
    }

    /// Wakes the paused listener, if any; it pauses again if it still cannot accept.
    fn wake_listener(&self) {
        if let Some(listener) = self.paused_listener.take() {
            self.notifier.notify(listener);
        }
    }

    /// Asks the oldest idle connections to close, a share of them at a time (counting those
    /// already asked, which have not closed yet).
    pub fn reclaim_idle(&self, cx: &mut TaskContext<'_>) {
        let mut idle = self.idle.borrow_mut();
        let batch = (idle.len() / IDLE_CLOSE_SHARE).clamp(1, IDLE_CLOSE_MAX);
        while idle.closing() < batch
            && let Some(task) = idle.close_oldest()
        {
            cx.notify(task);
        }
    }
}

/// One connection's place under `--max-conns`, and its entry in the idle list while it is
/// idle. See the module documentation.
pub struct ConnectionSlot {
    slots: Rc<Slots>,
    idle: Option<IdleKey>,
    /// At least one request answered: only then may the connection count as idle.
    served: bool,
}

impl ConnectionSlot {
    /// Takes a place for a connection just accepted.
    pub fn claim(slots: &Rc<Slots>) -> ConnectionSlot {
        slots.open.set(slots.open.get() + 1);
        slots.accepted.set(slots.accepted.get() + 1);
        ConnectionSlot {
            slots: Rc::clone(slots),
            idle: None,
            served: false,
        }
    }

    /// A request was answered.
    pub fn note_request(&mut self) {
        self.served = true;
    }

    /// Whether a request was answered on this connection: until then its client may have a
    /// request on the way that nothing has told it to retry elsewhere.
    pub fn has_served(&self) -> bool {
        self.served
    }

    /// The connection, task `task`, waits for its next request with nothing buffered and
    /// nothing to send: it joins the idle list (keeping its place if it is there already).
    /// A listener paused at the limit is woken to close it if a client waits. (Paused for
    /// want of fds, the listener retries on its own within `ACCEPT_RETRY_DELAY`.)
    pub fn enter_idle(&mut self, task: TaskId) {
        if self.served && self.idle.is_none() {
            self.idle = Some(self.slots.idle.borrow_mut().push(task));
            if self.slots.at_limit() {
                self.slots.wake_listener();
            }
        }
    }

    /// Bytes arrived: the connection is busy again.
    pub fn leave_idle(&mut self) {
        if let Some(key) = self.idle.take() {
            self.slots.idle.borrow_mut().release(key);
        }
    }

    /// The listener took this idle connection's place: it must close.
    pub fn is_reclaimed(&self) -> bool {
        self.idle
            .is_some_and(|key| self.slots.idle.borrow().is_closing(key))
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.leave_idle();
        let open = &self.slots.open;
        open.set(open.get().saturating_sub(1));
        self.slots.wake_listener();
    }
}
