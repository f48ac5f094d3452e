//! Basic authentication on the connection: the check a request for a protected path passes
//! right after its path is normalised, before anything about the resource is looked up, and
//! `AwaitAuth`, where it waits for its credentials to be verified.
//!
//! ```text
//!   head parsed --not protected--> handler
//!        |  \--no credentials--> 401      \--verified lately--> handler (private)
//!        v
//!   throttled? --wait for the deadline--> submit --queue full--> wait (Space) --room--> submit
//!                                            |
//!                                            v
//!                     wait (Job) --match--> remember, handler (private)
//!                                \--no match--> count the failure, 401
//! ```
//!
//! Invariants: nothing the handler would reveal (a 404 rather than 403, a 304, a 206, a
//! listing, a redirect, an ETag) reaches a client whose credentials were not accepted, since
//! the handler is not called for it at all; bcrypt never runs on the loop thread; the wait
//! always has a deadline: the throttle's end, then the send timeout (503 when it passes, or
//! when the pool is shutting down). The request's head stays at the front of the input
//! buffer while it waits and is parsed again afterwards, which cannot fail the second time.

use std::rc::Rc;
use std::time::Instant;

use crate::http::Status;
use crate::http::path;
use crate::http::request::{Request, Target};
use crate::runtime::error_log::{self, Event};
use crate::runtime::pool::{JobError, JobTicket, Rejected};
use crate::runtime::task::{Step, TaskContext};
use crate::runtime::transport::Transport;
use crate::server::access_log::line::PendingLine;
use crate::server::conn::{AuthWait, AwaitedAuth, Connection, Flow, State, Suspended};
use crate::server::handler::Reply;
use crate::server::jobs::JobOutput;
use crate::site::auth::verified::Digest;
use crate::site::auth::{Check, Verifier};

/// What a request may see, as far as can be told without waiting.
pub(super) enum Access {
    /// No credentials needed.
    Open,
    /// Credentials verified lately: the response is private.
    Granted,
    /// 401 with this challenge.
    Refused(Rc<[u8]>),
    /// Credentials to verify first.
    Verify(Pending),
}

/// Credentials to verify, not before `not_before` (their address is throttled).
pub(super) struct Pending {
    verifier: Verifier,
    digest: Digest,
    not_before: Option<Instant>,
}

/// How a verification ended.
enum Verdict {
    Granted,
    Denied,
    Failed(Status),
}

impl<S: Transport> Connection<S> {
    /// The access `request` has. With authentication off this is one test of an `Option`.
    pub(super) fn access(&self, request: &Request<'_>, now: Instant) -> Access {
        let Some(auth) = self.shared.auth() else {
            return Access::Open;
        };
        let Target::Path { path, .. } = request.target else {
            return Access::Open;
        };
        let mut scratch = self.shared.path_scratch();
        // A path that does not normalise is refused by the handler whatever it names, so
        // that answer reveals nothing about the protected files.
        let Ok(path) = path::normalize(path, &mut scratch) else {
            return Access::Open;
        };
        if !auth.protects(path.relative()) {
            return Access::Open;
        }
        match auth.check(request.authorization, self.peer, now) {
            Check::Granted => Access::Granted,
            Check::Refused => Access::Refused(auth.challenge()),
            Check::Verify {
                verifier,
                digest,
                not_before,
            } => Access::Verify(Pending {
                verifier,
                digest,
                not_before,
            }),
        }
    }

    /// Enters `AwaitAuth` for the request whose head is `head_len` bytes long.
    pub(super) fn begin_auth(
        &self,
        head_len: usize,
        log_line: Option<PendingLine>,
        pending: Pending,
        cx: &TaskContext<'_>,
    ) -> State {
        let Pending {
            verifier,
            digest,
            not_before,
        } = pending;
        let (wait, deadline) = match not_before {
            Some(until) => (AuthWait::Throttled(verifier), until),
            None => (
                AuthWait::Space(verifier),
                cx.now() + self.shared.timeouts().send,
            ),
        };
        let request = Suspended {
            head_len,
            log_line,
            digest,
        };
        let auth = Box::new(AwaitedAuth { request, wait });
        State::AwaitAuth { auth, deadline }
    }

    /// Runs `AwaitAuth` as far as it goes without waiting.
    pub(super) fn await_auth(
        &mut self,
        auth: AwaitedAuth,
        deadline: Instant,
        cx: &mut TaskContext<'_>,
    ) -> (State, Flow) {
        let now = cx.now();
        let AwaitedAuth { request, wait } = auth;
        let verdict = match wait {
            AuthWait::Throttled(verifier) if now < deadline => {
                return park(request, AuthWait::Throttled(verifier), deadline);
            }
            // The throttle is over: the verification gets the send timeout from now.
            AuthWait::Throttled(verifier) => match self.submit_verification(&verifier, cx) {
                Ok(ticket) => {
                    return park(request, AuthWait::Job(ticket), now + self.send_timeout());
                }
                Err(Rejected::Full) => {
                    return park(
                        request,
                        AuthWait::Space(verifier),
                        now + self.send_timeout(),
                    );
                }
                Err(Rejected::ShutDown) => Verdict::Failed(Status::ServiceUnavailable),
            },
            AuthWait::Space(verifier) => match self.submit_verification(&verifier, cx) {
                Ok(ticket) => return park(request, AuthWait::Job(ticket), deadline),
                Err(Rejected::Full) => return park(request, AuthWait::Space(verifier), deadline),
                Err(Rejected::ShutDown) => Verdict::Failed(Status::ServiceUnavailable),
            },
            AuthWait::Job(ticket) => match ticket.take() {
                None => return park(request, AuthWait::Job(ticket), deadline),
                Some(Ok(JobOutput::Verified(true))) => Verdict::Granted,
                Some(Ok(JobOutput::Verified(false))) => Verdict::Denied,
                Some(Err(JobError::Cancelled)) => Verdict::Failed(Status::ServiceUnavailable),
                Some(
                    Ok(
                        JobOutput::Compressed(_)
                        | JobOutput::Listing(_)
                        | JobOutput::InPageCache
                        | JobOutput::ContentHashed,
                    )
                    | Err(JobError::Panicked),
                ) => {
                    error_log::error(
                        Event::InternalError,
                        format_args!("500: a password verification job failed"),
                    );
                    Verdict::Failed(Status::InternalServerError)
                }
            },
        };
        (self.conclude(request, verdict, cx), Flow::Continue)
    }

    /// `AwaitAuth`'s deadline passed: a throttled request goes on to be verified; one whose
    /// verification did not finish in time gets 503.
    pub(super) fn auth_deadline(
        &mut self,
        auth: Box<AwaitedAuth>,
        deadline: Instant,
        cx: &mut TaskContext<'_>,
    ) -> State {
        if matches!(auth.wait, AuthWait::Throttled(_)) {
            return State::AwaitAuth { auth, deadline };
        }
        let failed = Verdict::Failed(Status::ServiceUnavailable);
        self.conclude(auth.request, failed, cx)
    }

    fn send_timeout(&self) -> std::time::Duration {
        self.shared.timeouts().send
    }

    fn submit_verification(
        &self,
        verifier: &Verifier,
        cx: &TaskContext<'_>,
    ) -> Result<JobTicket<JobOutput>, Rejected> {
        let Some(pool) = self.shared.pool() else {
            return Err(Rejected::ShutDown);
        };
        let verifier = verifier.clone();
        let submitted = pool.submit(cx.id(), move || JobOutput::Verified(verifier.verify()));
        if submitted.as_ref().err() == Some(&Rejected::Full) {
            pool.wait_for_space(cx.id());
        }
        submitted
    }

    /// Records the verdict and answers the request.
    fn conclude(
        &mut self,
        request: Suspended,
        verdict: Verdict,
        cx: &mut TaskContext<'_>,
    ) -> State {
        let now = cx.now();
        let reply = match (verdict, self.shared.auth()) {
            (Verdict::Granted, Some(mut state)) => {
                state.verified(request.digest, now);
                None
            }
            (Verdict::Denied, Some(mut state)) => {
                state.failed(self.peer, now);
                Some(Reply::Unauthorized(state.challenge()))
            }
            (Verdict::Failed(status), _) => Some(Reply::Error(status)),
            (Verdict::Granted | Verdict::Denied, None) => {
                Some(Reply::Error(Status::InternalServerError))
            }
        };
        self.respond_after_auth(request.head_len, request.log_line, reply, cx)
    }
}

/// Waits on: `AwaitAuth` until woken or `deadline`.
fn park(request: Suspended, wait: AuthWait, deadline: Instant) -> (State, Flow) {
    let auth = Box::new(AwaitedAuth { request, wait });
    (
        State::AwaitAuth { auth, deadline },
        Flow::Stop(Step::Blocked),
    )
}
