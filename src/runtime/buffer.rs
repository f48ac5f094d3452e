//! A connection's buffers, and the pool they come from.
//!
//! `InputBuffer`: fixed capacity, read into at the end, consumed from the front. Invariant:
//! `start <= end <= bytes.len()`; `bytes[start..end]` is received and not yet used.
//! Consuming only moves `start`, so answering pipelined requests costs no copying; the unread
//! tail is moved to the front only when room is needed for the next read.
//!
//! An idle keep-alive connection holds no buffer at all: its input storage and output `Vec`
//! go back to the `BufferPool` when it has nothing buffered and nothing to send, and come back
//! from it when bytes arrive. So ten thousand idle connections cost ten thousand small
//! structs, not ten thousand buffers, and a busy connection reuses warm memory instead of
//! allocating.

use std::cell::RefCell;
use std::io;

use crate::runtime::transport::Transport;

/// A connection's input buffer: one maximal head plus room for pipelined requests behind it.
pub const INPUT_BUFFER_BYTES: usize = 16 * 1024;
/// Responses are batched into one write until this much is waiting.
pub const OUTPUT_FLUSH_BYTES: usize = 64 * 1024;
/// Idle buffers kept for reuse; beyond these counts, returned buffers are freed.
pub const POOLED_INPUT_BUFFERS: usize = 1024;
pub const POOLED_OUTPUT_BUFFERS: usize = 1024;
/// An output vector that grew past this (a large listing) is freed rather than pooled.
pub const POOLED_OUTPUT_MAX_BYTES: usize = 2 * OUTPUT_FLUSH_BYTES;

/// The idle buffers of one loop's connections. Shared by reference: the loop is
/// single-threaded, and no method keeps a borrow of its lists past its return.
#[derive(Default)]
pub struct BufferPool {
    inputs: RefCell<Vec<Box<[u8]>>>,
    outputs: RefCell<Vec<Vec<u8>>>,
}

impl BufferPool {
    /// Gives `input` storage if it has none.
    pub fn fill_input(&self, input: &mut InputBuffer) {
        if input.bytes.is_empty() {
            input.bytes = self
                .inputs
                .borrow_mut()
                .pop()
                .unwrap_or_else(|| vec![0; INPUT_BUFFER_BYTES].into_boxed_slice());
        }
    }

    /// Gives `output` capacity if it has none.
    pub fn fill_output(&self, output: &mut Vec<u8>) {
        if output.capacity() == 0 {
            *output = self.outputs.borrow_mut().pop().unwrap_or_default();
        }
    }

    /// Takes back the storage of an empty input buffer and an empty output vector.
    pub fn release(&self, input: &mut InputBuffer, output: &mut Vec<u8>) {
        if input.is_empty() && !input.bytes.is_empty() {
            let bytes = std::mem::take(&mut input.bytes);
            let mut inputs = self.inputs.borrow_mut();
            if inputs.len() < POOLED_INPUT_BUFFERS {
                inputs.push(bytes);
            }
        }
        if output.is_empty() && output.capacity() > 0 {
            let vec = std::mem::take(output);
            // One large response (a listing) must not pin its memory in the pool for ever.
            let mut outputs = self.outputs.borrow_mut();
            if outputs.len() < POOLED_OUTPUT_BUFFERS && vec.capacity() <= POOLED_OUTPUT_MAX_BYTES {
                outputs.push(vec);
            }
        }
    }
}

/// See the module documentation; starts without storage (see `BufferPool::fill_input`).
#[derive(Default)]
pub struct InputBuffer {
    bytes: Box<[u8]>,
    start: usize,
    end: usize,
}

impl InputBuffer {
    /// The bytes received and not yet consumed.
    pub fn filled(&self) -> &[u8] {
        &self.bytes[self.start..self.end]
    }

    /// The same bytes, to be corrected in place before parsing.
    pub fn filled_mut(&mut self) -> &mut [u8] {
        &mut self.bytes[self.start..self.end]
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// No room to read into: full, or without storage.
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
