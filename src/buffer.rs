//! A connection's input buffer: fixed capacity, read into at the end, consumed from the front.
//!
//! Invariant: `start <= end <= bytes.len()`; `bytes[start..end]` is received and not yet used.
//! Consuming only moves `start`, so answering pipelined requests costs no copying; the unread
//! tail is moved to the front only when room is needed for the next read.

use std::io;

use crate::transport::Transport;

pub struct InputBuffer {
    bytes: Box<[u8]>,
    start: usize,
    end: usize,
}

impl InputBuffer {
    pub fn new(capacity_bytes: usize) -> InputBuffer {
        InputBuffer {
            bytes: vec![0; capacity_bytes].into_boxed_slice(),
            start: 0,
            end: 0,
        }
    }

    /// The bytes received and not yet consumed.
    pub fn filled(&self) -> &[u8] {
        &self.bytes[self.start..self.end]
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    pub fn is_full(&self) -> bool {
        self.start == 0 && self.end == self.bytes.len()
    }

    /// Marks the first `len` filled bytes as used.
    pub fn consume(&mut self, len: usize) {
        self.start = (self.start + len).min(self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    pub fn clear(&mut self) {
        self.start = 0;
        self.end = 0;
    }

    /// Receives into the free space (making room first). The caller must not call this
    /// when the buffer `is_full`.
    pub fn receive(&mut self, stream: &mut impl Transport) -> io::Result<Received> {
        if self.end == self.bytes.len() && self.start > 0 {
            self.bytes.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let room = self.bytes.len() - self.end;
        let len = stream.recv(&mut self.bytes[self.end..])?;
        self.end += len;
        Ok(Received {
            len,
            short: len < room,
        })
    }
}

/// What one `receive` got.
#[derive(Clone, Copy, Debug)]
pub struct Received {
    /// Bytes received; 0 is end of stream.
    pub len: usize,
    /// Fewer bytes than there was room for: the socket's queue was empty at that moment.
    pub short: bool,
}
