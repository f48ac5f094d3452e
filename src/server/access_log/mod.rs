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

use std::cell::{Cell, RefCell};
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::net::IpAddr;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::runtime::error_log::{self, Event, civil_from_days};
use crate::runtime::task::TaskId;

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

/// Opens `destination` for appending: a file, or standard output for `-`.
fn open_destination(destination: &str) -> io::Result<Box<dyn Write + Send>> {
    Ok(if destination == "-" {
        Box::new(io::stdout())
    } else {
        Box::new(
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(destination)?,
        )
    })
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
                if !lines.cut.is_empty() {
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

fn newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}

/// The writer thread's side: writes batches of whole lines so that the destination only
/// ever holds whole lines, also when a write fails part-way (a full disk: a short write,
/// then ENOSPC).
///
/// Of the two ways to undo a line cut short, this one finishes it: the unwritten end of the
/// line is kept, and once writing works again it is written before anything else, so the
/// cut line is completed instead of having the next line glued to it. Truncating back would
/// not work on a pipe or standard output, and on a file shared by several workers it could
/// cut away a line another worker appended in between. Until the cut line is finished, new
/// batches are dropped (counted and reported), so nothing is held without bound.
struct WholeLines<W> {
    out: W,
    /// The unwritten end of a line cut short, newline included; empty when none.
    cut: Vec<u8>,
    dropped_lines: u64,
}

impl<W: Write> WholeLines<W> {
    fn new(out: W) -> WholeLines<W> {
        WholeLines {
            out,
            cut: Vec::new(),
            dropped_lines: 0,
        }
    }

    /// Writes a batch of whole lines; on failure, keeps the end of a line it cut and drops
    /// (and reports) the lines after it.
    fn write_batch(&mut self, batch: &[u8]) {
        if let Err(error) = self.finish_cut() {
            self.dropped(newlines(batch), &error);
            return;
        }
        let (written, failed) = write_some(&mut self.out, batch);
        if let Some(error) = failed {
            let rest = &batch[written..];
            let mut lost = rest;
            if written > 0 && batch[written - 1] != b'\n' {
                let end = rest
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(rest.len(), |i| i + 1);
                self.cut.extend_from_slice(&rest[..end]);
                lost = &rest[end..];
            }
            self.dropped(newlines(lost), &error);
        }
        // Standard output buffers; a file does not, and this is a no-op.
        let _ = self.out.flush();
    }

    /// Writes what is left of a cut line; `Ok` once none is left.
    fn finish_cut(&mut self) -> io::Result<()> {
        if self.cut.is_empty() {
            return Ok(());
        }
        let (written, failed) = write_some(&mut self.out, &self.cut);
        self.cut.drain(..written);
        failed.map_or(Ok(()), Err)
    }

    fn dropped(&mut self, lines: u64, error: &io::Error) {
        self.dropped_lines += lines;
        let mut note = String::new();
        if !self.cut.is_empty() {
            note.push_str("; a line cut short is completed before the next one");
        }
        error_log::warn(
            Event::AccessLog,
            format_args!(
                "access log: {error}: {lines} lines dropped ({} in all){note}",
                self.dropped_lines
            ),
        );
    }
}

impl WholeLines<Box<dyn Write + Send>> {
    /// Opens `path` again and writes there from now on; the old file gets its cut line
    /// finished first if it can. Standard output (`None`) is kept.
    fn reopen(&mut self, path: Option<&String>) {
        let Some(path) = path else {
            return;
        };
        match open_destination(path) {
            Ok(out) => {
                if let Err(error) = self.finish_cut() {
                    self.cut.clear();
                    self.dropped(1, &error);
                }
                self.out = out;
            }
            Err(error) => error_log::error(
                Event::AccessLog,
                format_args!("cannot reopen access log {path}: {error}; writing to the old file"),
            ),
        }
    }
}

/// Writes as much of `bytes` as the destination takes: how much, and the error that stopped
/// it, if any.
fn write_some(out: &mut impl Write, bytes: &[u8]) -> (usize, Option<io::Error>) {
    let mut written = 0;
    while written < bytes.len() {
        match out.write(&bytes[written..]) {
            Ok(0) => return (written, Some(io::ErrorKind::WriteZero.into())),
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (written, Some(e)),
        }
    }
    (written, None)
}

/// One response's line while its body is being sent.
pub struct PendingLine {
    /// Everything up to the status (see `AccessLog::begin`).
    start: Vec<u8>,
    pub status: u16,
    referer: Vec<u8>,
    user_agent: Vec<u8>,
    received_at: Instant,
    pub body_sent: u64,
}

impl PendingLine {
    /// A line for a request received at `received_at`; its status is set once rendered.
    pub fn new(
        start: Vec<u8>,
        referer: Option<&[u8]>,
        user_agent: Option<&[u8]>,
        received_at: Instant,
    ) -> PendingLine {
        PendingLine {
            start,
            status: 0,
            referer: referer.map(<[u8]>::to_vec).unwrap_or_default(),
            user_agent: user_agent.map(<[u8]>::to_vec).unwrap_or_default(),
            received_at,
            body_sent: 0,
        }
    }

    /// The finished line, newline included.
    pub fn finish(mut self, now: Instant) -> Vec<u8> {
        let line = &mut self.start;
        line.extend_from_slice(itoa::Buffer::new().format(self.status).as_bytes());
        line.push(b' ');
        line.extend_from_slice(itoa::Buffer::new().format(self.body_sent).as_bytes());
        for field in [&self.referer, &self.user_agent] {
            line.extend_from_slice(b" \"");
            if field.is_empty() {
                line.push(b'-');
            } else {
                escape(line, field);
            }
            line.push(b'"');
        }
        let took = now.saturating_duration_since(self.received_at);
        // Writing into a Vec cannot fail.
        let _ = writeln!(line, " {}.{:03}", took.as_secs(), took.subsec_millis());
        self.start
    }
}

/// Client bytes in a log line: printable ASCII as is, except `"` and `\`, which like
/// everything else are written `\xHH`, so no request can forge a line or a field.
fn escape(out: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in bytes {
        if (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\' {
            out.push(b);
        } else {
            out.extend_from_slice(&[
                b'\\',
                b'x',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 15)],
            ]);
        }
    }
}

/// The `[day/Mon/year:hh:mm:ss +0000]` stamp, cached per second.
#[derive(Default)]
struct LogClock {
    second: Option<u64>,
    text: Vec<u8>,
}

impl LogClock {
    fn get(&mut self, now: SystemTime) -> &[u8] {
        let second = now
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_secs();
        if self.second != Some(second) {
            self.second = Some(second);
            self.text = clf_time(second);
        }
        &self.text
    }
}

/// Seconds since the epoch as a Common Log Format time, in UTC.
fn clf_time(epoch_seconds: u64) -> Vec<u8> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = epoch_seconds / 86_400;
    let seconds_of_day = epoch_seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "[{day:02}/{}/{year}:{:02}:{:02}:{:02} +0000]",
        MONTHS[(month - 1) as usize],
        seconds_of_day / 3600,
        seconds_of_day / 60 % 60,
        seconds_of_day % 60
    )
    .into_bytes()
}

/// A connection's log lines whose responses are not fully sent yet. Bodies in the output
/// buffer are tracked by their offsets in it; a file body by the bytes sendfile reports.
pub struct LogBook {
    peer: Option<IpAddr>,
    entries: Vec<Entry>,
}

struct Entry {
    line: PendingLine,
    /// Where this response's body lies in the output buffer (empty for a file body).
    body_start: usize,
    body_end: usize,
    file_body: bool,
}

impl LogBook {
    /// The book of a connection from `peer`.
    pub fn new(peer: Option<IpAddr>) -> LogBook {
        LogBook {
            peer,
            entries: Vec::new(),
        }
    }

    pub fn peer(&self) -> Option<IpAddr> {
        self.peer
    }

    /// Records a response whose head and in-memory body were just appended to the output
    /// buffer at `body_start..body_end`.
    pub fn push(&mut self, line: PendingLine, body_start: usize, body_end: usize, file_body: bool) {
        self.entries.push(Entry {
            line,
            body_start,
            body_end,
            file_body,
        });
    }

    /// Body bytes of the current file response sent outside the output buffer.
    pub fn file_bytes(&mut self, len: u64) {
        if let Some(entry) = self.entries.iter_mut().rev().find(|e| e.file_body) {
            entry.line.body_sent += len;
        }
    }

    /// The whole output buffer has been written (it is about to be cleared): responses
    /// without a file body are complete; a file response keeps counting.
    pub fn output_written(&mut self, log: &AccessLog, now: Instant) -> Option<TaskId> {
        let mut notify = None;
        for mut entry in std::mem::take(&mut self.entries) {
            entry.line.body_sent += (entry.body_end - entry.body_start) as u64;
            if entry.file_body {
                entry.body_start = 0;
                entry.body_end = 0;
                self.entries.push(entry);
            } else {
                notify = notify.or(log.append(&entry.line.finish(now)));
            }
        }
        notify
    }

    /// The file body has been sent completely.
    pub fn file_done(&mut self, log: &AccessLog, now: Instant) -> Option<TaskId> {
        let mut notify = None;
        for entry in std::mem::take(&mut self.entries) {
            notify = notify.or(log.append(&entry.line.finish(now)));
        }
        notify
    }

    /// The connection ended with `output_sent` bytes of the output buffer written: log
    /// every response with what of its body got out.
    pub fn close(&mut self, log: &AccessLog, output_sent: usize, now: Instant) -> Option<TaskId> {
        let mut notify = None;
        for mut entry in std::mem::take(&mut self.entries) {
            let sent = output_sent.clamp(entry.body_start, entry.body_end) - entry.body_start;
            entry.line.body_sent += sent as u64;
            notify = notify.or(log.append(&entry.line.finish(now)));
        }
        notify
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clf_times() {
        assert_eq!(clf_time(0), b"[01/Jan/1970:00:00:00 +0000]");
        assert_eq!(clf_time(784_111_777), b"[06/Nov/1994:08:49:37 +0000]");
        assert_eq!(clf_time(951_782_400), b"[29/Feb/2000:00:00:00 +0000]");
        assert_eq!(clf_time(1_795_637_000), b"[25/Nov/2026:20:03:20 +0000]");
    }

    #[test]
    fn client_bytes_cannot_forge_fields() {
        let mut out = Vec::new();
        escape(&mut out, b"GET /a\"b\\c\r\n\x00\xff HTTP/1.1");
        assert_eq!(out, b"GET /a\\x22b\\x5Cc\\x0D\\x0A\\x00\\xFF HTTP/1.1");
    }

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
        let mut pending = PendingLine::new(start, None, Some(b"curl/8"), now);
        pending.status = 200;
        pending.body_sent = 42;
        assert_eq!(
            String::from_utf8(pending.finish(now)).unwrap(),
            "127.0.0.1 - - [06/Nov/1994:08:49:37 +0000] \"GET / HTTP/1.1\" 200 42 \"-\" \"curl/8\" 0.000\n"
        );
    }

    /// Takes `room` more bytes, then fails as a full disk does.
    struct FullDisk {
        written: Vec<u8>,
        room: usize,
    }

    impl Write for FullDisk {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            if self.room == 0 {
                return Err(io::Error::from_raw_os_error(libc::ENOSPC));
            }
            let n = bytes.len().min(self.room);
            self.room -= n;
            self.written.extend_from_slice(&bytes[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// A write that fails mid-line leaves the end of that line to be written first once
    /// there is room, and drops the lines after it: never a line glued to a cut one.
    #[test]
    fn a_line_cut_by_a_full_disk_is_finished_not_glued() {
        let mut lines = WholeLines::new(FullDisk {
            written: Vec::new(),
            room: 8,
        });
        lines.write_batch(b"line1\nline2\nline3\n");
        assert_eq!(lines.out.written, b"line1\nli");
        // Still full: this batch is dropped, the cut line waits.
        lines.write_batch(b"line4\n");
        lines.out.room = 1000;
        lines.write_batch(b"line5\n");
        assert_eq!(lines.out.written, b"line1\nline2\nline5\n");
        assert_eq!(lines.dropped_lines, 2);
    }

    /// A failure exactly between two lines cuts nothing.
    #[test]
    fn a_failure_between_lines_cuts_nothing() {
        let mut lines = WholeLines::new(FullDisk {
            written: Vec::new(),
            room: 6,
        });
        lines.write_batch(b"line1\nline2\n");
        assert!(lines.cut.is_empty());
        lines.out.room = 1000;
        lines.write_batch(b"line3\n");
        assert_eq!(lines.out.written, b"line1\nline3\n");
        assert_eq!(lines.dropped_lines, 1);
    }
}
