//! The task that turns the server's signals into actions: SIGHUP into a reload, SIGINT or
//! SIGTERM into a graceful shutdown of the loop, SIGUSR2 into an upgrade (`upgrade`).
//!
//! SIGHUP runs `reload` (reopen the access and error logs, for logrotate's
//! `postrotate kill -HUP`, re-read the `--auth-file`; load TLS certificates and keys again) and the server goes on; nothing in flight is touched. The first
//! SIGINT or SIGTERM makes the health check fail (`health`), says what is being drained,
//! starts the drain (`Context::begin_shutdown`) and gives those two signals their default
//! action back; this task then finishes, so a second one ends the process at once. SIGHUP
//! stays blocked during the drain: it is ignored, never fatal.
//!
//! With `--shutdown-delay`, the first SIGINT or SIGTERM only makes the health check fail;
//! everything else goes on as before (the listener accepts, keep-alive connections stay
//! open, responses do not say `Connection: close`) until the delay's deadline, when the
//! drain starts as above. That gives a load balancer time to see the failing check and stop
//! sending before any connection closes. A second SIGINT or SIGTERM during the delay is an
//! operator who will not wait: the drain starts at once, and a third ends the process.

use std::io;
use std::os::fd::RawFd;
use std::rc::Rc;
use std::time::Duration;

use crate::runtime::error_log::{self, Event};
use crate::runtime::task::{Context, Step, TaskContext, Wake};
use crate::server::shared::Shared;
use crate::server::upgrade::{Upgrade, Upgrading};
use crate::sys::process::{ServerSignals, signal_name};

pub struct SignalWatcher {
    signals: ServerSignals,
    drain: Duration,
    shared: Rc<Shared>,
    /// `--shutdown-delay`.
    delay: Duration,
    /// The signal that began the delay, while it runs.
    delaying: Option<i32>,
    /// What SIGUSR2 starts (see `upgrade`); `None` in a worker, whose supervisor does it.
    upgrade: Option<Upgrade>,
}

impl SignalWatcher {
    pub fn new(signals: ServerSignals, drain: Duration, shared: Rc<Shared>) -> SignalWatcher {
        SignalWatcher {
            signals,
            drain,
            shared,
            delay: Duration::ZERO,
            delaying: None,
            upgrade: None,
        }
    }

    /// The same, starting a new server on SIGUSR2.
    pub fn with_upgrade(self, upgrade: Upgrade) -> SignalWatcher {
        SignalWatcher {
            upgrade: Some(upgrade),
            ..self
        }
    }

    /// The same, serving on for `delay` with the health check failing before the drain.
    pub fn with_delay(self, delay: Duration) -> SignalWatcher {
        SignalWatcher { delay, ..self }
    }

    pub fn fd(&self) -> RawFd {
        self.signals.fd()
    }

    pub fn resume<T: From<Upgrading>>(&mut self, wake: Wake, cx: &mut Context<'_, T>) -> Step {
        // Edge-triggered: read until no signal is pending. A shutdown begun elsewhere needs
        // no reading: this task just ends.
        if !wake.shutdown {
            loop {
                match self.signals.read() {
                    Ok(libc::SIGHUP) => reload(&self.shared),
                    Ok(libc::SIGUSR2) => self.upgrade(cx),
                    Ok(signal) if self.delaying.is_none() && !self.delay.is_zero() => {
                        self.begin_delay(signal, cx);
                    }
                    Ok(signal) => {
                        self.drain_now(signal, cx);
                        break;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => match self.delaying {
                        Some(signal) if wake.deadline => {
                            self.drain_now(signal, cx);
                            break;
                        }
                        _ => return Step::Blocked,
                    },
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

    /// SIGUSR2: start the new server, and a task that starts our drain once it serves.
    fn upgrade<T: From<Upgrading>>(&mut self, cx: &mut Context<'_, T>) {
        match &self.upgrade {
            Some(upgrade) => {
                if let Some(upgrading) = upgrade.start() {
                    cx.spawn(T::from(upgrading));
                }
            }
            None => error_log::warn(
                Event::Lifecycle,
                format_args!("SIGUSR2: ignored (a worker is upgraded by its supervisor)"),
            ),
        }
    }

    /// The first signal with `--shutdown-delay`: fail the health check, serve on.
    fn begin_delay(&mut self, signal: i32, cx: &mut TaskContext<'_>) {
        if let Some(health) = self.shared.health() {
            health.fail();
        }
        self.delaying = Some(signal);
        cx.set_deadline(Some(cx.now() + self.delay));
        error_log::info(
            Event::Lifecycle,
            format_args!(
                "shutting down ({}): health check failing, serving on for {} s before draining; \
                 signal again to drain now",
                signal_name(signal),
                self.delay.as_secs()
            ),
        );
    }

    fn drain_now<T>(&mut self, signal: i32, cx: &mut Context<'_, T>) {
        if let Some(health) = self.shared.health() {
            health.fail();
        }
        cx.set_deadline(None);
        self.announce_drain(signal);
        cx.begin_shutdown(self.drain);
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

/// What SIGHUP asks of a running server: reopening the logs, so files that logrotate renamed
/// stop growing and new ones appear at the configured paths, and re-reading the htpasswd
/// file (which forgets the credentials verified under the old one). Nothing in flight is
/// interrupted: a verification already running finishes against the users it started with.
fn reload(shared: &Shared) {
    error_log::reopen();
    if let Some(log) = shared.access_log() {
        log.reopen();
    }
    error_log::info(Event::Lifecycle, format_args!("SIGHUP: logs reopened"));
    // A file that cannot be used is reported; the users read before stay in force.
    if let Some(mut auth) = shared.auth() {
        match auth.reload() {
            Ok(users) => error_log::info(
                Event::Lifecycle,
                format_args!("SIGHUP: auth file re-read, {users} users"),
            ),
            Err(error) => error_log::error(
                Event::Lifecycle,
                format_args!("SIGHUP: {error}; the previous users stay in force"),
            ),
        }
    }
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
