//! Opening files beneath a root directory, sendfile, reserving space at a file's end, and the
//! page cache: whether a range of a file is in it (asked without waiting), bringing a range
//! into it (waiting, for a worker), and dropping a file from it (for tests of cold data).

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};

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

/// `cachestat(2)`'s number (Linux 6.5+). libc does not name it for x86_64 yet; syscalls added
/// since 5.1 take one number on every architecture (the kernel's
/// `include/uapi/asm-generic/unistd.h`: `__NR_cachestat 451`, and `451 common cachestat` in
/// `arch/x86/entry/syscalls/syscall_64.tbl`).
const SYS_CACHESTAT: libc::c_long = 451;

/// `struct cachestat_range` of `include/uapi/linux/mman.h`.
#[repr(C)]
struct CachestatRange {
    off: u64,
    len: u64,
}

/// `struct cachestat` of `include/uapi/linux/mman.h`; only `nr_cache` is read.
#[repr(C)]
#[derive(Default)]
struct Cachestat {
    nr_cache: u64,
    nr_dirty: u64,
    nr_writeback: u64,
    nr_evicted: u64,
    nr_recently_evicted: u64,
}

/// Set once `cachestat` answered `ENOSYS` (a kernel before 6.5, or a filter refusing it):
/// from then on only the `preadv2` probe is asked.
static NO_CACHESTAT: AtomicBool = AtomicBool::new(false);

/// Bytes a worker reads at a time to pull a range into the page cache: on its stack, and
/// small enough that the copy costs little beside the disk read it waits for.
const SCRATCH_BYTES: usize = 64 * 1024;

/// Whether every page of `file`'s bytes `offset..offset + len` is in the page cache, so that
/// `sendfile` on them will not wait for the disk. It never waits itself and never reads the
/// data: `cachestat` counts the cached pages of the range; where the kernel lacks it, a
/// one-byte `preadv2(RWF_NOWAIT)` at the range's first and last byte (`EAGAIN`: not cached)
/// is the fallback, which misses a hole in the middle. An error means "cannot tell" (a
/// file system without `RWF_NOWAIT`, say): the caller decides what to assume.
pub fn is_cached(file: BorrowedFd<'_>, offset: u64, len: usize) -> io::Result<bool> {
    if len == 0 {
        return Ok(true);
    }
    if !NO_CACHESTAT.load(Ordering::Relaxed) {
        match cached_pages(file, offset, len) {
            Ok(cached) => return Ok(cached >= pages_spanned(offset, len, page_size())),
            Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => {
                NO_CACHESTAT.store(true, Ordering::Relaxed);
            }
            Err(e) => return Err(e),
        }
    }
    let last = offset.saturating_add(len as u64 - 1);
    Ok(byte_is_cached(file, offset)? && byte_is_cached(file, last)?)
}

/// How many pages of the range `cachestat` finds in the page cache.
fn cached_pages(file: BorrowedFd<'_>, offset: u64, len: usize) -> io::Result<u64> {
    let range = CachestatRange {
        off: offset,
        len: len as u64,
    };
    let mut stat = Cachestat::default();
    // SAFETY: both structs are repr(C) copies of the kernel's, live across the call; the
    // kernel reads `range` and writes only `stat`. The fd is borrowed, so open.
    retry_eintr(|| unsafe {
        libc::syscall(
            SYS_CACHESTAT,
            file.as_raw_fd(),
            &range as *const CachestatRange,
            &mut stat as *mut Cachestat,
            0,
        )
    })?;
    Ok(stat.nr_cache)
}

/// Whether the page holding byte `offset` is cached: a one-byte read that the kernel refuses
/// with `EAGAIN` rather than wait for the disk. Past the end counts as cached (nothing to wait
/// for).
fn byte_is_cached(file: BorrowedFd<'_>, offset: u64) -> io::Result<bool> {
    let off = file_offset(offset)?;
    let mut byte = 0u8;
    let iov = libc::iovec {
        iov_base: (&mut byte as *mut u8).cast(),
        iov_len: 1,
    };
    // SAFETY: `iov` describes one live byte we own; the kernel writes at most that byte. The
    // fd is borrowed, so open.
    match retry_eintr(|| unsafe { libc::preadv2(file.as_raw_fd(), &iov, 1, off, libc::RWF_NOWAIT) })
    {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(false),
        Err(e) => Err(e),
    }
}

/// The number of `page_bytes` pages that bytes `offset..offset + len` touch (`len` > 0).
fn pages_spanned(offset: u64, len: usize, page_bytes: u64) -> u64 {
    let last = offset.saturating_add(len as u64 - 1);
    last / page_bytes - offset / page_bytes + 1
}

/// `offset` as the kernel's signed offset type; one past its range is `EOVERFLOW`.
fn file_offset(offset: u64) -> io::Result<libc::off_t> {
    libc::off_t::try_from(offset).map_err(|_| io::Error::from_raw_os_error(libc::EOVERFLOW))
}

fn page_size() -> u64 {
    // SAFETY: sysconf only reads a process-wide value; _SC_PAGESIZE is always supported.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(size).unwrap_or(4096)
}

/// Brings `file`'s bytes `offset..offset + len` into the page cache, and returns once they
/// are there (or the file ends): `readahead` asks for the whole range at once, so the disk
/// sees one large request, then reading it through a small scratch buffer waits for each
/// page. Blocks on the disk: for a worker thread, never for the loop.
pub fn read_into_cache(file: BorrowedFd<'_>, offset: u64, len: usize) -> io::Result<()> {
    let off = file_offset(offset)?;
    // SAFETY: readahead only takes integers; the fd is borrowed, so open. It is only advice
    // (EINVAL on a file that cannot take it), so its result is ignored: the reads below do
    // the work either way.
    let _ = unsafe { libc::readahead(file.as_raw_fd(), off, len) };
    let mut scratch = [0u8; SCRATCH_BYTES];
    let end = offset.saturating_add(len as u64);
    let mut at = offset;
    while at < end {
        let want = usize::try_from(end - at).map_or(SCRATCH_BYTES, |n| n.min(SCRATCH_BYTES));
        let pos = file_offset(at)?;
        // SAFETY: `scratch` is live and at least `want` bytes long; the kernel writes at
        // most `want` bytes into it. The fd is borrowed, so open.
        let n = retry_eintr(|| unsafe {
            libc::pread(file.as_raw_fd(), scratch.as_mut_ptr().cast(), want, pos)
        })?;
        if n == 0 {
            break;
        }
        at += n as u64;
    }
    Ok(())
}

/// Writes `file`'s dirty pages to disk and drops all its pages from the page cache, so the
/// next read of it waits for the disk: what tests and benchmarks of cold data start from.
/// Pages on tmpfs cannot be dropped (they have no disk to come back from).
pub fn evict_from_page_cache(file: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: fdatasync takes an fd, borrowed, so open.
    retry_eintr(|| unsafe { libc::fdatasync(file.as_raw_fd()) })?;
    // SAFETY: posix_fadvise takes integers only; the fd is borrowed, so open. It returns the
    // error number itself rather than setting errno.
    let err = unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    if err == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(err))
    }
}

#[cfg(test)]
#[path = "file_tests.rs"]
mod tests;
