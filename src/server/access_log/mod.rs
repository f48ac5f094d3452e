//! The access log: one line per response in the Combined Log Format, plus the time the
//! request took, written without ever blocking the loop.
//!
//! ```text
//! 127.0.0.1 - - [25/Nov/2026:20:01:07 +0000] "GET /a.txt HTTP/1.1" 200 6 "-" "curl/7.88.1" 0.000
//! ```
//!
//! Connections add finished lines to one buffer. The first line into an empty buffer
//! notifies the flusher task, which runs later in the same turn or the next and hands the
//! whole batch to a writer thread over a bounded channel; so a disk or a pipe that is slow,
//! or a reader of stdout that stops, delays only that thread. If the thread falls more than
//! `LOG_QUEUED_BATCHES` behind, batches are dropped and counted, never buffered without bound.
//! On exit everything buffered is handed over and waited for (within the drain timeout), so
//! a graceful shutdown loses no line.
//!
//! The byte count is of body bytes actually sent: a client that aborts a download is logged
//! with what it received.
//!
//! The file holds whole lines only, also when its disk fills (`WholeLines`), and `reopen`
//! (SIGHUP) switches to a new file at the same path between two batches, so every line lands
//! whole in exactly one of the two files. Lines dropped either way are reported in the error
//! log.

pub mod book;
pub mod line;
mod writer;

use std::cell::{Cell, RefCell};
use std::io::{self, Write};
use std::net::IpAddr;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::time::{Duration, Instant, SystemTime};

use crate::runtime::error_log::{self, Event};
use crate::runtime::task::TaskId;
use crate::server::access_log::line::{LogClock, escape};
use crate::server::access_log::writer::{WholeLines, newlines, open_destination};

/// Access-log batches waiting for the writer thread before new ones are dropped.
pub const LOG_QUEUED_BATCHES: usize = 64;
/// An access-log batch is handed to the writer early once it is this large.
pub const LOG_FLUSH_BYTES: usize = 64 * 1024;

/// How often `finish` retries a full queue.
const FINISH_POLL: Duration = Duration::from_millis(5);

pub struct AccessLog {
    buffer: RefCell<Vec<u8>>,
    /// `None` once `finish` has handed everything over.
    batches: RefCell<Option<SyncSender<Message>>>,
    /// Disconnects when the writer thread has written everything and ended.
    writer_done: Receiver<()>,
    flusher: Cell<Option<TaskId>>,
    dropped_lines: Cell<u64>,
    /// A reopen that found the queue full; it goes ahead of the next batch.
    reopen_pending: Cell<bool>,
    clock: RefCell<LogClock>,
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
        let (batches, received) = mpsc::sync_channel::<Message>(LOG_QUEUED_BATCHES);
        let (finished, writer_done) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("access-log".to_string())
            .spawn(move || {
                for message in received {
                    match message {
                        Message::Batch(batch) => lines.write_batch(&batch),
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
            writer_done,
            flusher: Cell::new(None),
            dropped_lines: Cell::new(0),
            reopen_pending: Cell::new(false),
            clock: RefCell::new(LogClock::default()),
        })
    }

    /// Names the task to notify when lines are waiting.
    pub fn set_flusher(&self, task: TaskId) {
        self.flusher.set(Some(task));
    }

    /// Appends one finished line; returns the task to notify, if the buffer needs flushing.
    pub fn append(&self, line: &[u8]) -> Option<TaskId> {
        let mut buffer = self.buffer.borrow_mut();
        let was_empty = buffer.is_empty();
        buffer.extend_from_slice(line);
        if was_empty || buffer.len() >= LOG_FLUSH_BYTES {
            self.flusher.get()
        } else {
            None
        }
    }

    /// Hands the buffered lines to the writer thread.
    pub fn flush(&self) {
        let batch = std::mem::take(&mut *self.buffer.borrow_mut());
        if batch.is_empty() {
            return;
        }
        let batches = self.batches.borrow();
        let Some(batches) = batches.as_ref() else {
            return;
        };
        if self.reopen_pending.get() && batches.try_send(Message::Reopen).is_ok() {
            self.reopen_pending.set(false);
        }
        if let Err(TrySendError::Full(message) | TrySendError::Disconnected(message)) =
            batches.try_send(Message::Batch(batch))
        {
            let lines = match message {
                Message::Batch(batch) => newlines(&batch),
                Message::Reopen => 0,
            };
            self.dropped_lines.set(self.dropped_lines.get() + lines);
            error_log::warn(
                Event::AccessLog,
                format_args!(
                    "access log: {lines} lines dropped ({} in all): the destination is too slow",
                    self.dropped_lines.get()
                ),
            );
        }
    }

    /// Lines written from now on go to a new file at the same path (after logrotate renamed
    /// the old one); the lines buffered so far go to the old one. Standard output stays.
    pub fn reopen(&self) {
        self.flush();
        let batches = self.batches.borrow();
        if let Some(batches) = batches.as_ref()
            && batches.try_send(Message::Reopen).is_err()
        {
            self.reopen_pending.set(true);
        }
    }

    /// Lines dropped because the writer could not keep up.
    pub fn dropped_lines(&self) -> u64 {
        self.dropped_lines.get()
    }

    /// Hands over what is buffered and waits, until `deadline` at the latest, for the writer
    /// to write everything. Unlike `flush`, this waits for room in the queue, so a graceful
    /// exit loses no line; the deadline keeps a destination that stopped taking lines (a
    /// stalled pipe) from holding the exit for ever. Returns whether everything was written.
    pub fn finish(&self, deadline: Instant) -> bool {
        let batch = std::mem::take(&mut *self.buffer.borrow_mut());
        let Some(batches) = self.batches.borrow_mut().take() else {
            return true;
        };
        let reopen = self.reopen_pending.take().then_some(Message::Reopen);
        let last = (!batch.is_empty()).then_some(Message::Batch(batch));
        for mut message in reopen.into_iter().chain(last) {
            loop {
                match batches.try_send(message) {
                    Ok(()) | Err(TrySendError::Disconnected(_)) => break,
                    Err(TrySendError::Full(returned)) if Instant::now() < deadline => {
                        message = returned;
                        std::thread::sleep(FINISH_POLL);
                    }
                    Err(TrySendError::Full(_)) => return false,
                }
            }
        }
        drop(batches);
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
    use std::time::UNIX_EPOCH;

    use super::*;
    use crate::server::access_log::line::PendingLine;

    #[test]
    fn line_format() {
        let log = AccessLog {
            buffer: RefCell::new(Vec::new()),
            batches: RefCell::new(None),
            writer_done: mpsc::channel().1,
            flusher: Cell::new(None),
            dropped_lines: Cell::new(0),
            reopen_pending: Cell::new(false),
            clock: RefCell::new(LogClock::default()),
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
