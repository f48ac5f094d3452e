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
//! The steps live beside this file, each an `impl Connection` block: `read` (heads, and
//! answering them), `body` (discarding request bodies), `send` (writing responses, then
//! closing or lingering), `handshake` (TLS's, first, on an HTTPS listener), `cold` (file data a worker must read in before `Send` goes on:
//! `AwaitFileData`), and `log` (the access-log hook they call).
//!
//! Deadlines: a new connection's first head is due within the head timeout of the accept;
//! between requests the keep-alive timeout runs until the first byte, then the head timeout
//! from that byte (empty lines before a request line are bytes of its head); a body is due
//! within the body timeout of the end of its head.

mod body;
mod cold;
mod handshake;
mod job;
mod listing;
mod log;
mod read;
mod send;

use std::io;
use std::net::IpAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::http::Status;
use crate::http::chunked::ChunkedDecoder;
use crate::http::response::Persistence;
use crate::runtime::buffer::{InputBuffer, Received};
use crate::runtime::pool::JobTicket;
use crate::runtime::task::{Step, TaskContext, Wake};
use crate::runtime::transport::Transport;
use crate::server::access_log::line::PendingLine;
use crate::server::conn::log::LogHook;
use crate::server::handler::Reply;
use crate::server::jobs::JobOutput;
use crate::server::render::FileBody;
use crate::server::shared::Shared;
use crate::server::slots::ConnectionSlot;
use crate::site::compress::VariantKey;

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
    /// Empty, without storage, while the connection is idle (see `runtime::buffer`).
    input: InputBuffer,
    output: Vec<u8>,
    output_sent: usize,
    /// Where the access log hears of each response (see `log`).
    log: LogHook,
    /// The peer has shut down its side (EPOLLRDHUP): EOF follows the buffered bytes.
    peer_closed: bool,
    /// Answer what has arrived, with `Connection: close`, then close: the server is shutting
    /// down, or the listener reclaimed this connection as its next request arrived.
    draining: bool,
    /// Its place under `--max-conns`, freed on drop; listed while idle (see `slots`).
    slot: ConnectionSlot,
    state: State,
}

enum State {
    /// A TLS connection's handshake (see `handshake`), before its first request.
    Handshake { deadline: Instant },
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
    /// Waiting for a worker job (see `job`): a variant compressed on the fly, by this
    /// request's job or another's; then its response is rendered. Woken by a notify; the
    /// deadline is the send timeout's, after which the file is sent as it is.
    AwaitJob {
        job: Box<AwaitedJob>,
        deadline: Instant,
    },
    /// Waiting for a worker to build a directory listing (see `listing`); then its
    /// response is rendered. The deadline is the send timeout's, after which it is 503.
    AwaitListing {
        listing: Box<AwaitedListing>,
        deadline: Instant,
    },
    /// Writing the output buffer, then the file body if any; then moving on to `then`.
    Send {
        file: Option<Box<FileBody>>,
        then: Next,
        deadline: Instant,
    },
    /// The next chunk of `Send`'s file is not in the page cache: a worker reads it in
    /// (`ticket`), or, with no ticket, waits for room in the pool; then back to `Send`.
    /// The send deadline stays in force (see `cold`).
    AwaitFileData {
        file: Box<FileBody>,
        then: Next,
        deadline: Instant,
        ticket: Option<JobTicket<JobOutput>>,
    },
    /// All responses are out and our side is shut down: read until the client closes.
    Linger { deadline: Instant },
    /// Finished; the loop drops the task and the socket closes.
    Done,
}

/// A response waiting for its variant (see `job`). `held.reply` is a `Reply::Compress`.
struct AwaitedJob {
    held: Held,
    key: VariantKey,
    body_unread: bool,
    wait: Wait,
}

/// A response waiting for its listing (see `listing`). Until a worker has the job,
/// `held.reply` is the `Reply::List` to build; after, the job owns it and `ticket` brings the
/// page back.
struct AwaitedListing {
    held: Held,
    body_unread: bool,
    ticket: Option<JobTicket<JobOutput>>,
}

enum Wait {
    /// Ask the cache (again): first, and after another request's job finished.
    Cache,
    /// This request owns the key's job, and the pool's queue was full.
    Space,
    /// This request owns the key's job, submitted under this ticket.
    Job(JobTicket<JobOutput>),
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
        let deadline = now + shared.timeouts().head;
        let log = LogHook::new(shared.access_log(), peer);
        Connection {
            stream,
            shared,
            can_read: false,
            can_write: true,
            input: InputBuffer::default(),
            output: Vec::new(),
            output_sent: 0,
            log,
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
        if self.slot.is_reclaimed() && !wake.readable {
            self.state = State::Done; // the listener needs this idle connection's place
        } else if wake.readable {
            // A connection the listener chose to close while its next request was already on
            // the way answers that request, with `Connection: close`, rather than drop it.
            if self.slot.is_reclaimed() {
                self.draining = true;
            }
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
                State::Handshake { deadline } => self.handshake(deadline, cx),
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
                State::AwaitJob { job, deadline } => self.await_job(job, deadline, cx),
                State::AwaitListing { listing, deadline } => {
                    self.await_listing(listing, deadline, cx)
                }
                State::Send {
                    file,
                    then,
                    deadline,
                } => self.send(file, then, deadline, &mut budget, cx),
                State::AwaitFileData {
                    file,
                    then,
                    deadline,
                    ticket,
                } => self.await_file_data(file, then, deadline, ticket, cx),
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
                    Step::Done => self.log.closed(self.output_sent, cx),
                    Step::Yield => {}
                }
                return step;
            }
        }
    }

    fn deadline(&self) -> Option<Instant> {
        match &self.state {
            State::Handshake { deadline }
            | State::ReadHead { deadline, .. }
            | State::DiscardBody { deadline, .. }
            | State::AwaitJob { deadline, .. }
            | State::AwaitListing { deadline, .. }
            | State::Send { deadline, .. }
            | State::AwaitFileData { deadline, .. }
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
            State::AwaitJob { job, .. } => self.give_up_job(job, cx),
            State::AwaitListing { listing, .. } => self.give_up_listing(listing, cx),
            _ => State::Done,
        };
    }

    /// Reads what the socket has into the input buffer (taking storage from the pool), and
    /// charges it to this resume's read budget.
    fn receive(&mut self, budget: &mut Budget) -> Inflow {
        self.shared.buffers().fill_input(&mut self.input);
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

    /// A read that did not fill the buffer emptied the socket's queue: the next bytes to
    /// arrive raise a new edge, so the `EAGAIN` read that would prove it can be skipped.
    /// Not after a hang-up, though: no edge will announce the EOF that is still to be read.
    fn note_short_read(&mut self, received: Received) {
        if received.short && !self.peer_closed {
            self.can_read = false;
        }
    }
}

impl<S> Drop for Connection<S> {
    fn drop(&mut self) {
        self.drop_job();
        self.input.clear();
        self.output.clear();
        self.shared
            .buffers()
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
