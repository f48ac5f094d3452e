//! Waiting for a directory listing: `AwaitListing`, entered by a response that names a
//! directory to list (`Reply::List`) and left with the page made.
//!
//! Reading a directory and sorting up to `LISTING_MAX_READ` entries can wait for the disk and
//! take tens of milliseconds, so a worker builds the page (`PendingListing::build`) while the
//! connection waits, its send deadline in force; every other connection goes on. A full pool
//! makes the connection wait for room; with no pool to take it (shut down, or a job refused),
//! the page is built on the loop, as it was before there was a pool. A panicking job answers
//! 500; a listing that outlives the deadline answers 503.

use std::time::Instant;

use crate::http::Status;
use crate::runtime::error_log::{self, Event};
use crate::runtime::pool::{JobError, JobTicket, Rejected};
use crate::runtime::task::{Step, TaskContext};
use crate::runtime::transport::Transport;
use crate::server::conn::{AwaitedListing, Connection, Flow, Held, State};
use crate::server::handler::{self, Reply};
use crate::server::jobs::JobOutput;

impl<S: Transport> Connection<S> {
    /// Answers `held`, which names a directory to list: hands the listing to a worker.
    pub(super) fn list(
        &mut self,
        held: Held,
        body_unread: bool,
        cx: &mut TaskContext<'_>,
    ) -> State {
        let waiting = Box::new(AwaitedListing {
            held,
            body_unread,
            ticket: None,
        });
        let deadline = cx.now() + self.shared.timeouts().send;
        State::AwaitListing {
            listing: waiting,
            deadline,
        }
    }

    /// Runs `AwaitListing` as far as it goes without waiting: submits the job (again, after
    /// the pool was full), or takes its result.
    pub(super) fn await_listing(
        &mut self,
        mut listing: Box<AwaitedListing>,
        deadline: Instant,
        cx: &mut TaskContext<'_>,
    ) -> (State, Flow) {
        let reply = match listing.ticket.take() {
            None => match self.submit_listing(&mut listing.held, cx) {
                Ok(ticket) => {
                    listing.ticket = Some(ticket);
                    return waiting(listing, deadline);
                }
                Err(Rejected::Full) => return waiting(listing, deadline),
                Err(Rejected::ShutDown) => build_here(&mut listing.held),
            },
            Some(ticket) => match ticket.take() {
                None => {
                    listing.ticket = Some(ticket);
                    return waiting(listing, deadline);
                }
                Some(Ok(JobOutput::Listing(page))) => handler::listing_reply(page),
                Some(Ok(_) | Err(JobError::Cancelled)) => Reply::Error(Status::ServiceUnavailable),
                Some(Err(JobError::Panicked)) => {
                    error_log::error(
                        Event::InternalError,
                        format_args!("500: a directory listing job panicked"),
                    );
                    Reply::Error(Status::InternalServerError)
                }
            },
        };
        listing.held.reply = reply;
        let AwaitedListing {
            held, body_unread, ..
        } = *listing;
        (self.answer(held, body_unread, cx), Flow::Continue)
    }

    /// The listing took longer than the send timeout: 503, and its job is cancelled with
    /// its ticket.
    pub(super) fn give_up_listing(
        &mut self,
        listing: Box<AwaitedListing>,
        cx: &mut TaskContext<'_>,
    ) -> State {
        let AwaitedListing {
            mut held,
            body_unread,
            ..
        } = *listing;
        held.reply = Reply::Error(Status::ServiceUnavailable);
        self.answer(held, body_unread, cx)
    }

    /// Hands the pending listing in `held.reply` to the pool. On `Full` it stays there and
    /// the connection asks to be woken when there is room.
    fn submit_listing(
        &self,
        held: &mut Held,
        cx: &TaskContext<'_>,
    ) -> Result<JobTicket<JobOutput>, Rejected> {
        let Some(pool) = self.shared.pool() else {
            return Err(Rejected::ShutDown);
        };
        if let Err(rejected) = pool.check() {
            if rejected == Rejected::Full {
                pool.wait_for_space(cx.id());
            }
            return Err(rejected);
        }
        let Reply::List(pending) = std::mem::replace(&mut held.reply, Reply::Options) else {
            return Err(Rejected::ShutDown);
        };
        pool.submit(cx.id(), move || JobOutput::Listing(pending.build()))
    }
}

/// Builds the listing on the loop: there is no pool to take it. (Were the pending listing
/// gone, refused by a pool that had just said it would take it, there is nothing to build.)
fn build_here(held: &mut Held) -> Reply {
    match std::mem::replace(&mut held.reply, Reply::Options) {
        Reply::List(pending) => handler::listing_reply(pending.build()),
        _ => Reply::Error(Status::ServiceUnavailable),
    }
}

fn waiting(listing: Box<AwaitedListing>, deadline: Instant) -> (State, Flow) {
    (
        State::AwaitListing { listing, deadline },
        Flow::Stop(Step::Blocked),
    )
}
