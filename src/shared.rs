//! What every connection of one server shares: the site and its file cache, the limits, the
//! cached Date, the buffer pool, the access log, and the count of open connections that
//! holds the listener back at `--max-conns`. One per event loop, behind an `Rc`: the loop is
//! single-threaded, so the `RefCell`s are never contended, and a borrow never outlives the
//! synchronous step that takes it.

use std::cell::{Cell, RefCell};

use crate::access_log::AccessLog;
use crate::buffer::BufferPool;
use crate::config::{INPUT_BUFFER_BYTES, Timeouts};
use crate::event_loop::TaskId;
use crate::file_cache::FileCache;
use crate::files::Site;
use crate::http::date::DateCache;

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
    pub(crate) open_connections: Cell<usize>,
    pub(crate) max_connections: usize,
    pub(crate) paused_listener: Cell<Option<TaskId>>,
}

impl Shared {
    pub fn new(
        site: Site,
        cache_control: Option<&str>,
        log: Option<AccessLog>,
        timeouts: Timeouts,
        max_body_bytes: u64,
        max_connections: usize,
    ) -> Shared {
        Shared {
            site,
            files: RefCell::new(FileCache::default()),
            cache_control: cache_control.map(|value| value.as_bytes().into()),
            log,
            timeouts,
            max_body_bytes,
            date: RefCell::new(DateCache::default()),
            buffers: RefCell::new(BufferPool::new(INPUT_BUFFER_BYTES)),
            path: RefCell::new(Vec::new()),
            open_connections: Cell::new(0),
            max_connections,
            paused_listener: Cell::new(None),
        }
    }

    pub fn at_connection_limit(&self) -> bool {
        self.open_connections.get() >= self.max_connections
    }

    pub fn access_log(&self) -> Option<&AccessLog> {
        self.log.as_ref()
    }

    /// Records that the listener stopped at the limit and waits to be notified.
    pub fn pause_listener(&self, listener: TaskId) {
        self.paused_listener.set(Some(listener));
    }
}
