//! The metrics endpoint: its own listening socket (never the public port) and two small
//! tasks, one accepting scrapes and one answering each: read a request head, answer
//! `GET /metrics` with the Prometheus text (404 elsewhere, 405 for other methods), close.
//!
//! With `--workers`, the supervisor binds the socket and maps the counters before it forks,
//! so every worker inherits both: each accepts from the one socket (whichever wins a scrape
//! answers it) and sums every worker's block, so any scrape shows the whole server. A scrape
//! is bounded: `SCRAPE_HEAD_BYTES` of head, `SCRAPE_TIMEOUT` in all.

use std::io::{self, Write};
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::rc::Rc;
use std::time::Duration;

use socket2::Socket;

use crate::http::Status;
use crate::http::request::{self, Method, Target};
use crate::runtime::task::{Context, Step, Wake};
use crate::runtime::transport::{TcpConnection, Transport};
use crate::server::metrics::{Metrics, text};
use crate::sys::shared_memory::SharedCounters;
use crate::sys::socket;

/// The largest scrape request head read; a longer one is answered 431.
pub const SCRAPE_HEAD_BYTES: usize = 4096;
/// How long a scrape may take, from accept to the last byte written.
pub const SCRAPE_TIMEOUT: Duration = Duration::from_secs(10);
/// The one path served.
const METRICS_PATH: &[u8] = b"/metrics";

/// The metrics socket and counters, before the server that uses them starts.
pub struct Endpoint {
    socket: Socket,
    /// Where `socket` listens, with the port chosen for port 0.
    addr: SocketAddr,
    counters: Rc<SharedCounters>,
}

impl Endpoint {
    /// Serves on the listening `socket`, bound at `addr`, with counters mapped for `workers`
    /// processes.
    pub fn new(socket: Socket, addr: SocketAddr, workers: usize) -> io::Result<Endpoint> {
        Ok(Endpoint {
            socket,
            addr,
            counters: Rc::new(Metrics::counters(workers)?),
        })
    }

    /// Prints `metrics on http://ADDR:PORT`, after the `listening on` line that scripts (and
    /// the tests) wait for first; with stdout gone, serving still makes sense.
    pub fn announce(&self) {
        let mut stdout = io::stdout().lock();
        let _ = writeln!(stdout, "metrics on http://{}", self.addr);
        let _ = stdout.flush();
    }

    /// The endpoint as worker `worker` serves it: the same socket (a new descriptor) and
    /// mapping, and that worker's block to write.
    pub fn for_worker(&self, worker: usize) -> io::Result<WorkerMetrics> {
        let metrics = Rc::new(Metrics::new(Rc::clone(&self.counters), worker));
        let listener = MetricsListener {
            socket: self.socket.try_clone()?,
            metrics: Rc::clone(&metrics),
        };
        Ok((metrics, listener))
    }
}

/// One process's metrics and the task that serves them.
pub type WorkerMetrics = (Rc<Metrics>, MetricsListener);

/// The task that accepts scrapes. It ends when a drain begins.
pub struct MetricsListener {
    socket: Socket,
    metrics: Rc<Metrics>,
}

impl MetricsListener {
    pub fn fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }

    /// Accepts until the backlog is empty (edge-triggered; another worker may win the race,
    /// which is an empty backlog here).
    pub fn resume<T: From<Scrape>>(&mut self, wake: Wake, cx: &mut Context<'_, T>) -> Step {
        if wake.shutdown {
            return Step::Done;
        }
        loop {
            match socket::accept(self.socket.as_fd()) {
                Ok((fd, _)) => cx.spawn(T::from(Scrape {
                    stream: TcpConnection::new(fd),
                    metrics: Rc::clone(&self.metrics),
                    input: Vec::new(),
                    output: Vec::new(),
                    written: 0,
                })),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Step::Blocked,
                // Scrapes are rare and retried by the scraper: an accept error (the
                // connection reset, fds exhausted) waits for the next one.
                Err(_) => return Step::Blocked,
            }
        }
    }
}

/// One scrape: reads the head, then writes the answer and closes.
pub struct Scrape {
    stream: TcpConnection,
    metrics: Rc<Metrics>,
    input: Vec<u8>,
    /// Empty until the head is read.
    output: Vec<u8>,
    written: usize,
}

impl Scrape {
    pub fn fd(&self) -> RawFd {
        self.stream.raw_fd()
    }

    pub fn resume<T>(&mut self, wake: Wake, cx: &mut Context<'_, T>) -> Step {
        if wake.shutdown || wake.deadline {
            return Step::Done;
        }
        if cx.deadline().is_none() {
            let deadline = cx.now() + SCRAPE_TIMEOUT;
            cx.set_deadline(Some(deadline));
        }
        if self.output.is_empty() {
            match self.read_head() {
                Ok(Some(status)) => self.answer(status),
                Ok(None) => return Step::Blocked,
                Err(_) => return Step::Done,
            }
        }
        while let Some(rest) = self.output.get(self.written..).filter(|r| !r.is_empty()) {
            match self.stream.send(rest, false) {
                Ok(n) => self.written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Step::Blocked,
                Err(_) => return Step::Done,
            }
        }
        Step::Done
    }

    /// Reads until the head is complete: `Some` with the status to answer, `None` if more
    /// is to come; an error or the peer's end means there is nobody to answer.
    fn read_head(&mut self) -> io::Result<Option<Status>> {
        let mut buf = [0u8; 1024];
        loop {
            match request::find_head_end(&self.input, 0, SCRAPE_HEAD_BYTES) {
                Ok(Some(len)) => return Ok(Some(status_for(self.input.get(..len)))),
                Ok(None) => {}
                Err(status) => return Ok(Some(status)),
            }
            match self.stream.recv(&mut buf) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => self
                    .input
                    .extend_from_slice(buf.get(..n).unwrap_or_default()),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Err(e) => return Err(e),
            }
        }
    }

    fn answer(&mut self, status: Status) {
        let mut body = Vec::new();
        if status == Status::Ok {
            text::render(&self.metrics, &mut body);
        }
        let head = format!(
            "HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
            status.line(),
            text::CONTENT_TYPE,
            body.len()
        );
        self.output = head.into_bytes();
        if !self.input.starts_with(b"HEAD ") {
            self.output.extend_from_slice(&body);
        }
    }
}

/// What a scrape's head asks for.
fn status_for(head: Option<&[u8]>) -> Status {
    let Some(Ok(request)) = head.map(|head| request::parse(head, 0)) else {
        return Status::BadRequest;
    };
    match (request.method, request.target) {
        (Method::Get | Method::Head, Target::Path { path, .. }) if path == METRICS_PATH => {
            Status::Ok
        }
        (Method::Get | Method::Head, _) => Status::NotFound,
        _ => Status::MethodNotAllowed,
    }
}
