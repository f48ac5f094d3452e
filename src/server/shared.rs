//! What every connection of one server shares: the site and its file cache, the limits, the
//! cached Date, the buffer pool, the access log, and the connection slots (`slots`). One per
//! event loop, behind an `Rc`. Its fields are private: each is reached through a method that
//! says what it is for. The loop is single-threaded, so the `RefCell`s are never contended,
//! and no borrow a method hands out outlives the synchronous step that takes it.

use std::cell::{Cell, RefCell, RefMut};
use std::rc::Rc;
use std::time::{Duration, SystemTime};

use crate::http::date::{DateCache, HTTP_DATE_LEN};
use crate::runtime::buffer::BufferPool;
use crate::runtime::pool::Pool;
use crate::runtime::task::{Notifier, TaskId};
use crate::server::access_log::AccessLog;
use crate::server::extra_fields::ExtraFields;
use crate::server::health::Health;
use crate::server::jobs::{Compression, HashJobs, JobOutput};
use crate::server::metrics::{Metrics, Snapshot};
use crate::server::proxies::ProxyOptions;
use crate::server::slots::Slots;
use crate::server::tls::Tls;
use crate::site::auth::Auth;
use crate::site::file_cache::FileCache;
use crate::site::files::Site;

/// The timeouts a connection applies, from the command line.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    pub head: Duration,
    pub body: Duration,
    pub keepalive: Duration,
    pub send: Duration,
}

/// See the module documentation.
pub struct Shared {
    site: Site,
    files: RefCell<FileCache>,
    extra_fields: ExtraFields,
    log: Option<Rc<AccessLog>>,
    timeouts: Timeouts,
    max_body_bytes: u64,
    date: RefCell<DateCache>,
    buffers: BufferPool,
    /// Lent to `http::path::normalize` for a request path it rewrites; the `NormalizedPath`
    /// it returns borrows it until the request is answered, which is never interrupted, so all
    /// connections share one.
    path: RefCell<Vec<u8>>,
    slots: Rc<Slots>,
    /// The file cache's sweeper while it waits, with no deadline, for the cache to get an
    /// entry.
    idle_sweeper: Cell<Option<TaskId>>,
    /// The worker pool, and compression on the fly (which needs it); both `None` in a server
    /// built without them (a simulation).
    pool: Option<Pool<JobOutput>>,
    compression: Option<Compression>,
    /// `--etag content`: the hash jobs in flight.
    hash_jobs: HashJobs,
    /// The loop's, for waking tasks where no context is at hand (a connection's drop).
    notifier: Notifier,
    /// Basic authentication, with `--auth-file`.
    auth: Option<RefCell<Auth>>,
    /// Who is trusted to name the client (`conn::proxy`).
    proxy: ProxyOptions,
    /// `--health-path`, and `--metrics` (see `with_health`, `with_metrics`).
    health: Option<Health>,
    metrics: Option<Rc<Metrics>>,
    /// HTTPS: the listener's connections speak TLS (see `tls`).
    tls: Option<Tls>,
    /// `--redirect-http`: every request is answered with a redirect to HTTPS on this port.
    redirect_to_port: Option<u16>,
}

impl Shared {
    /// `notifier` is the loop's: through it a dropped slot wakes the paused listener.
    pub fn new(
        site: Site,
        extra_fields: ExtraFields,
        log: Option<AccessLog>,
        timeouts: Timeouts,
        max_body_bytes: u64,
        max_connections: usize,
        notifier: Notifier,
    ) -> Shared {
        Shared {
            site,
            files: RefCell::new(FileCache::default()),
            extra_fields,
            log: log.map(Rc::new),
            timeouts,
            max_body_bytes,
            date: RefCell::new(DateCache::default()),
            buffers: BufferPool::default(),
            path: RefCell::new(Vec::new()),
            slots: Rc::new(Slots::new(max_connections, notifier.clone())),
            idle_sweeper: Cell::new(None),
            pool: None,
            compression: None,
            hash_jobs: HashJobs::default(),
            notifier,
            auth: None,
            proxy: ProxyOptions::default(),
            health: None,
            metrics: None,
            tls: None,
            redirect_to_port: None,
        }
    }

    /// The same, behind the load balancers `proxy` describes.
    pub fn with_proxy(self, proxy: ProxyOptions) -> Shared {
        Shared { proxy, ..self }
    }

    pub fn proxy(&self) -> &ProxyOptions {
        &self.proxy
    }

    /// The same, serving HTTPS with `tls`.
    pub fn with_tls(self, tls: Tls) -> Shared {
        Shared {
            tls: Some(tls),
            ..self
        }
    }

    /// The same, redirecting every request to HTTPS on `port` (the redirect listener's).
    pub fn with_redirect(self, port: u16) -> Shared {
        Shared {
            redirect_to_port: Some(port),
            ..self
        }
    }

    pub fn tls(&self) -> Option<&Tls> {
        self.tls.as_ref()
    }

    pub fn redirect_to_port(&self) -> Option<u16> {
        self.redirect_to_port
    }

    /// The same, with a worker pool and, if not `None`, compression on the fly.
    pub fn with_jobs(self, pool: Pool<JobOutput>, compression: Option<Compression>) -> Shared {
        Shared {
            pool: Some(pool),
            compression,
            ..self
        }
    }

    /// The same, with Basic authentication.
    pub fn with_auth(self, auth: Option<Auth>) -> Shared {
        Shared {
            auth: auth.map(RefCell::new),
            ..self
        }
    }

    /// Basic authentication, if on, borrowed for one synchronous step.
    pub fn auth(&self) -> Option<RefMut<'_, Auth>> {
        self.auth.as_ref().map(RefCell::borrow_mut)
    }

    /// The worker pool, once nothing else holds the server: for joining its threads.
    pub fn into_pool(self) -> Option<Pool<JobOutput>> {
        self.pool
    }

    pub fn pool(&self) -> Option<&Pool<JobOutput>> {
        self.pool.as_ref()
    }

    /// Compression on the fly; `None` with `--no-compress` (or without a pool).
    pub fn compression(&self) -> Option<&Compression> {
        self.compression.as_ref()
    }

    /// Hands the content hashes the file cache wants (`--etag content`) to the pool, with
    /// `owner` (the connection that just used the cache) as the jobs' owner.
    pub fn submit_hash_jobs(&self, owner: TaskId) {
        if !self.site.hashes_content() {
            return; // nothing is ever hashed: spare every request the cache's borrow
        }
        if let Some(pool) = &self.pool {
            self.hash_jobs.submit(pool, &mut self.files(), owner);
        }
    }

    pub fn notifier(&self) -> &Notifier {
        &self.notifier
    }

    pub fn site(&self) -> &Site {
        &self.site
    }

    /// The open-file cache, borrowed for one request.
    pub fn files(&self) -> RefMut<'_, FileCache> {
        self.files.borrow_mut()
    }

    /// `--header` (with `--cache-control`) and `--cors`.
    pub fn extra_fields(&self) -> &ExtraFields {
        &self.extra_fields
    }

    pub fn access_log(&self) -> Option<&Rc<AccessLog>> {
        self.log.as_ref()
    }

    pub fn timeouts(&self) -> &Timeouts {
        &self.timeouts
    }

    /// `--max-body-bytes`: the largest request body read and discarded.
    pub fn max_body_bytes(&self) -> u64 {
        self.max_body_bytes
    }

    /// The `Date` header's value for `now`, rendered at most once a second.
    pub fn date(&self, now: SystemTime) -> [u8; HTTP_DATE_LEN] {
        *self.date.borrow_mut().get(now)
    }

    /// Where connections take their buffers from and give them back while idle.
    pub fn buffers(&self) -> &BufferPool {
        &self.buffers
    }

    /// The buffer a request path is normalised into when normalising changes it, borrowed
    /// while one request is answered; it holds nothing from one request to the next.
    pub fn path_scratch(&self) -> RefMut<'_, Vec<u8>> {
        self.path.borrow_mut()
    }

    /// The connection slots under `--max-conns`, and the idle list.
    pub fn slots(&self) -> &Rc<Slots> {
        &self.slots
    }

    /// Records that the cache sweeper, task `sweeper`, waits for the cache to get an entry.
    pub fn set_idle_sweeper(&self, sweeper: TaskId) {
        self.idle_sweeper.set(Some(sweeper));
    }

    /// The idle sweeper, once the cache holds an entry again: whoever calls this notifies it.
    pub fn sweeper_to_wake(&self) -> Option<TaskId> {
        // Asked on every response: while the sweeper is not idle, no borrow of the cache.
        let sweeper = self.idle_sweeper.get()?;
        if self.files.borrow().is_empty() {
            return None;
        }
        self.idle_sweeper.set(None);
        Some(sweeper)
    }

    /// The same, answering the health check `health`.
    pub fn with_health(self, health: Option<Health>) -> Shared {
        Shared { health, ..self }
    }

    /// The same, counting into `metrics`.
    pub fn with_metrics(self, metrics: Option<Rc<Metrics>>) -> Shared {
        Shared { metrics, ..self }
    }

    /// `--health-path`, if given.
    pub fn health(&self) -> Option<&Health> {
        self.health.as_ref()
    }

    /// The counters, with `--metrics`.
    pub fn metrics(&self) -> Option<&Metrics> {
        self.metrics.as_deref()
    }

    /// What the lower layers have counted, for the metrics.
    pub fn metrics_snapshot(&self) -> Snapshot {
        let (file_cache_hits, file_cache_misses) = self.files.borrow().hits_and_misses();
        let (compression_hits, compression_misses) = self
            .compression
            .as_ref()
            .map_or((0, 0), |compression| compression.cache().hits_and_misses());
        Snapshot {
            connections_open: self.slots.open() as u64,
            connections_accepted: self.slots.accepted(),
            file_cache_hits,
            file_cache_misses,
            compression_hits,
            compression_misses,
            pool_queue_depth: self.pool.as_ref().map_or(0, |pool| pool.in_flight() as u64),
        }
    }
}
