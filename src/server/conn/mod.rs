//! The connection task: one HTTP/1.1 connection as a resumable state machine.
//!
//! ```text
//!                 +---------------------- next request -----------------------+
//!                 v                                                           |
//!  accept --> ReadHead --head complete--> respond --no body--> answer --------+
//!               |  |                         |                   ^    | file body, or
//!               |  |                       body                  |    | output to flush
//!               |  |                         v                   |    v
//!               |  |                    DiscardBody --body read--+   Send --then--> ReadHead
//!               |  |                         |                        ^  ^         | (close)
//!               |  +--output waiting---------|------------------------+  |         v
//!               |                            +--malformed, deadline------+       Linger
//!               |                                  (400/408, then close)           |
//!               +--EOF, error, idle deadline--> Done <---------EOF, deadline-------+
//! ```
//!
//! Each state holds only what it needs (`Send` owns the open file and its offsets) and its own
//! deadline; `resume` runs states until one blocks on the socket (edge-triggered: the
//! `can_read`/`can_write` flags are cleared only by `EAGAIN`), spends its budget, or finishes.
//! Pipelined requests are all parsed from the buffer and their responses appended to one
//! output buffer, which is written once.
//!
//! Framing rule: after any error the parser reports, the connection is closed once the error
//! response is out, so bytes after a bad head can never be read as a request.
//!
//! Body rule: a request's body is read (and dropped) before its response is rendered, so a
//! client that writes its whole body before reading never waits on us while we wait on it,
//! and a malformed body gets 400 before the method is judged. Only `Expect: 100-continue`
//! is answered without reading the body, and closes.
//!
//! Deadlines: a new connection's first head is due within the head timeout of the accept;
//! between requests the keep-alive timeout runs until the first byte, then the head timeout
//! from that byte (empty lines before a request line are bytes of its head); a body is due
//! within the body timeout of the end of its head.

use std::io;
use std::net::IpAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::http::Status;
use crate::http::chunked::ChunkedDecoder;
use crate::http::request::{self, Body, Method, Version};
use crate::http::response::Persistence;
use crate::runtime::buffer::{InputBuffer, OUTPUT_FLUSH_BYTES, Received};
use crate::runtime::task::{Step, TaskContext, TaskId, Wake};
use crate::runtime::transport::Transport;
use crate::server::access_log::{AccessLog, LogBook, PendingLine};
use crate::server::handler::{self, Reply};
use crate::server::render::{self, FileBody, Framing, Part, Rendered};
use crate::server::shared::{ConnectionSlot, Shared};

/// The largest request head (request line and header fields); beyond it, 414 or 431.
pub const MAX_HEAD_BYTES: usize = 8 * 1024;
/// Empty lines accepted before a request line (RFC 9112 §2.2 asks for at least one, for
/// clients that end a body with a stray CRLF); beyond them, 400.
pub const MAX_EMPTY_LINES_BEFORE_REQUEST: usize = 4;
/// Bytes one connection may send per resume before it yields to the others.
pub const SEND_BUDGET_BYTES: usize = 1024 * 1024;
/// Bytes one connection may read per resume while discarding a body or lingering before
/// it yields: a client flooding us cannot hold the loop.
pub const READ_BUDGET_BYTES: usize = 256 * 1024;
/// Requests one connection may parse per resume before it yields to the others.
pub const REQUESTS_PER_RESUME: usize = 64;
/// How far a connection's timer may lag behind its real deadline before it is re-armed.
pub const TIMER_SLACK: Duration = Duration::from_millis(500);
/// How long a closing connection keeps reading what the client still sends, so the kernel
/// does not answer those bytes with a reset that could destroy our last response in flight.
pub const LINGER_TIMEOUT: Duration = Duration::from_secs(2);

pub struct Connection<S> {
    stream: S,
    shared: Rc<Shared>,
    can_read: bool,
    can_write: bool,
    /// Empty, without storage, while the connection is idle (see `buffer`).
    input: InputBuffer,
    output: Vec<u8>,
    output_sent: usize,
    /// Lines for the access log, and the client's address; `None` when logging is off.
    log_book: Option<Box<LogBook>>,
    /// The peer has shut down its side (EPOLLRDHUP): EOF follows the buffered bytes.
    peer_closed: bool,
    /// The server is shutting down: answer what has arrived, with `Connection: close`.
    draining: bool,
    /// Its place under `--max-conns`, freed on drop; listed while idle (see `shared`).
    slot: ConnectionSlot,
    state: State,
}

enum State {
    /// Waiting for a complete request head. `scanned` bytes of the buffer are known not to
    /// end one. `idle`: between requests with nothing received, the deadline is the
    /// keep-alive timeout's, and the first byte replaces it with the head timeout's. Otherwise
    /// it is the head timeout's, from that first byte (or from the accept, for a new
    /// connection's first request).
    ReadHead {
        scanned: usize,
        deadline: Instant,
        idle: bool,
    },
    /// Reading and dropping a request body, so the next request starts where it should;
    /// then `held` is answered. Writes nothing: responses to earlier pipelined requests wait
    /// in the output buffer too. The deadline covers the whole body, from the end of its head.
    DiscardBody {
        body: BodyLeft,
        held: Box<Held>,
        deadline: Instant,
    },
    /// Writing the output buffer, then the file body if any; then moving on to `then`.
    Send {
        file: Option<Box<FileBody>>,
        then: Next,
        deadline: Instant,
    },
    /// All responses are out and our side is shut down: read until the client closes.
    Linger { deadline: Instant },
    /// Finished; the loop drops the task and the socket closes.
    Done,
}

/// Where `Send` goes when everything is written.
enum Next {
    ReadHead,
    /// Close after the output. `linger` when the client may still be sending (a body, more
    /// pipelined requests, a request we refused): keep reading until it stops, so its late
    /// bytes do not make the kernel reset the connection under our response.
    Close {
        linger: bool,
    },
}

/// A response decided from its head, rendered once the request's body has been read.
struct Held {
    reply: Reply,
    persistence: Persistence,
    head_only: bool,
    log_line: Option<PendingLine>,
}

enum BodyLeft {
    Length(u64),
    /// Boxed: rare, and larger than the rest of the state.
    Chunked(Box<ChunkedDecoder>),
}

/// What one state step asks of the `resume` loop.
enum Flow {
    Continue,
    Stop(Step),
}

/// What one read from the socket brought.
enum Inflow {
    Bytes,
    /// End of stream, or a failed socket: either way nothing more will come.
    End,
    /// Nothing to read now (`EAGAIN`); `can_read` is cleared.
    Dry,
}

/// What one write to the socket did.
enum Written {
    Bytes(usize),
    /// `EAGAIN`; `can_write` is cleared.
    Blocked,
    Failed,
}

/// The share of the loop one resume may use.
struct Budget {
    requests: usize,
    send_bytes: usize,
    read_bytes: usize,
}

impl<S: Transport> Connection<S> {
    /// A connection over `stream` from `peer`, in the place `slot` until dropped.
    pub fn new(
        stream: S,
        peer: Option<IpAddr>,
        slot: ConnectionSlot,
        shared: Rc<Shared>,
        now: Instant,
    ) -> Connection<S> {
        // The first request is due within the head timeout of the accept, not the keep-alive
        // timeout: a client that never sends a byte is not kept for the idle time.
        let deadline = now + shared.timeouts.head;
        let log_book = shared.log.is_some().then(|| Box::new(LogBook::new(peer)));
        Connection {
            stream,
            shared,
            can_read: false,
            can_write: true,
            input: InputBuffer::default(),
            output: Vec::new(),
            output_sent: 0,
            log_book,
            peer_closed: false,
            draining: false,
            slot,
            state: State::ReadHead {
                scanned: 0,
                deadline,
                idle: false,
            },
        }
    }

    pub fn stream(&self) -> &S {
        &self.stream
    }

    pub fn stream_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    pub fn resume(&mut self, wake: Wake, cx: &mut TaskContext<'_>) -> Step {
        self.can_read |= wake.readable;
        self.can_write |= wake.writable;
        self.peer_closed |= wake.hangup;
        self.draining |= wake.shutdown;
        if self.slot.is_reclaimed() {
            self.state = State::Done; // the listener needs this idle connection's place
        } else if wake.readable {
            self.slot.leave_idle();
        }
        if wake.deadline && self.deadline().is_some_and(|d| d <= cx.now()) {
            self.on_deadline(cx);
        }
        let mut budget = Budget {
            requests: REQUESTS_PER_RESUME,
            send_bytes: SEND_BUDGET_BYTES,
            read_bytes: READ_BUDGET_BYTES,
        };
        loop {
            let state = std::mem::replace(&mut self.state, State::Done);
            let (state, flow) = match state {
                State::ReadHead {
                    scanned,
                    deadline,
                    idle,
                } => self.read_head(scanned, deadline, idle, &mut budget, cx),
                State::DiscardBody {
                    body,
                    held,
                    deadline,
                } => self.discard_body(body, held, deadline, &mut budget, cx),
                State::Send {
                    file,
                    then,
                    deadline,
                } => self.send(file, then, deadline, &mut budget, cx),
                State::Linger { deadline } => self.linger(deadline, &mut budget),
                State::Done => (State::Done, Flow::Stop(Step::Done)),
            };
            self.state = state;
            if let Flow::Stop(step) = flow {
                match step {
                    Step::Blocked => {
                        arm_deadline(cx, self.deadline());
                        if matches!(self.state, State::ReadHead { .. })
                            && self.input.is_empty()
                            && self.output.is_empty()
                        {
                            self.slot.enter_idle(cx.id());
                        }
                    }
                    Step::Done => {
                        let sent = self.output_sent;
                        self.settle_log(cx, |book, log, now| book.close(log, sent, now));
                    }
                    Step::Yield => {}
                }
                return step;
            }
        }
    }

    fn deadline(&self) -> Option<Instant> {
        match &self.state {
            State::ReadHead { deadline, .. }
            | State::DiscardBody { deadline, .. }
            | State::Send { deadline, .. }
            | State::Linger { deadline } => Some(*deadline),
            State::Done => None,
        }
    }

    /// The current state's deadline has passed.
    fn on_deadline(&mut self, cx: &mut TaskContext<'_>) {
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
            _ => State::Done,
        };
    }

    fn read_head(
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
                deadline: cx.now() + self.shared.timeouts.send,
            };
            return (state, Flow::Continue);
        }
        if !self.can_read {
            return self.wait_for_head(scanned, deadline, idle);
        }
        self.shared.buffers.borrow_mut().fill_input(&mut self.input);
        if self.input.is_full() {
            return self.wait_for_head(scanned, deadline, idle);
        }
        match self.receive(budget) {
            Inflow::End => (State::Done, Flow::Stop(Step::Done)),
            Inflow::Bytes => {
                // The first byte after an idle wait starts the head's time, once: the bytes
                // stay buffered until the head is complete, so `idle` cannot come back.
                let deadline = if idle {
                    cx.now() + self.shared.timeouts.head
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
            .buffers
            .borrow_mut()
            .release(&mut self.input, &mut self.output);
        let state = State::ReadHead {
            scanned,
            deadline,
            idle,
        };
        (state, Flow::Stop(Step::Blocked))
    }

    /// A read that did not fill the buffer emptied the socket's queue: the next bytes to
    /// arrive raise a new edge, so the `EAGAIN` read that would prove it can be skipped.
    /// Not after a hang-up, though: no edge will announce the EOF that is still to be read.
    fn note_short_read(&mut self, received: Received) {
        if received.short && !self.peer_closed {
            self.can_read = false;
        }
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
        let log_start = self
            .shared
            .log
            .as_ref()
            .zip(self.log_book.as_ref())
            .map(|(log, book)| {
                let line = request::request_line(&self.input.filled()[..head_len]);
                log.begin(book.peer(), line, cx.wall_clock())
            });
        request::downgrade_minor_version(&mut self.input.filled_mut()[..head_len]);
        let head = &self.input.filled()[..head_len];
        let request = match request::parse(head, self.shared.max_body_bytes) {
            Ok(request) => request,
            Err(status) => return self.error_response(status, log_start, cx),
        };
        let reply = handler::respond(
            &self.shared.site,
            &mut self.shared.files.borrow_mut(),
            &request,
            &mut self.shared.path.borrow_mut(),
            cx.now(),
            cx.wall_clock(),
        );
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
        let log_line = log_start
            .map(|start| PendingLine::new(start, request.referer, request.user_agent, cx.now()));
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
            None => self.answer(held, false, cx),
            Some(_) if expect_continue => self.answer(held, true, cx),
            // The body's time runs from the end of its head, for the whole body.
            Some(body) => State::DiscardBody {
                body,
                held: Box::new(held),
                deadline: cx.now() + self.shared.timeouts.body,
            },
        }
    }

    /// Renders a held response and picks the next state. `body_unread`: the request's body
    /// may still be on its way, so a close lingers.
    fn answer(&mut self, held: Held, body_unread: bool, cx: &mut TaskContext<'_>) -> State {
        let date = *self.shared.date.borrow_mut().get(cx.wall_clock());
        let framing = Framing {
            date: &date,
            persistence: held.persistence,
            head_only: held.head_only,
            cache_control: self.shared.cache_control.as_deref(),
        };
        self.shared
            .buffers
            .borrow_mut()
            .fill_output(&mut self.output);
        let rendered = render::render(held.reply, &framing, &mut self.output);
        if let Some(line) = held.log_line {
            self.log_response(line, &rendered);
        }
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
                deadline: now + self.shared.timeouts.send,
            },
        }
    }

    /// Queues an error response after which the connection closes. `log_start` is the log
    /// line begun for a head that was complete but refused; without one (no complete head),
    /// the request is logged as "-".
    fn error_response(
        &mut self,
        status: Status,
        log_start: Option<Vec<u8>>,
        cx: &mut TaskContext<'_>,
    ) -> State {
        let line = match (&self.shared.log, &self.log_book) {
            (Some(log), Some(book)) => {
                let start =
                    log_start.unwrap_or_else(|| log.begin(book.peer(), b"-", cx.wall_clock()));
                Some(PendingLine::new(start, None, None, cx.now()))
            }
            _ => None,
        };
        self.refuse(status, line, cx)
    }

    /// Queues an error response, logged on `line`, after which the connection closes.
    fn refuse(
        &mut self,
        status: Status,
        line: Option<PendingLine>,
        cx: &mut TaskContext<'_>,
    ) -> State {
        let date = *self.shared.date.borrow_mut().get(cx.wall_clock());
        self.shared
            .buffers
            .borrow_mut()
            .fill_output(&mut self.output);
        let rendered = render::render_fatal(status, &date, &mut self.output);
        if let Some(line) = line {
            self.log_response(line, &rendered);
        }
        State::Send {
            file: None,
            then: Next::Close { linger: true },
            deadline: cx.now() + self.shared.timeouts.send,
        }
    }

    fn log_response(&mut self, mut line: PendingLine, rendered: &Rendered) {
        line.status = rendered.status.code();
        let body_start = rendered.body_start(&self.output);
        if let Some(book) = &mut self.log_book {
            book.push(line, body_start, self.output.len(), rendered.file.is_some());
        }
    }

    /// Hands finished log lines over, waking the log's flusher if it needs to run.
    fn settle_log(
        &mut self,
        cx: &mut TaskContext<'_>,
        settle: impl FnOnce(&mut LogBook, &AccessLog, Instant) -> Option<TaskId>,
    ) {
        if let (Some(log), Some(book)) = (&self.shared.log, &mut self.log_book)
            && let Some(flusher) = settle(book, log, cx.now())
        {
            cx.notify(flusher);
        }
    }

    /// Waiting for the next request: idle if nothing of it has arrived yet, else its head's
    /// time starts now (its bytes came with the previous request).
    fn read_head_state(&self, now: Instant) -> State {
        let idle = self.input.is_empty();
        let timeout = if idle {
            self.shared.timeouts.keepalive
        } else {
            self.shared.timeouts.head
        };
        State::ReadHead {
            scanned: 0,
            deadline: now + timeout,
            idle,
        }
    }

    fn discard_body(
        &mut self,
        mut body: BodyLeft,
        held: Box<Held>,
        deadline: Instant,
        budget: &mut Budget,
        cx: &mut TaskContext<'_>,
    ) -> (State, Flow) {
        if !self.input.is_empty() {
            let buffered = self.input.filled();
            let used = match &mut body {
                BodyLeft::Length(left) => {
                    let used =
                        usize::try_from(*left).map_or(buffered.len(), |l| l.min(buffered.len()));
                    *left -= used as u64;
                    Ok(used)
                }
                BodyLeft::Chunked(decoder) => decoder.feed(buffered),
            };
            let used = match used {
                Ok(used) => used,
                // Framing is judged before the method: a malformed body gets its own status
                // in place of the held response (a 405, say), and the connection closes.
                Err(status) => return (self.refuse(status, held.log_line, cx), Flow::Continue),
            };
            self.input.consume(used);
            let finished = match &body {
                BodyLeft::Length(left) => *left == 0,
                BodyLeft::Chunked(decoder) => decoder.is_done(),
            };
            if finished {
                return (self.answer(*held, false, cx), Flow::Continue);
            }
            let state = State::DiscardBody {
                body,
                held,
                deadline,
            };
            return (state, Flow::Continue);
        }
        let waiting = |body, held, step| {
            let state = State::DiscardBody {
                body,
                held,
                deadline,
            };
            (state, Flow::Stop(step))
        };
        if !self.can_read {
            return waiting(body, held, Step::Blocked);
        }
        if budget.read_bytes == 0 {
            return waiting(body, held, Step::Yield);
        }
        match self.receive(budget) {
            Inflow::End => (State::Done, Flow::Stop(Step::Done)),
            Inflow::Bytes => {
                let state = State::DiscardBody {
                    body,
                    held,
                    deadline,
                };
                (state, Flow::Continue)
            }
            Inflow::Dry => waiting(body, held, Step::Blocked),
        }
    }

    fn send(
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
        let blocked = |file, then, deadline| {
            (
                State::Send {
                    file,
                    then,
                    deadline,
                },
                Flow::Stop(Step::Blocked),
            )
        };
        loop {
            while self.output_sent < self.output.len() {
                if !self.can_write {
                    return blocked(file, then, deadline);
                }
                // "More follows" holds a short segment back until the peer ACKs or ~200 ms
                // pass: only for output that file bytes will follow at once, never for the
                // end of a response (a keep-alive client is waiting for it).
                let more = file.as_deref().is_some_and(FileBody::file_bytes_follow);
                let result = self.stream.send(&self.output[self.output_sent..], more);
                match self.wrote(result, budget, &mut deadline, cx) {
                    Written::Bytes(n) => self.output_sent += n,
                    Written::Blocked => return blocked(file, then, deadline),
                    Written::Failed => return (State::Done, Flow::Stop(Step::Done)),
                }
            }
            self.settle_log(cx, |book, log, now| book.output_written(log, now));
            self.output.clear();
            self.output_sent = 0;

            let Some(body) = &mut file else {
                break;
            };
            if body.offset == body.end {
                // The current range is done: queue the next part of a multipart body.
                match body.parts.pop_front() {
                    Some(Part::Bytes(bytes)) => {
                        if let Some(book) = &mut self.log_book {
                            book.file_bytes(bytes.len() as u64);
                        }
                        self.output.extend_from_slice(&bytes);
                    }
                    Some(Part::Range(range)) => {
                        body.offset = range.first;
                        body.end = range.last + 1;
                    }
                    None => {
                        file = None;
                        self.settle_log(cx, |book, log, now| book.file_done(log, now));
                    }
                }
                continue;
            }
            if budget.send_bytes == 0 {
                let state = State::Send {
                    file,
                    then,
                    deadline,
                };
                return (state, Flow::Stop(Step::Yield));
            }
            if !self.can_write {
                return blocked(file, then, deadline);
            }
            let left = usize::try_from(body.end - body.offset).unwrap_or(usize::MAX);
            // A whole chunk even when the budget has less left: the budget decides whether to
            // write again, not how much, so a 1 MiB file is not split into 1 MiB and a tail.
            let len = left.min(SEND_BUDGET_BYTES);
            let result = self
                .stream
                .send_file(&body.file.file, &mut body.offset, len);
            match self.wrote(result, budget, &mut deadline, cx) {
                // The file shrank under us: the promised length cannot be kept, so the
                // only honest end is to close.
                Written::Bytes(0) | Written::Failed => {
                    return (State::Done, Flow::Stop(Step::Done));
                }
                Written::Bytes(n) => {
                    if let Some(book) = &mut self.log_book {
                        book.file_bytes(n as u64);
                    }
                }
                Written::Blocked => return blocked(file, then, deadline),
            }
        }

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
    fn linger(&mut self, deadline: Instant, budget: &mut Budget) -> (State, Flow) {
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
                budget.send_bytes = budget.send_bytes.saturating_sub(n);
                *deadline = cx.now() + self.shared.timeouts.send;
                Written::Bytes(n)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.can_write = false;
                Written::Blocked
            }
            Err(_) => Written::Failed,
        }
    }

    /// Reads what the socket has into the input buffer (taking storage from the pool), and
    /// charges it to this resume's read budget.
    fn receive(&mut self, budget: &mut Budget) -> Inflow {
        self.shared.buffers.borrow_mut().fill_input(&mut self.input);
        match self.input.receive(&mut self.stream) {
            Ok(received) if received.len == 0 => Inflow::End,
            Ok(received) => {
                budget.read_bytes = budget.read_bytes.saturating_sub(received.len);
                self.note_short_read(received);
                Inflow::Bytes
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.can_read = false;
                Inflow::Dry
            }
            Err(_) => Inflow::End,
        }
    }
}

impl<S> Drop for Connection<S> {
    fn drop(&mut self) {
        self.input.clear();
        self.output.clear();
        self.shared
            .buffers
            .borrow_mut()
            .release(&mut self.input, &mut self.output);
    }
}

/// Sets the task's deadline, unless the one already set is at most `TIMER_SLACK` earlier:
/// a keep-alive connection moves its deadline on every request, and rewriting the timer set
/// each time would cost more than an early wake-up, which `on_deadline` recognises (the
/// state's own deadline has not passed) and answers by re-arming.
fn arm_deadline(cx: &mut TaskContext<'_>, wanted: Option<Instant>) {
    if let (Some(current), Some(wanted)) = (cx.deadline(), wanted)
        && current <= wanted
        && wanted - current < TIMER_SLACK
    {
        return;
    }
    cx.set_deadline(wanted);
}
