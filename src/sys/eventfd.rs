//! An eventfd: a kernel counter behind an fd, which one thread can bump to wake another that
//! waits on the fd through epoll.
//!
//! `signal` adds 1 to the counter; `drain` reads it and resets it to zero; the fd is readable
//! while the counter is non-zero. The type is `Send + Sync` because its only field, an `OwnedFd`,
//! is: `signal` and `drain` are single 8-byte `write`/`read` calls, which the kernel applies
//! to the counter atomically, so any number of threads may call them at once through `&self`.
//! The fd is closed only when the `EventFd` is dropped, which needs sole ownership, so no
//! thread can be signalling a closed (or reused) fd.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use super::{check, retry_eintr};

/// The size of an eventfd counter, and of every read and write on it.
const COUNTER_LEN: usize = size_of::<u64>();

/// An owned, non-blocking eventfd, closed on drop.
pub struct EventFd {
    fd: OwnedFd,
}

impl EventFd {
    /// A counter at zero, non-blocking and closed on exec.
    pub fn new() -> io::Result<EventFd> {
        // SAFETY: eventfd takes no pointers; a non-negative return is a new fd we own.
        let fd = check(unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) })?;
        // SAFETY: `fd` was just returned by the kernel and nothing else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(EventFd { fd })
    }

    /// Adds 1 to the counter, making the fd readable. Callable from any thread.
    ///
    /// It cannot fail in a way the caller could act on, so it reports nothing: `EINTR` is
    /// retried; `EAGAIN` means the counter is one short of overflowing (2^64 - 2), so it is
    /// non-zero and the reader will wake anyway; `EINVAL` needs a buffer under 8 bytes or the
    /// value `u64::MAX`, and we write 1 in 8 bytes; `EBADF` needs an fd we do not own.
    pub fn signal(&self) {
        let one = 1u64.to_ne_bytes();
        // SAFETY: the pointer and length describe `one`, which outlives the call.
        let written = retry_eintr(|| unsafe {
            libc::write(self.fd.as_raw_fd(), one.as_ptr().cast(), COUNTER_LEN)
        });
        debug_assert!(
            matches!(&written, Ok(n) if *n as usize == COUNTER_LEN)
                || matches!(&written, Err(e) if e.kind() == io::ErrorKind::WouldBlock),
            "eventfd write: {written:?}"
        );
    }

    /// Reads the counter and resets it to zero: how many signals arrived since the last drain.
    /// `WouldBlock` when none did.
    pub fn drain(&self) -> io::Result<u64> {
        let mut counter = [0u8; COUNTER_LEN];
        // SAFETY: the pointer and length describe `counter`, which outlives the call; the
        // kernel writes exactly 8 bytes on success.
        let n = retry_eintr(|| unsafe {
            libc::read(
                self.fd.as_raw_fd(),
                counter.as_mut_ptr().cast(),
                COUNTER_LEN,
            )
        })?;
        if n as usize != COUNTER_LEN {
            return Err(io::Error::from(io::ErrorKind::UnexpectedEof));
        }
        Ok(u64::from_ne_bytes(counter))
    }

    /// The fd to register with epoll, readable while the counter is non-zero.
    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl AsRawFd for EventFd {
    fn as_raw_fd(&self) -> RawFd {
        self.fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::epoll::{Epoll, Events, Interest};
    use std::sync::Arc;
    use std::time::Duration;

    fn is_send_sync<T: Send + Sync>() {}

    #[test]
    fn drain_counts_signals_then_would_block() {
        let eventfd = EventFd::new().unwrap();
        assert_eq!(
            eventfd.drain().unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        eventfd.signal();
        eventfd.signal();
        assert_eq!(eventfd.drain().unwrap(), 2);
        assert_eq!(
            eventfd.drain().unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
    }

    #[test]
    fn a_signal_from_another_thread_wakes_epoll() {
        is_send_sync::<EventFd>();
        let eventfd = Arc::new(EventFd::new().unwrap());
        let epoll = Epoll::new().unwrap();
        epoll
            .add(eventfd.as_raw_fd(), 7, Interest::READABLE)
            .unwrap();
        let mut events = Events::with_capacity(4);

        let signaller = Arc::clone(&eventfd);
        std::thread::spawn(move || signaller.signal())
            .join()
            .unwrap();
        epoll
            .wait(&mut events, Some(Duration::from_secs(5)))
            .unwrap();
        let ready: Vec<_> = events.iter().collect();
        assert_eq!(ready.len(), 1);
        assert_eq!(ready[0].0, 7);
        assert!(ready[0].1.readable);
        assert_eq!(eventfd.drain().unwrap(), 1);

        // Drained, the fd has nothing more to report.
        epoll.wait(&mut events, Some(Duration::ZERO)).unwrap();
        assert_eq!(events.iter().count(), 0);
    }
}
