//! The task that hands the access log's lines to its writer thread.

use std::rc::Rc;

use crate::runtime::task::{Step, Wake};
use crate::server::shared::Shared;

/// Hands the access log's buffered lines to its writer thread whenever a connection notifies
/// it (see `access_log`). It has no fd: only notifications and the shutdown wake it.
pub struct LogFlusher {
    shared: Rc<Shared>,
}

impl LogFlusher {
    pub fn new(shared: Rc<Shared>) -> LogFlusher {
        LogFlusher { shared }
    }

    pub fn resume(&mut self, wake: Wake) -> Step {
        if let Some(log) = self.shared.access_log() {
            log.flush();
        }
        // Lines written during the drain are handed over when the loop has ended.
        if wake.shutdown {
            Step::Done
        } else {
            Step::Blocked
        }
    }
}
