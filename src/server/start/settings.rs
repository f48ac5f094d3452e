//! Everything a server needs to start, as the top builds it from the command line (and the
//! configuration file).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::runtime::error_log::Level;
use crate::server::access_log::LogFormat;
use crate::server::extra_fields::ExtraFields;
use crate::server::proxies::ProxyOptions;
use crate::server::shared::Timeouts;
use crate::server::tls::TlsSettings;
use crate::site::auth::AuthOptions;
use crate::site::compress::Level as CompressLevel;
use crate::site::options::SiteOptions;

/// Everything a server needs to start, built by the top from the command line.
#[derive(Clone, Debug)]
pub struct Settings {
    pub addr: SocketAddr,
    pub root: PathBuf,
    pub site: SiteOptions,
    /// `--header` (with `--cache-control`) and `--cors`, checked.
    pub extra_fields: ExtraFields,
    /// `--access-log`: a path, or `-` for standard output.
    pub access_log: Option<String>,
    /// `--error-log`; `None` is standard error.
    pub error_log: Option<PathBuf>,
    pub log_level: Level,
    pub timeouts: Timeouts,
    pub max_body_bytes: u64,
    pub max_connections: usize,
    /// How long in-flight responses get after SIGINT or SIGTERM.
    pub drain_timeout: Duration,
    /// Worker processes; 1 is a single server without a supervisor.
    pub workers: usize,
    /// `--threads`: the worker pool's threads, in each worker process.
    pub threads: usize,
    /// `--compress-level`, or `None` with `--no-compress`.
    pub compress: Option<CompressLevel>,
    /// `--compress-cache-bytes`.
    pub compress_cache_bytes: usize,
    /// `--auth-file` and its companions; `None` without authentication.
    pub auth: Option<AuthOptions>,
    /// `--proxy-protocol`, `--trusted-proxy`, `--real-ip-header`, `--proxy-timeout`.
    pub proxy: ProxyOptions,
    /// `--health-path`.
    pub health_path: Option<String>,
    /// `--shutdown-delay`: serving on with the health check failing, before the drain.
    pub shutdown_delay: Duration,
    /// `--metrics`.
    pub metrics: Option<SocketAddr>,
    /// `--log-format`.
    pub log_format: LogFormat,
    /// `--tls-cert`/`--tls-key` and the rest of HTTPS; `None` serves plain HTTP.
    pub tls: Option<TlsSettings>,
    /// `--redirect-http PORT`: a plain listener that redirects every request to HTTPS.
    pub redirect_http: Option<u16>,
}
