//! Wiring: the kinds of task this server runs, and start-up from a `Config` to a turning loop.

pub mod access_log;
pub mod conn;
pub mod handler;
pub mod idle;
pub mod listener;
pub mod render;
pub mod shared;
pub mod signals;
pub mod simulate;
pub mod supervisor;

use std::fmt;
use std::io::{self, PipeWriter, Write};
use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, Instant};

use socket2::Socket;

use crate::config::Config;
use crate::http::mime::ContentType;
use crate::runtime::error_log::{self, Event};
use crate::runtime::event_loop::{Context, EventLoop, Exit, Step, Task, Wake};
use crate::runtime::transport::TcpConnection;
use crate::server::access_log::AccessLog;
use crate::server::conn::Connection;
use crate::server::listener::{Listener, Sharing};
use crate::server::shared::Shared;
use crate::server::signals::{SignalWatcher, connections};
use crate::site::files::{Site, SiteOptions};
use crate::sys::epoll::Interest;
use crate::sys::process::{ServerSignals, raise_fd_limit};

/// Every kind of task the loop runs. A new kind of work (a signal reader, a worker pool's
/// completion queue, an upstream connection) is a new variant here, not a new loop.
pub enum ServerTask {
    Listener(Listener),
    /// Boxed: a connection is far larger than the other tasks, and the task table holds many.
    Connection(Box<Connection<TcpConnection>>),
    /// Boxed, as a connection is: every slot of the task table is as large as the largest kind.
    Signals(Box<SignalWatcher>),
    LogFlush(LogFlusher),
    CacheSweep(CacheSweeper),
}

/// Hands the access log's buffered lines to its writer thread whenever a connection notifies
/// it (see `access_log`). It has no fd: only notifications and the shutdown wake it.
pub struct LogFlusher {
    shared: Rc<Shared>,
}

impl LogFlusher {
    fn resume(&mut self, wake: Wake) -> Step {
        if let Some(log) = self.shared.access_log() {
            log.flush();
        }
        // Lines written during the drain are handed over when the loop has ended.
        if wake.shutdown {
            Step::Done
        } else {
            Step::Blocked
        }
    }
}

/// Closes the file cache's unused entries (see `file_cache`). A task with no fd: only its
/// deadline wakes it, set while the cache holds entries, or a connection's notification when
/// an empty cache gets one.
pub struct CacheSweeper {
    shared: Rc<Shared>,
}

impl CacheSweeper {
    fn resume(&mut self, wake: Wake, cx: &mut Context<'_, ServerTask>) -> Step {
        if wake.shutdown {
            return Step::Done;
        }
        let next = self.shared.files.borrow_mut().sweep(cx.now(), cx.id());
        cx.set_deadline(next);
        Step::Blocked
    }
}

impl Task for ServerTask {
    fn source(&self) -> Option<(RawFd, Interest)> {
        match self {
            ServerTask::Listener(listener) => Some((listener.fd(), Interest::READABLE)),
            ServerTask::Connection(connection) => {
                Some((connection.stream().raw_fd(), Interest::BOTH))
            }
            ServerTask::Signals(signals) => Some((signals.fd(), Interest::READABLE)),
            ServerTask::LogFlush(_) | ServerTask::CacheSweep(_) => None,
        }
    }

    fn resume(&mut self, wake: Wake, cx: &mut Context<'_, Self>) -> Step {
        match self {
            ServerTask::Listener(listener) => listener.resume(wake, cx),
            ServerTask::Connection(connection) => connection.resume(wake, cx),
            ServerTask::Signals(signals) => signals.resume(wake, cx),
            ServerTask::LogFlush(flusher) => flusher.resume(wake),
            ServerTask::CacheSweep(sweeper) => sweeper.resume(wake, cx),
        }
    }
}

/// Why the server could not start (or, for `EventLoop`, keep running).
#[derive(Debug)]
pub enum StartError {
    Root { path: PathBuf, source: io::Error },
    Listen { addr: SocketAddr, source: io::Error },
    Signals(io::Error),
    Workers(io::Error),
    AccessLog { path: String, source: io::Error },
    ErrorLog { path: PathBuf, source: io::Error },
    EventLoop(io::Error),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Root { path, source } => {
                write!(
                    f,
                    "cannot serve root directory {}: {source}",
                    path.display()
                )
            }
            StartError::Listen { addr, source } => write!(f, "cannot listen on {addr}: {source}"),
            StartError::Signals(source) => write!(f, "cannot set up signal handling: {source}"),
            StartError::Workers(source) => write!(f, "cannot start worker processes: {source}"),
            StartError::AccessLog { path, source } => {
                write!(f, "cannot open access log {path}: {source}")
            }
            StartError::ErrorLog { path, source } => {
                write!(f, "cannot open error log {}: {source}", path.display())
            }
            StartError::EventLoop(source) => write!(f, "event loop failed: {source}"),
        }
    }
}

impl std::error::Error for StartError {}

/// Opens the logs and the root, binds, prepares the loop, then prints `listening on
/// http://ADDR:PORT` (so a script waiting for that line knows the server is really up, and
/// any configuration error comes before it), and runs until the loop has no task left: after
/// SIGINT or SIGTERM, once in-flight responses are done. With `--workers N` above 1, this
/// process supervises N worker processes instead (`supervisor`); each of them returns here
/// through `serve`.
pub fn run(config: &Config) -> Result<Exit, StartError> {
    // Without a higher limit, fds run out long before --max-conns; if raising fails, the
    // accept path still copes with EMFILE.
    let _ = raise_fd_limit();
    error_log::open(config.error_log.as_deref(), config.log_level)
        .map_err(error_log_error(config))?;
    let site = open_site(config)?;
    let addr = SocketAddr::new(config.bind, config.port);
    if config.workers() > 1 {
        // Each worker opens the access log itself; a path it cannot open must fail here,
        // before the supervisor says it is listening.
        if let Some(path) = &config.access_log {
            access_log::check(path).map_err(access_log_error(path))?;
        }
        drop(site);
        return supervisor::run(config, addr);
    }
    let listen_error = |source| StartError::Listen { addr, source };
    let socket = listener::bind(addr, Sharing::Exclusive).map_err(listen_error)?;
    let bound = listener::local_addr(&socket).map_err(listen_error)?;
    let server = Prepared::new(config, site, socket)?;
    announce(bound);
    error_log::info(
        Event::Lifecycle,
        format_args!("serving {} on http://{bound}", config.root.display()),
    );
    server.run()
}

/// Prints the line tests and scripts wait for; if stdout is gone, serving still makes sense.
pub fn announce(bound: SocketAddr) {
    let mut stdout = io::stdout().lock();
    let _ = writeln!(stdout, "listening on http://{bound}");
    let _ = stdout.flush();
}

pub fn open_site(config: &Config) -> Result<Site, StartError> {
    let options = SiteOptions {
        index_name: config.index.clone(),
        serve_hidden: config.serve_hidden,
        autoindex: config.autoindex,
        // Lives as long as the process: the type is referenced by every cached file.
        default_type: ContentType::new(Box::leak(config.default_type.clone().into_boxed_str())),
        error_pages: config
            .error_page
            .iter()
            .map(|page| (page.code, page.path.as_bytes().to_vec()))
            .collect(),
    };
    Site::open(&config.root, options).map_err(|source| StartError::Root {
        path: config.root.clone(),
        source,
    })
}

/// Runs one event loop serving `site` on the listening `socket`; once it is ready to turn,
/// writes one byte to `ready` (a worker's report to its supervisor) and closes it.
pub fn serve(
    config: &Config,
    site: Site,
    socket: Socket,
    ready: Option<PipeWriter>,
) -> Result<Exit, StartError> {
    let server = Prepared::new(config, site, socket)?;
    if let Some(mut ready) = ready {
        // A supervisor that is gone has nobody to tell; the worker serves all the same.
        let _ = ready.write_all(b"+");
    }
    server.run()
}

fn access_log_error(path: &str) -> impl FnOnce(io::Error) -> StartError + '_ {
    move |source| StartError::AccessLog {
        path: path.to_string(),
        source,
    }
}

fn error_log_error(config: &Config) -> impl FnOnce(io::Error) -> StartError + '_ {
    move |source| StartError::ErrorLog {
        path: config
            .error_log
            .clone()
            .unwrap_or_else(|| PathBuf::from("(standard error)")),
        source,
    }
}

/// A server with its logs open and its tasks registered, not yet turning.
struct Prepared {
    event_loop: EventLoop<ServerTask>,
    shared: Rc<Shared>,
    drain: Duration,
}

impl Prepared {
    fn new(config: &Config, site: Site, socket: Socket) -> Result<Prepared, StartError> {
        // Before any thread starts: threads inherit the blocked signal mask, and a thread that
        // did not block SIGTERM would take it with the default action, killing the process.
        let signals = ServerSignals::new().map_err(StartError::Signals)?;
        error_log::start_writer().map_err(error_log_error(config))?;
        let log = match &config.access_log {
            Some(path) => Some(AccessLog::open(path).map_err(access_log_error(path))?),
            None => None,
        };
        let mut event_loop = EventLoop::new().map_err(StartError::EventLoop)?;
        let shared = Rc::new(Shared::new(
            site,
            config.cache_control.as_deref(),
            log,
            config.timeouts(),
            config.max_body_bytes,
            usize::try_from(config.max_conns).unwrap_or(usize::MAX),
            event_loop.notifier(),
        ));
        event_loop
            .spawn(ServerTask::Signals(Box::new(SignalWatcher::new(
                signals,
                config.drain_timeout(),
                Rc::clone(&shared),
            ))))
            .map_err(StartError::EventLoop)?;
        if let Some(log) = shared.access_log() {
            let flusher = event_loop
                .spawn(ServerTask::LogFlush(LogFlusher {
                    shared: Rc::clone(&shared),
                }))
                .map_err(StartError::EventLoop)?;
            log.set_flusher(flusher);
        }
        let sweeper = event_loop
            .spawn(ServerTask::CacheSweep(CacheSweeper {
                shared: Rc::clone(&shared),
            }))
            .map_err(StartError::EventLoop)?;
        shared.files.borrow_mut().set_sweeper(sweeper);
        event_loop
            .spawn(ServerTask::Listener(Listener::new(
                socket,
                Rc::clone(&shared),
            )))
            .map_err(StartError::EventLoop)?;
        Ok(Prepared {
            event_loop,
            shared,
            drain: config.drain_timeout(),
        })
    }

    /// Turns the loop until it ends, says how it ended, and writes out the logs.
    fn run(mut self) -> Result<Exit, StartError> {
        let exit = self.event_loop.run().map_err(StartError::EventLoop)?;
        // Counted before the loop (and the connections it still holds) is dropped.
        match (exit, self.shared.open_connections()) {
            (Exit::Finished, _) => {
                error_log::info(Event::Lifecycle, format_args!("stopped"));
            }
            (Exit::DrainExpired { .. }, 0) => {
                error_log::warn(Event::Lifecycle, format_args!("drain timeout"));
            }
            (Exit::DrainExpired { .. }, 1) => error_log::warn(
                Event::Lifecycle,
                format_args!("drain timeout: closed 1 connection with a response in progress"),
            ),
            (Exit::DrainExpired { .. }, open) => error_log::warn(
                Event::Lifecycle,
                format_args!(
                    "drain timeout: closed {} with responses in progress",
                    connections(open)
                ),
            ),
        }
        drop(self.event_loop);
        let deadline = Instant::now() + self.drain;
        if let Some(log) = self.shared.access_log() {
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
