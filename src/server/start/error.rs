//! Why a server could not start, in messages that name the cause (and, for a refused
//! privileged port, the way out).

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::server::start::settings::Settings;
use crate::server::tls::LoadError;
use crate::site::auth::AuthError;

/// Why the server could not start (or, for `EventLoop`, keep running).
#[derive(Debug)]
pub enum StartError {
    Root {
        path: PathBuf,
        source: io::Error,
    },
    Listen {
        addr: SocketAddr,
        source: io::Error,
    },
    Signals(io::Error),
    Workers(io::Error),
    AccessLog {
        path: String,
        source: io::Error,
    },
    ErrorLog {
        path: PathBuf,
        source: io::Error,
    },
    EventLoop(io::Error),
    Pool(io::Error),
    Auth(AuthError),
    Tls(LoadError),
    /// The sockets passed by the service manager (or the server we upgrade) cannot be used.
    Passed(io::Error),
}

/// Linux's default `net.ipv4.ip_unprivileged_port_start`: binding a lower port needs root or
/// CAP_NET_BIND_SERVICE, else bind(2) fails with EACCES.
const FIRST_UNPRIVILEGED_PORT: u16 = 1024;

/// Appended to a refused bind of a port below `FIRST_UNPRIVILEGED_PORT`.
const PRIVILEGED_PORT_HINT: &str = "; ports below 1024 need root or the CAP_NET_BIND_SERVICE \
     capability (e.g. setcap cap_net_bind_service=+ep $(which tinyhttpd)), or use a port above \
     1023";

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Root { path, source } => {
                write!(
                    f,
                    "cannot serve root directory {}: {source}",
                    path.display()
                )?;
                if source.kind() == io::ErrorKind::NotFound {
                    // Often the default root, `static`, not there: say how to name another.
                    f.write_str("; name the folder to serve: tinyhttpd DIR, or --root DIR")?;
                }
                Ok(())
            }
            StartError::Listen { addr, source } => {
                write!(f, "cannot listen on {addr}: {source}")?;
                // "Permission denied" alone does not say what to change.
                if source.kind() == io::ErrorKind::PermissionDenied
                    && addr.port() < FIRST_UNPRIVILEGED_PORT
                {
                    f.write_str(PRIVILEGED_PORT_HINT)?;
                }
                Ok(())
            }
            StartError::Signals(source) => write!(f, "cannot set up signal handling: {source}"),
            StartError::Workers(source) => write!(f, "cannot start worker processes: {source}"),
            StartError::AccessLog { path, source } => {
                write!(f, "cannot open access log {path}: {source}")
            }
            StartError::ErrorLog { path, source } => {
                write!(f, "cannot open error log {}: {source}", path.display())
            }
            StartError::EventLoop(source) => write!(f, "event loop failed: {source}"),
            StartError::Pool(source) => write!(f, "cannot start the worker pool: {source}"),
            StartError::Auth(error) => write!(f, "{error}"),
            StartError::Tls(source) => write!(f, "cannot load TLS certificate or key {source}"),
            StartError::Passed(source) => write!(
                f,
                "cannot serve on the sockets passed in LISTEN_FDS (socket activation): {source}"
            ),
        }
    }
}

impl std::error::Error for StartError {}

pub(super) fn access_log_error(path: &str) -> impl FnOnce(io::Error) -> StartError + '_ {
    move |source| StartError::AccessLog {
        path: path.to_string(),
        source,
    }
}

pub(super) fn error_log_error(settings: &Settings) -> impl FnOnce(io::Error) -> StartError + '_ {
    move |source| StartError::ErrorLog {
        path: settings
            .error_log
            .clone()
            .unwrap_or_else(|| PathBuf::from("(standard error)")),
        source,
    }
}
