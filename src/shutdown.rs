//! The task that turns SIGINT or SIGTERM into a graceful shutdown of the loop.
//!
//! The first signal starts the drain (`Context::begin_shutdown`) and gives the signals their
//! default action back; this task then finishes, so a second signal ends the process at once.

use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

use crate::event_loop::{Context, Step, Wake};
use crate::sys::process::TerminationSignals;

pub struct ShutdownOnSignal {
    signals: TerminationSignals,
    drain: Duration,
}

impl ShutdownOnSignal {
    pub fn new(signals: TerminationSignals, drain: Duration) -> ShutdownOnSignal {
        ShutdownOnSignal { signals, drain }
    }

    pub fn fd(&self) -> RawFd {
        self.signals.fd()
    }

    pub fn resume<T>(&mut self, wake: Wake, cx: &mut Context<'_, T>) -> Step {
        if !wake.shutdown {
            match self.signals.read() {
                Ok(_) => cx.begin_shutdown(self.drain),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Step::Blocked,
                // An unreadable signalfd cannot tell us anything more; the default action
                // below still lets a signal end the process.
                Err(_) => {}
            }
        }
        // If this fails the signals stay blocked; the drain still ends the process.
        let _ = self.signals.restore_default();
        Step::Done
    }
}
