//! Cold file data: before `Send` hands a chunk of a file to `sendfile`, it asks, without
//! waiting, whether the chunk is in the page cache (`sys::file::is_cached`). If it is not,
//! `sendfile` would block the whole loop on the disk, so a worker reads the chunk in
//! (`sys::file::read_into_cache`) while the connection waits in `AwaitFileData`; then `Send`
//! goes on, on the loop, and finds the pages there.
//!
//! Invariants: the loop never waits for the disk on a chunk it found cold (a chunk evicted
//! again between a worker's read and the send that follows at once is the exception); every
//! `sendfile` is preceded by the question, as pages may be evicted while a client is slow to
//! read, except for the bytes a worker has just read in (`FileBody::offset` to `cached_end`),
//! so `sendfile` is never given more than is known; the send deadline stays in force while the worker reads, so a disk slower
//! than the send timeout closes the connection, and dropping the ticket cancels the job.
//! Without a pool (a simulation), or when it has shut down, or when the answer is unknown,
//! the chunk is sent at once, as it was before this step existed.

use std::os::fd::AsFd;
use std::time::Instant;

use crate::runtime::pool::{JobTicket, Rejected};
use crate::runtime::task::{Step, TaskContext};
use crate::runtime::transport::Transport;
use crate::server::conn::{Connection, Flow, Next, SEND_BUDGET_BYTES, State};
use crate::server::jobs::JobOutput;
use crate::server::render::FileBody;
use crate::sys::file;

/// Bytes of a cold file a worker reads in per job: a quarter of a send chunk, so the first
/// bytes of a cold response leave after one such read rather than a whole chunk's, while
/// each read is still large enough for the disk to stream it.
pub const READ_IN_BYTES: usize = 256 * 1024;

impl<S: Transport> Connection<S> {
    /// How many bytes from `body.offset` may go to `sendfile` now: up to a send chunk of
    /// them, all found cached (or just read in by a worker, up to `cached_end`), or, without
    /// a pool to read them in, a send chunk as they are. 0: the next bytes are on disk only.
    ///
    /// A whole chunk even when the budget has less left: the budget decides whether to
    /// write again, not how much, so a 1 MiB file is not split into 1 MiB and a tail.
    pub(super) fn sendable_len(&self, body: &mut FileBody) -> usize {
        let len = chunk_len(body, SEND_BUDGET_BYTES);
        // A compressed variant is sent from memory: there is no disk to wait for.
        if body.variant.is_some() {
            return len;
        }
        if body.offset < body.cached_end {
            return len.min(usize::try_from(body.cached_end - body.offset).unwrap_or(len));
        }
        if self.shared.pool().is_none() {
            return len;
        }
        // An unanswerable question (a file system without the means to tell) is treated as
        // "cached": sending on the loop is what the server did before it could ask.
        // Asked again before every `sendfile`, not remembered: between two sends the client
        // may take its time, and pages found cached then may be evicted by now.
        if file::is_cached(body.file.file.as_fd(), body.offset, len).unwrap_or(true) {
            return len;
        }
        0
    }

    /// The next chunk of `body` is cold: hands its reading to a worker and waits in
    /// `AwaitFileData`, or for room in the pool when it is full (backpressure: nothing is
    /// queued beyond its bound). If the pool has shut down or the file cannot be handed
    /// over, the chunk is sent on the loop after all.
    pub(super) fn read_in(
        &mut self,
        body: Box<FileBody>,
        then: Next,
        deadline: Instant,
        cx: &mut TaskContext<'_>,
    ) -> (State, Flow) {
        let Some(pool) = self.shared.pool() else {
            return send_now(body, then, deadline);
        };
        let Ok(handle) = body.file.file.try_clone() else {
            return send_now(body, then, deadline);
        };
        let offset = body.offset;
        let len = chunk_len(&body, READ_IN_BYTES);
        let job = move || {
            // An error reading is the next `sendfile`'s to report: it reads the same bytes.
            let _ = file::read_into_cache(handle.as_fd(), offset, len);
            JobOutput::InPageCache
        };
        let ticket = match pool.submit(cx.id(), job) {
            Ok(ticket) => Some(ticket),
            Err(Rejected::Full) => {
                pool.wait_for_space(cx.id());
                None
            }
            Err(Rejected::ShutDown) => return send_now(body, then, deadline),
        };
        let state = State::AwaitFileData {
            file: body,
            then,
            deadline,
            ticket,
        };
        (state, Flow::Stop(Step::Blocked))
    }

    /// Resumed in `AwaitFileData`: by the pool with the job's result or with room to submit
    /// it, or by the socket (nothing to do until the data is in).
    pub(super) fn await_file_data(
        &mut self,
        mut body: Box<FileBody>,
        then: Next,
        deadline: Instant,
        ticket: Option<JobTicket<JobOutput>>,
        cx: &mut TaskContext<'_>,
    ) -> (State, Flow) {
        let Some(ticket) = ticket else {
            return self.read_in(body, then, deadline, cx);
        };
        match ticket.take() {
            None => {
                let state = State::AwaitFileData {
                    file: body,
                    then,
                    deadline,
                    ticket: Some(ticket),
                };
                (state, Flow::Stop(Step::Blocked))
            }
            // Read in, or failed, or cancelled by a shutdown: either way `sendfile` goes on
            // and meets what the disk has to say itself.
            Some(_) => {
                body.cached_end = body.offset + chunk_len(&body, READ_IN_BYTES) as u64;
                let state = State::Send {
                    file: Some(body),
                    then,
                    deadline,
                };
                (state, Flow::Continue)
            }
        }
    }
}

/// The bytes of the current range from `body.offset`, at most `max`.
fn chunk_len(body: &FileBody, max: usize) -> usize {
    usize::try_from(body.end - body.offset).map_or(max, |left| left.min(max))
}

/// Back to `Send` without a job: the chunk goes to `sendfile` on the loop, cold or not.
fn send_now(mut body: Box<FileBody>, then: Next, deadline: Instant) -> (State, Flow) {
    body.cached_end = body.offset + chunk_len(&body, SEND_BUDGET_BYTES) as u64;
    let state = State::Send {
        file: Some(body),
        then,
        deadline,
    };
    (state, Flow::Continue)
}
