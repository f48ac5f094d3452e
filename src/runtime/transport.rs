//! The byte stream a connection talks over: the `Transport` trait, and the TCP socket that
//! serves it (`memory::MemoryTransport` is the other, for tests and fuzzing).

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};

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
    /// Takes the next step of a handshake the stream needs before it carries data (TLS's);
    /// a plain stream has none.
    fn handshake(&mut self) -> io::Result<Handshake> {
        Ok(Handshake::Done)
    }
    /// Writes out what the stream holds back from earlier writes (TLS records queued behind a
    /// full socket); `WouldBlock` while the socket is full. A plain stream holds nothing.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Where a handshake stands after a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handshake {
    Done,
    /// Waiting for the peer's next bytes (`EAGAIN` on a read).
    WantRead,
    /// Waiting for room in the socket (`EAGAIN` on a write).
    WantWrite,
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
