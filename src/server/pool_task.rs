//! The completion task of the worker pool: registered on the pool's eventfd (readable), it
//! collects finished jobs and notifies the tasks that submitted them (see `jobs`). On
//! shutdown it shuts the pool down (queued jobs come back `Cancelled`) and ends once nothing
//! is in flight. It sleeps without a deadline: an idle pool costs no wake-up.

use std::os::fd::RawFd;
use std::rc::Rc;

use crate::runtime::pool::Pool;
use crate::runtime::task::{Step, TaskContext, Wake};
use crate::server::shared::Shared;

/// The completion task: resumed when the pool's eventfd is readable.
pub struct PoolTask {
    shared: Rc<Shared>,
    shutting_down: bool,
}

impl PoolTask {
    pub fn new(shared: Rc<Shared>) -> PoolTask {
        PoolTask {
            shared,
            shutting_down: false,
        }
    }

    /// The pool's eventfd; the task exists only for a server with a pool.
    pub fn fd(&self) -> Option<RawFd> {
        self.shared.pool().map(Pool::fd)
    }

    pub fn resume(&mut self, wake: Wake, cx: &mut TaskContext<'_>) -> Step {
        let Some(pool) = self.shared.pool() else {
            return Step::Done;
        };
        if wake.shutdown && !self.shutting_down {
            self.shutting_down = true;
            // Queued jobs come back `Cancelled` through `complete`: their owners fall back.
            pool.shutdown();
        }
        pool.complete(|owner| cx.notify(owner));
        if self.shutting_down && pool.in_flight() == 0 {
            return Step::Done;
        }
        Step::Blocked
    }
}
