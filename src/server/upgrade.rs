//! SIGUSR2: a new copy of the server takes over the listening sockets, with no connection
//! refused and no request dropped.
//!
//! On SIGUSR2 the running server starts its executable again (the path it was started from,
//! read again from disk, so a binary replaced there is the one that starts) with the same
//! arguments, passing its listening sockets by the socket-activation protocol
//! (`sys::activation`) and a pipe. The new process serves on the very same sockets, and once
//! its loop is ready it writes a byte to the pipe. Only then does this process drain as after
//! SIGTERM: it stops accepting and finishes what it holds. Connections waiting in the
//! sockets' backlog are not lost: the backlog belongs to the socket, which the new process
//! accepts from. If the new process exits before it is ready, or is not ready within
//! `UPGRADE_READY_TIMEOUT`, this one says so and serves on.
//!
//! At most one upgrade runs at a time; a SIGUSR2 during one is ignored.

use std::cell::Cell;
use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;

use crate::runtime::error_log::{self, Event};
use crate::runtime::task::{Context, Step, Wake};
use crate::sys::activation;
use crate::sys::process;

/// How long the new process has to start serving before it is killed and we serve on.
pub const UPGRADE_READY_TIMEOUT: Duration = Duration::from_secs(30);

/// What is needed to start the new process.
pub struct Upgrade {
    program: PathBuf,
    args: Vec<OsString>,
    /// The listening sockets, owned by the listeners. They are open whenever a SIGUSR2 is
    /// read: the listeners close them only when the drain starts, and from then on the
    /// signal task that holds this has finished. (Holding copies would cost an fd each.)
    sockets: Vec<RawFd>,
    drain: Duration,
    running: Rc<Cell<bool>>,
}

impl Upgrade {
    /// Records this process's executable and arguments, and takes `sockets` to pass on.
    pub fn new(sockets: Vec<RawFd>, drain: Duration) -> io::Result<Upgrade> {
        Ok(Upgrade {
            program: std::env::current_exe()?,
            args: std::env::args_os().collect(),
            sockets,
            drain,
            running: Rc::new(Cell::new(false)),
        })
    }

    /// Starts the new process; the task returned waits for it to be ready. `None` (and the
    /// reason logged) when it could not start, or another upgrade is running.
    pub fn start(&self) -> Option<Upgrading> {
        if self.running.get() {
            error_log::warn(
                Event::Lifecycle,
                format_args!("SIGUSR2: an upgrade is already under way; ignored"),
            );
            return None;
        }
        let started = activation::ready_pipe().and_then(|(reader, writer)| {
            let pid =
                activation::spawn_with_fds(&self.program, &self.args, &self.sockets, &writer)?;
            Ok((reader, pid))
        });
        match started {
            Ok((reader, child)) => {
                error_log::info(
                    Event::Lifecycle,
                    format_args!(
                        "SIGUSR2: started {} as process {child}; draining once it serves",
                        self.program.display()
                    ),
                );
                self.running.set(true);
                Some(Upgrading {
                    reader,
                    child,
                    drain: self.drain,
                    running: Rc::clone(&self.running),
                    waiting: false,
                })
            }
            Err(e) => {
                error_log::error(
                    Event::Lifecycle,
                    format_args!("SIGUSR2: cannot start {}: {e}", self.program.display()),
                );
                None
            }
        }
    }
}

/// The task that waits for the new process to say it serves, then starts our drain.
pub struct Upgrading {
    /// The pipe's read end: a byte when the new process serves, end of file if it exits.
    reader: File,
    child: libc::pid_t,
    drain: Duration,
    running: Rc<Cell<bool>>,
    /// Whether the deadline is set (on the first resume).
    waiting: bool,
}

impl Upgrading {
    pub fn fd(&self) -> RawFd {
        self.reader.as_raw_fd()
    }

    pub fn resume<T>(&mut self, wake: Wake, cx: &mut Context<'_, T>) -> Step {
        if wake.shutdown {
            // Stopping anyway: the new process, if it starts, serves on its own.
            return Step::Done;
        }
        let mut byte = [0u8; 1];
        match self.reader.read(&mut byte) {
            Ok(1..) => {
                error_log::info(
                    Event::Lifecycle,
                    format_args!("SIGUSR2: process {} serves; draining", self.child),
                );
                cx.begin_shutdown(self.drain);
                Step::Done
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && !wake.deadline => {
                if !self.waiting {
                    self.waiting = true;
                    let deadline = cx.now() + UPGRADE_READY_TIMEOUT;
                    cx.set_deadline(Some(deadline));
                }
                Step::Blocked
            }
            outcome => {
                self.fail(outcome.err());
                Step::Done
            }
        }
    }

    /// The same as a blocking call, for the supervisor, which has no loop: whether the new
    /// process serves (if not, it is gone and the failure logged).
    pub fn wait(&self) -> bool {
        let mut byte = [0u8; 1];
        let heard = activation::wait_readable(self.reader.as_fd(), UPGRADE_READY_TIMEOUT)
            .and_then(|_| (&self.reader).read(&mut byte));
        match heard {
            Ok(1..) => {
                error_log::info(
                    Event::Lifecycle,
                    format_args!("SIGUSR2: process {} serves; draining", self.child),
                );
                true
            }
            Ok(0) => {
                self.fail(None);
                false
            }
            Err(e) => {
                self.fail(Some(e));
                false
            }
        }
    }

    /// The new process exited, or took too long (then it is killed): we serve on.
    fn fail(&self, error: Option<io::Error>) {
        let why = match error {
            None => "exited before serving".to_string(),
            Some(e) => {
                let _ = process::send_signal(self.child, libc::SIGKILL);
                if e.kind() == io::ErrorKind::WouldBlock {
                    format!(
                        "was not serving after {} s: killed",
                        UPGRADE_READY_TIMEOUT.as_secs()
                    )
                } else {
                    format!("could not be heard from ({e}): killed")
                }
            }
        };
        // Reaped, so it does not stay a zombie: it has exited, or been killed just above.
        let _ = process::wait_child(self.child);
        error_log::error(
            Event::Lifecycle,
            format_args!("SIGUSR2: the new process {} {why}; serving on", self.child),
        );
        self.running.set(false);
    }
}
