//! `--workers N`: N processes, each a complete single-threaded server with its own event loop
//! and its own listening socket on the same port (SO_REUSEPORT, so the kernel spreads
//! connections over them), under this small supervisor.
//!
//! The supervisor binds the port first without listening, to report a clear error before any
//! worker starts and to learn the real port for `--port 0`; it holds that reservation while
//! it runs. The reservation does not use SO_REUSEPORT, so a port another server listens on
//! is refused here, exactly as a single server's bind refuses it. It then forks the workers and waits for signals: a worker that dies is started
//! again; SIGINT or SIGTERM is passed on to every worker, each drains as a single server
//! would, and the supervisor exits once all are gone (0 if all exited cleanly). A second
//! signal is passed on too, which ends the workers at once. SIGHUP reopens the supervisor's
//! error log and is passed on, so every worker reopens its logs (logrotate); nothing stops.
//! A worker whose supervisor dies (even by SIGKILL) gets SIGTERM from the kernel.
//!
//! It says `listening` only once every first worker is serving: each writes a byte to a pipe
//! when its loop is ready and closes its end, so the supervisor reads until the pipe's end of
//! file, and fewer bytes than workers means one of them could not start.
//!
//! Under socket activation (see `sys::activation`) nothing is bound: the supervisor hands the
//! passed listening sockets to every worker, which all accept from the same sockets (one
//! backlog, no SO_REUSEPORT). Only then can SIGUSR2 upgrade: the supervisor starts its
//! executable again on those sockets (`upgrade`), waits until the new one serves, and then
//! stops its workers as after SIGTERM. Without passed sockets each worker's backlog belongs
//! to its own socket, and closing it would reset the connections waiting there, so SIGUSR2 is
//! refused with a message.
//!
//! `fork` returns twice: in a worker, `run` returns that worker's own result, so it leaves
//! through `main` like a single server would.

use std::io::{self, PipeReader, PipeWriter, Read, Write};
use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};

use crate::runtime::error_log::{self, Event};
use crate::runtime::event_loop::Exit;
use std::os::fd::AsRawFd;

use socket2::Socket;

use crate::server::listener::{self, Sharing};
use crate::server::metrics::endpoint::{Endpoint, WorkerMetrics};
use crate::server::start::{self, Passed, Settings, StartError};
use crate::server::upgrade::Upgrade;
use crate::sys::process::{self, Forked};

/// A worker that dies sooner than this after starting is restarted only after this delay,
/// so a worker that cannot run does not make the supervisor spin.
pub const WORKER_RESTART_BACKOFF: Duration = Duration::from_secs(1);

struct Worker {
    pid: libc::pid_t,
    started: Instant,
    /// Its block of the metrics counters; a restarted worker takes over the block.
    index: usize,
}

pub fn run(settings: &Settings, passed: Passed) -> Result<Exit, StartError> {
    let sockets = if passed.sockets.is_empty() {
        let addr = settings.addr;
        let listen_error = |source| StartError::Listen { addr, source };
        let reservation = listener::reserve(addr).map_err(listen_error)?;
        let bound = listener::local_addr(&reservation).map_err(listen_error)?;
        Sockets::Reserved {
            _reservation: reservation,
            bound,
        }
    } else {
        Sockets::Passed(passed.sockets)
    };
    let addresses = sockets.addresses().map_err(StartError::Passed)?;
    let upgrade = sockets.upgrade(settings).map_err(StartError::Passed)?;
    // Before the fork: every worker inherits the socket and the counters' mapping.
    let metrics = start::bind_metrics(settings)?;
    process::block_supervisor_signals().map_err(StartError::Signals)?;

    let (reader, writer) = io::pipe().map_err(StartError::Workers)?;
    let mut readiness = Readiness {
        reader: Some(reader),
        writer: Some(writer),
    };
    let mut workers = Vec::with_capacity(settings.workers);
    for index in 0..settings.workers {
        match start_worker(settings, &sockets, &mut readiness, index, metrics.as_ref())? {
            Started::Parent(worker) => workers.push(worker),
            Started::Worker(result) => return result,
        }
    }
    if let Err(e) = readiness.wait(workers.len()) {
        for worker in &workers {
            let _ = process::send_signal(worker.pid, libc::SIGTERM);
        }
        return Err(StartError::Workers(e));
    }
    drop(readiness);
    for &bound in &addresses {
        start::announce(bound, settings);
    }
    if let Some(endpoint) = &metrics {
        endpoint.announce();
    }
    if let Some(mut ready) = passed.ready {
        // The server that started us stops once it reads this; if it is gone, no matter.
        let _ = ready.write_all(b"+");
    }

    let mut stopping = false;
    let mut all_clean = true;
    while !workers.is_empty() {
        match process::wait_for_signal().map_err(StartError::Workers)? {
            libc::SIGCHLD => {
                while let Some((pid, clean)) = process::reap_child() {
                    let Some(index) = workers.iter().position(|w| w.pid == pid) else {
                        continue;
                    };
                    let worker = workers.swap_remove(index);
                    all_clean &= clean;
                    if stopping {
                        continue;
                    }
                    error_log::warn(
                        Event::Worker,
                        format_args!("worker {pid} exited; starting another"),
                    );
                    if worker.started.elapsed() < WORKER_RESTART_BACKOFF {
                        thread::sleep(WORKER_RESTART_BACKOFF);
                    }
                    let mut readiness = Readiness::default();
                    let metrics = metrics.as_ref();
                    match start_worker(settings, &sockets, &mut readiness, worker.index, metrics)? {
                        Started::Parent(worker) => workers.push(worker),
                        Started::Worker(result) => return result,
                    }
                }
            }
            libc::SIGHUP => {
                // A reload, not a stop: each worker reopens its own logs.
                error_log::reopen();
                error_log::info(
                    Event::Lifecycle,
                    format_args!("SIGHUP: passed on to {} workers", workers.len()),
                );
                for worker in &workers {
                    let _ = process::send_signal(worker.pid, libc::SIGHUP);
                }
            }
            libc::SIGUSR2 if stopping => {}
            libc::SIGUSR2 => match &upgrade {
                Some(upgrade) => {
                    if upgrade.start().is_some_and(|upgrading| upgrading.wait()) {
                        stopping = true;
                        for worker in &workers {
                            let _ = process::send_signal(worker.pid, libc::SIGTERM);
                        }
                    }
                }
                None => error_log::warn(
                    Event::Lifecycle,
                    format_args!(
                        "SIGUSR2: ignored; with --workers an upgrade needs socket activation \
                         (the workers' own sockets would reset the connections waiting there)"
                    ),
                ),
            },
            signal => {
                if !stopping {
                    error_log::info(
                        Event::Lifecycle,
                        format_args!(
                            "shutting down ({}): passed on to {} workers; signal again to stop now",
                            process::signal_name(signal),
                            workers.len()
                        ),
                    );
                }
                stopping = true;
                for worker in &workers {
                    // A worker that has just exited is reaped at the next SIGCHLD.
                    let _ = process::send_signal(worker.pid, signal);
                }
            }
        }
    }
    drop(sockets);
    if all_clean || stopping {
        Ok(Exit::Finished)
    } else {
        Err(StartError::Workers(std::io::Error::other("workers failed")))
    }
}

/// Where the workers' listening sockets come from.
enum Sockets {
    /// Each worker binds its own beside the reservation (held, never read: it keeps the
    /// port), with SO_REUSEPORT.
    Reserved {
        _reservation: Socket,
        bound: SocketAddr,
    },
    /// Passed to the supervisor: every worker accepts from these same sockets.
    Passed(Vec<Socket>),
}

impl Sockets {
    /// The addresses to announce.
    fn addresses(&self) -> io::Result<Vec<SocketAddr>> {
        match self {
            Sockets::Reserved { bound, .. } => Ok(vec![*bound]),
            Sockets::Passed(sockets) => sockets.iter().map(listener::local_addr).collect(),
        }
    }

    /// What SIGUSR2 starts: only on passed sockets (see the module's documentation).
    fn upgrade(&self, settings: &Settings) -> io::Result<Option<Upgrade>> {
        let Sockets::Passed(sockets) = self else {
            return Ok(None);
        };
        // The supervisor holds `sockets` until it exits.
        let fds = sockets.iter().map(AsRawFd::as_raw_fd).collect();
        Upgrade::new(fds, settings.drain_timeout).map(Some)
    }

    /// A worker's listening sockets.
    fn for_worker(&self) -> io::Result<Vec<Socket>> {
        match self {
            Sockets::Reserved { bound, .. } => {
                Ok(vec![listener::bind(*bound, Sharing::ReusePort)?])
            }
            Sockets::Passed(sockets) => sockets.iter().map(Socket::try_clone).collect(),
        }
    }
}

enum Started {
    Parent(Worker),
    /// This process is the new worker, and this is how its server ended.
    Worker(Result<Exit, StartError>),
}

/// The pipe the first workers report on; a restarted worker is given neither end.
#[derive(Default)]
struct Readiness {
    reader: Option<PipeReader>,
    writer: Option<PipeWriter>,
}

impl Readiness {
    /// Closes the supervisor's write end and reads until every worker has closed its own:
    /// one byte per worker that is serving.
    fn wait(&mut self, workers: usize) -> io::Result<()> {
        self.writer = None;
        let mut ready = Vec::with_capacity(workers);
        if let Some(reader) = &mut self.reader {
            reader.read_to_end(&mut ready)?;
        }
        if ready.len() < workers {
            return Err(io::Error::other(format!(
                "{} of {workers} workers could not start",
                workers - ready.len()
            )));
        }
        Ok(())
    }
}

fn start_worker(
    settings: &Settings,
    sockets: &Sockets,
    readiness: &mut Readiness,
    index: usize,
    metrics: Option<&Endpoint>,
) -> Result<Started, StartError> {
    let supervisor = libc::pid_t::try_from(std::process::id()).unwrap_or(0);
    // The supervisor never starts a thread, so the fork's precondition holds.
    match process::fork_single_threaded().map_err(StartError::Workers)? {
        Forked::Parent { child } => Ok(Started::Parent(Worker {
            pid: child,
            started: Instant::now(),
            index,
        })),
        Forked::Child => {
            // The worker reports on its copy of the write end; the read end is not its own.
            readiness.reader = None;
            let ready = readiness.writer.take();
            let metrics = match metrics.map(|endpoint| endpoint.for_worker(index)) {
                Some(Ok(metrics)) => Some(metrics),
                Some(Err(e)) => return Ok(Started::Worker(Err(StartError::Workers(e)))),
                None => None,
            };
            Ok(Started::Worker(worker(
                settings, sockets, supervisor, ready, metrics,
            )))
        }
    }
}

/// The body of a worker process: a single server on its own SO_REUSEPORT socket, or on the
/// sockets passed to the supervisor.
fn worker(
    settings: &Settings,
    sockets: &Sockets,
    supervisor: libc::pid_t,
    ready: Option<PipeWriter>,
    metrics: Option<WorkerMetrics>,
) -> Result<Exit, StartError> {
    process::leave_process_group().map_err(StartError::Workers)?;
    process::terminate_with_parent(supervisor).map_err(StartError::Workers)?;
    let sockets = sockets.for_worker().map_err(|source| match sockets {
        Sockets::Reserved { bound, .. } => StartError::Listen {
            addr: *bound,
            source,
        },
        Sockets::Passed(_) => StartError::Passed(source),
    })?;
    let site = start::open_site(settings)?;
    start::serve(settings, site, sockets, ready, metrics)
}
