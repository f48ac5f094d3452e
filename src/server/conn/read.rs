//! Reading request heads and answering them: `ReadHead`, and the step from a complete head
//! to its response (or to `DiscardBody` first, when the request has a body).

use std::time::Instant;

use crate::http::Status;
use crate::http::request::{self, Body, Method, Version};
use crate::http::response::Persistence;
use crate::runtime::buffer::OUTPUT_FLUSH_BYTES;
use crate::runtime::task::{Step, TaskContext};
use crate::runtime::transport::Transport;
use crate::server::access_log::line::PendingLine;
use crate::server::conn::{
    BodyLeft, Budget, Connection, Flow, Held, Inflow, MAX_EMPTY_LINES_BEFORE_REQUEST,
    MAX_HEAD_BYTES, Next, State,
};
use crate::server::handler::{self, CompressOptions};
use crate::server::jobs::Compression;
use crate::server::render::{self, Framing};
use crate::server::tls::{Tls, redirect};

impl<S: Transport> Connection<S> {
    pub(super) fn read_head(
        &mut self,
        scanned: usize,
        deadline: Instant,
        idle: bool,
        budget: &mut Budget,
        cx: &mut TaskContext<'_>,
    ) -> (State, Flow) {
        let empty_lines_len = match self.empty_lines_len() {
            Ok(len) => len,
            Err(status) => return (self.error_response(status, None, cx), Flow::Continue),
        };
        let head = self
            .input
            .filled()
            .get(empty_lines_len..)
            .unwrap_or_default();
        // `scanned` counts the empty lines too; only what follows them can end a head.
        let from = scanned.saturating_sub(empty_lines_len);
        match request::find_head_end(head, from, MAX_HEAD_BYTES) {
            Ok(Some(head_len)) => {
                // Whatever this resume has spent (requests answered, bytes written, as after
                // a large listing), the next request waits for the next turn.
                if budget.requests == 0 || budget.send_bytes == 0 {
                    let state = State::ReadHead {
                        scanned,
                        deadline,
                        idle,
                    };
                    return (state, Flow::Stop(Step::Yield));
                }
                budget.requests -= 1;
                self.input.consume(empty_lines_len);
                return (self.respond(head_len, cx), Flow::Continue);
            }
            Ok(None) => {}
            Err(status) => return (self.error_response(status, None, cx), Flow::Continue),
        }
        let scanned = self.input.filled().len();
        if !self.output.is_empty() {
            // Answer what we have before waiting: the client may be waiting for it.
            let state = State::Send {
                file: None,
                then: Next::ReadHead,
                deadline: cx.now() + self.shared.timeouts().send,
            };
            return (state, Flow::Continue);
        }
        if !self.can_read {
            return self.wait_for_head(scanned, deadline, idle);
        }
        self.shared.buffers().fill_input(&mut self.input);
        if self.input.is_full() {
            return self.wait_for_head(scanned, deadline, idle);
        }
        match self.receive(budget) {
            Inflow::End => (State::Done, Flow::Stop(Step::Done)),
            Inflow::Bytes => {
                // The first byte after an idle wait starts the head's time, once: the bytes
                // stay buffered until the head is complete, so `idle` cannot come back.
                let deadline = if idle {
                    cx.now() + self.shared.timeouts().head
                } else {
                    deadline
                };
                let state = State::ReadHead {
                    scanned,
                    deadline,
                    idle: false,
                };
                (state, Flow::Continue)
            }
            Inflow::Dry => self.wait_for_head(scanned, deadline, idle),
        }
    }

    /// Nothing more to read for now. An idle connection of a draining server closes here;
    /// one with part of a head waits for the rest (or its deadline).
    fn wait_for_head(&mut self, scanned: usize, deadline: Instant, idle: bool) -> (State, Flow) {
        if self.draining && self.input.is_empty() {
            return (State::Done, Flow::Stop(Step::Done));
        }
        // Idle between requests: the buffers go back to the pool (output is empty here, or
        // the state would have been Send).
        self.shared
            .buffers()
            .release(&mut self.input, &mut self.output);
        let state = State::ReadHead {
            scanned,
            deadline,
            idle,
        };
        (state, Flow::Stop(Step::Blocked))
    }

    /// The length of the empty lines at the front of the buffer, which RFC 9112 §2.2 asks a
    /// server to ignore before a request line (at least one). They are consumed only with
    /// the head after them, so they count as its bytes: they start its deadline and cannot
    /// restart it, and a timeout after them is answered and logged. More than
    /// `MAX_EMPTY_LINES_BEFORE_REQUEST` is 400.
    fn empty_lines_len(&self) -> Result<usize, Status> {
        let lines = self
            .input
            .filled()
            .chunks_exact(2)
            .take(MAX_EMPTY_LINES_BEFORE_REQUEST + 1)
            .take_while(|pair| *pair == b"\r\n")
            .count();
        if lines > MAX_EMPTY_LINES_BEFORE_REQUEST {
            return Err(Status::BadRequest);
        }
        Ok(lines * 2)
    }

    /// Answers the complete head at the front of the input buffer and picks the next state.
    fn respond(&mut self, head_len: usize, cx: &mut TaskContext<'_>) -> State {
        // The log shows the request line as received, before any correction.
        let request_line = request::request_line(&self.input.filled()[..head_len]);
        let mut log_line = self.log.begin(request_line, cx);
        request::downgrade_minor_version(&mut self.input.filled_mut()[..head_len]);
        let head = &self.input.filled()[..head_len];
        let request = match request::parse(head, self.shared.max_body_bytes()) {
            Ok(request) => request,
            Err(status) => return self.error_response(status, log_line, cx),
        };
        if let Some(line) = &mut log_line {
            line.set_headers(request.referer, request.user_agent);
        }
        let reply = if let Some(port) = self.shared.redirect_to_port() {
            redirect::reply(head, port)
        } else {
            let compression = self.shared.compression();
            let mut cache = compression.map(Compression::cache);
            let compress = compression
                .zip(cache.as_deref_mut())
                .map(|(compression, cache)| CompressOptions {
                    level: compression.level,
                    cache,
                });
            handler::respond(
                self.shared.site(),
                &mut self.shared.files(),
                &request,
                &mut self.shared.path_scratch(),
                compress,
                cx.now(),
                cx.wall_clock(),
            )
        };
        let head_only = request.method == Method::Head;
        self.slot.note_request();

        // A client that sent `Expect: 100-continue` may be holding its body back; rather than
        // invite a body we would only discard, answer and close (RFC 9110 §10.1.1).
        // A 400 means we misunderstood the client somewhere: do not bet the next request on it.
        let has_body = !matches!(request.body, Body::None);
        let must_close = !request.keep_alive
            || (request.expect_continue && has_body)
            || reply.status() == Status::BadRequest
            || self.draining;
        let keep_alive = !must_close;
        let persistence = match (keep_alive, request.version) {
            (false, _) => Persistence::Close,
            (true, Version::Http10) => Persistence::KeepAlive10,
            (true, Version::Http11) => Persistence::KeepAlive11,
        };
        let body = match request.body {
            Body::None => None,
            Body::Length(len) => Some(BodyLeft::Length(len)),
            Body::Chunked(decoder) => Some(BodyLeft::Chunked(Box::new(decoder))),
        };
        let expect_continue = request.expect_continue;
        self.input.consume(head_len);
        let held = Held {
            reply,
            persistence,
            head_only,
            log_line,
        };
        match body {
            None => self.answer_or_compress(held, false, cx),
            Some(_) if expect_continue => self.answer_or_compress(held, true, cx),
            // The body's time runs from the end of its head, for the whole body.
            Some(body) => State::DiscardBody {
                body,
                held: Box::new(held),
                deadline: cx.now() + self.shared.timeouts().body,
            },
        }
    }

    /// Renders a held response and picks the next state. `body_unread`: the request's body
    /// may still be on its way, so a close lingers.
    pub(super) fn answer(
        &mut self,
        held: Held,
        body_unread: bool,
        cx: &mut TaskContext<'_>,
    ) -> State {
        let date = self.shared.date(cx.wall_clock());
        let framing = Framing {
            date: &date,
            persistence: held.persistence,
            head_only: held.head_only,
            cache_control: self.shared.cache_control(),
            hsts: self.shared.tls().and_then(Tls::hsts),
        };
        self.shared.buffers().fill_output(&mut self.output);
        let rendered = render::render(held.reply, &framing, &mut self.output);
        self.log.responded(held.log_line, &rendered, &self.output);
        let now = cx.now();
        let next = match held.persistence {
            Persistence::Close => Next::Close {
                linger: body_unread
                    || !self.input.is_empty()
                    || rendered.status == Status::BadRequest,
            },
            Persistence::KeepAlive10 | Persistence::KeepAlive11 => Next::ReadHead,
        };
        let file = rendered.file;
        match next {
            Next::ReadHead if file.is_none() && self.output.len() < OUTPUT_FLUSH_BYTES => {
                self.read_head_state(now)
            }
            then => State::Send {
                file,
                then,
                deadline: now + self.shared.timeouts().send,
            },
        }
    }

    /// Queues an error response after which the connection closes. `log_line` is the line
    /// begun for a head that was complete but refused; without one (no complete head), the
    /// request is logged as "-".
    pub(super) fn error_response(
        &mut self,
        status: Status,
        log_line: Option<PendingLine>,
        cx: &mut TaskContext<'_>,
    ) -> State {
        let line = log_line.or_else(|| self.log.begin(b"-", cx));
        self.refuse(status, line, cx)
    }

    /// Queues an error response, logged on `line`, after which the connection closes.
    pub(super) fn refuse(
        &mut self,
        status: Status,
        line: Option<PendingLine>,
        cx: &mut TaskContext<'_>,
    ) -> State {
        let date = self.shared.date(cx.wall_clock());
        self.shared.buffers().fill_output(&mut self.output);
        let rendered = render::render_fatal(status, &date, &mut self.output);
        self.log.responded(line, &rendered, &self.output);
        State::Send {
            file: None,
            then: Next::Close { linger: true },
            deadline: cx.now() + self.shared.timeouts().send,
        }
    }

    /// Waiting for the next request: idle if nothing of it has arrived yet, else its head's
    /// time starts now (its bytes came with the previous request).
    pub(super) fn read_head_state(&self, now: Instant) -> State {
        let idle = self.input.is_empty();
        let timeout = if idle {
            self.shared.timeouts().keepalive
        } else {
            self.shared.timeouts().head
        };
        State::ReadHead {
            scanned: 0,
            deadline: now + timeout,
            idle,
        }
    }
}
