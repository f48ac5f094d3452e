//! A task and its byte stream without the kernel: `MemoryTransport` stands in for a socket,
//! `Detached` for the event loop. With both, a task's state machine runs exactly as the loop
//! would run it, byte by byte and deadline by deadline, in tests and under the fuzzer.
//!
//! They live in the runtime, beside `Transport` and `Context`, because that is what they
//! imitate: nothing here knows what the task does (`server::simulate` drives a connection
//! with them).

use std::collections::VecDeque;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::time::{Duration, Instant, SystemTime};

use crate::runtime::task::{Context, Step, TaskId};
use crate::runtime::transport::Transport;

/// A scripted peer in memory. Each `push_input` chunk is what one edge of readability
/// delivers; when the pending chunks are used up, reads say `WouldBlock` (or EOF once
/// `close_input` was called). Writes accept at most `write_window` bytes per call, so
/// partial writes and `WouldBlock` are exercised too.
#[derive(Debug, Default)]
pub struct MemoryTransport {
    input: VecDeque<Vec<u8>>,
    input_closed: bool,
    pub output: Vec<u8>,
    pub output_closed: bool,
    /// Bytes the next writes may take before `WouldBlock`; `None` is unlimited.
    pub write_window: Option<usize>,
}

impl MemoryTransport {
    pub fn push_input(&mut self, chunk: &[u8]) {
        if !chunk.is_empty() {
            self.input.push_back(chunk.to_vec());
        }
    }

    pub fn close_input(&mut self) {
        self.input_closed = true;
    }

    pub fn has_pending_input(&self) -> bool {
        !self.input.is_empty()
    }

    fn take_window(&mut self, wanted: usize) -> io::Result<usize> {
        if self.output_closed {
            return Err(io::Error::from(io::ErrorKind::BrokenPipe));
        }
        let allowed = self.write_window.map_or(wanted, |w| w.min(wanted));
        if allowed == 0 && wanted > 0 {
            return Err(io::Error::from(io::ErrorKind::WouldBlock));
        }
        if let Some(window) = &mut self.write_window {
            *window -= allowed;
        }
        Ok(allowed)
    }
}

impl Transport for MemoryTransport {
    fn recv(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(chunk) = self.input.front_mut() else {
            return if self.input_closed {
                Ok(0)
            } else {
                Err(io::Error::from(io::ErrorKind::WouldBlock))
            };
        };
        let len = chunk.len().min(buf.len());
        buf[..len].copy_from_slice(&chunk[..len]);
        chunk.drain(..len);
        if chunk.is_empty() {
            self.input.pop_front();
        }
        Ok(len)
    }

    fn send(&mut self, buf: &[u8], _more: bool) -> io::Result<usize> {
        let len = self.take_window(buf.len())?;
        self.output.extend_from_slice(&buf[..len]);
        Ok(len)
    }

    fn send_file(&mut self, file: &File, offset: &mut u64, len: usize) -> io::Result<usize> {
        let len = self.take_window(len)?;
        let mut chunk = vec![0; len];
        let read = file.read_at(&mut chunk, *offset)?;
        self.output.extend_from_slice(&chunk[..read]);
        *offset += read as u64;
        Ok(read)
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        self.output_closed = true;
        Ok(())
    }
}

/// Drives a task by hand, outside any loop, with the same `Context` the loop would give it:
/// for testing and fuzzing a task's state machine without sockets or epoll.
pub struct Detached<T> {
    spawned: Vec<T>,
    notified: Vec<TaskId>,
    shutdown: Option<Duration>,
    /// The deadline the task asked for last.
    pub deadline: Option<Instant>,
}

impl<T> Default for Detached<T> {
    fn default() -> Detached<T> {
        Detached {
            spawned: Vec::new(),
            notified: Vec::new(),
            shutdown: None,
            deadline: None,
        }
    }
}

impl<T> Detached<T> {
    /// Runs `resume` once with a context for `now`; what it spawns or notifies is dropped.
    pub fn resume(
        &mut self,
        now: Instant,
        resume: impl FnOnce(&mut Context<'_, T>) -> Step,
    ) -> Step {
        let id = TaskId {
            index: 0,
            generation: 0,
        };
        let mut cx = Context::new(
            id,
            now,
            SystemTime::now(),
            self.deadline,
            &mut self.spawned,
            &mut self.notified,
            &mut self.shutdown,
        );
        let step = resume(&mut cx);
        self.deadline = cx.deadline();
        self.spawned.clear();
        self.notified.clear();
        step
    }
}
