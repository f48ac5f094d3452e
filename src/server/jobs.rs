//! The server's side of the worker pool (`runtime::pool`): what its jobs return
//! (`JobOutput`: compressed variants, directory listings, file data read in, verified
//! passwords, content hashes), the compression state the jobs fill (`Compression`) and the
//! content-hash jobs in flight (`HashJobs`); the task that brings their results back into the
//! loop is `pool_task`.
//!
//! A connection that needs a job submits it with its own task id as the owner and waits in
//! `State::AwaitJob`; `PoolTask`, registered on the pool's eventfd, collects finished jobs and
//! notifies their owners, which take the result from their ticket and go on where they
//! stopped. A connection that goes away drops its ticket, which cancels the job: its result
//! is dropped, never handed to whoever takes the task's slot next.
//!
//! Invariants: the loop never blocks on the pool (a full queue makes the connection wait
//! with `Pool::wait_for_space`); an idle pool makes no wake-ups (the eventfd is written only
//! when a job ends); on shutdown, queued jobs come back `Cancelled` and this task ends once
//! nothing is in flight, so the loop's drain waits for running jobs and no longer.

use std::cell::{RefCell, RefMut};
use std::io;

use crate::runtime::pool::{JobTicket, Pool};
use crate::runtime::task::TaskId;
use crate::site::compress::{CompressedCache, CompressedVariant, Level};
use crate::site::file_cache::FileCache;
use crate::site::listing::Page;

/// Jobs that may wait for a thread beyond the ones running: with 4 threads and 64 queued, a
/// burst of cold variants waits in the queue, and the 69th connection to need a job waits for
/// space instead of piling up file-sized buffers.
pub const POOL_QUEUE_JOBS: usize = 64;

/// What a job sends back to the connection that submitted it.
pub enum JobOutput {
    /// A file compressed on the fly; `None` when identity is the better thing to send: the
    /// output was not smaller, the file changed while it was read, or reading failed.
    Compressed(Option<CompressedVariant>),
    /// A directory listing built (see `conn::listing`), or why the directory could not be
    /// read.
    Listing(io::Result<Page>),
    /// A chunk of a file is in the page cache now (or reading it failed, which the
    /// connection's `sendfile` will meet): see `conn::cold`.
    InPageCache,
    /// Whether a password matched its bcrypt hash (see `site::auth`).
    Verified(bool),
    /// A file's content was hashed for its ETag (`--etag content`): the job stored the tag in
    /// the cached file itself, so nothing comes back but the end of the job.
    ContentHashed,
}

/// The content hash jobs in flight (`--etag content`). Nobody waits for them: the request
/// that asked is answered without a tag, and a later one finds it in the file cache. Their
/// tickets are kept here only so the jobs are not cancelled; each is dropped once its job
/// ended, when jobs are next handed out. The submitting connection is the owner, and the
/// end of the job wakes it once for nothing, as a lost race for pool space does.
/// Bounded by the pool: jobs are handed out only while it has room.
#[derive(Default)]
pub struct HashJobs {
    tickets: RefCell<Vec<JobTicket<JobOutput>>>,
}

impl HashJobs {
    /// Hands the file cache's wanted content hashes to `pool`, as many as it has room for.
    /// Costs one check when none is wanted.
    pub fn submit(&self, pool: &Pool<JobOutput>, files: &mut FileCache, owner: TaskId) {
        if !files.wants_hashes() {
            return;
        }
        let mut tickets = self.tickets.borrow_mut();
        tickets.retain(|ticket| ticket.take().is_none());
        while pool.check().is_ok()
            && let Some(job) = files.hash_job()
        {
            match pool.submit(owner, move || {
                job.run();
                JobOutput::ContentHashed
            }) {
                Ok(ticket) => tickets.push(ticket),
                Err(_) => return,
            }
        }
    }
}

/// Compression on the fly: the level, and the cache of variants with its jobs in flight.
pub struct Compression {
    pub level: Level,
    cache: RefCell<CompressedCache>,
}

impl Compression {
    pub fn new(level: Level, cache_bytes: usize) -> Compression {
        Compression {
            level,
            cache: RefCell::new(CompressedCache::new(cache_bytes)),
        }
    }

    /// The cache of variants, borrowed for one synchronous step.
    pub fn cache(&self) -> RefMut<'_, CompressedCache> {
        self.cache.borrow_mut()
    }
}
