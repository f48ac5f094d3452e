//! Start-up: from `Settings` to a turning loop, or to a worker's loop under the supervisor.
//!
//! Only the top calls in here (`crate::run` decides between one server and workers), and the
//! supervisor calls `serve` in each worker; nothing here knows of the supervisor.

use std::io::{self, PipeWriter, Write};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::time::{Duration, Instant};

use socket2::Socket;

use crate::runtime::error_log::{self, Event};
use crate::runtime::event_loop::{EventLoop, Exit};
use crate::runtime::pool::Pool;
use crate::server::ServerTask;
use crate::server::access_log::{self, AccessLog};
use crate::server::cache_sweeper::CacheSweeper;
use crate::server::extra_fields::ExtraFields;
use crate::server::health::Health;
use crate::server::jobs::{Compression, POOL_QUEUE_JOBS};
use crate::server::listener::{self, Listener, Sharing};
use crate::server::log_flusher::LogFlusher;
use crate::server::metrics::endpoint::{Endpoint, WorkerMetrics};
use crate::server::pool_task::PoolTask;
use crate::server::shared::Shared;
use crate::server::signals::{SignalWatcher, connections};
use crate::server::tls::Tls;
use crate::server::upgrade::Upgrade;
use crate::site::auth::Auth;
use crate::site::files::Site;
use crate::sys::activation;
use crate::sys::process::{ServerSignals, raise_fd_limit};

mod error;
mod settings;

pub use error::StartError;
use error::{access_log_error, error_log_error};
pub use settings::Settings;

/// What every process serving `settings` does first: raises the fd limit, opens the error
/// log, and opens the root, so that a missing root fails before anything listens.
pub fn open(settings: &Settings) -> Result<Site, StartError> {
    // Without a higher limit, fds run out long before --max-conns; if raising fails, the
    // accept path still copes with EMFILE.
    let _ = raise_fd_limit();
    error_log::open(settings.error_log.as_deref(), settings.log_level)
        .map_err(error_log_error(settings))?;
    // Read here to refuse a bad file before anything listens; each server reads its own.
    load_auth(settings)?;
    open_site(settings)
}

/// Reads the htpasswd file, if authentication is on.
fn load_auth(settings: &Settings) -> Result<Option<Auth>, StartError> {
    settings
        .auth
        .clone()
        .map(Auth::load)
        .transpose()
        .map_err(StartError::Auth)
}

/// Checks that the certificates and keys load, in a process that will not serve them itself
/// (the supervisor: each worker loads its own), so that a bad file fails before `listening`.
pub fn check_tls(settings: &Settings) -> Result<(), StartError> {
    match &settings.tls {
        Some(tls) => Tls::load(tls).map(drop).map_err(StartError::Tls),
        None => Ok(()),
    }
}

/// Checks that the access log can be opened, in a process that will not open it itself (the
/// supervisor: each worker opens its own), so that a bad path fails before `listening`.
pub fn check_access_log(settings: &Settings) -> Result<(), StartError> {
    match &settings.access_log {
        Some(path) => access_log::check(path).map_err(access_log_error(path)),
        None => Ok(()),
    }
}

/// One server in this process: binds (or takes the `passed` sockets), prepares the loop, then
/// prints `listening on http://ADDR:PORT` for each socket (so a script waiting for that line
/// knows the server is really up, and any configuration error comes before it), and runs
/// until the loop has no task left: after SIGINT or SIGTERM (or a SIGUSR2 upgrade), once
/// in-flight responses are done.
pub fn single(settings: &Settings, site: Site, passed: Passed) -> Result<Exit, StartError> {
    let sockets = match passed.sockets {
        sockets if sockets.is_empty() => {
            let addr = settings.addr;
            vec![
                listener::bind(addr, Sharing::Exclusive)
                    .map_err(|source| StartError::Listen { addr, source })?,
            ]
        }
        sockets => sockets,
    };
    let bound = sockets
        .iter()
        .map(listener::local_addr)
        .collect::<io::Result<Vec<_>>>()
        .map_err(StartError::Passed)?;
    let endpoint = bind_metrics(settings)?;
    let metrics = match &endpoint {
        Some(endpoint) => Some(endpoint.for_worker(0).map_err(StartError::EventLoop)?),
        None => None,
    };
    let fds = sockets.iter().map(AsRawFd::as_raw_fd).collect();
    let upgrade = Upgrade::new(fds, settings.drain_timeout).map_err(StartError::Signals)?;
    let server = Prepared::new(settings, site, sockets, metrics, Some(upgrade))?;
    for &bound in &bound {
        announce(bound, settings);
    }
    if let Some(redirect) = server.redirect_addr {
        announce_redirect(redirect);
    }
    if let Some(endpoint) = endpoint {
        endpoint.announce();
    }
    if let Some(mut ready) = passed.ready {
        // The server that started us drains once it reads this; if it is gone, no matter.
        let _ = ready.write_all(b"+");
    }
    let scheme = scheme(settings);
    for bound in bound {
        error_log::info(
            Event::Lifecycle,
            format_args!("serving {} on {scheme}://{bound}", settings.root.display()),
        );
    }
    server.run()
}

/// The listening sockets this process was given (systemd's socket activation, or the server
/// it upgrades: see `sys::activation`), and where to say it serves.
#[derive(Default)]
pub struct Passed {
    /// Empty when none were passed: the server binds its own.
    pub sockets: Vec<Socket>,
    pub ready: Option<PipeWriter>,
}

/// Takes the sockets passed to this process, refusing any that is not a listening TCP
/// socket. Call it first, before any thread starts.
pub fn take_passed() -> Result<Passed, StartError> {
    let passed = activation::take_passed().map_err(StartError::Passed)?;
    let sockets = passed
        .fds
        .into_iter()
        .map(|(fd, _name)| listener::inherit(fd))
        .collect::<io::Result<Vec<_>>>()
        .map_err(StartError::Passed)?;
    Ok(Passed {
        sockets,
        ready: passed.ready.map(PipeWriter::from),
    })
}

/// With `--metrics`, binds its socket and maps counters for every worker.
pub fn bind_metrics(settings: &Settings) -> Result<Option<Endpoint>, StartError> {
    let Some(addr) = settings.metrics else {
        return Ok(None);
    };
    let listen_error = |source| StartError::Listen { addr, source };
    let socket = listener::bind(addr, Sharing::Exclusive).map_err(listen_error)?;
    let bound = listener::local_addr(&socket).map_err(listen_error)?;
    Endpoint::new(socket, bound, settings.workers)
        .map(Some)
        .map_err(listen_error)
}

/// Prints the line tests and scripts wait for; if stdout is gone, serving still makes sense.
pub fn announce(bound: SocketAddr, settings: &Settings) {
    let mut stdout = io::stdout().lock();
    let _ = writeln!(stdout, "listening on {}://{bound}", scheme(settings));
    let _ = stdout.flush();
}

/// With `--redirect-http`, the line after the listening line.
fn announce_redirect(bound: SocketAddr) {
    let mut stdout = io::stdout().lock();
    let _ = writeln!(stdout, "redirecting http://{bound} to https");
    let _ = stdout.flush();
}

fn scheme(settings: &Settings) -> &'static str {
    if settings.tls.is_some() {
        "https"
    } else {
        "http"
    }
}

/// Opens the root directory to serve.
pub fn open_site(settings: &Settings) -> Result<Site, StartError> {
    Site::open(&settings.root, settings.site.clone()).map_err(|source| StartError::Root {
        path: settings.root.clone(),
        source,
    })
}

/// Runs one event loop serving `site` on the listening `sockets`; once it is ready to turn,
/// writes one byte to `ready` (a worker's report to its supervisor) and closes it.
pub fn serve(
    settings: &Settings,
    site: Site,
    sockets: Vec<Socket>,
    ready: Option<PipeWriter>,
    metrics: Option<WorkerMetrics>,
) -> Result<Exit, StartError> {
    let server = Prepared::new(settings, site, sockets, metrics, None)?;
    if let Some(mut ready) = ready {
        // A supervisor that is gone has nobody to tell; the worker serves all the same.
        let _ = ready.write_all(b"+");
    }
    server.run()
}

/// A server with its logs open and its tasks registered, not yet turning.
struct Prepared {
    event_loop: EventLoop<ServerTask>,
    shared: Rc<Shared>,
    drain: Duration,
    /// Where the `--redirect-http` listener listens.
    redirect_addr: Option<SocketAddr>,
}

impl Prepared {
    fn new(
        settings: &Settings,
        site: Site,
        sockets: Vec<Socket>,
        metrics: Option<WorkerMetrics>,
        upgrade: Option<Upgrade>,
    ) -> Result<Prepared, StartError> {
        // Before any thread starts: threads inherit the blocked signal mask, and a thread that
        // did not block SIGTERM would take it with the default action, killing the process.
        let signals = ServerSignals::new().map_err(StartError::Signals)?;
        error_log::start_writer().map_err(error_log_error(settings))?;
        let log = match &settings.access_log {
            Some(path) => Some(
                AccessLog::open(path)
                    .map_err(access_log_error(path))?
                    .with_format(settings.log_format),
            ),
            None => None,
        };
        let mut event_loop = EventLoop::new().map_err(StartError::EventLoop)?;
        // After `ServerSignals`: the pool's threads inherit the blocked signal mask.
        let pool = Pool::new(settings.threads, POOL_QUEUE_JOBS).map_err(StartError::Pool)?;
        let compression = settings
            .compress
            .map(|level| Compression::new(level, settings.compress_cache_bytes));
        let (metrics, metrics_listener) = metrics.unzip();
        let mut shared = Shared::new(
            site,
            settings.extra_fields.clone(),
            log,
            settings.timeouts,
            settings.max_body_bytes,
            settings.max_connections,
            event_loop.notifier(),
        )
        .with_jobs(pool, compression)
        .with_auth(load_auth(settings)?)
        .with_proxy(settings.proxy.clone())
        .with_health(settings.health_path.as_deref().map(Health::new))
        .with_metrics(metrics);
        if let Some(tls) = &settings.tls {
            shared = shared.with_tls(Tls::load(tls).map_err(StartError::Tls)?);
        }
        let shared = Rc::new(shared);
        let redirect_addr = match settings.redirect_http {
            Some(port) => {
                let https = sockets.first().ok_or_else(|| {
                    StartError::Passed(io::Error::other("no listening socket to redirect to"))
                })?;
                Some(spawn_redirect(settings, port, https, &mut event_loop)?)
            }
            None => None,
        };
        let mut watcher = SignalWatcher::new(signals, settings.drain_timeout, Rc::clone(&shared))
            .with_delay(settings.shutdown_delay);
        if let Some(upgrade) = upgrade {
            watcher = watcher.with_upgrade(upgrade);
        }
        event_loop
            .spawn(ServerTask::Signals(Box::new(watcher)))
            .map_err(StartError::EventLoop)?;
        if let Some(listener) = metrics_listener {
            event_loop
                .spawn(ServerTask::Metrics(listener))
                .map_err(StartError::EventLoop)?;
            let observed = Rc::clone(&shared);
            event_loop.on_turn(Box::new(move |busy| {
                if let Some(metrics) = observed.metrics() {
                    metrics.turn(busy);
                    metrics.publish(&observed.metrics_snapshot());
                }
            }));
        }
        if let Some(log) = shared.access_log() {
            let flusher = event_loop
                .spawn(ServerTask::LogFlush(LogFlusher::new(Rc::clone(&shared))))
                .map_err(StartError::EventLoop)?;
            log.set_flusher(flusher);
        }
        let sweeper = event_loop
            .spawn(ServerTask::CacheSweep(CacheSweeper::new(Rc::clone(
                &shared,
            ))))
            .map_err(StartError::EventLoop)?;
        shared.set_idle_sweeper(sweeper);
        event_loop
            .spawn(ServerTask::Pool(PoolTask::new(Rc::clone(&shared))))
            .map_err(StartError::EventLoop)?;
        for socket in sockets {
            event_loop
                .spawn(ServerTask::Listener(Listener::new(
                    socket,
                    Rc::clone(&shared),
                )))
                .map_err(StartError::EventLoop)?;
        }
        Ok(Prepared {
            event_loop,
            shared,
            drain: settings.drain_timeout,
            redirect_addr,
        })
    }

    /// Turns the loop until it ends, says how it ended, and writes out the logs.
    fn run(mut self) -> Result<Exit, StartError> {
        let exit = self.event_loop.run().map_err(StartError::EventLoop)?;
        // Counted before the loop (and the connections it still holds) is dropped.
        match (exit, self.shared.slots().open()) {
            (Exit::Finished, _) => {
                error_log::info(Event::Lifecycle, format_args!("stopped"));
            }
            (Exit::DrainExpired { .. }, 0) => {
                error_log::warn(Event::Lifecycle, format_args!("drain timeout"));
            }
            (Exit::DrainExpired { .. }, 1) => error_log::warn(
                Event::Lifecycle,
                format_args!("drain timeout: closed 1 connection that was still busy"),
            ),
            (Exit::DrainExpired { .. }, open) => error_log::warn(
                Event::Lifecycle,
                format_args!(
                    "drain timeout: closed {} that were still busy",
                    connections(open)
                ),
            ),
        }
        drop(self.event_loop);
        let deadline = Instant::now() + self.drain;
        // The loop and its tasks are gone: this is the last reference, and the pool's running
        // jobs get what is left of the drain time.
        let log = self.shared.access_log().cloned();
        let pool = Rc::try_unwrap(self.shared).ok().and_then(Shared::into_pool);
        if pool.is_some_and(|pool| !pool.join(deadline)) {
            error_log::warn(
                Event::Lifecycle,
                format_args!("drain timeout: worker pool jobs still running were abandoned"),
            );
        }
        if let Some(log) = log {
            if !log.finish(deadline) {
                error_log::warn(
                    Event::AccessLog,
                    format_args!("access log: the last lines could not be written in time"),
                );
            }
            if log.dropped_lines() > 0 {
                error_log::warn(
                    Event::AccessLog,
                    format_args!(
                        "access log: {} lines dropped in all while the destination was too slow",
                        log.dropped_lines()
                    ),
                );
            }
        }
        error_log::finish(deadline);
        Ok(exit)
    }
}

/// Binds `--redirect-http PORT` and spawns its listener, whose connections answer every
/// request with a redirect to the HTTPS listener `https` (see `tls::redirect`). It has its own
/// `Shared`: its own slots and buffers, and no files to serve.
fn spawn_redirect(
    settings: &Settings,
    port: u16,
    https: &Socket,
    event_loop: &mut EventLoop<ServerTask>,
) -> Result<SocketAddr, StartError> {
    let addr = SocketAddr::new(settings.addr.ip(), port);
    let listen_error = |source| StartError::Listen { addr, source };
    // Every worker listens on it too, as on the HTTPS port.
    let sharing = if settings.workers > 1 {
        Sharing::ReusePort
    } else {
        Sharing::Exclusive
    };
    let socket = listener::bind(addr, sharing).map_err(listen_error)?;
    let bound = listener::local_addr(&socket).map_err(listen_error)?;
    let https_port = listener::local_addr(https).map_err(listen_error)?.port();
    let shared = Shared::new(
        open_site(settings)?,
        ExtraFields::default(),
        None,
        settings.timeouts,
        settings.max_body_bytes,
        settings.max_connections,
        event_loop.notifier(),
    )
    .with_redirect(https_port);
    event_loop
        .spawn(ServerTask::Listener(Listener::new(socket, Rc::new(shared))))
        .map_err(StartError::EventLoop)?;
    Ok(bound)
}
