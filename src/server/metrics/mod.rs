//! `--metrics ADDR:PORT`: the server's counters, and the Prometheus text they are scraped as.
//!
//! Every server process owns one *block* of counters in a `SharedCounters` mapping that the
//! process that bound the metrics socket created before any `fork` (see `endpoint`). A
//! process writes only its own block, with a relaxed load and store (no read-modify-write:
//! nobody else writes it), which compiles to the same plain add a `Cell<u64>` would; a scrape,
//! answered by whichever process accepts it, sums every block, so one endpoint shows the
//! whole server. Gauges (open connections, the pool's queue) and the counters kept by lower
//! layers (the file and compression caches) are copied into the block once per loop turn
//! (`publish`), after the turn's work, so they are never more than one turn old.
//!
//! With `--metrics` off there is no `Metrics` at all: the hot path pays one branch on a
//! `None`, and the loop has no turn hook.

pub mod endpoint;
mod text;

use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::http::Status;
use crate::http::request::Method;
use crate::sys::shared_memory::SharedCounters;

/// Status classes counted, `1xx` to `5xx`.
const CODE_CLASSES: usize = 5;
/// Methods counted apart; the last is every other method.
const METHOD_LABELS: [&str; 10] = [
    "GET", "HEAD", "OPTIONS", "POST", "PUT", "DELETE", "PATCH", "CONNECT", "TRACE", "other",
];

/// Why a connection's deadline passed, the `kind` of `tinyhttpd_timeouts_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeoutKind {
    /// A head begun and not finished (`--header-timeout`).
    Head,
    /// A request body not finished (`--body-timeout`).
    Body,
    /// An idle keep-alive connection closed (`--keepalive-timeout`).
    KeepAlive,
    /// A response the client did not read (`--send-timeout`).
    Send,
    /// A worker-pool job (compression, a listing, cold file data) not done in time.
    Job,
    /// A TLS handshake not finished (`--tls-handshake-timeout`).
    Handshake,
    /// A PROXY protocol header that did not arrive (`--proxy-timeout`).
    ProxyHeader,
}

const TIMEOUT_LABELS: [&str; 7] = [
    "head",
    "body",
    "keepalive",
    "send",
    "job",
    "handshake",
    "proxy_header",
];

/// Why a request was refused, the `reason` of `tinyhttpd_refused_total`: from the status of
/// the response that ends the connection.
const REFUSED_LABELS: [&str; 8] = [
    "bad_request",
    "timeout",
    "body_too_large",
    "uri_too_long",
    "head_too_large",
    "not_implemented",
    "version_not_supported",
    "other",
];

fn refused_reason(status: Status) -> usize {
    match status {
        Status::BadRequest => 0,
        Status::RequestTimeout => 1,
        Status::ContentTooLarge => 2,
        Status::UriTooLong => 3,
        Status::HeaderFieldsTooLarge => 4,
        Status::NotImplemented => 5,
        Status::VersionNotSupported => 6,
        _ => 7,
    }
}

/// Upper bounds of the loop-turn histogram's buckets, in microseconds (`+Inf` follows).
const TURN_BUCKETS_MICROS: [u64; 14] = [
    50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
    1_000_000,
];

/// Where each counter sits in a block.
const REQUESTS: usize = 0;
const RESPONSE_BYTES: usize = REQUESTS + CODE_CLASSES * METHOD_LABELS.len();
const CONNECTIONS_OPEN: usize = RESPONSE_BYTES + 1;
const CONNECTIONS_ACCEPTED: usize = CONNECTIONS_OPEN + 1;
const TIMEOUTS: usize = CONNECTIONS_ACCEPTED + 1;
const REFUSED: usize = TIMEOUTS + TIMEOUT_LABELS.len();
const FILE_CACHE_HITS: usize = REFUSED + REFUSED_LABELS.len();
const FILE_CACHE_MISSES: usize = FILE_CACHE_HITS + 1;
const COMPRESSION_HITS: usize = FILE_CACHE_MISSES + 1;
const COMPRESSION_MISSES: usize = COMPRESSION_HITS + 1;
const POOL_QUEUE_DEPTH: usize = COMPRESSION_MISSES + 1;
/// One count per finite bucket, then `+Inf`, then the sum in nanoseconds, then the count.
const TURN_BUCKETS: usize = POOL_QUEUE_DEPTH + 1;
const TURN_SUM_NANOS: usize = TURN_BUCKETS + TURN_BUCKETS_MICROS.len() + 1;
const TURN_COUNT: usize = TURN_SUM_NANOS + 1;
/// Counters in one process's block.
const BLOCK_LEN: usize = TURN_COUNT + 1;

/// Values kept by lower layers, copied into the block once per turn (see `publish`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Snapshot {
    pub connections_open: u64,
    pub connections_accepted: u64,
    pub file_cache_hits: u64,
    pub file_cache_misses: u64,
    pub compression_hits: u64,
    pub compression_misses: u64,
    pub pool_queue_depth: u64,
}

/// One process's view of the counters: its own block to write, every block to read.
pub struct Metrics {
    counters: Rc<SharedCounters>,
    /// Where this process's block starts.
    mine: usize,
}

impl Metrics {
    /// The metrics of worker `worker` (0 for a single server). Its gauges start at zero: a
    /// restarted worker's block still holds its predecessor's, whose counters it goes on
    /// adding to.
    fn new(counters: Rc<SharedCounters>, worker: usize) -> Metrics {
        let metrics = Metrics {
            counters,
            mine: worker * BLOCK_LEN,
        };
        metrics.set(CONNECTIONS_OPEN, 0);
        metrics.set(POOL_QUEUE_DEPTH, 0);
        metrics
    }

    /// Counters for `workers` processes, all zero.
    fn counters(workers: usize) -> std::io::Result<SharedCounters> {
        SharedCounters::new(workers.max(1) * BLOCK_LEN)
    }

    fn counter(&self, index: usize) -> Option<&AtomicU64> {
        self.counters.get().get(self.mine + index)
    }

    fn add(&self, index: usize, n: u64) {
        if let Some(counter) = self.counter(index) {
            // Only this process writes its block: a load and a store, no locked add.
            counter.store(
                counter.load(Ordering::Relaxed).wrapping_add(n),
                Ordering::Relaxed,
            );
        }
    }

    fn set(&self, index: usize, value: u64) {
        if let Some(counter) = self.counter(index) {
            counter.store(value, Ordering::Relaxed);
        }
    }

    /// A request was answered with `status`.
    pub fn request(&self, method: Method, status: Status) {
        let class = usize::from(status.code() / 100).clamp(1, CODE_CLASSES) - 1;
        self.add(
            REQUESTS + class * METHOD_LABELS.len() + method_label(method),
            1,
        );
    }

    /// `bytes` of responses written to a socket.
    pub fn sent(&self, bytes: u64) {
        self.add(RESPONSE_BYTES, bytes);
    }

    pub fn timed_out(&self, kind: TimeoutKind) {
        self.add(TIMEOUTS + kind as usize, 1);
    }

    /// A request was refused with `status`, and its connection closed.
    pub fn refused(&self, status: Status) {
        self.add(REFUSED + refused_reason(status), 1);
    }

    /// One loop turn spent `busy` running tasks.
    pub fn turn(&self, busy: Duration) {
        let micros = u64::try_from(busy.as_micros()).unwrap_or(u64::MAX);
        let bucket = TURN_BUCKETS_MICROS
            .iter()
            .position(|&bound| micros <= bound)
            .unwrap_or(TURN_BUCKETS_MICROS.len());
        self.add(TURN_BUCKETS + bucket, 1);
        self.add(
            TURN_SUM_NANOS,
            u64::try_from(busy.as_nanos()).unwrap_or(u64::MAX),
        );
        self.add(TURN_COUNT, 1);
    }

    /// Copies what lower layers count into this process's block.
    pub fn publish(&self, snapshot: &Snapshot) {
        self.set(CONNECTIONS_OPEN, snapshot.connections_open);
        self.set(CONNECTIONS_ACCEPTED, snapshot.connections_accepted);
        self.set(FILE_CACHE_HITS, snapshot.file_cache_hits);
        self.set(FILE_CACHE_MISSES, snapshot.file_cache_misses);
        self.set(COMPRESSION_HITS, snapshot.compression_hits);
        self.set(COMPRESSION_MISSES, snapshot.compression_misses);
        self.set(POOL_QUEUE_DEPTH, snapshot.pool_queue_depth);
    }

    /// Counter `index` summed over every process's block.
    fn total(&self, index: usize) -> u64 {
        self.counters
            .get()
            .chunks_exact(BLOCK_LEN)
            .filter_map(|block| block.get(index))
            .fold(0u64, |sum, c| sum.wrapping_add(c.load(Ordering::Relaxed)))
    }
}

fn method_label(method: Method) -> usize {
    match method {
        Method::Get => 0,
        Method::Head => 1,
        Method::Options => 2,
        Method::Post => 3,
        Method::Put => 4,
        Method::Delete => 5,
        Method::Patch => 6,
        Method::Connect => 7,
        Method::Trace => 8,
        Method::Unknown => 9,
    }
}
