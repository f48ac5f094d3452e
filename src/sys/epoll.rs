//! A thin epoll wrapper: one instance, edge-triggered registrations, a reusable events buffer.
//!
//! Every registration is edge-triggered (`EPOLLET`): epoll reports a change of readiness once,
//! so the owner of a registered fd must read or write until `WouldBlock` before it waits again,
//! or it will never hear about that fd again.
//!
//! One exception holds for reading a TCP socket on Linux: a read that returns fewer bytes than
//! it had room for has emptied the receive queue, so the next bytes to arrive raise a new edge,
//! and stopping there is as safe as reaching `WouldBlock` (the connection does this, saving a
//! syscall per request). Not after the peer hung up (`EPOLLRDHUP`): no edge announces the end
//! of stream still to be read, so the reader goes on until it gets it.
//!
//! `Epoll::wait` rounds a timeout *up* to whole milliseconds, so a deadline 0.4 ms away is a
//! 1 ms sleep, never a busy loop of zero-timeout waits.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

use super::check;

/// What a registration asks to hear about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interest(u32);

impl Interest {
    /// Readable, including the peer's half-close (`EPOLLRDHUP`), so EOF is seen without a poll.
    pub const READABLE: Interest = Interest((libc::EPOLLIN | libc::EPOLLRDHUP) as u32);
    pub const WRITABLE: Interest = Interest(libc::EPOLLOUT as u32);
    pub const BOTH: Interest = Interest(Self::READABLE.0 | Self::WRITABLE.0);
}

/// What epoll reported for one fd. Errors and hang-ups count as both readable and writable:
/// the next read or write on the fd returns the error or EOF, which is how the owner learns of it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Readiness {
    pub readable: bool,
    pub writable: bool,
    /// The peer shut down its side, or the connection failed: after the buffered bytes, a
    /// read returns EOF or the error.
    pub hangup: bool,
}

/// A reusable buffer that `Epoll::wait` fills.
#[derive(Default)]
pub struct Events {
    buf: Vec<libc::epoll_event>,
    len: usize,
}

impl Events {
    pub fn with_capacity(capacity: usize) -> Events {
        Events {
            buf: vec![libc::epoll_event { events: 0, u64: 0 }; capacity.max(1)],
            len: 0,
        }
    }

    /// The `(token, readiness)` pairs of the last wait.
    pub fn iter(&self) -> impl Iterator<Item = (u64, Readiness)> + '_ {
        self.buf[..self.len].iter().map(|event| {
            let bits = event.events as i32;
            let failed = bits & (libc::EPOLLERR | libc::EPOLLHUP) != 0;
            let hangup = failed || bits & libc::EPOLLRDHUP != 0;
            let readiness = Readiness {
                readable: hangup || bits & libc::EPOLLIN != 0,
                writable: failed || bits & libc::EPOLLOUT != 0,
                hangup,
            };
            (event.u64, readiness)
        })
    }
}

/// An epoll instance, closed on drop.
pub struct Epoll {
    fd: OwnedFd,
}

impl Epoll {
    pub fn new() -> io::Result<Epoll> {
        // SAFETY: epoll_create1 takes no pointers; a non-negative return is a new fd we own.
        let fd = check(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        // SAFETY: `fd` was just returned by the kernel and nothing else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Epoll { fd })
    }

    /// Registers `fd`, edge-triggered, reporting `token` with each of its events.
    pub fn add(&self, fd: RawFd, token: u64, interest: Interest) -> io::Result<()> {
        self.control(libc::EPOLL_CTL_ADD, fd, token, interest)
    }

    /// Changes what `fd` is registered for; also re-arms an edge that may already have passed.
    pub fn modify(&self, fd: RawFd, token: u64, interest: Interest) -> io::Result<()> {
        self.control(libc::EPOLL_CTL_MOD, fd, token, interest)
    }

    /// Removes `fd`. Closing an fd removes it too, so this is only for fds that stay open.
    pub fn delete(&self, fd: RawFd) -> io::Result<()> {
        // SAFETY: a null event pointer is allowed for EPOLL_CTL_DEL since Linux 2.6.9.
        check(unsafe {
            libc::epoll_ctl(
                self.fd.as_raw_fd(),
                libc::EPOLL_CTL_DEL,
                fd,
                std::ptr::null_mut(),
            )
        })?;
        Ok(())
    }

    fn control(&self, op: i32, fd: RawFd, token: u64, interest: Interest) -> io::Result<()> {
        let mut event = libc::epoll_event {
            events: interest.0 | libc::EPOLLET as u32,
            u64: token,
        };
        // SAFETY: `event` is a valid epoll_event that lives across the call; the kernel copies it.
        check(unsafe { libc::epoll_ctl(self.fd.as_raw_fd(), op, fd, &mut event) })?;
        Ok(())
    }

    /// Waits for events; `None` waits for ever. The timeout is rounded *up* to whole
    /// milliseconds, so a deadline 0.4 ms away sleeps 1 ms instead of spinning at 0.
    /// A signal interrupting the wait is reported as zero events: the caller recomputes its
    /// timeout and waits again.
    pub fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        let timeout_ms = timeout.map_or(-1, |t| {
            let ms = t.as_nanos().div_ceil(1_000_000);
            i32::try_from(ms).unwrap_or(i32::MAX)
        });
        let capacity = i32::try_from(events.buf.len()).unwrap_or(i32::MAX);
        // SAFETY: the pointer and capacity describe `events.buf`, which outlives the call; the
        // kernel writes at most `capacity` entries.
        let ret = unsafe {
            libc::epoll_wait(
                self.fd.as_raw_fd(),
                events.buf.as_mut_ptr(),
                capacity,
                timeout_ms,
            )
        };
        events.len = match check(ret) {
            Ok(n) => n as usize,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => 0,
            Err(e) => return Err(e),
        };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::net::UnixStream;

    #[test]
    fn reports_readable_once_per_edge() {
        let epoll = Epoll::new().unwrap();
        let (mut a, b) = UnixStream::pair().unwrap();
        b.set_nonblocking(true).unwrap();
        epoll.add(b.as_raw_fd(), 7, Interest::READABLE).unwrap();
        let mut events = Events::with_capacity(4);

        epoll
            .wait(&mut events, Some(Duration::from_millis(0)))
            .unwrap();
        assert_eq!(events.iter().count(), 0);

        a.write_all(b"x").unwrap();
        epoll
            .wait(&mut events, Some(Duration::from_millis(100)))
            .unwrap();
        let got: Vec<_> = events.iter().collect();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, 7);
        assert!(got[0].1.readable);

        // Edge-triggered: the unread byte is not reported again.
        epoll
            .wait(&mut events, Some(Duration::from_millis(0)))
            .unwrap();
        assert_eq!(events.iter().count(), 0);
    }

    #[test]
    fn sub_millisecond_timeout_still_sleeps() {
        let epoll = Epoll::new().unwrap();
        let mut events = Events::with_capacity(1);
        let start = std::time::Instant::now();
        epoll
            .wait(&mut events, Some(Duration::from_micros(400)))
            .unwrap();
        assert!(start.elapsed() >= Duration::from_micros(400));
    }
}
