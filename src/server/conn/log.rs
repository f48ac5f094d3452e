//! The connection's access-log hook: the few points at which a connection tells the access
//! log what happened to its responses. With logging off, the hook is empty and each call
//! does nothing.
//!
//! A line is begun when a complete head arrives (with the request line as received, before
//! any correction), or when an error ends a connection before any head did (`"-"`); it is
//! handed to the response it belongs to (`responded`), and finished once that response's
//! body is out, or the connection closes, with the body bytes that were really sent.

use std::net::IpAddr;
use std::rc::Rc;
use std::time::Instant;

use crate::runtime::task::{TaskContext, TaskId};
use crate::server::access_log::AccessLog;
use crate::server::access_log::book::LogBook;
use crate::server::access_log::line::PendingLine;
use crate::server::render::Rendered;

/// See the module documentation.
pub struct LogHook {
    /// `None` when logging is off. Boxed: most of a connection's life is spent idle.
    hooked: Option<Box<Hooked>>,
}

struct Hooked {
    log: Rc<AccessLog>,
    /// The lines whose responses are not fully sent yet, and the client's address.
    book: LogBook,
}

impl LogHook {
    /// The hook of a connection from `peer`; empty when `log` is `None`.
    pub fn new(log: Option<&Rc<AccessLog>>, peer: Option<IpAddr>) -> LogHook {
        LogHook {
            hooked: log.map(|log| {
                Box::new(Hooked {
                    log: Rc::clone(log),
                    book: LogBook::new(peer),
                })
            }),
        }
    }

    /// Begins the line of a request whose request line is `request_line` (`b"-"` when no
    /// complete head arrived), received now.
    pub fn begin(&self, request_line: &[u8], cx: &TaskContext<'_>) -> Option<PendingLine> {
        let peer = self.hooked.as_deref()?.book.peer();
        self.begin_for(peer, request_line, cx)
    }

    /// The same, for a request whose client is `client` rather than the connection's peer
    /// (a trusted proxy named it, see `conn::proxy`).
    pub fn begin_for(
        &self,
        client: Option<IpAddr>,
        request_line: &[u8],
        cx: &TaskContext<'_>,
    ) -> Option<PendingLine> {
        let hooked = self.hooked.as_deref()?;
        let start = hooked.log.begin(client, request_line, cx.wall_clock());
        Some(PendingLine::new(start, cx.now()).with_format(hooked.log.format()))
    }

    /// The connection's client is `peer` from now on (named by a PROXY header).
    pub fn set_peer(&mut self, peer: Option<IpAddr>) {
        if let Some(hooked) = &mut self.hooked {
            hooked.book.set_peer(peer);
        }
    }

    /// The response of `line` was just appended to `output` (see `Rendered`).
    pub fn responded(&mut self, line: Option<PendingLine>, rendered: &Rendered, output: &[u8]) {
        if let (Some(hooked), Some(mut line)) = (&mut self.hooked, line) {
            line.status = rendered.status.code();
            let body_start = rendered.body_start(output);
            hooked
                .book
                .push(line, body_start, output.len(), rendered.file.is_some());
        }
    }

    /// The whole output buffer has been written and is about to be cleared.
    pub fn output_written(&mut self, cx: &mut TaskContext<'_>) {
        self.settle(cx, |book, log, now| book.output_written(log, now));
    }

    /// `len` bytes of the current file response left outside the output buffer.
    pub fn file_bytes(&mut self, len: u64) {
        if let Some(hooked) = &mut self.hooked {
            hooked.book.file_bytes(len);
        }
    }

    /// The file body has been sent completely.
    pub fn file_done(&mut self, cx: &mut TaskContext<'_>) {
        self.settle(cx, |book, log, now| book.file_done(log, now));
    }

    /// The connection ends with `output_sent` bytes of its output buffer written.
    pub fn closed(&mut self, output_sent: usize, cx: &mut TaskContext<'_>) {
        self.settle(cx, |book, log, now| book.close(log, output_sent, now));
    }

    /// Hands finished lines to the log, waking its flusher if it needs to run.
    fn settle(
        &mut self,
        cx: &mut TaskContext<'_>,
        settle: impl FnOnce(&mut LogBook, &AccessLog, Instant) -> Option<TaskId>,
    ) {
        if let Some(hooked) = &mut self.hooked
            && let Some(flusher) = settle(&mut hooked.book, &hooked.log, cx.now())
        {
            cx.notify(flusher);
        }
    }
}
