//! Deadlines: which one each state waits under, what happens when it passes, and how the
//! task's timer follows it without rewriting the timer set on every request.

use std::time::{Duration, Instant};

use crate::http::Status;
use crate::runtime::task::TaskContext;
use crate::runtime::transport::Transport;
use crate::server::conn::{Connection, State, TIMER_SLACK};
use crate::server::metrics::TimeoutKind;

/// How long a new connection that has sent nothing yet is still waited for once a drain has
/// begun: its first request may already be on the way (it was accepted just before the
/// drain, or just before an upgrade handed the socket on), and, unlike a keep-alive client,
/// its client was never told it may have to retry. About the round trip of a distant client.
pub const DRAIN_FIRST_REQUEST_GRACE: Duration = Duration::from_millis(300);

impl<S: Transport> Connection<S> {
    /// The drain has begun: a new connection still waiting for its first request gets
    /// `DRAIN_FIRST_REQUEST_GRACE` at most, then closes quietly at its deadline.
    pub(super) fn shorten_first_wait(&mut self, now: Instant) {
        if let State::ReadHead { deadline, .. } = &mut self.state
            && self.input.is_empty()
            && !self.slot.has_served()
        {
            *deadline = (*deadline).min(now + DRAIN_FIRST_REQUEST_GRACE);
        }
    }

    pub(super) fn deadline(&self) -> Option<Instant> {
        match &self.state {
            State::ReadProxyHeader { deadline }
            | State::Handshake { deadline }
            | State::ReadHead { deadline, .. }
            | State::DiscardBody { deadline, .. }
            | State::AwaitJob { deadline, .. }
            | State::AwaitListing { deadline, .. }
            | State::AwaitAuth { deadline, .. }
            | State::Send { deadline, .. }
            | State::AwaitFileData { deadline, .. }
            | State::Linger { deadline } => Some(*deadline),
            State::Done => None,
        }
    }

    /// The current state's deadline has passed.
    pub(super) fn on_deadline(&mut self, cx: &mut TaskContext<'_>) {
        if let Some(metrics) = self.shared.metrics() {
            metrics.timed_out(self.timeout_kind());
        }
        self.state = match std::mem::replace(&mut self.state, State::Done) {
            // A head or a body begun but not finished in time: tell the client (RFC 9110
            // §15.5.9). Empty lines count as a begun head.
            State::ReadHead { .. } if !self.input.is_empty() => {
                self.input.clear();
                self.error_response(Status::RequestTimeout, None, cx)
            }
            State::DiscardBody { held, .. } => {
                self.input.clear();
                self.refuse(Status::RequestTimeout, held.log_line, cx)
            }
            State::AwaitJob { job, .. } => self.give_up_job(job, cx),
            State::AwaitListing { listing, .. } => self.give_up_listing(listing, cx),
            State::AwaitAuth { auth, deadline } => self.auth_deadline(auth, deadline, cx),
            _ => State::Done,
        };
    }

    /// What the current state's deadline bounds, for the metrics.
    fn timeout_kind(&self) -> TimeoutKind {
        match &self.state {
            // Between requests; a connection that never sent one is under the head timeout.
            State::ReadHead { .. } if self.input.is_empty() && self.slot.has_served() => {
                TimeoutKind::KeepAlive
            }
            State::ReadHead { .. } => TimeoutKind::Head,
            State::DiscardBody { .. } => TimeoutKind::Body,
            State::Send { .. } | State::Linger { .. } => TimeoutKind::Send,
            State::Handshake { .. } => TimeoutKind::Handshake,
            State::ReadProxyHeader { .. } => TimeoutKind::ProxyHeader,
            _ => TimeoutKind::Job,
        }
    }
}

/// Sets the task's deadline, unless the one already set is at most `TIMER_SLACK` earlier:
/// a keep-alive connection moves its deadline on every request, and rewriting the timer set
/// each time would cost more than an early wake-up, which `on_deadline` recognises (the
/// state's own deadline has not passed) and answers by re-arming.
pub(super) fn arm_deadline(cx: &mut TaskContext<'_>, wanted: Option<Instant>) {
    if let (Some(current), Some(wanted)) = (cx.deadline(), wanted)
        && current <= wanted
        && wanted - current < TIMER_SLACK
    {
        return;
    }
    cx.set_deadline(wanted);
}
