//! The server: the kinds of task it runs, and how they are started and wired together.
//!
//! It owns the task kinds (`listener`, `conn` for a connection, `signals`, `log_flusher`,
//! `cache_sweeper`, `pool_task` for the worker pool's `jobs`, `metrics`, `upgrade` after
//! SIGUSR2) and the `ServerTask` enum the loop runs them as; what they share (`shared`,
//! `slots`, `idle`); the trusted proxies and the client they name (`proxies`); the health
//! check (`health`); HTTPS (`tls`); the request → reply decision (`handler`) and the reply →
//! bytes renderer (`render`), with the fields the operator adds (`extra_fields`); the access
//! log (`access_log`); start-up (`start`) and the worker supervisor (`supervisor`); and `simulate`, a connection driven over memory. It may use
//! `runtime`, `site`, `http` and `sys`. Only the top (`lib.rs`) calls `start` and
//! `supervisor`; the other files here do not use this one, so the enum can name them all.

pub mod access_log;
pub mod cache_sweeper;
pub mod conn;
pub mod extra_fields;
pub mod handler;
pub mod health;
pub mod idle;
pub mod jobs;
pub mod listener;
pub mod log_flusher;
pub mod metrics;
pub mod pool_task;
pub mod proxies;
pub mod render;
pub mod shared;
pub mod signals;
pub mod simulate;
pub mod slots;
pub mod start;
pub mod supervisor;
pub mod tls;
pub mod upgrade;

use std::os::fd::RawFd;

use crate::runtime::task::{Context, Step, Task, Wake};
use crate::runtime::tls::TlsConnection;
use crate::runtime::transport::TcpConnection;
use crate::server::cache_sweeper::CacheSweeper;
use crate::server::conn::Connection;
use crate::server::listener::Listener;
use crate::server::log_flusher::LogFlusher;
use crate::server::metrics::endpoint::{MetricsListener, Scrape};
use crate::server::pool_task::PoolTask;
use crate::server::signals::SignalWatcher;
use crate::server::upgrade::Upgrading;
use crate::sys::epoll::Interest;

/// Every kind of task the loop runs. A new kind of work (a signal reader, a worker pool's
/// completion queue, an upstream connection) is a new variant here, not a new loop.
pub enum ServerTask {
    Listener(Listener),
    /// Boxed: a connection is far larger than the other tasks, and the task table holds many.
    Connection(Box<Connection<TcpConnection>>),
    /// A connection on the HTTPS listener: the same task over a TLS transport.
    TlsConnection(Box<Connection<TlsConnection>>),
    /// Boxed, as a connection is: every slot of the task table is as large as the largest kind.
    Signals(Box<SignalWatcher>),
    LogFlush(LogFlusher),
    CacheSweep(CacheSweeper),
    /// Collects the worker pool's finished jobs and wakes the tasks that wait for them.
    Pool(PoolTask),
    /// `--metrics`: accepts scrapes, and answers one.
    Metrics(MetricsListener),
    Scrape(Box<Scrape>),
    /// After SIGUSR2: waits for the new server to be ready, then starts the drain.
    Upgrading(Upgrading),
}

impl From<Upgrading> for ServerTask {
    fn from(upgrading: Upgrading) -> ServerTask {
        ServerTask::Upgrading(upgrading)
    }
}

impl From<Scrape> for ServerTask {
    fn from(scrape: Scrape) -> ServerTask {
        ServerTask::Scrape(Box::new(scrape))
    }
}

/// How the listener hands over a connection it accepted, without naming this enum.
impl From<Connection<TcpConnection>> for ServerTask {
    fn from(connection: Connection<TcpConnection>) -> ServerTask {
        ServerTask::Connection(Box::new(connection))
    }
}

impl From<Connection<TlsConnection>> for ServerTask {
    fn from(connection: Connection<TlsConnection>) -> ServerTask {
        ServerTask::TlsConnection(Box::new(connection))
    }
}

impl Task for ServerTask {
    fn source(&self) -> Option<(RawFd, Interest)> {
        match self {
            ServerTask::Listener(listener) => Some((listener.fd(), Interest::READABLE)),
            ServerTask::Connection(connection) => {
                Some((connection.stream().raw_fd(), Interest::BOTH))
            }
            ServerTask::TlsConnection(connection) => {
                Some((connection.stream().raw_fd(), Interest::BOTH))
            }
            ServerTask::Signals(signals) => Some((signals.fd(), Interest::READABLE)),
            ServerTask::Pool(pool) => pool.fd().map(|fd| (fd, Interest::READABLE)),
            ServerTask::LogFlush(_) | ServerTask::CacheSweep(_) => None,
            ServerTask::Metrics(metrics) => Some((metrics.fd(), Interest::READABLE)),
            ServerTask::Scrape(scrape) => Some((scrape.fd(), Interest::BOTH)),
            ServerTask::Upgrading(upgrading) => Some((upgrading.fd(), Interest::READABLE)),
        }
    }

    fn resume(&mut self, wake: Wake, cx: &mut Context<'_, Self>) -> Step {
        match self {
            ServerTask::Listener(listener) => listener.resume(wake, cx),
            ServerTask::Connection(connection) => connection.resume(wake, cx),
            ServerTask::TlsConnection(connection) => connection.resume(wake, cx),
            ServerTask::Signals(signals) => signals.resume(wake, cx),
            ServerTask::LogFlush(flusher) => flusher.resume(wake),
            ServerTask::CacheSweep(sweeper) => sweeper.resume(wake, cx),
            ServerTask::Pool(pool) => pool.resume(wake, cx),
            ServerTask::Metrics(metrics) => metrics.resume(wake, cx),
            ServerTask::Scrape(scrape) => scrape.resume(wake, cx),
            ServerTask::Upgrading(upgrading) => upgrading.resume(wake, cx),
        }
    }
}
