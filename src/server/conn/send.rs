//! Sending: `Send` writes the output buffer, then the file body if there is one (from
//! `sendfile`, a part at a time for `multipart/byteranges`, each chunk first found in the
//! page cache or read into it by a worker: see `cold`), within the send budget; then the
//! connection reads the next head, or closes, lingering (`Linger`) while the client may still
//! be sending.

use std::io;
use std::time::Instant;

use crate::runtime::task::{Step, TaskContext};
use crate::runtime::transport::Transport;
use crate::server::conn::{Budget, Connection, Flow, Inflow, LINGER_TIMEOUT, Next, State, Written};
use crate::server::render::{FileBody, Part};

impl<S: Transport> Connection<S> {
    /// Runs `Send` in its steps: the output buffer, then the file's current range, then its
    /// next part, until all is written; then `finish` picks what follows. Stops when the
    /// socket is full, the budget spent, or a write fails.
    pub(super) fn send(
        &mut self,
        mut file: Option<Box<FileBody>>,
        then: Next,
        mut deadline: Instant,
        budget: &mut Budget,
        cx: &mut TaskContext<'_>,
    ) -> (State, Flow) {
        // A response from the file cache may have given it its first entry: the cache's
        // sweeper, idle while it was empty, now has something to watch.
        if let Some(sweeper) = self.shared.sweeper_to_wake() {
            cx.notify(sweeper);
        }
        loop {
            let flow = self.write_output(file.as_deref(), budget, &mut deadline, cx);
            if let Flow::Stop(step) = flow {
                return stopped(file, then, deadline, step);
            }
            let Some(body) = file.as_deref_mut() else {
                break;
            };
            if body.offset == body.end {
                if !self.next_part(body) {
                    file = None;
                    self.log.file_done(cx);
                }
                continue;
            }
            let len = self.sendable_len(body);
            if len > 0 {
                if let Flow::Stop(step) = self.send_file_chunk(body, len, budget, &mut deadline, cx)
                {
                    return stopped(file, then, deadline, step);
                }
            } else if let Some(body) = file.take() {
                return self.read_in(body, then, deadline, cx);
            }
        }
        if let Flow::Stop(step) = self.flush_stream() {
            return stopped(None, then, deadline, step);
        }
        self.finish(then, budget, cx)
    }

    /// Writes what the output buffer holds, then empties it for the next responses.
    fn write_output(
        &mut self,
        file: Option<&FileBody>,
        budget: &mut Budget,
        deadline: &mut Instant,
        cx: &mut TaskContext<'_>,
    ) -> Flow {
        while self.output_sent < self.output.len() {
            if !self.can_write {
                return Flow::Stop(Step::Blocked);
            }
            // "More follows" holds a short segment back until the peer ACKs or ~200 ms
            // pass: only for output that file bytes will follow at once, never for the
            // end of a response (a keep-alive client is waiting for it).
            let more = file.is_some_and(FileBody::file_bytes_follow);
            let result = self.stream.send(&self.output[self.output_sent..], more);
            match self.wrote(result, budget, deadline, cx) {
                Written::Bytes(n) => self.output_sent += n,
                Written::Blocked => return Flow::Stop(Step::Blocked),
                Written::Failed => return Flow::Stop(Step::Done),
            }
        }
        self.log.output_written(cx);
        self.output.clear();
        self.output_sent = 0;
        Flow::Continue
    }

    /// The file's current range is done: queues the next part of a multipart body, a part
    /// header into the output buffer or the next range of the file. `false` when none is left.
    fn next_part(&mut self, body: &mut FileBody) -> bool {
        match body.parts.pop_front() {
            Some(Part::Bytes(bytes)) => {
                self.log.file_bytes(bytes.len() as u64);
                self.output.extend_from_slice(&bytes);
                true
            }
            Some(Part::Range(range)) => {
                body.offset = range.first;
                body.end = range.last + 1;
                body.cached_end = range.first;
                true
            }
            None => false,
        }
    }

    /// Sends the next `len` bytes of the file's current range (`sendable_len`) with `sendfile`.
    fn send_file_chunk(
        &mut self,
        body: &mut FileBody,
        len: usize,
        budget: &mut Budget,
        deadline: &mut Instant,
        cx: &mut TaskContext<'_>,
    ) -> Flow {
        if budget.send_bytes == 0 {
            return Flow::Stop(Step::Yield);
        }
        if !self.can_write {
            return Flow::Stop(Step::Blocked);
        }
        let result = match &body.variant {
            Some(variant) => {
                let from = usize::try_from(body.offset).unwrap_or(usize::MAX);
                let bytes = variant.bytes.get(from..).unwrap_or_default();
                let sent = self.stream.send(&bytes[..len.min(bytes.len())], false);
                if let Ok(n) = sent {
                    body.offset += n as u64;
                }
                sent
            }
            None => self
                .stream
                .send_file(&body.file.file, &mut body.offset, len),
        };
        match self.wrote(result, budget, deadline, cx) {
            // The file shrank under us: the promised length cannot be kept, so the
            // only honest end is to close.
            Written::Bytes(0) | Written::Failed => Flow::Stop(Step::Done),
            Written::Bytes(n) => {
                self.log.file_bytes(n as u64);
                Flow::Continue
            }
            Written::Blocked => Flow::Stop(Step::Blocked),
        }
    }

    /// Everything is written: on to the next head, or close (at once, or lingering).
    fn finish(&mut self, then: Next, budget: &mut Budget, cx: &TaskContext<'_>) -> (State, Flow) {
        let now = cx.now();
        let state = match then {
            Next::ReadHead => self.read_head_state(now),
            Next::Close { linger } => {
                self.input.clear();
                // Nothing more can be waiting (the last read found the queue empty and no
                // edge has come since): closing sends a plain FIN after the response.
                if !linger && !self.can_read {
                    return (State::Done, Flow::Stop(Step::Done));
                }
                if self.stream.shutdown_write().is_err() {
                    return (State::Done, Flow::Stop(Step::Done));
                }
                if !linger {
                    return self.close_unless_more_arrived(now, budget);
                }
                State::Linger {
                    deadline: now + LINGER_TIMEOUT,
                }
            }
        };
        (state, Flow::Continue)
    }

    /// The client has no reason to send more: if nothing has arrived, close at once (our FIN
    /// is out, the receive queue is empty, so the close is clean); else linger after all.
    fn close_unless_more_arrived(&mut self, now: Instant, budget: &mut Budget) -> (State, Flow) {
        match self.receive(budget) {
            Inflow::Bytes => {
                self.input.clear();
                let state = State::Linger {
                    deadline: now + LINGER_TIMEOUT,
                };
                (state, Flow::Continue)
            }
            Inflow::End | Inflow::Dry => (State::Done, Flow::Stop(Step::Done)),
        }
    }

    /// Reads and drops what the client still sends, until it closes (or the deadline).
    pub(super) fn linger(&mut self, deadline: Instant, budget: &mut Budget) -> (State, Flow) {
        loop {
            if !self.can_read {
                return (State::Linger { deadline }, Flow::Stop(Step::Blocked));
            }
            if budget.read_bytes == 0 {
                return (State::Linger { deadline }, Flow::Stop(Step::Yield));
            }
            self.input.clear();
            if let Inflow::End = self.receive(budget) {
                return (State::Done, Flow::Stop(Step::Done));
            }
        }
    }

    /// Accounts for one write: progress spends budget and moves the send deadline; `EAGAIN`
    /// clears `can_write`.
    fn wrote(
        &mut self,
        result: io::Result<usize>,
        budget: &mut Budget,
        deadline: &mut Instant,
        cx: &TaskContext<'_>,
    ) -> Written {
        match result {
            Ok(n) => {
                if let Some(metrics) = self.shared.metrics() {
                    metrics.sent(n as u64);
                }
                budget.send_bytes = budget.send_bytes.saturating_sub(n);
                *deadline = cx.now() + self.shared.timeouts().send;
                Written::Bytes(n)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.can_write = false;
                Written::Blocked
            }
            Err(_) => Written::Failed,
        }
    }
}

/// Where `send` stopped: still in `Send` when blocked or out of budget, `Done` when a write
/// failed.
fn stopped(
    file: Option<Box<FileBody>>,
    then: Next,
    deadline: Instant,
    step: Step,
) -> (State, Flow) {
    match step {
        Step::Done => (State::Done, Flow::Stop(Step::Done)),
        Step::Blocked | Step::Yield => {
            let state = State::Send {
                file,
                then,
                deadline,
            };
            (state, Flow::Stop(step))
        }
    }
}
