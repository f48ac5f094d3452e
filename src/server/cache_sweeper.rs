//! The task that closes the file cache's unused entries.

use std::rc::Rc;

use crate::runtime::task::{Step, TaskContext, Wake};
use crate::server::shared::Shared;

/// Closes the file cache's unused entries (see `site::file_cache`). A task with no fd: only its
/// deadline wakes it, set while the cache holds entries, or a connection's notification when
/// an empty cache gets one.
pub struct CacheSweeper {
    shared: Rc<Shared>,
}

impl CacheSweeper {
    pub fn new(shared: Rc<Shared>) -> CacheSweeper {
        CacheSweeper { shared }
    }

    pub fn resume(&mut self, wake: Wake, cx: &mut TaskContext<'_>) -> Step {
        if wake.shutdown {
            return Step::Done;
        }
        let next = self.shared.files().sweep(cx.now());
        if next.is_none() {
            // Nothing left to watch: idle, without a deadline, until the cache gets an entry.
            self.shared.set_idle_sweeper(cx.id());
        }
        cx.set_deadline(next);
        Step::Blocked
    }
}
