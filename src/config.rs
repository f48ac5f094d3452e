//! The command line: every flag and its checks (`values`), turned into the server's
//! `Settings`; `file` reads the same flags from `--config`. Fixed limits live as named
//! constants beside the code they bound.

pub mod file;
mod values;

pub use values::ErrorPage;
use values::{
    parse_auth_path, parse_error_page, parse_header_name, parse_header_value, parse_health_path,
    parse_index_name, parse_media_type, parse_realm,
};

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser};

use crate::http::cidr::Cidr;
use crate::http::cors::{self, Cors};
use crate::http::header_rules::{HeaderRule, HeaderRules};
use crate::http::mime::ContentType;
use crate::runtime::error_log::Level;
use crate::server::access_log::LogFormat;
use crate::server::extra_fields::ExtraFields;
use crate::server::proxies::{PROXY_HEADER_TIMEOUT_DEFAULT_SECS, ProxyOptions};
use crate::server::shared::Timeouts;
use crate::server::start::Settings;
use crate::server::tls::{KeyPair, TlsSettings};
use crate::site::auth::{AuthOptions, DEFAULT_REALM};
use crate::site::compress::{COMPRESS_CACHE_DEFAULT_BYTES, Level as CompressLevel};
use crate::site::etag::EtagMode;
use crate::site::options::SiteOptions;
use crate::site::routes::{self, Extension, Fallback, Redirect, Routes};

/// The longest timeout a flag may set (a year): far beyond any use, and far from the point
/// where adding it to the clock would overflow.
const MAX_TIMEOUT_SECS: u64 = 365 * 24 * 3600;

#[derive(Parser, Debug, Clone)]
#[command(
    name = "tinyhttpd",
    version,
    about = "A single-threaded HTTP/1.1 static file server on a hand-written epoll loop"
)]
pub struct Config {
    /// Read flags from a TOML file whose keys are the flags' long names (see
    /// deploy/tinyhttpd.example.toml); a flag given on the command line replaces the file's
    /// value.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// TCP port to listen on (0 picks a free one); below 1024 needs root or
    /// CAP_NET_BIND_SERVICE.
    #[arg(short, long, default_value_t = 8080)]
    pub port: u16,

    /// Address to bind: IPv4 or IPv6 literal (0.0.0.0, ::, ::1, ...).
    #[arg(short, long, default_value = "0.0.0.0")]
    pub bind: IpAddr,

    /// Directory to serve; the same as giving DIR.
    #[arg(short, long, value_name = "DIR", default_value = "static")]
    pub root: PathBuf,

    /// File served for a directory request ending in `/`.
    #[arg(long, default_value = "index.html", value_name = "NAME", value_parser = parse_index_name)]
    pub index: String,

    /// Serve files and directories whose names start with a dot.
    #[arg(long)]
    pub serve_hidden: bool,

    /// List the contents of directories that have no index file (otherwise 403).
    #[arg(long)]
    pub autoindex: bool,

    /// Content-Type for files whose extension is unknown.
    #[arg(long, value_name = "TYPE", default_value = "application/octet-stream", value_parser = parse_media_type)]
    pub default_type: String,

    /// Serve PATH (under the root) as the body of error responses with status CODE, e.g.
    /// --error-page 404=/404.html; may be repeated.
    #[arg(long, value_name = "CODE=PATH", value_parser = parse_error_page)]
    pub error_page: Vec<ErrorPage>,

    /// Write an access log (Combined Log Format plus the request time) to PATH, or to
    /// standard output with `-`. Off by default.
    #[arg(long, value_name = "PATH")]
    pub access_log: Option<String>,

    /// Write the error log (failures, dropped log lines, start, stop, reloads) to PATH
    /// instead of standard error.
    #[arg(long, value_name = "PATH")]
    pub error_log: Option<PathBuf>,

    /// Least severe error-log lines written: error, warn or info.
    #[arg(long, value_enum, default_value = "info", value_name = "LEVEL")]
    pub log_level: Level,

    /// Cache-Control value added to successful file responses (e.g. "public, max-age=3600").
    #[arg(long, value_name = "VALUE", value_parser = parse_header_value)]
    pub cache_control: Option<String>,

    /// Largest request body read (and discarded) to keep a connection open; larger gets 413.
    #[arg(long, default_value_t = 1024 * 1024, value_name = "BYTES")]
    pub max_body_bytes: u64,

    /// Seconds to receive a whole request head, from its first byte (a new connection's first
    /// request: from the accept); 408 after.
    #[arg(long, default_value_t = 10, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=MAX_TIMEOUT_SECS))]
    pub head_timeout: u64,

    /// Seconds to receive a whole request body, from the end of its head; 408 after.
    #[arg(long, default_value_t = 10, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=MAX_TIMEOUT_SECS))]
    pub body_timeout: u64,

    /// Seconds an idle keep-alive connection is kept open between requests.
    #[arg(long, default_value_t = 60, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=MAX_TIMEOUT_SECS))]
    pub keepalive_timeout: u64,

    /// Seconds a client may go without accepting any of a response before it is dropped.
    #[arg(long, default_value_t = 30, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=MAX_TIMEOUT_SECS))]
    pub send_timeout: u64,

    /// Most connections open at once; further clients wait in the listen backlog.
    #[arg(long, default_value_t = 100_000, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_conns: u64,

    /// Worker processes, each with its own event loop and listening socket (SO_REUSEPORT),
    /// under a supervisor that restarts any that die; `auto` is one per CPU.
    #[arg(long, default_value = "1", value_name = "N|auto", value_parser = parse_workers)]
    pub workers: Workers,

    /// Seconds in-flight responses get to finish after SIGINT/SIGTERM before the server exits.
    #[arg(long, default_value_t = 10, value_name = "SECS", value_parser = clap::value_parser!(u64).range(0..=MAX_TIMEOUT_SECS))]
    pub drain_timeout: u64,

    /// Directory to serve, e.g. `tinyhttpd public/`: the same as --root (not both); `static`
    /// if neither is given.
    #[arg(value_name = "DIR", conflicts_with = "root")]
    pub dir: Option<PathBuf>,

    /// Threads of the worker pool, which runs what would block the event loop: compressing
    /// files (`--compress-level`) and reading them. 4 keeps a 2-core machine's loop busy
    /// while jobs run and bounds the memory jobs hold; each --workers process has its own.
    #[arg(long, default_value_t = 4, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=MAX_THREADS))]
    pub threads: u64,

    /// Send files as they are: no compression on the fly (precompressed siblings, file.br,
    /// file.zst, file.gz, are still served).
    #[arg(long)]
    pub no_compress: bool,

    /// How hard to compress on the fly, 1 (fastest) to 9 (smallest); each level maps to a
    /// gzip level, a Brotli quality and a zstd level of similar cost.
    #[arg(long, default_value_t = 6, value_name = "1-9", value_parser = clap::value_parser!(u8).range(1..=9))]
    pub compress_level: u8,

    /// Bytes of compressed variants kept in memory, least recently used dropped first.
    #[arg(long, default_value_t = COMPRESS_CACHE_DEFAULT_BYTES, value_name = "BYTES")]
    pub compress_cache_bytes: usize,

    /// Add a header field to successful file responses (200, 206, 304): 'Name: value' to
    /// all, 'GLOB Name: value' to the URL paths GLOB matches ('*.css', '/assets/**'); may be
    /// repeated.
    #[arg(long = "header", value_name = "[GLOB ]NAME: VALUE", value_parser = HeaderRule::parse)]
    pub headers: Vec<HeaderRule>,

    /// Let pages from ORIGIN (scheme://host[:port]) read responses: Access-Control-Allow-Origin
    /// and preflights; without ORIGIN, or with `*`, any origin; may be repeated for a list.
    #[arg(long, value_name = "ORIGIN", num_args = 0..=1, default_missing_value = "*", value_parser = cors::parse_origin)]
    pub cors: Vec<String>,

    /// Answer a GET or HEAD of a missing path with this file and 200 (e.g. /index.html for a
    /// single-page app), when it is a navigation: its last segment has no extension, or
    /// Accept names text/html. A missing /app.js stays 404.
    #[arg(long, value_name = "PATH", value_parser = routes::parse_fallback)]
    pub fallback: Option<Fallback>,

    /// When a path names nothing, try it with .EXT added (html: /about serves /about.html);
    /// may be repeated, tried in order, before --fallback.
    #[arg(long, value_name = "EXT", value_parser = routes::parse_extension)]
    pub try_ext: Vec<Extension>,

    /// Redirect the path FROM (ending in *: every path starting so, the rest appended) to TO,
    /// a path or an http(s):// URL, with CODE 301 (default), 302, 307 or 308; may be repeated.
    #[arg(long, value_name = "FROM=TO[=CODE]", value_parser = routes::parse_redirect)]
    pub redirect: Vec<Redirect>,

    /// Require HTTP Basic authentication with the users of FILE, an htpasswd file of bcrypt
    /// hashes (htpasswd -B); re-read on SIGHUP. Protects the whole site, or the --auth-path
    /// prefixes.
    #[arg(long, value_name = "FILE")]
    pub auth_file: Option<PathBuf>,

    /// Protect only this URL path and what lies beneath it (`/private`: `/private/x`, not
    /// `/privateer`); may be repeated.
    #[arg(long, value_name = "PREFIX", requires = "auth_file", value_parser = parse_auth_path)]
    pub auth_path: Vec<Vec<u8>>,

    /// The realm named in the authentication challenge.
    #[arg(long, value_name = "NAME", default_value = DEFAULT_REALM, value_parser = parse_realm)]
    pub auth_realm: String,

    /// Expect a PROXY protocol header (v1 or v2) at the start of every connection, and log
    /// the client it names; connections from outside --trusted-proxy are closed at once.
    #[arg(long, requires = "trusted_proxy")]
    pub proxy_protocol: bool,

    /// A load balancer (CIDR range or address, IPv4 or IPv6) trusted to name the client,
    /// through --proxy-protocol or --real-ip-header; may be repeated.
    #[arg(long, value_name = "CIDR", value_parser = Cidr::parse)]
    pub trusted_proxy: Vec<Cidr>,

    /// Request header naming the client (e.g. X-Forwarded-For, X-Real-IP), believed only from
    /// a --trusted-proxy: its right-most address that is not a trusted proxy is logged.
    #[arg(long, value_name = "NAME", value_parser = parse_header_name, requires = "trusted_proxy")]
    pub real_ip_header: Option<String>,

    /// Seconds a --proxy-protocol header may take to arrive, from the accept; the connection
    /// is closed without a response after.
    #[arg(long, default_value_t = PROXY_HEADER_TIMEOUT_DEFAULT_SECS, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=MAX_TIMEOUT_SECS))]
    pub proxy_timeout: u64,

    /// A URL path (e.g. /healthz) answered 200 "ok" while serving and 503 once a shutdown has
    /// begun, before any file lookup, for a load balancer's health check.
    #[arg(long, value_name = "PATH", value_parser = parse_health_path)]
    pub health_path: Option<String>,

    /// Seconds to go on serving normally after SIGINT/SIGTERM, with only the health check
    /// failing, before the drain begins: longer than the balancer needs to mark the server
    /// down (check interval x fall count). A second signal drains at once.
    #[arg(long, default_value_t = 0, value_name = "SECS", value_parser = clap::value_parser!(u64).range(0..=MAX_TIMEOUT_SECS))]
    pub shutdown_delay: u64,

    /// Serve Prometheus metrics at http://ADDR:PORT/metrics, on a listener of their own (port 0
    /// picks one, printed as `metrics on http://ADDR:PORT`).
    #[arg(long, value_name = "ADDR:PORT")]
    pub metrics: Option<SocketAddr>,

    /// Access-log line format: `combined` (Apache/nginx) or `json` (one object per line).
    #[arg(long, value_enum, default_value_t = LogFormat::Combined)]
    pub log_format: LogFormat,

    /// Serve HTTPS with this PEM certificate chain (leaf first), paired with the --tls-key of
    /// the same position. Repeat both for more names: the certificate is chosen by the name
    /// the client asks for (SNI); the first is the default. SIGHUP loads them again.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Vec<PathBuf>,

    /// The PEM private key of the --tls-cert in the same position.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Vec<PathBuf>,

    /// Seconds a TLS client has to finish its handshake, from the accept.
    #[arg(long, default_value_t = 10, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=MAX_TIMEOUT_SECS))]
    pub tls_handshake_timeout: u64,

    /// Also listen for plain HTTP on PORT and answer every request there with a redirect to
    /// the same URL over HTTPS.
    #[arg(long, value_name = "PORT", requires = "tls_cert")]
    pub redirect_http: Option<u16>,

    /// Send Strict-Transport-Security with this max-age on HTTPS responses.
    #[arg(long, value_name = "SECONDS", requires = "tls_cert")]
    pub hsts: Option<u64>,

    /// What a file's ETag is made from: `mtime` (size and modification time, as nginx; the
    /// same on every replica with the same mtimes) or `content` (a SHA-256 of the bytes, made
    /// off the loop once per version of a file, for trees whose mtimes mean nothing).
    #[arg(long, value_enum, default_value_t = EtagMode::Mtime, value_name = "FROM")]
    pub etag: EtagMode,
}

/// More pool threads than this is a typo, not a plan.
const MAX_THREADS: u64 = 256;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workers {
    Count(usize),
    PerCpu,
}

fn parse_workers(value: &str) -> Result<Workers, String> {
    if value == "auto" {
        return Ok(Workers::PerCpu);
    }
    match value.parse::<usize>() {
        Ok(n) if (1..=MAX_WORKERS).contains(&n) => Ok(Workers::Count(n)),
        _ => Err(format!("must be auto or a number from 1 to {MAX_WORKERS}")),
    }
}

/// More workers than this is a typo, not a plan.
const MAX_WORKERS: usize = 1024;

impl Config {
    /// The parsed command line, after the checks no single flag's parser can make (how many
    /// `--header` rules there are).
    pub fn checked(self) -> Result<Config, clap::Error> {
        match self.extra_fields() {
            Ok(_) => Ok(self),
            Err(message) => Err(Config::command().error(ErrorKind::ValueValidation, message)),
        }
    }

    /// `--cache-control` is the rule `Cache-Control: VALUE`, first; then `--header` in order.
    fn extra_fields(&self) -> Result<ExtraFields, String> {
        let cache_control = self.cache_control.as_deref();
        let rules = cache_control
            .map(|value| HeaderRule::global("Cache-Control", value))
            .into_iter()
            .chain(self.headers.iter().cloned().map(Ok))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ExtraFields {
            headers: HeaderRules::new(rules, &self.index)?,
            cors: Cors::new(self.cors.clone()),
        })
    }

    /// What the server needs from the command line, in its own terms.
    /// A config that did not pass `checked` may panic here.
    pub fn settings(&self) -> Settings {
        let workers = match self.workers {
            Workers::Count(n) => n,
            Workers::PerCpu => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        let site = SiteOptions {
            index_name: self.index.clone(),
            serve_hidden: self.serve_hidden,
            autoindex: self.autoindex,
            // Lives as long as the process: the type is referenced by every cached file.
            default_type: ContentType::new(Box::leak(self.default_type.clone().into_boxed_str())),
            error_pages: self
                .error_page
                .iter()
                .map(|page| (page.code, page.path.as_bytes().to_vec()))
                .collect(),
            routes: Routes::new(
                self.fallback.clone(),
                self.try_ext.clone(),
                self.redirect.clone(),
            ),
            etag: self.etag,
        };
        Settings {
            addr: SocketAddr::new(self.bind, self.port),
            // Clap refuses DIR with --root, so at most one was given; with neither, --root's default.
            root: self.dir.clone().unwrap_or_else(|| self.root.clone()),
            site,
            extra_fields: self
                .extra_fields()
                .expect("Config::checked refuses what extra_fields refuses"),
            access_log: self.access_log.clone(),
            error_log: self.error_log.clone(),
            log_level: self.log_level,
            timeouts: Timeouts {
                head: Duration::from_secs(self.head_timeout),
                body: Duration::from_secs(self.body_timeout),
                keepalive: Duration::from_secs(self.keepalive_timeout),
                send: Duration::from_secs(self.send_timeout),
            },
            max_body_bytes: self.max_body_bytes,
            max_connections: usize::try_from(self.max_conns).unwrap_or(usize::MAX),
            drain_timeout: Duration::from_secs(self.drain_timeout),
            workers,
            threads: usize::try_from(self.threads).unwrap_or(1),
            compress: (!self.no_compress)
                .then(|| CompressLevel::new(self.compress_level))
                .flatten(),
            compress_cache_bytes: self.compress_cache_bytes,
            auth: self.auth_file.clone().map(|file| AuthOptions {
                file,
                prefixes: self.auth_path.clone(),
                realm: self.auth_realm.clone(),
            }),

            proxy: ProxyOptions {
                protocol: self.proxy_protocol,
                trusted: self.trusted_proxy.clone(),
                real_ip_header: self
                    .real_ip_header
                    .as_ref()
                    .map(|name| name.as_bytes().into()),
                header_timeout: Duration::from_secs(self.proxy_timeout),
            },

            health_path: self.health_path.clone(),
            shutdown_delay: Duration::from_secs(self.shutdown_delay),
            metrics: self.metrics,
            log_format: self.log_format,
            tls: (!self.tls_cert.is_empty()).then(|| TlsSettings {
                pairs: self
                    .tls_cert
                    .iter()
                    .zip(&self.tls_key)
                    .map(|(cert, key)| KeyPair {
                        cert: cert.clone(),
                        key: key.clone(),
                    })
                    .collect(),
                handshake_timeout: Duration::from_secs(self.tls_handshake_timeout),
                hsts_max_age: self.hsts,
            }),
            redirect_http: self.redirect_http,
        }
    }

    /// The checks clap cannot express: each --tls-cert has its --tls-key.
    pub fn validate(&self) -> Result<(), String> {
        if self.tls_cert.len() != self.tls_key.len() {
            return Err(format!(
                "--tls-cert and --tls-key come in pairs: got {} certificates and {} keys",
                self.tls_cert.len(),
                self.tls_key.len()
            ));
        }
        Ok(())
    }
}
