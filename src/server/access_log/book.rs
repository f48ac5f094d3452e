//! A connection's access-log lines until their responses are out.

use std::net::IpAddr;
use std::time::Instant;

use crate::runtime::task::TaskId;
use crate::server::access_log::AccessLog;
use crate::server::access_log::line::PendingLine;

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

    pub fn set_peer(&mut self, peer: Option<IpAddr>) {
        self.peer = peer;
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
