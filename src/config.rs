//! Every limit and timeout, named with its unit and defined once, and the command line that
//! sets the ones an operator may change.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::runtime::error_log::Level;

/// The largest request head (request line and header fields); beyond it, 414 or 431.
pub const MAX_HEAD_BYTES: usize = 8 * 1024;
/// Empty lines accepted before a request line (RFC 9112 §2.2 asks for at least one, for
/// clients that end a body with a stray CRLF); beyond them, 400.
pub const MAX_EMPTY_LINES_BEFORE_REQUEST: usize = 4;
/// A connection's input buffer: one maximal head plus room for pipelined requests behind it.
pub const INPUT_BUFFER_BYTES: usize = 16 * 1024;
/// Responses are batched into one write until this much is waiting.
pub const OUTPUT_FLUSH_BYTES: usize = 64 * 1024;
/// Bytes one connection may send per resume before it yields to the others.
pub const SEND_BUDGET_BYTES: usize = 1024 * 1024;
/// Bytes one connection may read per resume while discarding a body or lingering before
/// it yields: a client flooding us cannot hold the loop.
pub const READ_BUDGET_BYTES: usize = 256 * 1024;
/// Requests one connection may parse per resume before it yields to the others.
pub const REQUESTS_PER_RESUME: usize = 64;
/// Connections accepted per resume of the listener before it yields to the connections.
pub const ACCEPTS_PER_RESUME: usize = 64;
/// The listen(2) backlog; the kernel caps it at net.core.somaxconn.
pub const LISTEN_BACKLOG: i32 = 4096;
/// How long the listener waits before accepting again after running out of fds or memory,
/// and after the first accept error that is about the listening socket, not one connection.
pub const ACCEPT_RETRY_DELAY: Duration = Duration::from_millis(100);
/// Each further accept error in a row doubles the wait, up to this.
pub const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(2);
/// When the listener cannot accept for want of a slot or an fd while clients wait, it closes
/// one in this many of the idle keep-alive connections, oldest first: at least one, at most
/// `IDLE_CLOSE_MAX` at a time (nginx's proportions).
pub const IDLE_CLOSE_SHARE: usize = 8;
pub const IDLE_CLOSE_MAX: usize = 32;
/// Idle buffers kept for reuse; beyond these counts, returned buffers are freed.
pub const POOLED_INPUT_BUFFERS: usize = 1024;
pub const POOLED_OUTPUT_BUFFERS: usize = 1024;
/// An output vector that grew past this (a large listing) is freed rather than pooled.
pub const POOLED_OUTPUT_MAX_BYTES: usize = 2 * OUTPUT_FLUSH_BYTES;
/// How long a cached file is served without looking at the disk again.
pub const FILE_CACHE_REVALIDATE_AFTER: Duration = Duration::from_secs(1);
/// A cached file no request has used for this long is closed (a deleted file's space is
/// returned then). Short, because an entry unused for longer than `FILE_CACHE_REVALIDATE_AFTER`
/// is opened again on its next use anyway: closing it costs at most a re-read of a small file.
pub const FILE_CACHE_CLOSE_UNUSED_AFTER: Duration = Duration::from_secs(2);
/// Sweeps of the file cache are at least this far apart, so an unused entry is closed at most
/// `FILE_CACHE_CLOSE_UNUSED_AFTER` plus this after its last use.
pub const FILE_CACHE_SWEEP_SLACK: Duration = Duration::from_millis(500);
/// At most this many paths are kept (each with up to two variants open); memory for
/// inlined bytes is bounded by three times this times `INLINE_FILE_MAX_BYTES`.
pub const FILE_CACHE_ENTRIES: usize = 1024;
/// Files up to this size are read into memory once, so their responses are a copy into the
/// output buffer and pipelined responses leave in one write.
pub const INLINE_FILE_MAX_BYTES: u64 = 16 * 1024;
/// A listing stops after this many entries, with a note: it is built on the loop thread (an
/// lstat per entry), so this bounds how long one listing holds every other connection.
pub const LISTING_MAX_ENTRIES: usize = 2_000;
/// Access-log batches waiting for the writer thread before new ones are dropped.
pub const LOG_QUEUED_BATCHES: usize = 64;
/// An access-log batch is handed to the writer early once it is this large.
pub const LOG_FLUSH_BYTES: usize = 64 * 1024;
/// Error-log lines of one kind (`error_log::Event`) written per second; the rest are counted
/// and reported as suppressed.
pub const ERROR_LOG_LINES_PER_SECOND: u32 = 10;
/// Error-log lines waiting for the writer thread before new ones are dropped.
pub const ERROR_LOG_QUEUED_LINES: usize = 256;
/// A worker that dies sooner than this after starting is restarted only after this delay,
/// so a worker that cannot run does not make the supervisor spin.
pub const WORKER_RESTART_BACKOFF: Duration = Duration::from_secs(1);
/// How far a connection's timer may lag behind its real deadline before it is re-armed.
pub const TIMER_SLACK: Duration = Duration::from_millis(500);
/// How long a closing connection keeps reading what the client still sends, so the kernel
/// does not answer those bytes with a reset that could destroy our last response in flight.
pub const LINGER_TIMEOUT: Duration = Duration::from_secs(2);

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
    /// TCP port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,

    /// Address to bind: IPv4 or IPv6 literal (0.0.0.0, ::, ::1, ...).
    #[arg(long, default_value = "0.0.0.0")]
    pub bind: IpAddr,

    /// Directory to serve.
    #[arg(long, default_value = "static")]
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
}

/// The timeouts a connection applies, from the command line.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    pub head: Duration,
    pub body: Duration,
    pub keepalive: Duration,
    pub send: Duration,
}

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
    pub fn workers(&self) -> usize {
        match self.workers {
            Workers::Count(n) => n,
            Workers::PerCpu => std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }

    pub fn drain_timeout(&self) -> Duration {
        Duration::from_secs(self.drain_timeout)
    }

    pub fn timeouts(&self) -> Timeouts {
        Timeouts {
            head: Duration::from_secs(self.head_timeout),
            body: Duration::from_secs(self.body_timeout),
            keepalive: Duration::from_secs(self.keepalive_timeout),
            send: Duration::from_secs(self.send_timeout),
        }
    }
}

/// `--error-page CODE=PATH`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorPage {
    pub code: u16,
    pub path: String,
}

fn parse_error_page(value: &str) -> Result<ErrorPage, String> {
    let (code, path) = value
        .split_once('=')
        .ok_or("expected CODE=PATH, e.g. 404=/404.html")?;
    let code: u16 = code
        .parse()
        .ok()
        .filter(|c| (400..=599).contains(c))
        .ok_or("CODE must be an error status from 400 to 599")?;
    if !path.starts_with('/') || path.bytes().any(|b| b.is_ascii_control() || b == b' ') {
        return Err("PATH must be a URL path starting with /".to_string());
    }
    Ok(ErrorPage {
        code,
        path: path.to_string(),
    })
}

/// `type/subtype`, both tokens (RFC 9110 §8.3.1); parameters are not accepted.
fn parse_media_type(value: &str) -> Result<String, String> {
    let token = |t: &str| !t.is_empty() && t.bytes().all(crate::http::is_tchar);
    match value.split_once('/') {
        Some((kind, subtype)) if token(kind) && token(subtype) => Ok(value.to_ascii_lowercase()),
        _ => Err("must be a media type such as text/plain".to_string()),
    }
}

/// A header value we will send verbatim: visible ASCII and spaces only, so no flag can
/// inject a line break into a response.
fn parse_header_value(value: &str) -> Result<String, String> {
    if value.is_empty() || !value.bytes().all(|b| b == b' ' || b.is_ascii_graphic()) {
        return Err("must be visible ASCII characters and spaces".to_string());
    }
    Ok(value.trim().to_string())
}

/// An index name is one plain file name: no separators, not `.` or `..`.
fn parse_index_name(name: &str) -> Result<String, String> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') || name.contains('\0') {
        return Err("must be a plain file name such as index.html".to_string());
    }
    Ok(name.to_string())
}
