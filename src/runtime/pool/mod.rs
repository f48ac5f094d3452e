//! The worker pool: a task hands blocking or CPU-heavy work to a thread, and the loop resumes
//! the task when the result is back, as asyncio's `run_in_executor` does.
//!
//! ```text
//!   loop thread                          |  worker threads (tinyhttpd-pool-N)
//!                                        |
//!   task --submit(owner, job)--> ticket  |
//!          |                             |
//!          +--> job queue ------------------> worker: pop, run under catch_unwind
//!              Mutex<VecDeque> + Condvar |             |
//!                                        |             v
//!   completion task <-- eventfd <------------ completion queue (Mutex<Vec>) + signal
//!     complete(): drain the eventfd,     |
//!     store each result for its ticket,  |
//!     wake(owner) -> cx.notify(owner)    |
//!   owner task: ticket.take()            |
//! ```
//!
//! Ownership: the job queue, the completion queue and the eventfd are shared with the workers
//! (`Arc`); everything that crosses to a worker is `Send` by construction: a job is a
//! `FnOnce() -> O + Send + 'static` and `O: Send`. The tickets table, the space waiters and the
//! in-flight count stay on the loop thread (`Rc`, `RefCell`, `Cell`), so `Pool` and `JobTicket`
//! are not `Send`. A result reaches only the ticket it was submitted under: tickets are named
//! by slot and generation, as tasks are, so a slot reused after its ticket was dropped is never
//! handed an older job's result. A result is dropped, and what it holds freed, when its ticket
//! is dropped: at once if it had arrived, otherwise when `complete` collects it; a job still
//! queued when its ticket goes (or when the pool shuts down) is removed and never runs.
//! Bounds: at most `threads + queue_capacity` jobs are in flight (queued, running, or finished
//! and not yet collected); beyond that `submit` answers `Rejected::Full`. Idle costs nothing:
//! workers block on the condvar without a timeout, and the eventfd is written only when a
//! completion (or a cancellation someone waits on) has something to deliver.
//!
//! A job that panics is caught; its owner gets `JobError::Panicked` and the thread goes on
//! with the next job. The panic is still printed to stderr by the default panic hook.
//! Threads inherit the signal mask of the thread that starts them: build the pool after
//! `ServerSignals`, so that no worker takes a SIGINT meant for the loop.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::io;
use std::os::fd::RawFd;
use std::panic::{self, AssertUnwindSafe};
use std::rc::{Rc, Weak};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Instant;

use crate::runtime::task::TaskId;
use crate::sys::eventfd::EventFd;
use crate::sys::process;

/// Why `submit` did not take a job. The job is dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejected {
    /// Too many jobs in flight; `Pool::wait_for_space` to be woken when one is collected.
    Full,
    /// `shutdown` was called: no job will be taken again.
    ShutDown,
}

/// Why a job gave no result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobError {
    /// The job panicked (the panic message went to stderr).
    Panicked,
    /// The pool shut down while the job was still queued: it never ran.
    Cancelled,
}

/// A fixed set of worker threads running jobs for the loop's tasks.
///
/// Dropping it shuts it down without waiting: running jobs finish on detached threads and
/// their results are dropped. `join` is the way to wait for them.
pub struct Pool<O: Send + 'static> {
    side: Rc<LoopSide<O>>,
    threads: Vec<JoinHandle<()>>,
}

/// What the submitting task keeps: the way to its job's result. Dropping it cancels the job.
/// It holds the pool weakly: a ticket outliving its pool only ever takes `None`.
pub struct JobTicket<O> {
    side: Weak<LoopSide<O>>,
    key: Key,
}

/// A job waiting for a thread.
struct Job<O> {
    key: Key,
    run: Box<dyn FnOnce() -> O + Send>,
}

/// A job's outcome on its way back to the loop.
struct Done<O> {
    key: Key,
    result: Result<O, JobError>,
}

struct Queue<O> {
    jobs: VecDeque<Job<O>>,
    /// False once `shutdown` was called: workers leave when `jobs` is empty.
    open: bool,
}

/// What the loop and the workers share. No two of these locks are ever held at once, and no
/// job code runs (nor is dropped) under any of them.
struct Shared<O> {
    queue: Mutex<Queue<O>>,
    /// Signalled when a job is queued, and (to all) on shutdown.
    job_queued: Condvar,
    completed: Mutex<Vec<Done<O>>>,
    /// Written when `completed` goes from empty to non-empty: the loop reads it before it
    /// takes the batch, so a completion pushed after the take writes it again.
    eventfd: EventFd,
    /// Workers that have not returned yet, for `join`'s deadline (std has no timed join).
    live_workers: Mutex<usize>,
    worker_left: Condvar,
}

/// The loop thread's half: never shared with a worker.
struct LoopSide<O> {
    shared: Arc<Shared<O>>,
    tickets: RefCell<Tickets<O>>,
    /// Tasks to wake when a job is collected, each at most once.
    space_waiters: RefCell<Vec<TaskId>>,
    /// Jobs submitted and not yet collected by `complete` (nor removed from the queue).
    in_flight: Cell<usize>,
    /// `threads + queue_capacity`: the most jobs in flight at once.
    max_in_flight: usize,
    /// The completion batch's buffer, kept between calls to `complete`.
    batch: RefCell<Vec<Done<O>>>,
}

impl<O: Send + 'static> Pool<O> {
    /// Starts `threads` workers. At most `threads + queue_capacity` jobs are in flight at once:
    /// so `queue_capacity` wait while every thread is busy and every result collected.
    pub fn new(threads: usize, queue_capacity: usize) -> io::Result<Pool<O>> {
        if threads == 0 || queue_capacity == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a worker pool needs at least one thread and room for one queued job",
            ));
        }
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue {
                jobs: VecDeque::with_capacity(queue_capacity),
                open: true,
            }),
            job_queued: Condvar::new(),
            completed: Mutex::new(Vec::new()),
            eventfd: EventFd::new()?,
            live_workers: Mutex::new(0),
            worker_left: Condvar::new(),
        });
        let mut pool = Pool {
            side: Rc::new(LoopSide {
                shared,
                tickets: RefCell::new(Tickets::default()),
                space_waiters: RefCell::new(Vec::new()),
                in_flight: Cell::new(0),
                max_in_flight: threads.saturating_add(queue_capacity),
                batch: RefCell::new(Vec::new()),
            }),
            threads: Vec::with_capacity(threads),
        };
        for n in 0..threads {
            let shared = Arc::clone(&pool.side.shared);
            *lock(&shared.live_workers) += 1;
            let started = thread::Builder::new()
                .name(format!("tinyhttpd-pool-{n}"))
                .spawn(move || work(&shared));
            match started {
                Ok(handle) => pool.threads.push(handle),
                Err(e) => {
                    *lock(&pool.side.shared.live_workers) -= 1;
                    // Dropping the pool stops the threads already started.
                    return Err(e);
                }
            }
        }
        Ok(pool)
    }

    /// The eventfd for the completion task to register, readable: when it fires, call
    /// `complete`.
    pub fn fd(&self) -> RawFd {
        self.side.shared.eventfd.fd()
    }

    /// Queues `job` for a worker; `owner` is woken (through `complete`) when its result is in
    /// the returned ticket. Never blocks.
    pub fn submit(
        &self,
        owner: TaskId,
        job: impl FnOnce() -> O + Send + 'static,
    ) -> Result<JobTicket<O>, Rejected> {
        let side = &self.side;
        let mut queue = lock(&side.shared.queue);
        if !queue.open {
            return Err(Rejected::ShutDown);
        }
        if side.in_flight.get() >= side.max_in_flight {
            return Err(Rejected::Full);
        }
        let key = side.tickets.borrow_mut().insert(owner);
        queue.jobs.push_back(Job {
            key,
            run: Box::new(job),
        });
        drop(queue);
        side.shared.job_queued.notify_one();
        side.in_flight.set(side.in_flight.get() + 1);
        Ok(JobTicket {
            side: Rc::downgrade(side),
            key,
        })
    }

    /// Wakes `owner` once, the next time `complete` collects a job (so `submit` may find room)
    /// or after a shutdown (so it learns `Rejected::ShutDown`). For a task that got
    /// `Rejected::Full` and would rather wait than give up.
    pub fn wait_for_space(&self, owner: TaskId) {
        let mut waiters = self.side.space_waiters.borrow_mut();
        if !waiters.contains(&owner) {
            waiters.push(owner);
        }
    }

    /// Collects finished jobs: stores each result in its ticket and calls `wake` with the
    /// ticket's owner, or drops the result if the ticket is gone. Then, if there is room, wakes
    /// every task waiting for space; those that lose the race get `Full` again and wait again.
    /// The loop's completion task calls it whenever `fd` is readable; an extra call is harmless.
    pub fn complete(&self, mut wake: impl FnMut(TaskId)) {
        let side = &self.side;
        // Read the eventfd before taking the batch: a completion pushed after the take finds
        // the completion queue empty and signals again. `WouldBlock` only means an earlier call already
        // collected what this signal announced; no other error can occur on our own eventfd.
        let _ = side.shared.eventfd.drain();
        let mut batch = side.batch.take();
        std::mem::swap(&mut *lock(&side.shared.completed), &mut batch);
        side.in_flight.set(side.in_flight.get() - batch.len());
        for done in batch.drain(..) {
            let owner = side.tickets.borrow_mut().deliver(done.key, done.result);
            // No borrow is held here: `wake` may well take a ticket's result.
            if let Some(owner) = owner {
                wake(owner);
            }
        }
        side.batch.replace(batch);
        // After a shutdown only running jobs remain, at most `threads`, below the limit: the
        // waiters are always woken then.
        if side.in_flight.get() < side.max_in_flight {
            let waiters = side.space_waiters.take();
            waiters.into_iter().for_each(wake);
        }
    }

    /// Jobs submitted and not yet collected by `complete`: queued, running, or finished. After
    /// a `shutdown`, the completion task can finish when this reaches zero.
    /// Whether `submit` would take a job now, without handing one over: for a caller whose
    /// job owns something it must not lose on a refusal. Exact, as only the loop thread
    /// submits, collects and shuts down.
    pub fn check(&self) -> Result<(), Rejected> {
        if !lock(&self.side.shared.queue).open {
            return Err(Rejected::ShutDown);
        }
        if self.side.in_flight.get() >= self.side.max_in_flight {
            return Err(Rejected::Full);
        }
        Ok(())
    }

    pub fn in_flight(&self) -> usize {
        self.side.in_flight.get()
    }

    /// Stops taking jobs; jobs still queued are removed, dropped unrun, and reported to their
    /// owners as `JobError::Cancelled` through `complete`. Running jobs finish. Idempotent.
    pub fn shutdown(&self) {
        let shared = &self.side.shared;
        let cancelled = {
            let mut queue = lock(&shared.queue);
            if !queue.open {
                return;
            }
            queue.open = false;
            std::mem::take(&mut queue.jobs)
        };
        shared.job_queued.notify_all();
        let keys: Vec<Key> = cancelled.iter().map(|job| job.key).collect();
        // The jobs (and what they captured) are dropped here, outside every lock.
        drop(cancelled);
        lock(&shared.completed).extend(keys.into_iter().map(|key| Done {
            key,
            result: Err(JobError::Cancelled),
        }));
        // Once, unconditionally: the cancelled owners and the space waiters must hear of it.
        shared.eventfd.signal();
    }

    /// Shuts down, then waits until `deadline` for the running jobs to end and the threads to
    /// return. True if they all did; false if some were still running, left detached.
    pub fn join(mut self, deadline: Instant) -> bool {
        self.shutdown();
        let shared = Arc::clone(&self.side.shared);
        let threads = std::mem::take(&mut self.threads);
        let timeout = deadline.saturating_duration_since(Instant::now());
        let live = lock(&shared.live_workers);
        let (live, _) = shared
            .worker_left
            .wait_timeout_while(live, timeout, |live| *live > 0)
            .unwrap_or_else(PoisonError::into_inner);
        let all_left = *live == 0;
        drop(live);
        if all_left {
            for thread in threads {
                // Each has counted itself out and is returning. None panics: jobs run under
                // catch_unwind, and nothing else a worker does can panic.
                let _ = thread.join();
            }
        }
        all_left
    }
}

impl<O: Send + 'static> Drop for Pool<O> {
    /// Shuts down and detaches the threads: a drop never waits for a job.
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl<O> JobTicket<O> {
    /// The job's result, once: `None` before it has arrived, after it was taken, and once the
    /// pool is gone.
    pub fn take(&self) -> Option<Result<O, JobError>> {
        let side = self.side.upgrade()?;
        let mut tickets = side.tickets.borrow_mut();
        let entry = tickets.get_mut(self.key)?;
        match std::mem::replace(&mut entry.outcome, Outcome::Taken) {
            Outcome::Arrived(result) => Some(result),
            other => {
                entry.outcome = other;
                None
            }
        }
    }
}

impl<O> Drop for JobTicket<O> {
    /// Cancels the job: its result is dropped here if it had arrived, or when it arrives;
    /// if it is still queued, it is removed and dropped without running.
    fn drop(&mut self) {
        let Some(side) = self.side.upgrade() else {
            return;
        };
        let entry = side.tickets.borrow_mut().remove(self.key);
        if !matches!(entry.map(|entry| entry.outcome), Some(Outcome::Pending)) {
            return;
        }
        let job = {
            let mut queue = lock(&side.shared.queue);
            let position = queue.jobs.iter().position(|job| job.key == self.key);
            position.and_then(|position| queue.jobs.remove(position))
        };
        // Not queued: it is running or done, and `complete` will drop its result.
        if let Some(job) = job {
            drop(job);
            side.in_flight.set(side.in_flight.get() - 1);
            // Room was made without a completion: have `complete` tell the waiters.
            if !side.space_waiters.borrow().is_empty() {
                side.shared.eventfd.signal();
            }
        }
    }
}

/// How much less a worker thread weighs than the loop's thread when they share a core
/// (a `nice` value: at 10 the loop gets about nine tenths of a contended core). Jobs are
/// compression and disk reads; a request waiting on the loop should not wait on them.
const WORKER_NICE: i32 = 10;

/// A worker thread: takes jobs until the queue is empty and closed.
fn work<O>(shared: &Shared<O>) {
    // Unprivileged processes may lower their own threads' priority; if even that is refused,
    // the worker runs at the loop's priority, as it would have.
    let _ = process::lower_thread_priority(WORKER_NICE);
    loop {
        let job = {
            let queue = lock(&shared.queue);
            let mut queue = shared
                .job_queued
                .wait_while(queue, |queue| queue.jobs.is_empty() && queue.open)
                .unwrap_or_else(PoisonError::into_inner);
            queue.jobs.pop_front()
        };
        let Some(Job { key, run }) = job else {
            break; // closed and empty
        };
        let result = panic::catch_unwind(AssertUnwindSafe(run)).map_err(|_| JobError::Panicked);
        let was_empty = {
            let mut completed = lock(&shared.completed);
            let was_empty = completed.is_empty();
            completed.push(Done { key, result });
            was_empty
        };
        // A non-empty queue was signalled already and not yet taken: one wake-up covers both.
        if was_empty {
            shared.eventfd.signal();
        }
    }
    *lock(&shared.live_workers) -= 1;
    shared.worker_left.notify_all();
}

/// Locks `mutex`, ignoring poisoning: no code that can panic runs under these locks (jobs run
/// and are dropped outside them), and each critical section leaves the data whole.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

mod tickets;

use tickets::{Key, Outcome, Tickets};

#[cfg(test)]
mod tests;
