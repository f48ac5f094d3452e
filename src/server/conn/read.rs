//! Reading request heads and answering them: `ReadHead`, and the step from a complete head
//! to its response (or to `DiscardBody` first, when the request has a body).

use std::time::Instant;

use crate::http::Status;
use crate::http::cors::Allowed;
use crate::http::request::{self, Body, Method, Request, Version};
use crate::http::response::Persistence;
use crate::runtime::buffer::OUTPUT_FLUSH_BYTES;
use crate::runtime::task::{Step, TaskContext};
use crate::runtime::transport::Transport;
use crate::server::access_log::line::PendingLine;
use crate::server::conn::auth::Access;
use crate::server::conn::{
    BodyLeft, Budget, Connection, Flow, Held, Inflow, MAX_EMPTY_LINES_BEFORE_REQUEST,
    MAX_HEAD_BYTES, Next, State,
};
use crate::server::handler::{self, CompressOptions, Reply};
use crate::server::jobs::Compression;
use crate::server::render::{self, Framing};
use crate::server::tls::{Tls, redirect};

/// What the connection needs of a request once the reply is decided: owned, so the head's
/// bytes can be consumed.
struct Shape {
    head_only: bool,
    keep_alive: bool,
    expect_continue: bool,
    version: Version,
    body: Body,
    /// `--cors`: the request's `Origin` is allowed.
    cors: Option<Allowed>,
    method: Method,
}

impl Shape {
    fn of(request: Request<'_>, cors: Option<Allowed>) -> Shape {
        Shape {
            cors,
            method: request.method,
            head_only: request.method == Method::Head,
            keep_alive: request.keep_alive,
            expect_continue: request.expect_continue,
            version: request.version,
            body: request.body,
        }
    }
}

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

    /// Nothing more to read for now. An idle keep-alive connection of a draining server
    /// closes here (its client retries a request it then sends, RFC 9112 §9.3.1); one with
    /// part of a head waits for the rest, and so does a new connection that has not sent its
    /// first request yet, which may be on the way (accepted just before a drain or an
    /// upgrade): it is answered, with `Connection: close`, or meets its head deadline.
    fn wait_for_head(&mut self, scanned: usize, deadline: Instant, idle: bool) -> (State, Flow) {
        if self.draining && self.input.is_empty() && self.slot.has_served() {
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
        let client = self.request_client(head_len);
        let mut log_line = self.log.begin_for(client, request_line, cx);
        request::downgrade_minor_version(&mut self.input.filled_mut()[..head_len]);
        let head = &self.input.filled()[..head_len];
        let request = match request::parse(head, self.shared.max_body_bytes()) {
            Ok(request) => request,
            Err(status) => return self.error_response(status, log_line, cx),
        };
        if let Some(line) = &mut log_line {
            line.set_headers(request.referer, request.user_agent);
        }
        // The plain listener beside an HTTPS one answers everything with the way there.
        if let Some(port) = self.shared.redirect_to_port() {
            let reply = redirect::reply(head, port);
            let cors = self.shared.extra_fields().cors.allow(request.cors.origin);
            let shape = Shape::of(request, cors);
            return self.hold(head_len, shape, reply, false, log_line, cx);
        }
        // A load balancer's health check needs no credentials and names no file.
        let health = self
            .shared
            .health()
            .and_then(|health| health.reply(&request));
        if let Some(reply) = health {
            let cors = self.shared.extra_fields().cors.allow(request.cors.origin);
            return self.hold(
                head_len,
                Shape::of(request, cors),
                reply,
                false,
                log_line,
                cx,
            );
        }
        // Credentials are judged on the normalised path before the handler looks anything up.
        let (reply, private) = match self.access(&request, cx.now()) {
            Access::Open => (self.reply(&request, cx), false),
            Access::Granted => (self.reply(&request, cx), true),
            Access::Refused(challenge) => (Reply::Unauthorized(challenge), false),
            Access::Verify(pending) => return self.begin_auth(head_len, log_line, pending, cx),
        };
        let cors = self.shared.extra_fields().cors.allow(request.cors.origin);
        let shape = Shape::of(request, cors);
        self.hold(head_len, shape, reply, private, log_line, cx)
    }

    /// Answers the request at the front of the input buffer once its credentials were judged:
    /// with `reply` (401, or an error), or, for `None`, with what the handler decides, as a
    /// private response. Its head was parsed once already, so it parses again.
    pub(super) fn respond_after_auth(
        &mut self,
        head_len: usize,
        log_line: Option<PendingLine>,
        reply: Option<Reply>,
        cx: &mut TaskContext<'_>,
    ) -> State {
        let head = &self.input.filled()[..head_len];
        let request = match request::parse(head, self.shared.max_body_bytes()) {
            Ok(request) => request,
            Err(status) => return self.error_response(status, log_line, cx),
        };
        let private = reply.is_none();
        let reply = reply.unwrap_or_else(|| self.reply(&request, cx));
        let cors = self.shared.extra_fields().cors.allow(request.cors.origin);
        let shape = Shape::of(request, cors);
        self.hold(head_len, shape, reply, private, log_line, cx)
    }

    /// What the handler answers to `request`.
    fn reply(&self, request: &Request<'_>, cx: &TaskContext<'_>) -> Reply {
        let compression = self.shared.compression();
        let mut cache = compression.map(Compression::cache);
        let compress = compression
            .zip(cache.as_deref_mut())
            .map(|(compression, cache)| CompressOptions {
                level: compression.level,
                cache,
            });
        let reply = handler::respond(
            self.shared.site(),
            self.shared.extra_fields(),
            &mut self.shared.files(),
            request,
            &mut self.shared.path_scratch(),
            compress,
            cx.now(),
            cx.wall_clock(),
        );
        self.shared.submit_hash_jobs(cx.id());
        reply
    }

    /// Holds `reply` to the request of `shape`, whose head was `head_len` bytes, until its
    /// body is read, and picks the next state.
    fn hold(
        &mut self,
        head_len: usize,
        shape: Shape,
        reply: Reply,
        private: bool,
        log_line: Option<PendingLine>,
        cx: &mut TaskContext<'_>,
    ) -> State {
        if let Some(metrics) = self.shared.metrics() {
            metrics.request(shape.method, reply.status());
        }
        self.slot.note_request();

        // A client that sent `Expect: 100-continue` may be holding its body back; rather than
        // invite a body we would only discard, answer and close (RFC 9110 §10.1.1).
        // A 400 means we misunderstood the client somewhere: do not bet the next request on it.
        let has_body = !matches!(shape.body, Body::None);
        let must_close = !shape.keep_alive
            || (shape.expect_continue && has_body)
            || reply.status() == Status::BadRequest
            || self.draining;
        let keep_alive = !must_close;
        let persistence = match (keep_alive, shape.version) {
            (false, _) => Persistence::Close,
            (true, Version::Http10) => Persistence::KeepAlive10,
            (true, Version::Http11) => Persistence::KeepAlive11,
        };
        let body = match shape.body {
            Body::None => None,
            Body::Length(len) => Some(BodyLeft::Length(len)),
            Body::Chunked(decoder) => Some(BodyLeft::Chunked(Box::new(decoder))),
        };
        self.input.consume(head_len);
        let held = Held {
            reply,
            persistence,
            head_only: shape.head_only,
            log_line,
            cors: shape.cors,
            private,
        };
        match body {
            None => self.answer_or_compress(held, false, cx),
            Some(_) if shape.expect_continue => self.answer_or_compress(held, true, cx),
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
        let extra = self.shared.extra_fields();
        let framing = Framing {
            date: &date,
            persistence: held.persistence,
            head_only: held.head_only,
            headers: &extra.headers,
            allow_origin: held.cors.map(|allowed| extra.cors.allow_origin(allowed)),
            vary_origin: extra.cors.varies(),
            private: held.private,
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
        if let Some(metrics) = self.shared.metrics() {
            metrics.refused(status);
        }
        self.log.responded(line, &rendered, &self.output);
        State::Send {
            file: None,
            then: Next::Close { linger: true },
            deadline: cx.now() + self.shared.timeouts().send,
        }
    }

    /// The first request's head, due within the head timeout from `now` (the accept, or the
    /// end of the PROXY header), not the keep-alive timeout: a client that never sends a
    /// byte is not kept for the idle time.
    pub(super) fn first_head_state(&self, now: Instant) -> State {
        State::ReadHead {
            scanned: 0,
            deadline: now + self.shared.timeouts().head,
            idle: false,
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
