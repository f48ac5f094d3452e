//! The access log: one line per response, in the Combined Log Format plus the time the
//! request took, or as JSON (`--log-format json`, `json`), written without ever blocking the
//! loop.
//!
//! ```text
//! 127.0.0.1 - - [25/Nov/2026:20:01:07 +0000] "GET /a.txt HTTP/1.1" 200 6 "-" "curl/7.88.1" 0.000
//! ```
//!
//! Connections add finished lines to one buffer. The first line into an empty buffer
//! notifies the flusher task, which runs later in the same turn or the next and hands the
//! whole batch to a writer thread over a channel; so a disk or a pipe that is slow, or a
//! reader of stdout that stops, delays only that thread, and handing a batch over never
//! blocks the loop. The bound is in bytes, not batches: the lines buffered in the loop and
//! those queued for the thread (counted by the memory they hold) stay under
//! `LOG_BACKLOG_BYTES`; lines beyond it are dropped and counted, never held without bound.
//! A bound in batches would not do: at low load a batch is one line, so a thread busy for a
//! moment (reopening on SIGHUP, or descheduled) would lose lines after a few dozen.
//! On exit everything buffered is handed over and waited for (within the drain timeout), so
//! a graceful shutdown loses no line.
//!
//! The byte count is of body bytes actually sent: a client that aborts a download is logged
//! with what it received.
//!
//! The file holds whole lines only, also when its disk fills and when several workers append
//! to it (`writer`: each batch is written under an exclusive flock, with its room reserved
//! first, or dropped whole), and `reopen` (SIGHUP) switches to a new file at the same path
//! between two batches, so every line lands whole in exactly one of the two files. Lines
//! dropped either way are reported in the error log.

pub mod book;
mod json;
pub mod line;
mod writer;

use std::cell::{Cell, RefCell};
use std::io::{self, Write};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SendError, Sender};
use std::time::{Instant, SystemTime};

use crate::runtime::error_log::{self, Event};
use crate::runtime::task::TaskId;
pub use crate::server::access_log::line::LogFormat;
use crate::server::access_log::line::{LogClock, escape};
use crate::server::access_log::writer::{WholeLines, newlines, open_destination};

/// Bytes of access-log lines buffered in the loop or queued for the writer thread before
/// new lines are dropped.
pub const LOG_BACKLOG_BYTES: usize = 4 * 1024 * 1024;
/// An access-log batch is handed to the writer early once it is this large.
pub const LOG_FLUSH_BYTES: usize = 64 * 1024;

pub struct AccessLog {
    buffer: RefCell<Vec<u8>>,
    /// `None` once `finish` has handed everything over.
    batches: RefCell<Option<Sender<Message>>>,
    /// The memory (capacity) of the batches handed to the writer thread and not yet written;
    /// the thread subtracts what it has written.
    queued_bytes: Arc<AtomicUsize>,
    /// Disconnects when the writer thread has written everything and ended.
    writer_done: Receiver<()>,
    flusher: Cell<Option<TaskId>>,
    dropped_lines: Cell<u64>,
    /// Lines dropped since the error log last said so.
    unreported_drops: Cell<u64>,
    clock: RefCell<LogClock>,
    format: LogFormat,
}

/// What the loop hands the writer thread, in order.
enum Message {
    Batch(Vec<u8>),
    /// Open the path again (after logrotate renamed the file).
    Reopen,
}

/// Checks that `destination` can be opened, for a process that will not write it itself
/// (the supervisor: each worker opens the log on its own).
pub fn check(destination: &str) -> io::Result<()> {
    open_destination(destination).map(drop)
}

impl AccessLog {
    /// Opens `destination` for appending (`-` is standard output) and starts its writer.
    pub fn open(destination: &str) -> io::Result<AccessLog> {
        let mut lines = WholeLines::new(open_destination(destination)?);
        let path = (destination != "-").then(|| destination.to_string());
        // Unbounded in messages; `queued_bytes` bounds it.
        let (batches, received) = mpsc::channel::<Message>();
        let (finished, writer_done) = mpsc::channel::<()>();
        let queued_bytes = Arc::new(AtomicUsize::new(0));
        let written = Arc::clone(&queued_bytes);
        std::thread::Builder::new()
            .name("access-log".to_string())
            .spawn(move || {
                for message in received {
                    match message {
                        Message::Batch(batch) => {
                            lines.write_batch(&batch);
                            written.fetch_sub(batch.capacity(), Ordering::Relaxed);
                        }
                        Message::Reopen => lines.reopen(path.as_ref()),
                    }
                }
                if lines.has_cut_line() {
                    error_log::warn(
                        Event::AccessLog,
                        format_args!("access log: the file ends with a line cut short"),
                    );
                }
                drop(finished);
            })?;
        Ok(AccessLog {
            buffer: RefCell::new(Vec::new()),
            batches: RefCell::new(Some(batches)),
            queued_bytes,
            writer_done,
            flusher: Cell::new(None),
            dropped_lines: Cell::new(0),
            unreported_drops: Cell::new(0),
            clock: RefCell::new(LogClock::default()),
            format: LogFormat::Combined,
        })
    }

    /// The same log, writing lines in `format`.
    pub fn with_format(self, format: LogFormat) -> AccessLog {
        AccessLog { format, ..self }
    }

    pub fn format(&self) -> LogFormat {
        self.format
    }

    /// Names the task to notify when lines are waiting.
    pub fn set_flusher(&self, task: TaskId) {
        self.flusher.set(Some(task));
    }

    /// Appends one finished line; returns the task to notify, if the buffer needs flushing
    /// (or a dropped line needs reporting).
    pub fn append(&self, line: &[u8]) -> Option<TaskId> {
        let mut buffer = self.buffer.borrow_mut();
        let held = self.queued_bytes.load(Ordering::Relaxed) + buffer.len() + line.len();
        if held > LOG_BACKLOG_BYTES {
            self.count_dropped(1);
            return self.flusher.get();
        }
        let was_empty = buffer.is_empty();
        buffer.extend_from_slice(line);
        if was_empty || buffer.len() >= LOG_FLUSH_BYTES {
            self.flusher.get()
        } else {
            None
        }
    }

    /// Hands the buffered lines to the writer thread, and reports lines dropped since the
    /// last time.
    pub fn flush(&self) {
        let batch = std::mem::take(&mut *self.buffer.borrow_mut());
        if !batch.is_empty() {
            self.send(Message::Batch(batch));
        }
        let dropped = self.unreported_drops.take();
        if dropped > 0 {
            error_log::warn(
                Event::AccessLog,
                format_args!(
                    "access log: {dropped} lines dropped ({} in all): the destination is too slow",
                    self.dropped_lines.get()
                ),
            );
        }
    }

    /// Queues `message` for the writer thread; never blocks.
    fn send(&self, message: Message) {
        let batches = self.batches.borrow();
        let Some(batches) = batches.as_ref() else {
            return;
        };
        let bytes = match &message {
            Message::Batch(batch) => batch.capacity(),
            Message::Reopen => 0,
        };
        self.queued_bytes.fetch_add(bytes, Ordering::Relaxed);
        // The thread ends only when the channel closes, or if it panicked.
        if let Err(SendError(Message::Batch(batch))) = batches.send(message) {
            self.queued_bytes.fetch_sub(bytes, Ordering::Relaxed);
            self.count_dropped(newlines(&batch));
        }
    }

    fn count_dropped(&self, lines: u64) {
        self.dropped_lines.set(self.dropped_lines.get() + lines);
        self.unreported_drops
            .set(self.unreported_drops.get() + lines);
    }

    /// Lines written from now on go to a new file at the same path (after logrotate renamed
    /// the old one); the lines buffered so far go to the old one. Standard output stays.
    pub fn reopen(&self) {
        self.flush();
        self.send(Message::Reopen);
    }

    /// Lines dropped because the writer could not keep up.
    pub fn dropped_lines(&self) -> u64 {
        self.dropped_lines.get()
    }

    /// Hands over what is buffered and waits, until `deadline` at the latest, for the writer
    /// to write everything, so a graceful exit loses no line; the deadline keeps a
    /// destination that stopped taking lines (a stalled pipe) from holding the exit for
    /// ever. Returns whether everything was written.
    pub fn finish(&self, deadline: Instant) -> bool {
        self.flush();
        if self.batches.borrow_mut().take().is_none() {
            return true;
        }
        let wait = deadline.saturating_duration_since(Instant::now());
        matches!(
            self.writer_done.recv_timeout(wait),
            Err(RecvTimeoutError::Disconnected)
        )
    }

    /// `[25/Nov/2026:20:01:07 +0000]`, rendered at most once per second.
    fn write_time(&self, line: &mut Vec<u8>, now: SystemTime) {
        line.extend_from_slice(self.clock.borrow_mut().get(now));
    }

    /// Starts the line for a request: everything up to the status.
    pub fn begin(&self, peer: Option<IpAddr>, request_line: &[u8], now: SystemTime) -> Vec<u8> {
        if self.format == LogFormat::Json {
            return json::begin(peer, request_line, now);
        }
        let mut line = Vec::with_capacity(160);
        match peer {
            // Writing into a Vec cannot fail.
            Some(ip) => {
                let _ = write!(line, "{ip}");
            }
            None => line.push(b'-'),
        }
        line.extend_from_slice(b" - - ");
        self.write_time(&mut line, now);
        line.extend_from_slice(b" \"");
        escape(&mut line, request_line);
        line.extend_from_slice(b"\" ");
        line
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::server::access_log::line::PendingLine;

    #[test]
    fn line_format() {
        let log = AccessLog {
            buffer: RefCell::new(Vec::new()),
            batches: RefCell::new(None),
            queued_bytes: Arc::new(AtomicUsize::new(0)),
            writer_done: mpsc::channel().1,
            flusher: Cell::new(None),
            dropped_lines: Cell::new(0),
            unreported_drops: Cell::new(0),
            clock: RefCell::new(LogClock::default()),
            format: LogFormat::Combined,
        };
        let start = log.begin(
            Some("127.0.0.1".parse().unwrap()),
            b"GET / HTTP/1.1",
            UNIX_EPOCH + Duration::from_secs(784_111_777),
        );
        let now = Instant::now();
        let mut pending = PendingLine::new(start, now);
        pending.set_headers(None, Some(b"curl/8"));
        pending.status = 200;
        pending.body_sent = 42;
        assert_eq!(
            String::from_utf8(pending.finish(now)).unwrap(),
            "127.0.0.1 - - [06/Nov/1994:08:49:37 +0000] \"GET / HTTP/1.1\" 200 42 \"-\" \"curl/8\" 0.000\n"
        );
    }
}
