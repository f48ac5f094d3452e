//! The byte stream a connection talks over: a TCP socket when serving, memory when the
//! connection state machine is tested or fuzzed without any socket.

use std::collections::VecDeque;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::FileExt;

use crate::sys::{file, socket};

/// Non-blocking stream operations; `WouldBlock` means "try again after the next edge".
pub trait Transport {
    /// Reads into `buf`; `Ok(0)` is end of stream.
    fn recv(&mut self, buf: &mut [u8]) -> io::Result<usize>;
    /// Writes from `buf`; `more` says file bytes follow at once, so the kernel may hold a
    /// short tail back to share a segment with them. Never set on the end of a response.
    fn send(&mut self, buf: &[u8], more: bool) -> io::Result<usize>;
    /// Writes up to `len` bytes of `file` from `*offset`, advancing it; `Ok(0)` means the
    /// file ended before `len`.
    fn send_file(&mut self, file: &File, offset: &mut u64, len: usize) -> io::Result<usize>;
    /// Ends our direction of the stream.
    fn shutdown_write(&mut self) -> io::Result<()>;
}

/// An accepted TCP connection, closed on drop.
pub struct TcpConnection {
    fd: OwnedFd,
}

impl TcpConnection {
    pub fn new(fd: OwnedFd) -> TcpConnection {
        TcpConnection { fd }
    }

    pub fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl Transport for TcpConnection {
    fn recv(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        socket::recv(self.fd.as_fd(), buf)
    }

    fn send(&mut self, buf: &[u8], more: bool) -> io::Result<usize> {
        socket::send(self.fd.as_fd(), buf, more)
    }

    fn send_file(&mut self, file: &File, offset: &mut u64, len: usize) -> io::Result<usize> {
        file::sendfile(self.fd.as_fd(), file.as_fd(), offset, len)
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        socket::shutdown_write(self.fd.as_fd())
    }
}

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
