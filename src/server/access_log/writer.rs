//! The access log's writer thread side: whole lines only, also on a full disk, and reopening.

use std::fs::OpenOptions;
use std::io::{self, Write};

use crate::runtime::error_log::{self, Event};

/// Opens `destination` for appending: a file, or standard output for `-`.
pub(super) fn open_destination(destination: &str) -> io::Result<Box<dyn Write + Send>> {
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

pub(super) fn newlines(bytes: &[u8]) -> u64 {
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
pub(super) struct WholeLines<W> {
    out: W,
    /// The unwritten end of a line cut short, newline included; empty when none.
    cut: Vec<u8>,
    dropped_lines: u64,
}

impl<W: Write> WholeLines<W> {
    pub(super) fn new(out: W) -> WholeLines<W> {
        WholeLines {
            out,
            cut: Vec::new(),
            dropped_lines: 0,
        }
    }

    /// Writes a batch of whole lines; on failure, keeps the end of a line it cut and drops
    /// (and reports) the lines after it.
    pub(super) fn write_batch(&mut self, batch: &[u8]) {
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

impl WholeLines<Box<dyn Write + Send>> {
    /// Opens `path` again and writes there from now on; the old file gets its cut line
    /// finished first if it can. Standard output (`None`) is kept.
    pub(super) fn reopen(&mut self, path: Option<&String>) {
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

#[cfg(test)]
mod tests {
    use super::*;

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
