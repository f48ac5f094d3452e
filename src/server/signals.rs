//! The task that turns the server's signals into actions: SIGHUP into a reload, SIGINT or
//! SIGTERM into a graceful shutdown of the loop.
//!
//! SIGHUP runs `reload` (reopen the access and error logs, for logrotate's `postrotate kill
//! -HUP`; load TLS certificates and keys again) and the server goes on; nothing in flight is
//! touched. The first SIGINT or SIGTERM says what is being drained, starts the drain
//! (`Context::begin_shutdown`) and gives those two signals their default action back; this
//! task then finishes, so a second one ends the process at once. SIGHUP stays blocked during
//! the drain: it is ignored, never fatal.

use std::io;
use std::os::fd::RawFd;
use std::rc::Rc;
use std::time::Duration;

use crate::runtime::error_log::{self, Event};
use crate::runtime::task::{Context, Step, Wake};
use crate::server::shared::Shared;
use crate::sys::process::{ServerSignals, signal_name};

pub struct SignalWatcher {
    signals: ServerSignals,
    drain: Duration,
    shared: Rc<Shared>,
}

impl SignalWatcher {
    pub fn new(signals: ServerSignals, drain: Duration, shared: Rc<Shared>) -> SignalWatcher {
        SignalWatcher {
            signals,
            drain,
            shared,
        }
    }

    pub fn fd(&self) -> RawFd {
        self.signals.fd()
    }

    pub fn resume<T>(&mut self, wake: Wake, cx: &mut Context<'_, T>) -> Step {
        // Edge-triggered: read until no signal is pending. A shutdown begun elsewhere needs
        // no reading: this task just ends.
        if !wake.shutdown {
            loop {
                match self.signals.read() {
                    Ok(libc::SIGHUP) => reload(&self.shared),
                    Ok(signal) => {
                        self.announce_drain(signal);
                        cx.begin_shutdown(self.drain);
                        break;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Step::Blocked,
                    // An unreadable signalfd cannot tell us anything more; the default action
                    // below still lets a signal end the process.
                    Err(_) => break,
                }
            }
        }
        // If this fails the signals stay blocked; the drain still ends the process.
        let _ = self.signals.restore_default();
        Step::Done
    }

    fn announce_drain(&self, signal: i32) {
        let name = signal_name(signal);
        match self.shared.slots().open() {
            0 => error_log::info(
                Event::Lifecycle,
                format_args!("shutting down ({name}): no connections open"),
            ),
            open => error_log::info(
                Event::Lifecycle,
                format_args!(
                    "shutting down ({name}): draining {} for up to {} s; signal again to stop now",
                    connections(open),
                    self.drain.as_secs()
                ),
            ),
        }
    }
}

/// What SIGHUP asks of a running server. Today that is reopening the logs, so files that
/// logrotate renamed stop growing and new ones appear at the configured paths; later reloads
/// (certificates, password files) belong here too. Nothing in flight is interrupted.
fn reload(shared: &Shared) {
    error_log::reopen();
    if let Some(log) = shared.access_log() {
        log.reopen();
    }
    error_log::info(Event::Lifecycle, format_args!("SIGHUP: logs reopened"));
    if let Some(tls) = shared.tls() {
        match tls.reload() {
            Ok(()) => error_log::info(
                Event::Lifecycle,
                format_args!("SIGHUP: TLS certificates reloaded"),
            ),
            Err(e) => error_log::error(
                Event::Lifecycle,
                format_args!("SIGHUP: TLS certificates not reloaded, the old ones stay: {e}"),
            ),
        }
    }
}

/// "1 connection", "3 connections".
pub fn connections(count: usize) -> String {
    if count == 1 {
        "1 connection".to_string()
    } else {
        format!("{count} connections")
    }
}
