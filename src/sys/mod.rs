//! The only code that calls libc and holds `unsafe`: epoll, sockets, file opening, sendfile,
//! space reservation and the page cache, eventfd, signals and processes, listening sockets
//! passed in (socket activation, upgrades), and shared memory for `--workers` metrics.
//!
//! Every wrapper returns `io::Result`, retries `EINTR` where a retry is always right, and hands
//! `EAGAIN` back to the caller as `ErrorKind::WouldBlock`, because only the caller knows which
//! readiness flag that clears. Nothing here knows about HTTP, and nothing here uses any
//! other part of this crate.

pub mod activation;
pub mod epoll;
pub mod eventfd;
pub mod file;
pub mod process;
pub mod shared_memory;
pub mod socket;

use std::io;

/// Turns libc's "-1 means look at errno" convention into an `io::Result`.
fn check<T: IsMinusOne>(ret: T) -> io::Result<T> {
    if ret.is_minus_one() {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// Calls `f` again while it fails with `EINTR`: a signal landing mid-call is not an error.
fn retry_eintr<T: IsMinusOne>(mut f: impl FnMut() -> T) -> io::Result<T> {
    loop {
        match check(f()) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

trait IsMinusOne: Copy {
    fn is_minus_one(self) -> bool;
}

impl IsMinusOne for i32 {
    fn is_minus_one(self) -> bool {
        self == -1
    }
}

impl IsMinusOne for isize {
    fn is_minus_one(self) -> bool {
        self == -1
    }
}

impl IsMinusOne for i64 {
    fn is_minus_one(self) -> bool {
        self == -1
    }
}
