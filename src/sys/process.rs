//! Process-wide settings and processes: the open-file limit, the server's signals (SIGINT,
//! SIGTERM, SIGHUP, SIGUSR2) read through a signalfd so that they arrive as events on the loop instead
//! of interrupting it,
//! and the fork/wait/kill/sigwait calls the worker supervisor is made of.

use std::io;
use std::mem::{MaybeUninit, size_of};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use super::{check, retry_eintr};

/// Raises the soft RLIMIT_NOFILE to the hard limit; returns the new soft limit.
/// Each connection costs an fd (two while it sends a file), so the default 1024 is far too low.
pub fn raise_fd_limit() -> io::Result<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid rlimit for the kernel to fill.
    check(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) })?;
    if limit.rlim_cur < limit.rlim_max {
        limit.rlim_cur = limit.rlim_max;
        // SAFETY: `limit` is a valid rlimit read above.
        check(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) })?;
    }
    Ok(limit.rlim_cur)
}

/// SIGINT, SIGTERM and SIGHUP as a non-blocking fd. The signals are blocked for the calling
/// thread and every thread started after it, so they are only ever read, never delivered:
/// create it before starting any thread.
pub struct ServerSignals {
    fd: OwnedFd,
}

impl ServerSignals {
    pub fn new() -> io::Result<ServerSignals> {
        let mut set = termination_set();
        // SAFETY: `set` was initialised by sigemptyset in termination_set.
        unsafe {
            libc::sigaddset(&mut set, libc::SIGHUP);
            libc::sigaddset(&mut set, libc::SIGUSR2);
        }
        // SAFETY: `set` is an initialised sigset; the old mask is not wanted (null).
        let ret = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
        if ret != 0 {
            return Err(io::Error::from_raw_os_error(ret));
        }
        // SAFETY: `set` is an initialised sigset; -1 asks for a new signalfd.
        let fd =
            check(unsafe { libc::signalfd(-1, &set, libc::SFD_NONBLOCK | libc::SFD_CLOEXEC) })?;
        // SAFETY: signalfd returned a new fd that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(ServerSignals { fd })
    }

    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// The next pending signal number; `WouldBlock` when none is pending.
    pub fn read(&self) -> io::Result<i32> {
        let mut info = MaybeUninit::<libc::signalfd_siginfo>::uninit();
        let len = size_of::<libc::signalfd_siginfo>();
        // SAFETY: the buffer is exactly one signalfd_siginfo, which is what the kernel writes.
        let n = retry_eintr(|| unsafe {
            libc::read(self.fd.as_raw_fd(), info.as_mut_ptr().cast(), len)
        })?;
        if n as usize != len {
            return Err(io::Error::from(io::ErrorKind::UnexpectedEof));
        }
        // SAFETY: the kernel filled the whole struct (checked above).
        let info = unsafe { info.assume_init() };
        Ok(info.ssi_signo as i32)
    }

    /// Unblocks SIGINT and SIGTERM again, so the next one takes its default action: the
    /// process ends at once. This is how a second Ctrl-C cuts a graceful shutdown short.
    /// SIGHUP and SIGUSR2 stay blocked: unread from here on, and never fatal.
    pub fn restore_default(&self) -> io::Result<()> {
        let set = termination_set();
        // SAFETY: `set` is an initialised sigset; the old mask is not wanted (null).
        let ret = unsafe { libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut()) };
        if ret != 0 {
            return Err(io::Error::from_raw_os_error(ret));
        }
        Ok(())
    }
}

fn termination_set() -> libc::sigset_t {
    let mut set = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigemptyset initialises the set it is given; sigaddset then only sets bits in
    // it, and both cannot fail for a valid pointer and these signal numbers.
    unsafe {
        libc::sigemptyset(set.as_mut_ptr());
        libc::sigaddset(set.as_mut_ptr(), libc::SIGINT);
        libc::sigaddset(set.as_mut_ptr(), libc::SIGTERM);
        set.assume_init()
    }
}

/// What `fork` returned in this process.
pub enum Forked {
    Parent { child: libc::pid_t },
    Child,
}

/// Forks the process, which must have a single thread.
///
/// The child gets only the calling thread: a lock another thread held (the allocator's,
/// stdout's) would stay locked in it for ever. So this counts the threads first
/// (`/proc/self/status`) and refuses, with an error, to fork a process that has more than
/// one. The count cannot go stale before the fork: only the calling thread could start
/// another, and it is in here.
pub fn fork_single_threaded() -> io::Result<Forked> {
    let threads = thread_count()?;
    if threads != 1 {
        return Err(io::Error::other(format!(
            "cannot fork a process with {threads} threads"
        )));
    }
    // SAFETY: fork takes no arguments, and the process has one thread (checked above), so
    // the child inherits no lock that a thread it lacks was holding.
    let pid = check(unsafe { libc::fork() })?;
    Ok(if pid == 0 {
        Forked::Child
    } else {
        Forked::Parent { child: pid }
    })
}

/// The number of threads of this process, from the `Threads:` line of `/proc/self/status`.
fn thread_count() -> io::Result<usize> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("Threads:"))
        .and_then(|count| count.trim().parse().ok())
        .ok_or_else(|| io::Error::other("/proc/self/status has no thread count"))
}

/// Blocks SIGINT, SIGTERM, SIGHUP, SIGUSR2 and SIGCHLD, so `wait_for_signal` can take them one at a
/// time.
pub fn block_supervisor_signals() -> io::Result<()> {
    let set = supervisor_set();
    // SAFETY: `set` is an initialised sigset; the old mask is not wanted (null).
    let ret = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    if ret == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(ret))
    }
}

/// Waits for SIGINT, SIGTERM, SIGHUP, SIGUSR2 or SIGCHLD (blocked beforehand) and returns its number.
pub fn wait_for_signal() -> io::Result<i32> {
    let set = supervisor_set();
    let mut signal = 0;
    loop {
        // SAFETY: `set` is an initialised sigset and `signal` a live c_int for the result.
        match unsafe { libc::sigwait(&set, &mut signal) } {
            0 => return Ok(signal),
            libc::EINTR => continue,
            err => return Err(io::Error::from_raw_os_error(err)),
        }
    }
}

/// Reaps one exited child without waiting: its pid and whether it exited with status 0.
pub fn reap_child() -> Option<(libc::pid_t, bool)> {
    let mut status = 0;
    // SAFETY: `status` is a live c_int for the kernel to fill.
    let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
    (pid > 0).then(|| {
        (
            pid,
            libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        )
    })
}

/// Waits for child `pid` to exit (reaping it) and says whether it exited with status 0.
pub fn wait_child(pid: libc::pid_t) -> io::Result<bool> {
    let mut status = 0;
    // SAFETY: `status` is a live c_int for the kernel to fill.
    retry_eintr(|| unsafe { libc::waitpid(pid, &mut status, 0) })?;
    Ok(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0)
}

/// Sends `signal` to process `pid`.
pub fn send_signal(pid: libc::pid_t, signal: i32) -> io::Result<()> {
    // SAFETY: kill takes no pointers.
    check(unsafe { libc::kill(pid, signal) })?;
    Ok(())
}

/// The name of a signal this server handles, for messages.
pub fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        libc::SIGHUP => "SIGHUP",
        libc::SIGCHLD => "SIGCHLD",
        libc::SIGUSR2 => "SIGUSR2",
        _ => "a signal",
    }
}

fn supervisor_set() -> libc::sigset_t {
    let mut set = termination_set();
    // SAFETY: `set` was initialised by sigemptyset in termination_set.
    unsafe {
        libc::sigaddset(&mut set, libc::SIGCHLD);
        libc::sigaddset(&mut set, libc::SIGHUP);
        libc::sigaddset(&mut set, libc::SIGUSR2);
    }
    set
}

/// Asks the kernel to send this process SIGTERM when its parent dies, so a worker never
/// outlives its supervisor (killed with SIGKILL, say). Fails if the parent is already gone:
/// `parent` is the pid it had before the fork.
pub fn terminate_with_parent(parent: libc::pid_t) -> io::Result<()> {
    // SAFETY: PR_SET_PDEATHSIG takes a signal number; the other arguments are unused.
    check(unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM, 0, 0, 0) })?;
    // SAFETY: getppid takes no arguments and cannot fail.
    if unsafe { libc::getppid() } != parent {
        return Err(io::Error::other(
            "the supervisor exited before the worker started",
        ));
    }
    Ok(())
}

/// Moves this process into a process group of its own, so a Ctrl-C at the terminal reaches
/// only the supervisor, which passes it on exactly once.
pub fn leave_process_group() -> io::Result<()> {
    // SAFETY: setpgid takes no pointers; (0, 0) means this process, as its own group leader.
    check(unsafe { libc::setpgid(0, 0) })?;
    Ok(())
}

/// Lowers the calling thread's scheduling priority to `nice`, leaving the process's other
/// threads as they are (on Linux `setpriority` with `PRIO_PROCESS` and a thread id names that
/// one thread). A worker thread calls it so that, on a shared core, the event loop's thread
/// gets the CPU first and CPU-heavy jobs fill the gaps.
pub fn lower_thread_priority(nice: i32) -> io::Result<()> {
    // SAFETY: gettid takes no arguments and cannot fail.
    let tid = unsafe { libc::gettid() };
    let who = libc::id_t::try_from(tid).map_err(|_| io::Error::other("negative thread id"))?;
    // SAFETY: setpriority takes only integers.
    check(unsafe { libc::setpriority(libc::PRIO_PROCESS, who, nice) })?;
    Ok(())
}
