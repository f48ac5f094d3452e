//! The error log: what went wrong or what changed, one line per event, for the operator.
//!
//! ```text
//! 2026/12/01 10:00:00 [warn] 4321: access log: No space left on device: 3 lines dropped (3 in all)
//! ```
//!
//! The time is UTC; the number is the process id (each worker has its own). Lines go to
//! `--error-log PATH` or standard error, filtered by `--log-level` (`error`, `warn`, `info`).
//!
//! It is one per process, reached through free functions (`error`, `warn`, `info`), so any
//! module can report without a handle being threaded through it, and other threads (the
//! access log's writer) can report too. Invariants:
//! - No client can flood it: each `Event` kind gets at most `ERROR_LOG_LINES_PER_SECOND`
//!   lines a second; the rest are counted, and the next line of that kind is preceded by
//!   "N similar messages suppressed". The check comes before any formatting, so a suppressed
//!   event costs a lock and a clock read, and no allocation.
//! - It never blocks the event loop: once `start_writer` has run, lines go to a writer thread
//!   over a bounded queue; if the destination stalls and the queue fills, lines are dropped
//!   and counted, and the count is written when there is room again. Before that (start-up,
//!   and the supervisor, which must stay single-threaded to fork) lines are written directly.
//! - Line breaks and control bytes in a message are escaped, so no message forges a line.

use std::fmt;
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::http::date::civil_from_seconds;

/// Error-log lines of one kind (`error_log::Event`) written per second; the rest are counted
/// and reported as suppressed.
pub const ERROR_LOG_LINES_PER_SECOND: u32 = 10;
/// Error-log lines waiting for the writer thread before new ones are dropped.
pub const ERROR_LOG_QUEUED_LINES: usize = 256;

/// How severe a line is; `--log-level` keeps this level and the ones above it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Level {
    /// Something failed: a 500, a connection that could not be registered.
    Error,
    /// Something was lost or degraded: dropped log lines, a worker that died, accept errors.
    Warn,
    /// Start, stop, reloads: a handful of lines in the life of a process.
    Info,
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warn => "warn",
            Level::Info => "info",
        }
    }
}

/// The kind of event a line reports; each kind is rate-limited on its own, so a flood of
/// one kind cannot hide the others.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// Start-up, shutdown, reloads.
    Lifecycle,
    /// A response with status 500.
    InternalError,
    /// epoll refused to register a new task (a connection is refused).
    Register,
    /// accept(2) failed.
    Accept,
    /// Access-log lines dropped or cut.
    AccessLog,
    /// A worker process died or was restarted.
    Worker,
}

const EVENT_KINDS: usize = 6;

/// Logs `message` at `error` level, e.g. `error_log::error(Event::Register, format_args!(..))`.
pub fn error(event: Event, message: fmt::Arguments<'_>) {
    lock().log(Level::Error, event, message, SystemTime::now());
}

/// Logs `message` at `warn` level.
pub fn warn(event: Event, message: fmt::Arguments<'_>) {
    lock().log(Level::Warn, event, message, SystemTime::now());
}

/// Logs `message` at `info` level.
pub fn info(event: Event, message: fmt::Arguments<'_>) {
    lock().log(Level::Info, event, message, SystemTime::now());
}

/// Sets the level and opens `path` for appending (standard error when `None`). Lines are
/// written directly until `start_writer`.
pub fn open(path: Option<&Path>, level: Level) -> io::Result<()> {
    let output = match path {
        Some(path) => Output::File(Box::new(open_append(path)?)),
        None => Output::Stderr,
    };
    let mut state = lock();
    state.level = level;
    state.path = path.map(Path::to_path_buf);
    state.sink = Sink::Direct(output);
    Ok(())
}

/// Moves writing to a thread of its own, so a stalled destination cannot block the caller.
/// Call it after the signal mask is set (threads inherit it), and never in a process that
/// will fork.
pub fn start_writer() -> io::Result<()> {
    let mut state = lock();
    let Sink::Direct(output) = std::mem::replace(&mut state.sink, Sink::Direct(Output::Stderr))
    else {
        return Ok(());
    };
    let (lines, received) = mpsc::sync_channel::<Message>(ERROR_LOG_QUEUED_LINES);
    let (returned, done) = mpsc::sync_channel::<Output>(1);
    std::thread::Builder::new()
        .name("error-log".to_string())
        .spawn(move || {
            let mut output = output;
            for message in received {
                match message {
                    Message::Line(line) => output.write_line(&line),
                    Message::Reopen(path) => match open_append(&path) {
                        Ok(file) => output = Output::File(Box::new(file)),
                        Err(e) => output.write_line(&reopen_failed(&path, &e)),
                    },
                }
            }
            let _ = returned.send(output);
        })?;
    state.sink = Sink::Writer { lines, done };
    Ok(())
}

/// Opens the log's path again (after logrotate renamed it): lines logged after this call
/// go to the new file. Standard error is left as it is.
pub fn reopen() {
    let mut state = lock();
    let Some(path) = state.path.clone() else {
        return;
    };
    match &mut state.sink {
        Sink::Direct(output) => match open_append(&path) {
            Ok(file) => *output = Output::File(Box::new(file)),
            Err(e) => output.write_line(&reopen_failed(&path, &e)),
        },
        Sink::Writer { lines, .. } => {
            if lines.try_send(Message::Reopen(path)).is_err() {
                state.reopen_pending = true;
            }
        }
    }
}

/// Reports what is still suppressed, and waits (until `deadline` at the latest) for the
/// writer thread to write everything; later lines are written directly.
pub fn finish(deadline: Instant) {
    let mut state = lock();
    state.report_suppressed(SystemTime::now());
    let Sink::Writer { lines, done } =
        std::mem::replace(&mut state.sink, Sink::Direct(Output::Stderr))
    else {
        return;
    };
    // Not held while waiting: the writer, or another thread, may still need it.
    drop(state);
    drop(lines);
    if let Ok(output) = done.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        lock().sink = Sink::Direct(output);
    }
}

static LOG: Mutex<State> = Mutex::new(State::new());

fn lock() -> MutexGuard<'static, State> {
    // A thread that panicked while logging left nothing half-changed that matters here.
    LOG.lock().unwrap_or_else(PoisonError::into_inner)
}

struct State {
    level: Level,
    /// Where lines go; `None` is standard error, which is never reopened.
    path: Option<PathBuf>,
    sink: Sink,
    windows: [Window; EVENT_KINDS],
    /// Lines the writer thread had no room for, not yet reported.
    dropped: u64,
    /// A reopen that found the queue full, sent ahead of the next line.
    reopen_pending: bool,
}

enum Sink {
    /// Written by the caller, at once.
    Direct(Output),
    /// Handed to the writer thread, which hands the output back when the queue closes.
    Writer {
        lines: SyncSender<Message>,
        done: Receiver<Output>,
    },
}

enum Message {
    Line(Vec<u8>),
    Reopen(PathBuf),
}

enum Output {
    Stderr,
    File(Box<dyn Write + Send>),
}

impl Output {
    /// Writes one line; a failing error log has nowhere to report to, so it is ignored.
    fn write_line(&mut self, line: &[u8]) {
        let _ = match self {
            Output::Stderr => io::stderr().lock().write_all(line),
            Output::File(file) => file.write_all(line).and_then(|()| file.flush()),
        };
    }
}

impl State {
    const fn new() -> State {
        State {
            level: Level::Info,
            path: None,
            sink: Sink::Direct(Output::Stderr),
            windows: [Window::new(); EVENT_KINDS],
            dropped: 0,
            reopen_pending: false,
        }
    }

    fn log(&mut self, level: Level, event: Event, message: fmt::Arguments<'_>, now: SystemTime) {
        if level > self.level {
            return;
        }
        let second = epoch_seconds(now);
        let Some(suppressed) = self.windows[event as usize].admit(second) else {
            return;
        };
        if suppressed > 0 {
            let note = format_line(
                now,
                level,
                format_args!("{suppressed} similar messages suppressed"),
            );
            self.emit(note);
        }
        self.emit(format_line(now, level, message));
    }

    fn emit(&mut self, line: Vec<u8>) {
        match &mut self.sink {
            Sink::Direct(output) => output.write_line(&line),
            Sink::Writer { lines, .. } => {
                if self.reopen_pending
                    && let Some(path) = &self.path
                    && lines.try_send(Message::Reopen(path.clone())).is_ok()
                {
                    self.reopen_pending = false;
                }
                if self.dropped > 0 {
                    let note = format_line(
                        SystemTime::now(),
                        Level::Warn,
                        format_args!(
                            "{} error-log lines dropped: the destination was too slow",
                            self.dropped
                        ),
                    );
                    if lines.try_send(Message::Line(note)).is_ok() {
                        self.dropped = 0;
                    }
                }
                if lines.try_send(Message::Line(line)).is_err() {
                    self.dropped += 1;
                }
            }
        }
    }

    /// Writes the counts that no later line of their kind has reported.
    fn report_suppressed(&mut self, now: SystemTime) {
        for index in 0..EVENT_KINDS {
            let suppressed = std::mem::take(&mut self.windows[index].suppressed);
            if suppressed > 0 {
                let note = format_line(
                    now,
                    Level::Warn,
                    format_args!("{suppressed} similar messages suppressed"),
                );
                self.emit(note);
            }
        }
    }
}

/// One event kind's budget for the current second.
#[derive(Clone, Copy, Debug)]
struct Window {
    second: u64,
    lines: u32,
    /// Lines refused since the last one written.
    suppressed: u64,
}

impl Window {
    const fn new() -> Window {
        Window {
            second: 0,
            lines: 0,
            suppressed: 0,
        }
    }

    /// Whether a line may be written in `second`: `Some` with the number suppressed before
    /// it (to be reported first), `None` when this second's budget is spent.
    fn admit(&mut self, second: u64) -> Option<u64> {
        if second != self.second {
            self.second = second;
            self.lines = 0;
        }
        if self.lines >= ERROR_LOG_LINES_PER_SECOND {
            self.suppressed += 1;
            return None;
        }
        self.lines += 1;
        Some(std::mem::take(&mut self.suppressed))
    }
}

fn epoch_seconds(now: SystemTime) -> u64 {
    now.duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs()
}

/// `2026/12/01 10:00:00 [warn] 4321: message` and a newline, the message escaped.
fn format_line(now: SystemTime, level: Level, message: fmt::Arguments<'_>) -> Vec<u8> {
    let seconds = epoch_seconds(now);
    let (year, month, day) = civil_from_seconds(seconds);
    let of_day = seconds % 86_400;
    let mut line = Vec::with_capacity(128);
    // Writing into a Vec cannot fail.
    let _ = write!(
        line,
        "{year}/{month:02}/{day:02} {:02}:{:02}:{:02} [{}] {}: ",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60,
        level.name(),
        std::process::id()
    );
    escape_controls(&mut line, message.to_string().as_bytes());
    line.push(b'\n');
    line
}

/// Control bytes as `\xHH`; everything else (UTF-8 in a path, quotes) as it is.
fn escape_controls(out: &mut Vec<u8>, bytes: &[u8]) {
    for &b in bytes {
        if b < 0x20 || b == 0x7f {
            // Writing into a Vec cannot fail.
            let _ = write!(out, "\\x{b:02X}");
        } else {
            out.push(b);
        }
    }
}

fn reopen_failed(path: &Path, error: &io::Error) -> Vec<u8> {
    format_line(
        SystemTime::now(),
        Level::Error,
        format_args!(
            "cannot reopen error log {}: {error}; writing to the old file",
            path.display()
        ),
    )
}

fn open_append(path: &Path) -> io::Result<std::fs::File> {
    OpenOptions::new().create(true).append(true).open(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// A destination tests can read back.
    #[derive(Clone, Default)]
    struct Memory(Arc<Mutex<Vec<u8>>>);

    impl Write for Memory {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn state_writing_to(memory: &Memory, level: Level) -> State {
        let mut state = State::new();
        state.level = level;
        state.sink = Sink::Direct(Output::File(Box::new(memory.clone())));
        state
    }

    fn text(memory: &Memory) -> String {
        String::from_utf8(memory.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn line_format_is_timestamped_and_escaped() {
        let line = format_line(
            UNIX_EPOCH + Duration::from_secs(1_795_637_000),
            Level::Warn,
            format_args!("bad\nline {}", 7),
        );
        let pid = std::process::id();
        assert_eq!(
            String::from_utf8(line).unwrap(),
            format!("2026/11/25 20:03:20 [warn] {pid}: bad\\x0Aline 7\n")
        );
    }

    #[test]
    fn levels_filter() {
        let memory = Memory::default();
        let mut state = state_writing_to(&memory, Level::Warn);
        let now = SystemTime::now();
        state.log(Level::Info, Event::Lifecycle, format_args!("hidden"), now);
        state.log(Level::Warn, Event::Worker, format_args!("shown"), now);
        state.log(Level::Error, Event::Register, format_args!("also"), now);
        let text = text(&memory);
        assert!(!text.contains("hidden"), "{text}");
        assert!(text.contains("[warn]") && text.contains("shown"), "{text}");
        assert!(text.contains("[error]") && text.contains("also"), "{text}");
    }

    /// A flood of one kind is cut to the budget, then counted in one line; other kinds are
    /// not held back by it.
    #[test]
    fn floods_are_rate_limited_per_kind() {
        let memory = Memory::default();
        let mut state = state_writing_to(&memory, Level::Info);
        let start = UNIX_EPOCH + Duration::from_secs(1_000_000);
        for i in 0..1000 {
            state.log(Level::Warn, Event::Accept, format_args!("flood {i}"), start);
        }
        state.log(Level::Warn, Event::Worker, format_args!("other"), start);
        let next_second = start + Duration::from_secs(1);
        state.log(
            Level::Warn,
            Event::Accept,
            format_args!("later"),
            next_second,
        );
        let text = text(&memory);
        let budget = ERROR_LOG_LINES_PER_SECOND as usize;
        assert_eq!(text.matches("flood").count(), budget, "{text}");
        assert!(text.contains("other"), "{text}");
        let suppressed = format!("{} similar messages suppressed", 1000 - budget);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[lines.len() - 2].ends_with(&suppressed), "{text}");
        assert!(lines[lines.len() - 1].ends_with("later"), "{text}");
    }

    #[test]
    fn suppressed_counts_are_reported_at_the_end() {
        let memory = Memory::default();
        let mut state = state_writing_to(&memory, Level::Info);
        let now = SystemTime::now();
        for _ in 0..ERROR_LOG_LINES_PER_SECOND + 3 {
            state.log(Level::Error, Event::InternalError, format_args!("500"), now);
        }
        state.report_suppressed(now);
        assert!(text(&memory).contains("3 similar messages suppressed"));
    }
}
