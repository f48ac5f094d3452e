//! Waiting for a worker job: `AwaitJob`, entered by a response that needs a variant
//! compressed on the fly (`Reply::Compress`) and left, with the reply made, when the variant
//! is there.
//!
//! ```text
//!   answer --Reply::Compress--> ask the cache --hit / known identity--> render
//!                                 |        ^ \--another request's job runs--> wait (Variant)
//!                                 |        +------- notified by its finish ------/
//!                                 v
//!                   submit --queue full--> wait (Space) --pool has room--> submit
//!                     |
//!                     v
//!                   wait (Job) --result--> cache.finish, wake its waiters --> render
//! ```
//!
//! Every wait has the send timeout as its deadline; on it the request is answered with the
//! file as it is. Ownership: the request whose `begin` said `Started` owns the key's job
//! until it calls `finish` or `abandon`; if it goes away owning it (timeout, dropped
//! connection), it abandons the key and wakes the waiters, so one of them starts it again.
//! A job that panicked answers 500 and is remembered as "send identity" for its key.

use std::rc::Rc;
use std::time::Instant;

use crate::http::Status;
use crate::runtime::error_log::{self, Event};
use crate::runtime::pool::{JobError, JobTicket, Rejected};
use crate::runtime::task::{Step, TaskContext, TaskId};
use crate::runtime::transport::Transport;
use crate::server::conn::{AwaitedJob, Connection, Flow, Held, State, Wait};
use crate::server::handler::{self, Reply};
use crate::server::jobs::JobOutput;
use crate::site::compress::{self, Begin, CompressedVariant, VariantKey};

impl AwaitedJob {
    /// The key this request must abandon if it gives up: the one whose job it owns.
    fn owned_key(&self) -> Option<VariantKey> {
        match self.wait {
            Wait::Cache => None,
            Wait::Space | Wait::Job(_) => Some(self.key),
        }
    }
}

impl<S: Transport> Connection<S> {
    /// Answers `held`, first making its variant if it needs one.
    pub(super) fn answer_or_compress(
        &mut self,
        held: Held,
        body_unread: bool,
        cx: &mut TaskContext<'_>,
    ) -> State {
        let pending = match &held.reply {
            Reply::Compress(pending) => pending,
            Reply::List(_) => return self.list(held, body_unread, cx),
            _ => return self.answer(held, body_unread, cx),
        };
        let job = Box::new(AwaitedJob {
            key: pending.key,
            held,
            body_unread,
            wait: Wait::Cache,
        });
        State::AwaitJob {
            job,
            deadline: cx.now() + self.shared.timeouts().send,
        }
    }

    /// Runs `AwaitJob` as far as it goes without waiting.
    pub(super) fn await_job(
        &mut self,
        mut job: Box<AwaitedJob>,
        deadline: Instant,
        cx: &mut TaskContext<'_>,
    ) -> (State, Flow) {
        loop {
            let variant = match std::mem::replace(&mut job.wait, Wait::Cache) {
                Wait::Cache => match self.begin(job.key, cx.id()) {
                    Some(Begin::Hit(variant)) => Some(variant),
                    Some(Begin::Identity) | None => None,
                    Some(Begin::Started) => {
                        job.wait = Wait::Space;
                        continue;
                    }
                    Some(Begin::AlreadyRunning) => return blocked(job, deadline),
                },
                Wait::Space => match self.submit(&job, cx) {
                    Ok(ticket) => {
                        job.wait = Wait::Job(ticket);
                        return blocked(job, deadline);
                    }
                    Err(Rejected::Full) => {
                        job.wait = Wait::Space;
                        return blocked(job, deadline);
                    }
                    Err(Rejected::ShutDown) => {
                        self.abandon_job(job.key, cx);
                        None
                    }
                },
                Wait::Job(ticket) => match ticket.take() {
                    None => {
                        job.wait = Wait::Job(ticket);
                        return blocked(job, deadline);
                    }
                    Some(Ok(JobOutput::Compressed(result))) => self.finish_job(job.key, result, cx),
                    // A compression ticket never carries another job's output; were it to,
                    // the file goes out as it is.
                    Some(Err(JobError::Cancelled))
                    | Some(Ok(
                        JobOutput::InPageCache | JobOutput::Listing(_) | JobOutput::ContentHashed,
                    )) => {
                        self.abandon_job(job.key, cx);
                        None
                    }
                    // A compression job never answers `Verified`.
                    Some(Err(JobError::Panicked) | Ok(JobOutput::Verified(_))) => {
                        error_log::error(
                            Event::InternalError,
                            format_args!("500: a compression job panicked"),
                        );
                        self.finish_job(job.key, None, cx);
                        job.held.reply = Reply::Error(Status::InternalServerError);
                        return (self.answer(job.held, job.body_unread, cx), Flow::Continue);
                    }
                },
            };
            return (self.reply_with(*job, variant, cx), Flow::Continue);
        }
    }

    /// The wait is over (its deadline): the file is sent as it is.
    pub(super) fn give_up_job(&mut self, job: Box<AwaitedJob>, cx: &mut TaskContext<'_>) -> State {
        if let Some(key) = job.owned_key() {
            self.abandon_job(key, cx);
        }
        self.reply_with(*job, None, cx)
    }

    fn begin(&self, key: VariantKey, waiter: TaskId) -> Option<Begin> {
        let compression = self.shared.compression()?;
        Some(compression.cache().begin(key, waiter.to_u64()))
    }

    /// Hands the job to the pool; on `Full`, asks to be woken when there is room.
    fn submit(
        &self,
        job: &AwaitedJob,
        cx: &TaskContext<'_>,
    ) -> Result<JobTicket<JobOutput>, Rejected> {
        let (Some(pool), Reply::Compress(pending)) = (self.shared.pool(), &job.held.reply) else {
            return Err(Rejected::ShutDown);
        };
        let file = &pending.selected.file;
        // A duplicate descriptor: the worker reads with pread, the loop keeps its own.
        let Ok(dup) = file.file.try_clone() else {
            return Err(Rejected::ShutDown);
        };
        // `select` compresses only a file whose tag is known; without one, send identity.
        let Some(etag) = file.etag().map(Box::<[u8]>::from) else {
            return Err(Rejected::ShutDown);
        };
        let (identity, level) = (file.file_identity(), pending.level);
        let coding = job.key.coding;
        let submitted = pool.submit(cx.id(), move || {
            JobOutput::Compressed(compress::compress_file(
                &dup, identity, coding, level, &etag,
            ))
        });
        if submitted.as_ref().err() == Some(&Rejected::Full) {
            pool.wait_for_space(cx.id());
        }
        submitted
    }

    /// Stores the job's result and wakes the requests that waited for it.
    fn finish_job(
        &self,
        key: VariantKey,
        result: Option<CompressedVariant>,
        cx: &mut TaskContext<'_>,
    ) -> Option<Rc<CompressedVariant>> {
        let finished = self.shared.compression()?.cache().finish(key, result);
        for waiter in finished.waiters {
            cx.notify(TaskId::from_u64(waiter));
        }
        finished.variant
    }

    fn abandon_job(&self, key: VariantKey, cx: &mut TaskContext<'_>) {
        let Some(compression) = self.shared.compression() else {
            return;
        };
        for waiter in compression.cache().abandon(key) {
            cx.notify(TaskId::from_u64(waiter));
        }
    }

    /// Makes the reply with the variant (`None`: identity) and answers it.
    fn reply_with(
        &mut self,
        mut job: AwaitedJob,
        variant: Option<Rc<CompressedVariant>>,
        cx: &mut TaskContext<'_>,
    ) -> State {
        if let Reply::Compress(pending) = std::mem::replace(&mut job.held.reply, Reply::Options) {
            job.held.reply = handler::with_variant(*pending, variant);
        }
        self.answer(job.held, job.body_unread, cx)
    }
}

impl<S> Connection<S> {
    /// On drop: a job this connection owns is abandoned, and its waiters woken.
    pub(super) fn drop_job(&mut self) {
        let State::AwaitJob { job, .. } = &self.state else {
            return;
        };
        let (Some(key), Some(compression)) = (job.owned_key(), self.shared.compression()) else {
            return;
        };
        for waiter in compression.cache().abandon(key) {
            self.shared.notifier().notify(TaskId::from_u64(waiter));
        }
    }
}

fn blocked(job: Box<AwaitedJob>, deadline: Instant) -> (State, Flow) {
    (State::AwaitJob { job, deadline }, Flow::Stop(Step::Blocked))
}
