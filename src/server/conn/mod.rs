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
//! closing or lingering), `cold` (file data a worker must read in before `Send` goes on:
//! `AwaitFileData`), `job` (waiting for a variant compressed on the fly), `listing` (waiting
//! for a listing a worker builds), `auth` (checking credentials before anything else) and `log`
//! (the access-log hook they call).
//!
//! Behind a load balancer (`proxy`): with `--proxy-protocol` a connection starts in
//! `ReadProxyHeader`, before `ReadHead` then `Handshake` (TLS's, on an HTTPS listener, see `handshake`).
//!
//! Deadlines: a new connection's first head is due within the head timeout of the accept;
//! between requests the keep-alive timeout runs until the first byte, then the head timeout
//! from that byte (empty lines before a request line are bytes of its head); a body is due
//! within the body timeout of the end of its head.

mod auth;
mod body;
mod cold;
mod deadline;
mod handshake;
mod job;
mod listing;
mod log;
pub mod proxy;
mod read;
mod send;

use std::io;
use std::net::IpAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::http::chunked::ChunkedDecoder;
use crate::http::cors::Allowed;
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
use crate::site::auth::Verifier;
use crate::site::auth::verified::Digest;
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
    /// The client: the socket's peer, or the one a trusted proxy's PROXY header names. Failed
    /// logins are throttled per client (see `auth`).
    peer: Option<IpAddr>,
}

enum State {
    /// Waiting for the PROXY protocol header that opens the connection (see `proxy`);
    /// the deadline is `--proxy-timeout` from the accept, and passing it closes.
    ReadProxyHeader { deadline: Instant },
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
    /// A request for a protected path waits for its credentials to be verified (see
    /// `auth`): first for the end of its address's throttle delay (the deadline), then for a
    /// worker job, with the send timeout as its deadline. Its head stays in the input buffer.
    AwaitAuth {
        auth: Box<AwaitedAuth>,
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

/// A request waiting in `AwaitAuth`, and what it waits for.
struct AwaitedAuth {
    request: Suspended,
    wait: AuthWait,
}

/// The request: its head is the first `head_len` bytes of the input; `digest` names its
/// credentials.
struct Suspended {
    head_len: usize,
    log_line: Option<PendingLine>,
    digest: Digest,
}

enum AuthWait {
    /// The address is throttled until the state's deadline.
    Throttled(Verifier),
    /// The pool's queue was full.
    Space(Verifier),
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
    /// `--cors`: the request's `Origin` is allowed.
    cors: Option<Allowed>,
    /// Answered after credentials were checked: never to be stored by a shared cache.
    private: bool,
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
        let log = LogHook::new(shared.access_log(), peer);
        let mut connection = Connection {
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
            state: State::Done, // until `first_state`, just below
            peer,
        };
        connection.state = connection.first_state(now);
        connection
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
        if wake.shutdown {
            self.shorten_first_wait(cx.now());
        }
        let reclaimed = self.slot.is_reclaimed();
        if reclaimed && !wake.readable {
            self.state = State::Done; // the listener needs this idle connection's place
        } else if wake.readable {
            // A connection the listener chose to close while its next request was already on
            // the way answers that request, with `Connection: close`, rather than drop it.
            if reclaimed {
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
                State::ReadProxyHeader { deadline } => {
                    self.read_proxy_header(deadline, &mut budget, cx)
                }
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
                State::AwaitAuth { auth, deadline } => self.await_auth(*auth, deadline, cx),
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
                        deadline::arm_deadline(cx, self.deadline());
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
