//! What every connection of one server shares: the site and its file cache, the limits, the
//! cached Date, the buffer pool, the access log, and the connection slots that hold the
//! listener back at `--max-conns`. One per event loop, behind an `Rc`: the loop is
//! single-threaded, so the `RefCell`s are never contended, and a borrow never outlives the
//! synchronous step that takes it.
//!
//! Connection slots. The listener claims a `ConnectionSlot` for each connection it accepts and
//! the connection owns it; dropping it, however the connection ends (finished, timed out, or
//! refused by epoll before it ever ran), is what frees the place. A listener that stopped at
//! the limit records itself in `paused_listener`, and the slot's `Drop` wakes it through the
//! loop's `Notifier`, which needs no `Context`: no path that frees a place can forget to.
//!
//! Idle connections. A connection that has answered at least one request and waits for the
//! next with nothing buffered and nothing to send is *idle*: its slot enters `idle`, oldest
//! first, and leaves it when bytes arrive or the slot is dropped. When the listener cannot
//! accept for want of a slot or a file descriptor while clients wait, it takes the oldest
//! idle connections off the list and notifies them; each sees `is_reclaimed` and closes, and
//! its slot's `Drop` wakes the listener to accept in its place (as nginx does with its
//! reusable connections).

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use crate::http::date::DateCache;
use crate::runtime::buffer::BufferPool;
use crate::runtime::task::{Notifier, TaskId};
use crate::server::access_log::AccessLog;
use crate::server::idle::{IdleKey, IdleList};
use crate::site::file_cache::FileCache;
use crate::site::files::Site;

/// The timeouts a connection applies, from the command line.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    pub head: Duration,
    pub body: Duration,
    pub keepalive: Duration,
    pub send: Duration,
}

/// See the module documentation.
pub struct Shared {
    pub(crate) site: Site,
    pub(crate) files: RefCell<FileCache>,
    pub(crate) cache_control: Option<Box<[u8]>>,
    pub(crate) log: Option<AccessLog>,
    pub(crate) timeouts: Timeouts,
    pub(crate) max_body_bytes: u64,
    pub(crate) date: RefCell<DateCache>,
    pub(crate) buffers: RefCell<BufferPool>,
    /// Scratch for the normalised request path: only used while a request is answered,
    /// which is never interrupted, so all connections share it.
    pub(crate) path: RefCell<Vec<u8>>,
    open_connections: Cell<usize>,
    max_connections: usize,
    paused_listener: Cell<Option<TaskId>>,
    notifier: Notifier,
    pub(crate) idle: RefCell<IdleList>,
    /// The file cache's sweeper while it waits, with no deadline, for the cache to get an
    /// entry.
    idle_sweeper: Cell<Option<TaskId>>,
}

impl Shared {
    /// `notifier` is the loop's: through it a dropped slot wakes the paused listener.
    pub fn new(
        site: Site,
        cache_control: Option<&str>,
        log: Option<AccessLog>,
        timeouts: Timeouts,
        max_body_bytes: u64,
        max_connections: usize,
        notifier: Notifier,
    ) -> Shared {
        Shared {
            site,
            files: RefCell::new(FileCache::default()),
            cache_control: cache_control.map(|value| value.as_bytes().into()),
            log,
            timeouts,
            max_body_bytes,
            date: RefCell::new(DateCache::default()),
            buffers: RefCell::new(BufferPool::default()),
            path: RefCell::new(Vec::new()),
            open_connections: Cell::new(0),
            max_connections,
            paused_listener: Cell::new(None),
            notifier,
            idle: RefCell::new(IdleList::default()),
            idle_sweeper: Cell::new(None),
        }
    }

    /// Connections accepted and not yet closed.
    pub fn open_connections(&self) -> usize {
        self.open_connections.get()
    }

    pub fn at_connection_limit(&self) -> bool {
        self.open_connections.get() >= self.max_connections
    }

    pub fn access_log(&self) -> Option<&AccessLog> {
        self.log.as_ref()
    }

    /// Records that the cache sweeper, task `sweeper`, waits for the cache to get an entry.
    pub fn set_idle_sweeper(&self, sweeper: TaskId) {
        self.idle_sweeper.set(Some(sweeper));
    }

    /// The idle sweeper, once the cache holds an entry again: whoever calls this notifies it.
    pub fn sweeper_to_wake(&self) -> Option<TaskId> {
        if self.files.borrow().is_empty() {
            return None;
        }
        self.idle_sweeper.take()
    }

    /// Records that the listener waits for a slot (or an fd) to free up: the next slot
    /// dropped wakes it.
    pub fn pause_listener(&self, listener: TaskId) {
        self.paused_listener.set(Some(listener));
    }
}

/// One connection's place under `--max-conns`, and its entry in the idle list while it is
/// idle. See the module documentation.
pub struct ConnectionSlot {
    shared: Rc<Shared>,
    idle: Option<IdleKey>,
    /// At least one request answered: only then may the connection count as idle.
    served: bool,
}

impl ConnectionSlot {
    /// Takes a place for a connection just accepted.
    pub fn claim(shared: &Rc<Shared>) -> ConnectionSlot {
        let open = &shared.open_connections;
        open.set(open.get() + 1);
        ConnectionSlot {
            shared: Rc::clone(shared),
            idle: None,
            served: false,
        }
    }

    /// A request was answered.
    pub fn note_request(&mut self) {
        self.served = true;
    }

    /// The connection, task `task`, waits for its next request with nothing buffered and
    /// nothing to send: it joins the idle list (keeping its place if it is there already).
    pub fn enter_idle(&mut self, task: TaskId) {
        if self.served && self.idle.is_none() {
            self.idle = Some(self.shared.idle.borrow_mut().push(task));
        }
    }

    /// Bytes arrived: the connection is busy again.
    pub fn leave_idle(&mut self) {
        if let Some(key) = self.idle.take() {
            self.shared.idle.borrow_mut().release(key);
        }
    }

    /// The listener took this idle connection's place: it must close.
    pub fn is_reclaimed(&self) -> bool {
        self.idle
            .is_some_and(|key| self.shared.idle.borrow().is_closing(key))
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.leave_idle();
        let open = &self.shared.open_connections;
        open.set(open.get().saturating_sub(1));
        if let Some(listener) = self.shared.paused_listener.take() {
            self.shared.notifier.notify(listener);
        }
    }
}
