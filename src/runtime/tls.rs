//! TLS over a non-blocking TCP socket: the `Transport` a connection on an HTTPS listener talks
//! over, with the handshake as a step the connection drives (`Transport::handshake`).
//!
//! rustls's `ServerConnection` is a pure state machine over byte buffers; this file is the
//! only place it meets the socket. Every call reads or writes until the socket says `EAGAIN`
//! and then returns `WouldBlock`, like the TCP transport: nothing here blocks, and the
//! connection task stays the one place that decides what to do next.
//!
//! Invariants the connection relies on:
//! - `recv` returns fewer bytes than asked only when the socket's queue was found empty (or
//!   the stream ended), so "a short read means a new edge will come" holds over TLS too.
//! - `send` and `send_file` first write out every record still queued from before; only then
//!   do they take new plaintext, at most `PLAINTEXT_CHUNK_BYTES` of it, so what is queued but
//!   unsent stays bounded. `flush` writes the last records of a response out.
//! - File bodies go through one place, `send_file`: read from the file at the offset into the
//!   loop's one `FileScratch`, then encrypted. That is where kernel TLS would go.

use std::cell::RefCell;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::fs::FileExt;
use std::rc::Rc;
use std::sync::Arc;

use rustls::{ServerConfig, ServerConnection};

use crate::runtime::transport::{Handshake, TcpConnection, Transport};

/// Plaintext taken into records per `send` or `send_file` call: four full TLS records
/// (RFC 8446 §5.1 caps a record's plaintext at 16 KiB), so the records queued behind a full
/// socket stay small while each call still moves a useful amount.
pub const PLAINTEXT_CHUNK_BYTES: usize = 4 * 16 * 1024;

/// The plaintext of file bodies on their way into records: one per loop, lent to one
/// `send_file` at a time, so no connection keeps a file buffer of its own.
#[derive(Default)]
pub struct FileScratch {
    bytes: RefCell<Vec<u8>>,
}

/// A TLS connection over an accepted TCP socket, closed on drop.
pub struct TlsConnection {
    tcp: TcpConnection,
    /// Boxed: far larger than the TCP socket, and moved with the connection task.
    tls: Box<ServerConnection>,
    scratch: Rc<FileScratch>,
}

/// The socket as rustls's `read_tls`/`write_tls` want it.
struct Wire<'a>(&'a mut TcpConnection);

impl Read for Wire<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.recv(buf)
    }
}

impl Write for Wire<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.send(buf, false)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl TlsConnection {
    /// Starts the server side of a handshake on `tcp` with `config`.
    pub fn new(
        tcp: TcpConnection,
        config: Arc<ServerConfig>,
        scratch: Rc<FileScratch>,
    ) -> io::Result<TlsConnection> {
        let tls = ServerConnection::new(config).map_err(io::Error::other)?;
        Ok(TlsConnection {
            tcp,
            tls: Box::new(tls),
            scratch,
        })
    }

    pub fn raw_fd(&self) -> std::os::fd::RawFd {
        self.tcp.raw_fd()
    }

    /// The name the client asked for (SNI), once the handshake has read it.
    pub fn server_name(&self) -> Option<&str> {
        self.tls.server_name()
    }

    /// Reads what the socket has into rustls and processes it. `Ok(false)` at end of stream.
    /// A protocol error gets its alert sent (best effort) and becomes `InvalidData`; bytes
    /// that are not TLS records at all (plaintext HTTP sent to this port) get no alert, which
    /// such a client could only show as garbage: the connection just closes.
    fn read_records(&mut self) -> io::Result<bool> {
        let n = self.tls.read_tls(&mut Wire(&mut self.tcp))?;
        if let Err(error) = self.tls.process_new_packets() {
            let not_tls = rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType);
            if error != not_tls {
                let _ = self.flush_records();
            }
            return Err(io::Error::new(io::ErrorKind::InvalidData, error));
        }
        Ok(n > 0)
    }

    /// Writes queued records until none is left (`Ok`) or the socket is full (`WouldBlock`).
    fn flush_records(&mut self) -> io::Result<()> {
        while self.tls.wants_write() {
            if self.tls.write_tls(&mut Wire(&mut self.tcp))? == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
        }
        Ok(())
    }

    /// Encrypts `plaintext` (at most `PLAINTEXT_CHUNK_BYTES` of it, after the queue is empty)
    /// and writes what the socket takes; the rest of its records wait for the next call.
    fn encrypt(&mut self, plaintext: &[u8]) -> io::Result<usize> {
        let n = self.tls.writer().write(plaintext)?;
        match self.flush_records() {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(n),
            Err(e) => Err(e),
            Ok(()) => Ok(n),
        }
    }
}

impl Transport for TlsConnection {
    fn recv(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut filled = 0;
        loop {
            let Some(room) = buf.get_mut(filled..).filter(|room| !room.is_empty()) else {
                return Ok(filled);
            };
            match self.tls.reader().read(room) {
                Ok(0) => return Ok(filled), // close_notify: a clean end
                Ok(n) => {
                    filled += n;
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // The socket closed without close_notify (RFC 8446 §6.1): an end all the same,
                // after whatever arrived intact.
                Err(e) => return if filled > 0 { Ok(filled) } else { Err(e) },
            }
            match self.read_records() {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && filled > 0 => return Ok(filled),
                Err(e) => return Err(e),
            }
            // A record may have asked for an answer (a key update): send it if the socket
            // takes it now, else it goes out before the next response.
            match self.flush_records() {
                Err(e) if e.kind() != io::ErrorKind::WouldBlock => return Err(e),
                _ => {}
            }
        }
    }

    fn send(&mut self, buf: &[u8], _more: bool) -> io::Result<usize> {
        self.flush_records()?;
        self.encrypt(buf.get(..PLAINTEXT_CHUNK_BYTES).unwrap_or(buf))
    }

    fn send_file(&mut self, file: &File, offset: &mut u64, len: usize) -> io::Result<usize> {
        self.flush_records()?;
        let scratch = Rc::clone(&self.scratch);
        let mut bytes = scratch.bytes.borrow_mut();
        let want = len.min(PLAINTEXT_CHUNK_BYTES);
        if bytes.len() < want {
            bytes.resize(want, 0);
        }
        let read = file.read_at(&mut bytes[..want], *offset)?;
        if read == 0 {
            return Ok(0);
        }
        let sent = self.encrypt(&bytes[..read])?;
        *offset += sent as u64;
        Ok(sent)
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        // close_notify first (RFC 8446 §6.1), so the client can tell our end from a cut; if the
        // socket is full it is dropped, and the FIN still ends the stream.
        self.tls.send_close_notify();
        let _ = self.flush_records();
        self.tcp.shutdown_write()
    }

    fn handshake(&mut self) -> io::Result<Handshake> {
        loop {
            match self.flush_records() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Handshake::WantWrite),
                Err(e) => return Err(e),
                Ok(()) => {}
            }
            if !self.tls.is_handshaking() {
                return Ok(Handshake::Done);
            }
            match self.read_records() {
                Ok(true) => {}
                Ok(false) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Handshake::WantRead),
                Err(e) => return Err(e),
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.flush_records()
    }
}
