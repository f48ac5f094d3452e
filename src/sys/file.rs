//! Opening files beneath a root directory, sendfile, and reserving space at a file's end.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use super::retry_eintr;

/// Opens `path` (relative, NUL-terminated) read-only beneath `dir`, so that nothing outside
/// `dir` can be reached whatever the path says (openat2, Linux 5.6+). Any symlink on the way
/// fails the open with `ELOOP`: the caller decides what a link may lead to.
/// `O_NONBLOCK` keeps a FIFO placed in the tree from blocking the open; the caller still
/// checks that it got a regular file.
pub fn open_beneath(dir: BorrowedFd<'_>, path: &CStr) -> io::Result<OwnedFd> {
    let resolve = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_SYMLINKS;
    // SAFETY: open_how is plain integers, for which all-zero is a valid (and the documented
    // default) value; libc marks it non-exhaustive, so it cannot be built field by field.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (libc::O_RDONLY | libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_NOCTTY) as u64;
    how.resolve = resolve;
    // SAFETY: `path` is NUL-terminated and `how` is a valid open_how whose size is passed; both
    // outlive the call. The kernel returns a new fd or -1.
    let fd = retry_eintr(|| unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir.as_raw_fd(),
            path.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    })?;
    // SAFETY: openat2 returned a new fd that nothing else owns; fds fit in a c_int.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) })
}

/// Copies up to `len` bytes of `file`, from `*offset`, to `socket` inside the kernel, and
/// advances `*offset` by what was sent. `Ok(0)` means the file ended early (it shrank).
pub fn sendfile(
    socket: BorrowedFd<'_>,
    file: BorrowedFd<'_>,
    offset: &mut u64,
    len: usize,
) -> io::Result<usize> {
    let mut off = libc::off_t::try_from(*offset)
        .map_err(|_| io::Error::from_raw_os_error(libc::EOVERFLOW))?;
    // SAFETY: `off` is a live off_t the kernel updates in place; the fds are borrowed, so open.
    let n = retry_eintr(|| unsafe {
        libc::sendfile(socket.as_raw_fd(), file.as_raw_fd(), &mut off, len)
    })?;
    *offset = off as u64;
    Ok(n as usize)
}

/// Reserves disk space for `len` bytes of `file` from `offset` without changing its size
/// (`FALLOC_FL_KEEP_SIZE`), so that writing that range cannot fail for want of space. Fails
/// with `ENOSPC` or `EDQUOT` when there is no room, `EOPNOTSUPP` where the file system
/// cannot reserve.
pub fn reserve(file: BorrowedFd<'_>, offset: u64, len: u64) -> io::Result<()> {
    let too_big = || io::Error::from_raw_os_error(libc::EFBIG);
    let offset = libc::off_t::try_from(offset).map_err(|_| too_big())?;
    let len = libc::off_t::try_from(len).map_err(|_| too_big())?;
    // SAFETY: fallocate takes only integers; the fd is borrowed, so it stays open for the call.
    retry_eintr(|| unsafe {
        libc::fallocate(file.as_raw_fd(), libc::FALLOC_FL_KEEP_SIZE, offset, len)
    })?;
    Ok(())
}
