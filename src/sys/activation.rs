//! Listening sockets passed from one process to the next: systemd's socket-activation protocol
//! (`sd_listen_fds(3)`), read at start-up, and the same protocol spoken to start a new copy of
//! this program on our own sockets (the SIGUSR2 upgrade).
//!
//! The protocol: the passed fds are 3, 4, ... (`LISTEN_FDS` of them), meant for the process
//! whose pid is `LISTEN_PID` (a variable inherited by some other process is not an invitation
//! to take its fds), optionally named by `LISTEN_FDNAMES` (colon-separated). The variables are
//! removed once read, so that nothing this process starts takes them for its own.
//!
//! Invariant of `spawn_with_fds`: between `fork` and `execve` the child calls only
//! async-signal-safe functions (the parent may have other threads, whose locks the child does
//! not get), so everything it needs, down to the buffer for its own pid, is built before.

use std::env;
use std::ffi::{CString, OsString};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStringExt;
use std::path::Path;
use std::time::Duration;

use super::check;

/// The first passed fd (after standard input, output and error).
pub const LISTEN_FDS_START: RawFd = 3;
/// The most fds we take or pass: far more listening sockets than a server has.
pub const MAX_LISTEN_FDS: usize = 64;
/// Names the fd on which a process started by `spawn_with_fds` says it is serving.
pub const READY_FD_VAR: &str = "TINYHTTPD_READY_FD";

const VARS: [&str; 4] = ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", READY_FD_VAR];

/// What the process that started us passed.
#[derive(Debug, Default)]
pub struct Passed {
    /// The passed fds, close-on-exec, each with its name (`""` without `LISTEN_FDNAMES`).
    pub fds: Vec<(OwnedFd, String)>,
    /// Where to say "serving" (see `spawn_with_fds`), close-on-exec.
    pub ready: Option<OwnedFd>,
}

/// Takes the fds passed to this process and removes the variables. Without `LISTEN_FDS`, or
/// when `LISTEN_PID` names another process, nothing was passed to us: `Passed::default()`.
///
/// Call it before any thread starts: changing the environment races with threads reading it.
pub fn take_passed() -> io::Result<Passed> {
    let var = |name| env::var(name).ok();
    let (pid, count, names, ready) = (
        var("LISTEN_PID"),
        var("LISTEN_FDS"),
        var("LISTEN_FDNAMES"),
        var(READY_FD_VAR),
    );
    for name in VARS {
        // SAFETY: called before any thread starts (the caller's duty), so nothing reads the
        // environment concurrently.
        unsafe { env::remove_var(name) };
    }
    let (Some(pid), Some(count)) = (pid, count) else {
        return Ok(Passed::default());
    };
    if pid.parse::<u32>().ok() != Some(std::process::id()) {
        return Ok(Passed::default());
    }
    let count: usize = count
        .parse()
        .ok()
        .filter(|&n| n <= MAX_LISTEN_FDS)
        .ok_or_else(|| io::Error::other(format!("LISTEN_FDS={count} is not a count we take")))?;
    let names: Vec<&str> = names
        .as_deref()
        .map_or(Vec::new(), |n| n.split(':').collect());
    let mut fds = Vec::with_capacity(count);
    for (i, fd) in (LISTEN_FDS_START..).take(count).enumerate() {
        let name = names.get(i).copied().unwrap_or_default().to_string();
        fds.push((take_fd(fd)?, name));
    }
    let ready = match ready {
        Some(fd) => match fd.parse::<RawFd>() {
            Ok(fd) if fd >= LISTEN_FDS_START => Some(take_fd(fd)?),
            _ => {
                return Err(io::Error::other(format!(
                    "{READY_FD_VAR}={fd} is not an fd"
                )));
            }
        },
        None => None,
    };
    Ok(Passed { fds, ready })
}

/// Takes ownership of an inherited fd, after checking it is open, and makes it close-on-exec.
fn take_fd(fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: fcntl with F_GETFD takes no pointers; on a closed fd it fails with EBADF.
    let flags = check(unsafe { libc::fcntl(fd, libc::F_GETFD) })
        .map_err(|e| io::Error::new(e.kind(), format!("passed fd {fd}: {e}")))?;
    // SAFETY: as above, F_SETFD takes an int.
    check(unsafe { libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC) })?;
    // SAFETY: the fd is open (checked above) and was passed to this process for it to own:
    // nothing else in this process knows its number.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Starts `program` with `args` (the first one is its name) and this environment, passing
/// `fds` by the protocol above as 3, 4, ..., and the write end of `ready` as the fd named by
/// `READY_FD_VAR`. Returns the child's pid; it runs on whether or not it starts well.
pub fn spawn_with_fds(
    program: &Path,
    args: &[OsString],
    fds: &[RawFd],
    ready: &OwnedFd,
) -> io::Result<libc::pid_t> {
    if fds.len() > MAX_LISTEN_FDS {
        return Err(io::Error::other("too many fds to pass"));
    }
    let cstring = |bytes: Vec<u8>| CString::new(bytes).map_err(io::Error::other);
    let program = cstring(program.as_os_str().to_owned().into_vec())?;
    let args = args
        .iter()
        .map(|arg| cstring(arg.clone().into_vec()))
        .collect::<io::Result<Vec<_>>>()?;
    let ready_target = LISTEN_FDS_START + fds.len() as RawFd;
    let mut env = env::vars_os()
        .filter(|(name, _)| !VARS.iter().any(|var| name == var))
        .map(|(name, value)| {
            let mut entry = name.into_vec();
            entry.push(b'=');
            entry.extend(value.into_vec());
            cstring(entry)
        })
        .collect::<io::Result<Vec<_>>>()?;
    env.push(cstring(format!("LISTEN_FDS={}", fds.len()).into_bytes())?);
    env.push(cstring(
        format!("{READY_FD_VAR}={ready_target}").into_bytes(),
    )?);
    // The child writes its pid, and the terminating NUL, after the `=`.
    let mut pid_entry = b"LISTEN_PID=".to_vec();
    let digits_at = pid_entry.len();
    pid_entry.resize(digits_at + PID_DIGITS + 1, 0);
    let pid_text = pid_entry.as_mut_ptr();
    let argv = pointers(args.iter().map(|a| a.as_ptr()));
    let mut envp = pointers(env.iter().map(|e| e.as_ptr()));
    envp.insert(0, pid_text.cast_const().cast());
    let sources: Vec<RawFd> = fds.iter().copied().chain([ready.as_raw_fd()]).collect();

    // SAFETY: fork takes no arguments. The child runs only `exec_child`, which calls only
    // async-signal-safe functions on memory allocated before the fork.
    let pid = check(unsafe { libc::fork() })?;
    if pid == 0 {
        // SAFETY: in the child; `pid_entry` has room for the digits after `digits_at`, and
        // the pointers in `argv` and `envp` point into `program`, `args`, `env` and
        // `pid_entry`, which the child's copy of this frame keeps alive until execve.
        unsafe { exec_child(&program, &argv, &envp, pid_text.add(digits_at), &sources) }
    }
    Ok(pid)
}

/// Enough for any pid (at most 2^22 on Linux, and an i32 in any case).
const PID_DIGITS: usize = 10;

fn pointers(items: impl Iterator<Item = *const libc::c_char>) -> Vec<*const libc::c_char> {
    items.chain([std::ptr::null()]).collect()
}

/// The child's side of `spawn_with_fds`: write its pid, move the fds into place, exec.
///
/// # Safety
/// Only in the child of a fork, with `digits` pointing at `PID_DIGITS + 1` writable bytes
/// inside one of `envp`'s strings, and `argv` and `envp` null-terminated arrays of pointers
/// to live NUL-terminated strings. Never returns.
unsafe fn exec_child(
    program: &CString,
    argv: &[*const libc::c_char],
    envp: &[*const libc::c_char],
    digits: *mut u8,
    sources: &[RawFd],
) -> ! {
    // SAFETY: getpid cannot fail. Writing at most PID_DIGITS + 1 bytes stays inside the
    // buffer the caller reserved.
    unsafe {
        let mut pid = libc::getpid().unsigned_abs();
        let mut text = [0u8; PID_DIGITS];
        let mut len = 0;
        loop {
            text[PID_DIGITS - 1 - len] = b'0' + (pid % 10) as u8;
            len += 1;
            pid /= 10;
            if pid == 0 || len == PID_DIGITS {
                break;
            }
        }
        std::ptr::copy_nonoverlapping(text.as_ptr().add(PID_DIGITS - len), digits, len);
        *digits.add(len) = 0;
    }
    // First above every target, close-on-exec, so that moving one into place cannot
    // overwrite another still to be moved; dup2 then gives each target without the flag.
    let above = LISTEN_FDS_START + sources.len() as RawFd;
    let mut moved = [-1; MAX_LISTEN_FDS + 1];
    for (slot, &fd) in moved.iter_mut().zip(sources) {
        // SAFETY: fcntl and dup2 take no pointers and are async-signal-safe.
        *slot = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, above) };
        if *slot < 0 {
            // SAFETY: _exit is async-signal-safe and does not run the parent's atexit work.
            unsafe { libc::_exit(127) };
        }
    }
    for (target, &fd) in (LISTEN_FDS_START..).zip(&moved[..sources.len()]) {
        // SAFETY: as above.
        if unsafe { libc::dup2(fd, target) } < 0 {
            // SAFETY: as above.
            unsafe { libc::_exit(127) };
        }
    }
    // SAFETY: an all-clear signal mask (the server blocks its signals to read them from a
    // signalfd; the new program sets up its own); then execve on the caller's arrays.
    unsafe {
        let mut empty = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
        libc::sigemptyset(empty.as_mut_ptr());
        libc::sigprocmask(libc::SIG_SETMASK, empty.as_ptr(), std::ptr::null_mut());
        libc::execve(program.as_ptr(), argv.as_ptr(), envp.as_ptr());
        libc::_exit(127)
    }
}

/// A pipe for a started process to say it is serving: the read end non-blocking (it is read
/// on the loop), both ends close-on-exec (`spawn_with_fds` moves the write end into place).
pub fn ready_pipe() -> io::Result<(std::fs::File, OwnedFd)> {
    let mut fds = [-1; 2];
    // SAFETY: `fds` has room for the two fds pipe2 writes.
    check(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) })?;
    // SAFETY: pipe2 returned two new fds that nothing else owns.
    let (reader, writer) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    Ok((reader.into(), writer))
}

/// Waits up to `timeout` for `fd` to be readable (or at its end); `false` if it is not.
pub fn wait_readable(fd: BorrowedFd<'_>, timeout: Duration) -> io::Result<bool> {
    let mut poll = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let millis = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
    // SAFETY: one valid pollfd, which outlives the call.
    let ready = check(unsafe { libc::poll(&mut poll, 1, millis) })?;
    Ok(ready > 0)
}
