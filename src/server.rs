//! Wiring: the kinds of task this server runs, and start-up from a `Config` to a turning loop.

use std::cell::RefCell;
use std::fmt;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::path::PathBuf;
use std::rc::Rc;

use crate::config::Config;
use crate::conn::{Connection, Shared};
use crate::event_loop::{Context, EventLoop, Step, Task, Wake};
use crate::files::Site;
use crate::http::date::DateCache;
use crate::listener::{self, Listener};
use crate::sys::epoll::Interest;

/// Every kind of task the loop runs. A new kind of work (a signal reader, a worker pool's
/// completion queue, an upstream connection) is a new variant here, not a new loop.
pub enum ServerTask {
    Listener(Listener),
    Connection(Connection),
}

impl Task for ServerTask {
    fn source(&self) -> Option<(RawFd, Interest)> {
        match self {
            ServerTask::Listener(listener) => Some((listener.fd(), Interest::READABLE)),
            ServerTask::Connection(connection) => {
                Some((connection.socket().as_raw_fd(), Interest::BOTH))
            }
        }
    }

    fn resume(&mut self, wake: Wake, cx: &mut Context<'_, Self>) -> Step {
        match self {
            ServerTask::Listener(listener) => listener.resume(wake, cx),
            ServerTask::Connection(connection) => connection.resume(wake, cx),
        }
    }
}

/// Why the server could not start (or, for `EventLoop`, keep running).
#[derive(Debug)]
pub enum StartError {
    Root { path: PathBuf, source: io::Error },
    Listen { addr: SocketAddr, source: io::Error },
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
            StartError::EventLoop(source) => write!(f, "event loop failed: {source}"),
        }
    }
}

impl std::error::Error for StartError {}

/// Opens the root, binds, prints `listening on http://ADDR:PORT`, and runs until the loop
/// has no task left.
pub fn run(config: &Config) -> Result<(), StartError> {
    let site = Site::open(&config.root, &config.index, config.serve_hidden).map_err(|source| {
        StartError::Root {
            path: config.root.clone(),
            source,
        }
    })?;
    let addr = SocketAddr::new(config.bind, config.port);
    let listen_error = |source| StartError::Listen { addr, source };
    let socket = listener::bind(addr).map_err(listen_error)?;
    let bound = socket
        .local_addr()
        .ok()
        .and_then(|a| a.as_socket())
        .ok_or_else(|| listen_error(io::Error::other("no local address")))?;

    let shared = Rc::new(Shared {
        site,
        timeouts: config.timeouts(),
        max_body_bytes: config.max_body_bytes,
        date: RefCell::new(DateCache::default()),
    });
    let mut event_loop = EventLoop::new().map_err(StartError::EventLoop)?;
    event_loop
        .spawn(ServerTask::Listener(Listener::new(socket, shared)))
        .map_err(StartError::EventLoop)?;

    let mut stdout = io::stdout().lock();
    // Tests and scripts wait for this line; if stdout is gone, serving still makes sense.
    let _ = writeln!(stdout, "listening on http://{bound}");
    let _ = stdout.flush();
    drop(stdout);

    event_loop.run().map_err(StartError::EventLoop)
}
