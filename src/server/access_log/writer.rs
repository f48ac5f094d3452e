//! The access log's writer thread side: whole lines only, also on a full disk and with
//! several worker processes appending to one file, and reopening.
//!
//! The rule for a regular file: each batch is written under an exclusive `flock` on the file,
//! which every tinyhttpd process writing it takes, after reserving the batch's bytes at the
//! file's end (`fallocate` with `FALLOC_FL_KEEP_SIZE`). So no other worker's batch can land
//! between two parts of one, and a batch that does not fit is dropped whole, before a byte
//! of it is written: the file holds whole lines, or none, across processes and while the
//! disk stays full. Where the file system cannot reserve (`EOPNOTSUPP`), and on standard
//! output, pipes and terminals (which have no "disk full"), batches are written as they
//! come, and a line cut short by a failing write is finished before anything else once
//! writing works again (`WholeLines`); that fallback also covers a reserved write that fails
//! part-way, which should not happen.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::AsFd;

use crate::runtime::error_log::{self, Event};
use crate::sys::file;

/// Where the access log goes.
pub(super) enum Destination {
    /// A regular file, which other workers may append to as well: locked and reserved.
    File(File),
    /// Standard output, a pipe, a terminal: written as is.
    Stream(Box<dyn Write + Send>),
}

/// Opens `destination` for appending: a file, or standard output for `-`.
pub(super) fn open_destination(destination: &str) -> io::Result<Destination> {
    if destination == "-" {
        return Ok(Destination::Stream(Box::new(io::stdout())));
    }
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(destination)?;
    Ok(if file.metadata()?.is_file() {
        Destination::File(file)
    } else {
        Destination::Stream(Box::new(file))
    })
}

pub(super) fn newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}

/// What `WholeLines` needs of a destination besides writing.
pub(super) trait Sink: Write {
    /// Takes the lock that every writer of the same file takes around a batch; `false` if
    /// there is none to take (then `unlock` is not called).
    fn lock(&mut self) -> bool;
    fn unlock(&mut self);
    /// Makes sure `len` more bytes fit at the end. An error means there is no room; a
    /// destination that cannot tell answers `Ok` and lets the write find out.
    fn reserve(&mut self, len: usize) -> io::Result<()>;
}

impl Write for Destination {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        match self {
            Destination::File(file) => file.write(bytes),
            Destination::Stream(stream) => stream.write(bytes),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Destination::File(_) => Ok(()),
            Destination::Stream(stream) => stream.flush(),
        }
    }
}

impl Sink for Destination {
    fn lock(&mut self) -> bool {
        let Destination::File(file) = self else {
            return false;
        };
        loop {
            match file.lock() {
                Ok(()) => return true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // No lock to be had (ENOLCK): write unlocked, as a single process would.
                Err(_) => return false,
            }
        }
    }

    fn unlock(&mut self) {
        if let Destination::File(file) = self {
            // Closing the file would release it too; a failure here leaves nothing to do.
            let _ = file.unlock();
        }
    }

    fn reserve(&mut self, len: usize) -> io::Result<()> {
        let Destination::File(file) = self else {
            return Ok(());
        };
        // Under the lock, the end is where this batch will land (O_APPEND).
        let end = file.metadata()?.len();
        match file::reserve(file.as_fd(), end, len as u64) {
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT)) => Err(e),
            // Reserved, or the file system cannot reserve (EOPNOTSUPP): write and see.
            _ => Ok(()),
        }
    }
}

/// The writer thread's side: writes batches of whole lines so that the destination only
/// ever holds whole lines (see the module documentation for the rule).
///
/// Where a write can still fail part-way (no reservation: a pipe, a file system that cannot
/// reserve), the line cut short is finished rather than undone: the unwritten end of the
/// line is kept, and once writing works again it is written before anything else, so the
/// cut line is completed instead of having the next line glued to it. Truncating back would
/// not work on a pipe or standard output, and on a file shared by several workers it could
/// cut away a line another worker appended in between. Until the cut line is finished, new
/// batches are dropped (counted and reported), so nothing is held without bound.
pub(super) struct WholeLines<W> {
    out: W,
    /// The unwritten end of a line cut short, newline included; empty when none.
    cut: Vec<u8>,
    dropped_lines: u64,
}

impl<W: Sink> WholeLines<W> {
    pub(super) fn new(out: W) -> WholeLines<W> {
        WholeLines {
            out,
            cut: Vec::new(),
            dropped_lines: 0,
        }
    }

    /// Writes a batch of whole lines, under the destination's lock: all of it if its room
    /// could be reserved, none of it (dropped and reported) if not. On a failure part-way,
    /// keeps the end of a line it cut and drops (and reports) the lines after it.
    pub(super) fn write_batch(&mut self, batch: &[u8]) {
        self.locked(|lines| {
            match lines.out.reserve(lines.cut.len() + batch.len()) {
                Ok(()) => lines.write_reserved(batch),
                Err(error) => lines.dropped(newlines(batch), &error),
            }
            // Standard output buffers; a file does not, and this is a no-op.
            let _ = lines.out.flush();
        });
    }

    fn write_reserved(&mut self, batch: &[u8]) {
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
    }

    /// Runs `f` holding the destination's lock.
    fn locked<R>(&mut self, f: impl FnOnce(&mut Self) -> R) -> R {
        let locked = self.out.lock();
        let result = f(self);
        if locked {
            self.out.unlock();
        }
        result
    }

    /// A line was cut short and is not finished yet.
    pub(super) fn has_cut_line(&self) -> bool {
        !self.cut.is_empty()
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

impl WholeLines<Destination> {
    /// Opens `path` again and writes there from now on; the old file gets its cut line
    /// finished first if it can. Standard output (`None`) is kept.
    pub(super) fn reopen(&mut self, path: Option<&String>) {
        let Some(path) = path else {
            return;
        };
        match open_destination(path) {
            Ok(out) => {
                if let Err(error) = self.locked(|lines| lines.finish_cut()) {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Takes `room` more bytes, then fails as a full disk does.
    struct FullDisk {
        written: Vec<u8>,
        room: usize,
        /// Whether `reserve` knows the room left (a regular file on most file systems).
        reserves: bool,
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

    /// A pipe, or a file system that cannot reserve: the write finds out.
    impl Sink for FullDisk {
        fn lock(&mut self) -> bool {
            false
        }
        fn unlock(&mut self) {}
        fn reserve(&mut self, len: usize) -> io::Result<()> {
            if self.reserves && len > self.room {
                return Err(io::Error::from_raw_os_error(libc::ENOSPC));
            }
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
            reserves: false,
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
            reserves: false,
        });
        lines.write_batch(b"line1\nline2\n");
        assert!(lines.cut.is_empty());
        lines.out.room = 1000;
        lines.write_batch(b"line3\n");
        assert_eq!(lines.out.written, b"line1\nline3\n");
        assert_eq!(lines.dropped_lines, 1);
    }

    /// With room reserved first, a batch that does not fit is dropped whole: nothing of it
    /// is written, so the file never ends in a cut line, however long the disk stays full.
    #[test]
    fn a_batch_that_does_not_fit_is_dropped_whole() {
        let mut lines = WholeLines::new(FullDisk {
            written: Vec::new(),
            room: 8,
            reserves: true,
        });
        lines.write_batch(b"line1\nline2\n");
        lines.write_batch(b"l3\n");
        assert_eq!(lines.out.written, b"l3\n");
        assert!(!lines.has_cut_line());
        lines.out.room = 1000;
        lines.write_batch(b"line4\n");
        assert_eq!(lines.out.written, b"l3\nline4\n");
        assert_eq!(lines.dropped_lines, 2);
    }
}
